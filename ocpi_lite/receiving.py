"""The CDR Receiver's rules, without HTTP: who may push which CDR, idempotent retries, no
overwrites, and who may read a received CDR back (mod_cdrs.asciidoc, Receiver interface)."""

from __future__ import annotations

import msgspec

from .models.cdrs import Cdr
from .store import Store
from .store.cdrs import RECEIVED, CdrConflict, StoredCdr
from .store.parties import Peer


class CdrRefused(Exception):
    """The CDR is valid but cannot be accepted from this peer; the message names the field."""


def receive_cdr(store: Store, cdr: Cdr, sender: Peer, now: str) -> tuple[int, bool]:
    """Store a CDR pushed by `sender`. Returns (pk, created); created is False for a retry of
    identical content, which is a success so that a CPO's retries never fail or double-bill.

    Raises CdrRefused when the CDR is not the sender's own, or when its key already holds other
    content (a billing record is never overwritten: the CPO sends a credit CDR instead).
    Nothing is stored in either case.
    """
    owner = (cdr.country_code.upper(), cdr.party_id.upper())
    if owner not in sender.codes:
        allowed = ", ".join(f"{cc}/{pid}" for cc, pid in sender.codes) or "none"
        raise CdrRefused(
            f"Invalid field `country_code`/`party_id`: {cdr.country_code}/{cdr.party_id} is not"
            f" one of the pushing party's roles ({allowed})"
        )
    # Canonical bytes: the same CDR sent again, in any key order or with extra unknown fields,
    # encodes to the same bytes, so a retry is recognised by comparing them.
    body = msgspec.json.encode(cdr)
    try:
        with store.db.transaction() as tx:
            return store.cdrs.add(tx, cdr, body, source=RECEIVED, sender=sender.id, now=now)
    except CdrConflict:
        raise CdrRefused(
            f"Invalid field `id`: CDR {cdr.country_code}/{cdr.party_id}/{cdr.id} already exists"
            " with other content; a CDR is never changed (send a credit CDR instead)"
        ) from None


def may_see(peer: Peer, stored: StoredCdr) -> bool:
    """A received CDR is visible to the peer that pushed it, to a peer holding the CDR's owner
    role, and to a HUB; to anyone else it does not exist (404, not 403: nothing is revealed)."""
    if stored.source != RECEIVED:
        return False  # our own (recorded) CDRs are served by the Sender interface only
    if stored.sender == peer.id:
        return True
    if (stored.country_code.upper(), stored.party_id.upper()) in peer.codes:
        return True
    return any(str(role.get("role", "")).upper() == "HUB" for role in peer.roles)
