"""What the benchmarks share: a scratch database on the PostgreSQL server of ``DATABASE_URL``
(the developer database itself is never touched), a generated sector of institutions with
student counts and scores, incidents generated in SQL, and the verdict on a target.

Every benchmark compares MIV with a baseline timed in the same run, so the machine's speed
cancels out; a target is missed only when the ratio is off by more than the noise measured
between repetitions of the same run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20230901
FIRST_START = 2020  # school years 2020-2021 .. 2022-2023, as the report's delivery


def scratch_url(url: str, suffix: str) -> tuple[str, str, str]:
    """(scratch database URL, scratch name, maintenance URL) for a PostgreSQL URL."""
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "miv"
    name = f"{base}_bench_{suffix}"
    scratch = urlunsplit(parts._replace(path=f"/{name}"))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return scratch, name, maintenance


def refuse(script: str, message: str) -> None:
    print(f"benchmarks/{script}: {message}", file=sys.stderr)
    sys.exit(2)


def setup_scratch_django(script: str, suffix: str) -> tuple[str, str]:
    """Create the scratch database ``<db>_bench_<suffix>``, point Django at it, set Django up
    and migrate. Returns (scratch name, maintenance URL) for :func:`recreate_database`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        refuse(
            script,
            "needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/db (the benchmark "
            f"creates and drops its own scratch database <db>_bench_{suffix} on that server). "
            "SQLite is not a meaningful baseline.",
        )
    scratch, name, maintenance = scratch_url(url, suffix)
    try:
        recreate_database(maintenance, name)
    except Exception as exc:  # noqa: BLE001 - any connection problem ends the benchmark
        refuse(script, f"cannot create the scratch database {name}: {exc}")
    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    print(
        f"PostgreSQL {version}, scratch database {name}, "
        f"migrated in {time.perf_counter() - started:.1f}s"
    )
    return name, maintenance


def verdict(ratio: float, target: float, noise: float, *, at_least: bool = False) -> str:
    """'met', 'within noise' or 'MISSED' for a ratio against its target (``at_least``: the
    ratio must be at least the target, otherwise at most)."""
    margin = (ratio - target) if at_least else (target - ratio)
    if margin >= 0:
        return "met"
    return "within noise" if -margin <= noise else "MISSED"


def spread(values: list[float]) -> float:
    """The noise of a repeated measurement: half the range between its repetitions."""
    return (max(values) - min(values)) / 2 if len(values) > 1 else 0.0


def median(values: list[float]) -> float:
    return statistics.median(values)


def recreate_database(maintenance_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def school_years(count: int) -> list[str]:
    return [f"{FIRST_START + i}-{FIRST_START + i + 1}" for i in range(count)]


def create_sector(institutions: int, years: list[str]) -> dict:
    """Institutions (two without a student count, as in real deliveries), one location each,
    DUO-style student counts and JOB/MO scores. Returns what the incident generator needs."""
    import random

    from incidents.models import Institution, Location
    from reporting.models import SafetyScore, StudentCount
    from taxonomy.models import IncidentType, TaxonomyVersion

    rng = random.Random(SEED)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    created = Institution.objects.bulk_create(
        [
            Institution(
                brin=f"{10 + i % 90:02d}{letters[i // 26 % 26]}{letters[i % 26]}",
                name=f"Benchmarkcollege {i}",
                kind="roc",
                region="west",
                pseudonym=f"I-B{i:05d}",
            )
            for i in range(institutions)
        ]
    )
    locations = Location.objects.bulk_create(
        [Location(institution=inst, code="HQ", name="Hoofdlocatie") for inst in created]
    )
    counts, scores = [], []
    for i, inst in enumerate(created):
        students = rng.randint(1500, 30000)
        for year in years:
            if i < institutions - 2:
                counts.append(StudentCount(institution=inst, school_year=year, students=students))
            students = int(students * rng.uniform(0.97, 1.04))
        for survey_year in (FIRST_START, FIRST_START + 2, FIRST_START + 4):
            scores.append(
                SafetyScore(
                    institution=inst,
                    source="job",
                    survey_year=survey_year,
                    value=round(rng.uniform(72, 92), 1),
                )
            )
            scores.append(
                SafetyScore(
                    institution=inst,
                    source="mo",
                    survey_year=survey_year,
                    value=round(rng.uniform(7.0, 8.8), 2),
                )
            )
    StudentCount.objects.bulk_create(counts)
    SafetyScore.objects.bulk_create(scores)
    return {
        "institution_ids": [inst.pk for inst in created],
        "location_ids": [loc.pk for loc in locations],
        "type_ids": list(IncidentType.objects.order_by("pk").values_list("pk", flat=True)),
        "version_id": TaxonomyVersion.current().pk,
    }


# Victim roles weighted as in the demo data: 58% student, 24% staff, 5/9/4% the others.
VICTIM_ROLES = ["student"] * 58 + ["staff"] * 24 + ["visitor"] * 5 + ["none"] * 9 + ["unknown"] * 4

INSERT_SQL = """
INSERT INTO incidents_incident (
    occurred_on, occurred_at, school_year, place, victim_role, perpetrator_role, injury,
    police_involved, measures, description, status, external_id, created_at, updated_at,
    anonymised_at, incident_type_id, registered_by_id, taxonomy_version_id, institution_id,
    location_id, reporter_note
)
SELECT %(first_day)s::date + (random() * 364)::int, NULL, %(school_year)s, '',
       (%(roles)s::text[])[1 + floor(random() * %(n_roles)s)::int], 'unknown', 'none',
       false, '', '', CASE WHEN random() < 0.02 THEN 'withdrawn' ELSE 'closed' END, '',
       now(), now(), NULL,
       (%(types)s::bigint[])[1 + floor(random() * %(n_types)s)::int], NULL, %(version)s,
       (%(institutions)s::bigint[])[g.i], (%(locations)s::bigint[])[g.i], ''
FROM (
    -- Institutions of different sizes: squaring skews the draw towards the first ones.
    SELECT 1 + floor(power(random(), 1.6) * %(n_institutions)s)::int AS i
    FROM generate_series(1, %(rows)s)
) AS g
"""


def insert_incidents(sector: dict, years: list[str], total: int) -> float:
    """Insert ``total`` incidents spread evenly over the years; returns the seconds taken."""
    from django.db import DatabaseError, connection, transaction

    started = time.perf_counter()
    per_year = [
        total // len(years) + (1 if i < total % len(years) else 0) for i in range(len(years))
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [0.5])
        # The rows reference existing rows by construction; skipping the per-row foreign
        # key triggers (superuser only) makes the generation several times faster.
        try:
            with transaction.atomic():
                cursor.execute("SET session_replication_role = replica")
        except DatabaseError:
            pass
        for year, rows in zip(years, per_year, strict=True):
            cursor.execute(
                INSERT_SQL,
                {
                    "first_day": f"{year[:4]}-08-01",
                    "school_year": year,
                    "roles": VICTIM_ROLES,
                    "n_roles": len(VICTIM_ROLES),
                    "types": sector["type_ids"],
                    "n_types": len(sector["type_ids"]),
                    "version": sector["version_id"],
                    "institutions": sector["institution_ids"],
                    "locations": sector["location_ids"],
                    "n_institutions": len(sector["institution_ids"]),
                    "rows": rows,
                },
            )
        cursor.execute("RESET session_replication_role")
        # A steady state: statistics and a visibility map, as autovacuum would leave them.
        cursor.execute("VACUUM ANALYZE incidents_incident")
    return time.perf_counter() - started
