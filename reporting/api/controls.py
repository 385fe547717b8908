"""Controls every endpoint that serves figures to researchers applies: token
authentication (their browser session is for the dashboards only), the ``research``
throttle, and an audit log entry per request (who, what, when; never the data)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from incidents.roles import is_administrator
from miv.api.authentication import TokenAuthentication
from miv.api.problems import problem
from reporting import research
from reporting.access import figure_viewer


def is_researcher_viewer(user) -> bool:
    viewer = figure_viewer(user)
    return viewer is not None and viewer.researcher


def authentication_kind(request) -> str:
    authenticator = getattr(request, "successful_authenticator", None)
    if isinstance(authenticator, TokenAuthentication):
        return "token"
    if isinstance(authenticator, SessionAuthentication):
        return "session"
    return type(authenticator).__name__.lower() if authenticator else "none"


# --- Throttling -------------------------------------------------------------------------------


class ResearchRateThrottle(SimpleRateThrottle):
    """The ``research`` rate of ``DEFAULT_THROTTLE_RATES``, per user, shared by every
    endpoint that applies it. The rate is read per request (settings may change in tests
    and deployments), not frozen at import like DRF's own throttles."""

    scope = "research"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None  # refused by authentication anyway
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ResearcherRateThrottle(ResearchRateThrottle):
    """The same bucket, on the figures endpoints: only researchers are limited there."""

    def get_cache_key(self, request, view):
        if not is_researcher_viewer(request.user):
            return None
        return super().get_cache_key(request, view)


# --- Permissions ------------------------------------------------------------------------------


class ReadResearch(BasePermission):
    """Researchers and administrators."""

    def has_permission(self, request, view):
        user = request.user
        return is_administrator(user) or is_researcher_viewer(user)


class ResearchersUseTokens(BasePermission):
    """Researchers read figures through the API with a token only; their browser session
    is for the dashboards."""

    message = gettext_lazy("Onderzoekers gebruiken de API met een token (Authorization: Token …).")
    code = "token_required"

    def has_permission(self, request, view):
        if not is_researcher_viewer(request.user):
            return True
        return not isinstance(
            getattr(request, "successful_authenticator", None), SessionAuthentication
        )


# --- Audit log --------------------------------------------------------------------------------


class AuditedResearchMixin:
    """Logs every authenticated request of the view (``audit_everyone``) or every request
    of a researcher: who, endpoint, query, when, status; never the data. No log, no data:
    when the entry cannot be written the answer becomes a 503."""

    audit_endpoint = ""
    audit_everyone = False

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        if not (self.audit_everyone or is_researcher_viewer(user)):
            return response
        written = research.record_request(
            user=user,
            endpoint=self.audit_endpoint or request.path[:100],
            method=request.method,
            params=request.query_params,
            authentication=authentication_kind(request),
            status_code=response.status_code,
        )
        if not written:
            return JsonResponse(
                problem(
                    _("De toegang kon niet worden vastgelegd. Probeer het zo opnieuw."),
                    "audit_log_unavailable",
                    retry_after=5,
                ),
                status=503,
                headers={"Retry-After": "5"},
            )
        return response
