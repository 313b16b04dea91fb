"""The WSGI app: ``create_app(config, store=…)`` takes its dependencies; ``get_app()`` builds
them from the configuration for gunicorn (``gunicorn "ocpi_lite.app:get_app()"``)."""

from __future__ import annotations

import atexit
import os
import sys
from datetime import datetime
from typing import Callable

import falcon

from .config import Config
from .push.client import OcpiClient
from .push.http import RequestsSend, Send
from .resources.credentials import CredentialsResource
from .resources.cdrs_receiver import CdrsReceiverResource, ReceivedCdrResource
from .resources.cdrs_receiver_211 import CdrsReceiver211Resource, ReceivedCdr211Resource
from .resources.cdrs_sender import CdrsSenderResource
from .resources.versions import VersionDetailsResource, VersionsResource
from .store import Store
from .transport.auth import AuthMiddleware
from .transport.envelope import JSON, install_error_handlers, utc_now
from .transport.headers import HeadersMiddleware
from .urls import V211, V221, Urls


def create_app(
    config: Config,
    *,
    store: Store,
    clock: Callable[[], datetime] = utc_now,
    send: Send | None = None,
) -> falcon.App:
    urls = Urls(config.public_url)
    send = send or RequestsSend()
    app = falcon.App(
        media_type=JSON,
        middleware=[
            HeadersMiddleware(clock, config.server.max_body_bytes,
                              (config.party.country_code, config.party.party_id)),
            AuthMiddleware(store.parties),
        ],
    )
    # The spec's own examples end URLs with "/"; serve both forms.
    app.req_options.strip_url_path_trailing_slash = True
    install_error_handlers(app, clock)

    client = OcpiClient(send, (config.party.country_code, config.party.party_id), config.push.timeout)
    # Only the configured versions are listed and routed, the preferred (2.2.1) first.
    served = [v for v in (V221, V211) if v in config.server.versions]
    for version in served:
        endpoints = _add_version_routes(app, version, config, store, clock, client)
        app.add_route(urls.route(urls.details(version)),
                      VersionDetailsResource(version, endpoints, clock))
    versions = [{"version": v, "url": urls.details(v)} for v in served]
    app.add_route(urls.route(urls.versions()), VersionsResource(versions, clock))
    return app


def _add_version_routes(app: falcon.App, version: str, config: Config, store: Store, clock,
                        client: OcpiClient) -> list[dict]:
    """Route one version's modules (only those of the configured roles); return its endpoints.

    2.1.1 endpoints have no `role`: a party's details are its own interface, so `cdrs` is
    listed once, the CPO's Sender if we are a CPO (also when we are both: 2.1.1 cannot
    express two `cdrs` interfaces), else the eMSP's Receiver. Both are routed."""
    urls = Urls(config.public_url)
    roles = set(config.party.roles)
    party = (config.party.country_code, config.party.party_id)
    endpoints: list[dict] = [
        {"identifier": "credentials", "role": "SENDER", "url": urls.credentials(version)},
    ]
    if "CPO" in roles:
        endpoints.append({"identifier": "cdrs", "role": "SENDER", "url": urls.cdrs_sender(version)})
        sender = CdrsSenderResource(store, urls.cdrs_sender(version), config.server.page_limit,
                                    clock, party, version)
        app.add_route(urls.route(urls.cdrs_sender(version)), sender)
        app.add_route(urls.route(urls.cdrs_sender(version)) + "/{cdr_id:path}", sender, suffix="one")
    if "EMSP" in roles:
        endpoints.append({"identifier": "cdrs", "role": "RECEIVER", "url": urls.cdrs_receiver(version)})
        receiver = urls.route(urls.cdrs_receiver(version))
        if version == V211:
            post = CdrsReceiver211Resource(store, urls, clock, config.server.max_body_bytes, party)
            get = ReceivedCdr211Resource(store, clock)
        else:
            post = CdrsReceiverResource(store, urls, clock, config.server.max_body_bytes)
            get = ReceivedCdrResource(store, clock)
        app.add_route(receiver, post)
        # `path`: a CDR id may hold a "/" (CiString); the Location quotes it, the path decodes it.
        app.add_route(receiver + "/{country_code}/{party_id}/{cdr_id:path}", get)
    app.add_route(urls.route(urls.credentials(version)),
                  CredentialsResource(store, config, clock, client, version))
    if version == V211:
        endpoints = [{"identifier": e["identifier"], "url": e["url"]} for e in endpoints]
        if "CPO" in roles and "EMSP" in roles:
            endpoints.pop()  # the Receiver: see above
    return endpoints


def get_app() -> falcon.App:
    """For gunicorn: config from OCPI_LITE_CONFIG, ./ocpi_lite.toml or the embedded defaults."""
    from . import OcpiLite
    from .config import ConfigError

    try:
        ocpi = OcpiLite.from_config()
    except ConfigError as exc:
        # One line naming the file and key, not a traceback; exit code 3 is gunicorn's
        # "worker failed to boot", which stops the master instead of respawning forever.
        print(f"ocpi-lite: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(3) from None
    ocpi.start()
    atexit.register(ocpi.stop)  # a worker's graceful exit finishes the delivery in flight
    # Under --preload this runs in the gunicorn master: before each fork the master stops its
    # pusher and closes its connections (none may cross a fork), and every worker starts a
    # pusher of its own.
    os.register_at_fork(before=ocpi.before_fork, after_in_child=ocpi.after_fork_in_child)
    return ocpi.app
