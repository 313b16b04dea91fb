"""Our side of the credentials handshake as the initiating party: register (POST), update
(PUT) and unregister (DELETE) with a peer. Used by ``ocpi-lite register`` and ``ocpi-lite peers``.

Every failure is a ``ConnectError`` whose message says what went wrong in words a user can act
on, without any token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from urllib.parse import urlsplit

from .config import Config
from .models.common import format_datetime
from .push.client import ClientError, HttpStatusError, OcpiClient, OcpiStatusError, Unreachable
from .registration import (
    PeerApi,
    check_credentials_endpoint,
    check_endpoints,
    discover,
    new_token,
    our_credentials,
    peer_label,
    peer_roles,
)
from .store import Store
from .store.parties import Connection, Peer
from .transport.errors import NoMatchingEndpoints, UnableToUseClientApi, UnsupportedVersion
from .urls import Urls

# What a peer's 3xxx answer to our POST/PUT means for the user.
_PEER_CODES = {
    3001: "the peer could not use our API (3001): it must be able to reach our versions URL {ours}",
    3002: "the peer found no mutual version (3002)",
    3003: "the peer found endpoints it needs missing in our details (3003)",
}


class ConnectError(Exception):
    """A failed registration, update or unregistration, in one line."""


class Connector:
    def __init__(self, store: Store, config: Config, client: OcpiClient,
                 clock: Callable[[], datetime]):
        self.store = store
        self.config = config
        self.client = client
        self.clock = clock

    def register(self, versions_url: str, token_a: str) -> Peer:
        """GET the peer's versions and details with token A, POST our credentials with a new
        token B, store the token C and endpoints the peer answers with."""
        api = self._discover(versions_url, token_a)
        credentials_url = self._credentials_url(api)
        token_b = new_token()
        # Committed before the POST: the peer calls our versions and details with token B
        # while it handles the POST, and our server runs in another process.
        party = self.store.parties.start_registering(
            urlsplit(versions_url).netloc or versions_url, versions_url, token_b, self._now())
        try:
            theirs = self._send_credentials("POST", credentials_url, token_a, api, token_b)
            self._save(party, api, theirs, token_b, from_state="REGISTERING")
        except BaseException:
            self.store.parties.discard_registering(party)
            raise
        return self.store.parties.get(party)

    def update(self, peer: Peer) -> Peer:
        """PUT: new token B out, new token C back; our old token B keeps working until the
        exchange has succeeded, and the peer's old token C until the peer says so."""
        self._require_registered(peer)
        api = self._discover(peer.versions_url, peer.token_out, peer.version)
        credentials_url = self._credentials_url(api)
        token_b = new_token()
        self.store.parties.add_pending_token(peer.id, token_b, self._now())
        try:
            theirs = self._send_credentials("PUT", credentials_url, peer.token_out, api, token_b)
            self._save(peer.id, api, theirs, token_b, from_state="REGISTERED")
        except BaseException:
            self.store.parties.drop_token(token_b)
            raise
        return self.store.parties.get(peer.id)

    def unregister(self, peer: Peer, *, force: bool = False) -> None:
        """DELETE at the peer, then here. With `force`, unregister here even when the peer
        cannot be told."""
        self._require_registered(peer)
        url = peer.endpoint("credentials")
        try:
            if url is None:
                raise ConnectError("the peer's endpoints list no credentials module")
            try:
                self.client.delete_credentials(url, peer.token_out, peer.token_out_base64)
            except ClientError as exc:
                raise ConnectError(f"the peer did not accept our DELETE: {exc}") from None
        except ConnectError:
            if not force:
                raise
        self.store.parties.unregister(peer.id, self._now())

    # -- steps -----------------------------------------------------------------------------

    def _discover(self, versions_url: str, token: str, version: str | None = None) -> PeerApi:
        try:
            return discover(self.client, versions_url, token, version, self.config.server.versions)
        except UnableToUseClientApi as exc:
            raise ConnectError(_explain_fetch(exc)) from None
        except UnsupportedVersion as exc:
            raise ConnectError(f"{exc.message} (configured: [server] versions ="
                               f" {', '.join(self.config.server.versions)})") from None

    def _credentials_url(self, api: PeerApi) -> str:
        # The spec: a Sender that cannot find the endpoints it expects does not POST.
        try:
            return check_credentials_endpoint(api)
        except NoMatchingEndpoints as exc:
            raise ConnectError(exc.message) from None

    def _send_credentials(self, method: str, url: str, token: str, api: PeerApi,
                          token_b: str):
        ours = our_credentials(self.config, token_b, api.version)
        send = self.client.post_credentials if method == "POST" else self.client.put_credentials
        try:
            return send(url, token, api.use_base64, ours)
        except OcpiStatusError as exc:
            template = _PEER_CODES.get(exc.status_code)
            said = exc.envelope.status_message or "no message"
            if template is None:
                raise ConnectError(f"{exc}") from None
            ours_url = Urls(self.config.public_url).versions()
            raise ConnectError(f"{template.format(ours=ours_url)}; the peer said: {said}") from None
        except HttpStatusError as exc:
            if exc.status == 405 and method == "POST":
                raise ConnectError(
                    "the peer says we are registered with it already (HTTP 405); use"
                    " `ocpi-lite peers update` to renew the credentials") from None
            if exc.status == 405:
                raise ConnectError("the peer says we are not registered with it (HTTP 405)") from None
            if exc.status == 401:
                raise ConnectError(f"the peer refused the token (HTTP 401) on {method} {url}") from None
            raise ConnectError(str(exc)) from None
        except Unreachable as exc:
            raise ConnectError(f"the peer did not answer: {exc}") from None
        except ClientError as exc:
            raise ConnectError(f"the peer's answer is not usable: {exc}") from None

    def _save(self, party: int, api: PeerApi, theirs, token_b: str, from_state: str) -> None:
        roles = peer_roles(theirs, self.config.party.roles, api)
        try:
            check_endpoints(self.config.party.roles, roles, api)
        except NoMatchingEndpoints as exc:
            # The peer registered us already: tell it to forget us before giving up.
            try:
                self.client.delete_credentials(api.endpoint("credentials"), theirs.token,
                                               api.use_base64)
            except ClientError:
                pass  # the failure we report matters more than this clean-up's
            raise ConnectError(exc.message) from None
        connection = Connection(
            version=api.version, versions_url=api.versions_url, roles=roles,
            endpoints=api.endpoints, token_out=theirs.token, token_out_base64=api.use_base64,
            label=peer_label(roles),
        )
        if not self.store.parties.save_connection(party, connection, from_states=(from_state,),
                                                  keep_token=token_b, issue_token=False,
                                                  now=self._now()):
            raise ConnectError("the peer's state changed here while the exchange ran; try again")

    @staticmethod
    def _require_registered(peer: Peer) -> None:
        if peer.state != "REGISTERED" or not peer.token_out:
            raise ConnectError(f"peer {peer.id} is {peer.state}, not REGISTERED")

    def _now(self) -> str:
        return format_datetime(self.clock())


def _explain_fetch(exc: UnableToUseClientApi) -> str:
    cause = exc.__cause__
    if isinstance(cause, Unreachable):
        return f"the peer is unreachable: {exc.message}"
    if isinstance(cause, HttpStatusError) and cause.status == 401:
        return f"the peer refused the token (HTTP 401): {exc.message}"
    return f"the peer's versions or details cannot be used: {exc.message}"
