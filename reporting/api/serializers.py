"""Response shapes of the figures API. The views build plain dicts; these serializers
document them (OpenAPI) and render them."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from miv.api import problems
from miv.api.serializers import BuiltOnceModelSerializer
from reporting.choices import JobReason, JobStatus, ScoreSource
from reporting.models import FigureJob

# Every error of the API has the one shape of miv.api.problems (detail, code, errors, ...).
ProblemSerializer = problems.ProblemSerializer


class PeriodSerializer(serializers.Serializer):
    """Which part of its school year an answer covers (issue 12): a running year's figures
    are not comparable with complete years."""

    running = serializers.BooleanField(
        help_text=(
            "True while the school year is under way: its figures cover 1 August up to "
            "`through` only and are not comparable with complete years."
        )
    )
    through = serializers.DateField(
        allow_null=True,
        help_text="Last day the figures cover: today for the running year, else 31 July.",
    )


class RateSerializer(PeriodSerializer):
    """Incidents per 1,000 students of one institution, with the exact 95% interval."""

    institution = serializers.CharField(
        help_text="BRIN (administrators, coordinators, named researchers) or pseudonym."
    )
    school_year = serializers.CharField()
    group = serializers.CharField()
    level = serializers.CharField()
    # A plain string in the schema: an enum here would collide with the incidents' victim_role.
    victim_role = serializers.CharField(help_text="all, student or staff")
    count = serializers.IntegerField(
        min_value=0,
        allow_null=True,
        help_text="Null when withheld (`suppressed`) or shown by pseudonym.",
    )
    students = serializers.IntegerField(
        min_value=1, allow_null=True, help_text="Null when shown by pseudonym."
    )
    rate_per_1000 = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField(
        help_text=(
            "Disclosure control (researchers; other institutions for coordinators): the "
            "count is below k, or withheld so that no such count can be recovered."
        )
    )
    confidence_level = serializers.FloatField()
    method = serializers.CharField()
    taxonomy_version = serializers.CharField()
    computed_at = serializers.DateTimeField()


class ExcludedSerializer(serializers.Serializer):
    """An institution left out of the rates and means, and why."""

    institution = serializers.CharField(
        allow_null=True, help_text="Null for other institutions when a coordinator asks."
    )
    reason_code = serializers.CharField()
    reason = serializers.CharField()


class SectorSerializer(PeriodSerializer):
    """The sector: unweighted mean of the institutions' rates (t-interval, df = k - 1) and
    the pooled rate Σx/ΣN·1000 (exact Poisson interval), labelled separately."""

    school_year = serializers.CharField()
    group = serializers.CharField()
    level = serializers.CharField()
    # A plain string in the schema: an enum here would collide with the incidents' victim_role.
    victim_role = serializers.CharField(help_text="all, student or staff")
    institutions = serializers.IntegerField(min_value=0, help_text="k")
    mean_rate = serializers.FloatField(allow_null=True)
    mean_ci_low = serializers.FloatField(allow_null=True)
    mean_ci_high = serializers.FloatField(allow_null=True)
    mean_method = serializers.CharField()
    pooled_count = serializers.IntegerField(min_value=0, allow_null=True)
    pooled_students = serializers.IntegerField(min_value=0)
    pooled_rate = serializers.FloatField(allow_null=True)
    pooled_ci_low = serializers.FloatField(allow_null=True)
    pooled_ci_high = serializers.FloatField(allow_null=True)
    pooled_method = serializers.CharField()
    median = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    confidence_level = serializers.FloatField()
    excluded = ExcludedSerializer(many=True)
    suppressed = serializers.BooleanField(
        help_text="The sector figures themselves are withheld (disclosure control)."
    )
    withheld = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "Fields withheld by disclosure control: the t-interval, median, minimum and "
            "maximum when an institution's figure in this group is withheld."
        ),
    )
    taxonomy_version = serializers.CharField()
    computed_at = serializers.DateTimeField()


class PointSerializer(serializers.Serializer):
    institution = serializers.CharField(
        allow_null=True, help_text="Null for other institutions when a coordinator asks."
    )
    rate_per_1000 = serializers.FloatField()
    score = serializers.FloatField()
    flagged = serializers.BooleanField(
        help_text="Rate and score both below the sector median: possible under-registration."
    )


class FlaggedSerializer(serializers.Serializer):
    """Possible under-registration: safety score and incident rate both below the median."""

    institution = serializers.CharField()
    rate_per_1000 = serializers.FloatField()
    score = serializers.FloatField()
    reason = serializers.CharField()


class CorrelationSerializer(PeriodSerializer):
    """Institutions' rates (victim role ``all``) against a survey score."""

    school_year = serializers.CharField()
    survey_year = serializers.IntegerField(
        allow_null=True, help_text="The survey year used (held in school year Y-1 - Y)."
    )
    score = serializers.ChoiceField(choices=ScoreSource.choices)
    group = serializers.CharField()
    level = serializers.CharField()
    # A plain string in the schema: an enum here would collide with the incidents' victim_role.
    victim_role = serializers.CharField(help_text="all, student or staff")
    status = serializers.ChoiceField(
        choices=["ok", "not_enough_data", "no_variation", "no_survey", "suppressed"],
        help_text=(
            "Anything but ok: the statistics are null and `message` says why (`suppressed`: "
            "a point is withheld by disclosure control and the statistics would reveal it)."
        ),
    )
    message = serializers.CharField(allow_blank=True)
    n = serializers.IntegerField(min_value=0)
    pearson_r = serializers.FloatField(allow_null=True)
    pearson_p = serializers.FloatField(allow_null=True)
    pearson_ci_low = serializers.FloatField(allow_null=True)
    pearson_ci_high = serializers.FloatField(allow_null=True)
    spearman_rho = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    confidence_level = serializers.FloatField()
    rate_median = serializers.FloatField(allow_null=True)
    score_median = serializers.FloatField(allow_null=True)
    points = PointSerializer(many=True)
    flagged = FlaggedSerializer(many=True)
    computed_at = serializers.DateTimeField()


class JobRequestSerializer(serializers.Serializer):
    school_year = serializers.RegexField(
        r"^\d{4}-\d{4}$", max_length=9, help_text="The school year to compute, e.g. 2022-2023."
    )


class JobSerializer(BuiltOnceModelSerializer):
    """A figures computation: status and progress."""

    url = serializers.SerializerMethodField()
    retried = serializers.BooleanField(read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    reason = serializers.ChoiceField(choices=JobReason.choices, read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = FigureJob
        fields = [
            "id",
            "url",
            "school_year",
            "status",
            "progress",
            "step",
            "attempts",
            "retried",
            "reason",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job: FigureJob) -> str:
        path = reverse("figures-job-detail", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_error(self, job: FigureJob) -> str:
        # Error texts may carry database details: only administrators read them.
        if not job.error:
            return ""
        if self.context.get("show_errors"):
            return job.error
        return "error" if job.status == JobStatus.FAILED else ""


class ResearchRateSerializer(PeriodSerializer):
    """One institution's figure for researchers: everything needed to redo the calculation,
    with disclosure control applied."""

    institution = serializers.CharField(
        help_text="Stable pseudonym; the BRIN for researchers granted named access."
    )
    kind = serializers.CharField(
        allow_null=True, help_text="roc, aoc, vak or overig; null for pseudonymised rows."
    )
    region = serializers.CharField(
        allow_null=True, help_text="noord, oost, zuid or west; null for pseudonymised rows."
    )
    size_class = serializers.ChoiceField(
        choices=["<4000", "4000-15000", ">15000"],
        allow_null=True,
        help_text=(
            "Students in this school year: < 4,000 / 4,000-15,000 / > 15,000; null for "
            "pseudonymised rows."
        ),
    )
    urbanity = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=5,
        help_text=(
            "CBS urbanity class of the main seat: 1 very strongly ... 5 not urban; null for "
            "pseudonymised rows."
        ),
    )
    school_year = serializers.CharField()
    group = serializers.CharField()
    victim_role = serializers.CharField(help_text="all, student or staff")
    count = serializers.IntegerField(
        min_value=0,
        allow_null=True,
        help_text="Exact count (named access); null when `suppressed` or pseudonymised.",
    )
    students = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        help_text="Exact DUO student count (named access); null for pseudonymised rows.",
    )
    rate_per_1000 = serializers.FloatField(
        allow_null=True,
        help_text="Exact (named access); rounded to a whole number for pseudonymised rows.",
    )
    ci_low = serializers.FloatField(
        allow_null=True, help_text="Exact interval (named access); null when pseudonymised."
    )
    ci_high = serializers.FloatField(allow_null=True)
    confidence_level = serializers.FloatField()
    suppressed = serializers.BooleanField(
        help_text="Count below k, or withheld so that no such count can be recovered."
    )
    taxonomy_version = serializers.CharField()
