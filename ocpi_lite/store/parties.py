"""Peers (`parties`), their role codes (`party_codes`) and the tokens they present (`tokens`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field

from .db import Database

REGISTRATION_ONLY = "A"  # CREDENTIALS_TOKEN_A: versions, details and credentials only
ISSUED_AS_SERVER = "C"  # the token we answer a peer's POST/PUT with (CREDENTIALS_TOKEN_C)
ISSUED_AS_CLIENT = "B"  # the token we send in our own POST/PUT (CREDENTIALS_TOKEN_B)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_fingerprint(token: str) -> str:
    """What listings and logs show instead of a token: enough to tell tokens apart."""
    return "sha256:" + token_digest(token)[:10]


@dataclass(frozen=True)
class Peer:
    id: int
    label: str
    state: str
    version: str | None = None
    versions_url: str | None = None
    roles: list[dict] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    token_out: str | None = None
    token_out_base64: bool = True

    @property
    def codes(self) -> list[tuple[str, str]]:
        """Upper-cased (country_code, party_id) of every role: what this peer may see."""
        return sorted({(r["country_code"].upper(), r["party_id"].upper()) for r in self.roles})

    def endpoint(self, identifier: str, role: str | None = None) -> str | None:
        for endpoint in self.endpoints:
            if endpoint.get("identifier") == identifier and (
                role is None or endpoint.get("role") in (role, None)
            ):
                return endpoint.get("url")
        return None


@dataclass(frozen=True)
class Connection:
    """What a successful credentials exchange (POST or PUT) tells us about a peer."""

    version: str
    versions_url: str
    roles: list[dict]  # the peer's CredentialsRoles
    endpoints: list[dict]  # {identifier, role, url} of `version`
    token_out: str  # the token the peer gave us to call it
    token_out_base64: bool
    label: str | None = None  # None keeps the current label


@dataclass(frozen=True)
class TokenInfo:
    kind: str
    fingerprint: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the peer behind the token, and which kind of token it was."""

    peer: Peer
    token_kind: str

    @property
    def registration_only(self) -> bool:
        return self.token_kind == REGISTRATION_ONLY


_PEER_COLUMNS = (
    "id, label, state, version, versions_url, roles, endpoints, token_out, token_out_base64"
)


_AUTHENTICATE_SQL = (
    f"SELECT t.digest, t.kind, {', '.join('p.' + c.strip() for c in _PEER_COLUMNS.split(','))}"
    " FROM tokens t JOIN parties p ON p.id = t.party"
    " WHERE t.digest IN ({}) AND t.revoked_at IS NULL"
)


def _peer(row: tuple) -> Peer:
    return Peer(
        id=row[0],
        label=row[1],
        state=row[2],
        version=row[3],
        versions_url=row[4],
        roles=json.loads(row[5]),
        endpoints=json.loads(row[6]),
        token_out=row[7],
        token_out_base64=bool(row[8]),
    )


class Parties:
    def __init__(self, db: Database):
        self.db = db
        self._callers = threading.local()  # per-thread cache: see authenticate_first

    def create_invitation(self, label: str, token: str, now: str) -> int:
        """A new peer-to-be holding a registration token (CREDENTIALS_TOKEN_A)."""
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO parties (label, state, created_at, updated_at)"
                " VALUES (?, 'INVITED', ?, ?)",
                (label, now, now),
            )
            self.add_token(tx, cursor.lastrowid, token, REGISTRATION_ONLY, now)
            return cursor.lastrowid

    @staticmethod
    def add_token(tx: sqlite3.Connection, party: int, token: str, kind: str, now: str) -> None:
        tx.execute(
            "INSERT INTO tokens (digest, party, kind, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)",
            (token_digest(token), party, kind, token_fingerprint(token), now),
        )

    def authenticate(self, token: str) -> Caller | None:
        found = self.authenticate_first([token])
        return found[0] if found else None

    def authenticate_first(self, tokens: list[str]) -> tuple[Caller, str] | None:
        """The Caller of the first valid token in `tokens`, and that token. One query for all
        of them: an Authorization header's raw and Base64 forms cost one lookup, not two.

        Answers are cached per thread until `auth_generation` moves (triggers move it on every
        change to tokens, parties or their codes, in any process): a revoked token fails from
        the commit that revokes it, and CDR writes leave the cache alone. The lookup was a
        third of a CDR page's own time."""
        conn = self.db.connection()
        marker = conn.execute("SELECT n FROM auth_generation").fetchone()[0]
        cache = getattr(self._callers, "cache", None)
        if cache is None or cache[0] is not conn or cache[1] != marker or len(cache[2]) > 64:
            cache = (conn, marker, {})
            self._callers.cache = cache
        key = tuple(tokens)  # hashed only on a miss: two SHA-256 per request add up
        if key in cache[2]:
            return cache[2][key]
        digests = tuple(token_digest(token) for token in tokens)
        rows = conn.execute(
            _AUTHENTICATE_SQL.format(", ".join("?" * len(digests))), digests
        ).fetchall()
        by_digest = {row[0]: row for row in rows}
        found = None
        for token, digest in zip(tokens, digests):
            row = by_digest.get(digest)
            if row is not None:
                found = Caller(peer=_peer(row[2:]), token_kind=row[1]), token
                break
        cache[2][key] = found
        return found

    def get(self, party: int) -> Peer | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_PEER_COLUMNS} FROM parties WHERE id = ?", (party,))
            .fetchone()
        )
        return _peer(row) if row else None

    def all(self) -> list[Peer]:
        rows = self.db.connection().execute(f"SELECT {_PEER_COLUMNS} FROM parties ORDER BY id")
        return [_peer(row) for row in rows]

    def find(self, reference: str) -> Peer | None:
        """A peer by numeric id or by `CC/PID` of one of its roles (the newest such party)."""
        if reference.isdigit():
            return self.get(int(reference))
        country_code, sep, party_id = reference.partition("/")
        if not sep:
            return None
        row = self.db.connection().execute(
            "SELECT party FROM party_codes WHERE country_code = ? AND party_id = ?"
            " ORDER BY party DESC LIMIT 1",
            (country_code.upper(), party_id.upper()),
        ).fetchone()
        return self.get(row[0]) if row else None

    def registered_with_roles(self, roles: list[dict], *, other_than: int) -> Peer | None:
        """A REGISTERED peer (not `other_than`) that already holds one of these roles."""
        conn = self.db.connection()
        for role in roles:
            row = conn.execute(
                "SELECT c.party FROM party_codes c JOIN parties p ON p.id = c.party"
                " WHERE c.role = ? AND c.country_code = ? AND c.party_id = ?"
                " AND p.state = 'REGISTERED' AND p.id != ?",
                (role["role"].upper(), role["country_code"].upper(), role["party_id"].upper(),
                 other_than),
            ).fetchone()
            if row:
                return self.get(row[0])
        return None

    def tokens(self, party: int) -> list[TokenInfo]:
        rows = self.db.connection().execute(
            "SELECT kind, fingerprint, created_at, revoked_at FROM tokens WHERE party = ?"
            " ORDER BY created_at, rowid",
            (party,),
        )
        return [TokenInfo(*row) for row in rows]

    # -- the credentials handshake ---------------------------------------------------------

    def start_registering(self, label: str, versions_url: str, token: str, now: str) -> int:
        """Our own POST is about to go out: the peer will call us back with `token` (B) during
        the handshake, from another process, so it is committed before the POST is sent."""
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO parties (label, state, versions_url, created_at, updated_at)"
                " VALUES (?, 'REGISTERING', ?, ?, ?)",
                (label, versions_url, now, now),
            )
            self.add_token(tx, cursor.lastrowid, token, ISSUED_AS_CLIENT, now)
            return cursor.lastrowid

    def discard_registering(self, party: int) -> None:
        """Our POST failed: forget the party and its token B as if we never tried."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM parties WHERE id = ? AND state = 'REGISTERING'", (party,))

    def add_pending_token(self, party: int, token: str, now: str) -> None:
        """Our PUT is about to go out with a new token B; the current one stays valid until
        the exchange succeeds (save_connection revokes it then)."""
        with self.db.transaction() as tx:
            self.add_token(tx, party, token, ISSUED_AS_CLIENT, now)

    def drop_token(self, token: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM tokens WHERE digest = ?", (token_digest(token),))

    def save_connection(self, party: int, connection: Connection, *, from_states: tuple[str, ...],
                        keep_token: str, issue_token: bool, now: str) -> bool:
        """End of a successful exchange, in one transaction: `keep_token` becomes the peer's
        only valid token (inserted when `issue_token`, i.e. a token C we answer with), every
        other token of the peer is revoked (token A, or the token before a PUT), and the
        peer's roles, role codes and endpoints are stored.

        Returns False, storing nothing, when the peer is no longer in one of `from_states`
        (a concurrent POST, PUT or DELETE got there first)."""
        with self.db.transaction() as tx:
            row = tx.execute("SELECT state FROM parties WHERE id = ?", (party,)).fetchone()
            if row is None or row[0] not in from_states:
                return False
            if issue_token:
                self.add_token(tx, party, keep_token, ISSUED_AS_SERVER, now)
            tx.execute(
                "UPDATE tokens SET revoked_at = ? WHERE party = ? AND revoked_at IS NULL"
                " AND digest != ?",
                (now, party, token_digest(keep_token)),
            )
            tx.execute(
                "UPDATE parties SET state = 'REGISTERED', version = ?, versions_url = ?,"
                " roles = ?, endpoints = ?, token_out = ?, token_out_base64 = ?,"
                " label = coalesce(?, label), updated_at = ? WHERE id = ?",
                (connection.version, connection.versions_url, json.dumps(connection.roles),
                 json.dumps(connection.endpoints), connection.token_out,
                 int(connection.token_out_base64), connection.label, now, party),
            )
            # party_codes mirrors parties.roles: the CDR Sender filters on it.
            tx.execute("DELETE FROM party_codes WHERE party = ?", (party,))
            tx.executemany(
                "INSERT OR IGNORE INTO party_codes (party, role, country_code, party_id)"
                " VALUES (?, ?, ?, ?)",
                [(party, r["role"].upper(), r["country_code"].upper(), r["party_id"].upper())
                 for r in connection.roles],
            )
            return True

    def unregister(self, party: int, now: str) -> None:
        """Both sides stop all automated traffic: the peer's tokens are revoked, the token we
        used to call it is forgotten, and its queued pushes are cancelled."""
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE tokens SET revoked_at = ? WHERE party = ? AND revoked_at IS NULL",
                (now, party),
            )
            tx.execute(
                "UPDATE parties SET state = 'UNREGISTERED', token_out = NULL, updated_at = ?"
                " WHERE id = ?",
                (now, party),
            )
            tx.execute(
                "UPDATE outbox SET state = 'CANCELLED' WHERE peer = ?"
                " AND state IN ('READY', 'LOCKED', 'FAILED')",
                (party,),
            )
