"""The OCPI 2.2.1 CDR object and its sub-types (mod_cdrs.asciidoc, mod_tariffs, mod_locations).

Field order, types, lengths and cardinalities follow the spec's tables. Cross-field rules
(credit CDRs, id length, DateTime validity) live in ``__post_init__``: msgspec reports what they
raise as a ValidationError with the JSON path, like any type error.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from msgspec import Meta

from .common import (
    CountryCode,
    DateTime,
    OcpiObject,
    PartyId,
    Price,
    Url,
    check_datetime,
    ci_string,
    normalize_datetime,
    string,
)

NonEmpty = Meta(min_length=1)
Latitude = Annotated[str, Meta(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
Longitude = Annotated[str, Meta(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]
CurrencyCode = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]  # ISO 4217
CountryAlpha3 = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]  # ISO 3166-1 alpha-3
Hours = float
NON_CREDIT_ID_MAX = 36

AuthMethod = Literal["AUTH_REQUEST", "COMMAND", "WHITELIST"]
TokenType = Literal["AD_HOC_USER", "APP_USER", "OTHER", "RFID"]
ConnectorFormat = Literal["SOCKET", "CABLE"]
PowerType = Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]
ConnectorType = Literal[
    "CHADEMO", "CHAOJI",
    "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F",
    "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I", "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L",
    "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O",
    "GBT_AC", "GBT_DC",
    "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64",
    "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO",
    "IEC_62196_T3A", "IEC_62196_T3C",
    "NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
    "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
]
CdrDimensionType = Literal[
    "CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT", "MIN_CURRENT",
    "MAX_POWER", "MIN_POWER", "PARKING_TIME", "POWER", "RESERVATION_TIME", "STATE_OF_CHARGE",
    "TIME",
]
# "SHALL therefor only be used in Sessions": a receiver tolerates them, a sender must not emit them.
SESSION_ONLY_DIMENSIONS = frozenset(
    {"CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER", "STATE_OF_CHARGE"}
)
TariffDimensionType = Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
TariffType = Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
ReservationRestrictionType = Literal["RESERVATION", "RESERVATION_EXPIRES"]
EnergySourceCategory = Literal[
    "NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER"
]
EnvironmentalImpactCategory = Literal["NUCLEAR_WASTE", "CARBON_DIOXIDE"]

TimeOfDay = Annotated[str, Meta(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
Date = Annotated[str, Meta(pattern=r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]


class _WithDateTimes(OcpiObject):
    """Checks that DateTime fields are real instants and stores them in canonical form."""

    _datetime_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        for name in self._datetime_fields:
            value = getattr(self, name)
            if value is None:
                continue
            try:
                check_datetime(value)
            except ValueError:
                raise ValueError(f"`{name}`: not a valid date and time: {value!r}") from None
            setattr(self, name, normalize_datetime(value))


# -- shared types (types.asciidoc, mod_locations, mod_tariffs) -----------------------------------


class DisplayText(OcpiObject):
    language: string(2)
    text: string(512)


class GeoLocation(OcpiObject):
    latitude: Latitude
    longitude: Longitude


class EnergySource(OcpiObject):
    source: EnergySourceCategory
    percentage: Annotated[float, Meta(ge=0, le=100)]


class EnvironmentalImpact(OcpiObject):
    category: EnvironmentalImpactCategory
    amount: Annotated[float, Meta(ge=0)]


class EnergyMix(OcpiObject):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: string(64) | None = None
    energy_product_name: string(64) | None = None


class PriceComponent(OcpiObject):
    type: TariffDimensionType
    price: float
    step_size: Annotated[int, Meta(ge=0)]
    vat: float | None = None


class TariffRestrictions(OcpiObject):
    start_time: TimeOfDay | None = None
    end_time: TimeOfDay | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: float | None = None
    max_kwh: float | None = None
    min_current: float | None = None
    max_current: float | None = None
    min_power: float | None = None
    max_power: float | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(OcpiObject):
    price_components: Annotated[list[PriceComponent], NonEmpty]
    restrictions: TariffRestrictions | None = None


class Tariff(_WithDateTimes):
    _datetime_fields = ("start_date_time", "end_date_time", "last_updated")

    country_code: CountryCode
    party_id: PartyId
    id: ci_string(36)
    currency: CurrencyCode
    elements: Annotated[list[TariffElement], NonEmpty]
    last_updated: DateTime
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None


# -- CDR sub-types (mod_cdrs.asciidoc) -----------------------------------------------------------


class CdrToken(OcpiObject):
    country_code: CountryCode
    party_id: PartyId
    uid: ci_string(36)
    type: TokenType
    contract_id: ci_string(36)


class CdrLocation(OcpiObject):
    id: ci_string(36)
    address: string(45)
    city: string(45)
    country: CountryAlpha3
    coordinates: GeoLocation
    evse_uid: ci_string(36)
    evse_id: ci_string(48)
    connector_id: ci_string(36)
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType
    name: string(255) | None = None
    postal_code: string(10) | None = None
    state: string(20) | None = None


class CdrDimension(OcpiObject):
    type: CdrDimensionType
    volume: float


class ChargingPeriod(_WithDateTimes):
    _datetime_fields = ("start_date_time",)

    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], NonEmpty]
    tariff_id: ci_string(36) | None = None


class SignedValue(OcpiObject):
    nature: ci_string(32)
    # 512 in the 2.2.1-d2 table; the 2.2.1 errata raise it to 5000 ("mistakenly gave 512").
    plain_data: string(5000)
    signed_data: string(5000)


class SignedData(OcpiObject):
    encoding_method: ci_string(36)
    signed_values: Annotated[list[SignedValue], NonEmpty]
    encoding_method_version: int | None = None
    public_key: string(512) | None = None
    url: string(512) | None = None


class Cdr(_WithDateTimes):
    """A 2.2.1 CDR. Required fields first, then the optional ones, both in the spec's order."""

    _datetime_fields = ("start_date_time", "end_date_time", "last_updated")

    country_code: CountryCode
    party_id: PartyId
    id: ci_string(39)
    start_date_time: DateTime
    end_date_time: DateTime
    cdr_token: CdrToken
    auth_method: AuthMethod
    cdr_location: CdrLocation
    currency: CurrencyCode
    charging_periods: Annotated[list[ChargingPeriod], NonEmpty]
    total_cost: Price
    total_energy: float
    total_time: Hours
    last_updated: DateTime
    session_id: ci_string(36) | None = None
    authorization_reference: ci_string(36) | None = None
    meter_id: string(255) | None = None
    tariffs: list[Tariff] | None = None
    signed_data: SignedData | None = None
    total_fixed_cost: Price | None = None
    total_energy_cost: Price | None = None
    total_time_cost: Price | None = None
    total_parking_time: Hours | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: string(255) | None = None
    invoice_reference_id: ci_string(39) | None = None
    credit: bool | None = None
    credit_reference_id: ci_string(39) | None = None
    home_charging_compensation: bool | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.credit:
            if not self.credit_reference_id:
                raise ValueError("`credit_reference_id`: required when `credit` is true")
            if self.credit_reference_id.upper() == self.id.upper():
                raise ValueError("`id`: a credit CDR needs an id of its own, not its `credit_reference_id`")
        elif len(self.id) > NON_CREDIT_ID_MAX:
            raise ValueError(f"`id`: a non-credit CDR id is at most {NON_CREDIT_ID_MAX} characters")

    @property
    def key(self) -> str:
        """The case-insensitive identity of a CDR: country_code/party_id/id."""
        return f"{self.country_code}/{self.party_id}/{self.id}".upper()

    @property
    def recipient(self) -> str:
        """The eMSP the CDR is for (its token's owner), upper-cased as `CC/PID`."""
        return f"{self.cdr_token.country_code}/{self.cdr_token.party_id}".upper()


def outbound_problem(cdr: Cdr) -> str | None:
    """Why we must not send this CDR as a CPO, or None. Receivers tolerate what senders avoid."""
    for p, period in enumerate(cdr.charging_periods):
        for d, dimension in enumerate(period.dimensions):
            if dimension.type in SESSION_ONLY_DIMENSIONS:
                return (
                    f"Invalid field `charging_periods[{p}].dimensions[{d}].type`: "
                    f"{dimension.type} is for Sessions only, not CDRs"
                )
    return None
