"""OCPI 2.1.1 in process: versions and details, credentials on both sides, the Sender GET
converted down, the Receiver converting up, and pushes converted for 2.1.1 peers. Instances
talk through `Network` (webtest), as in test_credentials."""

import json
from pathlib import Path

import msgspec
import pytest
from conftest import FixedClock, add_registered_peer, decode, make_config, token_header
from network import Network, fake_peer
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.connect import Connector
from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.models.cdrs_211 import Cdr211
from ocpi_lite.models.cdrs_211 import decode_cdr_211
from ocpi_lite.models.convert_211 import cdr_down, cdr_up
from ocpi_lite.push.client import OcpiClient
from ocpi_lite.registration import new_token
from ocpi_lite.samples import sample_cdr

CPO_URL = "http://cpo.test/ocpi"
EMSP_URL = "http://emsp.test/ocpi"
EXAMPLE_211 = Path(__file__).resolve().parent / "examples/v2_1_1_cdr_example.json"


def instance(tmp_path, network, name, url, roles, cc, pid, versions=("2.1.1", "2.2.1")):
    config = make_config(tmp_path / name, roles=roles, public_url=url, country_code=cc,
                         party_id=pid, versions=list(versions))
    ocpi = OcpiLite(config, send=network, clock=FixedClock())
    network.add(url, ocpi.app)
    return ocpi


@pytest.fixture
def network():
    return Network()


@pytest.fixture
def cpo(tmp_path, network):
    ocpi = instance(tmp_path, network, "cpo", CPO_URL, ["CPO"], "NL", "CPO")
    yield ocpi
    ocpi.close()


@pytest.fixture
def emsp(tmp_path, network):
    ocpi = instance(tmp_path, network, "emsp", EMSP_URL, ["EMSP"], "DE", "MSP", versions=["2.1.1"])
    yield ocpi
    ocpi.close()


def register(emsp, cpo, network):
    token_a = new_token()
    cpo.store.parties.create_invitation("the eMSP", token_a, "2026-01-01T00:00:00Z")
    party = (emsp.config.party.country_code, emsp.config.party.party_id)
    client = OcpiClient(network, party, 5.0)
    return Connector(emsp.store, emsp.config, client, emsp.clock).register(f"{CPO_URL}/versions", token_a)


def get(ocpi, path, token, raw=True):
    return TestApp(ocpi.app).get(path, headers=token_header(token, raw=raw), expect_errors=True)


# -- versions and details -------------------------------------------------------------------------


def test_versions_follow_the_config_and_211_details_have_no_role(tmp_path, network, cpo, emsp):
    for ocpi in (cpo, emsp):
        ocpi.store.parties.create_invitation("x", "tok", "2026-01-01T00:00:00Z")
    assert [v["version"] for v in decode(get(cpo, "/ocpi/versions", "tok"))["data"]] == ["2.2.1", "2.1.1"]
    assert decode(get(emsp, "/ocpi/versions", "tok"))["data"] == [
        {"version": "2.1.1", "url": f"{EMSP_URL}/2.1.1"}]
    assert get(emsp, "/ocpi/2.2.1", "tok").status_int == 404  # not configured: not routed
    assert decode(get(cpo, "/ocpi/2.1.1", "tok"))["data"] == {"version": "2.1.1", "endpoints": [
        {"identifier": "credentials", "url": f"{CPO_URL}/2.1.1/credentials"},
        {"identifier": "cdrs", "url": f"{CPO_URL}/2.1.1/cpo/cdrs"}]}
    assert decode(get(emsp, "/ocpi/2.1.1", "tok"))["data"]["endpoints"][1] == {
        "identifier": "cdrs", "url": f"{EMSP_URL}/2.1.1/emsp/cdrs"}
    both = instance(tmp_path, network, "both", "http://both.test/ocpi", ["CPO", "EMSP"], "NL", "BTH")
    both.store.parties.create_invitation("x", "tok", "2026-01-01T00:00:00Z")
    endpoints = decode(get(both, "/ocpi/2.1.1", "tok"))["data"]["endpoints"]
    assert [e["url"] for e in endpoints if e["identifier"] == "cdrs"] == ["http://both.test/ocpi/2.1.1/cpo/cdrs"]
    both.close()


# -- credentials ----------------------------------------------------------------------------------


def test_registration_over_211_both_sides(cpo, emsp, network):
    peer = register(emsp, cpo, network)
    assert peer.version == "2.1.1" and not peer.token_out_base64
    assert [(r["role"], r["country_code"], r["party_id"]) for r in peer.roles] == [("CPO", "NL", "CPO")]
    assert peer.endpoint("cdrs") == f"{CPO_URL}/2.1.1/cpo/cdrs"
    at_cpo = cpo.store.parties.get(1)
    assert at_cpo.version == "2.1.1" and not at_cpo.token_out_base64
    assert [(r["role"], r["country_code"], r["party_id"]) for r in at_cpo.roles] == [("EMSP", "DE", "MSP")]
    # Our POST went to the 2.1.1 credentials with the flat object and the raw token A; the
    # CPO called back with the raw token B.
    (post,) = [s for s in network.sent if s[0] == "POST"]
    assert post[1] == f"{CPO_URL}/2.1.1/credentials"
    body = json.loads(post[3])
    assert set(body) == {"token", "url", "business_details", "party_id", "country_code"}
    assert body["party_id"] == "MSP" and body["url"] == f"{EMSP_URL}/versions"
    callbacks = [s for s in network.sent if s[1].startswith(EMSP_URL)]
    assert callbacks[-1][2]["Authorization"] == f"Token {body['token']}"
    # GET credentials on 2.1.1 answers the flat object.
    ours = decode(get(cpo, "/ocpi/2.1.1/credentials", peer.token_out))["data"]
    assert ours["token"] == peer.token_out and ours["country_code"] == "NL" and "roles" not in ours


def test_211_post_by_a_peer_without_211_is_3002(cpo, network):
    cpo.store.parties.create_invitation("p", "token-a", "2026-01-01T00:00:00Z")
    network.add("http://peer.test", fake_peer({
        "/peer/versions": (200, [{"version": "2.2.1", "url": "http://peer.test/peer/2.2.1"}])}))
    body = msgspec.json.encode({"token": "peer-token", "url": "http://peer.test/peer/versions",
                                "party_id": "MSP", "country_code": "DE",
                                "business_details": {"name": "P"}})
    reply = TestApp(cpo.app).post("/ocpi/2.1.1/credentials", body, headers=token_header("token-a"),
                                  content_type="application/json")
    assert decode(reply)["status_code"] == 3002


# -- CDRs: pushes and the Sender GET --------------------------------------------------------------


def record(cpo, n, **extra):
    return cpo.record_cdr(sample_cdr(n, owner=("NL", "CPO"), emsp=("DE", "MSP")) | extra)


def test_push_to_a_211_peer_is_converted_and_stored_upconverted(cpo, emsp, network):
    register(emsp, cpo, network)
    original = record(cpo, 1)
    network.sent.clear()
    result = cpo.pusher.drain_once(cpo.clock().timestamp())
    assert result.delivered == 1
    ((method, url, headers, body),) = network.sent
    assert (method, url) == ("POST", f"{EMSP_URL}/2.1.1/emsp/cdrs")
    assert headers["Authorization"] == f"Token {cpo.store.parties.get(1).token_out}"  # raw
    assert not any(h.lower().startswith("ocpi-") for h in headers)
    pushed = msgspec.json.decode(body, type=Cdr211)  # valid 2.1.1
    assert pushed == cdr_down(original)
    assert b"end_date_time" not in body and b"cdr_token" not in body
    stored = emsp.store.cdrs.get("NL/CPO/CDR00000001")
    assert msgspec.json.decode(stored.json, type=Cdr) == cdr_up(pushed, ("NL", "CPO"), ("DE", "MSP"))
    location = cpo.store.outbox.rows(("DONE",))[0].location
    assert location == f"{EMSP_URL}/2.1.1/emsp/cdrs/NL/CPO/CDR00000001"


def test_credit_cdr_is_parked_for_a_211_peer_with_its_reason(cpo, emsp, network):
    register(emsp, cpo, network)
    record(cpo, 1)
    cpo.credit_cdr("CDR00000001")
    result = cpo.pusher.drain_once(cpo.clock().timestamp())
    assert (result.delivered, result.failed) == (1, 1)
    (failed,) = cpo.store.outbox.rows(("FAILED",))
    assert "credit CDR" in failed.last_error and "2.1.1" in failed.last_error


def test_sender_get_211_converts_and_leaves_credit_cdrs_out(cpo, emsp, network):
    peer = register(emsp, cpo, network)
    for n in range(3):
        record(cpo, n)
    cpo.credit_cdr("CDR00000001")
    reply = get(cpo, "/ocpi/2.1.1/cpo/cdrs?limit=2", peer.token_out)
    assert reply.headers["X-Total-Count"] == "3"  # the credit CDR is not counted
    page = msgspec.json.decode(reply.body)["data"]
    assert [c["id"] for c in page] == ["CDR00000000", "CDR00000001"]
    msgspec.convert(page, list[Cdr211])
    assert "stop_date_time" in page[0] and "end_date_time" not in page[0]
    rest = get(cpo, reply.headers["Link"].split(">")[0][1 + len("http://cpo.test"):], peer.token_out)
    assert [c["id"] for c in decode(rest)["data"]] == ["CDR00000002"]
    # GET one: the credit CDR has no 2.1.1 form (404); the others are converted.
    assert decode(get(cpo, "/ocpi/2.1.1/cpo/cdrs/CDR00000001-C", peer.token_out))["status_code"] == 2000
    one = decode(get(cpo, "/ocpi/2.1.1/cpo/cdrs/CDR00000002", peer.token_out))["data"]
    assert one["id"] == "CDR00000002" and "auth_id" in one


def test_the_same_page_request_in_each_version_gets_its_own_version(cpo, emsp, network):
    # Repeated pages are kept per thread until the next write: 2.2.1 and 2.1.1 pages of the
    # same request must not be taken for one another.
    peer = register(emsp, cpo, network)
    for n in range(3):
        record(cpo, n)
    for version, present, absent in (("2.2.1", "end_date_time", "stop_date_time"),
                                     ("2.1.1", "stop_date_time", "end_date_time"),
                                     ("2.2.1", "end_date_time", "stop_date_time")):
        reply = get(cpo, f"/ocpi/{version}/cpo/cdrs?limit=2", peer.token_out)
        page = decode(reply)["data"]
        assert [c["id"] for c in page] == ["CDR00000000", "CDR00000001"]
        assert present in page[0] and absent not in page[0], version
        assert f"/ocpi/{version}/cpo/cdrs?" in reply.headers["Link"]


def test_221_peer_of_the_same_cpo_keeps_getting_221(tmp_path, cpo, network):
    other = instance(tmp_path, network, "emsp2", "http://emsp2.test/ocpi", ["EMSP"], "DE", "MSP")
    peer = register(other, cpo, network)
    assert peer.version == "2.2.1" and peer.token_out_base64
    original = record(cpo, 5)
    network.sent.clear()
    assert cpo.pusher.drain_once(cpo.clock().timestamp()).delivered == 1
    ((_, url, headers, body),) = network.sent
    assert url == "http://emsp2.test/ocpi/2.2.1/emsp/cdrs"
    assert headers["OCPI-to-party-id"] == "MSP"
    assert msgspec.json.decode(body, type=Cdr) == original
    other.close()


# -- the 2.1.1 Receiver ---------------------------------------------------------------------------


@pytest.fixture
def emsp_with_211_cpo(emsp):
    add_registered_peer(emsp.store, "cpo-token", roles=(("CPO", "BE", "BEC"),), label="cpo")
    with emsp.store.db.transaction() as tx:
        tx.execute("UPDATE parties SET version = '2.1.1'")
    return TestApp(emsp.app)


def post(client, payload: bytes):
    return client.post("/ocpi/2.1.1/emsp/cdrs", payload, headers=token_header("cpo-token", raw=True),
                       content_type="application/json", expect_errors=True)


def test_receiver_stores_the_spec_example_and_serves_it_back_in_211(emsp, emsp_with_211_cpo):
    raw = EXAMPLE_211.read_bytes()
    reply = post(emsp_with_211_cpo, raw)
    assert reply.status_int == 201 and decode(reply)["status_code"] == 1000
    location = reply.headers["Location"]
    assert location == f"{EMSP_URL}/2.1.1/emsp/cdrs/BE/BEC/12345"
    stored = msgspec.json.decode(emsp.store.cdrs.get("BE/BEC/12345").json, type=Cdr)
    assert stored.cdr_token.country_code == "DE" and stored.cdr_location.country == "BEL"
    back = decode(emsp_with_211_cpo.get(location[len("http://emsp.test"):],
                                        headers=token_header("cpo-token", raw=True)))["data"]
    assert back == msgspec.to_builtins(cdr_down(cdr_up(decode_cdr_211(raw), ("BE", "BEC"), ("DE", "MSP"))))
    assert back["stop_date_time"] == "2015-06-29T23:37:32Z" and back["total_cost"] == 4.0
    # The same CDR again is a safe retry; other content under the key is refused.
    assert post(emsp_with_211_cpo, raw).status_int == 200
    changed = json.loads(raw) | {"total_cost": 5.0}
    assert decode(post(emsp_with_211_cpo, json.dumps(changed).encode()))["status_code"] == 2001


def test_receiver_refuses_invalid_211_cdrs_naming_the_field(emsp_with_211_cpo):
    data = json.loads(EXAMPLE_211.read_bytes())
    data["auth_method"] = "COMMAND"
    reply = decode(post(emsp_with_211_cpo, json.dumps(data).encode()))
    assert reply["status_code"] == 2001 and "`auth_method`" in reply["status_message"]
    data = json.loads(EXAMPLE_211.read_bytes())
    data["location"]["evses"] = []
    reply = decode(post(emsp_with_211_cpo, json.dumps(data).encode()))
    assert reply["status_code"] == 2001 and "location.evses" in reply["status_message"]
    assert post(emsp_with_211_cpo, b"{nope").status_int == 400
