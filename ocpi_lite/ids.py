"""Random identifiers for X-Request-ID / X-Correlation-ID."""

from __future__ import annotations

import os


def new_request_id() -> str:
    """A random (version 4) UUID as text. Every request and response without an id gets one,
    and `str(uuid.uuid4())` builds an object first: three times the cost."""
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]  # RFC 4122 variant: the top bits of this digit are 10
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
