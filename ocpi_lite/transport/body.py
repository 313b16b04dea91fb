"""Reading and decoding request bodies: 413 over the limit, 400 for non-JSON, 2001 (HTTP 200)
for JSON that is not a valid OCPI object, with the message naming the field."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec

from ..models.common import describe_validation_error
from .errors import BadRequest, InvalidParameters, PayloadTooLarge

_any_json = msgspec.json.Decoder()


def read_body(req: falcon.Request, max_bytes: int) -> bytes:
    # Content-Length was checked in HeadersMiddleware; a chunked body is bounded here.
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"Request body exceeds the limit of {max_bytes} bytes")
    if not raw.strip():
        raise BadRequest("Request body is empty; a JSON object is expected")
    return raw


def decode_body(raw: bytes, decoder: msgspec.json.Decoder) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        # A typed decoder may fail on a field before it sees that the JSON itself is broken:
        # broken JSON is a transport error (400), not an invalid object (2001).
        try:
            _any_json.decode(raw)
        except msgspec.DecodeError:
            raise BadRequest("Request body is not valid JSON") from None
        raise InvalidParameters(describe_validation_error(exc)) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from None
