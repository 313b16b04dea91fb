"""The outbox pusher: delivers queued CDRs to each peer's cdrs RECEIVER endpoint.

``Pusher.drain_once(now)`` is the whole unit of work (claim, send, record each outcome) and is
what tests drive, with an injected clock and HTTP sender. ``PusherThread`` only repeats it.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from ..config import PushConfig
from ..models.common import format_datetime
from ..models.convert_211 import Skip, cdr_json_down
from ..store import Store
from ..store.outbox import Claimed
from .client import ClientError, HttpStatusError, OcpiClient, OcpiStatusError

log = logging.getLogger("ocpi_lite.push")

# HTTP statuses worth trying again; any other 4xx means the receiver refuses this request.
RETRY_HTTP = {401, 408, 425, 429}


@dataclass
class DrainResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.delivered + self.retried + self.failed


@dataclass(frozen=True)
class Delivered:
    location: str | None  # where the receiver says the CDR now is


class Acknowledgements:
    """Deliveries not yet recorded. Written in small batches, one transaction each, rather than
    one per CDR: a crash before the write re-sends at most a batch, which the receiver's
    idempotency absorbs. Each write also extends the lease on the rest of the claim."""

    BATCH = 16

    def __init__(self, pusher: "Pusher", peer: int):
        self.pusher = pusher
        self.peer = peer
        self.pending: list[tuple[int, str | None]] = []
        self.written_at = pusher.clock()

    def add(self, row_id: int, location: str | None) -> None:
        self.pending.append((row_id, location))

    def flush_if_due(self) -> bool:
        # Write before the batch is full if a third of the lease has gone by: slow sends
        # must not let the lease on the rest of the claim run out.
        if len(self.pending) >= self.BATCH or self.pusher.clock() - self.written_at > self.pusher.lease / 3:
            return self.flush()
        return True

    def flush(self) -> bool:
        """Write what is pending; False if some rows were no longer ours (lease lost)."""
        now = self.pusher.clock()
        self.written_at = now
        if not self.pending:
            return True
        pending, self.pending = self.pending, []
        recorded = self.pusher.store.outbox.mark_done(
            self.pusher.owner, pending, format_datetime(datetime.fromtimestamp(now, timezone.utc)),
            extend_until=now + self.pusher.lease,
        )
        if recorded < len(pending):
            log.warning("push: lease lost on %d delivered rows (another claimant took them over)",
                        len(pending) - recorded)
            return False
        return True


class Pusher:
    def __init__(self, store: Store, client: OcpiClient, config: PushConfig, *,
                 clock: Callable[[], float] = time.time, batch: int = 50,
                 jitter: Callable[[], float] = random.random):
        self.store = store
        self.clock = clock
        self.client = client
        self.config = config
        self.batch = batch
        self.jitter = jitter
        # Whoever holds a lease: unique per pusher, readable in `ocpi-lite outbox`.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Long enough for one send to time out and its outcome to be written.
        self.lease = config.timeout * 2 + 5
        # Set on shutdown: finish the send in flight, give the rest of the claim back at once
        # so a restarted worker need not wait for the lease to expire.
        self.stopping = threading.Event()

    def drain_once(self, now: float) -> DrainResult:
        """Claim what is due, deliver it peer by peer in record order, record each outcome."""
        result = DrainResult()
        for queue in self.store.outbox.claim(self.owner, now, self.lease, self.batch):
            if self.stopping.is_set():
                self.store.outbox.release(self.owner, queue[0].peer)
            else:
                self._deliver_queue(queue, now, result)
        return result

    def _deliver_queue(self, queue: list[Claimed], now: float, result: DrainResult) -> None:
        peer = self.store.parties.get(queue[0].peer)
        url = peer.endpoint("cdrs", "RECEIVER") if peer else None
        if peer is None or peer.state != "REGISTERED" or not url or not peer.token_out:
            self.store.outbox.release(self.owner, queue[0].peer)  # unregistered meanwhile
            return
        acks = Acknowledgements(self, queue[0].peer)
        for row in queue:
            if self.stopping.is_set() or not acks.flush_if_due():
                break
            outcome = self._send(row, peer, url)
            if isinstance(outcome, Delivered):
                acks.add(row.id, outcome.location)
                result.delivered += 1
                continue
            if not acks.flush():
                break
            self._record_failure(row, peer, outcome, now, result)
            break
        else:
            acks.flush()
            return
        acks.flush()
        # Later CDRs must not overtake the one that stopped us: give them back untouched.
        self.store.outbox.release(self.owner, queue[0].peer)

    def _record_failure(self, row: Claimed, peer, outcome: tuple[bool, str], now: float,
                        result: DrainResult) -> None:
        retry, reason = outcome
        attempt = row.attempts + 1
        gave_up = retry and 0 < self.config.max_attempts <= attempt
        if retry and not gave_up:
            delay = self.backoff(attempt)
            self.store.outbox.mark_retry(row.id, self.owner, reason, now + delay)
            result.retried += 1
            log.warning("push to %s: CDR %s attempt %d failed: %s; next try in %.1fs",
                        peer.label, row.cdr_id, attempt, reason, delay)
        else:
            if gave_up:
                reason = f"gave up after {attempt} attempts: {reason}"
            self.store.outbox.mark_failed(row.id, self.owner, reason)
            result.failed += 1
            log.warning("push to %s: CDR %s attempt %d failed, parked: %s",
                        peer.label, row.cdr_id, attempt, reason)

    def _send(self, row: Claimed, peer, url: str) -> Delivered | tuple[bool, str]:
        """Delivered, or (retry?, reason)."""
        body, routing = row.cdr_json, tuple(row.cdr_recipient.split("/", 1))
        if peer.version == "2.1.1":
            # Stored in 2.2.1 form; a 2.1.1 peer gets it converted and no routing headers.
            body, routing = cdr_json_down(row.cdr_json), None
            if isinstance(body, Skip):
                return False, f"not sendable over OCPI 2.1.1: {body.reason}"
        try:
            response, _ = self.client.request(
                "POST", url, peer.token_out, peer.token_out_base64, body=body, routing=routing,
            )
        except OcpiStatusError as exc:
            # 2xxx: the receiver refuses this CDR; 3xxx and others: its trouble, try again.
            return (not 2000 <= exc.status_code < 3000), str(exc)
        except HttpStatusError as exc:
            if exc.envelope is not None and 2000 <= exc.envelope.status_code < 3000 and exc.status != 401:
                return False, str(exc)
            return (exc.status >= 500 or exc.status in RETRY_HTTP), str(exc)
        except ClientError as exc:  # unreachable, not an envelope, …: try again
            return True, str(exc)
        return Delivered(response.header("Location"))

    def backoff(self, attempt: int) -> float:
        """Exponential from backoff_initial, doubled per failed attempt, capped at backoff_max,
        with "equal jitter" (half fixed, half random) so peers that failed together spread out."""
        base = min(self.config.backoff_max, self.config.backoff_initial * 2 ** (attempt - 1))
        delay = base / 2 + base / 2 * self.jitter()
        return max(self.config.backoff_initial, min(self.config.backoff_max, delay))


class PusherThread:
    """Runs ``drain_once`` until stopped; sleeps ``poll_interval`` when idle or until woken."""

    def __init__(self, pusher: Pusher, poll_interval: float):
        self.pusher = pusher
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self.pusher.stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ocpi-lite-pusher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        self.pusher.stopping.set()
        self._wake.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                result = self.pusher.drain_once(self.pusher.clock())
            except Exception:  # a broken round must not end pushing for the process's life
                log.exception("pusher round failed")
                result = DrainResult()
            if result.claimed and not self._stop.is_set():
                continue  # more may be due right away
            self._wake.wait(self.poll_interval)
