"""`ocpi-lite register` and `ocpi-lite peers [update|delete]`: the credentials handshake from
the command line. Listings show token fingerprints, never tokens."""

from __future__ import annotations

import argparse

from .cli import CliError, open_store
from .connect import ConnectError, Connector
from .push.client import OcpiClient
from .push.http import RequestsSend
from .store.parties import Peer
from .transport.envelope import utc_now


def connector(args) -> Connector:
    config, store = open_store(args)
    party = (config.party.country_code, config.party.party_id)
    return Connector(store, config, OcpiClient(RequestsSend(), party, config.push.timeout), utc_now)


def cmd_register(args) -> int:
    connect = connector(args)
    try:
        peer = connect.register(args.versions_url, args.token)
    except ConnectError as exc:
        raise CliError(f"registration failed: {exc}") from None
    finally:
        connect.store.close()
    print(f"registered with {describe_roles(peer)} as peer {peer.id}, OCPI {peer.version}")
    print_peer(peer, connect.store)
    return 0


def cmd_peers(args) -> int:
    config, store = open_store(args)
    peers = store.parties.all()
    if not peers:
        print("no peers")
    for peer in peers:
        print_peer(peer, store)
    store.close()
    return 0


def cmd_peers_update(args) -> int:
    connect = connector(args)
    try:
        peer = connect.update(find_peer(connect, args.peer))
    except ConnectError as exc:
        raise CliError(f"update failed: {exc}") from None
    finally:
        connect.store.close()
    print(f"credentials renewed with peer {peer.id} ({describe_roles(peer)})")
    return 0


def cmd_peers_delete(args) -> int:
    connect = connector(args)
    try:
        peer = find_peer(connect, args.peer)
        connect.unregister(peer, force=args.force)
    except ConnectError as exc:
        raise CliError(f"unregistration failed: {exc} (--force unregisters here anyway)") from None
    finally:
        connect.store.close()
    print(f"unregistered peer {peer.id} ({describe_roles(peer)})")
    return 0


def find_peer(connect: Connector, reference: str) -> Peer:
    peer = connect.store.parties.find(reference)
    if peer is None:
        raise CliError(f"no peer {reference!r}: give its id or CC/PID (see `ocpi-lite peers`)")
    return peer


def describe_roles(peer: Peer) -> str:
    roles = [f"{r['country_code']}/{r['party_id']}/{r['role']}" for r in peer.roles]
    return ", ".join(roles) or "no roles yet"


def print_peer(peer: Peer, store) -> None:
    print(f"{peer.id}  {peer.label}  {peer.state}  {peer.version or '-'}")
    print(f"    roles: {describe_roles(peer)}")
    if peer.versions_url:
        print(f"    versions: {peer.versions_url}")
    for endpoint in peer.endpoints:
        print(f"    endpoint: {endpoint['identifier']} {endpoint.get('role', '-')} {endpoint['url']}")
    for token in store.parties.tokens(peer.id):
        status = f"revoked {token.revoked_at}" if token.revoked_at else "valid"
        print(f"    token in: {token.fingerprint} ({token.kind}, {status})")
    if peer.token_out:
        form = "Base64" if peer.token_out_base64 else "raw"
        print(f"    token out: set ({form} header)")
    print(f"    outbox backlog: {store.outbox.backlog(peer.id)}")


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    register = commands.add_parser(
        "register", parents=[common],
        help="register with a peer as the initiating party (the credentials handshake)",
    )
    register.add_argument("versions_url", metavar="VERSIONS_URL", help="the peer's versions URL")
    register.add_argument("token", metavar="TOKEN",
                          help="the registration token (CREDENTIALS_TOKEN_A) the peer gave you")
    register.set_defaults(func=cmd_register)

    peers = commands.add_parser("peers", parents=[common],
                                help="list peers; update or delete a registration")
    peers.set_defaults(func=cmd_peers)
    actions = peers.add_subparsers(dest="peers_command", metavar="ACTION")
    reference = "the peer's id or CC/PID (e.g. NL/LIT)"
    update = actions.add_parser("update", parents=[common],
                                help="renew the credentials with a peer (our PUT, new tokens)")
    update.add_argument("peer", metavar="PEER", help=reference)
    update.set_defaults(func=cmd_peers_update)
    delete = actions.add_parser("delete", parents=[common],
                                help="unregister from a peer (our DELETE) and here")
    delete.add_argument("peer", metavar="PEER", help=reference)
    delete.add_argument("--force", action="store_true",
                        help="unregister here even when the peer cannot be told")
    delete.set_defaults(func=cmd_peers_delete)
