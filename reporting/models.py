"""Figures of the MIV report: denominators (DUO student counts), survey scores (JOB, MO),
and the rates computed from the registrations."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.models import Institution

from .choices import ScoreSource

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
