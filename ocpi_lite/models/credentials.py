"""Credentials object (credentials.asciidoc) and BusinessDetails (mod_locations)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from .common import CountryCode, OcpiObject, PartyId, Role, Token, Url, ci_string, string


class Image(OcpiObject):
    url: Url
    category: Literal["CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"]
    type: ci_string(4)
    thumbnail: Url | None = None
    width: Annotated[int, Meta(ge=0, le=99999)] | None = None
    height: Annotated[int, Meta(ge=0, le=99999)] | None = None


class BusinessDetails(OcpiObject):
    name: string(100)
    website: Url | None = None
    logo: Image | None = None


class CredentialsRole(OcpiObject):
    role: Role
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode


class Credentials(OcpiObject):
    token: Token
    url: Url
    roles: Annotated[list[CredentialsRole], Meta(min_length=1)]


class Credentials211(OcpiObject):
    """The 2.1.1 credentials object: flat, one party, no roles (digest §3.4)."""

    token: Token
    url: Url
    business_details: BusinessDetails
    party_id: PartyId
    country_code: CountryCode
