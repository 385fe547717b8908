"""``compute_school_year``: the whole computation of a school year's figures."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone

from incidents.models import Institution
from miv.schoolyear import parse_school_year
from taxonomy.models import Category

from .. import publication, stats, surveys
from ..choices import FigureSetStatus, ScoreSource
from ..groups import (
    MISCONDUCT_CATEGORY,
    REPORT_GROUPS,
    group_table,
)
from ..models import (
    FigureJob,
    FigureSet,
    FigureYear,
    InstitutionRate,
    ScoreCorrelation,
    SectorRate,
    StudentCount,
    UnusableYear,
)
from ..signals import figure_set_computed
from . import locking, rows, store

logger = logging.getLogger(__name__)


ProgressCallback = Callable[[int, str], None]


def _figure_year(school_year: str) -> FigureYear:
    year, _ = FigureYear.objects.get_or_create(school_year=school_year)
    return year


def _job_progress(job: FigureJob | None) -> ProgressCallback:
    def report(percent: int, step: str) -> None:
        if job is not None:
            FigureJob.objects.filter(pk=job.pk).update(
                progress=percent, step=step, updated_at=timezone.now()
            )

    return report


def compute_school_year(
    school_year: str,
    *,
    job: FigureJob | None = None,
    level: float = stats.DEFAULT_LEVEL,
) -> FigureSet:
    """Compute and publish all figures of ``school_year``. Safe to run twice at once."""
    parse_school_year(school_year)
    progress = _job_progress(job)
    with locking.school_year_lock(school_year):
        exclusive = connection.vendor == "postgresql"
        # What the set will include: changes after this point keep the year stale.
        inputs_seq = _figure_year(school_year).change_seq
        store.discard_unfinished(school_year, exclusive=exclusive)
        progress(5, "aggregate")

        groups = group_table()
        aggregate = rows.aggregate(school_year)
        students = dict(
            StudentCount.objects.filter(school_year=school_year).values_list(
                "institution_id", "students"
            )
        )
        # Active institutions appear even without registrations (rate 0, or excluded for
        # want of a denominator); inactive ones only when they have data for the year.
        institution_ids = set(Institution.objects.filter(active=True).values_list("pk", flat=True))
        institution_ids |= set(students)
        unusable = set(
            UnusableYear.objects.filter(school_year=school_year).values_list(
                "institution_id", flat=True
            )
        )
        scores = {}
        for source in ScoreSource.values:
            survey_year = surveys.default_survey_year(source, school_year)
            scores[source] = (
                survey_year,
                surveys.survey_scores(source, survey_year) if survey_year is not None else {},
            )
        progress(35, "compute")

        computed_at = timezone.now()
        figure_set = FigureSet.objects.create(
            school_year=school_year,
            status=FigureSetStatus.BUILDING,
            taxonomy_version=groups.taxonomy_version,
            confidence_level=level,
            inputs_seq=inputs_seq,
            job=job,
            computed_at=computed_at,
        )
        try:
            with locking.no_automatic_gc():
                computed = rows.compute_rows(
                    school_year=school_year,
                    figure_set_id=figure_set.pk,
                    computed_at=computed_at,
                    groups=groups,
                    aggregate=aggregate.counts,
                    students=students,
                    institution_ids=institution_ids,
                    scores=scores,
                    level=level,
                    unusable=unusable,
                )
                progress(50, "write")
                with transaction.atomic():
                    store.write_rows(InstitutionRate, rows.RATE_COLUMNS, computed.rate_rows)
                    store.write_rows(SectorRate, rows.SECTOR_COLUMNS, computed.sector_rows)
                    store.write_rows(
                        ScoreCorrelation, rows.CORRELATION_COLUMNS, computed.correlation_rows
                    )
                    FigureSet.objects.filter(pk=figure_set.pk).update(
                        incidents_counted=computed.incidents_counted,
                        institutions_included=computed.institutions_included,
                        excluded=computed.excluded,
                        scores={
                            source: {
                                "survey_year": survey_year,
                                "scores": {str(k): v for k, v in source_scores.items()},
                            }
                            for source, (survey_year, source_scores) in scores.items()
                        },
                    )
                del computed  # free the rows while the collector is still paused
            progress(80, "protect")
            categories = Category.objects.order_by("sort_order", "code")
            publication.publish(
                figure_set.pk,
                (*REPORT_GROUPS, *categories.values_list("code", flat=True)),
                MISCONDUCT_CATEGORY,
                aggregate.monthly,
            )
            progress(90, "publish")
            published = store.make_current(figure_set)
        except Exception:
            # Remove our unfinished set now; a hard crash leaves it to the next run.
            store.forget_unfinished(figure_set.pk)
            raise
        store.delete_superseded(school_year)
    progress(95, "others")
    _announce_computed(school_year)
    progress(100, "done")
    return published


def _announce_computed(school_year: str) -> None:
    for receiver, outcome in figure_set_computed.send_robust(
        sender=FigureSet, school_year=school_year
    ):
        if isinstance(outcome, Exception):
            logger.error(
                "Figures of %s computed, but %s failed: %r",
                school_year,
                getattr(receiver, "__qualname__", receiver),
                outcome,
                exc_info=outcome,
            )
