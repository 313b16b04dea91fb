"""The injectable HTTP sender: one callable that every outbound request goes through.

Tests pass a fake (or an in-process WSGI peer); production uses ``RequestsSend``, a keep-alive
``requests.Session`` (a new connection per push is several times slower).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Protocol

if TYPE_CHECKING:
    import requests


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    # Looked up by lower-cased name: a dict with lower-cased names, or a case-insensitive mapping.
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class TransportError(Exception):
    """No HTTP answer at all: connection refused, DNS, TLS, timeout."""


class Send(Protocol):
    def __call__(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> HttpResponse: ...


class RequestsSend:
    """One keep-alive session per thread (requests.Session is not documented thread-safe)."""

    def __init__(self):
        self._local = threading.local()

    def _session(self) -> "requests.Session":
        session = getattr(self._local, "session", None)
        if session is None:
            # Imported on the first outbound call: requests and urllib3 weigh ~5.6 MB, which
            # a worker that never calls a peer (an eMSP, a pull-only CPO) does not carry.
            import requests

            session = requests.Session()
            # REQUESTS_CA_BUNDLE / proxies from the environment would silently change where
            # and how we connect; configuration is explicit.
            session.trust_env = False
            adapter = _lean_adapter_class()()
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
            self._local.prepared_urls = {}
        return session

    def __call__(self, method, url, *, headers, body, timeout) -> HttpResponse:
        session = self._session()
        import requests  # loaded by _session() already, with urllib3: dictionary lookups
        import urllib3

        try:
            # Straight to the session's connection adapter: Session.request would merge
            # environment settings, cookies, hooks and redirects we never use, which cost
            # more than the request itself on loopback (profiled: pushes went ~20% faster).
            # The URL is prepared (parsed, IDNA-checked, quoted) once per URL and method: a
            # pusher sends thousands of requests to the same one.
            prepared_urls = self._local.prepared_urls
            template = prepared_urls.get((method, url))
            if template is None:
                if len(prepared_urls) >= 64:
                    prepared_urls.clear()
                template = prepared_urls[(method, url)] = requests.PreparedRequest()
                template.prepare(method=method, url=url)
            request = template.copy()
            request.prepare_headers(headers)
            request.prepare_body(body, None)
            reply = session.get_adapter(url).send(request, timeout=timeout, verify=True)
            # The adapter streams (it never preloads): read the body in one call, as requests
            # documents for `raw`, rather than through `content`'s chunk generator.
            reply_body = reply.raw.read(decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return HttpResponse(status=reply.status_code, body=reply_body, headers=reply.headers)


def _lean_adapter_class():
    """requests' HTTPAdapter without cookie extraction or charset sniffing on each response
    (we keep no cookies and read bytes): a tenth of a push's client time on loopback.
    `build_response` is the hook requests documents for adapter subclasses."""
    from requests.adapters import HTTPAdapter
    from requests.models import Response

    class LeanAdapter(HTTPAdapter):
        def build_response(self, req, resp):
            response = Response()
            response.status_code = resp.status
            response.headers = resp.headers  # urllib3's own case-insensitive mapping
            response.raw = resp
            response.reason = resp.reason
            response.url = req.url
            response.request = req
            response.connection = self
            return response

    return LeanAdapter
