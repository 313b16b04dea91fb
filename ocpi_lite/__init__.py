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

    def close(self) -> None:
        self.store.close()
