"""The OCPI 2.1.1 CDR object and the 2.1.1 sub-types it carries (2.1.1 mod_cdrs.md §3.1,
mod_locations.md §3.1-3.3, mod_tariffs.md; digest §5.1).

Strict like the 2.2.1 models (required fields, enums, lengths, DateTimes), unknown fields
tolerated and dropped. Two tolerances the 2.1.1 world needs are decided here, not in the types:
numbers sent as strings are accepted by decoding with ``strict=False`` (``cdr_211_decoder``),
and `location.country` may be alpha-2 as in the spec's own example (the conversion up maps it
to alpha-3).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .cdrs import (
    ConnectorFormat,
    ConnectorType,
    CurrencyCode,
    DayOfWeek,
    DisplayText,
    EnergyMix,
    GeoLocation,
    TariffDimensionType,
    TimeOfDay,
    Date,
    _WithDateTimes,
)
from .common import DateTime, OcpiObject, Url, ci_string, string

NonEmpty = Meta(min_length=1)
NON_CREDIT_ID_MAX_211 = 36

AuthMethod211 = Literal["AUTH_REQUEST", "WHITELIST"]
PowerType211 = Literal["AC_1_PHASE", "AC_3_PHASE", "DC"]
CdrDimensionType211 = Literal["ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"]
LocationType = Literal[
    "ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN"
]
EvseStatus = Literal[
    "AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED",
    "RESERVED", "UNKNOWN",
]
# 2.1.1 says string(3), alpha-3; its own CDR example has "BE". Both forms are accepted.
Country211 = Annotated[str, Meta(pattern=r"^[A-Za-z]{2,3}$")]


class Connector211(_WithDateTimes):
    _datetime_fields = ("last_updated",)

    id: string(36)
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType211
    voltage: int
    amperage: int
    last_updated: DateTime
    tariff_id: string(36) | None = None
    terms_and_conditions: Url | None = None


class Evse211(_WithDateTimes):
    _datetime_fields = ("last_updated",)

    uid: string(39)
    status: EvseStatus
    connectors: Annotated[list[Connector211], NonEmpty]
    last_updated: DateTime
    evse_id: string(48) | None = None


class Location211(_WithDateTimes):
    _datetime_fields = ("last_updated",)

    id: string(39)
    type: LocationType
    address: string(45)
    city: string(45)
    postal_code: string(10)
    country: Country211
    coordinates: GeoLocation
    last_updated: DateTime
    name: string(255) | None = None
    evses: list[Evse211] | None = None


class PriceComponent211(OcpiObject):
    type: TariffDimensionType
    price: float
    step_size: Annotated[int, Meta(ge=0)]


class TariffRestrictions211(OcpiObject):
    start_time: TimeOfDay | None = None
    end_time: TimeOfDay | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: float | None = None
    max_kwh: float | None = None
    min_power: float | None = None
    max_power: float | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None


class TariffElement211(OcpiObject):
    price_components: Annotated[list[PriceComponent211], NonEmpty]
    restrictions: TariffRestrictions211 | None = None


class Tariff211(_WithDateTimes):
    _datetime_fields = ("last_updated",)

    id: string(36)
    currency: CurrencyCode
    elements: Annotated[list[TariffElement211], NonEmpty]
    last_updated: DateTime
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    energy_mix: EnergyMix | None = None


class CdrDimension211(OcpiObject):
    type: CdrDimensionType211
    volume: float


class ChargingPeriod211(_WithDateTimes):
    _datetime_fields = ("start_date_time",)

    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension211], NonEmpty]


class Cdr211(_WithDateTimes):
    """A 2.1.1 CDR. Required fields first, then the optional ones, both in the spec's order."""

    _datetime_fields = ("start_date_time", "stop_date_time", "last_updated")

    id: ci_string(NON_CREDIT_ID_MAX_211)
    start_date_time: DateTime
    stop_date_time: DateTime
    auth_id: string(36)
    auth_method: AuthMethod211
    location: Location211
    currency: CurrencyCode
    charging_periods: Annotated[list[ChargingPeriod211], NonEmpty]
    total_cost: float
    total_energy: float
    total_time: float
    last_updated: DateTime
    meter_id: string(255) | None = None
    tariffs: list[Tariff211] | None = None
    total_parking_time: float | None = None
    remark: string(255) | None = None


# ``strict=False``: numbers written as strings (the spec's example has `"price": "2.00"`,
# production 2.1.1 APIs send `"volume": "0.007"`) are taken as the numbers they spell.
cdr_211_decoder = msgspec.json.Decoder(Cdr211, strict=False)


def decode_cdr_211(raw: bytes) -> Cdr211:
    """Decode a 2.1.1 CDR from JSON. Raises msgspec.ValidationError / DecodeError."""
    return cdr_211_decoder.decode(raw)
