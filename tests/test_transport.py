"""The OCPI transport layer: auth, request ids, timestamps, HTTP error statuses."""

import base64
import re

from conftest import decode, token_header

from ocpi_lite.models.common import parse_datetime
from ocpi_lite.store.parties import token_digest


def test_missing_token_is_401_with_envelope(client):
    response = client.get("/ocpi/versions", expect_errors=True)
    assert response.status_int == 401
    body = decode(response)
    assert body["status_code"] == 2000
    assert "Authorization" in body["status_message"]
    assert "data" not in body


def test_unknown_token_is_401(client, registration_token):
    response = client.get("/ocpi/versions", headers=token_header("wrong-token"), expect_errors=True)
    assert response.status_int == 401
    assert decode(response)["status_message"] == "Unknown credentials token"


def test_wrong_scheme_is_401(client, registration_token):
    response = client.get(
        "/ocpi/versions", headers={"Authorization": f"Bearer {registration_token}"}, expect_errors=True
    )
    assert response.status_int == 401


def test_base64_of_an_unknown_token_is_401(client, registration_token):
    header = base64.b64encode(b"nobody").decode()
    response = client.get("/ocpi/versions", headers={"Authorization": f"Token {header}"}, expect_errors=True)
    assert response.status_int == 401


def test_tokens_are_stored_as_digests_only(store, registration_token):
    rows = store.db.connection().execute("SELECT digest, fingerprint FROM tokens").fetchall()
    assert rows == [(token_digest(registration_token), rows[0][1])]
    dump = "\n".join(store.db.connection().iterdump())
    assert registration_token not in dump


def test_request_and_correlation_ids_are_echoed(client, registration_token):
    headers = token_header(registration_token) | {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    response = client.get("/ocpi/versions", headers=headers)
    assert response.headers["X-Request-ID"] == "req-1"
    assert response.headers["X-Correlation-ID"] == "corr-1"


def test_ids_are_generated_when_absent(client):
    response = client.get("/ocpi/nowhere", expect_errors=True)
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["X-Correlation-ID"])


def test_timestamp_is_an_ocpi_datetime(client, clock):
    body = decode(client.get("/ocpi/versions", expect_errors=True))
    assert body["timestamp"] == "2026-01-01T12:00:00Z"
    parse_datetime(body["timestamp"])


def test_body_over_limit_is_413(client, config):
    response = client.post(
        "/ocpi/versions", params=b"x" * (config.server.max_body_bytes + 1),
        content_type="application/json", expect_errors=True,
    )
    assert response.status_int == 413
    assert decode(response)["status_code"] == 2000


def test_wrong_method_is_405_with_allow_header(client, registration_token):
    response = client.post("/ocpi/versions", headers=token_header(registration_token), expect_errors=True)
    assert response.status_int == 405
    assert "GET" in response.headers["Allow"]
    assert decode(response)["status_message"] == "Method not allowed"


def test_unexpected_exception_is_500_3000_without_traceback(tmp_path, caplog):
    from webtest import TestApp

    from conftest import make_config
    from ocpi_lite.app import create_app
    from ocpi_lite.store import Store

    class BrokenStore(Store):
        """A store whose token lookup fails, as a corrupt database would."""

        def __init__(self, path):
            super().__init__(path)

            class Parties:
                def authenticate_first(self, tokens):
                    raise RuntimeError("secret internals")

            self.parties = Parties()

    config = make_config(tmp_path)
    app = create_app(config, store=BrokenStore(config.server.database))
    response = TestApp(app).get("/ocpi/versions", headers=token_header("t"), expect_errors=True)
    assert response.status_int == 500
    body = decode(response)
    assert body["status_code"] == 3000
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text


def test_cached_token_lookup_sees_revocation_by_another_process_at_once(tmp_path):
    from conftest import add_registered_peer

    from ocpi_lite.store import Store

    path = tmp_path / "shared.db"
    server, other_process = Store(path), Store(path)  # two connections, as two processes have
    add_registered_peer(server, "peer-token", label="peer")
    assert server.parties.authenticate("peer-token") is not None
    assert server.parties.authenticate("peer-token") is not None  # now answered from the cache
    other_process.parties.unregister(1, "2026-01-01T00:00:00Z")
    assert server.parties.authenticate("peer-token") is None
    server.close()
    other_process.close()


def test_generated_request_ids_are_random_version_4_uuids():
    import uuid

    from ocpi_lite.ids import new_request_id

    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122
