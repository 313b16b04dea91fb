"""CDR conversions 2.2.1 ⇄ 2.1.1 (pure functions), on the spec's own examples in both directions
and field by field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import msgspec
import pytest

from ocpi_lite.models.cdrs import Cdr
from ocpi_lite.models.cdrs_211 import Cdr211, decode_cdr_211
from ocpi_lite.models.convert_211 import (
    ConversionError,
    Skip,
    cdr_down,
    cdr_json_down,
    cdr_up,
)

HERE = Path(__file__).resolve().parent
EXAMPLE_221 = HERE / "fixtures/ocpi_examples/official/v2_2_1-d2__cdr_example.json"
EXAMPLE_211 = HERE / "examples/v2_1_1_cdr_example.json"
CPO = ("BE", "BEC")
EMSP = ("DE", "TNM")


def example_221() -> dict:
    return json.loads(EXAMPLE_221.read_text())


def example_211() -> dict:
    return json.loads(EXAMPLE_211.read_text())


def down(data: dict) -> dict:
    converted = cdr_down(msgspec.convert(data, Cdr))
    assert isinstance(converted, Cdr211), converted
    return msgspec.to_builtins(converted)


def up(data: dict) -> dict:
    return msgspec.to_builtins(cdr_up(decode_cdr_211(json.dumps(data).encode()), CPO, EMSP))


# -- the spec's 2.2.1 example: down, then up ------------------------------------------------------


def test_221_example_down_is_a_valid_211_cdr():
    out = down(example_221())
    assert out["stop_date_time"] == "2015-06-29T23:37:32Z"
    assert "end_date_time" not in out and "cdr_token" not in out and "country_code" not in out
    assert out["auth_id"] == "DE8ACC12E46L89"
    assert out["auth_method"] == "WHITELIST"
    assert out["total_cost"] == 4.0
    assert "total_time_cost" not in out
    assert out["location"] == {
        "id": "LOC1", "type": "UNKNOWN", "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A",
        "city": "Gent", "postal_code": "9000", "country": "BEL",
        "coordinates": {"latitude": "3.729944", "longitude": "51.047599"},
        "evses": [{
            "uid": "3256", "evse_id": "BE*BEC*E041503003", "status": "UNKNOWN",
            "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                            "power_type": "AC_1_PHASE", "voltage": 230, "amperage": 16,
                            "last_updated": "2015-06-29T22:01:13Z"}],
            "last_updated": "2015-06-29T22:01:13Z",
        }],
        "last_updated": "2015-06-29T22:01:13Z",
    }
    assert out["tariffs"] == [{
        "id": "12", "currency": "EUR", "last_updated": "2015-02-02T14:15:01Z",
        "elements": [{"price_components": [{"type": "TIME", "price": 2.0, "step_size": 300}]}],
    }]
    assert out["charging_periods"] == [
        {"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "TIME", "volume": 1.973}]}
    ]
    # It is a valid 2.1.1 CDR by our strict model, and serializes as such.
    msgspec.json.decode(msgspec.json.encode(out), type=Cdr211)


def test_221_example_down_then_up_keeps_what_both_versions_hold():
    original = example_221()
    back = up(down(original))
    kept = ("country_code", "party_id", "id", "start_date_time", "end_date_time", "auth_method",
            "currency", "charging_periods", "total_energy", "total_time", "last_updated")
    # charging_periods lose `tariff_id` (2.1.1 has none); the rest is identical.
    original["charging_periods"][0].pop("tariff_id")
    assert {k: back[k] for k in kept} == {k: original[k] for k in kept}
    assert back["cdr_location"] == original["cdr_location"]
    assert back["total_cost"] == {"excl_vat": 4.0}
    assert back["cdr_token"] == {"country_code": "DE", "party_id": "TNM", "uid": "DE8ACC12E46L89",
                                 "type": "OTHER", "contract_id": "DE8ACC12E46L89"}
    assert back["tariffs"][0]["country_code"] == "BE"
    assert "vat" not in back["tariffs"][0]["elements"][0]["price_components"][0]


# -- the spec's 2.1.1 example: up, then down ------------------------------------------------------


def test_211_spec_example_up_is_a_valid_221_cdr():
    out = up(example_211())
    msgspec.convert(out, Cdr)  # valid 2.2.1
    assert (out["country_code"], out["party_id"], out["id"]) == ("BE", "BEC", "12345")
    assert out["end_date_time"] == "2015-06-29T23:37:32Z"
    assert out["cdr_token"]["contract_id"] == "DE8ACC12E46L89"
    assert (out["cdr_token"]["country_code"], out["cdr_token"]["party_id"]) == EMSP
    assert out["cdr_location"] == {
        "id": "LOC1", "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A", "city": "Gent",
        "postal_code": "9000", "country": "BEL",  # the example's alpha-2 "BE", mapped
        "coordinates": {"latitude": "3.729944", "longitude": "51.047599"},
        "evse_uid": "3256", "evse_id": "BE-BEC-E041503003", "connector_id": "1",
        "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
        "connector_power_type": "AC_1_PHASE",
    }
    # The example's "price": "2.00" (a string) is taken as the number it spells.
    assert out["tariffs"][0]["elements"][0]["price_components"][0]["price"] == 2.0
    assert out["total_cost"] == {"excl_vat": 4.0}


def test_211_spec_example_up_then_down():
    original = example_211()
    back = down(up(original))
    for key in ("id", "start_date_time", "stop_date_time", "auth_id", "auth_method", "currency",
                "charging_periods", "total_cost", "total_energy", "total_time", "last_updated"):
        assert back[key] == original[key], key
    assert back["location"]["country"] == "BEL"
    connector = back["location"]["evses"][0]["connectors"][0]
    assert (connector["id"], connector["standard"], connector["voltage"]) == ("1", "IEC_62196_T2", 230)
    assert back["tariffs"][0]["elements"][0]["price_components"][0]["price"] == 2.0


# -- field-level rules ----------------------------------------------------------------------------


def test_credit_cdr_is_skipped():
    data = example_221() | {"id": "12345-C", "credit": True, "credit_reference_id": "12345",
                            "total_cost": {"excl_vat": -4.0}}
    result = cdr_down(msgspec.convert(data, Cdr))
    assert isinstance(result, Skip) and "credit" in result.reason
    assert isinstance(cdr_json_down(msgspec.json.encode(data)), Skip)


def test_command_becomes_auth_request_and_2_phase_becomes_1_phase():
    data = example_221()
    data["auth_method"] = "COMMAND"
    data["cdr_location"]["connector_power_type"] = "AC_2_PHASE_SPLIT"
    out = down(data)
    assert out["auth_method"] == "AUTH_REQUEST"
    assert out["location"]["evses"][0]["connectors"][0]["power_type"] == "AC_1_PHASE"


def test_fields_211_lacks_are_dropped_and_dimensions_filtered():
    data = example_221() | {"session_id": "S1", "authorization_reference": "A1",
                            "invoice_reference_id": "I1", "home_charging_compensation": False,
                            "total_reservation_cost": {"excl_vat": 1.0}}
    data["cdr_location"].pop("postal_code")
    data["charging_periods"] = [
        {"start_date_time": "2015-06-29T21:39:09Z",
         "dimensions": [{"type": "ENERGY", "volume": 5}, {"type": "MAX_CURRENT", "volume": 31.6},
                        {"type": "MAX_POWER", "volume": 22}, {"type": "RESERVATION_TIME", "volume": 1}]},
        {"start_date_time": "2015-06-29T21:00:00Z", "dimensions": [{"type": "RESERVATION_TIME", "volume": 1}]},
    ]
    out = down(data)
    for name in ("session_id", "authorization_reference", "invoice_reference_id",
                 "home_charging_compensation", "total_reservation_cost"):
        assert name not in out
    assert out["location"]["postal_code"] == ""
    assert out["charging_periods"] == [{"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [
        {"type": "ENERGY", "volume": 5.0}, {"type": "MAX_CURRENT", "volume": 31.6}]}]
    assert out["location"]["evses"][0]["connectors"][0]["amperage"] == 32  # from MAX_CURRENT


def test_tariff_down_drops_221_only_fields_and_reservation_elements():
    data = example_221()
    tariff = data["tariffs"][0]
    tariff |= {"type": "REGULAR", "min_price": {"excl_vat": 1}, "start_date_time": "2015-01-01T00:00:00Z"}
    tariff["elements"].append({"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}],
                               "restrictions": {"reservation": "RESERVATION"}})
    tariff["elements"][0]["restrictions"] = {"max_current": 16.0, "day_of_week": ["MONDAY"]}
    out = down(data)["tariffs"][0]
    assert set(out) == {"id", "currency", "elements", "last_updated"}
    assert out["elements"] == [{"price_components": [{"type": "TIME", "price": 2.0, "step_size": 300}],
                                "restrictions": {"day_of_week": ["MONDAY"]}}]


def test_up_drops_flat_dimension_and_maps_numeric_strings():
    data = example_211()
    data["charging_periods"][0]["dimensions"] = [{"type": "FLAT", "volume": 1},
                                                 {"type": "ENERGY", "volume": "0.007"}]
    out = up(data)
    assert out["charging_periods"][0]["dimensions"] == [{"type": "ENERGY", "volume": 0.007}]


def test_up_refuses_what_221_cannot_hold():
    no_evse = example_211()
    no_evse["location"]["evses"] = []
    with pytest.raises(ConversionError, match="location.evses"):
        up(no_evse)
    unknown_country = copy.deepcopy(example_211())
    unknown_country["location"]["country"] = "QQ"
    with pytest.raises(ConversionError, match="location.country"):
        up(unknown_country)
    only_flat = example_211()
    only_flat["charging_periods"][0]["dimensions"] = [{"type": "FLAT", "volume": 1}]
    with pytest.raises(ConversionError, match="charging_periods"):
        up(only_flat)


def test_211_model_is_strict():
    for path, value in ((("auth_method",), "COMMAND"), (("location", "type"), "STREET"),
                        (("id",), "x" * 37), (("stop_date_time",), "2015-06-29T23:37:32+00:00")):
        data = example_211()
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(msgspec.ValidationError):
            decode_cdr_211(json.dumps(data).encode())
