"""The ``ocpi-lite`` command (also ``python -m ocpi_lite``).

Every sub-command takes ``--config PATH``; exit 0 on success, otherwise a one-line reason on
stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .config import DEFAULT_FILENAME, ConfigError, load
from .models.common import format_datetime
from .registration import new_token  # also used by tests: one way to mint tokens
from .transport.envelope import utc_now
from .urls import Urls


class CliError(Exception):
    """A failure to report in one line; exits 1."""


def open_store(args):
    from .store import Store

    config = load(args.config)
    return config, Store(config.server.database)


# -- commands ----------------------------------------------------------------------------------


def cmd_init(args) -> int:
    path = Path(args.config or DEFAULT_FILENAME)
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; use --force to overwrite it")
    template = resources.files("ocpi_lite").joinpath("config_template.toml").read_text()
    path.write_text(template)
    config, store = open_store(argparse.Namespace(config=str(path)))
    store.close()
    print(f"wrote {path}")
    print(f"database {config.server.database} ready")
    return 0


def cmd_token_create(args) -> int:
    config, store = open_store(args)
    token = new_token()
    store.parties.create_invitation(args.name, token, format_datetime(utc_now()))
    store.close()
    # The only time the token is ever shown: we keep its digest, not the token.
    print(f"token: {token}")
    print(f"versions_url: {Urls(config.public_url).versions()}")
    return 0


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a sub-command's own --config must not reset one given before the sub-command.
    common.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS,
        help="config file (default: $OCPI_LITE_CONFIG, else ./ocpi_lite.toml, else built-in defaults)",
    )
    parser = argparse.ArgumentParser(
        prog="ocpi-lite", parents=[common],
        description="ocpi_lite: OCPI 2.2.1 versions, credentials and CDRs from one SQLite file.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", parents=[common],
                               help="write a commented config file and create the database")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")
    init.set_defaults(func=cmd_init)

    token = commands.add_parser("token", help="registration tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser(
        "create", parents=[common],
        help="print a new one-time registration token (CREDENTIALS_TOKEN_A) and our versions URL",
    )
    create.add_argument("--name", required=True, help="a label for the party the token is for")
    create.set_defaults(func=cmd_token_create)

    from . import cli_cdrs, cli_outbox, cli_peers

    cli_peers.add_commands(commands, common)
    cli_outbox.add_commands(commands, common)
    cli_cdrs.add_commands(commands, common)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    try:
        return args.func(args)
    except (ConfigError, CliError) as exc:
        print(f"ocpi-lite: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
