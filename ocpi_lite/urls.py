"""Every URL we publish or route, built from ``public_url`` in one place.

Published URLs are absolute (versions list, details, Link, Location); routes are the path part
of the same URLs, so what we publish is always what we serve.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

V221 = "2.2.1"
V211 = "2.1.1"

_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*\Z")  # what quote() would leave as it is


class Urls:
    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/")

    # -- absolute URLs we hand out ---------------------------------------------------------
    def versions(self) -> str:
        return f"{self.base}/versions"

    def details(self, version: str = V221) -> str:
        return f"{self.base}/{version}"

    def credentials(self, version: str = V221) -> str:
        return f"{self.base}/{version}/credentials"

    def cdrs_sender(self, version: str = V221) -> str:
        return f"{self.base}/{version}/cpo/cdrs"

    def cdrs_receiver(self, version: str = V221) -> str:
        return f"{self.base}/{version}/emsp/cdrs"

    def received_cdr(self, country_code: str, party_id: str, cdr_id: str, version: str = V221) -> str:
        # Every Receiver POST answers with one; most ids need no quoting, and checking is cheaper.
        parts = "/".join(p if _UNRESERVED.match(p) else quote(p, safe="")
                         for p in (country_code, party_id, cdr_id))
        return f"{self.cdrs_receiver(version)}/{parts}"

    # -- route templates (path only) --------------------------------------------------------
    def route(self, absolute: str) -> str:
        """The path part of one of our absolute URLs, for falcon's router."""
        return urlsplit(absolute).path
