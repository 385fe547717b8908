"""Figures of the MIV report: denominators (DUO student counts), survey scores (JOB, MO),
and the rates computed from the registrations."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Institution
from miv.models import Job
from miv.schoolyear import parse_school_year

from .choices import FigureSetStatus, GroupLevel, JobReason, ScoreSource, VictimGroup

# A reason for marking a year's registrations not usable: a sentence or two.
REASON_MAX_LENGTH = 500

# Valid range of a score per survey: JOB is a percentage, MO a mean on 0-10.
SCORE_RANGES = {
    ScoreSource.JOB: (Decimal(0), Decimal(100)),
    ScoreSource.MO: (Decimal(0), Decimal(10)),
}


class StudentCount(models.Model):
    """The number of enrolled students of an institution in a school year: DUO's 1 October
    count of year *yyyy*, the denominator of school year *yyyy*-*yyyy+1*."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="student_counts",
        verbose_name=_("instelling"),
    )
    school_year = models.CharField(_("schooljaar"), max_length=9, db_index=True)
    students = models.PositiveIntegerField(_("studenten"))
    source = models.CharField(_("bronbestand"), max_length=255, blank=True)
    source_date = models.DateField(_("datum bronbestand"), null=True, blank=True)
    updated_at = models.DateTimeField(_("bijgewerkt op"), auto_now=True)

    class Meta:
        ordering = ["institution__name", "school_year"]
        verbose_name = _("studentaantal")
        verbose_name_plural = _("studentaantallen")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "school_year"], name="student_count_once_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.brin} {self.school_year}: {self.students}"


class SafetyScore(models.Model):
    """A safety score of an institution from a survey.

    ``job``: percentage of students answering 4-5 on "Voel je je veilig op school?" (0-100).
    ``mo``: mean staff score on "Ik voel me veilig op mijn werk" (0-10). A survey of year
    *Y* was held in school year (*Y*-1)-*Y*.
    """

    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="safety_scores",
        verbose_name=_("instelling"),
    )
    source = models.CharField(_("bron"), max_length=3, choices=ScoreSource.choices)
    survey_year = models.PositiveSmallIntegerField(
        _("peiljaar"), validators=[MinValueValidator(2000)]
    )
    value = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    respondents = models.PositiveIntegerField(_("respondenten"), null=True, blank=True)
    updated_at = models.DateTimeField(_("bijgewerkt op"), auto_now=True)

    class Meta:
        ordering = ["institution__name", "source", "survey_year"]
        verbose_name = _("veiligheidsscore")
        verbose_name_plural = _("veiligheidsscores")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "source", "survey_year"], name="safety_score_once_per_survey"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.brin} {self.source} {self.survey_year}: {self.value}"

    def clean(self) -> None:
        low, high = SCORE_RANGES.get(self.source, (None, None))
        if low is not None and self.value is not None and not (low <= self.value <= high):
            raise ValidationError(
                {
                    "value": _("Een %(source)s-score ligt tussen %(low)s en %(high)s.")
                    % {"source": self.source.upper(), "low": low, "high": high}
                }
            )


# --- Computed figures (the reporting engine) --------------------------------------------------
#
# The figures of a school year are written as one FigureSet: the job fills a new set while
# it is "building" (invisible to readers), then makes it "current" in one short transaction.
# Readers always select rows through the current set, so they see the old set or the new
# one, never a mix. Superseded sets are kept for a grace period so that a reader that looked
# up the current set just before the swap can still read it, then deleted.


class FigureYear(models.Model):
    """Staleness bookkeeping of one school year's figures.

    Every change of incidents, student counts or scores bumps ``change_seq``; a computation
    remembers the ``change_seq`` it started from and stores it as ``computed_seq`` when its
    set becomes current. The year is stale while ``change_seq > computed_seq``.
    ``scheduled_for`` is when the debounced recomputation is due (one message per burst).
    """

    school_year = models.CharField(_("schooljaar"), max_length=9, unique=True)
    change_seq = models.PositiveBigIntegerField(_("wijzigingsnummer"), default=0)
    computed_seq = models.PositiveBigIntegerField(_("berekend tot wijziging"), default=0)
    stale_since = models.DateTimeField(_("verouderd sinds"), null=True, blank=True)
    changed_at = models.DateTimeField(_("laatst gewijzigd"), null=True, blank=True)
    computed_at = models.DateTimeField(_("laatst berekend"), null=True, blank=True)
    scheduled_for = models.DateTimeField(_("herberekening gepland"), null=True, blank=True)

    class Meta:
        ordering = ["school_year"]
        verbose_name = _("cijferjaar")
        verbose_name_plural = _("cijferjaren")

    def __str__(self) -> str:
        return self.school_year

    @property
    def stale(self) -> bool:
        return self.change_seq > self.computed_seq


class FigureSet(models.Model):
    """One complete computation of a school year's figures. At most one set per school year
    is ``current``; readers only ever read rows of the current set."""

    school_year = models.CharField(_("schooljaar"), max_length=9, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=FigureSetStatus.choices,
        default=FigureSetStatus.BUILDING,
    )
    taxonomy_version = models.CharField(_("versie indeling"), max_length=20, blank=True)
    confidence_level = models.FloatField(_("betrouwbaarheid"), default=0.95)
    # FigureYear.change_seq when the computation started: what the set is known to include.
    inputs_seq = models.PositiveBigIntegerField(_("berekend tot wijziging"), default=0)
    incidents_counted = models.PositiveIntegerField(_("getelde incidenten"), default=0)
    institutions_included = models.PositiveIntegerField(_("instellingen meegeteld"), default=0)
    # [{"institution_id": 12, "reason": "no_student_count", "count": 40}, ...]
    excluded = models.JSONField(_("niet meegeteld"), default=list, blank=True)
    # The survey scores the correlations were computed with, frozen with the set so that a
    # later score import cannot make stored points and stored r disagree:
    # {"job": {"survey_year": 2022, "scores": {"12": 81.5, ...}}, "mo": {...}}
    scores = models.JSONField(_("gebruikte scores"), default=dict, blank=True)
    # What readers outside an institution see of this set (reporting.publication).
    publication = models.JSONField(_("publicatie"), default=dict, blank=True)
    job = models.ForeignKey(
        "FigureJob",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taak"),
    )
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    computed_at = models.DateTimeField(_("berekend op"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("vervangen op"), null=True, blank=True)

    class Meta:
        ordering = ["school_year", "-created_at"]
        verbose_name = _("cijferset")
        verbose_name_plural = _("cijfersets")
        constraints = [
            models.UniqueConstraint(
                fields=["school_year"],
                condition=models.Q(status=FigureSetStatus.CURRENT),
                name="figure_set_one_current_per_year",
            )
        ]
        indexes = [models.Index(fields=["school_year", "status"], name="figure_set_year_status")]

    def __str__(self) -> str:
        return f"{self.school_year} #{self.pk} ({self.status})"


class InstitutionRate(models.Model):
    """Incidents per 1,000 students of one institution in one school year, for one group
    (total, misdragingen, ongevallen, a category, subcategory or type) and victim role,
    with its exact Poisson interval. Only institutions with a student count have rows."""

    # Tens of thousands of rows are written per run with COPY, so this table has exactly one
    # index besides the primary key: the unique constraint, whose columns follow the order
    # the rows are written in (cheap inserts). No database FK constraints either: the
    # deferred checks cost as much as the COPY itself. The rows are derived from an
    # existing set and existing institutions by construction, and deleting either still
    # cascades (Django does that, not the database).
    figure_set = models.ForeignKey(
        FigureSet,
        on_delete=models.CASCADE,
        related_name="rates",
        db_constraint=False,
        db_index=False,
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=_("instelling"),
    )
    school_year = models.CharField(_("schooljaar"), max_length=9)
    level = models.CharField(_("niveau"), max_length=12, choices=GroupLevel.choices)
    group = models.CharField(_("groep"), max_length=20)
    victim_role = models.CharField(_("slachtoffer"), max_length=10, choices=VictimGroup.choices)
    count = models.PositiveIntegerField(_("aantal"))
    students = models.PositiveIntegerField(_("studenten"))
    rate = models.FloatField(_("per 1.000 studenten"))
    ci_low = models.FloatField(_("ondergrens"))
    ci_high = models.FloatField(_("bovengrens"))
    method = models.CharField(_("methode"), max_length=30)
    taxonomy_version = models.CharField(_("versie indeling"), max_length=20)
    computed_at = models.DateTimeField(_("berekend op"))

    class Meta:
        ordering = ["figure_set", "group", "victim_role", "institution"]
        verbose_name = _("cijfer per instelling")
        verbose_name_plural = _("cijfers per instelling")
        constraints = [
            models.UniqueConstraint(
                fields=["figure_set", "institution", "group", "victim_role"],
                name="institution_rate_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year} {self.group}/{self.victim_role} {self.institution_id}"


class SectorRate(models.Model):
    """The sector over the institutions with a student count, for one school year, group and
    victim role: the unweighted mean of their rates with a t-interval *and* the pooled rate
    with its exact interval (labelled by ``mean_method`` and ``pooled_method``), median,
    minimum, maximum and k; ``excluded`` lists the institutions left out and why."""

    figure_set = models.ForeignKey(
        FigureSet, on_delete=models.CASCADE, related_name="sector", db_index=False
    )
    school_year = models.CharField(_("schooljaar"), max_length=9)
    level = models.CharField(_("niveau"), max_length=12, choices=GroupLevel.choices)
    group = models.CharField(_("groep"), max_length=20)
    victim_role = models.CharField(_("slachtoffer"), max_length=10, choices=VictimGroup.choices)
    institutions = models.PositiveIntegerField(_("aantal instellingen (k)"))
    mean_rate = models.FloatField(_("gemiddelde"), null=True)
    mean_ci_low = models.FloatField(_("ondergrens gemiddelde"), null=True)
    mean_ci_high = models.FloatField(_("bovengrens gemiddelde"), null=True)
    mean_method = models.CharField(_("methode gemiddelde"), max_length=30)
    pooled_count = models.PositiveIntegerField(_("aantal incidenten"))
    pooled_students = models.PositiveIntegerField(_("aantal studenten"))
    pooled_rate = models.FloatField(_("gepoold cijfer"), null=True)
    pooled_ci_low = models.FloatField(_("ondergrens gepoold"), null=True)
    pooled_ci_high = models.FloatField(_("bovengrens gepoold"), null=True)
    pooled_method = models.CharField(_("methode gepoold"), max_length=30)
    median = models.FloatField(_("mediaan"), null=True)
    min_rate = models.FloatField(_("minimum"), null=True)
    max_rate = models.FloatField(_("maximum"), null=True)
    confidence_level = models.FloatField(_("betrouwbaarheid"))
    excluded = models.JSONField(_("niet meegeteld"), default=list, blank=True)
    taxonomy_version = models.CharField(_("versie indeling"), max_length=20)
    computed_at = models.DateTimeField(_("berekend op"))

    class Meta:
        ordering = ["figure_set", "group", "victim_role"]
        verbose_name = _("sectorcijfer")
        verbose_name_plural = _("sectorcijfers")
        constraints = [
            models.UniqueConstraint(
                fields=["figure_set", "group", "victim_role"], name="sector_rate_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year} {self.group}/{self.victim_role}"


class ScoreCorrelation(models.Model):
    """The correlation between the institutions' rates (victim role ``all``) of one group and
    a survey score (JOB or MO) of the survey year used, with the institutions flagged for
    possible under-registration (score *and* rate below the sector median).

    The points are not repeated here: they are the set's :class:`InstitutionRate` rows of
    the group (victim role ``all``) joined with the scores frozen in ``FigureSet.scores``.
    ``flagged``: ``[{"institution_id", "rate", "score"}]``; the reason is rendered when
    read, in the reader's language, from these numbers and the medians.
    """

    figure_set = models.ForeignKey(
        FigureSet, on_delete=models.CASCADE, related_name="correlations", db_index=False
    )
    school_year = models.CharField(_("schooljaar"), max_length=9)
    level = models.CharField(_("niveau"), max_length=12, choices=GroupLevel.choices)
    group = models.CharField(_("groep"), max_length=20)
    victim_role = models.CharField(_("slachtoffer"), max_length=10, choices=VictimGroup.choices)
    source = models.CharField(_("bron"), max_length=3, choices=ScoreSource.choices)
    survey_year = models.PositiveSmallIntegerField(_("peiljaar"), null=True)
    status = models.CharField(_("status"), max_length=20)
    n = models.PositiveIntegerField(_("n"))
    pearson_r = models.FloatField(null=True)
    pearson_p = models.FloatField(null=True)
    pearson_ci_low = models.FloatField(null=True)
    pearson_ci_high = models.FloatField(null=True)
    spearman_rho = models.FloatField(null=True)
    spearman_p = models.FloatField(null=True)
    confidence_level = models.FloatField(_("betrouwbaarheid"))
    rate_median = models.FloatField(_("mediaan cijfer"), null=True)
    score_median = models.FloatField(_("mediaan score"), null=True)
    flagged = models.JSONField(_("mogelijke onderregistratie"), default=list, blank=True)
    computed_at = models.DateTimeField(_("berekend op"))

    class Meta:
        ordering = ["figure_set", "group", "source"]
        verbose_name = _("correlatie met veiligheidsscore")
        verbose_name_plural = _("correlaties met veiligheidsscores")
        constraints = [
            models.UniqueConstraint(
                fields=["figure_set", "group", "victim_role", "source"],
                name="score_correlation_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year} {self.group} ~ {self.source} {self.survey_year}"


class FigureJob(Job):
    """One requested computation of a school year's figures and how it went (a
    :class:`miv.models.Job`): the job API reports it. ``attempts`` counts starts; more
    than one means the task was retried (a database error) or redelivered after a worker
    died."""

    school_year = models.CharField(_("schooljaar"), max_length=9, db_index=True)
    reason = models.CharField(_("aanleiding"), max_length=10, choices=JobReason.choices)
    figure_set = models.ForeignKey(
        FigureSet,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cijferset"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("berekening")
        verbose_name_plural = _("berekeningen")

    def __str__(self) -> str:
        return f"{self.school_year} {self.status} ({self.pk})"


class ResearchRequestLog(models.Model):
    """One request for figures by a researcher, or to the research API by anyone: who asked
    what, when, and the answer's status. Never the returned data."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gebruiker"),
    )
    # Kept when the account is deleted: the log must still say who it was.
    username = models.CharField(_("gebruikersnaam"), max_length=150)
    at = models.DateTimeField(_("tijdstip"), default=timezone.now, db_index=True)
    endpoint = models.CharField(_("onderdeel"), max_length=100)
    method = models.CharField(_("methode"), max_length=10)
    # The query parameters as sent ({"group": ["total"], ...}), cut to a sane size.
    query = models.JSONField(_("vraag"), default=dict, blank=True)
    authentication = models.CharField(_("aanmelding"), max_length=20)
    status_code = models.PositiveSmallIntegerField(_("statuscode"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("onderzoeksverzoek")
        verbose_name_plural = _("onderzoeksverzoeken")
        indexes = [models.Index(fields=["user", "-at"], name="research_log_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.endpoint} {self.status_code}"


class UnusableYear(models.Model):
    """An institution's registrations of one school year, marked "not usable for the sector"
    by its coordinator or an administrator, with the reason (e.g. only one location
    registered that year). The figures job leaves the institution-year out of every sector
    statistic (``excluded`` reason ``marked_unusable``) and the coverage counts it as
    registered but not usable. Unmarking deletes the row; both are in the audit trail
    (:mod:`reporting.usability`)."""

    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        related_name="unusable_years",
        verbose_name=_("instelling"),
    )
    school_year = models.CharField(_("schooljaar"), max_length=9)
    reason = models.TextField(_("reden"), max_length=REASON_MAX_LENGTH)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gemarkeerd door"),
    )
    marked_at = models.DateTimeField(_("gemarkeerd op"), default=timezone.now)

    class Meta:
        ordering = ["school_year", "institution__name"]
        verbose_name = _("niet bruikbaar schooljaar")
        verbose_name_plural = _("niet bruikbare schooljaren")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "school_year"], name="unusable_year_once_per_institution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.brin} {self.school_year}"

    def clean(self) -> None:
        errors = {}
        try:
            parse_school_year(self.school_year)
        except ValueError:
            errors["school_year"] = _("Ongeldig schooljaar; schrijf 2022-2023.")
        self.reason = " ".join((self.reason or "").split())
        if not self.reason:
            errors["reason"] = _("Geef de reden: waarom zijn deze registraties niet bruikbaar?")
        elif len(self.reason) > REASON_MAX_LENGTH:
            errors["reason"] = _("Maximaal %(max)d tekens.") % {"max": REASON_MAX_LENGTH}
        if errors:
            raise ValidationError(errors)
