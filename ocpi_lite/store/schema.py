"""Numbered migrations. Each is one function; `migrate` applies the missing ones in order,
each in its own transaction, and records it in `schema_migrations`."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone


def m001_initial(conn: sqlite3.Connection) -> None:
    run_statements(
        conn,
        """
        CREATE TABLE parties (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL,               -- name given at `token create`, or the peer's name
            state TEXT NOT NULL,               -- INVITED, REGISTERING, REGISTERED, UNREGISTERED
            version TEXT,                      -- OCPI version agreed with the peer
            versions_url TEXT,                 -- the peer's versions endpoint
            roles TEXT NOT NULL DEFAULT '[]',      -- JSON: the peer's CredentialsRoles
            endpoints TEXT NOT NULL DEFAULT '[]',  -- JSON: the peer's endpoints for `version`
            token_out TEXT,                    -- token we present to the peer (plain: we must send it)
            token_out_base64 INTEGER NOT NULL DEFAULT 1,  -- 0 for peers that expect raw tokens
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- (country_code, party_id) of each peer role, upper-cased: who may see which CDRs.
        CREATE TABLE party_codes (
            party INTEGER NOT NULL REFERENCES parties(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            country_code TEXT NOT NULL,
            party_id TEXT NOT NULL,
            PRIMARY KEY (party, role, country_code, party_id)
        );
        CREATE INDEX party_codes_code ON party_codes(country_code, party_id);
        -- Tokens peers present to us, as SHA-256 digests only.
        CREATE TABLE tokens (
            digest TEXT PRIMARY KEY,
            party INTEGER NOT NULL REFERENCES parties(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                -- A: registration only; B/C: a registered peer's
            fingerprint TEXT NOT NULL,         -- short, safe to show
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX tokens_party ON tokens(party);
        CREATE TABLE cdrs (
            pk INTEGER PRIMARY KEY,
            cdr_key TEXT NOT NULL UNIQUE,      -- upper(country_code/party_id/id): case-insensitive key
            country_code TEXT NOT NULL,
            party_id TEXT NOT NULL,
            id TEXT NOT NULL,
            source TEXT NOT NULL,              -- RECORDED (ours) or RECEIVED (pushed to us)
            sender INTEGER REFERENCES parties(id),  -- the peer that pushed a RECEIVED CDR
            recipient TEXT NOT NULL,           -- upper(cdr_token country_code || '/' || party_id)
            last_updated_us INTEGER NOT NULL,  -- last_updated as epoch microseconds: sortable
            credit INTEGER NOT NULL DEFAULT 0,
            credit_reference_id TEXT,
            json BLOB NOT NULL,                -- canonical JSON, served as is
            created_at TEXT NOT NULL
        );
        CREATE INDEX cdrs_source_order ON cdrs(source, last_updated_us, pk);
        CREATE INDEX cdrs_recipient_order ON cdrs(source, recipient, last_updated_us, pk);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            cdr INTEGER NOT NULL REFERENCES cdrs(pk),
            peer INTEGER NOT NULL REFERENCES parties(id),
            state TEXT NOT NULL DEFAULT 'READY',  -- READY, LOCKED, DONE, FAILED, CANCELLED
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,     -- epoch seconds
            locked_until REAL,
            locked_by TEXT,
            last_error TEXT,
            location TEXT,                     -- Location header the receiver answered
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            UNIQUE (cdr, peer)
        );
        CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
        CREATE INDEX outbox_peer ON outbox(peer, state, id);
        """
    )


def m002_cdrs_by_id(conn: sqlite3.Connection) -> None:
    # GET /cpo/cdrs/{id} and `ocpi-lite cdrs credit ID` look CDRs up by id alone (any case).
    conn.execute("CREATE INDEX cdrs_upper_id ON cdrs(upper(id))")


def m003_auth_generation(conn: sqlite3.Connection) -> None:
    # A counter that moves whenever who may call us changes (tokens, parties, their codes),
    # kept by triggers so that no write path can forget it. Token lookups are cached until it
    # moves: CDR traffic, which commits all the time, no longer empties that cache.
    statements = [
        "CREATE TABLE auth_generation (n INTEGER NOT NULL)",
        "INSERT INTO auth_generation (n) VALUES (0)",
    ]
    for table in ("tokens", "parties", "party_codes"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_{event.lower()}_auth AFTER {event} ON {table}"
                " BEGIN UPDATE auth_generation SET n = n + 1; END"
            )
    for statement in statements:
        conn.execute(statement)


def m004_outbox_pending(conn: sqlite3.Connection) -> None:
    # A peer's queue in record order, pending rows only: claiming the head of a queue reads
    # `batch` index entries instead of sorting the whole backlog (which also read every
    # pending CDR's JSON). The outbox queries spell the same `state IN (...)` to use it.
    conn.execute(
        "CREATE INDEX outbox_pending ON outbox(peer, id) WHERE state IN ('READY', 'LOCKED')"
    )


def m005_recorded_only_indexes(conn: sqlite3.Connection) -> None:
    # Paging, counting and lookups by id only ever read our own (RECORDED) CDRs, so their
    # indexes hold only those: a CDR pushed to us updates one index (its key) instead of four,
    # which took a third off the Receiver's insert-and-commit. Queries must spell
    # `source = 'RECORDED'` literally for SQLite to use these (a bound parameter will not do).
    for statement in (
        "DROP INDEX cdrs_source_order",
        "DROP INDEX cdrs_recipient_order",
        "DROP INDEX cdrs_upper_id",
        "CREATE INDEX cdrs_recorded_order ON cdrs(last_updated_us, pk) WHERE source = 'RECORDED'",
        "CREATE INDEX cdrs_recorded_recipient_order ON cdrs(recipient, last_updated_us, pk)"
        " WHERE source = 'RECORDED'",
        "CREATE INDEX cdrs_recorded_upper_id ON cdrs(upper(id)) WHERE source = 'RECORDED'",
    ):
        conn.execute(statement)


MIGRATIONS = [
    m001_initial, m002_cdrs_by_id, m003_auth_generation, m004_outbox_pending,
    m005_recorded_only_indexes,
]


def migrate(conn: sqlite3.Connection, transaction) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for number, migration in enumerate(MIGRATIONS, start=1):
        # Each check-and-apply runs under the write lock, so two workers starting together
        # apply each migration once.
        with transaction() as tx:
            done = tx.execute(
                "SELECT 1 FROM schema_migrations WHERE number = ?", (number,)
            ).fetchone()
            if done:
                continue
            migration(tx)
            tx.execute(
                "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (number, migration.__name__, datetime.now(timezone.utc).isoformat()),
            )


def run_statements(conn: sqlite3.Connection, script: str) -> None:
    """Run a script statement by statement: executescript() would COMMIT the open
    transaction first, and a migration must apply whole or not at all."""
    current: list[str] = []
    for line in script.splitlines():
        code = line.split("--", 1)[0]  # the scripts here keep "--" out of string literals
        current.append(code)
        if code.rstrip().endswith(";"):
            conn.execute("\n".join(current))
            current = []
    if "".join(current).strip():
        conn.execute("\n".join(current))
