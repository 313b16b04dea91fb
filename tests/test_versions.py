import pytest
from conftest import decode, make_config, token_header

from ocpi_lite import OcpiLite
from webtest import TestApp


def test_versions_list_with_registration_token(client, registration_token):
    response = client.get("/ocpi/versions", headers=token_header(registration_token))
    assert response.status_int == 200
    body = decode(response)
    assert body["status_code"] == 1000
    # Both versions by default (`[server] versions`), the preferred 2.2.1 first.
    assert body["data"] == [{"version": "2.2.1", "url": "http://127.0.0.1:8000/ocpi/2.2.1"},
                            {"version": "2.1.1", "url": "http://127.0.0.1:8000/ocpi/2.1.1"}]


def test_raw_token_form_is_accepted(client, registration_token):
    response = client.get("/ocpi/versions", headers=token_header(registration_token, raw=True))
    assert decode(response)["status_code"] == 1000


def test_trailing_slash_form_of_urls(client, registration_token):
    response = client.get("/ocpi/versions/", headers=token_header(registration_token))
    assert decode(response)["status_code"] == 1000


def test_details_url_from_versions_answers(client, registration_token):
    versions = decode(client.get("/ocpi/versions", headers=token_header(registration_token)))
    url = versions["data"][0]["url"]
    details = decode(client.get(url, headers=token_header(registration_token)))
    assert details["data"]["version"] == "2.2.1"
    assert details["data"]["endpoints"] == [
        {"identifier": "credentials", "role": "SENDER", "url": "http://127.0.0.1:8000/ocpi/2.2.1/credentials"},
        {"identifier": "cdrs", "role": "SENDER", "url": "http://127.0.0.1:8000/ocpi/2.2.1/cpo/cdrs"},
    ]


@pytest.mark.parametrize(
    "roles, cdr_roles",
    [(["CPO"], ["SENDER"]), (["EMSP"], ["RECEIVER"]), (["CPO", "EMSP"], ["SENDER", "RECEIVER"])],
)
def test_details_list_the_modules_of_the_configured_roles(tmp_path, roles, cdr_roles):
    config = make_config(tmp_path, roles=roles, public_url="https://ocpi.example.com/base")
    ocpi = OcpiLite(config)
    token = "a-registration-token"
    ocpi.store.parties.create_invitation("peer", token, "2026-01-01T00:00:00Z")
    client = TestApp(ocpi.app)
    versions = decode(client.get("/base/versions", headers=token_header(token)))
    assert versions["data"][0]["url"] == "https://ocpi.example.com/base/2.2.1"
    details = decode(client.get("/base/2.2.1", headers=token_header(token)))["data"]
    cdrs = [e for e in details["endpoints"] if e["identifier"] == "cdrs"]
    assert [e["role"] for e in cdrs] == cdr_roles
    for endpoint in details["endpoints"]:
        assert endpoint["url"].startswith("https://ocpi.example.com/base/2.2.1/")
    ocpi.close()


def test_versions_carry_no_routing_headers(client, registration_token):
    headers = token_header(registration_token) | {
        "OCPI-from-country-code": "DE", "OCPI-from-party-id": "ABC",
    }
    response = client.get("/ocpi/versions", headers=headers)
    assert "OCPI-to-party-id" not in response.headers
