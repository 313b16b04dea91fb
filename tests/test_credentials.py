"""Credentials module and the registration handshake, in process: a CPO and an eMSP instance
(and fake peers) wired through a fake `send` that routes to the other app via webtest."""

import base64

import msgspec
import pytest
from conftest import FixedClock, decode, make_config, token_header
from network import Network, fake_peer
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.connect import ConnectError, Connector
from ocpi_lite.push.client import OcpiClient
from ocpi_lite.registration import new_token

CPO_URL = "http://cpo.test/ocpi"
EMSP_URL = "http://emsp.test/ocpi"
CPO_CREDENTIALS = f"{CPO_URL}/2.2.1/credentials"
PEER_VERSIONS = "http://peer.test/peer/versions"


@pytest.fixture
def network():
    return Network()


@pytest.fixture
def cpo(tmp_path, network):
    config = make_config(tmp_path / "cpo", roles=["CPO"], public_url=CPO_URL, party_id="CPO")
    ocpi = OcpiLite(config, send=network, clock=FixedClock())
    network.add(CPO_URL, ocpi.app)
    yield ocpi
    ocpi.close()


@pytest.fixture
def emsp(tmp_path, network):
    config = make_config(tmp_path / "emsp", roles=["EMSP"], public_url=EMSP_URL,
                         country_code="DE", party_id="MSP")
    ocpi = OcpiLite(config, send=network, clock=FixedClock())
    network.add(EMSP_URL, ocpi.app)
    yield ocpi
    ocpi.close()


@pytest.fixture
def token_a(cpo):
    token = new_token()
    cpo.store.parties.create_invitation("the eMSP", token, "2026-01-01T00:00:00Z")
    return token


def connector(ocpi, network) -> Connector:
    party = (ocpi.config.party.country_code, ocpi.config.party.party_id)
    return Connector(ocpi.store, ocpi.config, OcpiClient(network, party, 5.0), ocpi.clock)


def credentials_body(token: str, url: str, role="EMSP", cc="DE", pid="MSP", **extra) -> bytes:
    roles = [{"role": role, "country_code": cc, "party_id": pid,
              "business_details": {"name": "Peer"}}]
    return msgspec.json.encode({"token": token, "url": url, "roles": roles} | extra)


def call(ocpi, method, token, body=b"", path="/ocpi/2.2.1/credentials"):
    return TestApp(ocpi.app).request(path, method=method, headers=token_header(token),
                                     body=body, content_type="application/json",
                                     expect_errors=True)


def peer_routes(versions=None, details=None, roles_ok=True):
    """A fake eMSP peer at PEER_VERSIONS whose versions and details can be broken."""
    endpoints = [{"identifier": "credentials", "role": "RECEIVER",
                  "url": "http://peer.test/peer/2.2.1/credentials"}]
    if versions is None:
        versions = [{"version": "2.1.1", "url": "http://peer.test/peer/2.1.1"},
                    {"version": "2.2.1", "url": "http://peer.test/peer/2.2.1"}]
    if details is None:
        details = {"version": "2.2.1", "endpoints": endpoints}
    return {"/peer/versions": (200, versions), "/peer/2.2.1": (200, details)}


def stored(ocpi, party=1):
    peer = ocpi.store.parties.get(party)
    tokens = ocpi.store.parties.tokens(party)
    return peer, [(t.kind, t.revoked_at is None) for t in tokens]


# -- the handshake between two instances -------------------------------------------------------


def test_registration_between_two_instances(cpo, emsp, network, token_a):
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)

    assert peer.state == "REGISTERED" and peer.version == "2.2.1"
    assert peer.roles[0] | {"business_details": None} == {
        "role": "CPO", "country_code": "NL", "party_id": "CPO", "business_details": None}
    assert peer.endpoint("cdrs", "SENDER") == f"{CPO_URL}/2.2.1/cpo/cdrs"
    at_cpo = cpo.store.parties.get(1)
    assert at_cpo.state == "REGISTERED" and at_cpo.label == "the eMSP"
    assert [(r["role"], r["country_code"], r["party_id"]) for r in at_cpo.roles] == [("EMSP", "DE", "MSP")]
    assert at_cpo.endpoint("cdrs", "RECEIVER") == f"{EMSP_URL}/2.2.1/emsp/cdrs"
    assert cpo.store.db.connection().execute("SELECT * FROM party_codes").fetchall() == [
        (1, "EMSP", "DE", "MSP")]
    # Token A is spent; each side reaches the other's details with the token it was given.
    assert call(cpo, "GET", token_a, path="/ocpi/versions").status_int == 401
    assert decode(call(cpo, "GET", peer.token_out, path="/ocpi/2.2.1"))["status_code"] == 1000
    assert decode(call(emsp, "GET", at_cpo.token_out, path="/ocpi/2.2.1"))["status_code"] == 1000
    # And with it, GET credentials answers our object with the token the caller used.
    ours = decode(call(cpo, "GET", peer.token_out))["data"]
    assert ours["token"] == peer.token_out and ours["url"] == f"{CPO_URL}/versions"


def test_post_answers_our_credentials_with_a_new_token_c(cpo, emsp, network, token_a):
    token_b = new_token()
    emsp.store.parties.start_registering("cpo", f"{CPO_URL}/versions", token_b, "2026-01-01T00:00:00Z")
    response = call(cpo, "POST", token_a, credentials_body(token_b, f"{EMSP_URL}/versions"))
    assert response.status_int == 200
    body = decode(response)
    assert body["status_code"] == 1000
    data = body["data"]
    assert data["token"] not in (token_a, token_b) and data["url"] == f"{CPO_URL}/versions"
    assert data["roles"] == [{"role": "CPO", "business_details": {"name": "Lite Charging"},
                              "party_id": "CPO", "country_code": "NL"}]
    peer, tokens = stored(cpo)
    assert peer.token_out == token_b and peer.token_out_base64
    assert tokens == [("A", False), ("C", True)]
    # The callbacks went to the eMSP with token B in Base64, request ids, no routing headers.
    callbacks = [(m, u, h) for m, u, h, _ in network.sent if u.startswith(EMSP_URL)]
    assert [u for _, u, _ in callbacks] == [f"{EMSP_URL}/versions", f"{EMSP_URL}/2.2.1"]
    for _, _, headers in callbacks:
        assert headers["Authorization"] == "Token " + base64.b64encode(token_b.encode()).decode()
        assert headers["X-Request-ID"] and headers["X-Correlation-ID"]
        assert not any(name.lower().startswith("ocpi-") for name in headers)


def test_get_answers_with_the_token_the_caller_used(cpo, token_a):
    raw = TestApp(cpo.app).get("/ocpi/2.2.1/credentials", headers=token_header(token_a, raw=True))
    assert decode(raw)["data"]["token"] == token_a
    assert decode(call(cpo, "GET", "unknown-token")).get("data") is None
    assert call(cpo, "GET", "unknown-token").status_int == 401


# -- failures: nothing stored, token A still usable --------------------------------------------


def assert_untouched(cpo, token_a):
    peer, tokens = stored(cpo)
    assert peer.state == "INVITED" and peer.roles == [] and peer.token_out is None
    assert tokens == [("A", True)]
    assert cpo.store.db.connection().execute("SELECT count(*) FROM party_codes").fetchone() == (0,)
    assert decode(call(cpo, "GET", token_a, path="/ocpi/versions"))["status_code"] == 1000


@pytest.mark.parametrize("routes, code, words", [
    ({}, 3001, "versions list"),  # peer answers 404 everywhere
    ({"/peer/versions": (200, b"<html>not json</html>")}, 3001, "not an OCPI response"),
    ({"/peer/versions": (200, [{"version": "2.2.1"}])}, 3001, "unexpected data"),
    (peer_routes(details=None) | {"/peer/2.2.1": (500, b"oops")}, 3001, "version details"),
    (peer_routes(versions=[{"version": "2.1.1", "url": "http://peer.test/peer/2.1.1"}]), 3002,
     "offers 2.1.1"),
    (peer_routes(details={"version": "2.2.1", "endpoints": []}), 3003, "credentials"),
])
def test_peer_api_failures_store_nothing(cpo, network, token_a, routes, code, words):
    network.add("http://peer.test", fake_peer(routes))
    response = call(cpo, "POST", token_a, credentials_body("peer-token", PEER_VERSIONS))
    assert response.status_int == 200
    body = decode(response)
    assert body["status_code"] == code and words in body["status_message"]
    assert "peer-token" not in body["status_message"]
    assert_untouched(cpo, token_a)


def test_dead_url_is_3001_and_token_a_works_for_the_retry(cpo, emsp, network, token_a):
    response = call(cpo, "POST", token_a, credentials_body("b", "http://127.0.0.1:9/ocpi/versions"))
    assert decode(response)["status_code"] == 3001
    assert_untouched(cpo, token_a)
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    assert peer.state == "REGISTERED"


def test_nothing_to_exchange_is_3003(cpo, network, token_a):
    network.add("http://peer.test", fake_peer(peer_routes()))
    body = credentials_body("peer-token", PEER_VERSIONS, role="OTHER")
    result = decode(call(cpo, "POST", token_a, body))
    assert result["status_code"] == 3003 and "Nothing to exchange" in result["status_message"]
    assert_untouched(cpo, token_a)


def test_cpo_peer_with_only_a_cdrs_receiver_endpoint_registers(cpo, network, token_a):
    routes = peer_routes(details={"version": "2.2.1", "endpoints": [
        {"identifier": "credentials", "role": "RECEIVER", "url": "http://peer.test/c"},
        {"identifier": "cdrs", "role": "RECEIVER", "url": "http://peer.test/cdrs"}]})
    network.add("http://peer.test", fake_peer(routes))
    body = credentials_body("peer-token", PEER_VERSIONS, role="OTHER")
    assert decode(call(cpo, "POST", token_a, body))["status_code"] == 1000


def test_body_not_json_is_400_and_invalid_object_2001(cpo, token_a):
    response = call(cpo, "POST", token_a, b"{not json")
    assert response.status_int == 400 and decode(response)["status_code"] == 2000
    bad = credentials_body("b", PEER_VERSIONS, pid="TOOLONG")
    body = decode(call(cpo, "POST", token_a, bad))
    assert body["status_code"] == 2001 and "roles[0].party_id" in body["status_message"]
    missing = decode(call(cpo, "POST", token_a, b'{"token": "b", "url": "x"}'))
    assert missing["status_code"] == 2001 and "roles" in missing["status_message"]
    assert_untouched(cpo, token_a)


def test_raw_token_peer_is_remembered_and_called_raw(cpo, network, token_a):
    network.add("http://peer.test", fake_peer(peer_routes(), token="raw-peer-token!"))
    body = decode(call(cpo, "POST", token_a, credentials_body("raw-peer-token!", PEER_VERSIONS)))
    assert body["status_code"] == 1000
    peer = cpo.store.parties.get(1)
    assert peer.token_out_base64 is False
    assert network.sent[-1][2]["Authorization"] == "Token raw-peer-token!"
    client = OcpiClient(network, ("NL", "CPO"), 5.0)
    client.request("GET", PEER_VERSIONS, peer.token_out, peer.token_out_base64)
    assert network.sent[-1][2]["Authorization"] == "Token raw-peer-token!"


def test_functional_requests_carry_routing_headers(network):
    network.add("http://peer.test", fake_peer(peer_routes()))
    client = OcpiClient(network, ("NL", "CPO"), 5.0)
    client.request("POST", PEER_VERSIONS, "tok", body=b"{}", routing=("DE", "MSP"))
    headers = network.sent[-1][2]
    assert headers["Authorization"] == "Token dG9r" and headers["Content-Type"] == "application/json"
    assert (headers["OCPI-from-country-code"], headers["OCPI-from-party-id"]) == ("NL", "CPO")
    assert (headers["OCPI-to-country-code"], headers["OCPI-to-party-id"]) == ("DE", "MSP")


# -- 405 / 401 rules -------------------------------------------------------------------------------


def test_method_rules(cpo, emsp, network, token_a):
    for method in ("PUT", "DELETE"):
        response = call(cpo, method, token_a, credentials_body("b", PEER_VERSIONS))
        assert response.status_int == 405 and decode(response)["status_code"] == 2000
    for method in ("GET", "POST", "PUT", "DELETE"):
        assert call(cpo, method, "nobody", credentials_body("b", PEER_VERSIONS)).status_int == 401
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    again = call(cpo, "POST", peer.token_out, credentials_body("b", f"{EMSP_URL}/versions"))
    assert again.status_int == 405 and "Already registered" in decode(again)["status_message"]


def test_same_roles_with_a_new_token_a_is_405(cpo, emsp, network, token_a):
    connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    second = new_token()
    cpo.store.parties.create_invitation("again", second, "2026-01-01T00:00:00Z")
    with pytest.raises(ConnectError, match="registered with it already"):
        connector(emsp, network).register(f"{CPO_URL}/versions", second)
    assert cpo.store.parties.get(2).state == "INVITED"
    assert [p.state for p in emsp.store.parties.all()] == ["REGISTERED"]  # the try left nothing


# -- PUT and DELETE ----------------------------------------------------------------------------


def test_put_rotates_both_tokens(cpo, emsp, network, token_a):
    connect = connector(emsp, network)
    before = connect.register(f"{CPO_URL}/versions", token_a)
    old_c, old_b = before.token_out, cpo.store.parties.get(1).token_out
    after = connect.update(before)
    new_c, new_b = after.token_out, cpo.store.parties.get(1).token_out
    assert new_c != old_c and new_b != old_b
    assert call(cpo, "GET", old_c, path="/ocpi/2.2.1").status_int == 401
    assert call(emsp, "GET", old_b, path="/ocpi/2.2.1").status_int == 401
    assert decode(call(cpo, "GET", new_c, path="/ocpi/2.2.1"))["status_code"] == 1000
    assert decode(call(emsp, "GET", new_b, path="/ocpi/2.2.1"))["status_code"] == 1000


def test_failed_put_keeps_the_old_token(cpo, emsp, network, token_a):
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    response = call(cpo, "PUT", peer.token_out, credentials_body("b2", "http://127.0.0.1:9/versions"))
    assert decode(response)["status_code"] == 3001
    assert decode(call(cpo, "GET", peer.token_out, path="/ocpi/2.2.1"))["status_code"] == 1000
    at_cpo = cpo.store.parties.get(1)
    assert at_cpo.state == "REGISTERED" and at_cpo.versions_url == f"{EMSP_URL}/versions"


def test_delete_unregisters_both_sides_and_cancels_pushes(cpo, emsp, network, token_a):
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    token_b = cpo.store.parties.get(1).token_out
    queued = add_outbox_row(cpo.store, peer=1)
    connector(emsp, network).unregister(emsp.store.parties.get(peer.id))
    assert call(cpo, "GET", peer.token_out, path="/ocpi/2.2.1").status_int == 401
    assert call(emsp, "GET", token_b, path="/ocpi/2.2.1").status_int == 401
    for ocpi in (cpo, emsp):
        (party,) = ocpi.store.parties.all()
        assert party.state == "UNREGISTERED" and party.token_out is None
    assert cpo.store.db.connection().execute(
        "SELECT state FROM outbox WHERE id = ?", (queued,)).fetchone() == ("CANCELLED",)


def test_delete_answers_200_1000_without_data(cpo, emsp, network, token_a):
    peer = connector(emsp, network).register(f"{CPO_URL}/versions", token_a)
    response = call(cpo, "DELETE", peer.token_out)
    assert response.status_int == 200
    body = decode(response)
    assert body["status_code"] == 1000 and "data" not in body
    assert call(cpo, "DELETE", peer.token_out).status_int == 401


def add_outbox_row(store, peer: int) -> int:
    with store.db.transaction() as tx:
        cdr = tx.execute(
            "INSERT INTO cdrs (cdr_key, country_code, party_id, id, source, recipient,"
            " last_updated_us, json, created_at) VALUES ('NL/CPO/1', 'NL', 'CPO', '1',"
            " 'RECORDED', 'DE/MSP', 0, '{}', '2026-01-01T00:00:00Z')").lastrowid
        return tx.execute("INSERT INTO outbox (cdr, peer, next_attempt_at, created_at)"
                          " VALUES (?, ?, 0, '2026-01-01T00:00:00Z')", (cdr, peer)).lastrowid
