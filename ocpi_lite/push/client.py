"""The OCPI HTTP client: every request we make to a peer (credentials handshake, CDR pushes).

It builds the headers OCPI asks for (``Authorization: Token …`` in Base64 or, for older peers,
raw; ``X-Request-ID``/``X-Correlation-ID``; routing headers for functional modules only), sends
through the injected ``Send`` callable and unwraps the OCPI envelope. Every failure is a
``ClientError`` subclass whose message never contains a token.
"""

from __future__ import annotations

import base64
from typing import Any, Callable

import msgspec

from ..ids import new_request_id
from ..models.versions import Version, VersionDetails
from .http import HttpResponse, Send, TransportError

JSON = "application/json"


class Envelope(msgspec.Struct, kw_only=True):
    """A peer's response body. Lenient on purpose: a reply we can act on is not refused for a
    missing timestamp or an odd status_message."""

    status_code: int
    status_message: str | None = None
    timestamp: str | None = None
    data: Any = None


_envelope = msgspec.json.Decoder(Envelope)


class ClientError(Exception):
    """A request to a peer that did not succeed."""

    response: HttpResponse | None = None


class Unreachable(ClientError):
    """No HTTP answer: connection refused, DNS, TLS, timeout."""


class HttpStatusError(ClientError):
    """An HTTP status other than 2xx; ``envelope`` is set when the body was one."""

    def __init__(self, message: str, response: HttpResponse, envelope: Envelope | None):
        super().__init__(message)
        self.response = response
        self.status = response.status
        self.envelope = envelope


class NotAnEnvelope(ClientError):
    """A 2xx answer whose body is not an OCPI envelope, or whose data is not the object asked."""

    def __init__(self, message: str, response: HttpResponse):
        super().__init__(message)
        self.response = response


class OcpiStatusError(ClientError):
    """A well-formed envelope whose status_code is not 1xxx (success)."""

    def __init__(self, message: str, response: HttpResponse, envelope: Envelope):
        super().__init__(message)
        self.response = response
        self.envelope = envelope
        self.status_code = envelope.status_code


def authorization(token: str, use_base64: bool) -> str:
    """2.2.1 wants Base64 of the token; 2.1.1 and many 2.2 peers expect it raw."""
    value = base64.b64encode(token.encode("utf-8")).decode("ascii") if use_base64 else token
    return f"Token {value}"


class OcpiClient:
    def __init__(self, send: Send, our_party: tuple[str, str], timeout: float,
                 new_id: Callable[[], str] = new_request_id):
        self.send = send
        self.our_party = our_party
        self.timeout = timeout
        self.new_id = new_id

    def request(self, method: str, url: str, token: str, use_base64: bool = True, *,
                body: bytes | None = None, routing: tuple[str, str] | None = None,
                correlation_id: str | None = None) -> tuple[HttpResponse, Envelope]:
        """One OCPI request. ``routing`` = the receiving party's (country_code, party_id),
        given only for functional modules (configuration modules SHALL NOT be routed)."""
        headers = {
            "Authorization": authorization(token, use_base64),
            "X-Request-ID": self.new_id(),
            "X-Correlation-ID": correlation_id or self.new_id(),
            "Accept": JSON,
        }
        if body is not None:
            headers["Content-Type"] = JSON
        if routing is not None:
            headers["OCPI-from-country-code"], headers["OCPI-from-party-id"] = self.our_party
            headers["OCPI-to-country-code"], headers["OCPI-to-party-id"] = routing
        try:
            response = self.send(method, url, headers=headers, body=body, timeout=self.timeout)
        except TransportError as exc:
            raise Unreachable(f"{method} {url}: no answer ({exc})") from None
        envelope = _decode_envelope(response)
        where = f"{method} {url}"
        if not 200 <= response.status < 300:
            said = f": {envelope.status_message}" if envelope and envelope.status_message else ""
            raise HttpStatusError(f"{where}: HTTP {response.status}{said}", response, envelope)
        if envelope is None:
            raise NotAnEnvelope(f"{where}: HTTP {response.status} but the body is not an OCPI "
                                "response envelope", response)
        if not 1000 <= envelope.status_code < 2000:
            said = f": {envelope.status_message}" if envelope.status_message else ""
            raise OcpiStatusError(f"{where}: OCPI status {envelope.status_code}{said}",
                                  response, envelope)
        return response, envelope

    def fetch(self, method: str, url: str, token: str, use_base64: bool, data_type: type, *,
              body: bytes | None = None):
        """A configuration-module request whose ``data`` must be a ``data_type``."""
        response, envelope = self.request(method, url, token, use_base64, body=body)
        try:
            return msgspec.convert(envelope.data, data_type)
        except msgspec.ValidationError as exc:
            raise NotAnEnvelope(f"{method} {url}: unexpected data: {exc}", response) from None

    # -- configuration modules -------------------------------------------------------------

    def get_versions(self, url: str, token: str, use_base64: bool = True) -> list[Version]:
        return self.fetch("GET", url, token, use_base64, list[Version])

    def get_details(self, url: str, token: str, use_base64: bool = True) -> VersionDetails:
        return self.fetch("GET", url, token, use_base64, VersionDetails)

    # The peer answers with a credentials object of the version we send (2.2.1 or 2.1.1).
    def post_credentials(self, url: str, token: str, use_base64: bool, ours):
        return self.fetch("POST", url, token, use_base64, type(ours),
                          body=msgspec.json.encode(ours))

    def put_credentials(self, url: str, token: str, use_base64: bool, ours):
        return self.fetch("PUT", url, token, use_base64, type(ours),
                          body=msgspec.json.encode(ours))

    def delete_credentials(self, url: str, token: str, use_base64: bool) -> None:
        self.request("DELETE", url, token, use_base64)


def _decode_envelope(response: HttpResponse) -> Envelope | None:
    try:
        return _envelope.decode(response.body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
