"""Domain errors raised by service functions; mapped to HTTP once, in the API exception
handler and the web views."""

from typing import Any


class DomainError(Exception):
    """A request that is well-formed but not allowed in the current state (HTTP 409).

    ``code`` is the stable machine code the API answers with; ``extra`` holds further
    members of the API's problem answer a client can act on (e.g. ``existing``).
    """

    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra
        if code:
            self.code = code


class DatabaseUnavailable(Exception):
    """Raised where the database cannot be reached; shown to users as HTTP 503."""
