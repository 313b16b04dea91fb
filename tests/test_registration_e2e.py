"""The registration acceptance with two real gunicorn processes on 127.0.0.1, driven by the
`ocpi-lite` CLI as a new user would run it."""

import base64
import sqlite3

import pytest
import requests
from conftest import free_port
from servers import Instance


def auth(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def token_out(instance: Instance) -> str:
    """The token an instance presents to its (only) peer, read from its database."""
    with sqlite3.connect(instance.dir / "ocpi.db") as conn:
        return conn.execute("SELECT token_out FROM parties WHERE state = 'REGISTERED'").fetchone()[0]


def status(url: str, token: str) -> int:
    response = requests.get(url, headers=auth(token), timeout=5)
    return 401 if response.status_code == 401 else response.json()["status_code"]


def new_token_a(cpo: Instance) -> str:
    return cpo.cli("token", "create", "--name", "Test eMSP").stdout.split("token: ")[1].split()[0]


@pytest.fixture
def pair(tmp_path):
    cpo = Instance(tmp_path, "cpo", roles=("CPO",), party_id="CPO")
    emsp = Instance(tmp_path, "emsp", roles=("EMSP",), country_code="DE", party_id="MSP")
    yield cpo, emsp
    cpo.kill_all()
    emsp.kill_all()


def test_two_instances_register_rotate_and_unregister(pair):
    cpo, emsp = pair
    token_a = new_token_a(cpo)
    cpo.start(workers=2)
    emsp.start(workers=2)
    cpo_credentials = f"{cpo.public_url}/2.2.1/credentials"

    # A POST whose url is a dead port: 3001, nothing stored, token A still good.
    dead = {"token": "dead-peer-token", "url": f"http://127.0.0.1:{free_port()}/ocpi/versions",
            "roles": [{"role": "EMSP", "country_code": "DE", "party_id": "MSP",
                       "business_details": {"name": "Nobody"}}]}
    reply = requests.post(cpo_credentials, json=dead, headers=auth(token_a), timeout=10).json()
    assert reply["status_code"] == 3001
    listing = cpo.cli("peers").stdout
    assert "INVITED" in listing and "DE/MSP" not in listing and "dead-peer-token" not in listing

    # The eMSP registers with the CPO's token A.
    registered = emsp.cli("register", cpo.versions_url, token_a)
    assert "registered with NL/CPO/CPO" in registered.stdout
    emsp_view, cpo_view = emsp.cli("peers").stdout, cpo.cli("peers").stdout
    assert "REGISTERED" in emsp_view and "NL/CPO/CPO" in emsp_view
    assert f"cdrs SENDER {cpo.public_url}/2.2.1/cpo/cdrs" in emsp_view
    assert "REGISTERED" in cpo_view and "DE/MSP/EMSP" in cpo_view
    assert f"cdrs RECEIVER {emsp.public_url}/2.2.1/emsp/cdrs" in cpo_view
    token_c, token_b = token_out(emsp), token_out(cpo)
    for view in (emsp_view, cpo_view):
        assert token_a not in view and token_b not in view and token_c not in view

    # Token A is dead; each side reads the other's details with its new token.
    assert status(cpo.versions_url, token_a) == 401
    assert status(f"{cpo.public_url}/2.2.1", token_c) == 1000
    assert status(f"{emsp.public_url}/2.2.1", token_b) == 1000

    # Registering again: with the spent token A → 401; with a registered token → 405; with a
    # fresh token A for the same party → 405, and the eMSP keeps nothing of the attempt.
    spent = emsp.cli("register", cpo.versions_url, token_a, check=False)
    assert spent.returncode == 1 and "HTTP 401" in spent.stderr
    again = requests.post(cpo_credentials, json=dead | {"url": emsp.versions_url},
                          headers=auth(token_c), timeout=10)
    assert again.status_code == 405 and again.json()["status_code"] == 2000
    second = emsp.cli("register", cpo.versions_url, new_token_a(cpo), check=False)
    assert second.returncode == 1 and "HTTP 405" in second.stderr
    assert emsp.cli("peers").stdout.count("REGISTERED") == 1

    # PUT rotates both tokens; the old ones are dead after.
    emsp.cli("peers", "update", "NL/CPO")
    new_c, new_b = token_out(emsp), token_out(cpo)
    assert (new_c, new_b) != (token_c, token_b)
    assert status(f"{cpo.public_url}/2.2.1", token_c) == 401
    assert status(f"{emsp.public_url}/2.2.1", token_b) == 401
    assert status(f"{cpo.public_url}/2.2.1", new_c) == 1000
    assert status(f"{emsp.public_url}/2.2.1", new_b) == 1000

    # DELETE unregisters on both sides: both tokens get 401.
    emsp.cli("peers", "delete", "NL/CPO")
    assert status(f"{cpo.public_url}/2.2.1", new_c) == 401
    assert status(f"{emsp.public_url}/2.2.1", new_b) == 401
    assert "UNREGISTERED" in cpo.cli("peers").stdout and "UNREGISTERED" in emsp.cli("peers").stdout


def test_register_failures_have_clear_messages(tmp_path):
    emsp = Instance(tmp_path, "emsp", roles=("EMSP",), country_code="DE", party_id="MSP")
    dead_url = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    result = emsp.cli("register", dead_url, "some-token", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("ocpi-lite: registration failed: the peer is unreachable")
    assert "some-token" not in result.stderr
    assert "no peers" in emsp.cli("peers").stdout
    missing = emsp.cli("peers", "update", "NL/XYZ", check=False)
    assert missing.returncode == 1 and "no peer 'NL/XYZ'" in missing.stderr


def test_registration_commands_have_help(tmp_path):
    instance = Instance(tmp_path, "any")
    for argv in (["register", "--help"], ["peers", "--help"], ["peers", "update", "--help"],
                 ["peers", "delete", "--help"]):
        result = instance.cli(*argv)
        assert "usage:" in result.stdout
