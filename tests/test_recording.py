"""Recording our CDRs (OcpiLite.record_cdr) and crediting them (OcpiLite.credit_cdr)."""

import json
from pathlib import Path

import msgspec
import pytest
from conftest import add_registered_peer

from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.recording import RecordError

EXAMPLE = Path(__file__).resolve().parent / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"


def example(**changes) -> dict:
    return json.loads(EXAMPLE.read_text()) | changes


def stored(store, key: str) -> dict:
    return json.loads(store.cdrs.get(key).json)


def count(store, table: str) -> int:
    return store.db.connection().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_record_stores_canonical_json_with_the_same_values(ocpi, store):
    cdr = ocpi.record_cdr(example())
    assert isinstance(cdr, Cdr) and cdr.key == "BE/BEC/12345"
    row = store.cdrs.get("be/bec/12345")
    assert row.source == "RECORDED" and row.recipient == "DE/TNM"
    assert row.json == msgspec.json.encode(cdr)
    assert json.loads(row.json) == example()


def test_dict_bytes_str_and_cdr_inputs_are_all_accepted(ocpi):
    ocpi.record_cdr(json.dumps(example(id="a")))
    ocpi.record_cdr(json.dumps(example(id="b")).encode())
    ocpi.record_cdr(msgspec.json.decode(json.dumps(example(id="c")), type=Cdr))
    assert {ocpi.store.cdrs.get(f"BE/BEC/{i}").id for i in "abc"} == {"a", "b", "c"}


def test_recording_the_same_cdr_again_is_a_no_op(ocpi, store):
    ocpi.record_cdr(example())
    ocpi.record_cdr(example(last_updated="2015-06-29T22:01:13"))  # same instant, same canonical form
    assert count(store, "cdrs") == 1


def test_same_key_with_other_content_is_refused_naming_the_key(ocpi, store):
    ocpi.record_cdr(example())
    with pytest.raises(RecordError, match="(?i)BE/BEC/12345 exists with other content"):
        ocpi.record_cdr(example(id="12345".upper(), total_energy=99.0, party_id="bec"))
    assert stored(store, "BE/BEC/12345")["total_energy"] == 15.342


def test_invalid_cdr_is_refused_naming_the_json_path(ocpi, store):
    broken = example()
    broken["cdr_token"]["uid"] = "x" * 37
    with pytest.raises(RecordError, match=r"`cdr_token\.uid`"):
        ocpi.record_cdr(broken)
    with pytest.raises(RecordError, match="Missing required field `total_cost`"):
        ocpi.record_cdr({k: v for k, v in example().items() if k != "total_cost"})
    with pytest.raises(RecordError, match="not valid JSON"):
        ocpi.record_cdr(b"{nope")
    assert count(store, "cdrs") == 0


def test_a_built_cdr_is_validated_too(ocpi):
    cdr = msgspec.json.decode(json.dumps(example()), type=Cdr)
    cdr.currency = "euro"  # msgspec constructors and setattr do not check constraints
    with pytest.raises(RecordError, match="`currency`"):
        ocpi.record_cdr(cdr)


def test_session_only_dimensions_are_refused(ocpi):
    payload = example()
    payload["charging_periods"][0]["dimensions"].append({"type": "STATE_OF_CHARGE", "volume": 80})
    with pytest.raises(RecordError, match=r"charging_periods\[0\]\.dimensions\[1\]\.type"):
        ocpi.record_cdr(payload)


def test_cdr_of_another_party_than_ours_is_recorded(ocpi):
    assert ocpi.config.party.party_id == "LIT"
    assert ocpi.record_cdr(example(country_code="NL", party_id="XYZ")).key == "NL/XYZ/12345"


def test_new_cdr_is_queued_for_a_receiving_peer_once(ocpi, store):
    add_registered_peer(store, "t", roles=(("EMSP", "DE", "TNM"),),
                        endpoints=[{"identifier": "cdrs", "role": "RECEIVER", "url": "http://x/cdrs"}])
    ocpi.record_cdr(example())
    ocpi.record_cdr(example())
    assert count(store, "outbox") == 1


def test_credit_negates_total_cost_and_copies_everything_else(ocpi, store, clock):
    ocpi.record_cdr(example())
    credit = ocpi.credit_cdr("12345")
    body = stored(store, "BE/BEC/12345-C")
    assert body == json.loads(msgspec.json.encode(credit))
    original = example()
    assert body["id"] == "12345-C" and body["credit"] is True and body["credit_reference_id"] == "12345"
    assert body["total_cost"] == {"excl_vat": -4.0, "incl_vat": -4.4}
    assert body["total_time_cost"] == original["total_time_cost"]  # only total_cost is negated
    assert body["last_updated"] == "2026-01-01T12:00:00Z"  # the clock: sorts after the original
    for field in set(original) - {"id", "total_cost", "last_updated"}:
        assert body[field] == original[field], field


def test_credit_sorts_after_an_original_newer_than_the_clock(ocpi, store):
    ocpi.record_cdr(example(last_updated="2030-01-01T00:00:00Z"))
    assert ocpi.credit_cdr("12345").last_updated == "2030-01-01T00:00:00.001Z"


def test_zero_total_stays_zero_not_minus_zero(ocpi, store):
    ocpi.record_cdr(example(total_cost={"excl_vat": 0}))
    ocpi.credit_cdr("12345")
    assert b'"total_cost":{"excl_vat":0.0}' in store.cdrs.get("BE/BEC/12345-C").json


def test_crediting_twice_or_a_credit_is_refused(ocpi, store):
    ocpi.record_cdr(example())
    ocpi.credit_cdr("12345")
    with pytest.raises(RecordError, match="already credited by BE/BEC/12345-C"):
        ocpi.credit_cdr("12345")
    with pytest.raises(RecordError, match="itself a credit CDR"):
        ocpi.credit_cdr("12345-C")
    assert count(store, "cdrs") == 2


def test_credit_of_unknown_or_received_cdr_is_refused(ocpi, store):
    with pytest.raises(RecordError, match="no recorded CDR with id 'nope'"):
        ocpi.credit_cdr("nope")


def test_credit_of_a_longest_id_fits_and_ids_match_in_any_case(ocpi):
    ocpi.record_cdr(example(id="y" * 36))
    assert ocpi.credit_cdr("Y" * 36).id == "y" * 36 + "-C"  # 38 characters: within 39


def test_ambiguous_id_needs_the_full_key(ocpi, store):
    ocpi.record_cdr(example())
    ocpi.record_cdr(example(party_id="OTH"))
    with pytest.raises(RecordError, match="BE/BEC/12345, BE/OTH/12345.*CC/PID/ID"):
        ocpi.credit_cdr("12345")
    assert ocpi.credit_cdr("be/oth/12345").key == "BE/OTH/12345-C"
    assert store.cdrs.get("BE/BEC/12345-C") is None
