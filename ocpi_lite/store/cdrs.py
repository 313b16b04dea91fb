"""The `cdrs` table: CDRs we recorded (as CPO) and CDRs pushed to us (as eMSP), one store.

A CDR is stored once per case-insensitive key (country_code/party_id/id), as its canonical
JSON bytes, so pages and GETs are served without decoding and re-encoding.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from ..models.cdrs import Cdr
from ..models.common import to_epoch_us
from .db import Database

RECORDED = "RECORDED"  # ours: we are the CPO that owns it
RECEIVED = "RECEIVED"  # pushed to us by a peer CPO
# Written out, not bound: the paging and id indexes hold RECORDED rows only (migration 5), and
# SQLite uses a partial index only when the query's WHERE spells its condition.
_IS_RECORDED = f"source = '{RECORDED}'"


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


_CACHE_SIZE = 1024  # entries per cache and thread: counts and page positions are small


class Cdrs:
    def __init__(self, db: Database):
        self.db = db
        self._counts = threading.local()  # per-thread count cache: see sender_count

    def add(self, tx: sqlite3.Connection, cdr: Cdr, body: bytes, *, source: str,
            sender: int | None, now: str) -> tuple[int, bool]:
        """Store a CDR inside the caller's transaction. Returns (pk, created).

        The same key with the same bytes is not an error (retries are safe): created is False.
        The same key with other bytes raises CdrConflict and changes nothing.
        """
        # Insert first, look only on a clash: a new CDR (the common case) is one statement.
        cursor = tx.execute(
            "INSERT INTO cdrs (cdr_key, country_code, party_id, id, source, sender, recipient,"
            " last_updated_us, credit, credit_reference_id, json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cdr_key) DO NOTHING",
            (
                cdr.key, cdr.country_code, cdr.party_id, cdr.id, source, sender, cdr.recipient,
                to_epoch_us(cdr.last_updated), int(bool(cdr.credit)), cdr.credit_reference_id,
                body, now,
            ),
        )
        if cursor.rowcount == 1:
            return cursor.lastrowid, True
        existing = tx.execute(
            "SELECT pk, json FROM cdrs WHERE cdr_key = ?", (cdr.key,)
        ).fetchone()
        if bytes(existing[1]) == body:
            return existing[0], False
        raise CdrConflict(f"CDR {cdr.country_code}/{cdr.party_id}/{cdr.id} exists with other content")

    def get(self, key: str) -> StoredCdr | None:
        """By case-insensitive key `CC/PID/ID` (any case)."""
        row = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM cdrs WHERE cdr_key = ?", (key.upper(),)
        ).fetchone()
        return _stored(row) if row else None

    def count_received(self) -> int:
        """How many CDRs peers have pushed to us (the demo and operators watch this)."""
        # All rows minus ours, both counted on an index: no index lists received CDRs alone.
        return self.db.connection().execute(
            f"SELECT (SELECT count(*) FROM cdrs) - (SELECT count(*) FROM cdrs WHERE {_IS_RECORDED})"
        ).fetchone()[0]

    # -- the CDR Sender (GET /cpo/cdrs): recorded CDRs, per-caller visibility, keyset pages --
    # Its rules are about speed (design §8): keyset seeks and a count cache.

    def sender_page(self, where: SenderFilter, *, after: tuple[int, int] | None, offset: int,
                    limit: int, positional: bool = False) -> list[PageRow]:
        """Up to `limit` rows in (last_updated_us, pk) order, `offset` rows past `after`.

        `positional`: the client pages by `offset` alone (no cursor of ours). Then the
        (last_updated_us, pk) just before a page start is remembered, per thread, until the
        database changes, so the same or the next offset is one index seek instead of an SQL
        OFFSET that walks every row before it. Any commit forgets them all: a remembered
        position always gives the rows OFFSET would.
        """
        if limit <= 0 or where.recipients == ():
            return []
        if not positional:
            return self._sender_rows(where, after, offset, limit)
        positions = self._cache(self.db.connection(), "positions")
        key = (where, after)
        start = positions.get((key, offset)) if offset else None
        if start is not None:
            rows = self._sender_rows(where, start, 0, limit)
        elif offset:
            # One row more, the one before the page: its position is what the next request
            # for this offset seeks to.
            rows = self._sender_rows(where, after, offset - 1, limit + 1)
            if not rows:
                return []
            positions[(key, offset)] = (rows[0].last_updated_us, rows[0].pk)
            rows = rows[1:]
        else:
            rows = self._sender_rows(where, after, 0, limit)
        # Where the next pages start, for a client stepping by `limit` (the resource asks for
        # one row more than the page, so both of the last two rows may end a page).
        for index in (len(rows) - 2, len(rows) - 1):
            if index >= 0:
                positions[(key, offset + index + 1)] = (rows[index].last_updated_us, rows[index].pk)
        return rows

    def _sender_rows(self, where: SenderFilter, after: tuple[int, int] | None, offset: int,
                     limit: int) -> list[PageRow]:
        """`after` is the only lower bound in SQL (the caller has already folded `from_us`
        into it): with `last_updated_us >= ?` beside the row value, SQLite 3.40 walks from the
        bound instead of seeking, slower than OFFSET."""
        conditions, params = [_IS_RECORDED], []
        if after is not None:
            conditions.append("(last_updated_us, pk) > (?, ?)")
            params += after
        if where.to_us is not None:
            conditions.append("last_updated_us < ?")
            params.append(where.to_us)
        if where.non_credit_only:
            conditions.append("credit = 0")
        select = "SELECT last_updated_us, pk, json FROM cdrs WHERE "
        order = " ORDER BY last_updated_us, pk"
        if where.recipients is None or len(where.recipients) == 1:
            if where.recipients:
                conditions.append("recipient = ?")
                params.append(where.recipients[0])
            sql = select + " AND ".join(conditions) + order + " LIMIT ? OFFSET ?"
            rows = self.db.connection().execute(sql, (*params, limit, offset))
        else:
            # One index seek per recipient, merged: `recipient IN (…)` would sort every match.
            branch = (f"SELECT * FROM ({select}{' AND '.join(conditions)} AND recipient = ?"
                      f"{order} LIMIT ?)")
            sql = " UNION ALL ".join([branch] * len(where.recipients)) + " ORDER BY 1, 2 LIMIT ? OFFSET ?"
            all_params: list = []
            for recipient in where.recipients:
                all_params += [*params, recipient, offset + limit]
            rows = self.db.connection().execute(sql, (*all_params, limit, offset))
        # Rows become PageRows in C: a frozen dataclass per row cost ~1 µs, a third of a page.
        return list(map(_page_row, rows))

    def sender_count(self, where: SenderFilter) -> int:
        """How many recorded CDRs match, cached until the database changes (`_cache`)."""
        if where.recipients == ():
            return 0
        conn = self.db.connection()
        cache = self._cache(conn, "counts")
        if where not in cache:
            conditions, params = [_IS_RECORDED], []
            if where.recipients is not None:
                conditions.append(f"recipient IN ({', '.join('?' * len(where.recipients))})")
                params += where.recipients
            if where.from_us is not None:
                conditions.append("last_updated_us >= ?")
                params.append(where.from_us)
            if where.to_us is not None:
                conditions.append("last_updated_us < ?")
                params.append(where.to_us)
            if where.non_credit_only:
                conditions.append("credit = 0")
            sql = "SELECT count(*) FROM cdrs WHERE " + " AND ".join(conditions)
            cache[where] = conn.execute(sql, params).fetchone()[0]
        return cache[where]

    def recorded_with_id(self, cdr_id: str,
                         recipients: tuple[str, ...] | None = None) -> list[StoredCdr]:
        """Recorded CDRs with this id (any case), under any party, oldest first; only those
        for `recipients` unless None."""
        sql = f"SELECT {_COLUMNS} FROM cdrs WHERE upper(id) = ? AND {_IS_RECORDED}"
        params: list = [cdr_id.upper()]
        if recipients is not None:
            sql += f" AND recipient IN ({', '.join('?' * len(recipients))})"
            params += recipients
        rows = self.db.connection().execute(sql + " ORDER BY pk", params)
        return [_stored(row) for row in rows]

    def credit_of(self, tx: sqlite3.Connection, original: StoredCdr) -> StoredCdr | None:
        """A credit CDR already recorded for `original` (same party, credit_reference_id)."""
        row = tx.execute(
            f"SELECT {_COLUMNS} FROM cdrs WHERE credit = 1 AND {_IS_RECORDED}"
            " AND upper(country_code) = ? AND upper(party_id) = ? AND upper(credit_reference_id) = ?",
            (original.country_code.upper(), original.party_id.upper(), original.id.upper()),
        ).fetchone()
        return _stored(row) if row else None

    def until_next_write(self, name: str, max_entries: int) -> dict:
        """A per-thread dict for answers derived from the CDRs (a served page, say), emptied by
        any commit to the database, from any process, and when it reaches `max_entries`."""
        return self._cache(self.db.connection(), name, max_entries)

    def _cache(self, conn: sqlite3.Connection, name: str, max_entries: int = _CACHE_SIZE) -> dict:
        """A per-thread dict that forgets everything once the database changes: `PRAGMA
        data_version` moves when another connection commits, `total_changes` when this one
        writes; together they say "nothing changed since". Connections are per thread, so the
        caches are too."""
        marker = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        caches = getattr(self._counts, "caches", None)
        if caches is None or caches[0] is not conn or caches[1] != marker:
            caches = (conn, marker, {})
            self._counts.caches = caches
        cache = caches[2].setdefault(name, {})
        if len(cache) >= max_entries:
            cache.clear()
        return cache


def _stored(row: tuple) -> StoredCdr:
    return StoredCdr(
        pk=row[0], key=row[1], country_code=row[2], party_id=row[3], id=row[4], source=row[5],
        sender=row[6], recipient=row[7], json=bytes(row[8]),
    )


# -- types of the CDR Sender queries --------------------------------------------------------------


@dataclass(frozen=True)
class SenderFilter:
    """What one caller may see under one request's filters. `recipients` None = everything
    (a HUB); otherwise the upper-cased `CC/PID` codes of the caller's roles."""

    recipients: tuple[str, ...] | None
    from_us: int | None = None  # inclusive
    to_us: int | None = None  # exclusive
    non_credit_only: bool = False  # 2.1.1 callers: credit CDRs do not exist in 2.1.1


class PageRow(NamedTuple):
    last_updated_us: int
    pk: int
    json: bytes


_page_row = partial(tuple.__new__, PageRow)  # (last_updated_us, pk, json) row → PageRow
