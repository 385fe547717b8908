"""Which school years are stale, and when their debounced recomputation is due."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from incidents.models import Incident
from miv.schoolyear import parse_school_year, school_year_of

from ..choices import FigureSetStatus
from ..models import (
    FigureSet,
    FigureYear,
    StudentCount,
)
from . import jobs, timing

logger = logging.getLogger(__name__)


def known_school_years() -> list[str]:
    """School years that have (or had) figure inputs: incidents, student counts or a
    computation."""
    years = set(StudentCount.objects.values_list("school_year", flat=True).distinct())
    years |= set(FigureYear.objects.values_list("school_year", flat=True))
    years |= set(Incident.objects.values_list("school_year", flat=True).order_by().distinct())
    return sorted(y for y in years if _valid_year(y))


def years_from(school_year: str) -> list[str]:
    """``school_year`` and every later known school year (up to the current one)."""
    current = school_year_of(timezone.localdate())
    later = {y for y in known_school_years() if school_year <= y <= current}
    return sorted(later | {school_year})


def _valid_year(value: str) -> bool:
    try:
        parse_school_year(value)
    except ValueError:
        return False
    return True


# One statement per school year marks it stale and, unless a recomputation is due already,
# claims the next one: so a registration adds one write to its own transaction.
_MARK_STALE_SQL = """
INSERT INTO reporting_figureyear
    (school_year, change_seq, computed_seq, stale_since, changed_at, scheduled_for)
VALUES (%(year)s, 1, 0, %(now)s, %(now)s, %(due)s)
ON CONFLICT (school_year) DO UPDATE SET
    change_seq = reporting_figureyear.change_seq + 1,
    changed_at = EXCLUDED.changed_at,
    stale_since = COALESCE(reporting_figureyear.stale_since, EXCLUDED.stale_since),
    scheduled_for = CASE
        WHEN reporting_figureyear.scheduled_for IS NULL
          OR reporting_figureyear.scheduled_for <= EXCLUDED.changed_at
        THEN EXCLUDED.scheduled_for
        ELSE reporting_figureyear.scheduled_for
    END
RETURNING scheduled_for = %(due)s
"""


def mark_stale(school_years: Iterable[str] | None) -> dict[str, bool]:
    """Record that the inputs of these school years changed (None: all years), and claim
    the debounced recomputation of each year that has none due. Returns, per year marked,
    whether this call claimed its recomputation (the caller then enqueues it)."""
    years = known_school_years() if school_years is None else sorted(set(school_years))
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    params = {"now": adapt(now), "due": adapt(now + timedelta(seconds=timing.debounce_seconds()))}
    marked = {}
    with connection.cursor() as cursor:
        for school_year in years:
            if not _valid_year(school_year):
                logger.warning("ignoring a change for malformed school year %r", school_year)
                continue
            cursor.execute(_MARK_STALE_SQL, {**params, "year": school_year})
            marked[school_year] = bool(cursor.fetchone()[0])
    return marked


def stale_years_without_recomputation(*, grace_seconds: float) -> list[str]:
    """Stale years with no recomputation due (none scheduled, or one due more than
    ``grace_seconds`` ago that never ran) and no job queued or running."""
    overdue = timezone.now() - timedelta(seconds=timing.debounce_seconds() + grace_seconds)
    years = FigureYear.objects.filter(change_seq__gt=F("computed_seq")).filter(
        Q(scheduled_for__isnull=True) | Q(scheduled_for__lt=overdue)
    )
    return [y.school_year for y in years if jobs.active_job(y.school_year) is None]


def clear_schedule(school_year: str) -> None:
    """The due recomputation is running: the next change may schedule another one."""
    FigureYear.objects.filter(school_year=school_year).update(scheduled_for=None)


@dataclass(frozen=True)
class DebounceDecision:
    action: str  # "skip", "wait" or "compute"
    delay: float = 0.0


def debounce_decision(school_year: str, *, now: datetime | None = None) -> DebounceDecision:
    """What a debounced recomputation should do when it runs."""
    now = now or timezone.now()
    year = FigureYear.objects.filter(school_year=school_year).first()
    if year is None or not year.stale:
        return DebounceDecision("skip")
    quiet_until = (year.changed_at or now) + timedelta(seconds=timing.debounce_seconds())
    waited = (now - (year.stale_since or now)).total_seconds()
    if quiet_until > now and waited < timing.max_wait_seconds():
        # A change arrived within the window: the burst is still going on.
        return DebounceDecision("wait", (quiet_until - now).total_seconds())
    return DebounceDecision("compute")


def years_for_nightly_run(today: date | None = None) -> list[str]:
    """Stale years, years with inputs that were never computed, and the current year."""
    current = school_year_of(today or timezone.localdate())
    stale = {y.school_year for y in FigureYear.objects.all() if y.stale}
    computed = set(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT).values_list(
            "school_year", flat=True
        )
    )
    never = {y for y in known_school_years() if y not in computed}
    return sorted(stale | never | {current})


def claim_recomputation(school_year: str) -> bool:
    """Claim the debounced recomputation of ``school_year`` unless one is already due;
    the caller sends it (:func:`reporting.tasks.schedule_recomputation`)."""
    now = timezone.now()
    claimed = (
        FigureYear.objects.filter(school_year=school_year)
        .filter(Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))
        .update(scheduled_for=now + timedelta(seconds=timing.debounce_seconds()))
    )
    return bool(claimed)


def set_schedule(school_year: str, delay: float) -> None:
    """The recomputation of ``school_year`` is due in ``delay`` seconds."""
    FigureYear.objects.filter(school_year=school_year).update(
        scheduled_for=timezone.now() + timedelta(seconds=delay)
    )
