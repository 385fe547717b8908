"""Benchmark of the incident import against two baselines measured in the same run.

    python benchmarks/import_incidents.py [--ci] [--rows N]
    DATABASE_URL=postgres://user@host:port/db python benchmarks/import_incidents.py --ci

It generates a standard-CSV file of N incident rows (default 100,000, in CI too) in a
temporary directory, half of them with an ``external_id``, and measures:

* **baseline, parse**: a bare ``csv.reader`` pass over the same file (the floor for reading);
* **baseline, insert**: ``bulk_create`` of N ready-made ``Incident`` objects, no parsing,
  no validation, no audit trail (the floor for writing; rolled back);
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
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEED = 20230314


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
    print(f"  import / raw bulk_create    {t_import / t_insert:8.1f} x")
    print(f"  import / csv.reader pass    {t_import / t_parse:8.1f} x")
    print(
        f"  time per row: {per_row_small:.0f} us at {rows // 10:,} rows, "
        f"{per_row_full:.0f} us at {rows:,} rows (ratio {per_row_full / per_row_small:.2f}; "
        "linear in rows: at most about 1)"
    )
    print(f"  peak Python memory of the check (tracemalloc): {check_peak / 1024 / 1024:.1f} MB")
    print(f"  growth of peak RSS during the import: {rss_growth:.1f} MB (file {size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
