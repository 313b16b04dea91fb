"""CDR conversions between OCPI 2.2.1 (how we store every CDR) and 2.1.1 (what 2.1.1 peers
send and expect), following the digest's §5.2 mapping. Pure functions: no I/O, no clock.

Down (2.2.1 → 2.1.1) is for our Sender GET, our Receiver GET and pushes to 2.1.1 peers; a CDR
2.1.1 cannot express is a ``Skip(reason)``. Up (2.1.1 → 2.2.1) is for CDRs a 2.1.1 CPO pushes
to us; what cannot become a valid 2.2.1 CDR raises ``ConversionError`` naming the field.
The README ("Decisions", OCPI 2.1.1) lists every lossy or invented value chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from .cdrs import Cdr, Tariff
from .cdrs_211 import NON_CREDIT_ID_MAX_211, Cdr211
from .common import describe_validation_error
from .countries import ALPHA3

_decode_cdr = msgspec.json.Decoder(Cdr)
_encoder = msgspec.json.Encoder()

# CdrDimensionTypes 2.1.1 knows; the others (RESERVATION_TIME, Session-only ones) are dropped.
DIMENSIONS_211 = frozenset({"ENERGY", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"})
# 2.1.1 has AC_1_PHASE, AC_3_PHASE and DC only. Both two-phase kinds feed one single-phase
# load (between two lines, or a split-phase pair), so they are sent as AC_1_PHASE.
POWER_TYPE_211 = {"AC_1_PHASE": "AC_1_PHASE", "AC_2_PHASE": "AC_1_PHASE",
                  "AC_2_PHASE_SPLIT": "AC_1_PHASE", "AC_3_PHASE": "AC_3_PHASE", "DC": "DC"}
# A CdrLocation carries no electrical data, yet a 2.1.1 Connector requires voltage and
# amperage: nominal values per power type (amperage from a MAX_CURRENT dimension if any).
NOMINAL_VOLTAGE = {"AC_1_PHASE": 230, "AC_3_PHASE": 400, "DC": 400}
NOMINAL_AMPERAGE = {"AC_1_PHASE": 16, "AC_3_PHASE": 16, "DC": 125}
# The type of a token we only know by the 2.1.1 `auth_id` (a contract id): unknown.
TOKEN_TYPE_FROM_211 = "OTHER"


@dataclass(frozen=True)
class Skip:
    """This CDR cannot be given to a 2.1.1 peer; `reason` says why (logged, stored)."""

    reason: str


class ConversionError(ValueError):
    """A 2.1.1 CDR that does not make a valid 2.2.1 CDR; the message names the field."""


# -- down: 2.2.1 → 2.1.1 --------------------------------------------------------------------------


def cdr_down(cdr: Cdr) -> Cdr211 | Skip:
    if cdr.credit:
        return Skip(f"CDR {cdr.id} is a credit CDR; OCPI 2.1.1 has no credit CDRs")
    if len(cdr.id) > NON_CREDIT_ID_MAX_211:
        return Skip(f"CDR id {cdr.id!r} is longer than the {NON_CREDIT_ID_MAX_211} characters of 2.1.1")
    periods = []
    for period in cdr.charging_periods:
        dimensions = [{"type": d.type, "volume": d.volume}
                      for d in period.dimensions if d.type in DIMENSIONS_211]
        if dimensions:
            periods.append({"start_date_time": period.start_date_time, "dimensions": dimensions})
    if not periods:
        return Skip(f"CDR {cdr.id} has no charging period with a dimension OCPI 2.1.1 knows")
    data = {
        "id": cdr.id,
        "start_date_time": cdr.start_date_time,
        "stop_date_time": cdr.end_date_time,
        # 2.2 renamed the Token's `auth_id` to `contract_id`: the same value.
        "auth_id": cdr.cdr_token.contract_id,
        "auth_method": "AUTH_REQUEST" if cdr.auth_method == "COMMAND" else cdr.auth_method,
        "location": _location_down(cdr),
        "meter_id": cdr.meter_id,
        "currency": cdr.currency,
        "tariffs": [t for t in (_tariff_down(t) for t in cdr.tariffs or ()) if t] or None,
        "charging_periods": periods,
        "total_cost": cdr.total_cost.excl_vat,
        "total_energy": cdr.total_energy,
        "total_time": cdr.total_time,
        "total_parking_time": cdr.total_parking_time,
        "remark": cdr.remark,
        "last_updated": cdr.last_updated,
    }
    try:
        return msgspec.convert({k: v for k, v in data.items() if v is not None}, Cdr211)
    except msgspec.ValidationError as exc:  # e.g. a 2.2.1 string 2.1.1 holds shorter
        return Skip(f"CDR {cdr.id} is not valid in OCPI 2.1.1: {describe_validation_error(exc)}")


def _location_down(cdr: Cdr) -> dict:
    where = cdr.cdr_location
    power_type = POWER_TYPE_211[where.connector_power_type]
    currents = [d.volume for p in cdr.charging_periods for d in p.dimensions
                if d.type == "MAX_CURRENT" and d.volume > 0]
    stamp = cdr.last_updated  # the Location as the CDR shows it, at the CDR's last update
    connector = {
        "id": where.connector_id, "standard": where.connector_standard,
        "format": where.connector_format, "power_type": power_type,
        "voltage": NOMINAL_VOLTAGE[power_type],
        "amperage": round(max(currents)) if currents else NOMINAL_AMPERAGE[power_type],
        "last_updated": stamp,
    }
    evse = {"uid": where.evse_uid, "evse_id": where.evse_id, "status": "UNKNOWN",
            "connectors": [connector], "last_updated": stamp}
    location = {
        "id": where.id, "type": "UNKNOWN", "name": where.name, "address": where.address,
        "city": where.city, "postal_code": where.postal_code or "", "country": where.country,
        "coordinates": msgspec.to_builtins(where.coordinates), "evses": [evse],
        "last_updated": stamp,
    }
    return {k: v for k, v in location.items() if v is not None}


def _tariff_down(tariff: Tariff) -> dict | None:
    elements = []
    for element in tariff.elements:
        restrictions = element.restrictions
        if restrictions is not None and restrictions.reservation is not None:
            continue  # applies to reservations only, which 2.1.1 does not know
        item = {"price_components": [{"type": c.type, "price": c.price, "step_size": c.step_size}
                                     for c in element.price_components]}
        if restrictions is not None:
            kept = msgspec.structs.asdict(restrictions)
            for name in ("min_current", "max_current", "reservation"):
                kept.pop(name)
            kept = {k: v for k, v in kept.items() if v is not None}
            if kept:
                item["restrictions"] = kept
        elements.append(item)
    if not elements:
        return None
    data = {"id": tariff.id, "currency": tariff.currency, "elements": elements,
            "last_updated": tariff.last_updated, "tariff_alt_url": tariff.tariff_alt_url,
            "tariff_alt_text": msgspec.to_builtins(tariff.tariff_alt_text),
            "energy_mix": msgspec.to_builtins(tariff.energy_mix)}
    return {k: v for k, v in data.items() if v is not None}


def cdr_json_down(body: bytes) -> bytes | Skip:
    """A stored 2.2.1 CDR's JSON as 2.1.1 JSON, or why it cannot be."""
    converted = cdr_down(_decode_cdr.decode(body))
    return converted if isinstance(converted, Skip) else _encoder.encode(converted)


# -- up: 2.1.1 → 2.2.1 ----------------------------------------------------------------------------


def cdr_up(cdr: Cdr211, owner: tuple[str, str], token_owner: tuple[str, str]) -> Cdr:
    """A 2.2.1 CDR from a 2.1.1 one. `owner` = (country_code, party_id) of the CPO that pushed
    it; `token_owner` = the eMSP whose token it is: us, the party receiving it."""
    location = cdr.location
    evse = location.evses[0] if location.evses else None
    if evse is None:
        raise ConversionError("Invalid field `location.evses`: one EVSE with one connector is needed")
    connector = evse.connectors[0]
    periods = []
    for period in cdr.charging_periods:
        dimensions = [{"type": d.type, "volume": d.volume}
                      for d in period.dimensions if d.type != "FLAT"]  # FLAT is gone in 2.2
        if dimensions:
            periods.append({"start_date_time": period.start_date_time, "dimensions": dimensions})
    data = {
        "country_code": owner[0],
        "party_id": owner[1],
        "id": cdr.id,
        "start_date_time": cdr.start_date_time,
        "end_date_time": cdr.stop_date_time,
        "cdr_token": {"country_code": token_owner[0], "party_id": token_owner[1],
                      "uid": cdr.auth_id, "type": TOKEN_TYPE_FROM_211, "contract_id": cdr.auth_id},
        "auth_method": cdr.auth_method,
        "cdr_location": {
            "id": location.id, "name": location.name, "address": location.address,
            "city": location.city, "postal_code": location.postal_code or None,
            "country": _alpha3(location.country),
            "coordinates": msgspec.to_builtins(location.coordinates),
            "evse_uid": evse.uid, "evse_id": evse.evse_id or evse.uid,
            "connector_id": connector.id, "connector_standard": connector.standard,
            "connector_format": connector.format, "connector_power_type": connector.power_type,
        },
        "meter_id": cdr.meter_id,
        "currency": cdr.currency,
        "tariffs": [_tariff_up(t, owner) for t in cdr.tariffs] if cdr.tariffs else None,
        "charging_periods": periods,
        "total_cost": {"excl_vat": cdr.total_cost},
        "total_energy": cdr.total_energy,
        "total_time": cdr.total_time,
        "total_parking_time": cdr.total_parking_time,
        "remark": cdr.remark,
        "last_updated": cdr.last_updated,
    }
    data["cdr_location"] = {k: v for k, v in data["cdr_location"].items() if v is not None}
    try:
        return msgspec.convert({k: v for k, v in data.items() if v is not None}, Cdr)
    except msgspec.ValidationError as exc:
        raise ConversionError(f"{describe_validation_error(exc)} (after conversion to 2.2.1)") from None


def _tariff_up(tariff, owner: tuple[str, str]) -> dict:
    data = msgspec.to_builtins(tariff)
    return {"country_code": owner[0], "party_id": owner[1], **data}


def _alpha3(country: str) -> str:
    country = country.upper()
    if len(country) == 3:
        return country
    if country in ALPHA3:
        return ALPHA3[country]
    raise ConversionError(f"Invalid field `location.country`: {country!r} is not an ISO 3166"
                          " alpha-3 code, nor an alpha-2 code we can map")
