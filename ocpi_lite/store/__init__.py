"""Storage: one SQLite file, explicit SQL. Nothing here imports falcon."""

from .db import Database
from .store import Store

__all__ = ["Database", "Store"]
