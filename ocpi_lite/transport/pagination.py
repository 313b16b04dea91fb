"""Paginated GET (transport_and_format §Pagination; design §6, §8): parameters, limit clamp,
keyset cursor, and the Link / X-Total-Count / X-Limit headers.

Position. A client that follows `Link` gets our own extra parameter `after=<us>.<pk>`: the
(last_updated, pk) of the last object it was served. The next page is then one index seek,
whatever the offset. A client that computes `offset` itself (no `after`) gets the same pages
through SQL OFFSET, which costs more the deeper it goes. When both are given, `after` decides
the position and `offset` is only carried forward in the next link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote_plus

import falcon

from ..models.common import to_epoch_us
from .errors import InvalidParameters

AFTER = "after"
_CURSOR_RE = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
_MAX_SQL_INT = 2**63 - 1


@dataclass(frozen=True)
class PageRequest:
    limit: int  # effective: clamped to the server's page limit (X-Limit)
    offset: int = 0
    date_from: str | None = None  # as the client wrote it, for the next link
    date_to: str | None = None
    from_us: int | None = None
    to_us: int | None = None
    after: tuple[int, int] | None = None  # keyset cursor: (last_updated_us, pk)

    def lower_bound(self) -> tuple[int, int] | None:
        """The one lower bound for SQL: the cursor, clamped to date_from in Python.

        (from_us, 0) selects last_updated >= from_us because every pk is at least 1.
        """
        floor = (self.from_us, 0) if self.from_us is not None else None
        if self.after is None:
            return floor
        return max(self.after, floor) if floor else self.after

    def sql_offset(self) -> int:
        # With a cursor the position is known; offset only counts pages for the client.
        return 0 if self.after is not None else min(self.offset, _MAX_SQL_INT)


def parse_page_request(params: dict, page_limit: int) -> PageRequest:
    """Read date_from, date_to, offset, limit and our cursor; a bad one is 2001 naming it."""
    limit = _non_negative_int(params, "limit")
    offset = _non_negative_int(params, "offset")
    date_from, from_us = _datetime(params, "date_from")
    date_to, to_us = _datetime(params, "date_to")
    return PageRequest(
        limit=page_limit if limit is None else min(limit, page_limit),
        offset=offset or 0,
        date_from=date_from, date_to=date_to, from_us=from_us, to_us=to_us,
        after=_cursor(params),
    )


def next_link(base_url: str, page: PageRequest, served: int,
              last_position: tuple[int, int]) -> str:
    """`Link` to the page after one that served `served` objects ending at `last_position`:
    absolute, with offset, limit, every filter, and the cursor."""
    # Built by hand, as urlencode would (quote_plus, ":" kept): urlencode cost a sixth of a
    # page. Integers and the cursor (digits and ".") need no quoting.
    query = f"offset={page.offset + served}&limit={page.limit}"
    if page.date_from is not None:
        query += "&date_from=" + quote_plus(page.date_from, safe=":")
    if page.date_to is not None:
        query += "&date_to=" + quote_plus(page.date_to, safe=":")
    query += f"&{AFTER}={last_position[0]}.{last_position[1]}"
    return f'<{base_url}?{query}>; rel="next"'


def set_page_headers(resp: falcon.Response, *, total: int, limit: int, link: str | None) -> None:
    resp.set_header("X-Total-Count", str(total))
    resp.set_header("X-Limit", str(limit))
    if link:
        resp.set_header("Link", link)


def _single(params: dict, name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list):
        raise InvalidParameters(f"Invalid parameter `{name}`: given more than once")
    return value


def _non_negative_int(params: dict, name: str) -> int | None:
    value = _single(params, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidParameters(f"Invalid parameter `{name}`: expected a non-negative integer, got {value!r}")
    return int(value)


def _datetime(params: dict, name: str) -> tuple[str | None, int | None]:
    value = _single(params, name)
    if value is None:
        return None, None
    try:
        return value, to_epoch_us(value)
    except ValueError:
        # A raw "+01:00" arrives as " 01:00" (form decoding): refused either way.
        raise InvalidParameters(
            f"Invalid parameter `{name}`: expected an OCPI DateTime"
            f" (YYYY-MM-DDTHH:MM:SS[.fff][Z], UTC, no offset), got {value!r}"
        ) from None


def _cursor(params: dict) -> tuple[int, int] | None:
    value = _single(params, AFTER)
    if value is None:
        return None
    match = _CURSOR_RE.match(value)
    if not match or max(int(match.group(1)), int(match.group(2))) > _MAX_SQL_INT:
        raise InvalidParameters(
            f"Invalid parameter `{AFTER}`: expected the position from a Link (`<us>.<pk>`), got {value!r}"
        )
    return int(match.group(1)), int(match.group(2))
