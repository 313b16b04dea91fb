"""OcpiError tree: each class fixes the HTTP status and the OCPI status_code it answers with.

Requests that reach the OCPI layer answer HTTP 200 with a 2xxx/3xxx status_code
(status_codes.asciidoc:12-13); transport failures use HTTP errors with the envelope.
"""

from __future__ import annotations


class OcpiError(Exception):
    http_status = 400
    status_code = 2000
    default_message = "Generic client error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


# --- HTTP layer (the request never reached the OCPI layer) ---------------------------------


class BadRequest(OcpiError):
    http_status = 400
    default_message = "Request body is not valid JSON"


class Unauthorized(OcpiError):
    http_status = 401
    default_message = "Missing or unknown credentials token"

    def __init__(self, message: str | None = None):
        super().__init__(message, headers={"WWW-Authenticate": "Token"})


class NotFound(OcpiError):
    http_status = 404
    default_message = "Not found"


class MethodNotAllowed(OcpiError):
    http_status = 405
    default_message = "Method not allowed"


class PayloadTooLarge(OcpiError):
    http_status = 413
    default_message = "Request body too large"


class InternalError(OcpiError):
    http_status = 500
    status_code = 3000
    default_message = "Internal server error"


# --- OCPI layer (HTTP 200, the status_code tells) ------------------------------------------


class InvalidParameters(OcpiError):
    """2001: an invalid or missing field or parameter; the message names it."""

    http_status = 200
    status_code = 2001
    default_message = "Invalid or missing parameters"


class UnableToUseClientApi(OcpiError):
    http_status = 200
    status_code = 3001
    default_message = "Unable to use the client's API"


class UnsupportedVersion(OcpiError):
    http_status = 200
    status_code = 3002
    default_message = "Unsupported version"


class NoMatchingEndpoints(OcpiError):
    http_status = 200
    status_code = 3003
    default_message = "No matching endpoints or expected endpoints missing"
