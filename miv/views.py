"""Project-level pages: home, health check and error pages."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from miv.celery import app as celery_app
from miv.error_pages import error_page


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "miv/home.html")


def favicon(request: HttpRequest) -> HttpResponse:
    # Resolved per request: the manifest storage of production only knows hashed names.
    return redirect(static("miv/favicon.svg"), permanent=True)


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except (OperationalError, InterfaceError):
        # Drop the broken connection so the next request opens a fresh one.
        try:
            connection.close()
        except (OperationalError, InterfaceError):
            pass
        return False


def _broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:  # noqa: BLE001 - any failure to reach the broker means "down"
        return "down"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database (and the broker, when one is configured) answers, else 503."""
    database = "ok" if _database_ok() else "down"
    broker = _broker_state()
    healthy = database == "ok" and broker in ("ok", "eager")
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 while the database is away: JSON for the API, the site's layout for people
    (rendered without the per-user context, which would need the database)."""
    message = _("De database is tijdelijk niet bereikbaar. Probeer het zo opnieuw.")
    headers = {"Retry-After": "5"}
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        body = {"detail": message, "code": "database_unavailable", "retry_after": 5}
        return JsonResponse(body, status=503, headers=headers)
    return error_page(
        request, _("Tijdelijk niet beschikbaar"), message, status=503, headers=headers
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a lost database is a 503 (retry), a body over the upload cap a 413,
    anything else a plain 500 page."""
    from miv.uploads import RequestTooLarge, too_large

    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(request)
    if isinstance(exc, RequestTooLarge):
        return too_large(request)
    if request.path.startswith("/api/"):
        body = {"detail": _("Er ging iets mis. De fout is gelogd."), "code": "server_error"}
        return JsonResponse(body, status=500)
    return HttpResponse(
        "<!doctype html><html lang=nl><title>MIV - 500</title><h1>500</h1>"
        "<p>Er ging iets mis. De fout is gelogd.</p>",
        status=500,
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: API clients get JSON as from DRF (e.g. an id the URL pattern does not
    match), people the page in the site's layout."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Niet gevonden."), "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
