"""Benchmark of the incident-list CSV export against PostgreSQL's own ``COPY ... TO STDOUT``.

    DATABASE_URL=postgres://user@host:port/db python benchmarks/list_export.py [--ci]

In a test database of its own (``test_<name>_bench_list``; the developer database is never
touched) it generates N incidents (default 20,000) of one institution with
``INSERT ... SELECT generate_series`` and measures, interleaved and repeated:

* **baseline**: ``COPY (SELECT <the list's columns, joined>) TO STDOUT (FORMAT csv)``, read to
  the end through psycopg: the floor for getting these rows out of the database as CSV;
* **export**: the export as the view streams it (``incidents.exporters.stream_list_csv`` over
  the coordinator's scoped, filtered queryset), consumed to the end.

It prints both (median of the repetitions), their ratio, issue 16's goal and the enforced
target (both **at most 4**), the noise (the spread of the baseline's repetitions), and fails
(exit 1) when the ratio exceeds the target by more than the noise. Memory must stay flat:
the peak Python memory of the export (tracemalloc) of N rows may be at most that of
N/10 rows plus a fixed 4 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Issue 16's goal: within 4x COPY (before issue 16: 23x). Formatting each cell in Python kept
# the export at 4.9-5.4x; since the database writes the CSV lines (miv.csvsql) it measured
# 2.9-3.3x on this 2-core machine, so CI enforces the goal itself.
GOAL = 4.0
TARGET = GOAL
MEMORY_ALLOWANCE_MB = 4.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci", action="store_true", help="run from CI (the same 20,000 rows)")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")
    os.environ["CELERY_BROKER_URL"] = ""
    import django

    django.setup()
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        print("benchmarks/list_export.py: needs PostgreSQL (DATABASE_URL)", file=sys.stderr)
        sys.exit(2)
    settings_dict.setdefault("TEST", {})["NAME"] = f"test_{settings_dict['NAME']}_bench_list"


def generate(institution, rows: int) -> None:
    """``rows`` incidents over 12 locations and the active types, some with formula-like
    text, a fifth with a time; one query."""
    from django.db import connection

    from incidents.models import Location
    from taxonomy.models import IncidentType, TaxonomyVersion

    locations = [
        Location.objects.create(institution=institution, code=f"LOC-{n}", name=f"Vestiging {n}").pk
        for n in range(12)
    ]
    types = list(IncidentType.objects.filter(active=True).values_list("pk", flat=True))
    version = TaxonomyVersion.current().pk
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incidents_incident (
                institution_id, location_id, incident_type_id, taxonomy_version_id,
                occurred_on, occurred_at, school_year, place, victim_role, perpetrator_role,
                injury, police_involved, measures, description, status, external_id,
                created_at, updated_at, reporter_note)
            SELECT %(institution)s,
                   (%(locations)s::bigint[])[1 + n %% 12],
                   (%(types)s::bigint[])[1 + n %% %(ntypes)s],
                   %(version)s,
                   DATE '2022-08-01' + (n %% 700),
                   CASE WHEN n %% 5 = 0 THEN TIME '10:15' END,
                   '2022-2023', 'corridor',
                   (ARRAY['student','staff','visitor','none','unknown'])[1 + n %% 5],
                   'unknown', 'none', n %% 2 = 0,
                   CASE WHEN n %% 7 = 0 THEN '=SUM(A1)' ELSE '' END,
                   'Twee studenten vochten in de kantine; ouders gebeld, melding ' || n,
                   CASE WHEN n %% 50 = 0 THEN 'withdrawn' ELSE 'open' END,
                   CASE WHEN n %% 2 = 1 THEN 'TD-' || n ELSE '' END,
                   now(), now(), ''
            FROM generate_series(1, %(rows)s) AS n
            """,
            {
                "institution": institution.pk,
                "locations": locations,
                "types": types,
                "ntypes": len(types),
                "version": version,
                "rows": rows,
            },
        )
        cursor.execute("ANALYZE incidents_incident")


BASELINE_SQL = """
COPY (
    SELECT l.code, i.occurred_on, t.code, i.victim_role, i.occurred_at, i.place,
           i.perpetrator_role, i.injury, i.police_involved, i.measures, i.description,
           i.external_id, i.id, i.status
    FROM incidents_incident i
    JOIN incidents_location l ON l.id = i.location_id
    JOIN taxonomy_incidenttype t ON t.id = i.incident_type_id
    WHERE i.institution_id = %s AND i.status <> 'withdrawn'
    ORDER BY i.occurred_on DESC, i.id DESC
) TO STDOUT (FORMAT csv, HEADER)
"""


def timed(func):
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def main() -> int:
    args = parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from incidents.choices import Role, Status
    from incidents.exporters import stream_list_csv
    from incidents.filtersets import IncidentFilterSet
    from incidents.models import Incident, Institution, Membership

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        from django.contrib.auth import get_user_model

        institution = Institution.objects.create(brin="99BM", name="Benchmark", kind="roc")
        small = Institution.objects.create(brin="98BM", name="Klein", kind="roc")
        generate(institution, args.rows)
        generate(small, args.rows // 10)
        user = get_user_model().objects.create_user("coordinator")
        Membership.objects.create(user=user, institution=institution, role=Role.COORDINATOR)

        class Request:  # what the filterset needs of a request
            pass

        request = Request()
        request.user = user

        def queryset(of):
            # As the view: the user's scope, the list's filterset, withdrawn left out.
            scoped = Incident.objects.visible_to(user).filter(institution=of)
            return IncidentFilterSet(None, queryset=scoped, request=request).qs.exclude(
                status=Status.WITHDRAWN
            )

        def export(of=institution) -> int:
            return sum(len(chunk) for chunk in stream_list_csv(queryset(of)))

        def baseline() -> int:
            size = 0
            with connection.cursor() as cursor:
                with cursor.cursor.copy(BASELINE_SQL, [institution.pk]) as copy:
                    for block in copy:
                        size += len(block)
            return size

        export()  # warm up: connection, caches, imports
        baseline()
        base_times, export_times = [], []
        for _ in range(args.repeat):
            _size, t_base = timed(baseline)
            exported, t_export = timed(export)
            base_times.append(t_base)
            export_times.append(t_export)
        rows = queryset(institution).count()

        tracemalloc.start()
        export(small)
        _current, peak_small = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        export(institution)
        _current, peak_full = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        teardown_databases(old_config, verbosity=0)

    base = statistics.median(base_times)
    mine = statistics.median(export_times)
    noise = (max(base_times) - min(base_times)) / base
    ratio = mine / base
    limit = TARGET * (1 + noise)
    growth = (peak_full - peak_small) / 1024 / 1024
    print(f"benchmark list_export: {rows:,} incidents in the list, database {connection.vendor}")
    print(f"  baseline COPY ... TO STDOUT   {base * 1000:8.1f} ms  ({rows / base:,.0f} rows/s)")
    print(f"  list export (CSV, streamed)   {mine * 1000:8.1f} ms  ({rows / mine:,.0f} rows/s)")
    print(
        f"  ratio {ratio:.2f} (enforced at most {TARGET:g}; noise {noise:.0%}, "
        f"so at most {limit:.2f} passes; issue 16 goal at most {GOAL:g}: "
        f"{'met' if ratio <= GOAL else 'not met'})"
    )
    print(
        f"  peak Python memory: {peak_small / 1024 / 1024:.1f} MB at {args.rows // 10:,} rows, "
        f"{peak_full / 1024 / 1024:.1f} MB at {args.rows:,} (growth {growth:.1f} MB, "
        f"at most {MEMORY_ALLOWANCE_MB:g})"
    )
    failed = False
    if ratio > limit:
        print("  FAILED: the export is slower than the target allows", file=sys.stderr)
        failed = True
    if growth > MEMORY_ALLOWANCE_MB:
        print("  FAILED: the export's memory grows with the number of rows", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
