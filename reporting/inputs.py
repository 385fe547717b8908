"""Corrections of the figures' inputs by an administrator (the Django admin): one student
count or survey score at a time, with the checks of the importers
(:mod:`reporting.importers`), and the figures told after commit, as an import does.

Who changed what is recorded by the admin's own log (``LogEntry``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from miv.schoolyear import parse_school_year, school_year_from_start

from .models import SafetyScore, StudentCount
from .signals import figure_inputs_changed

ZERO_STUDENTS = gettext_lazy(
    "Een instelling zonder studenten heeft geen studentaantal; verwijder het."
)


def check_school_year(value: str) -> None:
    try:
        parse_school_year(value)
    except ValueError:
        raise ValidationError(
            {
                "school_year": _("Ongeldig schooljaar '%(value)s'; schrijf 2022-2023.")
                % {"value": value}
            }
        ) from None


def check_survey_year(value: int | None) -> None:
    this_year = timezone.localdate().year
    if value is not None and not 2000 <= value <= this_year:
        raise ValidationError(
            {
                "survey_year": _("Ongeldig peiljaar '%(value)s' (2000 tot en met %(max)s).")
                % {"value": value, "max": this_year}
            }
        )


def _notify(sender, school_years: set[str]) -> None:
    years = {year for year in school_years if year}
    if years:
        transaction.on_commit(lambda: figure_inputs_changed.send(sender=sender, school_years=years))


def save_student_count(*, actor, count: StudentCount) -> StudentCount:
    """Validate and save a (new or corrected) student count; a count of 0 is refused (the
    importer withdraws it instead: no denominator rather than a rate of infinity)."""
    with transaction.atomic():
        previous = (
            StudentCount.objects.filter(pk=count.pk).values_list("school_year", flat=True).first()
            if count.pk
            else None
        )
        check_school_year(count.school_year)
        if count.students is not None and count.students < 1:
            raise ValidationError({"students": ZERO_STUDENTS})
        if not count.source:
            count.source = _("correctie door %(user)s") % {"user": actor.get_username()}
        count.source_date = count.source_date or timezone.localdate()
        count.full_clean()
        count.save()
        _notify(StudentCount, {count.school_year, previous})
    return count


def delete_student_count(*, actor, count: StudentCount) -> None:
    with transaction.atomic():
        year = count.school_year
        count.delete()
        _notify(StudentCount, {year})


def _survey_school_year(survey_year: int | None) -> str | None:
    return school_year_from_start(survey_year - 1) if survey_year else None


def save_safety_score(*, actor, score: SafetyScore) -> SafetyScore:
    """Validate (range per survey, two decimals, year) and save a survey score."""
    with transaction.atomic():
        previous = (
            SafetyScore.objects.filter(pk=score.pk).values_list("survey_year", flat=True).first()
            if score.pk
            else None
        )
        check_survey_year(score.survey_year)
        score.full_clean()
        score.save()
        _notify(
            SafetyScore, {_survey_school_year(score.survey_year), _survey_school_year(previous)}
        )
    return score


def delete_safety_score(*, actor, score: SafetyScore) -> None:
    with transaction.atomic():
        year = _survey_school_year(score.survey_year)
        score.delete()
        _notify(SafetyScore, {year})
