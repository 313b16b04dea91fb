"""ISO 3166-1 alpha-2 → alpha-3 for the countries OCPI 2.1.1 peers are found in (Europe,
where OCPI is used most, and a few others). 2.1.1 asks for alpha-3 too, but its own CDR
example writes "BE"; a 2-letter country outside this table is refused, not guessed."""

from __future__ import annotations

ALPHA3 = {
    "AD": "AND", "AE": "ARE", "AL": "ALB", "AM": "ARM", "AT": "AUT", "AU": "AUS", "AZ": "AZE",
    "BA": "BIH", "BE": "BEL", "BG": "BGR", "BR": "BRA", "BY": "BLR", "CA": "CAN", "CH": "CHE",
    "CN": "CHN", "CY": "CYP", "CZ": "CZE", "DE": "DEU", "DK": "DNK", "EE": "EST", "ES": "ESP",
    "FI": "FIN", "FO": "FRO", "FR": "FRA", "GB": "GBR", "GE": "GEO", "GI": "GIB", "GR": "GRC",
    "HR": "HRV", "HU": "HUN", "IE": "IRL", "IL": "ISR", "IN": "IND", "IS": "ISL", "IT": "ITA",
    "JP": "JPN", "KR": "KOR", "LI": "LIE", "LT": "LTU", "LU": "LUX", "LV": "LVA", "MA": "MAR",
    "MC": "MCO", "MD": "MDA", "ME": "MNE", "MK": "MKD", "MT": "MLT", "MX": "MEX", "NL": "NLD",
    "NO": "NOR", "NZ": "NZL", "PL": "POL", "PT": "PRT", "RO": "ROU", "RS": "SRB", "SE": "SWE",
    "SG": "SGP", "SI": "SVN", "SK": "SVK", "SM": "SMR", "TR": "TUR", "UA": "UKR", "US": "USA",
    "VA": "VAT", "XK": "XKX", "ZA": "ZAF",
}
