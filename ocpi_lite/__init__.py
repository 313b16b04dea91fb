"""ocpi_lite: a small, fast, embeddable OCPI 2.2.1 server (versions, credentials, CDRs)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Callable

from .config import Config, ConfigError, load

__version__ = "0.1.0"

__all__ = ["OcpiLite", "Config", "ConfigError", "__version__"]


class OcpiLite:
    """The integrator's object: one store, the WSGI app to mount, and the background pusher.

    >>> ocpi = OcpiLite.from_config("ocpi_lite.toml")
    >>> ocpi.app  # the falcon WSGI app
    >>> ocpi.start()  # push queued CDRs in a background thread; ocpi.stop() to end it
    """

    def __init__(self, config: Config | None = None, *, store=None,
                 clock: Callable[[], datetime] | None = None, send=None):
        from .push.http import RequestsSend
        from .store import Store
        from .transport.envelope import utc_now

        self.config = config or load()
        self.store = store or Store(self.config.server.database)
        self.clock = clock or utc_now
        self.send = send or RequestsSend()
        self._app = None
        self._pusher_thread = None

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, **kwargs) -> "OcpiLite":
        return cls(load(path), **kwargs)

    @property
    def app(self):
        if self._app is None:
            from .app import create_app

            self._app = create_app(self.config, store=self.store, clock=self.clock, send=self.send)
        return self._app

    # -- recording our CDRs (as CPO) ------------------------------------------------------------

    def record_cdr(self, cdr):
        """Validate and store a CDR (dict, JSON bytes/str or ``models.cdrs.Cdr``) and queue its
        push, in one transaction; returns the stored ``Cdr``. Recording the identical CDR again
        is a no-op; the same country_code/party_id/id with other content raises
        ``ocpi_lite.recording.RecordError`` (so does an invalid CDR, naming the field)."""
        from .recording import record

        recorded = record(self.store, cdr, self.clock())
        if recorded.created:
            self.wake_pusher()
        return recorded.cdr

    def credit_cdr(self, cdr_id: str):
        """Record and queue the credit CDR (id ``ID-C``, negated ``total_cost``) of a recorded CDR.
        ``cdr_id`` is its id, or ``CC/PID/ID`` when several recorded CDRs share the id.
        Crediting a credit CDR or crediting twice raises ``RecordError``."""
        from .recording import credit_cdr

        credit = credit_cdr(self.store, cdr_id, self.clock())
        self.wake_pusher()
        return credit

    # -- the background pusher -------------------------------------------------------------------

    @property
    def pusher(self):
        """The outbox pusher (``pusher.drain_once(now)`` delivers what is due, once)."""
        return self._thread().pusher

    def _thread(self):
        if self._pusher_thread is None:
            from .push.client import OcpiClient
            from .push.pusher import Pusher, PusherThread

            party = (self.config.party.country_code, self.config.party.party_id)
            client = OcpiClient(self.send, party, self.config.push.timeout)
            pusher = Pusher(self.store, client, self.config.push,
                            clock=lambda: self.clock().timestamp())
            self._pusher_thread = PusherThread(pusher, self.config.push.poll_interval)
        return self._pusher_thread

    def start(self) -> None:
        """Start pushing queued CDRs in a background thread (no-op when push is disabled)."""
        if self.config.push.enabled:
            self._thread().start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the pusher after the delivery in flight, if any."""
        if self._pusher_thread is not None:
            self._pusher_thread.stop(timeout)

    def wake_pusher(self) -> None:
        """A CDR was queued in this process: push now rather than at the next poll."""
        if self._pusher_thread is not None:
            self._pusher_thread.wake()

    def before_fork(self) -> None:
        """In a process about to fork (the gunicorn master under --preload): stop this
        process's pusher and close its database connections. SQLite forbids carrying an open
        connection into a child: even closing it there can release the child's own locks or
        checkpoint and delete the WAL under the other processes."""
        self.stop(timeout=self.config.push.timeout + 5)
        self.store.db.close()

    def after_fork_in_child(self) -> None:
        """In a forked worker: fresh DB connections and a fresh pusher thread (threads do not
        survive fork; gunicorn --preload forks after get_app())."""
        running = self._pusher_thread is not None and self.config.push.enabled
        self.store.db.after_fork()
        self._pusher_thread = None
        if running:
            self.start()

    def close(self) -> None:
        self.stop()
        self.store.close()
