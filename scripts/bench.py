"""Benchmark of ocpi_lite: speed, cost growth and memory, measured the same way each time.

    .venv/bin/python scripts/bench.py [--cdrs 100000] [--duration 5] [--connections 8]
                                      [--repeats 3] [--json PATH] [--quick] [--no-wrk]

By itself it: builds a database of N generated CDRs (cached under the temp dir, keyed by N);
starts real gunicorn servers (2 sync workers each) on free loopback ports: a Falcon
hello-world (the ceiling of this stack), a CPO holding the CDRs and an eMSP with a Receiver;
registers the eMSP with the CPO through the CLI; then measures, each figure `--repeats` times
with the median reported:

- GET of 50-CDR pages at offset 0, the middle and the last page, following `Link` and with a
  client-computed `offset` (X-Total-Count checked on every page of the Link walk);
- POST to the eMSP's Receiver, a new CDR each request;
- push throughput and record→stored latency from `OcpiLite.record_cdr` in this process
  (with its own pusher thread) to the CDR stored at the eMSP;
- RSS of the gunicorn master and each worker, idle and after the runs; start-up time to the
  first answered request; `import ocpi_lite.app` time.

Load comes from `wrk` when installed, else from a built-in client (threads with keep-alive
http.client connections); the output says which. Nothing is sent anywhere but 127.0.0.1, every
loop is bounded, and the servers are stopped on exit, failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import requests

BIN = Path(sys.executable).parent
SCRIPTS = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
PAGE = 50  # objects per benchmarked page
CPO_PARTY = ("NL", "LIT")
BENCH_EMSP = ("DE", "TNM")  # the registered peer: it sees a quarter of the CDRs
OTHER_EMSPS = [("BE", "ABC"), ("FR", "XYZ"), ("NL", "EMS")]
CACHE_DIR = Path(tempfile.gettempdir()) / "ocpi-lite-bench"

# Targets from issue 8 (2 cores, ratios from one run).
TARGETS = {
    "page_offset0_vs_hello": 0.55,
    "page_offset0_p99_ms": 5.0,
    "page_last_link_vs_offset0": 0.90,
    "page_last_offset_vs_offset0 (stretch)": 0.50,
    "receiver_post_vs_hello": 0.50,
    "push_cdrs_per_s": 800.0,
    "record_to_stored_p50_ms": 20.0,
    "worker_rss_after_mb": 40.0,
    "master_plus_workers_rss_mb": 100.0,
    "import_ocpi_lite_app_ms": 250.0,
}


# -- the machine ----------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "gunicorn": version("gunicorn"),
        "falcon": version("falcon"),
        "msgspec": version("msgspec"),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def import_time_ms(repeats: int) -> float:
    """Median wall time of `import ocpi_lite.app` in a fresh interpreter (start-up excluded)."""
    code = ("import time; t = time.perf_counter(); import ocpi_lite.app; "
            "print(time.perf_counter() - t)")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=60).stdout
        times.append(float(out) * 1000)
    return statistics.median(times)


# -- the database of N CDRs ----------------------------------------------------------------------


def cached_database(count: int, progress: bool) -> Path:
    """A database holding `count` recorded CDRs and nothing else (no peers, no outbox), built
    once per N through the store and reused by later runs."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"cdrs-{count}.db"
    if path.exists():
        # Migrations added since it was built are applied here, once: a server migrating its
        # copy would count an index build in its start-up time and memory.
        from ocpi_lite.store import Store

        store = Store(path)
        store.db.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        return path
    from ocpi_lite.models.cdrs import Cdr
    from ocpi_lite.samples import sample_cdrs
    from ocpi_lite.store import Store
    from ocpi_lite.store.cdrs import RECORDED

    building = path.with_suffix(".building")
    for stale in CACHE_DIR.glob(building.name + "*"):
        stale.unlink()
    store = Store(building)
    decoder = msgspec.json.Decoder(Cdr)
    encoder = msgspec.json.Encoder()
    started = time.monotonic()
    batch = 20_000  # rows per transaction: one commit per batch keeps inserts cheap
    emsps = [BENCH_EMSP, *OTHER_EMSPS]
    cdrs = sample_cdrs(count, owner=CPO_PARTY, emsps=emsps)
    done = 0
    while done < count:
        with store.db.transaction() as tx:
            for sample in _take(cdrs, batch):
                cdr = decoder.decode(encoder.encode(sample))  # validated, as recording does
                store.cdrs.add(tx, cdr, encoder.encode(cdr), source=RECORDED, sender=None,
                               now=cdr.last_updated)
                done += 1
        if progress:
            print(f"\r  building {count:,} CDRs: {done:,} ({time.monotonic() - started:.0f} s)",
                  end="", flush=True)
    if progress:
        print()
    store.db.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    building.rename(path)
    return path


def _take(iterator, n: int):
    for _, item in zip(range(n), iterator):
        yield item


# -- gunicorn servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def gunicorn_isolation_args() -> list[str]:
    # gunicorn 27 opens a control socket at one fixed per-user path; several instances clash.
    return ["--no-control-socket"] if int(version("gunicorn").split(".")[0]) >= 27 else []


class Server:
    """One gunicorn (2 sync workers) on a free loopback port, in its own process group."""

    def __init__(self, name: str, folder: Path, app_spec: str, *, probe_path: str,
                 env: dict | None = None, extra: tuple[str, ...] = ()):
        self.name = name
        self.folder = folder
        self.port = free_port()
        self.app_spec = app_spec
        self.probe_path = probe_path
        self.env = env or dict(os.environ)
        self.extra = extra
        self.process: subprocess.Popen | None = None
        self.startup_s: float | None = None

    def start(self, workers: int) -> None:
        log = open(self.folder / f"{self.name}-gunicorn.log", "ab")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"{LOOPBACK}:{self.port}", "--workers", str(workers),
             "--graceful-timeout", "5", *gunicorn_isolation_args(), *self.extra, self.app_spec],
            env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited; see {self.folder / f'{self.name}-gunicorn.log'}")
            try:
                conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
                conn.request("GET", self.probe_path)
                conn.getresponse().read()  # any answer counts, a 401 too
                conn.close()
                self.startup_s = time.monotonic() - started
                return
            except OSError:
                time.sleep(0.005)
        raise SystemExit(f"{self.name}: gunicorn did not answer within 60 s")

    def memory(self) -> dict:
        """VmRSS and VmHWM (peak) in MB of the master and each worker."""
        master = self.process.pid
        workers = children_of(master)
        return {"master": proc_memory(master), "workers": [proc_memory(pid) for pid in workers]}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass


def children_of(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(children)


def proc_memory(pid: int) -> dict:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)  # kB → MB
    return {"pid": pid, "rss_mb": values.get("VmRSS"), "peak_mb": values.get("VmHWM")}


def party_config(folder: Path, port: int, party: tuple[str, str], role: str, *,
                 database: Path, push_enabled: bool) -> Path:
    path = folder / f"{role.lower()}.toml"
    path.write_text(
        f'[party]\ncountry_code = "{party[0]}"\nparty_id = "{party[1]}"\nroles = ["{role}"]\n'
        f'name = "Bench {role}"\n'
        f'[server]\npublic_url = "http://{LOOPBACK}:{port}/ocpi"\ndatabase = "{database}"\n'
        f"[push]\nenabled = {'true' if push_enabled else 'false'}\n"
    )
    return path


def ocpi_env(config: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_LITE_")}
    env["OCPI_LITE_CONFIG"] = str(config)
    return env


def cli(env: dict, cwd: Path, *args: str) -> str:
    result = subprocess.run([str(BIN / "ocpi-lite"), *args], env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"ocpi-lite {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


# -- discovering URLs and tokens ----------------------------------------------------------------


def authorization(peer) -> str:
    token = peer.token_out
    value = base64.b64encode(token.encode()).decode() if peer.token_out_base64 else token
    return f"Token {value}"


def registered_peer(database: Path):
    from ocpi_lite.store import Store

    store = Store(database)
    try:
        peers = [p for p in store.parties.all() if p.state == "REGISTERED"]
    finally:
        store.close()
    if len(peers) != 1:
        raise SystemExit(f"expected one registered peer in {database}, found {len(peers)}")
    return peers[0]


def module_url(versions_url: str, auth: str, identifier: str, role: str) -> str:
    """A module's URL found as a client must find it: versions list, then version details."""
    headers = {"Authorization": auth}
    versions = requests.get(versions_url, headers=headers, timeout=10).json()["data"]
    details_url = next(v["url"] for v in versions if v["version"] == "2.2.1")
    endpoints = requests.get(details_url, headers=headers, timeout=10).json()["data"]["endpoints"]
    return next(e["url"] for e in endpoints if e["identifier"] == identifier and e["role"] == role)


def check_loopback(url: str) -> None:
    if urlsplit(url).hostname != LOOPBACK:
        raise SystemExit(f"refusing to send traffic to {url}: only {LOOPBACK} is benchmarked")


def walk_links(first_url: str, auth: str, max_pages: int) -> dict:
    """Follow Link from the first page to the end, checking every page; returns the URLs of the
    middle and last pages as a Link-following client requests them."""
    session = requests.Session()
    session.trust_env = False
    url, pages, seen, total = first_url, [], 0, None
    while url and len(pages) < max_pages:
        check_loopback(url)
        reply = session.get(url, headers={"Authorization": auth}, timeout=10)
        body = reply.json()
        if reply.status_code != 200 or body.get("status_code") != 1000:
            raise SystemExit(f"page {len(pages) + 1} failed: HTTP {reply.status_code} {body.get('status_message')}")
        if "X-Total-Count" not in reply.headers:
            raise SystemExit(f"page {len(pages) + 1} has no X-Total-Count")
        page_total = int(reply.headers["X-Total-Count"])
        if total is not None and page_total != total:
            raise SystemExit(f"X-Total-Count moved from {total} to {page_total} during the walk")
        total = page_total
        seen += len(body["data"])
        pages.append(url)
        link = reply.headers.get("Link")
        url = re.match(r"<([^>]*)>", link).group(1) if link else None
    if url:
        raise SystemExit(f"Link walk did not end within {max_pages} pages")
    if seen != total:
        raise SystemExit(f"the Link walk served {seen} CDRs, X-Total-Count says {total}")
    return {"total": total, "pages": len(pages), "middle": pages[len(pages) // 2], "last": pages[-1]}


def check_page(url: str, auth: str, expected: int) -> None:
    reply = requests.get(url, headers={"Authorization": auth}, timeout=10)
    body = reply.json()
    if reply.status_code != 200 or body.get("status_code") != 1000 or len(body["data"]) != expected:
        raise SystemExit(f"GET {url}: HTTP {reply.status_code}, {len(body.get('data') or [])} CDRs")
    if "X-Total-Count" not in reply.headers:
        raise SystemExit(f"GET {url}: no X-Total-Count")


# -- load generators -----------------------------------------------------------------------------


@dataclass
class Load:
    """One fixed-duration, fixed-concurrency run against one URL."""

    url: str
    headers: dict
    method: str = "GET"
    # POST bodies: `body_prefix + unique id + body_suffix`, a new CDR each request.
    body_prefix: str = ""
    body_suffix: str = ""
    tag: str = ""  # makes ids unique across runs


@dataclass
class RunResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


class WrkClient:
    name = "wrk"

    def __init__(self, threads: int, connections: int, duration: float, folder: Path):
        self.threads = threads
        self.connections = connections
        self.duration = duration
        self.folder = folder
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        self.version = (out.stdout + out.stderr).split("[")[0].strip() or "wrk"

    def run(self, load: Load) -> RunResult:
        check_loopback(load.url)
        script = self.folder / "bench.lua"
        script.write_text(self.lua(load))
        seconds = max(1, round(self.duration))  # wrk takes whole seconds
        out = subprocess.run(
            ["wrk", "-t", str(self.threads), "-c", str(self.connections), "-d", f"{seconds}s",
             "--latency", "-s", str(script), load.url],
            capture_output=True, text=True, timeout=self.duration + 60,
        )
        if out.returncode != 0:
            raise SystemExit(f"wrk failed: {out.stderr or out.stdout}")
        return parse_wrk(out.stdout)

    @staticmethod
    def lua(load: Load) -> str:
        lines = [f"wrk.method = {lua_string(load.method)}"]
        for name, value in load.headers.items():
            lines.append(f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}")
        if load.method == "POST":
            # Each wrk thread has its own Lua state: thread number × counter makes ids unique.
            # The counter has a fixed width, so every body has the same length and the request
            # head is built once per thread (wrk.format per request cost wrk a tenth of a POST).
            lines += [
                "local count = 0",
                "local threads = 0",
                "function setup(thread) threads = threads + 1; thread:set('tid', threads) end",
                f"local prefix = {lua_string(load.body_prefix + load.tag)}",
                f"local suffix = {lua_string(load.body_suffix)}",
                "local head",
                "function init(args)",
                "  local length = #prefix + 2 + 9 + #suffix",
                "  head = wrk.format(nil, nil, nil, string.rep('x', length))",
                "  head = head:sub(1, #head - length)",
                "end",
                "function request()",
                "  count = count + 1",
                "  return head .. prefix .. tid .. 'N' .. string.format('%09d', count) .. suffix",
                "end",
            ]
        return "\n".join(lines) + "\n"


def lua_string(text: str) -> str:
    level = "=" * 3
    if f"]{level}]" in text:
        raise ValueError("string would end the Lua long bracket")
    return f"[{level}[{text}]{level}]"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> RunResult:
    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(match.group(1)) * _UNITS[match.group(2)]

    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return RunResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=latency("50"), p99_ms=latency("99"), requests=requests_done, errors=errors,
    )


class ThreadClient:
    """The fallback: one thread per connection, keep-alive http.client, fixed duration. It
    shares the GIL and the cores with nothing but itself, yet is slower than wrk: its figures
    are lower bounds."""

    name = "built-in client (threads, keep-alive http.client)"
    version = name

    def __init__(self, connections: int, duration: float):
        self.connections = connections
        self.duration = duration

    def run(self, load: Load) -> RunResult:
        check_loopback(load.url)
        parts = urlsplit(load.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        latencies: list[list[float]] = [[] for _ in range(self.connections)]
        errors = [0] * self.connections
        started = time.perf_counter()
        deadline = started + self.duration

        def worker(index: int) -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            count = 0
            while time.perf_counter() < deadline:
                count += 1
                body = None
                if load.method == "POST":
                    body = f"{load.body_prefix}{load.tag}{index + 1}N{count}{load.body_suffix}".encode()
                began = time.perf_counter()
                try:
                    conn.request(load.method, path, body=body, headers=load.headers)
                    reply = conn.getresponse()
                    reply.read()
                    if not 200 <= reply.status < 400:
                        errors[index] += 1
                except (OSError, http.client.HTTPException):
                    errors[index] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                    continue
                latencies[index].append(time.perf_counter() - began)
            conn.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.duration + 30)
        elapsed = time.perf_counter() - started
        every = sorted(x for per_thread in latencies for x in per_thread)
        if not every:
            raise SystemExit(f"no request to {load.url} succeeded")
        return RunResult(
            rps=len(every) / elapsed, p50_ms=percentile(every, 50) * 1000,
            p99_ms=percentile(every, 99) * 1000, requests=len(every), errors=sum(errors),
        )


def percentile(sorted_values: list[float], percent: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# -- push -----------------------------------------------------------------------------------------


def measure_push(cpo_config: Path, emsp_database: Path, throughput_cdrs: int,
                 latency_cdrs: int, tag: str, repeats: int) -> dict:
    """Push from this process: an integrator's OcpiLite (its own pusher thread) on the CPO's
    database, delivering to the eMSP's gunicorn."""
    from ocpi_lite import OcpiLite
    from ocpi_lite.config import load
    from ocpi_lite.samples import sample_cdrs
    from ocpi_lite.store import Store

    config = load(cpo_config)
    # The CPO's gunicorn runs without a pusher, so every delivery measured here is ours.
    config = msgspec.structs.replace(config, push=msgspec.structs.replace(config.push, enabled=True))
    ocpi = OcpiLite(config)
    received = Store(emsp_database)
    try:
        # Throughput: queue a backlog, then time the pusher draining it; `repeats` backlogs,
        # the median reported, like every other figure.
        rates = []
        for round_number in range(repeats):
            backlog = list(sample_cdrs(throughput_cdrs, owner=CPO_PARTY, emsps=[BENCH_EMSP],
                                       prefix=f"T{tag}R{round_number}"))
            ocpi.stop()
            for cdr in backlog:
                ocpi.record_cdr(cdr)
            before = received.cdrs.count_received()
            # Deliveries to one peer keep record order: the last CDR stored means all were.
            # (Counting received CDRs walks the whole table: not something to poll.)
            last = backlog[-1]
            last_key = f"{last['country_code']}/{last['party_id']}/{last['id']}"
            started = time.monotonic()
            ocpi.start()
            deadline = started + max(60.0, throughput_cdrs / 50)
            while time.monotonic() < deadline:
                if received.cdrs.get(last_key) is not None:
                    break
                time.sleep(0.005)
            elapsed = time.monotonic() - started
            delivered = received.cdrs.count_received() - before
            if delivered < throughput_cdrs:
                raise SystemExit(f"push: {delivered}/{throughput_cdrs} CDRs arrived within {elapsed:.0f} s")
            rates.append(throughput_cdrs / elapsed)

        # Latency: one CDR at a time, from record_cdr to the row readable at the eMSP.
        latencies = []
        for cdr in sample_cdrs(latency_cdrs, owner=CPO_PARTY, emsps=[BENCH_EMSP], prefix=f"L{tag}"):
            key = f"{cdr['country_code']}/{cdr['party_id']}/{cdr['id']}"
            began = time.perf_counter()
            ocpi.record_cdr(cdr)
            limit = began + 10
            while received.cdrs.get(key) is None:
                if time.perf_counter() > limit:
                    raise SystemExit(f"push: CDR {key} did not arrive within 10 s")
                time.sleep(0.0002)
            latencies.append((time.perf_counter() - began) * 1000)
        latencies.sort()
        return {
            "cdrs_per_s": statistics.median(rates),
            "cdrs_per_s_runs": rates,
            "throughput_cdrs": throughput_cdrs,
            "latency_cdrs": latency_cdrs,
            "record_to_stored_p50_ms": statistics.median(latencies),
            "record_to_stored_p99_ms": percentile(latencies, 99),
        }
    finally:
        ocpi.close()
        received.close()


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    runs: list[RunResult] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(getattr(run, name) for run in self.runs)

    def summary(self) -> dict:
        return {"label": self.label, "rps": self.median("rps"), "p50_ms": self.median("p50_ms"),
                "p99_ms": self.median("p99_ms"), "errors": sum(r.errors for r in self.runs),
                "runs": [asdict(r) for r in self.runs]}


def sample_post_body(tag_marker: str) -> tuple[str, str]:
    """A valid CDR of our CPO party as JSON, split around its id."""
    from ocpi_lite.samples import sample_cdr

    cdr = sample_cdr(0, owner=CPO_PARTY, emsp=BENCH_EMSP, prefix=tag_marker)
    text = json.dumps(cdr, separators=(",", ":"))
    marker = f'"id":"{cdr["id"]}"'
    if text.count(marker) != 1:
        raise SystemExit("cannot place a unique id in the POST body")
    before, after = text.split(marker)
    return before + '"id":"', '"' + after


def run(args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="ocpi-lite-bench-"))
    servers: list[Server] = []
    try:
        return measure(args, folder, servers)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def measure(args, folder: Path, servers: list[Server]) -> dict:
    say = print if not args.quiet else (lambda *a, **k: None)
    result: dict = {"machine": machine(), "settings": {
        "cdrs": args.cdrs, "duration_s": args.duration, "connections": args.connections,
        "repeats": args.repeats, "workers": args.workers, "page": PAGE,
    }}
    if shutil.which("wrk") and not args.no_wrk:
        # At most 2 threads: each has a one-digit number in the POSTed ids (see WrkClient.lua).
        client = WrkClient(min(2, args.connections), args.connections, args.duration, folder)
    else:
        client = ThreadClient(args.connections, args.duration)
    result["load_generator"] = client.version
    say(f"load generator: {client.version}")

    result["import_ocpi_lite_app_ms"] = import_time_ms(3)

    started = time.monotonic()
    source = cached_database(args.cdrs, progress=not args.quiet)
    cpo_db, emsp_db = folder / "cpo.db", folder / "emsp.db"
    shutil.copyfile(source, cpo_db)
    result["database"] = {"ready_s": time.monotonic() - started,
                          "size_mb": round(cpo_db.stat().st_size / 2**20, 1)}

    hello = Server("hello", folder, "bench_hello:app", probe_path="/",
                   extra=("--pythonpath", str(SCRIPTS)))
    cpo_port, emsp_port = free_port(), free_port()
    cpo_config = party_config(folder, cpo_port, CPO_PARTY, "CPO", database=cpo_db, push_enabled=False)
    emsp_config = party_config(folder, emsp_port, BENCH_EMSP, "EMSP", database=emsp_db, push_enabled=False)
    cpo = Server("cpo", folder, "ocpi_lite.app:get_app()", probe_path="/ocpi/versions",
                 env=ocpi_env(cpo_config))
    cpo.port = cpo_port
    emsp = Server("emsp", folder, "ocpi_lite.app:get_app()", probe_path="/ocpi/versions",
                  env=ocpi_env(emsp_config))
    emsp.port = emsp_port
    for server in (hello, cpo, emsp):
        servers.append(server)
        server.start(args.workers)
    result["startup_s"] = {s.name: s.startup_s for s in servers}
    time.sleep(0.5)  # let both workers finish booting before reading their idle memory
    memory_idle = {s.name: s.memory() for s in servers}

    # Register: the eMSP (DE/TNM) registers with the CPO, as `ocpi-lite register` does it.
    token = dict(line.split(": ", 1) for line in
                 cli(ocpi_env(cpo_config), folder, "token", "create", "--name", "bench eMSP").splitlines())
    cli(ocpi_env(emsp_config), folder, "register", token["versions_url"], token["token"])
    emsp_auth = authorization(registered_peer(emsp_db))  # the eMSP calling the CPO
    cpo_auth = authorization(registered_peer(cpo_db))  # the CPO calling the eMSP
    sender_url = module_url(f"http://{LOOPBACK}:{cpo_port}/ocpi/versions", emsp_auth, "cdrs", "SENDER")
    receiver_url = module_url(f"http://{LOOPBACK}:{emsp_port}/ocpi/versions", cpo_auth, "cdrs", "RECEIVER")

    first = f"{sender_url}?limit={PAGE}"
    visible = (args.cdrs + 3) // 4  # round-robin over four eMSPs; ours is the first
    walk = walk_links(first, emsp_auth, max_pages=visible // PAGE + 3)
    say(f"Link walk: {walk['pages']} pages, X-Total-Count {walk['total']} on every page")
    total = walk["total"]
    last_offset = (total - 1) // PAGE * PAGE
    middle_offset = (total // 2) // PAGE * PAGE
    result["visible_cdrs"] = total

    get_headers = {"Authorization": emsp_auth}
    loads = {
        "hello": (f"hello-world ({client.name})", Load(f"http://{LOOPBACK}:{hello.port}/", {})),
        "page_offset0": ("page at offset 0", Load(first, get_headers)),
        "page_middle_link": ("middle page, Link", Load(walk["middle"], get_headers)),
        "page_middle_offset": ("middle page, offset", Load(f"{sender_url}?offset={middle_offset}&limit={PAGE}", get_headers)),
        "page_last_link": ("last page, Link", Load(walk["last"], get_headers)),
        "page_last_offset": ("last page, offset", Load(f"{sender_url}?offset={last_offset}&limit={PAGE}", get_headers)),
    }
    for name, (_, load) in loads.items():
        if name.startswith("page_"):
            expected = total - last_offset if name.startswith("page_last") else min(PAGE, total)
            check_page(load.url, load.headers["Authorization"], expected)
    prefix, suffix = sample_post_body("XBENCHX")
    post_headers = {"Authorization": cpo_auth, "Content-Type": "application/json"}
    loads["receiver_post"] = ("Receiver POST, new CDR each", Load(
        receiver_url, post_headers, "POST", prefix, suffix))

    from ocpi_lite.store import Store

    emsp_store = Store(emsp_db)
    figures = {name: Figure(label) for name, (label, _) in loads.items()}
    run_tag = os.urandom(3).hex().upper()
    for repeat in range(args.repeats):
        for name, (_, load) in loads.items():
            if load.method == "POST":
                load.tag = f"B{run_tag}R{repeat}T"
                before = emsp_store.cdrs.count_received()
            outcome = client.run(load)
            if outcome.errors:  # a figure made of refusals would be meaningless
                raise SystemExit(f"{name}: {outcome.errors} failed requests of {outcome.requests}")
            if load.method == "POST":
                stored = emsp_store.cdrs.count_received() - before
                # OCPI errors answer HTTP 200: count what was really stored.
                if stored < outcome.requests * 0.99:
                    raise SystemExit(f"POST run stored {stored} CDRs for {outcome.requests} requests")
            figures[name].runs.append(outcome)
            say(f"  round {repeat + 1}/{args.repeats} {name:20} {outcome.rps:9.0f} req/s"
                f"  p50 {outcome.p50_ms:6.2f} ms  p99 {outcome.p99_ms:6.2f} ms"
                )
    emsp_store.close()
    result["figures"] = {name: figure.summary() for name, figure in figures.items()}

    result["push"] = measure_push(cpo_config, emsp_db, args.push_cdrs, args.latency_cdrs, run_tag,
                                  args.repeats)
    result["memory_idle"] = memory_idle
    result["memory_after"] = {s.name: s.memory() for s in servers}
    result["ratios"] = ratios(result)
    result["targets"] = targets(result)
    return result


def ratios(result: dict) -> dict:
    """Median over rounds of the ratio within each round: figures of one round ran seconds
    apart, so a machine busier in one round than in another moves both sides of its ratio."""
    f = result["figures"]

    def ratio(name: str, base: str) -> float:
        pairs = zip(f[name]["runs"], f[base]["runs"])
        return statistics.median(run["rps"] / base_run["rps"] for run, base_run in pairs)

    return {
        "page_offset0_vs_hello": ratio("page_offset0", "hello"),
        "page_middle_link_vs_offset0": ratio("page_middle_link", "page_offset0"),
        "page_middle_offset_vs_offset0": ratio("page_middle_offset", "page_offset0"),
        "page_last_link_vs_offset0": ratio("page_last_link", "page_offset0"),
        "page_last_offset_vs_offset0": ratio("page_last_offset", "page_offset0"),
        "receiver_post_vs_hello": ratio("receiver_post", "hello"),
    }


def ocpi_rss(result: dict, when: str) -> tuple[float, float]:
    """(largest worker RSS, master + workers RSS) over the two ocpi_lite servers, in MB."""
    worst_worker, worst_total = 0.0, 0.0
    for name in ("cpo", "emsp"):
        memory = result[when][name]
        workers = [w["rss_mb"] for w in memory["workers"]]
        worst_worker = max(worst_worker, *workers)
        worst_total = max(worst_total, memory["master"]["rss_mb"] + sum(workers))
    return worst_worker, worst_total


def targets(result: dict) -> list[dict]:
    r, push = result["ratios"], result["push"]
    worker_after, total_after = ocpi_rss(result, "memory_after")
    measured = {
        "page_offset0_vs_hello": (r["page_offset0_vs_hello"], ">="),
        "page_offset0_p99_ms": (result["figures"]["page_offset0"]["p99_ms"], "<="),
        "page_last_link_vs_offset0": (r["page_last_link_vs_offset0"], ">="),
        "page_last_offset_vs_offset0 (stretch)": (r["page_last_offset_vs_offset0"], ">="),
        "receiver_post_vs_hello": (r["receiver_post_vs_hello"], ">="),
        "push_cdrs_per_s": (push["cdrs_per_s"], ">="),
        "record_to_stored_p50_ms": (push["record_to_stored_p50_ms"], "<="),
        "worker_rss_after_mb": (worker_after, "<="),
        "master_plus_workers_rss_mb": (total_after, "<="),
        "import_ocpi_lite_app_ms": (result["import_ocpi_lite_app_ms"], "<="),
    }
    rows = []
    for name, (value, sense) in measured.items():
        limit = TARGETS[name]
        ok = value >= limit if sense == ">=" else value <= limit
        rows.append({"target": name, "value": value, "limit": f"{sense} {limit:g}", "ok": ok})
    return rows


def table(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        f"ocpi_lite benchmark, {m['date']}: {m['cores']} cores ({m['cpu']}), Python {m['python']},"
        f" SQLite {m['sqlite']}, gunicorn {m['gunicorn']} ({s['workers']} sync workers),"
        f" falcon {m['falcon']}",
        f"{s['cdrs']:,} CDRs ({result['visible_cdrs']:,} visible to the peer), {PAGE}-CDR pages,"
        f" {s['connections']} connections, {s['duration_s']:g} s per run,"
        f" median of {s['repeats']} (ratios: median of each round's ratio);"
        f" load: {result['load_generator']}",
        "",
        f"| {'what':34} | {'req/s':>8} | {'× hello':>7} | {'p50 ms':>6} | {'p99 ms':>6} |",
        f"|{'-' * 36}|{'-' * 10}:|{'-' * 8}:|{'-' * 7}:|{'-' * 7}:|",
    ]
    hello_runs = [run["rps"] for run in result["figures"]["hello"]["runs"]]
    for figure in result["figures"].values():
        versus_hello = statistics.median(
            run["rps"] / base for run, base in zip(figure["runs"], hello_runs))
        lines.append(f"| {figure['label']:34} | {figure['rps']:8,.0f} | {versus_hello:7.2f} |"
                     f" {figure['p50_ms']:6.2f} | {figure['p99_ms']:6.2f} |")
    push = result["push"]
    idle_worker, idle_total = ocpi_rss(result, "memory_idle")
    after_worker, after_total = ocpi_rss(result, "memory_after")
    startup = result["startup_s"]
    lines += [
        "",
        f"| {'what':34} | {'value':>24} |",
        f"|{'-' * 36}|{'-' * 25}:|",
    ]
    values = [
        ("push to a local Receiver", f"{push['cdrs_per_s']:,.0f} CDRs/s"),
        ("record→stored p50 / p99", f"{push['record_to_stored_p50_ms']:.1f} / {push['record_to_stored_p99_ms']:.1f} ms"),
        ("worker RSS idle / after runs", f"{idle_worker:.1f} / {after_worker:.1f} MB"),
        ("master + 2 workers idle / after", f"{idle_total:.1f} / {after_total:.1f} MB"),
        ("start-up to first answer (CPO)", f"{startup['cpo'] * 1000:.0f} ms"),
        ("import ocpi_lite.app", f"{result['import_ocpi_lite_app_ms']:.0f} ms"),
    ]
    lines += [f"| {what:34} | {value:>24} |" for what, value in values]
    lines += [
        "",
        "targets:",
    ]
    for row in result["targets"]:
        lines.append(f"  {'ok  ' if row['ok'] else 'MISS'} {row['target']:40} {row['value']:10.2f}  (target {row['limit']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=100_000, help="CDRs in the database (default 100,000)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--push-cdrs", type=int, default=2000, help="CDRs pushed for throughput")
    parser.add_argument("--latency-cdrs", type=int, default=200, help="CDRs timed record→stored")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny N, short runs, one repeat")
    parser.add_argument("--no-wrk", action="store_true", help="use the built-in client even if wrk is installed")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, databases)")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    args = parser.parse_args(argv)
    if args.quick:
        args.cdrs, args.duration, args.repeats = 1000, 1.0, 1
        args.push_cdrs, args.latency_cdrs = 100, 20
    if args.cdrs < 4 * PAGE:
        parser.error(f"--cdrs must be at least {4 * PAGE}")

    # Ctrl-C and SIGTERM unwind through run()'s finally, which stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
