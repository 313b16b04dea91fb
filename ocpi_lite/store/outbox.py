"""The `outbox` table: one row per (CDR, peer) to push, claimed with leases so that two
workers or processes never send the same row at the same time."""

from __future__ import annotations

import sqlite3

from .db import Database

# A peer gets pushes when it is registered and lists a cdrs RECEIVER endpoint.
_RECEIVING_PEERS = """
    SELECT DISTINCT p.id FROM parties p
    JOIN party_codes c ON c.party = p.id
    WHERE p.state = 'REGISTERED'
      AND c.country_code || '/' || c.party_id = ?
      AND EXISTS (
          SELECT 1 FROM json_each(p.endpoints) e
          WHERE json_extract(e.value, '$.identifier') = 'cdrs'
            AND json_extract(e.value, '$.role') = 'RECEIVER'
      )
"""


class Outbox:
    def __init__(self, db: Database):
        self.db = db

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
