"""The SQLite file: connections (one per thread), pragmas, the transaction helper, migrations."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import schema

BUSY_TIMEOUT_MS = 10_000


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (a no-op once it is). When several processes open a new file at
    once, SQLite can answer "database is locked" here without waiting on busy_timeout (seen with
    two gunicorn workers booting together), so this one statement is retried until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _acquire_file_lock(fd: int | None) -> int | None:
    """Wait for this thread's exclusive flock on `fd` and return it (None: no file, no lock).

    A blocking wait, woken by the kernel the moment the holder lets go. Polling it (sleeps of
    0.1 ms and up, several times a transaction's length) cost a tenth of the Receiver's POST
    rate. The lock is held only inside a transaction, which never waits on the network, and
    the kernel drops it when its holder dies. A holder stopped mid-transaction (SIGSTOP, a
    debugger) holds up the other writers until it resumes or is killed, as it would hold
    SQLite's own write lock (gunicorn's worker timeout replaces a worker stuck that long)."""
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


# Connections (and lock files) a forked child inherited: referenced for the child's life so
# that they are never closed there. Close connections before forking to have none.
_INHERITED: list = []


class Database:
    """One SQLite file shared by every thread and process of an instance.

    Opening a connection costs about as much as a whole POST, so each thread keeps its own
    (sqlite3 connections must not be shared across threads). WAL lets readers run beside the
    single writer; ``synchronous=NORMAL`` keeps commits durable across process crashes
    (a power loss may drop the last transactions, which the README states).
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock_fds: list[int] = []
        self._lock = threading.Lock()
        if self.path != ":memory:":
            parent = Path(self.path).parent
            parent.mkdir(parents=True, exist_ok=True)
        schema.migrate(self.connection(), self.transaction)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; writes go through transaction().
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        # 1 MiB of page cache per connection, half SQLite's default: index interior pages and a
        # page being served fit; the default was most of what a worker grew by over a long walk.
        conn.execute("PRAGMA cache_size = -1024")
        conn.execute("PRAGMA foreign_keys = ON")
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception.

        IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead
        of failing later with SQLITE_BUSY on lock upgrade. Nested use joins the outer one.
        """
        conn = self.connection()
        if conn.in_transaction:
            yield conn
            return
        # Writers queue on a file lock first, each woken as the one before it finishes, where
        # SQLite's busy handler sleeps 1 ms, then 2, 5, 10… (under 8 concurrent POSTs, 2
        # workers spent a quarter of their time asleep in BEGIN). It only orders writers:
        # SQLite's own lock still guards the data.
        lock = _acquire_file_lock(self._writer_lock())
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
        finally:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _writer_lock(self) -> int | None:
        """This thread's descriptor of `<database>.lock` (each thread its own open file, so
        threads of one process also queue on it); None for an in-memory database."""
        if self.path == ":memory:":
            return None
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._local.lock_fd = fd
            with self._lock:
                self._lock_fds.append(fd)
        return fd

    def after_fork(self) -> None:
        """In a forked child: set aside, unused and never closed, any connection inherited from
        the parent (SQLite forbids using one across fork, and closing it in the child could
        release the child's own locks); threads of the child open their own."""
        _INHERITED.append((self._local, self._all, self._lock_fds))
        self._local = threading.local()
        self._all = []
        self._lock_fds = []  # the parent's stay open in it: they share its file locks
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            lock_fds, self._lock_fds = self._lock_fds, []
        for fd in lock_fds:
            os.close(fd)
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:
                pass  # closed from another thread's perspective; nothing to release
        self._local = threading.local()
