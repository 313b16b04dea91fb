"""CDRs module, 2.1.1 eMSP interface: POST a 2.1.1 CDR, GET it back (in 2.1.1 form) at the
Location we answered. The CDR is converted up to 2.2.1, with the pushing party's
country_code/party_id, and stored through the same rules as a 2.2.1 POST (``receiving``)."""

from __future__ import annotations

from ..models.cdrs import Cdr
from ..models.cdrs_211 import cdr_211_decoder
from ..models.convert_211 import ConversionError, Skip, cdr_json_down, cdr_up
from ..store import Store
from ..store.cdrs import StoredCdr
from ..transport.body import decode_body
from ..transport.errors import InvalidParameters, NotFound
from ..urls import V211, Urls
from .cdrs_receiver import CdrsReceiverResource, ReceivedCdrResource

class CdrsReceiver211Resource(CdrsReceiverResource):
    """`{2.1.1 cdrs_receiver}`: POST only; PUT, PATCH and DELETE are 405."""

    version = V211

    def __init__(self, store: Store, urls: Urls, clock, max_body_bytes: int,
                 our_party: tuple[str, str]):
        super().__init__(store, urls, clock, max_body_bytes)
        self.our_party = our_party  # the eMSP the tokens belong to: us

    def decode(self, raw: bytes, peer) -> Cdr:
        """A 2.1.1 CDR, converted up with the pushing party as its owner."""
        cdr_211 = decode_body(raw, cdr_211_decoder)  # 400 for broken JSON, 2001 naming the field
        owner = (peer.roles[0]["country_code"], peer.roles[0]["party_id"]) if peer.roles else ("", "")
        try:
            return cdr_up(cdr_211, owner, self.our_party)
        except ConversionError as exc:
            raise InvalidParameters(str(exc)) from None


class ReceivedCdr211Resource(ReceivedCdrResource):
    """`{2.1.1 cdrs_receiver}/{country_code}/{party_id}/{cdr_id}`: a received CDR, in 2.1.1 form."""

    def present(self, stored: StoredCdr) -> bytes:
        body = cdr_json_down(stored.json)
        if isinstance(body, Skip):
            raise NotFound(f"CDR {stored.key} has no OCPI 2.1.1 form: {body.reason}")
        return body
