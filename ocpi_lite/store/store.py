"""The one object the app, the CLI and the pusher hold: the database and its tables."""

from __future__ import annotations

from pathlib import Path

from .cdrs import Cdrs
from .db import Database
from .outbox import Outbox
from .parties import Parties


class Store:
    def __init__(self, path: str | Path):
        self.db = Database(path)
        self.parties = Parties(self.db)
        self.cdrs = Cdrs(self.db)
        self.outbox = Outbox(self.db)

    def close(self) -> None:
        self.db.close()
