"""Answers 503, not a 500 page, while the database is unreachable."""

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from miv.views import database_unavailable


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection in a view into a clear 503.

    Where the database fails outside a view (loading the session or the user in a
    middleware, saving the session afterwards), ``handler500`` (``miv.views.server_error``)
    answers the same 503; the API's exception handler does so for DRF views. Pages get the
    site's layout without the per-user parts, API clients JSON, both with ``Retry-After``
    (tests/miv/test_degraded.py).

    Django's ``CONN_HEALTH_CHECKS`` replaces the broken connection on the next request,
    so the service recovers by itself once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable(request)
        return None
