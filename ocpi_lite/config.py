"""Configuration: TOML decoded into msgspec Structs, with embedded defaults.

Where the config comes from, first match wins: an explicit path, ``OCPI_LITE_CONFIG``,
``./ocpi_lite.toml``, the embedded defaults. ``OCPI_LITE_DATABASE`` and
``OCPI_LITE_PUBLIC_URL`` then override their keys. An unknown key or a wrong type is a
``ConfigError`` naming the key and the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .models.common import CountryCode, PartyId

DEFAULT_FILENAME = "ocpi_lite.toml"

PositiveSeconds = Annotated[float, Meta(gt=0)]


class ConfigSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A config table: a misspelt key must fail loudly, not be silently ignored."""


class PartyConfig(ConfigSection):
    country_code: CountryCode = "NL"
    party_id: PartyId = "LIT"
    roles: Annotated[list[Literal["CPO", "EMSP"]], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["CPO"]
    )
    name: Annotated[str, Meta(min_length=1, max_length=100)] = "Lite Charging"
    website: str | None = None


class ServerConfig(ConfigSection):
    public_url: Annotated[str, Meta(pattern=r"^https?://[^/\s]+(/[^\s]*)?$")] = (
        "http://127.0.0.1:8000/ocpi"
    )
    database: Annotated[str, Meta(min_length=1)] = "ocpi_lite.db"
    page_limit: Annotated[int, Meta(ge=1, le=10000)] = 100
    max_body_bytes: Annotated[int, Meta(ge=1024)] = 1048576
    # OCPI versions served and negotiated; 2.2.1 is preferred when a peer offers both.
    versions: Annotated[list[Literal["2.1.1", "2.2.1"]], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["2.1.1", "2.2.1"]
    )


class PushConfig(ConfigSection):
    enabled: bool = True
    poll_interval: PositiveSeconds = 1.0
    timeout: PositiveSeconds = 10.0
    backoff_initial: PositiveSeconds = 2.0
    backoff_max: PositiveSeconds = 3600.0
    max_attempts: Annotated[int, Meta(ge=0)] = 0


class Config(ConfigSection):
    party: PartyConfig = msgspec.field(default_factory=PartyConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    push: PushConfig = msgspec.field(default_factory=PushConfig)

    @property
    def public_url(self) -> str:
        return self.server.public_url.rstrip("/")


class ConfigError(Exception):
    """A config that cannot be used; the message is one line naming the file and the key."""


def resolve_path(path: str | os.PathLike | None = None) -> Path | None:
    if path is not None:
        return Path(path)
    from_env = os.environ.get("OCPI_LITE_CONFIG")
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_FILENAME)
    return local if local.exists() else None


def decode(text: bytes | str, source: str = "<string>") -> Config:
    try:
        config = msgspec.toml.decode(text, type=Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if config.push.backoff_max < config.push.backoff_initial:
        raise ConfigError(f"{source}: push.backoff_max must be >= push.backoff_initial")
    return config


def load(path: str | os.PathLike | None = None) -> Config:
    """The config to run with: file (or defaults), then the environment overrides."""
    resolved = resolve_path(path)
    if resolved is None:
        config = Config()
    else:
        try:
            data = resolved.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{resolved}: cannot read config: {exc.strerror}") from None
        config = decode(data, str(resolved))
    return apply_environment(config)


def apply_environment(config: Config) -> Config:
    server = config.server
    database = os.environ.get("OCPI_LITE_DATABASE")
    if database:
        server = msgspec.structs.replace(server, database=database)
    public_url = os.environ.get("OCPI_LITE_PUBLIC_URL")
    if public_url:
        # Validate the override with the same rule as the file key.
        candidate = msgspec.structs.asdict(server) | {"public_url": public_url}
        try:
            server = msgspec.convert(candidate, ServerConfig)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"OCPI_LITE_PUBLIC_URL: {exc}") from None
    return msgspec.structs.replace(config, server=server)


def _describe(exc: msgspec.ValidationError) -> str:
    """Turn msgspec's `... - at `$.server`` into `server.public_url: ...` style text."""
    message = str(exc)
    if " - at `$" in message:
        text, _, where = message.rpartition(" - at `$")
        where = where.rstrip("`").lstrip(".")
        if text.startswith("Object contains unknown field `"):
            key = text.removeprefix("Object contains unknown field `").rstrip("`")
            full = f"{where}.{key}" if where else key
            return f"unknown key `{full}`"
        return f"`{where}`: {text}"
    if message.startswith("Object contains unknown field `"):
        key = message.removeprefix("Object contains unknown field `").rstrip("`")
        return f"unknown key `{key}`"
    return message
