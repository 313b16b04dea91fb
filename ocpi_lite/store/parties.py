"""Peers (`parties`), their role codes (`party_codes`) and the tokens they present (`tokens`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from .db import Database

REGISTRATION_ONLY = "A"  # CREDENTIALS_TOKEN_A: versions, details and credentials only


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
        row = (
            self.db.connection()
            .execute(
                f"SELECT t.kind, {', '.join('p.' + c.strip() for c in _PEER_COLUMNS.split(','))}"
                " FROM tokens t JOIN parties p ON p.id = t.party"
                " WHERE t.digest = ? AND t.revoked_at IS NULL",
                (token_digest(token),),
            )
            .fetchone()
        )
        if row is None:
            return None
        return Caller(peer=_peer(row[1:]), token_kind=row[0])

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
