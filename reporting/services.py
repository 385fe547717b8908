"""The reporting engine: a school year's figures from the registrations.

``compute_school_year`` is the whole computation. It

1. takes a per-school-year lock (a PostgreSQL advisory lock; a process lock on SQLite),
2. aggregates **in the database**: one ``GROUP BY institution, type, victim role`` over the
   year's counted incidents (never a loop over incidents in Python),
3. rolls the small aggregate up to subcategories, categories, the report's two groups and
   the total with one matrix product, and computes rates, sector summaries and the
   correlations with the JOB and MO scores with the vectorised functions of
   :mod:`reporting.stats`,
4. writes a new :class:`FigureSet` (PostgreSQL binary ``COPY``) while it is ``building``,
5. and makes it ``current`` in one short transaction. Readers select rows through the
   current set, so they see the old figures or the new ones, never a mix.

It is idempotent: the same inputs give the same rows. Staleness is tracked per school year
(:class:`FigureYear`), so changes are recomputed once per burst (``note_inputs_changed``,
``debounce_decision`` and the task ``recompute_stale_year``). Jobs (:class:`FigureJob`)
record each computation for the job API (``create_job``, ``run_job``).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import repeat

import numpy as np
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Max, Model, Q
from django.utils import timezone

from incidents.models import Incident, Institution
from miv.jobs import send
from miv.schoolyear import parse_school_year, school_year_of
from taxonomy.models import Category, IncidentType, Subcategory, TaxonomyVersion

from . import publication, stats
from .choices import FigureSetStatus, GroupLevel, JobStatus, ScoreSource, VictimGroup
from .models import (
    FigureJob,
    FigureSet,
    FigureYear,
    InstitutionRate,
    SafetyScore,
    ScoreCorrelation,
    SectorRate,
    StudentCount,
    UnusableYear,
)
from .signals import figure_set_computed

logger = logging.getLogger(__name__)

GROUP_TOTAL = "total"
GROUP_MISCONDUCT = "misdragingen"
GROUP_ACCIDENTS = "ongevallen"
REPORT_GROUPS = (GROUP_TOTAL, GROUP_MISCONDUCT, GROUP_ACCIDENTS)
# The report's "misdragingen" are the category Misdraging; "ongevallen/incidenten" all others.
MISCONDUCT_CATEGORY = "MIS"
VICTIM_GROUPS = (VictimGroup.ALL, VictimGroup.STUDENT, VictimGroup.STAFF)

# Why an institution is left out of the rates and means.
EXCLUDED_NO_STUDENT_COUNT = "no_student_count"
EXCLUDED_ZERO_STUDENTS = "zero_students"
# Its coordinator or an administrator marked the year's registrations not usable
# (reporting.usability): left out even with a student count.
EXCLUDED_MARKED_UNUSABLE = "marked_unusable"
# Correlation status when no survey of that kind was held in or before the school year.
NO_SURVEY = "no_survey"

# The first argument of pg_advisory_lock: "MIV" in ASCII, so MIV's locks are recognisable.
LOCK_NAMESPACE = 0x4D4956

ProgressCallback = Callable[[int, str], None]
JobId = uuid.UUID | str


def _setting(name: str, default: int) -> int:
    return getattr(settings, name, default)


def debounce_seconds() -> int:
    return int(_setting("MIV_FIGURES_DEBOUNCE_SECONDS", 60))


def max_wait_seconds() -> int:
    """A year that keeps changing is recomputed at least this often, burst or not."""
    return int(_setting("MIV_FIGURES_MAX_WAIT_SECONDS", 10 * debounce_seconds()))


def superseded_grace_seconds() -> int:
    """How long a replaced set is kept, so a reader that looked up the current set just
    before the swap can still read it."""
    return int(_setting("MIV_FIGURES_KEEP_SUPERSEDED_SECONDS", 600))


def time_limit_seconds() -> int:
    return int(_setting("CELERY_TASK_TIME_LIMIT", 1800))


# --- Groups -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A figures group: ``level`` (a GroupLevel) and ``code`` (``total``, ``misdragingen``,
    ``ongevallen`` or a category, subcategory or type code)."""

    level: str
    code: str


@dataclass
class GroupTable:
    """All groups of the taxonomy and which types each one counts (a 0/1 matrix of
    types × groups), so the roll-up is one matrix product."""

    groups: list[Group]
    type_index: dict[int, int]
    matrix: np.ndarray
    taxonomy_version: str


def group_table() -> GroupTable:
    """The groups, in a stable order: total, misdragingen, ongevallen, the categories, the
    subcategories, the types. Retired types are included: old registrations still count."""
    categories = list(Category.objects.order_by("sort_order", "code").values_list("id", "code"))
    subcategories = list(
        Subcategory.objects.order_by("category__sort_order", "sort_order", "code").values_list(
            "id", "code"
        )
    )
    types = list(
        IncidentType.objects.order_by("sort_order", "code").values_list(
            "id", "code", "category_id", "subcategory_id", "category__code"
        )
    )
    groups = [Group(GroupLevel.TOTAL, GROUP_TOTAL)]
    groups += [Group(GroupLevel.REPORT, c) for c in (GROUP_MISCONDUCT, GROUP_ACCIDENTS)]
    groups += [Group(GroupLevel.CATEGORY, code) for _, code in categories]
    groups += [Group(GroupLevel.SUBCATEGORY, code) for _, code in subcategories]
    groups += [Group(GroupLevel.TYPE, code) for _, code, *_rest in types]
    column = {(g.level, g.code): j for j, g in enumerate(groups)}
    category_code = dict(categories)
    subcategory_code = dict(subcategories)

    matrix = np.zeros((len(types), len(groups)), dtype=np.int64)
    type_index = {}
    for row, (type_id, code, category_id, subcategory_id, cat_code) in enumerate(types):
        type_index[type_id] = row
        matrix[row, 0] = 1
        report = GROUP_MISCONDUCT if cat_code == MISCONDUCT_CATEGORY else GROUP_ACCIDENTS
        matrix[row, column[(GroupLevel.REPORT, report)]] = 1
        matrix[row, column[(GroupLevel.CATEGORY, category_code[category_id])]] = 1
        if subcategory_id:
            matrix[row, column[(GroupLevel.SUBCATEGORY, subcategory_code[subcategory_id])]] = 1
        matrix[row, column[(GroupLevel.TYPE, code)]] = 1
    version = TaxonomyVersion.current()
    return GroupTable(groups, type_index, matrix, version.code if version else "")


def resolve_group(code: str) -> Group | None:
    """The group a request names, or None when no such group exists."""
    if code in (GROUP_MISCONDUCT, GROUP_ACCIDENTS):
        return Group(GroupLevel.REPORT, code)
    if code == GROUP_TOTAL:
        return Group(GroupLevel.TOTAL, code)
    for model, level in (
        (Category, GroupLevel.CATEGORY),
        (Subcategory, GroupLevel.SUBCATEGORY),
        (IncidentType, GroupLevel.TYPE),
    ):
        if model.objects.filter(code=code).exists():
            return Group(level, code)
    return None


# --- Survey years ---------------------------------------------------------------------------


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


# --- Locking ------------------------------------------------------------------------------------

_process_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
_process_locks_guard = threading.Lock()


@contextmanager
def _no_automatic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of small rows are built
    and written. They hold no reference cycles (reference counting frees them), but each
    allocation burst would trigger full collections over the whole heap of a Django
    process, which measured as half of the job's own time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def school_year_lock(school_year: str) -> Iterator[None]:
    """Only one computation of a school year at a time.

    PostgreSQL: a session advisory lock. It is released when the connection ends, so a
    worker that is killed mid-job never leaves the year locked. SQLite (development, one
    process): a process lock; SQLite serialises writers anyway, and the publish step
    refuses to replace newer figures with older ones.
    """
    start = parse_school_year(school_year)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, start])
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, start])
            except (OperationalError, InterfaceError):
                # The connection is gone, and with it the lock.
                pass
        return
    with _process_locks_guard:
        lock = _process_locks[school_year]
    with lock:
        yield


# --- The computation ----------------------------------------------------------------------------


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
    "status",
    "n",
    "pearson_r",
    "pearson_p",
    "pearson_ci_low",
    "pearson_ci_high",
    "spearman_rho",
    "spearman_p",
    "confidence_level",
    "rate_median",
    "score_median",
    "flagged",
    "computed_at",
)
JSON_COLUMNS = {"excluded", "flagged"}


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
                    result.status,
                    result.n,
                    result.pearson_r,
                    result.pearson_p,
                    result.pearson_ci_low,
                    result.pearson_ci_high,
                    result.spearman_rho,
                    result.spearman_p,
                    level,
                    result.rate_median,
                    result.score_median,
                    result.flagged,
                    computed_at,
                )
            )
    return out


@dataclass
class GroupCorrelation:
    """A correlation result with the flagged institutions, ready to store."""

    status: str
    n: int
    pearson_r: float | None = None
    pearson_p: float | None = None
    pearson_ci_low: float | None = None
    pearson_ci_high: float | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    rate_median: float | None = None
    score_median: float | None = None
    flagged: list[dict] = field(default_factory=list)


def correlate_groups(
    rates: np.ndarray,
    scores: np.ndarray,
    institution_ids: list[int],
    has_survey: bool,
    level: float = stats.DEFAULT_LEVEL,
) -> list[GroupCorrelation]:
    """Correlation and possible under-registration for each column of ``rates``
    (n institutions × m groups) against ``scores`` (n)."""
    n, m = rates.shape
    if not has_survey:
        return [GroupCorrelation(status=NO_SURVEY, n=0) for _ in range(m)]
    results = stats.correlations(rates, scores, level) if m else []
    ids = [int(inst) for inst in institution_ids]
    out = []
    for j, result in enumerate(results):
        flagged: list[dict] = []
        rate_median = score_median = None
        if n:
            below = stats.below_both_medians(rates[:, j], scores)
            rate_median, score_median = below.rate_median, below.score_median
            # Flags need as many points as a correlation: medians of three say nothing.
            if n >= stats.MIN_CORRELATION_N:
                flagged = [
                    {
                        "institution_id": ids[i],
                        "rate": float(rates[i, j]),
                        "score": float(scores[i]),
                    }
                    for i in below.indices
                ]
        out.append(
            GroupCorrelation(
                status=result.status,
                n=result.n,
                pearson_r=result.pearson_r,
                pearson_p=result.pearson_p,
                pearson_ci_low=result.pearson_ci_low,
                pearson_ci_high=result.pearson_ci_high,
                spearman_rho=result.spearman_rho,
                spearman_p=result.spearman_p,
                rate_median=rate_median,
                score_median=score_median,
                flagged=flagged,
            )
        )
    return out


# --- Writing and publishing ---------------------------------------------------------------------


# Binary COPY needs the PostgreSQL type of every column.
_PG_BINARY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "double precision": "float8",
    "timestamp with time zone": "timestamptz",
    "jsonb": "jsonb",
}


def _pg_types(model: type[Model], columns: tuple[str, ...]) -> list[str]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    types = []
    for column in columns:
        db_type = fields[column].db_type(connection)
        types.append("text" if db_type.startswith("varchar") else _PG_BINARY_TYPES[db_type])
    return types


def _write_rows(model: type[Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows fast. PostgreSQL: binary ``COPY`` (several times faster than text COPY,
    and the write path is most of the job's own time); elsewhere one ``executemany``."""
    if not rows:
        return
    json_positions = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        with connection.cursor() as cursor:
            sql = f"COPY {table} ({quoted}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(_pg_types(model, columns))
                if json_positions:
                    for row in rows:
                        row = list(row)
                        for i in json_positions:
                            row[i] = Jsonb(row[i])
                        copy.write_row(row)
                else:
                    for row in rows:
                        copy.write_row(row)
        return
    # Other databases: adapt what the driver cannot take as is (JSON, aware datetimes).
    date_positions = [i for i, c in enumerate(columns) if c == "computed_at"]
    adapted = []
    for row in rows:
        row = list(row)
        for i in json_positions:
            row[i] = json.dumps(row[i])
        for i in date_positions:
            row[i] = connection.ops.adapt_datetimefield_value(row[i])
        adapted.append(row)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", adapted)


def _publish(figure_set: FigureSet) -> FigureSet:
    """Make ``figure_set`` the current set of its year, in one short transaction. Returns
    the set that is current afterwards."""
    school_year = figure_set.school_year
    with transaction.atomic():
        year = FigureYear.objects.select_for_update().get(school_year=school_year)
        current = (
            FigureSet.objects.select_for_update()
            .filter(school_year=school_year, status=FigureSetStatus.CURRENT)
            .first()
        )
        now = timezone.now()
        if current is not None and current.inputs_seq > figure_set.inputs_seq:
            # Only possible without the advisory lock (SQLite with several processes): a
            # run that saw newer inputs published first. Never replace newer with older.
            FigureSet.objects.filter(pk=figure_set.pk).update(
                status=FigureSetStatus.SUPERSEDED, superseded_at=now
            )
            return current
        if current is not None:
            FigureSet.objects.filter(pk=current.pk).update(
                status=FigureSetStatus.SUPERSEDED, superseded_at=now
            )
        FigureSet.objects.filter(pk=figure_set.pk).update(status=FigureSetStatus.CURRENT)
        year.computed_seq = max(year.computed_seq, figure_set.inputs_seq)
        year.computed_at = now
        if year.computed_seq >= year.change_seq:
            year.stale_since = None
        year.save(update_fields=["computed_seq", "computed_at", "stale_since"])
    figure_set.refresh_from_db()
    return figure_set


def _discard_unfinished(school_year: str, *, exclusive: bool) -> None:
    """Remove sets a crashed run left ``building``. Under the advisory lock every other
    building set of the year is dead; without it only the ones older than a task may run."""
    unfinished = FigureSet.objects.filter(school_year=school_year, status=FigureSetStatus.BUILDING)
    if not exclusive:
        cutoff = timezone.now() - timedelta(seconds=time_limit_seconds())
        unfinished = unfinished.filter(created_at__lt=cutoff)
    unfinished.delete()


def _forget_unfinished(figure_set_id: int) -> None:
    try:
        FigureSet.objects.filter(pk=figure_set_id, status=FigureSetStatus.BUILDING).delete()
    except (OperationalError, InterfaceError):
        logger.warning("could not remove unfinished figure set %s", figure_set_id)


def delete_superseded(school_year: str | None = None) -> int:
    """Delete sets replaced longer ago than the grace period."""
    cutoff = timezone.now() - timedelta(seconds=superseded_grace_seconds())
    old = FigureSet.objects.filter(status=FigureSetStatus.SUPERSEDED, superseded_at__lt=cutoff)
    if school_year:
        old = old.filter(school_year=school_year)
    deleted, _ = old.delete()
    return deleted


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
    with school_year_lock(school_year):
        exclusive = connection.vendor == "postgresql"
        # What the set will include: changes after this point keep the year stale.
        inputs_seq = _figure_year(school_year).change_seq
        _discard_unfinished(school_year, exclusive=exclusive)
        progress(5, "aggregate")

        groups = group_table()
        aggregate = aggregate_counts(school_year)
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
            survey_year = default_survey_year(source, school_year)
            scores[source] = (
                survey_year,
                survey_scores(source, survey_year) if survey_year is not None else {},
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
            with _no_automatic_gc():
                computed = compute_rows(
                    school_year=school_year,
                    figure_set_id=figure_set.pk,
                    computed_at=computed_at,
                    groups=groups,
                    aggregate=aggregate,
                    students=students,
                    institution_ids=institution_ids,
                    scores=scores,
                    level=level,
                    unusable=unusable,
                )
                progress(50, "write")
                with transaction.atomic():
                    _write_rows(InstitutionRate, RATE_COLUMNS, computed.rate_rows)
                    _write_rows(SectorRate, SECTOR_COLUMNS, computed.sector_rows)
                    _write_rows(ScoreCorrelation, CORRELATION_COLUMNS, computed.correlation_rows)
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
            )
            progress(90, "publish")
            published = _publish(figure_set)
        except Exception:
            # Remove our unfinished set now; a hard crash leaves it to the next run.
            _forget_unfinished(figure_set.pk)
            raise
        delete_superseded(school_year)
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


# --- Jobs ---------------------------------------------------------------------------------------


def create_job(
    school_year: str, *, reason: str, requested_by: User | None = None, task_id: str = ""
) -> FigureJob:
    parse_school_year(school_year)
    return FigureJob.objects.create(
        school_year=school_year,
        reason=reason,
        requested_by=requested_by if requested_by and requested_by.is_authenticated else None,
        celery_task_id=task_id,
    )


def active_job(school_year: str) -> FigureJob | None:
    """A queued or running job of the year that is younger than a task may run: a second
    request for the same year joins it instead of starting another computation."""
    cutoff = timezone.now() - timedelta(seconds=time_limit_seconds())
    return (
        FigureJob.objects.filter(
            school_year=school_year,
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
            created_at__gte=cutoff,
        )
        .order_by("-created_at")
        .first()
    )


def start_job(job_id: JobId, *, task_id: str = "") -> FigureJob | None:
    """Mark a job running and count the attempt. None when it is already done (a redelivered
    message after completion): the job completes once."""
    return FigureJob.objects.start(
        job_id, from_=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED], task_id=task_id
    )


def finish_job(job: FigureJob, figure_set: FigureSet) -> None:
    FigureJob.objects.finish(job.pk, step="done", figure_set=figure_set)


def fail_job(job_id: JobId, error: str, *, final: bool = True) -> None:
    """Record an error; ``final=False`` while the task will be retried. Never raises: the
    database may be the thing that failed."""
    FigureJob.objects.fail(job_id, error, final=final)


def run_job(job_id: JobId, *, task_id: str = "") -> FigureSet | None:
    """Run a job in this process: start it, compute, record the outcome. Database errors
    propagate (the task retries them) with the job back in the queue."""
    job = start_job(job_id, task_id=task_id)
    if job is None:
        return None
    try:
        figure_set = compute_school_year(job.school_year, job=job)
    except (OperationalError, InterfaceError) as exc:
        fail_job(job.pk, f"{type(exc).__name__}: {exc}", final=False)
        raise
    except Exception as exc:
        fail_job(job.pk, f"{type(exc).__name__}: {exc}")
        raise
    finish_job(job, figure_set)
    return figure_set


def job_for_task(school_year: str, task_id: str, *, reason: str) -> FigureJob:
    """The job of a task message: the existing one when the message is redelivered (so the
    attempts add up), else a new one."""
    if task_id:
        job = FigureJob.objects.filter(celery_task_id=task_id).first()
        if job is not None:
            return job
    return create_job(school_year, reason=reason, task_id=task_id)


def fail_job_of_task(task_id: str, error: str) -> None:
    try:
        job_ids = list(
            FigureJob.objects.filter(celery_task_id=task_id).values_list("pk", flat=True)
        )
    except (OperationalError, InterfaceError):
        return
    for job_id in job_ids:
        fail_job(job_id, error)


def fail_abandoned_jobs() -> int:
    """Jobs still running long after a task could have (their worker vanished and the
    message was lost) are marked failed, so the job API does not report them forever."""
    cutoff = timezone.now() - timedelta(seconds=2 * time_limit_seconds())
    return FigureJob.objects.fail_abandoned(before=cutoff)


# --- Staleness and debouncing -------------------------------------------------------------------


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
    params = {"now": adapt(now), "due": adapt(now + timedelta(seconds=debounce_seconds()))}
    marked = {}
    with connection.cursor() as cursor:
        for school_year in years:
            if not _valid_year(school_year):
                logger.warning("ignoring a change for malformed school year %r", school_year)
                continue
            cursor.execute(_MARK_STALE_SQL, {**params, "year": school_year})
            marked[school_year] = bool(cursor.fetchone()[0])
    return marked


def schedule_recomputation(school_year: str) -> bool:
    """Enqueue one debounced recomputation unless one is already due. Returns whether a
    message was sent."""
    now = timezone.now()
    claimed = (
        FigureYear.objects.filter(school_year=school_year)
        .filter(Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))
        .update(scheduled_for=now + timedelta(seconds=debounce_seconds()))
    )
    return bool(claimed) and _enqueue_recomputation(school_year)


def _enqueue_recomputation(school_year: str) -> bool:
    """Send the debounced recomputation that was claimed for ``school_year``. A broker that
    is down is logged and tolerated: the year stays stale and the nightly run (or the next
    change) recomputes it."""
    from .tasks import recompute_stale_year

    try:
        send(recompute_stale_year, args=[school_year], countdown=debounce_seconds())
    except Exception:  # noqa: BLE001 - any broker failure; registration must go on
        logger.exception(
            "could not enqueue (or, eagerly, run) the recomputation of %s; it stays stale for "
            "the nightly run",
            school_year,
        )
        FigureYear.objects.filter(school_year=school_year).update(scheduled_for=None)
        return False
    return True


def stale_years_without_recomputation(*, grace_seconds: float) -> list[str]:
    """Stale years with no recomputation due (none scheduled, or one due more than
    ``grace_seconds`` ago that never ran) and no job queued or running."""
    overdue = timezone.now() - timedelta(seconds=debounce_seconds() + grace_seconds)
    years = FigureYear.objects.filter(change_seq__gt=F("computed_seq")).filter(
        Q(scheduled_for__isnull=True) | Q(scheduled_for__lt=overdue)
    )
    return [y.school_year for y in years if active_job(y.school_year) is None]


def clear_schedule(school_year: str) -> None:
    """The due recomputation is running: the next change may schedule another one."""
    FigureYear.objects.filter(school_year=school_year).update(scheduled_for=None)


def reschedule(school_year: str, delay: float) -> None:
    """Push the debounced recomputation back until the burst of changes is over."""
    from .tasks import recompute_stale_year

    delay = max(1.0, delay)
    FigureYear.objects.filter(school_year=school_year).update(
        scheduled_for=timezone.now() + timedelta(seconds=delay)
    )
    try:
        send(recompute_stale_year, args=[school_year], countdown=delay)
    except Exception:  # noqa: BLE001 - broker down: the nightly run catches up
        logger.exception("could not reschedule the recomputation of %s", school_year)
        clear_schedule(school_year)


def note_inputs_changed(school_years: Iterable[str] | None, *, onwards: bool = False) -> None:
    """Receiver body for incident, count and score changes: mark the years stale within
    the caller's transaction (one statement per year, no savepoint: it is part of the
    change, and a database that refuses it refuses the change too), and enqueue the
    debounced recomputation it claimed. Any other failure is logged, never raised: the
    change must stand, the figures catch up nightly. ``onwards``: the change also
    affects every later school year (survey scores)."""
    try:
        if onwards and school_years:
            school_years = years_from(min(school_years))
        marked = mark_stale(school_years)
    except Exception:  # noqa: BLE001 - the change itself is saved; figures catch up nightly
        logger.exception("could not mark figures stale for %s", school_years)
        return
    # The message is delayed by the debounce period, so the worker finds the change
    # committed. (Eager mode computes here and now; it has no clock to wait on.)
    for school_year, claimed in marked.items():
        if claimed:
            _enqueue_recomputation(school_year)


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
    quiet_until = (year.changed_at or now) + timedelta(seconds=debounce_seconds())
    waited = (now - (year.stale_since or now)).total_seconds()
    if quiet_until > now and waited < max_wait_seconds():
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
