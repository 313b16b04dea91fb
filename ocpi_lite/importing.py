"""`ocpi-lite cdrs import`: read CDRs from a JSON array or JSON lines, record the valid ones in
batched transactions, and report each invalid one with the line it starts on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

from .recording import RecordError, decode_cdr, store_in

BATCH_SIZE = 500  # one transaction per batch: 10k CDRs in seconds, not one fsync per CDR
PROGRESS_EVERY = 1000


@dataclass
class ImportSummary:
    imported: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)

    @property
    def seen(self) -> int:
        return self.imported + self.unchanged + self.failed

    def line(self) -> str:
        return f"imported {self.imported}, unchanged {self.unchanged}, failed {self.failed}"


def iter_records(text: str) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(line, raw JSON of one record, None) or (line, None, error) for each record.

    A JSON array is split element by element (each one's line is where it starts); a file
    holding one JSON object (e.g. a pretty-printed CDR) is one record; anything else is JSON
    lines, one record per non-blank line. Broken JSON inside an array cannot be
    resynchronised: it is reported once and the rest of the file is not read.
    """
    start = len(text) - len(text.lstrip())
    if text.startswith("[", start):
        yield from _array_records(text, start + 1)
        return
    if text.startswith("{", start) and _is_one_object(text, start):
        yield text.count("\n", 0, start) + 1, text[start:].rstrip().encode(), None
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.encode(), None


def _array_records(text: str, position: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    decoder = json.JSONDecoder()
    line, counted_to = 1, 0

    def line_at(index: int) -> int:
        nonlocal line, counted_to  # count newlines incrementally: O(file), not O(file²)
        line += text.count("\n", counted_to, index)
        counted_to = index
        return line

    position = _skip_space(text, position)
    if text.startswith("]", position):
        return
    while True:
        try:
            _, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield line_at(exc.pos), None, f"not valid JSON ({exc.msg}); the rest of the file is not read"
            return
        yield line_at(position), text[position:end].encode(), None
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif text.startswith("]", position):
            return
        else:
            yield line_at(position), None, "expected ',' or ']' in the JSON array; the rest of the file is not read"
            return


def _is_one_object(text: str, start: int) -> bool:
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return False  # JSON lines with a broken first line, or broken JSON: line by line
    return not text[end:].strip()


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def import_cdrs(store, text: str, clock: Callable[[], datetime],
                progress: Callable[[ImportSummary], None] | None = None) -> ImportSummary:
    """Record every valid CDR of `text`; invalid ones are counted and listed, not fatal."""
    summary = ImportSummary()
    batch: list[tuple[int, object]] = []

    def flush() -> None:
        if not batch:
            return
        now = clock()
        with store.db.transaction() as tx:
            for number, cdr in batch:
                try:
                    if store_in(tx, store, cdr, now):
                        summary.imported += 1
                    else:
                        summary.unchanged += 1
                except RecordError as exc:  # a conflict: raised before anything is written
                    summary.failed += 1
                    summary.errors.append((number, str(exc)))
        batch.clear()

    for number, raw, error in iter_records(text):
        if error is None:
            try:
                batch.append((number, decode_cdr(raw)))
            except RecordError as exc:
                error = str(exc)
        if error is not None:
            summary.failed += 1
            summary.errors.append((number, error))
        if len(batch) >= BATCH_SIZE:
            flush()
        if progress and (summary.seen + len(batch)) % PROGRESS_EVERY == 0:
            flush()
            progress(summary)
    flush()
    summary.errors.sort()
    return summary
