"""CDRs module, Receiver interface (eMSP): POST a CDR, GET it back at the Location we answered.

PUT, PATCH and DELETE are not defined here, so the router answers them with 405 (CDRs cannot
be replaced, updated or removed). The rules live in ``ocpi_lite.receiving``.
"""

from __future__ import annotations

import msgspec

from ..models.cdrs import Cdr
from ..models.common import format_datetime
from ..receiving import CdrRefused, may_see, receive_cdr
from ..store import Store
from ..transport.body import decode_body, read_body
from ..transport.envelope import object_body, respond, respond_raw
from ..transport.errors import InvalidParameters, NotFound
from ..store.cdrs import StoredCdr
from ..urls import V221, Urls

_cdr_decoder = msgspec.json.Decoder(Cdr)


class CdrsReceiverResource:
    """`{cdrs_receiver}`: POST only. Other versions override `decode` and `version`."""

    functional_module = True  # OCPI-from/to routing headers apply
    version = V221

    def __init__(self, store: Store, urls: Urls, clock, max_body_bytes: int):
        self.store = store
        self.urls = urls
        self.clock = clock
        self.max_body_bytes = max_body_bytes

    def decode(self, raw: bytes, peer) -> Cdr:
        """The request body as a 2.2.1 CDR (400 for non-JSON, 2001 naming the field)."""
        return decode_body(raw, _cdr_decoder)

    def on_post(self, req, resp):
        peer = req.context.caller.peer
        cdr = self.decode(read_body(req, self.max_body_bytes), peer)
        now = self.clock()
        try:
            _, created = receive_cdr(self.store, cdr, peer, format_datetime(now))
        except CdrRefused as exc:
            raise InvalidParameters(str(exc)) from None
        # A retry stored identical bytes, so the CDR's own case is the stored case: the same
        # Location either way, without reading the row back.
        resp.set_header(
            "Location", self.urls.received_cdr(cdr.country_code, cdr.party_id, cdr.id, self.version)
        )
        # No `data`: the 2.2.1 Receiver POST defines none; the Location header is the answer.
        respond(resp, lambda: now, http_status=201 if created else 200)


class ReceivedCdrResource:
    """`{cdrs_receiver}/{country_code}/{party_id}/{cdr_id}`: the Location of a received CDR.
    Other versions override `present`."""

    functional_module = True

    def __init__(self, store: Store, clock):
        self.store = store
        self.clock = clock

    def on_get(self, req, resp, country_code: str, party_id: str, cdr_id: str):
        stored = self.store.cdrs.get(f"{country_code}/{party_id}/{cdr_id}")
        if stored is None or not may_see(req.context.caller.peer, stored):
            raise NotFound(f"No CDR {country_code}/{party_id}/{cdr_id}")
        respond_raw(resp, object_body(self.present(stored), self.clock()))

    def present(self, stored: StoredCdr) -> bytes:
        # Served as stored: the canonical bytes are never decoded and re-encoded.
        return stored.json
