"""CDR Receiver (eMSP): POST with Location, GET there, idempotent retries, strict validation,
no overwrites, who may read, and the HTTP-level answers (400, 401, 404, 405, 413)."""

import copy
import json
from pathlib import Path

import msgspec
import pytest
from conftest import add_registered_peer, decode, make_config, token_header
from webtest import TestApp

from ocpi_lite import OcpiLite
from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.store.cdrs import RECORDED

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "ocpi_examples"
PUBLIC = "http://127.0.0.1:8000/ocpi"
RECEIVER = "/ocpi/2.2.1/emsp/cdrs"
CPO_TOKEN = "cpo-token"


def example() -> dict:
    return json.loads((EXAMPLES / "official" / "v2_2_1-d2__cdr_example.json").read_text())


@pytest.fixture
def ocpi(tmp_path, clock):
    instance = OcpiLite(make_config(tmp_path, roles=["EMSP"]), clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def cpo(store) -> int:
    """The pushing CPO: registered, its one role is BE/BEC (the official example's party)."""
    return add_registered_peer(store, CPO_TOKEN, roles=(("CPO", "BE", "BEC"),), label="cpo")


def post(client, payload, token=CPO_TOKEN, **kwargs):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(RECEIVER, raw, headers=token_header(token) | kwargs.pop("headers", {}),
                       content_type="application/json", expect_errors=True, **kwargs)


def get(client, url, token=CPO_TOKEN, **kwargs):
    return client.get(url, headers=token_header(token) | kwargs.pop("headers", {}),
                      expect_errors=True, **kwargs)


def rows(store) -> list[tuple]:
    return store.db.connection().execute(
        "SELECT country_code, party_id, id, source, sender FROM cdrs ORDER BY pk"
    ).fetchall()


def assert_refused(response, field: str) -> str:
    """HTTP 200 (the request reached the OCPI layer), OCPI 2001, the message naming `field`."""
    assert response.status_int == 200, response
    body = decode(response)
    assert body["status_code"] == 2001, body
    assert "data" not in body
    assert f"`{field}`" in body["status_message"], body["status_message"]
    assert "Location" not in response.headers
    return body["status_message"]


# -- POST: created, retried, conflicting ---------------------------------------------------


def test_new_cdr_is_201_with_absolute_location_and_stored_as_received(client, store, cpo):
    response = post(client, example())
    assert response.status_int == 201
    body = decode(response)
    assert body["status_code"] == 1000 and "data" not in body
    assert response.headers["Location"] == f"{PUBLIC}/2.2.1/emsp/cdrs/BE/BEC/12345"
    assert rows(store) == [("BE", "BEC", "12345", "RECEIVED", cpo)]


def test_get_on_location_returns_the_stored_cdr(client, cpo):
    location = post(client, example()).headers["Location"]
    response = get(client, location)
    assert response.status_int == 200
    body = decode(response)
    assert body["status_code"] == 1000
    assert body["data"] == example()


def test_identical_retry_is_200_with_the_same_location_and_one_row(client, store, cpo):
    first = post(client, example())
    again = post(client, example())
    assert again.status_int == 200 and decode(again)["status_code"] == 1000
    assert again.headers["Location"] == first.headers["Location"]
    # The same content in another key order, with an unknown extra field, is the same CDR.
    reordered = dict(reversed(list(example().items()))) | {"vendor_extension": {"x": 1}}
    third = post(client, reordered)
    assert third.status_int == 200 and third.headers["Location"] == first.headers["Location"]
    assert len(rows(store)) == 1


def test_different_content_under_an_existing_key_is_2001_and_nothing_overwritten(client, store, cpo):
    location = post(client, example()).headers["Location"]
    changed = example()
    changed["total_cost"] = {"excl_vat": 1.0, "incl_vat": 1.21}
    message = assert_refused(post(client, changed), "id")
    assert "BE/BEC/12345" in message
    # The key is case-insensitive: the same CDR id under a lower-case party is the same key.
    lower = example() | {"country_code": "be", "party_id": "bec"}
    assert "be/bec/12345" in assert_refused(post(client, lower), "id")
    assert len(rows(store)) == 1
    assert decode(get(client, location))["data"] == example()


def test_cdr_of_another_party_than_the_pushers_roles_is_2001(client, store, cpo):
    message = assert_refused(post(client, example() | {"party_id": "OTH"}), "country_code")
    assert "`party_id`" in message and "BE/OTH" in message and "(BE/BEC)" in message
    assert rows(store) == []


def test_party_check_is_case_insensitive_and_location_keeps_the_sent_case(client, store, cpo):
    response = post(client, example() | {"country_code": "be", "party_id": "bec", "id": "abc"})
    assert response.status_int == 201
    assert response.headers["Location"] == f"{PUBLIC}/2.2.1/emsp/cdrs/be/bec/abc"
    assert decode(get(client, f"{RECEIVER}/BE/BEC/ABC"))["data"]["id"] == "abc"


def test_a_cdr_is_accepted_from_a_peer_with_several_roles(client, store):
    add_registered_peer(store, "multi", roles=(("CPO", "NL", "AAA"), ("CPO", "BE", "BEC")))
    assert post(client, example(), token="multi").status_int == 201


# -- strict 2.2.1 validation -------------------------------------------------------------------

INVALID_EXAMPLES = [
    ("third_party/extrawest_tests_cdr_v221_sloppy.json", "start_date_time"),
    ("third_party/izivia_ocpi_toolkit_cdr_all_fields_placeholders.json", "cdr_token.country_code"),
    ("third_party/ocn_tools_mock_cdr_ocpi22.json", "cdr_token.country_code"),
    ("official/v2_3_0__cdr_example.json", "total_cost.excl_vat"),
    ("official/2_2_1__cdr_example.json", "cdr_token.country_code"),
]


def test_every_third_party_example_is_listed():
    listed = {name for name, _ in INVALID_EXAMPLES}
    assert {f"third_party/{p.name}" for p in (EXAMPLES / "third_party").glob("*.json")} <= listed


@pytest.mark.parametrize("name, field", INVALID_EXAMPLES)
def test_non_conformant_payloads_are_refused_naming_a_field_and_nothing_stored(
        client, store, cpo, name, field):
    payload = json.loads((EXAMPLES / name).read_text())
    # Set to the pusher's party so only the payload's own faults can refuse it.
    payload.update(country_code="BE", party_id="BEC")
    assert_refused(post(client, payload), field)
    assert rows(store) == []


def test_unknown_fields_are_tolerated_and_not_stored(client, store, cpo):
    payload = json.loads(
        (EXAMPLES / "official" / "branch_a9fb30a__cdr_example_with_custom_data.json").read_text())
    assert "custom_data" in json.dumps(payload)
    response = post(client, payload)
    assert response.status_int == 201
    stored = get(client, response.headers["Location"])
    assert b"custom_data" not in stored.body
    assert decode(stored)["data"]["id"] == payload["id"]


def test_credit_cdr_with_a_39_character_id_is_201_and_retrievable(client, store, cpo):
    credit_id = "C" * 37 + "-C"
    assert len(credit_id) == 39
    payload = example() | {"id": credit_id, "credit": True, "credit_reference_id": "12345",
                           "total_cost": {"excl_vat": -4.0, "incl_vat": -4.4}}
    response = post(client, payload)
    assert response.status_int == 201
    assert response.headers["Location"].endswith(f"/BE/BEC/{credit_id}")
    data = decode(get(client, response.headers["Location"]))["data"]
    assert data["id"] == credit_id and data["credit"] is True


def test_normal_cdr_with_a_37_character_id_is_2001(client, store, cpo):
    assert_refused(post(client, example() | {"id": "N" * 37}), "id")
    assert rows(store) == []


def test_an_id_with_reserved_url_characters_round_trips_through_location(client, cpo):
    response = post(client, example() | {"id": "A/B 1?#%"})
    assert response.status_int == 201
    assert response.headers["Location"].endswith("/BE/BEC/A%2FB%201%3F%23%25")
    assert decode(get(client, response.headers["Location"]))["data"]["id"] == "A/B 1?#%"


# -- who may GET ---------------------------------------------------------------------------


def test_get_of_an_unknown_cdr_is_404(client, cpo):
    response = get(client, f"{RECEIVER}/BE/BEC/nope")
    assert response.status_int == 404 and decode(response)["status_code"] == 2000


def test_get_by_a_peer_that_may_not_see_it_is_404_like_unknown(client, store, cpo):
    add_registered_peer(store, "other", roles=(("CPO", "DE", "OTH"),), label="other")
    location = post(client, example()).headers["Location"]
    response = get(client, location, token="other")
    assert response.status_int == 404
    # Worded as for a CDR that does not exist: nothing tells the peer that it does.
    assert decode(response)["status_message"] == "No CDR BE/BEC/12345"
    assert decode(get(client, f"{RECEIVER}/BE/BEC/nope"))["status_message"] == "No CDR BE/BEC/nope"


def test_get_by_the_owner_role_and_by_a_hub(client, store, cpo):
    add_registered_peer(store, "owner", roles=(("CPO", "BE", "BEC"),), label="owner again")
    add_registered_peer(store, "hub", roles=(("HUB", "NL", "HUB"),), label="hub")
    location = post(client, example()).headers["Location"]
    for token in ("owner", "hub"):
        assert decode(get(client, location, token=token))["data"]["id"] == "12345"


def test_our_own_recorded_cdrs_are_not_served_by_the_receiver(tmp_path, clock):
    ocpi = OcpiLite(make_config(tmp_path, roles=["CPO", "EMSP"]), clock=clock)
    try:
        store = ocpi.store
        add_registered_peer(store, "hub", roles=(("HUB", "NL", "HUB"),))
        ours = example() | {"country_code": "NL", "party_id": "LIT"}
        cdr = msgspec.json.decode(json.dumps(ours), type=Cdr)
        with store.db.transaction() as tx:
            store.cdrs.add(tx, cdr, msgspec.json.encode(cdr), source=RECORDED, sender=None,
                           now="2026-01-01T00:00:00Z")
        response = get(TestApp(ocpi.app), f"{RECEIVER}/NL/LIT/12345", token="hub")
        assert response.status_int == 404
    finally:
        ocpi.close()


# -- transport: 400, 401, 405, 413, routing headers, roles --------------------------------------


def test_non_json_body_is_400_and_nothing_stored(client, store, cpo):
    for raw in (b"not json", b'{"country_code": "BE",', b""):
        response = post(client, raw)
        assert response.status_int == 400, raw
        assert decode(response)["status_code"] == 2000
    assert rows(store) == []


def test_body_over_the_limit_is_413(client, ocpi, cpo):
    payload = example() | {"remark": "x" * ocpi.config.server.max_body_bytes}
    response = post(client, payload)
    assert response.status_int == 413 and decode(response)["status_code"] == 2000


def test_registration_token_and_unknown_token_get_401(client, store, cpo, registration_token):
    location = post(client, example()).headers["Location"]
    for token in (registration_token, "nobody"):
        assert post(client, example(), token=token).status_int == 401
        assert get(client, location, token=token).status_int == 401


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", [RECEIVER, f"{RECEIVER}/BE/BEC/12345"])
def test_put_patch_delete_are_405_with_the_envelope(client, store, cpo, method, path):
    post(client, example())
    response = client.request(path, method=method, body=json.dumps(example()).encode(),
                              headers=token_header(CPO_TOKEN), content_type="application/json",
                              expect_errors=True)
    assert response.status_int == 405
    assert "Allow" in response.headers
    body = decode(response)
    assert body["status_code"] == 2000 and "timestamp" in body
    assert len(rows(store)) == 1


def test_routing_headers_are_swapped_on_post_and_get(client, cpo):
    routing = {"OCPI-from-country-code": "BE", "OCPI-from-party-id": "BEC",
               "OCPI-to-country-code": "NL", "OCPI-to-party-id": "LIT"}
    for response in (post(client, example(), headers=routing),
                     get(client, f"{RECEIVER}/BE/BEC/12345", headers=routing)):
        assert response.headers["OCPI-to-country-code"] == "BE"
        assert response.headers["OCPI-to-party-id"] == "BEC"
        assert response.headers["OCPI-from-country-code"] == "NL"
        assert response.headers["OCPI-from-party-id"] == "LIT"


def test_trailing_slash_is_served(client, cpo):
    response = client.post(RECEIVER + "/", json.dumps(example()).encode(),
                           headers=token_header(CPO_TOKEN), content_type="application/json")
    assert response.status_int == 201
    assert get(client, response.headers["Location"] + "/").status_int == 200


def test_receiver_is_not_routed_without_the_emsp_role(tmp_path, clock):
    ocpi = OcpiLite(make_config(tmp_path, roles=["CPO"]), clock=clock)
    try:
        add_registered_peer(ocpi.store, CPO_TOKEN, roles=(("CPO", "BE", "BEC"),))
        assert post(TestApp(ocpi.app), example()).status_int == 404
    finally:
        ocpi.close()


def test_request_ids_are_echoed(client, cpo):
    response = post(client, copy.deepcopy(example()), headers={"X-Request-ID": "req-1",
                                                              "X-Correlation-ID": "cor-1"})
    assert response.headers["X-Request-ID"] == "req-1"
    assert response.headers["X-Correlation-ID"] == "cor-1"
