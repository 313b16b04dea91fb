"""Versions list and version details (version_information_endpoint.asciidoc)."""

from __future__ import annotations

from ..transport.auth import OPEN_TO_REGISTRATION
from ..transport.envelope import respond


class VersionsResource:
    auth = OPEN_TO_REGISTRATION  # a registration token may discover our versions

    def __init__(self, versions: list[dict], clock):
        self.versions = versions
        self.clock = clock

    def on_get(self, req, resp):
        respond(resp, self.clock, self.versions)


class VersionDetailsResource:
    auth = OPEN_TO_REGISTRATION

    def __init__(self, version: str, endpoints: list[dict], clock):
        self.details = {"version": version, "endpoints": endpoints}
        self.clock = clock

    def on_get(self, req, resp):
        respond(resp, self.clock, self.details)
