"""Benchmark of the figures job against the bare SQL aggregate it is built on.

    DATABASE_URL=postgres://user@host:port/db python benchmarks/figures.py [--ci]

On the PostgreSQL server of ``DATABASE_URL`` it creates a scratch database
(``<db>_bench_figures``; the developer database itself is never touched), migrates it,
generates incidents over 60 institutions and 3 school years with ``INSERT ... SELECT
generate_series`` (first 10% of them, then the rest), and at both sizes measures, in the same
run and interleaved:

* the bare ``GROUP BY school_year, institution, type, victim role`` over the counted
  incidents that produces the counts the figures are built from, and
* the full computation of the 3 school years (``reporting.engine.compute_school_year``:
  aggregate, roll-up, rates, sector, correlations, write, publish, clean-up),

prints both wall times and their ratio at each size against issue 16's goal (at most 1.5;
not met: the job's fixed cost of writing, protecting and publishing ~50,000 rows is of the
order of the aggregate at 1M), the peak Python memory of one computation (which must not grow
with the number of incidents) and checks that the stored counts equal the bare aggregate.
Where one run at 1M goes (2 cores, 2026-12-05, profiled; the bare aggregate about 0.25 s):
the aggregate 0.37 s, the rates with their intervals, sector rows and correlations 0.11 s,
the COPY of the ~50,000 rows 0.14 s, the publication 0.15 s, in all 0.84 s. Computing and
writing the rows alone cost about the bare aggregate, so the job stays near 2x even with an
aggregate as cheap as the bare one: the goal of 1.5 is not reachable while the job stores
every rate.

``--incidents 10000000`` is the manual run of issue 16's 10M goal (at most 1.2). Measured on
2 cores (2026-12-04): job 4.9 s against the bare aggregate 2.1 s, 2.33; the job's aggregate
alone took 4.4 s, because it also groups by month for the same period's publication and
PostgreSQL runs that one-scan GROUPING SETS without parallel workers (reporting/engine/rows.py
says why it is kept). That run misses the growth check below (2.8 s above the bare aggregate
at 10M against 0.9 s at 1M): at that size the month grouping is no longer small beside the
fixed cost; outside the aggregate the job took 0.5 s at 10M and 0.7 s at 1M.

Enforced (exit 1 when missed by more than the noise between the repetitions): the ratio at
the largest size at most 6 (a regression guard), the job's time above the bare aggregate at
the largest size at most 1.5x that at the smallest (a fixed cost, not one per incident), and
equal counts. The scratch database is dropped at the end (``--keep`` keeps it). ``--ci`` and
the default both do three timed repetitions.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - after the path set-up
    create_sector,
    insert_incidents,
    recreate_database,
    refuse,
    school_years,
    scratch_url,
    spread,
    verdict,
)

GOAL = 1.5  # issue 16: the job at most this many times the bare aggregate, at every size
# Enforced at the largest size: a regression guard (before the one-scan aggregate the ratio
# was 2.9 to 4.4 on a 2-core CI machine, 2.2 when issue 16 was filed).
ENFORCED_RATIO = 6.0
# Enforced: the job's cost above the bare aggregate is fixed (COPY, roll-up, publication,
# clean-up of the small aggregate), so at the largest size at most this many times that
# at the smallest.
FIXED_GROWTH = 1.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci", action="store_true", help="run from CI (same measurements)")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--institutions", type=int, default=60)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=None, help="timed repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


# --- Measurements ------------------------------------------------------------------------------

BARE_SQL = """
SELECT school_year, institution_id, incident_type_id, victim_role, count(*)
FROM incidents_incident
WHERE school_year = ANY(%s) AND status <> 'withdrawn'
GROUP BY school_year, institution_id, incident_type_id, victim_role
"""


BARE_SQL_ONE_YEAR = """
SELECT institution_id, incident_type_id, victim_role, count(*)
FROM incidents_incident
WHERE school_year = %s AND status <> 'withdrawn'
GROUP BY institution_id, incident_type_id, victim_role
"""


def bare_aggregate(years: list[str]) -> tuple[float, list[tuple]]:
    """One query for all years."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL, [years])
        rows = cursor.fetchall()
    return time.perf_counter() - started, rows


def bare_aggregate_per_year(years: list[str]) -> float:
    """The same counts as one query per year (the shape the job uses)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for year in years:
            cursor.execute(BARE_SQL_ONE_YEAR, [year])
            cursor.fetchall()
    return time.perf_counter() - started


class PhaseTimer:
    """Times the database aggregate inside the job (with the same period's counts per
    month, grouped in the same scan on PostgreSQL), to show where the rest goes."""

    def __init__(self):
        from reporting.engine import rows

        self.rows = rows
        self.original = rows.aggregate
        self.seconds = 0.0

    def __enter__(self):
        def timed(school_year):
            started = time.perf_counter()
            try:
                return self.original(school_year)
            finally:
                self.seconds += time.perf_counter() - started

        self.rows.aggregate = timed
        return self

    def __exit__(self, *exc):
        self.rows.aggregate = self.original


def full_job(years: list[str]) -> tuple[float, float]:
    """Wall time of computing all years, and the part spent in the database aggregate."""
    from reporting.engine import compute_school_year

    with PhaseTimer() as phases:
        started = time.perf_counter()
        for year in years:
            compute_school_year(year)
        elapsed = time.perf_counter() - started
    return elapsed, phases.seconds


def peak_memory(years: list[str]) -> int:
    """Peak Python allocation (bytes, numpy included) of computing one school year."""
    from reporting.engine import compute_school_year

    tracemalloc.start()
    try:
        compute_school_year(years[-1])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_counts(bare_rows: list[tuple]) -> tuple[bool, int]:
    """The stored per-type counts (victim role all, student, staff) equal the bare aggregate."""
    from collections import Counter

    from reporting.choices import FigureSetStatus
    from reporting.models import InstitutionRate

    expected: Counter = Counter()
    for year, institution, type_id, role, n in bare_rows:
        expected[(year, institution, type_id, "all")] += n
        if role in ("student", "staff"):
            expected[(year, institution, type_id, role)] += n
    from taxonomy.models import IncidentType

    type_by_code = dict(IncidentType.objects.values_list("code", "pk"))
    stored = Counter()
    for year, institution, code, role, count in InstitutionRate.objects.filter(
        figure_set__status=FigureSetStatus.CURRENT, level="type"
    ).values_list("school_year", "institution_id", "group", "victim_role", "count"):
        if count:
            stored[(year, institution, type_by_code[code], role)] = count
    included = {(k[0], k[1]) for k in stored}
    expected_included = Counter({k: v for k, v in expected.items() if (k[0], k[1]) in included})
    return stored == expected_included, sum(n for *_, n in bare_rows)


def measure(years: list[str], repeat: int) -> dict:
    # Warm-up: caches, plans, imports.
    bare_aggregate(years)
    full_job(years)
    bare_aggregate_per_year(years)
    bare_times, split_times, job_times, aggregate_times, ratios = [], [], [], [], []
    rows: list[tuple] = []
    for _ in range(repeat):
        seconds, rows = bare_aggregate(years)
        bare_times.append(seconds)
        split_times.append(bare_aggregate_per_year(years))
        seconds, aggregate = full_job(years)
        job_times.append(seconds)
        aggregate_times.append(aggregate)
        ratios.append(seconds / min(bare_times[-1], split_times[-1]))
    matches, counted = check_counts(rows)
    bare_one, bare_split = statistics.median(bare_times), statistics.median(split_times)
    return {
        # The baseline is the faster of the two shapes of the bare aggregate.
        "bare": min(bare_one, bare_split),
        "bare_one": bare_one,
        "bare_split": bare_split,
        "job": statistics.median(job_times),
        "job_noise": spread(job_times),
        "ratio_noise": spread(ratios),
        "aggregate_in_job": statistics.median(aggregate_times),
        "peak": peak_memory(years),
        "matches": matches,
        "counted": counted,
        "groups": len(rows),
    }


def main() -> None:
    args = parse_args()
    repeat = args.repeat or 3
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        refuse(
            "figures.py",
            "needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/db (the benchmark "
            "creates and drops its own scratch database <db>_bench_figures on that server). "
            "SQLite is not a meaningful baseline.",
        )
    scratch, name, maintenance = scratch_url(url, "figures")
    try:
        recreate_database(maintenance, name)
    except Exception as exc:  # noqa: BLE001 - any connection problem ends the benchmark
        refuse("figures.py", f"cannot create the scratch database {name}: {exc}")

    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    # Steady state: a set replaced by the previous run is deleted by the next one.
    settings.MIV_FIGURES_KEEP_SUPERSEDED_SECONDS = 0
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SHOW max_parallel_workers_per_gather")
            parallel = cursor.fetchone()[0]
        print(
            f"PostgreSQL {version} (max_parallel_workers_per_gather={parallel}), "
            f"scratch database {name}, migrated in {time.perf_counter() - started:.1f}s"
        )
        years = school_years(args.years)
        sector = create_sector(args.institutions, years)

        results = []
        inserted = 0
        for target in (args.incidents // 10, args.incidents):
            seconds = insert_incidents(sector, years, target - inserted)
            print(f"generated {target - inserted:,} incidents in {seconds:.1f}s (total {target:,})")
            inserted = target
            result = measure(years, repeat)
            result["incidents"] = target
            results.append(result)

        from reporting.models import InstitutionRate, ScoreCorrelation, SectorRate

        per_run = {
            "institution rates": InstitutionRate.objects.filter(
                figure_set__status="current"
            ).count(),
            "sector rows": SectorRate.objects.filter(figure_set__status="current").count(),
            "correlations": ScoreCorrelation.objects.filter(figure_set__status="current").count(),
        }
        print()
        print(
            f"{args.institutions} institutions, school years {', '.join(years)}; "
            f"median of {repeat} run(s) each; rows written per run: "
            + ", ".join(f"{n:,} {what}" for what, n in per_run.items())
        )
        print("bare GROUP BY: the faster of one query for all years and one query per year")
        header = (
            f"{'incidents':>10} {'counted':>10} {'groups':>7} {'bare 1 query':>13} "
            f"{'bare per year':>14} {'full job':>9} {'ratio':>6} {'of which aggregate':>19} "
            f"{'peak Python mem':>16} {'counts':>7}"
        )
        print(header)
        print("-" * len(header))
        for r in results:
            print(
                f"{r['incidents']:>10,} {r['counted']:>10,} {r['groups']:>7,} "
                f"{r['bare_one']:>12.3f}s {r['bare_split']:>13.3f}s {r['job']:>8.3f}s "
                f"{r['job'] / r['bare']:>6.2f} {r['aggregate_in_job']:>18.3f}s "
                f"{r['peak'] / 2**20:>13.1f} MB {'equal' if r['matches'] else 'DIFFER':>7}"
            )
        final = results[-1]
        ratio = final["job"] / final["bare"]
        growth = final["peak"] / max(results[0]["peak"], 1)
        print()
        for r in results:
            goal = verdict(r["job"] / r["bare"], GOAL, r["ratio_noise"])
            print(
                f"at {r['incidents']:,} incidents: ratio {r['job'] / r['bare']:.2f} "
                f"± {r['ratio_noise']:.2f} (issue 16 goal <= {GOAL}: "
                f"{'met' if goal != 'MISSED' else 'not met'})"
            )
        enforced = verdict(ratio, ENFORCED_RATIO, final["ratio_noise"])
        print(
            f"job wall time {final['job']:.3f}s, bare aggregate {final['bare']:.3f}s, "
            f"ratio {ratio:.2f} (enforced <= {ENFORCED_RATIO} at the largest size: {enforced})"
        )
        excess = [r["job"] - r["bare"] for r in results]
        fixed_growth = excess[-1] / excess[0]
        fixed = verdict(
            fixed_growth,
            FIXED_GROWTH,
            fixed_growth * max(r["job_noise"] / (r["job"] - r["bare"]) for r in results),
        )
        print(
            f"job above the bare aggregate: {excess[-1]:.3f}s at {final['incidents']:,} "
            f"incidents, {excess[0]:.3f}s at {results[0]['incidents']:,} (x{fixed_growth:.2f}; "
            f"enforced <= {FIXED_GROWTH}: {fixed})"
        )
        print(
            f"peak Python memory {final['peak'] / 2**20:.1f} MB at {final['incidents']:,} "
            f"incidents vs {results[0]['peak'] / 2**20:.1f} MB at {results[0]['incidents']:,} "
            f"(x{growth:.2f}; it follows the aggregate's rows, at most institutions x types x "
            f"victim roles per year, not the incidents); process max RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        if "MISSED" in (enforced, fixed):
            print(
                "the figures job missed a target by more than the measured noise", file=sys.stderr
            )
            sys.exit(1)
        if not all(r["matches"] for r in results):
            print("stored counts differ from the bare aggregate", file=sys.stderr)
            sys.exit(1)
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(maintenance, name, drop_only=True)


if __name__ == "__main__":
    main()
