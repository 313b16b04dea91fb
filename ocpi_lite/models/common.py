"""Types shared by every OCPI object: the spec's string kinds, DateTime, Price, roles.

Constraints are reusable ``Annotated`` aliases so each model reads like the spec's tables.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# CiString: printable ASCII (space included), no control characters (types.asciidoc).
_CI_PATTERN = r"^[\x20-\x7e]*$"
# string: printable UTF-8; CR, LF, TAB and other control characters are not allowed.
_STR_PATTERN = r"^[^\x00-\x1f\x7f]*$"

# OCPI DateTime: RFC 3339 subset, UTC only, optional fraction, optional Z, at most 25 characters.
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$"
_DATETIME_RE = re.compile(DATETIME_PATTERN)


def ci_string(max_length: int) -> type[str]:
    return Annotated[str, Meta(max_length=max_length, pattern=_CI_PATTERN)]  # type: ignore[return-value]


def string(max_length: int) -> type[str]:
    return Annotated[str, Meta(max_length=max_length, pattern=_STR_PATTERN)]  # type: ignore[return-value]


CountryCode = Annotated[str, Meta(min_length=2, max_length=2, pattern=_CI_PATTERN)]
PartyId = Annotated[str, Meta(min_length=3, max_length=3, pattern=_CI_PATTERN)]
DateTime = Annotated[str, Meta(max_length=25, pattern=DATETIME_PATTERN)]
Url = Annotated[str, Meta(max_length=255, pattern=_STR_PATTERN)]
Token = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]

Role = Literal["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"]
InterfaceRole = Literal["SENDER", "RECEIVER"]


class OcpiObject(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Base of every inbound/outbound OCPI object: unknown fields are tolerated on input
    (2.3.0 makes that a SHALL; 2.2.1 peers already send extras), absent optionals are omitted."""


class Price(OcpiObject):
    excl_vat: float
    incl_vat: float | None = None


def parse_datetime(value: str) -> datetime:
    """Parse an OCPI DateTime (already pattern-checked or not) into an aware UTC datetime.

    Raises ValueError for anything outside the spec's forms: offsets, lower-case t/z, date only.
    """
    if len(value) > 25 or not _DATETIME_RE.match(value):
        raise ValueError(f"not an OCPI DateTime: {value!r}")
    text = value[:-1] if value.endswith("Z") else value
    if "." in text:
        base, fraction = text.split(".", 1)
        text = f"{base}.{fraction[:6].ljust(6, '0')}"
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def check_datetime(value: str) -> None:
    """Raise ValueError unless `value` is an OCPI DateTime naming a real instant (no 30 February,
    no 24:00). What parse_datetime checks, without building the datetime: a CDR has six."""
    if len(value) > 25 or not _DATETIME_RE.match(value):
        raise ValueError(f"not an OCPI DateTime: {value!r}")
    datetime.fromisoformat(value[:19])  # the pattern fixed the layout; this checks the ranges


def format_datetime(moment: datetime) -> str:
    """The form we emit: YYYY-MM-DDTHH:MM:SSZ, with milliseconds only when there are any."""
    m = moment if moment.tzinfo is timezone.utc else moment.astimezone(timezone.utc)
    # By hand: strftime cost a tenth of a Receiver POST's own time (two stamps per request).
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if m.microsecond:
        return f"{text}.{m.microsecond // 1000:03d}Z"
    return text + "Z"


def normalize_datetime(value: str) -> str:
    """Canonical form of an accepted DateTime string: same instant, trailing Z added."""
    return value if value.endswith("Z") else value + "Z"


def to_epoch_us(value: str) -> int:
    """Microseconds since the epoch: the sortable form used for storage and filters."""
    moment = parse_datetime(value)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def describe_validation_error(exc: msgspec.ValidationError) -> str:
    """msgspec says "Expected `str` of length <= 36 - at `$.cdr_token.uid`"; we say
    "Invalid field `cdr_token.uid`: Expected `str` of length <= 36".

    Cross-field checks raise "`field`: reason" from ``__post_init__``; the field joins the path.
    """
    message = str(exc)
    text, sep, where = message.rpartition(" - at `$")
    if not sep:
        text, where = message, ""
    path = where.rstrip("`").lstrip(".")
    if text.startswith("Object missing required field `"):
        field = text.removeprefix("Object missing required field `").rstrip("`")
        return f"Missing required field `{_join(path, field)}`"
    named = re.match(r"^`(\w+)`: (.*)$", text, re.S)
    if named:
        path, text = _join(path, named.group(1)), named.group(2)
    if "matching regex" in text and r"\\d{4}-\\d{2}-\\d{2}T" in text:
        text = "Expected an OCPI DateTime (YYYY-MM-DDTHH:MM:SS[.fff][Z], UTC, no offset)"
    if not path:
        return f"Invalid object: {text}"
    return f"Invalid field `{path}`: {text}"


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field
