"""`ocpi-lite cdrs import FILE|-` and `ocpi-lite cdrs credit CDR_ID`: recording our CDRs from
the command line. Recorded CDRs are queued for push; a running server's pusher sends them."""

from __future__ import annotations

import argparse
import sys

from .cli import CliError, open_store
from .importing import ImportSummary, import_cdrs
from .recording import RecordError, credit_cdr
from .transport.envelope import utc_now


def cmd_cdrs_import(args) -> int:
    text = _read_input(args.file)
    _, store = open_store(args)
    try:
        summary = import_cdrs(store, text, utc_now, progress=_progress)
    finally:
        store.close()
    for line, message in summary.errors:
        print(f"line {line}: {message}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failed else 0


def cmd_cdrs_credit(args) -> int:
    _, store = open_store(args)
    try:
        credit = credit_cdr(store, args.cdr_id, utc_now())
    except RecordError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    print(f"recorded credit CDR {credit.country_code}/{credit.party_id}/{credit.id}"
          f" (total_cost {credit.total_cost.excl_vat} excl. VAT)")
    return 0


def _read_input(name: str) -> str:
    try:
        data = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()
    except OSError as exc:
        raise CliError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")  # tolerate a BOM from editors that add one
    except UnicodeDecodeError as exc:
        raise CliError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def _progress(summary: ImportSummary) -> None:
    print(f"... {summary.seen} records: {summary.line()}", file=sys.stderr, flush=True)


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    cdrs = commands.add_parser("cdrs", help="record our CDRs (as CPO)")
    actions = cdrs.add_subparsers(dest="cdrs_command", metavar="ACTION", required=True)
    imports = actions.add_parser(
        "import", parents=[common],
        help="validate and record CDRs from a JSON array or JSON lines; queue their push",
    )
    imports.add_argument("file", metavar="FILE", help="the file to read, or - for stdin")
    imports.set_defaults(func=cmd_cdrs_import)
    credit = actions.add_parser(
        "credit", parents=[common],
        help="record the credit CDR (id CDR_ID-C, negated total_cost) of a recorded CDR",
    )
    credit.add_argument("cdr_id", metavar="CDR_ID",
                        help="the recorded CDR's id, or CC/PID/ID when several parties use that id")
    credit.set_defaults(func=cmd_cdrs_credit)
