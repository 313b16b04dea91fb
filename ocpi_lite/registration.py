"""The credentials handshake: what both sides share (discovering a peer's API, choosing the
version, checking its endpoints, our credentials object) and the server side of POST/PUT/DELETE
(``Handshake``). The initiating side (``ocpi-lite register``) is in ``connect.py``.

No falcon here: failures are the ``transport.errors`` classes, which the app turns into
responses and the CLI into one-line messages.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import msgspec

from .config import Config
from .models.common import format_datetime
from .models.credentials import BusinessDetails, Credentials, Credentials211, CredentialsRole
from .push.client import ClientError, HttpStatusError, OcpiClient
from .store import Store
from .store.parties import REGISTRATION_ONLY, Caller, Connection
from .transport.errors import (
    MethodNotAllowed,
    NoMatchingEndpoints,
    UnableToUseClientApi,
    UnsupportedVersion,
)
from .urls import V211, V221, Urls


@dataclass(frozen=True)
class VersionRules:
    """What differs per OCPI version in the handshake. Supporting a version = adding an entry."""

    header_base64: bool  # how a peer of this version expects the Authorization header first


# Most preferred first: the client side picks the first one the peer offers too.
SUPPORTED_VERSIONS: dict[str, VersionRules] = {
    V221: VersionRules(header_base64=True),
    V211: VersionRules(header_base64=False),  # 2.1.1 peers expect the raw token
}


def new_token() -> str:
    # 43 URL-safe characters: inside the spec's U+0021..U+007E and its 64-character limit.
    # Never a leading "-" (1 token in 64 had one): typed after `ocpi-lite register URL`, it
    # was taken for an option and the command failed.
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def our_credentials(config: Config, token: str,
                    version: str = V221) -> Credentials | Credentials211:
    """Our credentials object: one role per configured role, all with our business details.
    In 2.1.1 the object is flat: our party once (every configured role shares it)."""
    party = config.party
    details = BusinessDetails(name=party.name, website=party.website)
    if version == V211:
        return Credentials211(token=token, url=Urls(config.public_url).versions(),
                              business_details=details, party_id=party.party_id,
                              country_code=party.country_code)
    return Credentials(
        token=token,
        url=Urls(config.public_url).versions(),
        roles=[
            CredentialsRole(role=role, business_details=details, party_id=party.party_id,
                            country_code=party.country_code)
            for role in party.roles
        ],
    )


@dataclass(frozen=True)
class PeerApi:
    """A peer's API for the version we agreed on, as its versions list and details told us."""

    version: str
    versions_url: str
    endpoints: list[dict]  # {identifier, role?, url}
    use_base64: bool  # how the peer accepted our token in the Authorization header

    def endpoint(self, identifier: str, role: str | None = None) -> str | None:
        for endpoint in self.endpoints:
            if endpoint["identifier"] == identifier and role in (None, endpoint.get("role")):
                return endpoint["url"]
        return None


def discover(client: OcpiClient, versions_url: str, token: str,
             version: str | None = None, ours: list[str] | None = None) -> PeerApi:
    """GET the peer's versions, choose `version` (or the best mutual one among `ours`, our
    configured versions), GET its details.

    Raises UnableToUseClientApi (3001, its ``__cause__`` the ClientError) when a request fails
    or a reply is not what OCPI says, UnsupportedVersion (3002) when there is no mutual version."""
    versions, use_base64 = _get_versions(client, versions_url, token)
    offered = {v.version: v.url for v in versions}
    wanted = [version] if version else [v for v in SUPPORTED_VERSIONS if v in (ours or [V221])]
    chosen = next((v for v in wanted if v in offered), None)
    if chosen is None:
        raise UnsupportedVersion(
            f"No mutual version: {versions_url} offers {', '.join(sorted(offered)) or 'none'};"
            f" we need {' or '.join(wanted)}"
        )
    use_base64 = use_base64 and SUPPORTED_VERSIONS[chosen].header_base64
    try:
        details = client.get_details(offered[chosen], token, use_base64)
    except ClientError as exc:
        raise UnableToUseClientApi(f"Cannot fetch the version details: {exc}") from exc
    endpoints = [msgspec.to_builtins(endpoint) for endpoint in details.endpoints]
    return PeerApi(chosen, versions_url, endpoints, use_base64)


def _get_versions(client: OcpiClient, url: str, token: str):
    """The versions list, with the header form the peer accepts: Base64 first (2.2.1), then the
    raw token older implementations expect (the spec's "trial and error")."""
    try:
        return client.get_versions(url, token, True), True
    except HttpStatusError as exc:
        if exc.status != 401:
            raise UnableToUseClientApi(f"Cannot fetch the versions list: {exc}") from exc
    except ClientError as exc:
        raise UnableToUseClientApi(f"Cannot fetch the versions list: {exc}") from exc
    try:
        return client.get_versions(url, token, False), False
    except ClientError as exc:
        raise UnableToUseClientApi(f"Cannot fetch the versions list: {exc}") from exc


def check_credentials_endpoint(api: PeerApi) -> str:
    url = api.endpoint("credentials")
    if url is None:
        raise NoMatchingEndpoints(f"The {api.version} details list no `credentials` endpoint")
    return url


def check_endpoints(our_roles: list[str], peer_roles: list[dict], api: PeerApi) -> None:
    """3003 unless there is something to exchange (README, "Decisions"): as a CPO, the peer is
    an EMSP or HUB (it pulls) or lists `cdrs` RECEIVER (we push); as an EMSP, the peer is a CPO
    or HUB (we pull) or lists `cdrs` SENDER."""
    check_credentials_endpoint(api)
    roles = {role["role"] for role in peer_roles}
    if "CPO" in our_roles and (roles & {"EMSP", "HUB"} or api.endpoint("cdrs", "RECEIVER")):
        return
    if "EMSP" in our_roles and (roles & {"CPO", "HUB"} or api.endpoint("cdrs", "SENDER")):
        return
    raise NoMatchingEndpoints(
        f"Nothing to exchange: we are {'/'.join(our_roles)}; the peer's roles are"
        f" {'/'.join(sorted(roles))} and its {api.version} details list no matching `cdrs` endpoint"
    )


def peer_roles(theirs: Credentials | Credentials211, our_roles: list[str],
               api: PeerApi) -> list[dict]:
    """The peer's CredentialsRoles. A 2.1.1 peer's flat object becomes one role, inferred
    (README, "Decisions"): the peer is EMSP if we are CPO, CPO if we are EMSP; if we are
    both, CPO when its endpoint URLs say `/cpo/` (2.1.1 details have no roles), else EMSP."""
    if isinstance(theirs, Credentials):
        return msgspec.to_builtins(theirs.roles)
    if set(our_roles) == {"CPO"}:
        role = "EMSP"
    elif set(our_roles) == {"EMSP"}:
        role = "CPO"
    else:
        role = "CPO" if any("/cpo/" in e["url"].lower() for e in api.endpoints) else "EMSP"
    return [{"role": role, "business_details": msgspec.to_builtins(theirs.business_details),
             "party_id": theirs.party_id, "country_code": theirs.country_code}]


def peer_label(roles: list[dict]) -> str:
    return roles[0]["business_details"]["name"] if roles else "peer"


class Handshake:
    """The server side of the credentials module for one of our versions."""

    def __init__(self, store: Store, config: Config, client: OcpiClient,
                 clock: Callable[[], datetime], version: str):
        self.store = store
        self.config = config
        self.client = client
        self.clock = clock
        self.version = version

    def check_allowed(self, caller: Caller, method: str) -> None:
        """405 rules: POST only with a registration token of an invited party; PUT and DELETE
        only by a registered party."""
        peer = caller.peer
        if method == "POST":
            if caller.token_kind != REGISTRATION_ONLY or peer.state != "INVITED":
                raise MethodNotAllowed("Already registered: use PUT to update the credentials")
        elif caller.token_kind == REGISTRATION_ONLY or peer.state != "REGISTERED":
            raise MethodNotAllowed("Not registered: POST the credentials first")

    def register(self, caller: Caller, theirs: Credentials | Credentials211):
        """POST: on success token A is revoked and token C issued; on any failure nothing is
        stored and token A stays usable for a retry."""
        return self._exchange(caller, theirs, from_state="INVITED")

    def update(self, caller: Caller, theirs: Credentials | Credentials211):
        """PUT: the caller's current token keeps working until this exchange has succeeded."""
        return self._exchange(caller, theirs, from_state="REGISTERED")

    def unregister(self, caller: Caller) -> None:
        self.store.parties.unregister(caller.peer.id, self._now())

    def _exchange(self, caller: Caller, theirs: Credentials | Credentials211, from_state: str):
        # The version is the one of the endpoint POSTed to: the peer must offer it too.
        api = discover(self.client, theirs.url, theirs.token, self.version)
        # After discovery: a 2.1.1 peer's role is inferred from its endpoints.
        roles = peer_roles(theirs, self.config.party.roles, api)
        taken = self.store.parties.registered_with_roles(roles, other_than=caller.peer.id)
        if taken is not None:
            raise MethodNotAllowed(
                f"A party with these roles is already registered ({'/'.join(taken.codes[0])});"
                " it must use PUT with its own token"
            )
        check_endpoints(self.config.party.roles, roles, api)
        token = new_token()
        connection = Connection(
            version=api.version, versions_url=theirs.url, roles=roles, endpoints=api.endpoints,
            token_out=theirs.token, token_out_base64=api.use_base64,
        )
        saved = self.store.parties.save_connection(
            caller.peer.id, connection, from_states=(from_state,), keep_token=token,
            issue_token=True, now=self._now(),
        )
        if not saved:  # a concurrent POST/PUT/DELETE for the same party finished first
            raise MethodNotAllowed("The registration changed while this request ran")
        return our_credentials(self.config, token, self.version)

    def _now(self) -> str:
        return format_datetime(self.clock())
