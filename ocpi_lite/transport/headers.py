"""Request-scoped headers: X-Request-ID / X-Correlation-ID echo, OCPI routing headers, and the
body-size limit that must hold before any body is read."""

from __future__ import annotations

from typing import Callable

import falcon

from ..ids import new_request_id
from .envelope import ensure_body
from .errors import PayloadTooLarge

ROUTING_HEADERS = ("country-code", "party-id")


class HeadersMiddleware:
    def __init__(self, clock, max_body_bytes: int, our_party: tuple[str, str],
                 new_id: Callable[[], str] = new_request_id):
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.our_party = our_party
        self.new_id = new_id

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.request_id = req.get_header("X-Request-ID") or self.new_id()
        req.context.correlation_id = req.get_header("X-Correlation-ID") or self.new_id()
        length = req.content_length
        if length is not None and length > self.max_body_bytes:
            raise PayloadTooLarge(f"Request body is {length} bytes; the limit is {self.max_body_bytes}")

    def process_response(self, req, resp, resource, req_succeeded: bool) -> None:
        resp.set_header("X-Request-ID", req.context.get("request_id") or self.new_id())
        resp.set_header("X-Correlation-ID", req.context.get("correlation_id") or self.new_id())
        if getattr(resource, "functional_module", False):
            self._routing_headers(req, resp)
        ensure_body(resp, self.clock)

    def _routing_headers(self, req, resp) -> None:
        # Direct party-to-party: the response goes back to whoever sent the request
        # (transport_and_format.asciidoc:507-519); configuration modules carry none.
        from_cc = req.get_header("OCPI-from-country-code")
        from_pid = req.get_header("OCPI-from-party-id")
        if not (from_cc and from_pid):
            return
        resp.set_header("OCPI-to-country-code", from_cc)
        resp.set_header("OCPI-to-party-id", from_pid)
        resp.set_header("OCPI-from-country-code",
                        req.get_header("OCPI-to-country-code") or self.our_party[0])
        resp.set_header("OCPI-from-party-id", req.get_header("OCPI-to-party-id") or self.our_party[1])
