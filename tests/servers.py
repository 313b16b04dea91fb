"""Real processes for end-to-end tests: a gunicorn serving one ocpi_lite instance on a free
loopback port, and the `ocpi-lite` CLI run against the same config. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import free_port

BIN = Path(sys.executable).parent


def _gunicorn_isolation_args() -> list[str]:
    """gunicorn 27 opens a control socket at one fixed path per user; two test servers would
    share it, so each test server runs without one."""
    from importlib.metadata import version

    major = int(version("gunicorn").split(".")[0])
    return ["--no-control-socket"] if major >= 27 else []


class Instance:
    """One ocpi_lite instance: its config file, database and (when started) gunicorn."""

    def __init__(self, directory: Path, name: str, *, roles=("CPO",), country_code="NL",
                 party_id="LIT", port: int | None = None, push: dict | None = None,
                 server: dict | None = None):
        self.dir = directory / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.public_url = f"http://127.0.0.1:{self.port}/ocpi"
        self.config_path = self.dir / "ocpi_lite.toml"
        push_lines = "".join(f"{k} = {_toml(v)}\n" for k, v in (push or {}).items())
        server_lines = "".join(f"{k} = {_toml(v)}\n" for k, v in (server or {}).items())
        self.config_path.write_text(
            "[party]\n"
            f'country_code = "{country_code}"\nparty_id = "{party_id}"\n'
            f"roles = [{', '.join(_toml(r) for r in roles)}]\nname = \"{name}\"\n"
            "[server]\n"
            f'public_url = "{self.public_url}"\ndatabase = "{self.dir / "ocpi.db"}"\n'
            f"{server_lines}"
            f"[push]\n{push_lines}"
        )
        self.process: subprocess.Popen | None = None
        self.log_path = self.dir / "gunicorn.log"

    @property
    def versions_url(self) -> str:
        return f"{self.public_url}/versions"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_LITE_")}
        env["OCPI_LITE_CONFIG"] = str(self.config_path)
        return env

    def cli(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BIN / "ocpi-lite"), *args], env=self.env(), cwd=self.dir, input=stdin,
            capture_output=True, text=True, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ocpi-lite {' '.join(args)} failed: {result.stderr}{result.stdout}")
        return result

    def start(self, *gunicorn_args: str, workers: int = 2) -> "Instance":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--graceful-timeout", "5", *_gunicorn_isolation_args(), *gunicorn_args, "ocpi_lite.app:get_app()"],
            env=self.env(), cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                requests.get(self.versions_url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"gunicorn did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the gunicorn master only, as a crash would; orphaned workers notice and exit."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def kill_all(self) -> None:
        if self.process:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(_toml(v) for v in value)}]"
    return repr(value)
