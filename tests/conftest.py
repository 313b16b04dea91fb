"""Shared fixtures: a config on a temporary database, the store, a fixed clock, the app under
webtest, and helpers to mint tokens. Nothing is monkeypatched: dependencies are injected."""

from __future__ import annotations

import base64
import socket
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.cli import new_token
from ocpi_lite.config import Config, PartyConfig, ServerConfig


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_config(tmp_path, *, roles=("CPO",), public_url="http://127.0.0.1:8000/ocpi",
                country_code="NL", party_id="LIT", **server) -> Config:
    return Config(
        party=PartyConfig(country_code=country_code, party_id=party_id, roles=list(roles)),
        server=ServerConfig(public_url=public_url, database=str(tmp_path / "ocpi.db"), **server),
    )


def token_header(token: str, *, raw: bool = False) -> dict[str, str]:
    value = token if raw else base64.b64encode(token.encode()).decode()
    return {"Authorization": f"Token {value}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def config(tmp_path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def ocpi(config, clock):
    instance = OcpiLite(config, clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def store(ocpi):
    return ocpi.store


@pytest.fixture
def client(ocpi) -> TestApp:
    return TestApp(ocpi.app)


@pytest.fixture
def registration_token(store, clock) -> str:
    """A fresh CREDENTIALS_TOKEN_A, as `ocpi-lite token create` makes it."""
    token = new_token()
    store.parties.create_invitation("test peer", token, clock().isoformat())
    return token


def decode(response) -> dict:
    return msgspec.json.decode(response.body)


def add_registered_peer(store, token: str, *, roles=(("EMSP", "DE", "TNM"),), endpoints=(),
                        label: str = "peer", token_out: str = "token-we-send") -> int:
    """A peer as a finished credentials handshake leaves it (test data set-up, written as the
    rows themselves so room tests do not depend on the registration code)."""
    from ocpi_lite.store.parties import Parties

    role_objects = [
        {"role": r, "business_details": {"name": label}, "country_code": cc, "party_id": pid}
        for r, cc, pid in roles
    ]
    now = "2026-01-01T00:00:00Z"
    with store.db.transaction() as tx:
        party = tx.execute(
            "INSERT INTO parties (label, state, version, versions_url, roles, endpoints, token_out,"
            " created_at, updated_at) VALUES (?, 'REGISTERED', '2.2.1', ?, ?, ?, ?, ?, ?)",
            (label, "http://127.0.0.1:9/versions", msgspec.json.encode(role_objects).decode(),
             msgspec.json.encode(list(endpoints)).decode(), token_out, now, now),
        ).lastrowid
        for r, cc, pid in roles:
            tx.execute("INSERT INTO party_codes VALUES (?, ?, ?, ?)", (party, r, cc.upper(), pid.upper()))
        Parties.add_token(tx, party, token, "C", now)
    return party
