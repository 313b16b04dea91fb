"""The `cdrs` table: CDRs we recorded (as CPO) and CDRs pushed to us (as eMSP), one store.

A CDR is stored once per case-insensitive key (country_code/party_id/id), as its canonical
JSON bytes, so pages and GETs are served without decoding and re-encoding.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..models.cdrs import Cdr
from ..models.common import to_epoch_us
from .db import Database

RECORDED = "RECORDED"  # ours: we are the CPO that owns it
RECEIVED = "RECEIVED"  # pushed to us by a peer CPO


class CdrConflict(Exception):
    """The key exists with different content: a billing record is never overwritten."""


@dataclass(frozen=True)
class StoredCdr:
    pk: int
    key: str
    country_code: str
    party_id: str
    id: str
    source: str
    sender: int | None
    recipient: str
    json: bytes


_COLUMNS = "pk, cdr_key, country_code, party_id, id, source, sender, recipient, json"


class Cdrs:
    def __init__(self, db: Database):
        self.db = db

    def add(self, tx: sqlite3.Connection, cdr: Cdr, body: bytes, *, source: str,
            sender: int | None, now: str) -> tuple[int, bool]:
        """Store a CDR inside the caller's transaction. Returns (pk, created).

        The same key with the same bytes is not an error (retries are safe): created is False.
        The same key with other bytes raises CdrConflict and changes nothing.
        """
        existing = tx.execute(
            "SELECT pk, json FROM cdrs WHERE cdr_key = ?", (cdr.key,)
        ).fetchone()
        if existing is not None:
            if bytes(existing[1]) == body:
                return existing[0], False
            raise CdrConflict(f"CDR {cdr.country_code}/{cdr.party_id}/{cdr.id} exists with other content")
        cursor = tx.execute(
            "INSERT INTO cdrs (cdr_key, country_code, party_id, id, source, sender, recipient,"
            " last_updated_us, credit, credit_reference_id, json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cdr.key, cdr.country_code, cdr.party_id, cdr.id, source, sender, cdr.recipient,
                to_epoch_us(cdr.last_updated), int(bool(cdr.credit)), cdr.credit_reference_id,
                body, now,
            ),
        )
        return cursor.lastrowid, True

    def get(self, key: str) -> StoredCdr | None:
        """By case-insensitive key `CC/PID/ID` (any case)."""
        row = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM cdrs WHERE cdr_key = ?", (key.upper(),)
        ).fetchone()
        return _stored(row) if row else None


def _stored(row: tuple) -> StoredCdr:
    return StoredCdr(
        pk=row[0], key=row[1], country_code=row[2], party_id=row[3], id=row[4], source=row[5],
        sender=row[6], recipient=row[7], json=bytes(row[8]),
    )
