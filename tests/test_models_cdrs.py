"""The 2.2.1 CDR model against the official example, real third-party payloads and the rules."""

import copy
import json
from pathlib import Path

import msgspec
import pytest

from ocpi_lite.models.cdrs import Cdr, outbound_problem
from ocpi_lite.models.common import describe_validation_error, parse_datetime

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "ocpi_examples"
decoder = msgspec.json.Decoder(Cdr)


def example() -> dict:
    return json.loads((EXAMPLES / "official" / "v2_2_1-d2__cdr_example.json").read_text())


def problem(payload: dict) -> str:
    with pytest.raises(msgspec.ValidationError) as excinfo:
        decoder.decode(json.dumps(payload))
    return describe_validation_error(excinfo.value)


def test_official_example_round_trips_with_the_same_values():
    original = example()
    cdr = decoder.decode(json.dumps(original))
    assert json.loads(msgspec.json.encode(cdr)) == original
    assert cdr.key == "BE/BEC/12345" and cdr.recipient == "DE/TNM"


def test_unknown_fields_are_tolerated_and_dropped():
    payload = json.loads((EXAMPLES / "official" / "branch_a9fb30a__cdr_example_with_custom_data.json").read_text())
    cdr = decoder.decode(json.dumps(payload))
    assert b"custom_data" not in msgspec.json.encode(cdr)


@pytest.mark.parametrize(
    "name, field",
    [
        ("third_party/extrawest_tests_cdr_v221_sloppy.json", "start_date_time"),
        ("third_party/ocn_tools_mock_cdr_ocpi22.json", "cdr_token.country_code"),
        ("third_party/izivia_ocpi_toolkit_cdr_all_fields_placeholders.json", "country_code"),
        ("official/v2_3_0__cdr_example.json", "total_cost.excl_vat"),
        ("official/2_2_1__cdr_example.json", "cdr_token.country_code"),
    ],
)
def test_non_conformant_payloads_are_refused_naming_a_field(name, field):
    message = problem(json.loads((EXAMPLES / name).read_text()))
    assert f"`{field}`" in message


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c.update(id="x" * 37), "id"),
        (lambda c: c.update(credit=True), "credit_reference_id"),
        (lambda c: c.update(credit=True, credit_reference_id="12345"), "id"),
        (lambda c: c.update(charging_periods=[]), "charging_periods"),
        (lambda c: c["charging_periods"][0].update(dimensions=[]), "charging_periods[0].dimensions"),
        (lambda c: c["cdr_location"]["coordinates"].update(latitude="51.04"), "cdr_location.coordinates.latitude"),
        (lambda c: c["cdr_location"].update(connector_standard="IEC_62196_t2"), "cdr_location.connector_standard"),
        (lambda c: c.update(last_updated="2015-06-29T22:01:13+00:00"), "last_updated"),
        (lambda c: c.update(last_updated="2015-02-30T22:01:13Z"), "last_updated"),
        (lambda c: c.update(currency="eur"), "currency"),
        (lambda c: c.update(remark="line\nbreak"), "remark"),
        (lambda c: c.pop("cdr_location"), "cdr_location"),
        (lambda c: c["tariffs"][0].update(elements=[]), "tariffs[0].elements"),
    ],
)
def test_rules_are_enforced_naming_the_path(change, field):
    payload = example()
    change(payload)
    assert f"`{field}`" in problem(payload)


def test_credit_cdr_may_have_a_39_character_id():
    payload = example() | {"id": "x" * 36 + "-C", "credit": True, "credit_reference_id": "x" * 36}
    payload["total_cost"] = {"excl_vat": -4.0, "incl_vat": -4.4}
    assert decoder.decode(json.dumps(payload)).id == "x" * 36 + "-C"


def test_datetimes_are_stored_in_canonical_form():
    payload = example() | {"last_updated": "2015-06-29T22:01:13.25"}
    cdr = decoder.decode(json.dumps(payload))
    assert cdr.last_updated == "2015-06-29T22:01:13.25Z"
    assert parse_datetime(cdr.last_updated).microsecond == 250000


def test_session_only_dimensions_are_tolerated_inbound_but_not_sent():
    payload = example()
    payload["charging_periods"][0]["dimensions"].append({"type": "STATE_OF_CHARGE", "volume": 80})
    cdr = decoder.decode(json.dumps(payload))
    assert "charging_periods[0].dimensions[1].type" in outbound_problem(cdr)
    assert outbound_problem(decoder.decode(json.dumps(example()))) is None
