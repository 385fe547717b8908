"""Which JOB/MO survey belongs to a school year, and its scores per institution."""

from __future__ import annotations

import logging

from django.db.models import Max

from miv.schoolyear import parse_school_year

from .models import (
    SafetyScore,
)

logger = logging.getLogger(__name__)


def survey_school_year(survey_year: int) -> str:
    """A survey of year Y was held in school year (Y-1)-Y."""
    return f"{survey_year - 1}-{survey_year}"


def default_survey_year(source: str, school_year: str) -> int | None:
    """The latest survey of ``source`` held in or before ``school_year``: Y - 1 <= start."""
    start = parse_school_year(school_year)
    return SafetyScore.objects.filter(source=source, survey_year__lte=start + 1).aggregate(
        latest=Max("survey_year")
    )["latest"]


def survey_scores(source: str, survey_year: int) -> dict[int, float]:
    return {
        institution_id: float(value)
        for institution_id, value in SafetyScore.objects.filter(
            source=source, survey_year=survey_year
        ).values_list("institution_id", "value")
    }
