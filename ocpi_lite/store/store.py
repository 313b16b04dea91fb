"""The one object the app, the CLI and the pusher hold: the database and its tables."""

from __future__ import annotations

from pathlib import Path

from .db import Database
from .parties import Parties


class Store:
    def __init__(self, path: str | Path):
        self.db = Database(path)
        self.parties = Parties(self.db)

    def close(self) -> None:
        self.db.close()
