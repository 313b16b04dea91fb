"""CDRs module, 2.1.1 eMSP interface: POST a 2.1.1 CDR, GET it back (in 2.1.1 form) at the
Location we answered. The CDR is converted up to 2.2.1, with the pushing party's
country_code/party_id, and stored through the same rules as a 2.2.1 POST (``receiving``)."""

from __future__ import annotations

import msgspec

from ..models.common import describe_validation_error, format_datetime
from ..models.convert_211 import ConversionError, Skip, cdr_json_down, cdr_up
from ..models.cdrs_211 import decode_cdr_211
from ..receiving import CdrRefused, may_see, receive_cdr
from ..store import Store
from ..transport.body import decode_body, read_body
from ..transport.envelope import object_body, respond, respond_raw
from ..transport.errors import BadRequest, InvalidParameters, NotFound
from ..urls import V211, Urls

_any_json = msgspec.json.Decoder()


class CdrsReceiver211Resource:
    """`{2.1.1 cdrs_receiver}`: POST only; PUT, PATCH and DELETE are 405."""

    functional_module = True

    def __init__(self, store: Store, urls: Urls, clock, max_body_bytes: int,
                 our_party: tuple[str, str]):
        self.store = store
        self.urls = urls
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.our_party = our_party  # the eMSP the tokens belong to: us

    def on_post(self, req, resp):
        raw = read_body(req, self.max_body_bytes)
        decode_body(raw, _any_json)  # broken JSON is a 400, like on every other route
        try:
            cdr_211 = decode_cdr_211(raw)
        except msgspec.ValidationError as exc:
            raise InvalidParameters(describe_validation_error(exc)) from None
        except msgspec.DecodeError as exc:
            raise BadRequest(f"Request body is not valid JSON: {exc}") from None
        peer = req.context.caller.peer
        owner = (peer.roles[0]["country_code"], peer.roles[0]["party_id"]) if peer.roles else ("", "")
        try:
            cdr = cdr_up(cdr_211, owner, self.our_party)
        except ConversionError as exc:
            raise InvalidParameters(str(exc)) from None
        now = self.clock()
        try:
            _, created = receive_cdr(self.store, cdr, peer, format_datetime(now))
        except CdrRefused as exc:
            raise InvalidParameters(str(exc)) from None
        resp.set_header("Location", self.urls.received_cdr(cdr.country_code, cdr.party_id, cdr.id, V211))
        respond(resp, lambda: now, http_status=201 if created else 200)


class ReceivedCdr211Resource:
    """`{2.1.1 cdrs_receiver}/{country_code}/{party_id}/{cdr_id}`: a received CDR, in 2.1.1 form."""

    functional_module = True

    def __init__(self, store: Store, clock):
        self.store = store
        self.clock = clock

    def on_get(self, req, resp, country_code: str, party_id: str, cdr_id: str):
        stored = self.store.cdrs.get(f"{country_code}/{party_id}/{cdr_id}")
        if stored is None or not may_see(req.context.caller.peer, stored):
            raise NotFound(f"No CDR {country_code}/{party_id}/{cdr_id}")
        body = cdr_json_down(stored.json)
        if isinstance(body, Skip):
            raise NotFound(f"CDR {country_code}/{party_id}/{cdr_id} has no OCPI 2.1.1 form: {body.reason}")
        respond_raw(resp, object_body(body, self.clock()))
