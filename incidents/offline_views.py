"""What lets the registration page work without a connection (issue 13): the service
worker's script and the session endpoint of the page's offline queue
(``miv/static/miv/offline-queue.js``)."""

import hashlib
import json
import os

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .roles import can_register

# What the registration page needs to open without a connection (the service worker caches
# these on the first visit).
OFFLINE_ASSETS = [
    "miv/miv.css",
    "miv/js-on.js",
    "miv/htmx.min.js",
    "miv/combobox.js",
    "miv/offline-queue.js",
    "miv/favicon.svg",
]


@require_GET
@never_cache
def registration_session(request: HttpRequest) -> JsonResponse:
    """For the offline queue of the registration page: who is logged in, and a fresh CSRF
    token for sending the queued registrations to the API. A page served from the service
    worker's cache may carry an old token; a lapsed session is a 401 (not a redirect to the
    login page), so the queue keeps its registrations and says to log in."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Log opnieuw in.")}, status=401)
    if not can_register(request.user):
        return JsonResponse({"detail": _("U kunt geen incidenten registreren.")}, status=403)
    return JsonResponse({"user": request.user.get_username(), "csrf": get_token(request)})


def _asset_stamps() -> list[str]:
    """When the static files changed (development serves them without hashed names)."""
    stamps = []
    for path in OFFLINE_ASSETS:
        found = finders.find(path)
        stamps.append(str(os.path.getmtime(found)) if found else "")
    return stamps


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker of the registration page. Served from under
    ``/incidents/register/`` so that its scope covers that page (and nothing else: the
    lists and detail pages, which hold incident text, are never cached on the device). A
    template, so it names the static files as they are served (hashed in production);
    a new deployment changes its bytes and so replaces it."""
    assets = [static(path) for path in OFFLINE_ASSETS]
    page = reverse("incidents:register")
    version = hashlib.sha256("\n".join([page, *assets, *_asset_stamps()]).encode()).hexdigest()
    response = render(
        request,
        "incidents/sw.js",
        {
            "version": version[:12],
            "page": page,
            "page_json": json.dumps(page),
            "assets_json": json.dumps(assets),
        },
        content_type="text/javascript; charset=utf-8",
    )
    # Browsers check for a new worker at most daily anyway; never serve a stale one.
    response["Cache-Control"] = "no-cache"
    return response
