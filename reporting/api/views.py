"""The figures API: read-only rates, sector summaries and correlations of the current
figure set, and jobs to recompute a school year.

Query parameters are checked strictly: an unknown parameter or value is a 400 that says
what is wrong, never an empty list (an empty list would read as "no incidents").
"""

from __future__ import annotations

import logging
import uuid

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.choices import Role
from incidents.models import Membership
from incidents.roles import coordinator_institution_ids, is_administrator
from miv.api.exceptions import InvalidParameter, NoFigures, unavailable
from miv.schoolyear import parse_school_year, school_year_of
from reporting import engine, queries, selection
from reporting.access import (
    can_read_figures,
    can_request_computation,
    figure_viewer,
    resolve_institution,
)
from reporting.choices import JobReason, JobStatus, ScoreSource
from reporting.models import FigureJob
from reporting.tasks import compute_figures, send

from .controls import (
    AuditedResearchMixin,
    ResearcherRateThrottle,
    ResearchersUseTokens,
    is_researcher_viewer,
)
from .serializers import (
    CorrelationSerializer,
    JobRequestSerializer,
    JobSerializer,
    ProblemSerializer,
    RateSerializer,
    SectorSerializer,
)

logger = logging.getLogger(__name__)

TAG = "figures"


# 400 naming the query parameter that is wrong (``parameter``, and in ``errors``).
BadParameter = InvalidParameter


class ReadFigures(BasePermission):
    """Administrators, researchers and coordinators; not registrars."""

    def has_permission(self, request, view):
        return can_read_figures(request.user)


class RequestComputation(BasePermission):
    """Administrators and coordinators."""

    def has_permission(self, request, view):
        return can_request_computation(request.user)


# --- Parameters -------------------------------------------------------------------------------

INSTITUTION = OpenApiParameter(
    "institution",
    OpenApiTypes.STR,
    description="One institution: its BRIN (researchers without named access: pseudonym).",
)
SCORE = OpenApiParameter(
    "score",
    OpenApiTypes.STR,
    enum=ScoreSource.values,
    required=True,
    description="`job` (% students feeling safe) or `mo` (staff safety score 0-10).",
)
SURVEY_YEAR = OpenApiParameter(
    "survey_year",
    OpenApiTypes.INT,
    description=(
        "Survey year to join (a survey of year Y was held in school year (Y-1)-Y). Default: "
        "the latest survey held in or before the school year."
    ),
)

ERRORS = {
    400: OpenApiResponse(ProblemSerializer, description="An unknown parameter or value."),
    401: OpenApiResponse(ProblemSerializer, description="Not authenticated."),
    403: OpenApiResponse(ProblemSerializer, description="No access to figures."),
    404: OpenApiResponse(ProblemSerializer, description="No figures computed for this year."),
    429: OpenApiResponse(ProblemSerializer, description="Researchers: too many requests."),
    503: OpenApiResponse(
        ProblemSerializer,
        description="A researcher's request could not be logged, or the database is down.",
    ),
}


def _single(request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadParameter(name, _("Geef '%(name)s' één keer op.") % {"name": name})
    return values[0].strip()


def _check_names(request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed - {"format"})
    if unknown:
        raise BadParameter(
            unknown[0],
            _("Onbekende parameter '%(name)s'. Mogelijk: %(allowed)s.")
            % {"name": unknown[0], "allowed": ", ".join(sorted(allowed))},
        )


def selection_or_problem(
    params, *, fixed: bool = False, serializer_class=selection.SelectionSerializer
) -> queries.Selection:
    """The figure selection of a request (:mod:`reporting.selection`), its errors as
    problems: 400 naming the parameter, 404 listing the years that have figures."""
    try:
        return selection.parse_selection(params, fixed=fixed, serializer_class=serializer_class)
    except selection.InvalidSelection as error:
        raise BadParameter(error.parameter, error.message) from None
    except selection.NoFiguresForYear as error:
        raise NoFigures(error.message, school_years=error.school_years) from None


def _figures_selection(
    request, *, about_others: bool = False, serializer_class=selection.SelectionSerializer
) -> queries.Selection:
    """The selection of a figures request. Researchers get only the publication's
    combinations; so does everyone protected (coordinators) for figures about other
    institutions (``about_others``: the sector, correlations), issue 11."""
    fixed = is_researcher_viewer(request.user)
    if about_others and not fixed:
        viewer = figure_viewer(request.user)
        fixed = viewer is not None and viewer.protected
    return selection_or_problem(
        request.query_params, fixed=fixed, serializer_class=serializer_class
    )


class FiguresReadView(AuditedResearchMixin, APIView):
    """Figures read by administrators, coordinators and researchers; researchers with a
    token only, throttled and audit-logged (issue 6)."""

    permission_classes = [ReadFigures, ResearchersUseTokens]
    throttle_classes = [ResearcherRateThrottle]


# --- Views ------------------------------------------------------------------------------------


class RatesView(FiguresReadView):
    """Incidents per 1,000 students per institution, with exact 95% intervals."""

    audit_endpoint = "figures-rates"

    @extend_schema(
        tags=[TAG],
        summary="Incidents per 1,000 students per institution",
        description=(
            "Coordinators see their own institution; researchers and administrators all "
            "institutions with a student count (institutions without one are listed in "
            "`figures/sector/`)."
        ),
        parameters=[selection.SelectionSerializer, INSTITUTION],
        responses={200: RateSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        _check_names(request, {"school_year", "group", "victim_role", "institution"})
        institution_id = None
        value = _single(request, "institution")
        if value is not None:
            institution = resolve_institution(request.user, value)
            if institution is None:
                raise BadParameter(
                    "institution", _("Onbekende instelling '%(value)s'.") % {"value": value}
                )
            institution_id = institution.pk
        chosen = _figures_selection(request)
        rows = queries.institution_rates(request.user, chosen, institution_id)
        return Response(RateSerializer(rows, many=True).data)


class SectorView(FiguresReadView):
    """The sector mean and pooled rate of a school year, group and victim role."""

    audit_endpoint = "figures-sector"

    @extend_schema(
        tags=[TAG],
        summary="Sector mean (t-interval) and pooled rate (exact interval)",
        parameters=[selection.SelectionSerializer],
        responses={200: SectorSerializer, **ERRORS},
    )
    def get(self, request):
        _check_names(request, {"school_year", "group", "victim_role"})
        chosen = _figures_selection(request, about_others=True)
        try:
            data = queries.sector(request.user, chosen)
        except queries.FiguresNotComputed:
            raise NoFigures(_("Voor deze groep zijn (nog) geen cijfers berekend.")) from None
        return Response(SectorSerializer(data).data)


class CorrelationView(FiguresReadView):
    """Institutions' rates against the JOB or MO safety score, with possible
    under-registration flagged."""

    audit_endpoint = "figures-correlation"

    @extend_schema(
        tags=[TAG],
        summary="Correlation of incident rates with a safety survey (figures 6.2, 6.4)",
        parameters=[selection.SurveySelectionSerializer, SCORE, SURVEY_YEAR],
        responses={200: CorrelationSerializer, **ERRORS},
    )
    def get(self, request):
        _check_names(request, {"school_year", "score", "group", "survey_year"})
        source = _single(request, "score")
        if source not in ScoreSource.values:
            raise BadParameter(
                "score",
                _("Geef score=job of score=mo op.")
                if source is None
                else _("Onbekende score '%(value)s'; gebruik job of mo.") % {"value": source},
            )
        survey_year = None
        raw = _single(request, "survey_year")
        if raw is not None:
            if not raw.isdigit() or int(raw) not in queries.survey_years(source):
                raise BadParameter(
                    "survey_year",
                    _("Geen %(source)s-peiling van jaar '%(value)s'. Beschikbaar: %(years)s.")
                    % {
                        "source": source.upper(),
                        "value": raw,
                        "years": ", ".join(str(y) for y in queries.survey_years(source)) or "-",
                    },
                )
            survey_year = int(raw)
        chosen = _figures_selection(
            request, about_others=True, serializer_class=selection.SurveySelectionSerializer
        )
        try:
            data = queries.correlation(request.user, chosen, source, survey_year)
        except queries.FiguresNotComputed:
            raise NoFigures(_("Voor deze groep zijn (nog) geen cijfers berekend.")) from None
        return Response(CorrelationSerializer(data).data)


def _show_errors(request) -> bool:
    return bool(request.user.is_superuser)


def visible_jobs(user) -> QuerySet:
    """The figures jobs a user may follow (issue 7, object-level authorization): an
    administrator all of them; a coordinator the jobs requested by a coordinator of their
    own institution(s), and the system's own (nightly, after changes), which have no
    requester. Another institution's job is a 404, like one that does not exist."""
    if is_administrator(user):
        return FigureJob.objects.all()
    colleagues = Membership.objects.filter(
        role=Role.COORDINATOR, institution__in=coordinator_institution_ids(user)
    ).values("user_id")
    return FigureJob.objects.filter(
        Q(requested_by__isnull=True) | Q(requested_by=user) | Q(requested_by__in=colleagues)
    )


class JobCreateView(APIView):
    """Start a recomputation of a school year's figures."""

    permission_classes = [RequestComputation]

    @extend_schema(
        tags=[TAG],
        summary="Recompute a school year (administrators and coordinators)",
        description=(
            "Answers 202 with the job; follow `url` for status and progress. A request for a "
            "year that is already being computed joins that job."
        ),
        request=JobRequestSerializer,
        responses={
            202: JobSerializer,
            400: OpenApiResponse(ProblemSerializer, description="Invalid school year."),
            401: OpenApiResponse(ProblemSerializer, description="Not authenticated."),
            403: OpenApiResponse(ProblemSerializer, description="Not allowed."),
            503: OpenApiResponse(ProblemSerializer, description="The job queue is unreachable."),
        },
    )
    def post(self, request):
        serializer = JobRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        school_year = serializer.validated_data["school_year"]
        try:
            start = parse_school_year(school_year)
        except ValueError:
            raise BadParameter(
                "school_year", _("Ongeldig schooljaar '%(value)s'.") % {"value": school_year}
            ) from None
        if start > parse_school_year(school_year_of(timezone.localdate())) or start < 2000:
            raise BadParameter(
                "school_year",
                _("Schooljaar %(value)s ligt buiten het bereik.") % {"value": school_year},
            )
        job = engine.active_job(school_year)
        if job is not None and not visible_jobs(request.user).filter(pk=job.pk).exists():
            # Another institution's job: start one of our own rather than hand out a job
            # the requester may not follow (the per-year lock runs them one after another).
            job = None
        if job is None:
            job = self._start(request, school_year)
        if job is None:
            return unavailable(
                _("De takenwachtrij is niet bereikbaar. Probeer het later opnieuw."),
                "queue_unavailable",
                30,
            )
        job.refresh_from_db()
        data = JobSerializer(
            job, context={"request": request, "show_errors": _show_errors(request)}
        )
        return Response(
            data.data, status=status.HTTP_202_ACCEPTED, headers={"Location": data.data["url"]}
        )

    def _start(self, request, school_year: str) -> FigureJob | None:
        task_id = str(uuid.uuid4())
        # Saved (committed) before the message is sent, so the worker finds the job.
        job = engine.create_job(
            school_year, reason=JobReason.API, requested_by=request.user, task_id=task_id
        )
        try:
            send(
                compute_figures,
                kwargs={"school_year": school_year, "job_id": str(job.pk)},
                task_id=task_id,
            )
        except Exception:  # noqa: BLE001 - broker down, or an eager run that failed
            job.refresh_from_db()
            if job.status == JobStatus.QUEUED and job.attempts == 0:
                logger.exception("could not enqueue figures job %s", job.pk)
                engine.fail_job(job.pk, "broker unreachable")
                return None
            # Eager mode: the computation itself failed; the job records it.
            logger.exception("figures job %s failed", job.pk)
        return job


class JobDetailView(APIView):
    """Status and progress of a figures job."""

    permission_classes = [RequestComputation]

    @extend_schema(
        tags=[TAG],
        summary="Status and progress of a recomputation",
        responses={
            200: JobSerializer,
            401: OpenApiResponse(ProblemSerializer, description="Not authenticated."),
            403: OpenApiResponse(ProblemSerializer, description="Not allowed."),
            404: OpenApiResponse(ProblemSerializer, description="No such job."),
        },
    )
    def get(self, request, pk):
        job = get_object_or_404(visible_jobs(request.user), pk=pk)
        data = JobSerializer(
            job, context={"request": request, "show_errors": _show_errors(request)}
        )
        return Response(data.data)
