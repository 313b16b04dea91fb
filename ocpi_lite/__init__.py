"""ocpi_lite: a small, fast, embeddable OCPI 2.2.1 server (versions, credentials, CDRs)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Callable

from .config import Config, ConfigError, load

__version__ = "0.1.0"

__all__ = ["OcpiLite", "Config", "ConfigError", "__version__"]


class OcpiLite:
    """The integrator's object: one store, the WSGI app to mount, and (later) the pusher.

    >>> ocpi = OcpiLite.from_config("ocpi_lite.toml")
    >>> ocpi.app  # the falcon WSGI app
    """

    def __init__(self, config: Config | None = None, *, store=None,
                 clock: Callable[[], datetime] | None = None, send=None):
        from .store import Store
        from .transport.envelope import utc_now

        self.config = config or load()
        self.store = store or Store(self.config.server.database)
        self.clock = clock or utc_now
        self.send = send
        self._app = None

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, **kwargs) -> "OcpiLite":
        return cls(load(path), **kwargs)

    @property
    def app(self):
        if self._app is None:
            from .app import create_app

            self._app = create_app(self.config, store=self.store, clock=self.clock, send=self.send)
        return self._app

    def wsgi_app(self):
        return self.app

    # -- recording our CDRs (as CPO) ------------------------------------------------------------

    def record_cdr(self, cdr):
        """Validate and store a CDR (dict, JSON bytes/str or ``models.cdrs.Cdr``) and queue its
        push, in one transaction; returns the stored ``Cdr``. Recording the identical CDR again
        is a no-op; the same country_code/party_id/id with other content raises
        ``ocpi_lite.recording.RecordError`` (so does an invalid CDR, naming the field)."""
        from .recording import record

        return record(self.store, cdr, self.clock()).cdr

    def credit_cdr(self, cdr_id: str):
        """Record and queue the credit CDR (id ``ID-C``, negated ``total_cost``) of a recorded CDR.
        ``cdr_id`` is its id, or ``CC/PID/ID`` when several recorded CDRs share the id.
        Crediting a credit CDR or crediting twice raises ``RecordError``."""
        from .recording import credit_cdr

        return credit_cdr(self.store, cdr_id, self.clock())

    def close(self) -> None:
        self.store.close()
