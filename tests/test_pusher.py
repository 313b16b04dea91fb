"""The outbox pusher, driven one `drain_once(now)` at a time with a fake clock and HTTP sender."""

from __future__ import annotations

import base64
import copy
import json
import logging
import threading
import time
from pathlib import Path

import msgspec
import pytest
from conftest import add_registered_peer

from ocpi_lite.cli import main as cli_main
from ocpi_lite.config import PushConfig
from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.push.client import OcpiClient
from ocpi_lite.push.http import HttpResponse, TransportError
from ocpi_lite.push.pusher import Pusher, PusherThread
from ocpi_lite.store import Store
from ocpi_lite.store.cdrs import RECORDED

EXAMPLE = Path(__file__).resolve().parent / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"
RECEIVER_URL = "http://emsp.test/ocpi/2.2.1/emsp/cdrs"
T0 = 1_800_000_000.0


def make_cdr(n: int, *, token_party=("DE", "TNM")) -> Cdr:
    data = json.loads(EXAMPLE.read_text())
    data["id"] = f"CDR{n:05d}"
    data["cdr_token"]["country_code"], data["cdr_token"]["party_id"] = token_party
    return msgspec.convert(data, Cdr)


def queue(store: Store, n: int, now: float = T0) -> None:
    """Store a CDR and queue its push in one transaction, as recording does."""
    cdr = make_cdr(n)
    with store.db.transaction() as tx:
        pk, _ = store.cdrs.add(tx, cdr, msgspec.json.encode(cdr), source=RECORDED, sender=None, now="t")
        store.outbox.enqueue(tx, pk, cdr.recipient, now=now, created_at="t")


class FakeReceiver:
    """Answers POSTs from a script: each entry is (HTTP status, OCPI status_code) or an
    exception to raise; the last entry repeats. Records every request it got."""

    def __init__(self, *script):
        self.script = list(script) or [(201, 1000)]
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.lock = threading.Lock()
        self.after_request = lambda: None  # tests hook events that happen mid-delivery

    def __call__(self, method, url, *, headers, body, timeout):
        with self.lock:
            self.requests.append((method, url, headers, body))
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        self.after_request()
        if isinstance(step, Exception):
            raise step
        status, code = step
        cdr_id = json.loads(body)["id"]
        envelope = {"status_code": code, "timestamp": "2026-01-01T00:00:00Z"}
        if code != 1000:
            envelope["status_message"] = "Invalid or missing parameters: id"
        return HttpResponse(status, json.dumps(envelope).encode(),
                            {"location": f"{url}/BE/BEC/{cdr_id}"} if code == 1000 else {})

    def sent_ids(self) -> list[str]:
        return [json.loads(body)["id"] for _, _, _, body in self.requests]


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cpo(tmp_path):
    store = Store(tmp_path / "cpo.db")
    add_registered_peer(store, "emsp-token", roles=(("EMSP", "DE", "TNM"),),
                        endpoints=[{"identifier": "cdrs", "role": "RECEIVER", "url": RECEIVER_URL}],
                        label="emsp", token_out="token-for-emsp")
    yield store
    store.close()


def make_pusher(store, receiver, clock, batch=50, **push) -> Pusher:
    config = PushConfig(**({"backoff_initial": 2.0, "backoff_max": 60.0} | push))
    client = OcpiClient(receiver, ("NL", "LIT"), config.timeout)
    return Pusher(store, client, config, clock=clock, batch=batch, jitter=lambda: 1.0)


def states(store) -> dict[str, int]:
    return {k: v for k, v in store.outbox.counts().items() if v}


def test_delivers_in_record_order_with_ocpi_headers(cpo):
    receiver, clock = FakeReceiver(), Clock()
    for n in range(5):
        queue(cpo, n)
    result = make_pusher(cpo, receiver, clock).drain_once(clock())
    assert result.delivered == 5
    assert receiver.sent_ids() == [f"CDR{n:05d}" for n in range(5)]
    method, url, headers, body = receiver.requests[0]
    assert (method, url) == ("POST", RECEIVER_URL)
    assert headers["Authorization"] == "Token " + base64.b64encode(b"token-for-emsp").decode()
    assert headers["Content-Type"] == "application/json"
    assert headers["OCPI-to-country-code"] == "DE" and headers["OCPI-to-party-id"] == "TNM"
    assert headers["OCPI-from-country-code"] == "NL" and headers["OCPI-from-party-id"] == "LIT"
    assert headers["X-Request-ID"] and headers["X-Correlation-ID"]
    assert states(cpo) == {"DONE": 5}
    (row,) = cpo.outbox.rows(("DONE",), limit=1)
    assert row.location == f"{RECEIVER_URL}/BE/BEC/CDR00000"


def test_nothing_due_means_no_request(cpo):
    receiver, clock = FakeReceiver(), Clock()
    queue(cpo, 1, now=T0 + 100)
    assert make_pusher(cpo, receiver, clock).drain_once(T0).claimed == 0
    assert receiver.requests == []


def test_server_errors_back_off_exponentially_then_deliver(cpo, caplog):
    receiver = FakeReceiver((500, 3000), (503, 3000), TransportError("refused"), (200, 3000), (201, 1000))
    clock = Clock()
    queue(cpo, 1)
    queue(cpo, 2)
    pusher = make_pusher(cpo, receiver, clock)
    schedule = []
    with caplog.at_level(logging.WARNING, logger="ocpi_lite.push"):
        for _ in range(4):
            assert pusher.drain_once(clock()).retried == 1
            (row, later) = cpo.outbox.rows(("READY",))
            schedule.append(row.next_attempt_at - clock())
            assert later.attempts == 0  # the second CDR waits behind the first, untouched
            assert pusher.drain_once(clock.now + schedule[-1] - 0.5).claimed == 0  # not yet due
            clock.now = row.next_attempt_at
    assert schedule == [2.0, 4.0, 8.0, 16.0]  # jitter pinned at its maximum
    assert pusher.drain_once(clock()).delivered == 2
    assert receiver.sent_ids() == ["CDR00001"] * 5 + ["CDR00002"]
    assert states(cpo) == {"DONE": 2}
    failures = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert len(failures) == 4
    assert "emsp" in failures[0].getMessage() and "CDR00001" in failures[0].getMessage()
    assert "token-for-emsp" not in caplog.text


def test_backoff_is_jittered_between_initial_and_max(cpo):
    for jitter in (0.0, 0.5, 1.0):
        pusher = make_pusher(cpo, FakeReceiver(), Clock())
        pusher.jitter = lambda: jitter
        delays = [pusher.backoff(attempt) for attempt in range(1, 12)]
        assert all(2.0 <= d <= 60.0 for d in delays)
        assert delays[-1] == (30.0 + 30.0 * jitter if jitter else 30.0)


def test_ocpi_client_error_parks_the_row_and_retry_requeues_it(cpo, tmp_path):
    receiver, clock = FakeReceiver((200, 2001), (201, 1000)), Clock()
    queue(cpo, 1)
    queue(cpo, 2)
    pusher = make_pusher(cpo, receiver, clock)
    result = pusher.drain_once(clock())
    assert (result.failed, result.delivered) == (1, 0)
    (failed,) = cpo.outbox.rows(("FAILED",))
    assert failed.cdr_key == "BE/BEC/CDR00001" and "2001" in failed.last_error
    assert pusher.drain_once(clock()).delivered == 1  # a parked row does not block the queue
    config = tmp_path / "c.toml"
    config.write_text(f'[server]\ndatabase = "{tmp_path / "cpo.db"}"\n')
    assert cli_main(["outbox", "retry", str(failed.id), "--config", str(config)]) == 0
    clock.now = time.time() + 1  # the CLI re-queues at wall-clock now
    assert pusher.drain_once(clock()).delivered == 1
    assert states(cpo) == {"DONE": 2}
    assert receiver.sent_ids() == ["CDR00001", "CDR00002", "CDR00001"]


@pytest.mark.parametrize(
    "answer, parked",
    [((401, 2000), False), ((404, 2000), True), ((400, 2001), True), ((200, 3001), False),
     (TransportError("timed out"), False)],
)
def test_which_answers_retry_and_which_park(cpo, answer, parked):
    receiver, clock = FakeReceiver(answer), Clock()
    queue(cpo, 1)
    result = make_pusher(cpo, receiver, clock).drain_once(clock())
    assert (result.failed, result.retried) == ((1, 0) if parked else (0, 1))


def test_max_attempts_parks_after_the_last_try(cpo):
    receiver, clock = FakeReceiver((500, 3000)), Clock()
    queue(cpo, 1)
    pusher = make_pusher(cpo, receiver, clock, max_attempts=3)
    for _ in range(3):
        pusher.drain_once(clock())
        clock.now += 1000
    (row,) = cpo.outbox.rows(("FAILED",))
    assert row.attempts == 3 and row.last_error.startswith("gave up after 3 attempts")
    assert len(receiver.requests) == 3


def test_a_lease_held_by_a_dead_claimant_is_taken_after_it_expires(cpo):
    receiver, clock = FakeReceiver(), Clock()
    queue(cpo, 1)
    queue(cpo, 2)
    cpo.outbox.claim("killed-process", T0, lease=30.0, batch=1)  # then the process died
    pusher = make_pusher(cpo, receiver, clock)
    assert pusher.drain_once(T0 + 10).claimed == 0  # its lease still holds: order is kept
    assert pusher.drain_once(T0 + 31).delivered == 2
    assert receiver.sent_ids() == ["CDR00001", "CDR00002"]


def test_two_pushers_never_send_the_same_row(tmp_path):
    path = tmp_path / "shared.db"
    setup = Store(path)
    add_registered_peer(setup, "t1", roles=(("EMSP", "DE", "TNM"),), label="a",
                        endpoints=[{"identifier": "cdrs", "role": "RECEIVER", "url": RECEIVER_URL}])
    for n in range(300):
        queue(setup, n, now=time.time())
    receiver = FakeReceiver()
    pushers = [make_pusher(Store(path), receiver, time.time, batch=7) for _ in range(2)]

    def drain(pusher):
        for _ in range(200):
            pusher.drain_once(time.time())

    threads = [threading.Thread(target=drain, args=(p,)) for p in pushers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert receiver.sent_ids() == [f"CDR{n:05d}" for n in range(300)]
    assert states(setup) == {"DONE": 300}


def test_unregistered_peer_gets_nothing(cpo):
    receiver, clock = FakeReceiver(), Clock()
    queue(cpo, 1)
    cpo.parties.unregister(1, "2026-01-01T00:00:00Z")
    assert make_pusher(cpo, receiver, clock).drain_once(clock()).claimed == 0
    assert receiver.requests == []
    assert states(cpo) == {"CANCELLED": 1}


def test_only_peers_with_a_receiver_endpoint_are_queued(cpo):
    add_registered_peer(cpo, "pull-only", roles=(("EMSP", "FR", "PUL"),), label="puller")
    cdr = make_cdr(9, token_party=("FR", "PUL"))
    with cpo.db.transaction() as tx:
        pk, _ = cpo.cdrs.add(tx, cdr, msgspec.json.encode(cdr), source=RECORDED, sender=None, now="t")
        assert cpo.outbox.enqueue(tx, pk, cdr.recipient, now=T0, created_at="t") == 0


def test_thread_is_woken_at_once_and_stops_cleanly(cpo):
    receiver = FakeReceiver()
    thread = PusherThread(make_pusher(cpo, receiver, time.time), poll_interval=30.0)
    thread.start()
    time.sleep(0.1)  # idle: waiting up to 30 s for work
    queue(cpo, 1, now=time.time())
    started = time.monotonic()
    thread.wake()
    while not receiver.requests and time.monotonic() - started < 5:
        time.sleep(0.005)
    assert time.monotonic() - started < 1.0
    thread.stop()
    assert not thread.running


def test_a_stopping_pusher_gives_its_claim_back(cpo):
    receiver, clock = FakeReceiver(), Clock()
    for n in range(3):
        queue(cpo, n)
    pusher = make_pusher(cpo, receiver, clock)
    receiver.after_request = pusher.stopping.set  # shutdown arrives while a CDR is in flight
    assert pusher.drain_once(clock()).delivered == 1
    assert states(cpo) == {"DONE": 1, "READY": 2}  # not LOCKED: a restart need not wait


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


def test_a_crash_before_the_batch_is_recorded_resends_it_once_the_lease_expires(cpo):
    receiver, clock = FakeReceiver(), Clock()
    for n in range(5):
        queue(cpo, n)
    sent = []

    def crash_at_the_fourth():
        sent.append(1)
        if len(sent) == 4:
            raise Crash()

    receiver.after_request = crash_at_the_fourth
    dying = make_pusher(cpo, receiver, clock)
    with pytest.raises(Crash):
        dying.drain_once(clock())
    assert states(cpo) == {"LOCKED": 5}  # three delivered, none recorded yet
    receiver.after_request = lambda: None
    survivor = make_pusher(cpo, receiver, clock)
    assert survivor.drain_once(clock() + 1).claimed == 0  # the dead claimant's lease holds
    assert survivor.drain_once(clock() + dying.lease + 1).delivered == 5
    assert receiver.sent_ids() == [f"CDR{n:05d}" for n in range(4)] + [f"CDR{n:05d}" for n in range(5)]
    assert states(cpo) == {"DONE": 5}


def test_claiming_costs_the_same_whatever_the_backlog(tmp_path):
    """A peer down for hours leaves a long queue: taking the head of it must not read it all.
    Measured in SQLite virtual-machine steps, not seconds, so the test is not timing-bound."""

    def steps_to_claim(backlog: int) -> int:
        store = Store(tmp_path / f"backlog{backlog}.db")
        add_registered_peer(store, f"t{backlog}", roles=(("EMSP", "DE", "TNM"),),
                            endpoints=[{"identifier": "cdrs", "role": "RECEIVER", "url": RECEIVER_URL}])
        for n in range(backlog):
            queue(store, n)
        counted = [0]

        def count():
            counted[0] += 1
            return 0  # 0: carry on

        store.db.connection().set_progress_handler(count, 100)
        claimed = store.outbox.claim("me", T0, 30.0, 50)
        store.close()
        assert sum(map(len, claimed)) == 50
        return counted[0]

    small, large = steps_to_claim(100), steps_to_claim(3000)
    assert large < small * 1.5, (small, large)
