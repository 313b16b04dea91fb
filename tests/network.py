"""A fake `Send` for in-process tests: each request goes, through webtest, to the WSGI app
whose base URL prefixes it; any other URL is a dead host. Every request is recorded."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

import msgspec
from webtest import TestApp

from ocpi_lite.push.http import HttpResponse, TransportError


class Network:
    def __init__(self):
        self.apps: dict[str, TestApp] = {}
        self.sent: list[tuple[str, str, dict[str, str], bytes | None]] = []

    def add(self, base_url: str, wsgi_app) -> None:
        self.apps[base_url.rstrip("/")] = TestApp(wsgi_app)

    def __call__(self, method, url, *, headers, body, timeout) -> HttpResponse:
        self.sent.append((method, url, dict(headers), body))
        for base, app in self.apps.items():
            if url == base or url.startswith(base + "/"):
                parts = urlsplit(url)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                reply = app.request(path, method=method, headers=headers, body=body or b"",
                                    expect_errors=True)
                return HttpResponse(reply.status_int, reply.body,
                                    {k.lower(): v for k, v in reply.headerlist})
        raise TransportError(f"ConnectionError: {url}: connection refused")


def fake_peer(routes: dict[str, tuple[int, object]], *, token: str | None = None):
    """A minimal WSGI peer: path → (HTTP status, envelope data or raw bytes). With `token`,
    only `Authorization: Token <token>` (raw, as older peers want it) is accepted."""

    def app(environ, start_response):
        if token is not None and environ.get("HTTP_AUTHORIZATION") != f"Token {token}":
            status, payload = 401, {"status_code": 2000, "timestamp": "2026-01-01T00:00:00Z"}
        elif environ["PATH_INFO"] in routes:
            status, data = routes[environ["PATH_INFO"]]
            payload = data if isinstance(data, bytes) else {
                "data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}
        else:
            status, payload = 404, {"status_code": 2000, "timestamp": "2026-01-01T00:00:00Z"}
        body = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app
