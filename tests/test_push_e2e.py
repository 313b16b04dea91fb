"""The durable-push acceptance with real gunicorn processes on 127.0.0.1: the eMSP down while
2,000 CDRs are imported, then up; the CPO's gunicorn master SIGKILLed twice during delivery."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest
from servers import Instance

from ocpi_lite.samples import sample_cdrs

EMSP_DOWN_SECONDS = 30
COUNT = 2000
# Fast retries and short leases so the test's waits are seconds, not the production minutes.
PUSH = {"poll_interval": 0.2, "timeout": 2.0, "backoff_initial": 0.5, "backoff_max": 2.0}
# --timeout 4: orphaned sync workers notice their dead master within ~2 s; --reuse-port lets the
# restarted master bind while they are still finishing.
CPO_ARGS = ("--timeout", "4", "--reuse-port")


def received_ids(emsp: Instance) -> list[str]:
    """The eMSP's stored CDR ids in the order they were first stored."""
    with sqlite3.connect(emsp.dir / "ocpi.db") as conn:
        return [row[0] for row in conn.execute("SELECT id FROM cdrs WHERE source = 'RECEIVED' ORDER BY pk")]


def wait_for(condition, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def parties(tmp_path):
    cpo = Instance(tmp_path, "cpo", roles=("CPO",), party_id="CPO", push=PUSH)
    emsp = Instance(tmp_path, "emsp", roles=("EMSP",), country_code="DE", party_id="MSP")
    yield cpo, emsp
    cpo.kill_all()
    emsp.kill_all()


def test_every_cdr_arrives_once_in_order_despite_peer_down_and_master_kills(parties, tmp_path):
    cpo, emsp = parties
    token = cpo.cli("token", "create", "--name", "eMSP").stdout.split("token: ")[1].split()[0]
    cpo.start(*CPO_ARGS, workers=2)
    emsp.start(workers=2)
    emsp.cli("register", cpo.versions_url, token)
    emsp.stop()

    cdr_file = tmp_path / "cdrs.jsonl"
    cdr_file.write_text("\n".join(
        json.dumps(cdr) for cdr in sample_cdrs(COUNT, owner=("NL", "CPO"), emsps=[("DE", "MSP")])
    ))
    assert "imported 2000" in cpo.cli("cdrs", "import", str(cdr_file)).stdout
    time.sleep(EMSP_DOWN_SECONDS)
    waiting = cpo.cli("outbox").stdout
    assert waiting.startswith(f"pending {COUNT} ")
    assert "attempts 0" not in waiting.splitlines()[1]  # the head of the queue has been retried

    emsp.start(workers=2)
    # First the master alone (its orphaned workers finish what they hold and exit), then the
    # master with its workers, mid-send: their claims come back only when the leases expire.
    for kill in (cpo.kill, cpo.kill_all):
        threshold = len(received_ids(emsp)) + 300
        wait_for(lambda: len(received_ids(emsp)) >= threshold, timeout=60, step=0.01)
        kill()
        assert len(received_ids(emsp)) < COUNT, "the kill came after delivery had finished"
        cpo.start(*CPO_ARGS, workers=2)

    wait_for(lambda: cpo.cli("outbox").stdout.startswith("pending 0 "), timeout=120, step=0.5)
    summary = cpo.cli("outbox").stdout.splitlines()[0]
    assert summary == f"pending 0 (sending 0), failed 0, delivered {COUNT}, cancelled 0"
    ids = received_ids(emsp)
    assert len(ids) == COUNT and len(set(ids)) == COUNT
    assert ids == sorted(ids)  # first deliveries happened in record order


def test_preload_and_threads_workers_push_cdrs_recorded_by_another_process(parties, tmp_path):
    cpo, emsp = parties
    token = cpo.cli("token", "create", "--name", "eMSP").stdout.split("token: ")[1].split()[0]
    cpo.start("--preload", "--threads", "2", workers=2)
    emsp.start(workers=1)
    emsp.cli("register", cpo.versions_url, token)
    cdr_file = tmp_path / "cdrs.jsonl"
    cdr_file.write_text("\n".join(
        json.dumps(cdr) for cdr in sample_cdrs(50, owner=("NL", "CPO"), emsps=[("DE", "MSP")])
    ))
    started = time.monotonic()
    cpo.cli("cdrs", "import", str(cdr_file))  # another process: picked up within poll_interval
    wait_for(lambda: len(received_ids(emsp)) == 50, timeout=20)
    assert time.monotonic() - started < 10
    assert cpo.cli("outbox").stdout.startswith("pending 0 ")
