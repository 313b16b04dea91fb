"""Authorization: Token parsing (Base64 and raw), peer lookup, token-A restrictions.

A resource says what it accepts with a class attribute ``auth``:
``"registration"`` (versions, details, credentials: a registration token is enough) or
``"registered"`` (everything else: only a registered peer's token).
"""

from __future__ import annotations

import base64
import binascii

import falcon

from ..store.parties import Caller, Parties
from .errors import Unauthorized

OPEN_TO_REGISTRATION = "registration"
REGISTERED_ONLY = "registered"


def candidate_tokens(header: str | None) -> list[str]:
    """The tokens an Authorization header may carry: raw first, then its Base64 decoding.

    OCPI 2.2.1-d2 requires Base64; many 2.1.1/2.2 peers send the raw token. Trying both is the
    "trial and error" the spec's compatibility note allows.
    """
    if not header:
        raise Unauthorized("Missing Authorization header")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        raise Unauthorized("Authorization header must be 'Token <token>'")
    candidates = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded and decoded != value:
        candidates.append(decoded)
    return candidates


class AuthMiddleware:
    def __init__(self, parties: Parties):
        self.parties = parties

    def process_resource(self, req: falcon.Request, resp, resource, params) -> None:
        if resource is None:
            return  # unknown route: the router's 404 answers
        if not _has_responder(resource, req.method):
            return  # like an unknown route, a wrong method is told (405) before credentials
        access = getattr(resource, "auth", REGISTERED_ONLY)
        if access is None:
            return
        caller, token = self.authenticate(req.get_header("Authorization"))
        if access == REGISTERED_ONLY and not self._fully_registered(caller):
            raise Unauthorized("This token only opens the versions and credentials modules")
        req.context.caller = caller
        # GET credentials answers with the token the caller used; we only store digests.
        req.context.token = token

    def authenticate(self, header: str | None) -> tuple[Caller, str]:
        found = self.parties.authenticate_first(candidate_tokens(header))
        if found is None:
            raise Unauthorized("Unknown credentials token")
        return found

    @staticmethod
    def _fully_registered(caller: Caller) -> bool:
        return not caller.registration_only and caller.peer.state == "REGISTERED"


_responders: dict[tuple[type, str], bool] = {}


def _has_responder(resource, method: str) -> bool:
    """True if the resource answers this method on any of its routes (suffixed or not).

    Errs toward authenticating: only a method no route of the resource serves skips auth.
    Cached per class and method: `dir()` on every request was a tenth of a page's time."""
    key = (type(resource), method)
    answer = _responders.get(key)
    if answer is None:
        name = "on_" + method.lower()
        answer = any(attr == name or attr.startswith(name + "_") for attr in dir(resource))
        _responders[key] = answer
    return answer
