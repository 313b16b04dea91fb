"""Credentials module, server side (credentials.asciidoc): GET, POST, PUT, DELETE.

A configuration module: no routing headers. The handshake itself is in ``registration.py``.
"""

from __future__ import annotations

import msgspec

from ..models.credentials import Credentials, Credentials211
from ..registration import Handshake, our_credentials
from ..transport.auth import OPEN_TO_REGISTRATION
from ..transport.body import decode_body, read_body
from ..transport.envelope import respond
from ..urls import V211, V221

# The credentials object of each version: 2.1.1's is flat (no roles).
_decoders = {V221: msgspec.json.Decoder(Credentials), V211: msgspec.json.Decoder(Credentials211)}


class CredentialsResource:
    auth = OPEN_TO_REGISTRATION  # token A may register; the 405 rules are the handshake's

    def __init__(self, store, config, clock, client, version: str = V221):
        self.config = config
        self.clock = clock
        self.max_body_bytes = config.server.max_body_bytes
        self.version = version
        self.decoder = _decoders[version]
        self.handshake = Handshake(store, config, client, clock, version)

    def on_get(self, req, resp):
        # The token the caller used: we store only digests, so it comes from the request.
        respond(resp, self.clock, our_credentials(self.config, req.context.token, self.version))

    def on_post(self, req, resp):
        caller = req.context.caller
        self.handshake.check_allowed(caller, "POST")
        theirs = decode_body(read_body(req, self.max_body_bytes), self.decoder)
        respond(resp, self.clock, self.handshake.register(caller, theirs))

    def on_put(self, req, resp):
        caller = req.context.caller
        self.handshake.check_allowed(caller, "PUT")
        theirs = decode_body(read_body(req, self.max_body_bytes), self.decoder)
        respond(resp, self.clock, self.handshake.update(caller, theirs))

    def on_delete(self, req, resp):
        caller = req.context.caller
        self.handshake.check_allowed(caller, "DELETE")
        self.handshake.unregister(caller)
        respond(resp, self.clock)  # HTTP 200, status 1000, no data: the spec fixes no body
