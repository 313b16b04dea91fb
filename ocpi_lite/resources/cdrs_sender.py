"""CDRs Sender interface (CPO): `GET {cdrs}` paginated, and `GET {cdrs}/{id}` for one CDR.

Only CDRs we recorded are served, each as its stored JSON bytes. A caller sees the CDRs whose
`cdr_token` country_code/party_id is one of its roles' codes; a HUB sees all of them.
"""

from __future__ import annotations

from ..models.convert_211 import Skip, cdr_json_down
from ..store.cdrs import SenderFilter
from ..store.parties import Caller
from ..transport.envelope import list_body, object_body, respond_raw
from ..transport.errors import NotFound
from ..transport.pagination import PageRequest, next_link, parse_page_request, set_page_headers
from ..urls import V211, V221

_PAGES_KEPT = 8


def visible_recipients(caller: Caller) -> tuple[str, ...] | None:
    """`CC/PID` codes whose CDRs the caller may see; None: all of them (a HUB)."""
    if any(role.get("role", "").upper() == "HUB" for role in caller.peer.roles):
        return None
    return tuple(f"{country_code}/{party_id}" for country_code, party_id in caller.peer.codes)


class CdrsSenderResource:
    functional_module = True  # routing headers apply; default auth: registered peers only

    def __init__(self, store, base_url: str, page_limit: int, clock, our_party: tuple[str, str],
                 version: str = V221):
        self.cdrs = store.cdrs
        self.our_party = (our_party[0].upper(), our_party[1].upper())
        self.base_url = base_url  # absolute, from public_url: what the Link points to
        self.page_limit = page_limit
        self.clock = clock
        # 2.1.1: each stored CDR is converted down (decoded and re-encoded: unavoidable), and
        # credit CDRs, which 2.1.1 cannot express, are left out in SQL so counts stay exact.
        self.v211 = version == V211

    def on_get(self, req, resp):
        page = parse_page_request(req.params, self.page_limit)
        recipients = visible_recipients(req.context.caller)
        # eMSPs poll: the same request again, before any write, gets the same page. It is kept
        # per thread until the next commit anywhere (as counts are), at most _PAGES_KEPT pages
        # (~60 KB each at 50 CDRs); a repeat then costs no SQL and no 2.1.1 conversion.
        pages = self.cdrs.until_next_write("sender_pages", _PAGES_KEPT)
        # The 2.1.1 and 2.2.1 resources share the store's caches: the version is in base_url.
        key = (self.base_url, page, recipients)
        answer = pages.get(key)
        if answer is None:
            answer = pages[key] = self._page(page, recipients)
        bodies, total, link = answer
        set_page_headers(resp, total=total, limit=page.limit, link=link)
        respond_raw(resp, list_body(bodies, self.clock()))

    def _page(self, page: PageRequest, recipients: tuple[str, ...] | None
              ) -> tuple[list[bytes], int, str | None]:
        """The page's objects as JSON, X-Total-Count, and the Link to the next page if any."""
        rows = []
        if page.limit > 0:  # limit=0: an empty page, and no Link that would loop on itself
            rows = self.cdrs.sender_page(
                SenderFilter(recipients, to_us=page.to_us, non_credit_only=self.v211),
                after=page.lower_bound(), offset=page.sql_offset(), limit=page.limit + 1,
                positional=page.after is None,
            )
        link = None
        if len(rows) > page.limit:  # one row beyond the page: more follow
            rows = rows[: page.limit]
            last = rows[-1]
            link = next_link(self.base_url, page, len(rows), (last.last_updated_us, last.pk))
        total = self.cdrs.sender_count(SenderFilter(recipients, page.from_us, page.to_us,
                                                    non_credit_only=self.v211))
        bodies = [row.json for row in rows]
        if self.v211:
            bodies = [b for b in map(cdr_json_down, bodies) if not isinstance(b, Skip)]
        return bodies, total, link

    def on_get_one(self, req, resp, cdr_id: str):
        matches = self.cdrs.recorded_with_id(cdr_id, visible_recipients(req.context.caller))
        if not matches:
            raise NotFound(f"Unknown CDR {cdr_id!r}")
        # Several parties we host may use the same id: our configured party's comes first.
        ours = [m for m in matches if (m.country_code.upper(), m.party_id.upper()) == self.our_party]
        body = (ours or matches)[0].json
        if self.v211:
            body = cdr_json_down(body)
            if isinstance(body, Skip):
                raise NotFound(f"CDR {cdr_id!r} has no OCPI 2.1.1 form: {body.reason}")
        respond_raw(resp, object_body(body, self.clock()))
