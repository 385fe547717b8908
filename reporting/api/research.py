"""The research API (``/api/v1/research/``) and the controls researchers get on every
figures endpoint: token authentication (no browser session), the ``research`` throttle,
and an audit log entry per request. See :mod:`reporting.research` for the decisions."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from miv.api.authentication import TokenAuthentication
from reporting import research
from reporting.selection import ResearchSelectionSerializer

from .controls import AuditedResearchMixin, ReadResearch, ResearchRateThrottle
from .serializers import ProblemSerializer, ResearchRateSerializer
from .views import BadParameter, _check_names, selection_or_problem

TAG = "research"


# --- CSV --------------------------------------------------------------------------------------


class ResearchCSVRenderer(BaseRenderer):
    """``?format=csv``: the rows as CSV with the columns of the JSON answer."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if not isinstance(data, list):
            # Errors are rendered as JSON (see ResearchRatesView.finalize_response).
            return JSONRenderer().render(data)
        return "".join(research.csv_lines(data, research.RESEARCH_COLUMNS)).encode("utf-8")


# --- The view ---------------------------------------------------------------------------------

FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["json", "csv"],
    description=(
        "`csv` for the same rows as CSV (UTF-8, comma separated), as "
        "`GET research/rates.csv` answers; generated clients should use that operation, "
        "as they read one media type per operation."
    ),
)
CSV_ANSWER = OpenApiResponse(
    OpenApiTypes.STR,
    description=(
        "CSV (UTF-8, comma separated, CRLF): a header row with the field names of the JSON "
        "answer, then one row per institution; empty cells for null, `true`/`false`."
    ),
)

RESEARCH_ERRORS = {
    400: OpenApiResponse(ProblemSerializer, description="An unknown parameter or value."),
    401: OpenApiResponse(ProblemSerializer, description="No or an invalid API token."),
    403: OpenApiResponse(ProblemSerializer, description="Researchers and administrators only."),
    404: OpenApiResponse(ProblemSerializer, description="No figures computed for this year."),
    429: OpenApiResponse(ProblemSerializer, description="Too many requests; see Retry-After."),
    503: OpenApiResponse(
        ProblemSerializer,
        description="The request could not be logged, or the database is unavailable.",
    ),
}


class ResearchRatesView(AuditedResearchMixin, APIView):
    """Incidents per 1,000 students per institution for researchers."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [ReadResearch]
    throttle_classes = [ResearchRateThrottle]
    renderer_classes = [JSONRenderer, ResearchCSVRenderer]
    audit_endpoint = "research-rates"
    audit_everyone = True

    @extend_schema(
        tags=[TAG],
        summary="Incidents per 1,000 students per institution, with disclosure control",
        description=(
            "One fixed combination of school year, group and victim role for every "
            "institution with a student count: pseudonym (BRIN with named access), kind, "
            "region, size class, urbanity, count, students, rate per 1,000 with its exact "
            "Poisson interval. Counts 0 < n < k (MIV_DISCLOSURE_K) are withheld, and enough "
            "further cells that none can be recovered from published totals "
            "(`suppressed: true`, count, rate and interval null). Token authentication only; "
            "rate limited; every request is logged (never the data)."
        ),
        parameters=[ResearchSelectionSerializer, FORMAT],
        responses={
            (200, "application/json"): ResearchRateSerializer(many=True),
            (200, "text/csv"): CSV_ANSWER,
            **RESEARCH_ERRORS,
        },
    )
    def get(self, request):
        _check_names(request, {"school_year", "group", "victim_role"})
        selection = selection_or_problem(
            request.query_params, serializer_class=ResearchSelectionSerializer
        )
        rows = research.research_rates(request.user, selection)
        data = ResearchRateSerializer(rows, many=True).data
        response = Response(data)
        if request.accepted_renderer.format == "csv":
            name = (
                f"miv-onderzoek-{selection.school_year}-{selection.group.code}-"
                f"{selection.victim_role}.csv"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            raise BadParameter(
                "format", _("Onbekend formaat; gebruik format=json of format=csv.")
            ) from None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON, also when CSV was asked for.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
            response.content_type = None
        return response


class ResearchRatesCSVView(ResearchRatesView):
    """The research rates as a CSV file (``research/rates.csv``): the same rows, controls
    and audit log as the JSON answer. Errors are JSON problems."""

    renderer_classes = [ResearchCSVRenderer]
    audit_endpoint = "research-rates-csv"

    @extend_schema(
        tags=[TAG],
        operation_id="research_rates_csv",
        summary="The research rates as a CSV file",
        description=(
            "The rows of `GET research/rates/` as CSV, for pandas, R or a spreadsheet "
            "(`pd.read_csv`); the same parameters, disclosure control, rate limit and log."
        ),
        parameters=[ResearchSelectionSerializer],
        responses={(200, "text/csv"): CSV_ANSWER, **RESEARCH_ERRORS},
    )
    def get(self, request):
        return super().get(request)

    def perform_content_negotiation(self, request, force=False):
        # Always CSV, whatever the Accept header (errors become JSON in finalize_response).
        renderer = ResearchCSVRenderer()
        return renderer, renderer.media_type
