"""Error pages that must render when the database cannot: 503 (database away) and 413
(body too large, refused before the middleware that loads the user has run).

They use the site's layout without the per-user context (no role menu, no user name), so
rendering them never queries the database.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string


def error_page(
    request: HttpRequest, title: str, message: str, *, status: int, headers=None
) -> HttpResponse:
    context = {
        "request": request,
        # The language switch in the header posts with the visitor's CSRF token (a cookie,
        # no database involved).
        "csrf_token": get_token(request),
        "title": title,
        "message": message,
    }
    html = render_to_string("miv/error.html", context)
    return HttpResponse(html, status=status, headers=headers)
