"""OCPI 2.1.1 acceptance with real gunicorn processes, driven by the `ocpi-lite` CLI and
`requests` as a new user would: a CPO serving 2.1.1 and 2.2.1, an eMSP that speaks only 2.1.1
and one on 2.2.1. URLs are discovered from the versions list and details."""

import json
import sqlite3
import time
from pathlib import Path

import msgspec
import pytest
import requests
from servers import Instance

from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.models.cdrs_211 import Cdr211
from ocpi_lite.samples import sample_cdr

FAST_PUSH = {"poll_interval": 0.1, "backoff_initial": 0.2}


def token_a(cpo: Instance) -> str:
    return cpo.cli("token", "create", "--name", "eMSP").stdout.split("token: ")[1].split()[0]


def query(instance: Instance, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(instance.dir / "ocpi.db") as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.fixture
def parties(tmp_path):
    cpo = Instance(tmp_path, "cpo", roles=("CPO",), party_id="CPO", push=FAST_PUSH)
    old = Instance(tmp_path, "emsp211", roles=("EMSP",), country_code="DE", party_id="OLD",
                   server={"versions": ["2.1.1"]})
    new = Instance(tmp_path, "emsp221", roles=("EMSP",), country_code="DE", party_id="NEW")
    yield cpo, old, new
    for instance in (cpo, old, new):
        instance.kill_all()


def test_211_and_221_emsps_of_one_cpo(parties):
    cpo, old, new = parties
    tokens = token_a(cpo), token_a(cpo)
    for instance in (cpo, old, new):
        instance.start(workers=1)
    assert "registered" in old.cli("register", cpo.versions_url, tokens[0]).stdout
    assert "registered" in new.cli("register", cpo.versions_url, tokens[1]).stdout
    assert query(old, "SELECT version, token_out_base64 FROM parties") == [("2.1.1", 0)]
    assert query(new, "SELECT version, token_out_base64 FROM parties") == [("2.2.1", 1)]
    assert sorted(query(cpo, "SELECT version FROM parties")) == [("2.1.1",), ("2.2.1",)]

    cdrs = [sample_cdr(n, owner=("NL", "CPO"), emsp=("DE", "OLD" if n < 2 else "NEW"))
            for n in range(3)]
    cpo.cli("cdrs", "import", "-", stdin="\n".join(json.dumps(c) for c in cdrs))

    # Pushed: the 2.1.1 eMSP's Receiver took them in 2.1.1 form (it accepts nothing else)
    # and stored them converted up; the 2.2.1 eMSP got the 2.2.1 CDR unchanged.
    wait_for(lambda: len(query(old, "SELECT 1 FROM cdrs")) == 2 and len(query(new, "SELECT 1 FROM cdrs")) == 1)
    locations = dict(wait_for(lambda: (rows := query(
        cpo, "SELECT p.version, o.location FROM outbox o JOIN parties p ON p.id = o.peer"
             " WHERE o.state = 'DONE'")) and len(rows) == 3 and rows))
    assert "/2.1.1/emsp/cdrs/NL/CPO/" in locations["2.1.1"]
    assert "/2.2.1/emsp/cdrs/NL/CPO/CDR00000002" in locations["2.2.1"]
    for (body,) in query(old, "SELECT json FROM cdrs"):
        stored = msgspec.json.decode(body, type=Cdr)
        assert stored.cdr_token.type == "OTHER" and stored.cdr_token.contract_id.startswith("DEOLD")
    ((body,),) = query(new, "SELECT json FROM cdrs")
    assert msgspec.json.decode(body) == msgspec.to_builtins(msgspec.convert(cdrs[2], Cdr))
    # The CPO reads a pushed CDR back at the 2.1.1 Location: 2.1.1 form.
    cpo_token = query(cpo, "SELECT token_out FROM parties WHERE version = '2.1.1'")[0][0]
    pushed = requests.get(locations["2.1.1"], headers={"Authorization": f"Token {cpo_token}"}, timeout=5)
    msgspec.convert(pushed.json()["data"], Cdr211)

    # Pulled: the 2.1.1 eMSP finds the CDRs module in the CPO's 2.1.1 details, raw token.
    headers = {"Authorization": f"Token {query(old, 'SELECT token_out FROM parties')[0][0]}"}
    versions = requests.get(cpo.versions_url, headers=headers, timeout=5).json()["data"]
    (details_url,) = [v["url"] for v in versions if v["version"] == "2.1.1"]
    endpoints = requests.get(details_url, headers=headers, timeout=5).json()["data"]["endpoints"]
    assert all("role" not in e for e in endpoints)
    (cdrs_url,) = [e["url"] for e in endpoints if e["identifier"] == "cdrs"]
    assert cdrs_url.endswith("/2.1.1/cpo/cdrs")
    page = requests.get(cdrs_url, headers=headers, timeout=5)
    assert page.headers["X-Total-Count"] == "2"
    pulled = msgspec.convert(page.json()["data"], list[Cdr211])
    assert [c.id for c in pulled] == ["CDR00000000", "CDR00000001"]
    assert pulled[0].stop_date_time == cdrs[0]["end_date_time"]

    # The spec's 2.1.1 example CDR, POSTed by the CPO to the 2.1.1 eMSP's Receiver (found in
    # the eMSP's 2.1.1 details): stored, and served back in 2.1.1 form at its Location.
    cpo_headers = {"Authorization": f"Token {cpo_token}"}
    (old_details,) = [v["url"] for v in requests.get(old.versions_url, headers=cpo_headers,
                                                     timeout=5).json()["data"]]
    old_endpoints = requests.get(old_details, headers=cpo_headers, timeout=5).json()["data"]["endpoints"]
    (receiver,) = [e["url"] for e in old_endpoints if e["identifier"] == "cdrs"]
    example = (Path(__file__).resolve().parent / "examples/v2_1_1_cdr_example.json").read_bytes()
    created = requests.post(receiver, data=example, timeout=5,
                            headers=cpo_headers | {"Content-Type": "application/json"})
    assert created.status_code == 201 and created.json()["status_code"] == 1000
    assert created.headers["Location"] == f"{receiver}/NL/CPO/12345"
    assert query(old, "SELECT source FROM cdrs WHERE cdr_key = 'NL/CPO/12345'") == [("RECEIVED",)]
    back = requests.get(created.headers["Location"], headers=cpo_headers, timeout=5).json()["data"]
    assert msgspec.convert(back, Cdr211).stop_date_time == "2015-06-29T23:37:32Z"
    assert back["auth_id"] == "DE8ACC12E46L89" and back["total_cost"] == 4.0
