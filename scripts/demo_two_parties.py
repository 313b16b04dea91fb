"""The two-party demo (run it through ./scripts/demo_two_parties).

Starts a CPO (NL/LIT, 2 workers) and an eMSP (DE/TNM) with gunicorn on free loopback ports, in
a temporary folder; the eMSP registers with the CPO using a token from `ocpi-lite token create`;
sample CDRs are imported into the CPO with `ocpi-lite cdrs import` and the pusher delivers
them to the eMSP's Receiver. Everything is stopped and removed at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Party:
    def __init__(self, folder: Path, name: str, country_code: str, party_id: str, role: str):
        self.dir = folder / name
        self.dir.mkdir()
        self.name = name
        self.port = free_port()
        self.public_url = f"http://127.0.0.1:{self.port}/ocpi"
        self.config = self.dir / "ocpi_lite.toml"
        self.config.write_text(
            f'[party]\ncountry_code = "{country_code}"\nparty_id = "{party_id}"\n'
            f'roles = ["{role}"]\nname = "Demo {name}"\n'
            f'[server]\npublic_url = "{self.public_url}"\ndatabase = "{self.dir / "ocpi.db"}"\n'
            "[push]\npoll_interval = 0.5\nbackoff_initial = 1.0\nbackoff_max = 10.0\n"
        )
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {**{k: v for k, v in os.environ.items() if not k.startswith("OCPI_LITE_")},
                "OCPI_LITE_CONFIG": str(self.config)}

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([str(BIN / "ocpi-lite"), *args], env=self.env(), cwd=self.dir,
                                input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{self.name}: ocpi-lite {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        extra = ["--no-control-socket"] if int(version("gunicorn").split(".")[0]) >= 27 else []
        log = open(self.dir / "gunicorn.log", "ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2", *extra,
             "ocpi_lite.app:get_app()"],
            env=self.env(), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.public_url}/versions", timeout=1)
                print(f"{self.name}: serving {self.public_url}/versions (pid {self.process.pid})")
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name}: gunicorn did not start; see {self.dir / 'gunicorn.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100, help="sample CDRs (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the folder and its databases")
    args = parser.parse_args()

    from ocpi_lite.samples import sample_cdrs
    from ocpi_lite.store import Store

    folder = Path(tempfile.mkdtemp(prefix="ocpi-lite-demo-"))
    cpo = Party(folder, "cpo", "NL", "LIT", "CPO")
    emsp = Party(folder, "emsp", "DE", "TNM", "EMSP")
    try:
        cpo.start()
        emsp.start()
        token_lines = dict(line.split(": ", 1) for line in cpo.cli("token", "create", "--name", "demo eMSP").splitlines())
        print(f"cpo: registration token created; versions URL {token_lines['versions_url']}")
        print("emsp: " + emsp.cli("register", token_lines["versions_url"], token_lines["token"]).splitlines()[0])

        lines = "\n".join(json.dumps(c) for c in sample_cdrs(args.count, owner=("NL", "LIT"), emsps=[("DE", "TNM")]))
        started = time.monotonic()
        print("cpo: " + cpo.cli("cdrs", "import", "-", stdin=lines).strip().splitlines()[-1])

        received = Store(emsp.dir / "ocpi.db")
        count = 0
        while time.monotonic() - started < 120:
            count = received.cdrs.count_received()
            print(f"\remsp: {count}/{args.count} CDRs received", end="", flush=True)
            if count >= args.count:
                break
            time.sleep(0.2)
        print(f"  ({time.monotonic() - started:.1f} s after the import started)")
        print("cpo outbox: " + cpo.cli("outbox").splitlines()[0])
        received.close()
        return 0 if count >= args.count else 1
    finally:
        cpo.stop()
        emsp.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
