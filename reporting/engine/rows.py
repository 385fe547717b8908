"""The computation proper: the year's counts aggregated in the database and rolled up to
every group, and the rows of rates, sector summaries and correlations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat

import numpy as np
from django.db import connection, transaction
from django.db.models import Count

from incidents.models import Incident

from .. import same_period, stats
from ..choices import ScoreSource, VictimGroup
from ..correlations import CORRELATION_FIELDS, MEDIANS, correlate_groups
from ..groups import (
    EXCLUDED_MARKED_UNUSABLE,
    EXCLUDED_NO_STUDENT_COUNT,
    EXCLUDED_ZERO_STUDENTS,
    VICTIM_GROUPS,
    GroupTable,
)

logger = logging.getLogger(__name__)


@dataclass
class Computed:
    """The result of the in-memory part of the computation, ready to be written."""

    rate_rows: list[tuple] = field(default_factory=list)
    sector_rows: list[tuple] = field(default_factory=list)
    correlation_rows: list[tuple] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)
    incidents_counted: int = 0
    institutions_included: int = 0


RATE_COLUMNS = (
    "figure_set_id",
    "institution_id",
    "school_year",
    "level",
    "group",
    "victim_role",
    "count",
    "students",
    "rate",
    "ci_low",
    "ci_high",
    "method",
    "taxonomy_version",
    "computed_at",
)
SECTOR_COLUMNS = (
    "figure_set_id",
    "school_year",
    "level",
    "group",
    "victim_role",
    "institutions",
    "mean_rate",
    "mean_ci_low",
    "mean_ci_high",
    "mean_method",
    "pooled_count",
    "pooled_students",
    "pooled_rate",
    "pooled_ci_low",
    "pooled_ci_high",
    "pooled_method",
    "median",
    "min_rate",
    "max_rate",
    "confidence_level",
    "excluded",
    "taxonomy_version",
    "computed_at",
)
CORRELATION_COLUMNS = (
    "figure_set_id",
    "school_year",
    "level",
    "group",
    "victim_role",
    "source",
    "survey_year",
    *CORRELATION_FIELDS,
    "confidence_level",
    *MEDIANS,
    "flagged",
    "computed_at",
)


@dataclass(frozen=True)
class Aggregate:
    """The year's counted incidents, aggregated: the counts the figures are built from,
    ``(institution_id, incident_type_id, victim_role, count)``, and the counts per
    institution and calendar month, ``(institution_id, month, count)``, that the same
    period's publication (:mod:`reporting.same_period`) is built from."""

    counts: list[tuple[int, int, str, int]]
    monthly: list[tuple[int, int, int]]


# Both groupings in one scan of the year's incidents (PostgreSQL's GROUPING SETS): the
# month grouping adds a little under half this way (both 0.56 s, the first alone 0.39 s, for
# three years at 1M incidents in benchmarks/figures.py), a whole second scan otherwise.
# PostgreSQL runs GROUPING SETS without parallel workers, so at 10M incidents (3.3M a year)
# two parallel queries were about a fifth faster (4.8 s against 6.0 s for three years on
# 2 cores); at 1M they were slower (0.93 s against 0.59 s). Kept as one scan: the sector
# registers far fewer than 1M incidents a year.
_BOTH_GROUPINGS = """
SELECT institution_id, incident_type_id, victim_role, date_part('month', occurred_on)::int,
       count(*), GROUPING(incident_type_id)
FROM ({counted}) AS counted
GROUP BY GROUPING SETS (
    (institution_id, incident_type_id, victim_role),
    (institution_id, date_part('month', occurred_on)::int)
)
"""

_AGGREGATE_WORK_MEM = "64MB"


def aggregate(school_year: str) -> Aggregate:
    """The year's :class:`Aggregate`: one query on PostgreSQL, two elsewhere. Never a loop
    over incidents in Python."""
    if connection.vendor != "postgresql":
        return Aggregate(aggregate_counts(school_year), same_period.month_rows(school_year))
    counted = (
        Incident.objects.counted()
        .filter(school_year=school_year)
        .values_list("institution_id", "incident_type_id", "victim_role", "occurred_on")
        .order_by()
    )
    sql, params = counted.query.sql_with_params()
    counts, monthly = [], []
    with transaction.atomic(), connection.cursor() as cursor:
        # Both groupings in hash tables (a few MB at most: institutions x types x roles and
        # institutions x months); with the default work_mem the planner sorts the year's
        # incidents for one of them instead, which costs more than a second scan.
        cursor.execute(f"SET LOCAL work_mem = '{_AGGREGATE_WORK_MEM}'")
        cursor.execute(_BOTH_GROUPINGS.format(counted=sql), params)
        for institution, type_id, role, month, n, by_month in cursor.fetchall():
            if by_month:
                monthly.append((institution, month, n))
            else:
                counts.append((institution, type_id, role, n))
    return Aggregate(counts, monthly)


def aggregate_counts(school_year: str) -> list[tuple[int, int, str, int]]:
    """``(institution_id, incident_type_id, victim_role, count)`` of the year's counted
    incidents: the one GROUP BY the figures are built from."""
    query = (
        Incident.objects.counted()
        .filter(school_year=school_year)
        .values_list("institution_id", "incident_type_id", "victim_role")
        .annotate(n=Count("*"))
        .order_by()
    )
    # The ORM builds the query; the rows are fetched raw, because per-row conversion of
    # the ORM would cost a noticeable share of the aggregate itself.
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _victim_index(role: str) -> int:
    # Columns of the aggregate cube: student, staff, everyone else (visitor, none, unknown).
    return {"student": 0, "staff": 1}.get(role, 2)


def compute_rows(
    *,
    school_year: str,
    figure_set_id: int,
    computed_at: datetime,
    groups: GroupTable,
    aggregate: list[tuple[int, int, str, int]],
    students: dict[int, int],
    institution_ids: Iterable[int],
    scores: dict[str, tuple[int | None, dict[int, float]]],
    level: float = stats.DEFAULT_LEVEL,
    unusable: Iterable[int] = (),
) -> Computed:
    """All rows of a figure set, from the aggregate. No queries.

    ``students``: the denominators; ``institution_ids``: every institution that should
    appear (with rates, or in the excluded list); ``scores``: per source the survey year
    used and the scores of that survey; ``unusable``: institutions whose year is marked not
    usable (left out like those without a denominator).
    """
    out = Computed()
    unusable = set(unusable)
    all_ids = sorted(set(institution_ids) | {row[0] for row in aggregate})
    position = {inst: i for i, inst in enumerate(all_ids)}
    n_types, n_groups = groups.matrix.shape

    # The cube institution × type × (student, staff, other), then the roll-up to groups.
    cube = np.zeros((len(all_ids), n_types, 3), dtype=np.int64)
    for institution_id, type_id, role, n in aggregate:
        cube[position[institution_id], groups.type_index[type_id], _victim_index(role)] += n
    by_group = np.einsum("itr,tg->igr", cube, groups.matrix)  # institutions × groups × 3
    # victim role all / student / staff
    counts = np.stack([by_group.sum(axis=2), by_group[:, :, 0], by_group[:, :, 1]], axis=2)
    out.incidents_counted = int(cube.sum())

    included = [inst for inst in all_ids if students.get(inst, 0) > 0 and inst not in unusable]
    for inst in all_ids:
        if students.get(inst, 0) > 0 and inst not in unusable:
            continue
        if inst in unusable:
            reason = EXCLUDED_MARKED_UNUSABLE
        elif inst in students:
            reason = EXCLUDED_ZERO_STUDENTS
        else:
            reason = EXCLUDED_NO_STUDENT_COUNT
        out.excluded.append(
            {
                "institution_id": inst,
                "reason": reason,
                "count": int(counts[position[inst], 0, 0]),
            }
        )
    out.institutions_included = k = len(included)
    rows_idx = np.array([position[inst] for inst in included], dtype=np.int64)
    inc_counts = counts[rows_idx] if k else np.zeros((0, n_groups, 3), dtype=np.int64)
    denominators = np.array([students[inst] for inst in included], dtype=np.int64)

    levels = np.array([g.level for g in groups.groups], dtype=object)
    codes = np.array([g.code for g in groups.groups], dtype=object)
    roles = np.array([str(r) for r in VICTIM_GROUPS], dtype=object)

    # Institution rows: institution-major, then group, then victim role.
    if k:
        rate, low, high = stats.exact_poisson_intervals(
            inc_counts, denominators.reshape(-1, 1, 1), level
        )
        group_idx = np.tile(np.repeat(np.arange(n_groups), 3), k)
        out.rate_rows = list(
            zip(
                repeat(figure_set_id),
                np.repeat(np.array(included, dtype=np.int64), n_groups * 3).tolist(),
                repeat(school_year),
                levels[group_idx].tolist(),
                codes[group_idx].tolist(),
                np.tile(roles, k * n_groups).tolist(),
                inc_counts.reshape(-1).tolist(),
                np.repeat(denominators, n_groups * 3).tolist(),
                rate.reshape(-1).tolist(),
                low.reshape(-1).tolist(),
                high.reshape(-1).tolist(),
                repeat(stats.RATE_METHOD),
                repeat(groups.taxonomy_version),
                repeat(computed_at),
                strict=False,
            )
        )
        rates_all = rate[:, :, 0]
    else:
        rates_all = np.zeros((0, n_groups))

    # Sector rows, per victim role over all groups at once.
    for r, role in enumerate(VICTIM_GROUPS):
        summaries = stats.sector_summaries(inc_counts[:, :, r], denominators, level)
        for g, summary in enumerate(summaries):
            group = groups.groups[g]
            out.sector_rows.append(
                (
                    figure_set_id,
                    school_year,
                    group.level,
                    group.code,
                    str(role),
                    summary.k,
                    summary.mean_rate,
                    summary.mean_ci_low,
                    summary.mean_ci_high,
                    summary.mean_method,
                    summary.pooled_count,
                    summary.pooled_students,
                    summary.pooled_rate,
                    summary.pooled_ci_low,
                    summary.pooled_ci_high,
                    summary.pooled_method,
                    summary.median,
                    summary.min,
                    summary.max,
                    level,
                    out.excluded,
                    groups.taxonomy_version,
                    computed_at,
                )
            )

    # Correlations with the survey scores (victim role "all"), every group at once.
    for source in ScoreSource.values:
        survey_year, source_scores = scores.get(source, (None, {}))
        point_rows = [i for i, inst in enumerate(included) if inst in source_scores]
        point_ids = [included[i] for i in point_rows]
        x = rates_all[point_rows, :] if point_rows else np.zeros((0, n_groups))
        y = np.array([source_scores[inst] for inst in point_ids], dtype=np.float64)
        results = correlate_groups(x, y, point_ids, survey_year is not None, level)
        for g, result in enumerate(results):
            group = groups.groups[g]
            out.correlation_rows.append(
                (
                    figure_set_id,
                    school_year,
                    group.level,
                    group.code,
                    str(VictimGroup.ALL),
                    source,
                    survey_year,
                    *(getattr(result, name) for name in CORRELATION_FIELDS),
                    level,
                    *(getattr(result, name) for name in MEDIANS),
                    result.flagged,
                    computed_at,
                )
            )
    return out
