"""The `outbox` table: one row per (CDR, peer) to push.

Row states: READY → LOCKED (claimed, with a lease that expires) → DONE or FAILED (parked);
CANCELLED when the peer unregisters. Claims run under the write lock (BEGIN IMMEDIATE), so two
workers or processes never hold the same row, and a row whose claimant was killed is taken
again once its lease has expired. Per peer, rows go out in id (= record) order: only a prefix of
the peer's queue is ever claimed, and never while another claimant holds part of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .db import Database

PENDING_STATES = ("READY", "LOCKED")

# A peer gets pushes when it is registered and lists a cdrs RECEIVER endpoint. 2.1.1
# endpoints have no role: a 2.1.1 eMSP's own `cdrs` endpoint is its Receiver.
_RECEIVING_PEERS = """
    SELECT DISTINCT p.id FROM parties p
    JOIN party_codes c ON c.party = p.id
    WHERE p.state = 'REGISTERED'
      AND c.country_code || '/' || c.party_id = ?
      AND EXISTS (
          SELECT 1 FROM json_each(p.endpoints) e
          WHERE json_extract(e.value, '$.identifier') = 'cdrs'
            AND (json_extract(e.value, '$.role') = 'RECEIVER'
                 OR (p.version = '2.1.1' AND c.role = 'EMSP'
                     AND json_extract(e.value, '$.role') IS NULL))
      )
"""


@dataclass(frozen=True)
class Claimed:
    """A claimed row with what it takes to send it."""

    id: int
    peer: int
    attempts: int
    cdr_id: str
    cdr_recipient: str  # `CC/PID` of the eMSP the CDR is for: the push's routing target
    cdr_json: bytes


@dataclass(frozen=True)
class OutboxRow:
    id: int
    peer: int
    peer_label: str
    cdr_key: str
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    location: str | None


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    # -- producing ----------------------------------------------------------------------------

    def enqueue(self, tx: sqlite3.Connection, cdr_pk: int, recipient: str, *,
                now: float, created_at: str) -> int:
        """Queue a CDR for every peer that receives CDRs for `recipient` (`CC/PID`), inside
        the caller's transaction, so a recorded CDR and its push commit together.
        Returns the number of rows queued."""
        peers = [row[0] for row in tx.execute(_RECEIVING_PEERS, (recipient,))]
        for peer in peers:
            tx.execute(
                "INSERT OR IGNORE INTO outbox (cdr, peer, state, next_attempt_at, created_at)"
                " VALUES (?, ?, 'READY', ?, ?)",
                (cdr_pk, peer, now, created_at),
            )
        return len(peers)

    # -- consuming ----------------------------------------------------------------------------

    def claim(self, owner: str, now: float, lease: float, batch: int) -> list[list[Claimed]]:
        """Claim, for each registered peer with work due, the first `batch` rows of its queue
        (stopping at a row not yet due). Returns one list per peer, in record order."""
        # A read-only look first: an idle poll never takes the write lock.
        if not self._due_peers(self.db.connection(), now):
            return []
        claimed: list[list[Claimed]] = []
        with self.db.transaction() as tx:
            for peer in self._due_peers(tx, now):
                # `state IN ('READY', 'LOCKED')` spelled as in the partial index outbox_pending,
                # so rows come in id order and only the claimed prefix is read, CDRs included.
                rows = tx.execute(
                    "SELECT o.id, o.state, o.next_attempt_at, o.locked_until, o.attempts, c.id,"
                    " c.recipient, c.json FROM outbox o JOIN cdrs c ON c.pk = o.cdr"
                    " WHERE o.peer = ? AND o.state IN ('READY', 'LOCKED') ORDER BY o.id LIMIT ?",
                    (peer, batch),
                ).fetchall()
                due: list[Claimed] = []
                for row_id, state, next_at, until, attempts, cdr_id, recipient, body in rows:
                    if (state == "READY" and next_at > now) or (state == "LOCKED" and until > now):
                        break  # waiting for its backoff, or held: nothing after it may overtake it
                    due.append(Claimed(row_id, peer, attempts, cdr_id, recipient, bytes(body)))
                if not due:
                    continue
                tx.executemany(
                    "UPDATE outbox SET state = 'LOCKED', locked_until = ?, locked_by = ? WHERE id = ?",
                    [(now + lease, owner, row.id) for row in due],
                )
                claimed.append(due)
        return claimed

    @staticmethod
    def _due_peers(conn: sqlite3.Connection, now: float) -> list[int]:
        """Registered peers whose queue head may be sent now: a few index lookups per peer,
        whatever the backlog (scanning the due rows grew with it)."""
        peers = []
        for (peer,) in conn.execute("SELECT id FROM parties WHERE state = 'REGISTERED'").fetchall():
            head = conn.execute(
                "SELECT state, next_attempt_at, locked_until FROM outbox"
                " WHERE peer = ? AND state IN ('READY', 'LOCKED') ORDER BY id LIMIT 1", (peer,),
            ).fetchone()
            if head is None:
                continue
            busy = conn.execute(
                "SELECT 1 FROM outbox WHERE peer = ? AND state = 'LOCKED' AND locked_until > ?"
                " LIMIT 1", (peer, now),
            ).fetchone()
            if busy:
                continue  # another claimant is sending this peer's queue: keep the order
            state, next_at, _ = head
            if state == "LOCKED" or next_at <= now:  # LOCKED and not busy: its lease expired
                peers.append(peer)
        return peers

    def mark_done(self, owner: str, deliveries: list[tuple[int, str | None]], delivered_at: str,
                  *, extend_until: float) -> int:
        """Record deliveries, as (row id, Location), and extend the lease on the rest of this
        claimant's rows, in one transaction. Returns how many of the rows were still ours
        (fewer means the lease was lost: the caller stops its batch)."""
        with self.db.transaction() as tx:
            done = tx.executemany(
                "UPDATE outbox SET state = 'DONE', attempts = attempts + 1, location = ?,"
                " delivered_at = ?, last_error = NULL, locked_until = NULL, locked_by = NULL"
                " WHERE id = ? AND state = 'LOCKED' AND locked_by = ?",
                [(location, delivered_at, row_id, owner) for row_id, location in deliveries],
            ).rowcount
            tx.execute(
                "UPDATE outbox SET locked_until = ? WHERE state = 'LOCKED' AND locked_by = ?",
                (extend_until, owner),
            )
        return done

    def mark_retry(self, row_id: int, owner: str, error: str, next_attempt_at: float) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET state = 'READY', attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = ?, locked_until = NULL, locked_by = NULL"
                " WHERE id = ? AND state = 'LOCKED' AND locked_by = ?",
                (error, next_attempt_at, row_id, owner),
            )

    def mark_failed(self, row_id: int, owner: str, error: str) -> None:
        """Park the row: only `ocpi-lite outbox retry` sends it again."""
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET state = 'FAILED', attempts = attempts + 1, last_error = ?,"
                " locked_until = NULL, locked_by = NULL"
                " WHERE id = ? AND state = 'LOCKED' AND locked_by = ?",
                (error, row_id, owner),
            )

    def release(self, owner: str, peer: int) -> None:
        """Give back the rows this claimant still holds for a peer, unchanged (no attempt
        counted), so none of them overtakes the one that just failed."""
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET state = 'READY', locked_until = NULL, locked_by = NULL"
                " WHERE state = 'LOCKED' AND locked_by = ? AND peer = ?",
                (owner, peer),
            )

    # -- operating ----------------------------------------------------------------------------

    def retry(self, row_ids: list[int] | None, now: float) -> int:
        """Re-queue parked (FAILED) rows, all of them when `row_ids` is None."""
        with self.db.transaction() as tx:
            where, params = "state = 'FAILED'", [now]
            if row_ids is not None:
                where += f" AND id IN ({', '.join('?' * len(row_ids))})"
                params += row_ids
            return tx.execute(
                "UPDATE outbox SET state = 'READY', attempts = 0, next_attempt_at = ?"
                f" WHERE {where}", params,
            ).rowcount

    def counts(self) -> dict[str, int]:
        rows = self.db.connection().execute("SELECT state, count(*) FROM outbox GROUP BY state")
        counts = {"READY": 0, "LOCKED": 0, "DONE": 0, "FAILED": 0, "CANCELLED": 0}
        counts.update(dict(rows.fetchall()))
        return counts

    def backlog(self, peer: int) -> int:
        """CDR pushes to this peer not delivered yet (pending or parked as failed)."""
        return self.db.connection().execute(
            "SELECT count(*) FROM outbox WHERE peer = ? AND state IN ('READY', 'LOCKED', 'FAILED')",
            (peer,),
        ).fetchone()[0]

    def rows(self, states: tuple[str, ...], limit: int = 100) -> list[OutboxRow]:
        placeholders = ", ".join("?" * len(states))
        rows = self.db.connection().execute(
            "SELECT o.id, o.peer, p.label, c.cdr_key, o.state, o.attempts, o.next_attempt_at,"
            " o.last_error, o.location FROM outbox o JOIN parties p ON p.id = o.peer"
            f" JOIN cdrs c ON c.pk = o.cdr WHERE o.state IN ({placeholders}) ORDER BY o.id LIMIT ?",
            (*states, limit),
        )
        return [OutboxRow(*row) for row in rows]
