"""Versions list and version details (version_information_endpoint)."""

from __future__ import annotations

from .common import InterfaceRole, OcpiObject, Url


class Version(OcpiObject):
    version: str
    url: Url


class Endpoint(OcpiObject):
    identifier: str  # custom module ids exist (e.g. "nltnm-tokens"): tolerate any
    url: Url
    role: InterfaceRole | None = None  # absent in 2.1.1


class VersionDetails(OcpiObject):
    version: str
    endpoints: list[Endpoint]
