"""Recording our own CDRs (as CPO) and crediting them: validate, store the canonical bytes,
and queue the push, all in one transaction. Used by `OcpiLite` and the `ocpi-lite cdrs` CLI.

Rules: a CDR is stored once per key (country_code/party_id/id, any case). Recording the same
CDR again is a no-op success; the same key with other content is a RecordError naming the
key and nothing changes. The CDR's own country_code/party_id is not checked against our
configured party: one platform may host several CPO party ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from .models.cdrs import Cdr, outbound_problem
from .models.common import Price, describe_validation_error, format_datetime, parse_datetime
from .store.cdrs import RECORDED, CdrConflict, StoredCdr

CREDIT_SUFFIX = "-C"
CREDIT_ID_MAX = 39

_decoder = msgspec.json.Decoder(Cdr)
_encoder = msgspec.json.Encoder()


class RecordError(Exception):
    """A CDR we refuse to record; the message names the JSON path or the CDR key."""


@dataclass(frozen=True)
class Recorded:
    cdr: Cdr
    created: bool  # False: the identical CDR was already stored


def decode_cdr(cdr: Any) -> Cdr:
    """A validated Cdr from a dict, JSON bytes/str or a Cdr.

    A Cdr built in Python skips msgspec's constraints, so it is encoded and decoded again:
    every input passes the same checks and gets the same error messages.
    """
    raw = cdr if isinstance(cdr, (bytes, bytearray, memoryview, str)) else _encoder.encode(cdr)
    try:
        decoded = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise RecordError(describe_validation_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise RecordError(f"not valid JSON: {exc}") from None
    problem = outbound_problem(decoded)
    if problem:
        raise RecordError(problem)
    return decoded


def store_in(tx, store, cdr: Cdr, now: datetime) -> bool:
    """Store a validated CDR inside the caller's transaction and queue its push when new.
    Returns True when it was new."""
    stamp = format_datetime(now)
    try:
        pk, created = store.cdrs.add(tx, cdr, _encoder.encode(cdr), source=RECORDED,
                                     sender=None, now=stamp)
    except CdrConflict as exc:
        raise RecordError(str(exc)) from None
    if created:
        store.outbox.enqueue(tx, pk, cdr.recipient, now=now.timestamp(), created_at=stamp)
    return created


def record(store, cdr: Any, now: datetime) -> Recorded:
    decoded = decode_cdr(cdr)
    with store.db.transaction() as tx:
        created = store_in(tx, store, decoded, now)
    return Recorded(decoded, created)


def record_cdr(store, cdr: Any, now: datetime) -> Cdr:
    return record(store, cdr, now).cdr


def credit_cdr(store, reference: str, now: datetime) -> Cdr:
    """Record the credit CDR of a recorded CDR (digest §4.1) and queue its push.

    `reference` is the original's id, or `CC/PID/ID` when several recorded CDRs share that id.
    The credit has id `ID-C`, `credit: true`, `credit_reference_id: ID`, `total_cost` negated;
    every other field is copied (the spec negates only `total_cost`). Its `last_updated` is
    now, or just after the original's if that is later, so it always sorts after it.
    """
    original_row = find_recorded(store, reference)
    original = _decoder.decode(original_row.json)
    if original.credit:
        raise RecordError(f"CDR {_name(original_row)} is itself a credit CDR")
    credit_id = original.id + CREDIT_SUFFIX
    if len(credit_id) > CREDIT_ID_MAX:
        raise RecordError(f"credit id {credit_id!r} would exceed {CREDIT_ID_MAX} characters")
    last_updated = max(now, parse_datetime(original.last_updated) + timedelta(milliseconds=1))
    total = original.total_cost
    credit = msgspec.structs.replace(
        original,
        id=credit_id,
        credit=True,
        credit_reference_id=original.id,
        # 0.0 - x, not -x: a zero total stays 0.0 instead of becoming -0.0.
        total_cost=Price(excl_vat=0.0 - total.excl_vat,
                         incl_vat=None if total.incl_vat is None else 0.0 - total.incl_vat),
        last_updated=format_datetime(last_updated),
    )
    credit = decode_cdr(credit)
    with store.db.transaction() as tx:
        existing = store.cdrs.credit_of(tx, original_row)
        if existing is not None:
            raise RecordError(f"CDR {_name(original_row)} is already credited by {_name(existing)}")
        store_in(tx, store, credit, now)
    return credit


def find_recorded(store, reference: str) -> StoredCdr:
    """The recorded CDR meant by an id, or by `CC/PID/ID` (needed when the id is ambiguous)."""
    matches = store.cdrs.recorded_with_id(reference)
    if not matches and reference.count("/") >= 2:
        by_key = store.cdrs.get(reference)
        matches = [by_key] if by_key is not None and by_key.source == RECORDED else []
    if not matches:
        raise RecordError(f"no recorded CDR with id {reference!r}")
    if len(matches) > 1:
        keys = ", ".join(_name(row) for row in matches)
        raise RecordError(f"several recorded CDRs have id {reference!r} ({keys}); name one as CC/PID/ID")
    return matches[0]


def _name(row: StoredCdr) -> str:
    return f"{row.country_code}/{row.party_id}/{row.id}"
