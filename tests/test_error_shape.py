"""Every response of every route is the OCPI envelope: successes, 401, 404, 405, 413, 400."""

import re

import falcon.inspect
import msgspec
import pytest
from conftest import add_registered_peer, make_config, token_header
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.models.common import parse_datetime

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@pytest.fixture
def full_instance(tmp_path):
    """Both roles, so every module is routed."""
    ocpi = OcpiLite(make_config(tmp_path, roles=["CPO", "EMSP"]))
    ocpi.store.parties.create_invitation("peer", "token-a", "2026-01-01T00:00:00Z")
    yield ocpi
    ocpi.close()


def route_paths(app) -> list[str]:
    """Every route template of the app with its fields filled in."""
    paths = [route.path for route in falcon.inspect.inspect_routes(app)]
    return [re.sub(r"\{[^}]+\}", "X1", path) for path in paths] + ["/ocpi/unknown", "/"]


def assert_envelope(response, request_id: str):
    assert response.content_type == "application/json", response
    body = msgspec.json.decode(response.body)
    assert isinstance(body, dict)
    assert set(body) <= {"data", "status_code", "status_message", "timestamp"}
    assert isinstance(body["status_code"], int) and 1000 <= body["status_code"] <= 3999
    parse_datetime(body["timestamp"])
    assert response.headers["X-Request-ID"] == request_id
    if response.status_int >= 400:
        assert body["status_code"] >= 2000
        assert body.get("status_message")
    return body


def test_every_route_and_method_answers_the_envelope(full_instance):
    client = TestApp(full_instance.app)
    paths = route_paths(full_instance.app)
    assert "/ocpi/versions" in paths and "/ocpi/2.2.1" in paths
    assert "/ocpi/2.2.1/credentials" in paths
    assert "/ocpi/2.2.1/cpo/cdrs" in paths and "/ocpi/2.2.1/cpo/cdrs/X1" in paths
    seen_statuses = set()
    for number, path in enumerate(paths):
        # A fresh registered peer per path: a DELETE on credentials unregisters its sender.
        registered = f"token-c-{number}"
        add_registered_peer(full_instance.store, registered)
        for method in METHODS:
            for headers in ({}, token_header("token-a"), token_header(registered),
                            token_header("nobody")):
                request_id = f"{method}-{path}"
                response = client.request(
                    path, method=method, headers=headers | {"X-Request-ID": request_id},
                    body=b"{}" if method in ("POST", "PUT", "PATCH") else b"",
                    content_type="application/json", expect_errors=True,
                )
                assert_envelope(response, request_id)
                seen_statuses.add(response.status_int)
    assert {200, 401, 404, 405} <= seen_statuses


def test_unknown_route_is_404_envelope(full_instance):
    response = TestApp(full_instance.app).get("/ocpi/nope", expect_errors=True)
    assert response.status_int == 404
    body = assert_envelope(response, response.headers["X-Request-ID"])
    assert body["status_message"] == "Not found"


def test_body_over_limit_on_any_route_is_413_envelope(full_instance):
    client = TestApp(full_instance.app)
    size = full_instance.config.server.max_body_bytes + 1
    for path in route_paths(full_instance.app):
        response = client.post(path, params=b"{" * size, content_type="application/json",
                               headers={"X-Request-ID": "big"}, expect_errors=True)
        assert response.status_int == 413, path
        assert_envelope(response, "big")
