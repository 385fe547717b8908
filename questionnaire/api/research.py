"""``GET /api/v1/research/policy/``: the sector's answers to the safety-policy questionnaire
(figures 5.4–5.9) and figures 6.1, 6.3 and 6.5, for researchers, as published on
``/questionnaire/sector/`` to outside readers — the same rules (:mod:`questionnaire.sector`:
complete school years, submitted closed answers, rows below k withheld;
:mod:`questionnaire.combined`), the research API's controls (token only, throttled, every
request logged). Never an institution's own answers, never open texts."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from miv.api.authentication import TokenAuthentication
from miv.api.exceptions import InvalidParameter, NoFigures
from reporting.api.controls import AuditedResearchMixin, ReadResearch, ResearchRateThrottle
from reporting.api.research import RESEARCH_ERRORS
from reporting.api.views import _check_names

from .. import combined, sector


class AnswerCountSerializer(serializers.Serializer):
    option = serializers.CharField(help_text="Answer code (stable across versions).")
    label = serializers.CharField(help_text="The answer as printed, in the request's language.")
    count = serializers.IntegerField(help_text="Institutions that gave this answer.")
    share = serializers.FloatField(allow_null=True, help_text="count / n (0–1).")


class PolicyRowSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Item code of a grid question; empty otherwise.")
    label = serializers.CharField()
    n = serializers.IntegerField(help_text="Institutions that answered this row.")
    published = serializers.BooleanField(
        help_text="False when fewer than k institutions answered: then `answers` is empty."
    )
    answers = AnswerCountSerializer(many=True, source="cells")


class PolicyFigureSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Figure of the report (5.4–5.9).")
    question = serializers.CharField(help_text="Question code (V3, V5, …).")
    title = serializers.CharField()
    question_text = serializers.CharField()
    several = serializers.BooleanField(help_text="More than one answer per row possible.")
    answered = serializers.IntegerField(help_text="Institutions that answered the question.")
    coverage_share = serializers.FloatField(
        allow_null=True, help_text="answered / institutions of the year (0–1)."
    )
    rows = PolicyRowSerializer(many=True)


class CombinedGroupSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="Band of provisions: 0–3, 4–5 or 6.")
    n = serializers.IntegerField(help_text="Institutions in the band.")


class CombinedSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Figure of the report: 6.1, 6.3 or 6.5.")
    title = serializers.CharField()
    x_label = serializers.CharField()
    y_label = serializers.CharField()
    survey_years = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="The JOB and MO surveys used (year of the survey).",
    )
    n = serializers.IntegerField(help_text="Institutions with both values.")
    published = serializers.BooleanField(
        help_text=(
            "Whether the correlation is published: 6.1 when n >= k; 6.3 and 6.5 never to "
            "researchers (with the public JOB scores they would give answers away)."
        )
    )
    pearson_r = serializers.FloatField(allow_null=True)
    pearson_ci_low = serializers.FloatField(allow_null=True)
    pearson_ci_high = serializers.FloatField(allow_null=True)
    pearson_p = serializers.FloatField(allow_null=True)
    spearman_rho = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    message = serializers.CharField(help_text="What is not published, and why.")
    groups = CombinedGroupSerializer(
        many=True,
        help_text="6.3 and 6.5: institutions per band, when that gives nothing away.",
    )


class SampleRowSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="Region, or size class (lt_10000, ...).")
    sample = serializers.IntegerField(help_text="Responding institutions in this category.")
    sample_share = serializers.FloatField(allow_null=True)
    population = serializers.IntegerField(help_text="All institutions in this category.")
    population_share = serializers.FloatField(allow_null=True)
    difference_pp = serializers.FloatField(
        allow_null=True, help_text="Sample share minus population share, percentage points."
    )


class SampleDimensionSerializer(serializers.Serializer):
    dimension = serializers.CharField(help_text="region or size")
    rows = SampleRowSerializer(many=True)
    sample_unknown = serializers.IntegerField(help_text="Respondents without a category.")
    population_unknown = serializers.IntegerField(help_text="Institutions without a category.")
    p_value = serializers.FloatField(
        allow_null=True, help_text="Exact test: could the respondents be a random subset?"
    )
    method = serializers.CharField()


class SampleSerializer(serializers.Serializer):
    respondents = serializers.IntegerField()
    population = serializers.IntegerField()
    outside = serializers.IntegerField(
        help_text="Respondents outside the year's population (not in the test)."
    )
    dimensions = SampleDimensionSerializer(many=True)
    limits = serializers.ListField(child=serializers.CharField(), help_text="Of the test.")


class PolicySerializer(serializers.Serializer):
    school_year = serializers.CharField()
    respondents = serializers.IntegerField(help_text="Institutions with a submitted response.")
    population = serializers.IntegerField(help_text="Institutions of the school year.")
    k = serializers.IntegerField(help_text="Rows with n < k are not published.")
    figures = PolicyFigureSerializer(many=True)
    sample = SampleSerializer(help_text="Tabel 5.2: respondents against all institutions.")
    combined = CombinedSerializer(many=True, help_text="Figures 6.1, 6.3 and 6.5.")


class ResearchPolicyView(AuditedResearchMixin, APIView):
    """The sector's safety-policy answers for researchers."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [ReadResearch]
    throttle_classes = [ResearchRateThrottle]
    audit_endpoint = "research-policy"
    audit_everyone = True

    @extend_schema(
        tags=["research"],
        summary="The sector's safety-policy answers (figures 5.4–5.9, 6.1, 6.3, 6.5)",
        description=(
            "Per figure and row (question or item of a grid): how many institutions gave each "
            "answer, with n and the coverage. Complete school years only, submitted closed "
            "answers only; a row answered by fewer than k (MIV_DISCLOSURE_K) institutions is "
            "not published. No institution's own answers, no open texts. `combined`: "
            "figures 6.1 (MO against JOB: correlations when n >= k), 6.3 and 6.5 (number of "
            "safety provisions against JOB and MO: institutions per band only, when an "
            "integer-program audit shows that gives no institution's number away)."
        ),
        parameters=[
            OpenApiParameter(
                "school_year",
                OpenApiTypes.STR,
                description="A complete school year, e.g. 2022-2023. Default: the latest.",
                pattern=r"^\d{4}-\d{4}$",
            )
        ],
        responses={
            200: PolicySerializer,
            **RESEARCH_ERRORS,
            404: OpenApiResponse(description="No answers of a complete school year yet."),
        },
    )
    def get(self, request):
        _check_names(request, {"school_year"})
        years = sector.published_years()
        if not years:
            raise NoFigures(
                _("Er zijn nog geen antwoorden van een afgesloten schooljaar."), school_years=[]
            )
        school_year = (request.query_params.get("school_year") or "").strip() or years[0]
        if school_year not in years:
            raise InvalidParameter(
                "school_year",
                _(
                    "Voor schooljaar '%(value)s' zijn geen antwoorden gepubliceerd. Kies uit: "
                    "%(years)s."
                )
                % {"value": school_year[:20], "years": ", ".join(years)},
            )
        data = sector.sector_figures(school_year)
        data["combined"] = combined.combined_figures(school_year)
        return Response(PolicySerializer(data).data)
