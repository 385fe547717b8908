"""Domain errors raised by service functions; mapped to HTTP once, in the API exception
handler and the web views."""


class DomainError(Exception):
    """A request that is well-formed but not allowed in the current state (HTTP 409)."""

    code = "conflict"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class DatabaseUnavailable(Exception):
    """Raised where the database cannot be reached; shown to users as HTTP 503."""
