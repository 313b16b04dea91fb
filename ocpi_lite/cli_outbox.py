"""`ocpi-lite outbox [--failed]` and `ocpi-lite outbox retry (ID… | --all)`: what the pusher
has delivered, what waits, what is parked, and re-queuing parked rows."""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

from .cli import CliError, open_store
from .models.common import format_datetime


def cmd_outbox(args) -> int:
    config, store = open_store(args)
    counts = store.outbox.counts()
    pending = counts["READY"] + counts["LOCKED"]
    print(f"pending {pending} (sending {counts['LOCKED']}), failed {counts['FAILED']}, "
          f"delivered {counts['DONE']}, cancelled {counts['CANCELLED']}")
    states = ("FAILED",) if args.failed else ("READY", "LOCKED", "FAILED")
    rows = store.outbox.rows(states, limit=args.limit)
    for row in rows:
        when = format_datetime(datetime.fromtimestamp(row.next_attempt_at, timezone.utc))
        line = f"{row.id}  {row.state:<6}  peer {row.peer} ({row.peer_label})  CDR {row.cdr_key}" \
               f"  attempts {row.attempts}"
        if row.state == "READY":
            line += f"  next {when}"
        if row.last_error:
            line += f"  last error: {row.last_error}"
        print(line)
    shown = sum(counts[s] for s in states)
    if shown > len(rows):
        print(f"... {shown - len(rows)} more (use --limit)")
    store.close()
    return 0


def cmd_outbox_retry(args) -> int:
    if not args.all and not args.ids:
        raise CliError("give the ids of failed rows to retry, or --all")
    config, store = open_store(args)
    requeued = store.outbox.retry(None if args.all else args.ids, time.time())
    store.close()
    if not args.all and requeued < len(args.ids):
        raise CliError(f"re-queued {requeued} of {len(args.ids)}: the others are not failed rows")
    print(f"re-queued {requeued}")
    return 0


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    outbox = commands.add_parser(
        "outbox", parents=[common],
        help="show pending, failed and delivered pushes; `retry` re-queues failed ones",
    )
    outbox.add_argument("--failed", action="store_true", help="list only failed (parked) rows")
    outbox.add_argument("--limit", type=int, default=100, help="rows to list (default 100)")
    outbox.set_defaults(func=cmd_outbox)
    actions = outbox.add_subparsers(dest="outbox_command", metavar="ACTION")
    retry = actions.add_parser("retry", parents=[common], help="re-queue failed rows")
    retry.add_argument("ids", metavar="ID", type=int, nargs="*", help="outbox row ids")
    retry.add_argument("--all", action="store_true", help="re-queue every failed row")
    retry.set_defaults(func=cmd_outbox_retry)
