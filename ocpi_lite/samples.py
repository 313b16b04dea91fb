"""Generated, valid 2.2.1 CDRs: for the demo, the benchmark and tests (``sample_cdrs``).

Each CDR is a plausible finished session: distinct ids, `last_updated` increasing with n,
costs that add up. Nothing random: the same arguments give the same CDRs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

from .models.common import format_datetime

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sample_cdr(n: int, *, owner: tuple[str, str] = ("NL", "LIT"),
               emsp: tuple[str, str] = ("DE", "TNM"), start: datetime = EPOCH,
               prefix: str = "CDR") -> dict:
    began = start + timedelta(minutes=7 * n)
    hours = 1.5 + (n % 5) * 0.25
    ended = began + timedelta(hours=hours)
    energy = round(7.4 * hours, 3)
    cost = round(0.35 * energy, 2)
    return {
        "country_code": owner[0],
        "party_id": owner[1],
        "id": f"{prefix}{n:08d}",
        "start_date_time": format_datetime(began),
        "end_date_time": format_datetime(ended),
        "session_id": f"S{n:08d}",
        "cdr_token": {
            "country_code": emsp[0],
            "party_id": emsp[1],
            "uid": f"{0x10000000 + n:08X}",
            "type": "RFID",
            "contract_id": f"{emsp[0]}{emsp[1]}C{n:08d}",
        },
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": f"LOC{n % 40:03d}",
            "name": f"Lite charging site {n % 40}",
            "address": f"Laadpaalstraat {n % 40 + 1}",
            "city": "Utrecht",
            "postal_code": "3511AB",
            "country": "NLD",
            "coordinates": {"latitude": "52.090737", "longitude": "5.121420"},
            "evse_uid": f"EVSE{n % 80:03d}",
            "evse_id": f"{owner[0]}*{owner[1]}*E{n % 80:05d}",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "tariffs": [{
            "country_code": owner[0],
            "party_id": owner[1],
            "id": "STANDARD",
            "currency": "EUR",
            "elements": [{"price_components": [{"type": "ENERGY", "price": 0.35, "vat": 21.0,
                                                "step_size": 1}]}],
            "last_updated": format_datetime(start),
        }],
        "charging_periods": [{
            "start_date_time": format_datetime(began),
            "dimensions": [{"type": "ENERGY", "volume": energy}, {"type": "TIME", "volume": hours}],
            "tariff_id": "STANDARD",
        }],
        "total_cost": {"excl_vat": cost, "incl_vat": round(cost * 1.21, 2)},
        "total_energy": energy,
        "total_energy_cost": {"excl_vat": cost, "incl_vat": round(cost * 1.21, 2)},
        "total_time": hours,
        "last_updated": format_datetime(ended + timedelta(seconds=30)),
    }


def sample_cdrs(count: int, *, emsps: list[tuple[str, str]] | None = None, first: int = 0,
                **kwargs) -> Iterator[dict]:
    """`count` CDRs, their tokens spread round-robin over `emsps`."""
    parties = emsps or [("DE", "TNM")]
    for n in range(first, first + count):
        yield sample_cdr(n, emsp=parties[n % len(parties)], **kwargs)
