"""The figures job in a real Celery worker (issue 7): a worker killed mid-job, and readers
of ``figures/rates/`` while the job replaces a school year's figures again and again.

A stack of its own: a private Redis as the broker, gunicorn (production mode) and
``celery -A miv worker`` on the pytest test database, so that the tests can read and
change the data through the ORM. ``CELERY_VISIBILITY_TIMEOUT`` is a few seconds here (it
is an hour in production): Redis hands an unacknowledged message to a worker again only
after that time, and the test should not wait an hour for the redelivery.

How the job is caught mid-job: the test holds ``LOCK TABLE reporting_institutionrate IN
SHARE MODE`` in a transaction of its own. The job then blocks in its write step (the
``COPY`` of the rates), after it created its building figure set and before it publishes:
the worst moment to die. No code of the job knows about the test.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from knox.models import AuthToken

from incidents.choices import Role, Status
from incidents.models import Incident, Membership
from reporting.choices import FigureSetStatus, JobStatus
from reporting.models import FigureJob, FigureSet, InstitutionRate, ScoreCorrelation, SectorRate
from tests.factories import InstitutionFactory, LocationFactory
from tests.reporting.conftest import add_incidents, set_score, set_students
from tests.services import summary
from tests.services.conftest import (
    _database_url,
    _wait_for_other_sessions_to_end,
    require_postgres,
    unavailable,
)
from tests.services.processes import (
    CeleryWorker,
    Gunicorn,
    RedisServer,
    process_group_members,
    production_env,
    tail,
    wait_until,
)

pytestmark = [
    pytest.mark.services,
    # Committed data (gunicorn and the worker read it); the taxonomy is restored.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

YEAR = "2021-2022"
DAY = date(2022, 3, 1)
VISIBILITY_TIMEOUT = 5  # seconds before Redis redelivers an unacknowledged message
JOB_TIMEOUT = 60.0
SWAPS = 20  # recomputations while the readers read
READERS = 4
RATES_TABLE = InstitutionRate._meta.db_table


@dataclass
class FiguresStack:
    redis: RedisServer
    server: Gunicorn
    env: dict
    directory: Path
    database_url: str
    worker: CeleryWorker | None = None

    def start_worker(self) -> CeleryWorker:
        self.worker = CeleryWorker(env=self.env, log_path=self.directory / "worker.log").start()
        return self.worker

    def ensure_worker(self) -> CeleryWorker:
        if self.worker is None or not self.worker.alive:
            return self.start_worker()
        return self.worker

    def diagnostics(self) -> str:
        return (
            f"--- worker log\n{tail(self.directory / 'worker.log', 60)}\n"
            f"--- gunicorn log\n{tail(self.server.log_path, 20)}"
        )


@pytest.fixture(scope="module")
def figures_stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[FiguresStack]:
    require_postgres()
    if shutil.which("redis-server") is None:
        unavailable("redis-server not found")
    directory = tmp_path_factory.mktemp("figures-worker")
    redis = RedisServer()
    server: Gunicorn | None = None
    stack: FiguresStack | None = None
    try:
        redis.start()
        database_url = _database_url(connection.settings_dict)
        env = production_env(
            database_url=database_url,
            data_dir=directory / "data",
            CELERY_BROKER_URL=redis.url,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            # The hard limit must exceed the soft one (limit - 60) and any job here.
            CELERY_TASK_TIME_LIMIT="120",
        )
        server = Gunicorn(env=env, log_path=directory / "gunicorn.log", workers=3).start()
        stack = FiguresStack(redis, server, env, directory, database_url)
        yield stack
    finally:
        if stack is not None and stack.worker is not None:
            stack.worker.stop()
        if server is not None:
            server.stop()
        redis.remove()
        _wait_for_other_sessions_to_end(django_db_blocker)


# --- Data and helpers --------------------------------------------------------------------------


def seed() -> list:
    """Five institutions with students, incidents of several types and victim roles in
    2021-2022, and JOB scores (so correlations are computed too)."""
    institutions = []
    for i in range(5):
        institution = InstitutionFactory(brin=f"8{i}WK", name=f"Werkercollege {i}")
        location = LocationFactory(institution=institution, code=f"W{i}")
        set_students(institution, 1500 + 700 * i, YEAR)
        set_score(institution, "job", 2022, 72 + 4 * i)
        for code, role, n in (
            ("MIS.FYS.06", "student", 30 + 11 * i),
            ("MIS.VER.01", "staff", 12 + 3 * i),
            ("ONG.ONV.01", "student", 8 + i),
            ("BRA.01", "none", 2),
        ):
            add_incidents(
                location, n, type_code=code, victim_role=role, occurred_on=date(2022, 3, 1)
            )
        institutions.append(institution)
    return institutions


def token_for(username: str, *, role: str | None = None, institution=None, admin=False) -> str:
    user = get_user_model().objects.create(username=username, is_superuser=admin, is_staff=admin)
    if role:
        Membership.objects.create(user=user, institution=institution, role=role)
    return AuthToken.objects.create(user=user)[1]


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def post_job(stack: FiguresStack, token: str) -> dict:
    response = httpx.post(
        f"{stack.server.url}/api/v1/figures/jobs/",
        json={"school_year": YEAR},
        headers=auth(token),
        timeout=30,
    )
    assert response.status_code == 202, f"{response.status_code} {response.text}"
    return response.json()


def wait_for_job(stack: FiguresStack, token: str, job: dict, timeout: float = JOB_TIMEOUT) -> dict:
    state = {}

    def finished() -> bool:
        state.update(httpx.get(job["url"], headers=auth(token), timeout=10).json())
        return state["status"] in (JobStatus.DONE, JobStatus.FAILED)

    try:
        wait_until(finished, timeout=timeout, interval=0.1, what=f"figures job {job['id']}")
    except TimeoutError:
        pytest.fail(f"job did not finish: {state}\n{stack.diagnostics()}")
    return state


def _plain(value):
    # Stored NaN (if any) must compare equal to itself.
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def _rows(queryset, order: tuple[str, ...]) -> list[tuple]:
    skip = {"id", "figure_set", "computed_at"}
    names = [f.attname for f in queryset.model._meta.concrete_fields if f.name not in skip]
    return [tuple(_plain(v) for v in row) for row in queryset.order_by(*order).values_list(*names)]


def stored(figure_set_id: int) -> dict:
    """Everything a figure set holds, without ids and timestamps."""
    figure_set = FigureSet.objects.values(
        "school_year",
        "taxonomy_version",
        "confidence_level",
        "incidents_counted",
        "institutions_included",
        "excluded",
        "scores",
    ).get(pk=figure_set_id)
    return {
        "set": figure_set,
        "rates": _rows(
            InstitutionRate.objects.filter(figure_set_id=figure_set_id),
            ("institution_id", "group", "victim_role"),
        ),
        "sector": _rows(
            SectorRate.objects.filter(figure_set_id=figure_set_id), ("group", "victim_role")
        ),
        "correlations": _rows(
            ScoreCorrelation.objects.filter(figure_set_id=figure_set_id),
            ("group", "victim_role", "source"),
        ),
    }


def _waiting_on_rates_table(cursor) -> bool:
    cursor.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = %s AND NOT l.granted",
        [RATES_TABLE],
    )
    return cursor.fetchone()[0] > 0


# --- Worker killed mid-job ---------------------------------------------------------------------


def test_worker_killed_mid_job_the_job_completes_once_with_the_same_results(figures_stack):
    stack = figures_stack
    seed()
    coordinator = token_for(
        "worker-coordinator",
        role=Role.COORDINATOR,
        institution=InstitutionFactory(brin="89WK", name="Aanvrager"),
    )
    stack.ensure_worker()

    # 1. An undisturbed run: the reference.
    reference_job = wait_for_job(stack, coordinator, post_job(stack, coordinator))
    assert reference_job["status"] == JobStatus.DONE, reference_job
    reference_set = FigureJob.objects.get(pk=reference_job["id"]).figure_set_id
    reference = stored(reference_set)
    assert reference["rates"] and reference["sector"] and reference["correlations"]

    # 2. The same job again, caught in its write step, and killed there.
    problems: list[str] = []
    blocker = psycopg.connect(stack.database_url, autocommit=False)
    try:
        with blocker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {RATES_TABLE} IN SHARE MODE")
        started = time.monotonic()
        job = post_job(stack, coordinator)
        with connection.cursor() as cursor:
            wait_until(
                lambda: _waiting_on_rates_table(cursor),
                timeout=30,
                what="the job to reach its write step",
            )
        running = FigureJob.objects.get(pk=job["id"])
        building = FigureSet.objects.filter(
            school_year=YEAR, status=FigureSetStatus.BUILDING
        ).count()
        killed_after = time.monotonic() - started
        victims = stack.worker.kill()
        killed_at = time.monotonic()
    finally:
        blocker.rollback()  # the dead worker's backend gets the lock, finds its client gone
        blocker.close()
    if (running.status, running.attempts, running.step) != (JobStatus.RUNNING, 1, "write"):
        problems.append(f"not mid-job at the kill: {running.status} {running.step}")
    if building != 1:
        problems.append(f"{building} building sets at the kill, expected the job's one")
    if len(victims) < 2:
        problems.append(f"killed {victims}: expected the main process and its pool child")
    if any(pid in process_group_members(stack.worker.process.pid) for pid in victims):
        problems.append("a killed worker process is still alive")

    # 3. The message is still unacknowledged in Redis; a new worker gets it once the
    # visibility timeout has passed since its delivery (before ``started_at``).
    delivered_before = running.started_at.timestamp()
    time.sleep(max(0.0, delivered_before + VISIBILITY_TIMEOUT + 1 - time.time()))
    worker = stack.start_worker()
    final = wait_for_job(stack, coordinator, job)
    done_after_kill = time.monotonic() - killed_at

    # 4. Done once, retried, the same figures as the undisturbed run.
    time.sleep(2)  # a second, duplicate execution would show up meanwhile
    record = FigureJob.objects.get(pk=job["id"])
    current = list(
        FigureSet.objects.filter(school_year=YEAR, status=FigureSetStatus.CURRENT).values_list(
            "pk", flat=True
        )
    )
    sets_of_job = FigureSet.objects.filter(job_id=job["id"]).count()
    leftovers = FigureSet.objects.filter(school_year=YEAR, status=FigureSetStatus.BUILDING).count()
    task_line = f"compute_figures[{record.celery_task_id}] succeeded"
    succeeded = worker.log().count(task_line)
    if final["status"] != JobStatus.DONE or record.status != JobStatus.DONE:
        problems.append(f"job ended {final['status']}: {final.get('error')}")
    if not (final["retried"] and final["attempts"] >= 2 and record.attempts == final["attempts"]):
        problems.append(f"status does not say retried: {final}")
    if current != [record.figure_set_id]:
        problems.append(f"current sets {current}, job's set {record.figure_set_id}")
    if sets_of_job != 1 or leftovers:
        problems.append(f"{sets_of_job} sets of the job, {leftovers} building sets left")
    if record.figure_set_id and stored(record.figure_set_id) != reference:
        problems.append("the retried job's figures differ from the undisturbed run")
    if succeeded != 1:
        problems.append(f"the new worker ran {succeeded} successful tasks, expected 1")
    summary.record(
        "fault: worker killed mid-job",
        f"kill -9 of {len(victims)} worker processes {killed_after:.1f}s into a job (write step); "
        f"new worker after {VISIBILITY_TIMEOUT}s visibility timeout, job done "
        f"{done_after_kill:.1f}s after the kill, attempts {final['attempts']}, "
        f"{len(reference['rates'])} rate rows equal an undisturbed run",
        failures=len(problems),
    )
    assert not problems, f"{problems}\n{stack.diagnostics()}"


# --- Readers during recomputation --------------------------------------------------------------


@dataclass
class Reading:
    started: float
    finished: float
    status: int
    body: object


# The fields of issue 5 that make up a figure; run metadata (e.g. ``computed_at``) differs
# between two runs with equal results, so it is compared separately.
FIGURE_FIELDS = (
    "institution",
    "school_year",
    "group",
    "victim_role",
    "count",
    "students",
    "rate_per_1000",
    "ci_low",
    "ci_high",
)


def figures_of(body) -> tuple | None:
    """A rates response as comparable figures; None when it is not a list of rows."""
    if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
        return None
    return tuple(tuple(row.get(name) for name in FIGURE_FIELDS) for row in body)


def runs_in(body) -> int:
    """How many computations a response's rows come from (by ``computed_at``, when shown)."""
    return len({row.get("computed_at") for row in body}) if isinstance(body, list) else 0


def test_readers_during_recomputation_always_see_a_complete_set(figures_stack):
    stack = figures_stack
    institutions = seed()
    coordinator = token_for(
        "reader-coordinator", role=Role.COORDINATOR, institution=institutions[0]
    )
    admin = token_for("reader-admin", admin=True)
    # A batch of incidents at three institutions whose withdrawal changes their counts:
    # withdrawn is set "old", open is set "new". A mix of the two is then visible.
    batch = []
    for institution in institutions[:3]:
        ids = Incident.objects.filter(institution=institution).order_by("pk")
        batch += list(ids.values_list("pk", flat=True)[:9])

    def set_state(new: bool) -> None:
        Incident.objects.filter(pk__in=batch).update(
            status=Status.OPEN if new else Status.WITHDRAWN
        )

    rates_url = f"{stack.server.url}/api/v1/figures/rates/?school_year={YEAR}"

    def rates() -> list:
        response = httpx.get(rates_url, headers=auth(admin), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    stack.ensure_worker()
    complete = {}
    for new in (False, True):
        set_state(new)
        assert wait_for_job(stack, coordinator, post_job(stack, coordinator))["status"] == "done"
        complete[new] = rates()
    old, new = figures_of(complete[False]), figures_of(complete[True])
    assert old and new and len(old) == len(new) == len(institutions)
    differing = sum(a != b for a, b in zip(old, new, strict=True))
    assert differing >= 3, "the two sets must differ in several rows to show a mix"

    stop = threading.Event()
    readings: list[Reading] = []

    def reader() -> None:
        with httpx.Client(headers=auth(admin), timeout=30) as client:
            while not stop.is_set():
                started = time.time()
                try:
                    response = client.get(rates_url)
                    body = response.json() if response.status_code == 200 else response.text
                    status = response.status_code
                except httpx.HTTPError as exc:
                    body, status = repr(exc), 0
                readings.append(Reading(started, time.time(), status, body))

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    swaps = 0
    try:
        for i in range(SWAPS):
            set_state(i % 2 == 0)  # old is current now: the next set is new, and so on
            job = wait_for_job(stack, coordinator, post_job(stack, coordinator))
            assert job["status"] == JobStatus.DONE, job
            swaps += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    # Publication times of the sets made while the readers ran.
    published = sorted(
        ts.timestamp()
        for ts in FigureSet.objects.filter(school_year=YEAR)
        .exclude(superseded_at=None)
        .values_list("superseded_at", flat=True)
    )
    kinds = Counter()
    for reading in readings:
        shown = figures_of(reading.body)
        if reading.status != 200:
            kinds[f"status {reading.status}"] += 1
        elif not shown:
            kinds["empty"] += 1
        elif runs_in(reading.body) > 1:
            kinds["rows of two runs"] += 1
        elif shown == old:
            kinds["old"] += 1
        elif shown == new:
            kinds["new"] += 1
        else:
            kinds["mixed"] += 1
    bad = sum(n for kind, n in kinds.items() if kind not in ("old", "new"))
    during_swap = sum(any(r.started <= at <= r.finished for at in published) for r in readings)
    # How often a reader's answers switched between the old and the new set.
    ordered = sorted(readings, key=lambda r: r.finished)
    states = [figures_of(r.body) == new for r in ordered if figures_of(r.body) in (old, new)]
    switches = sum(a != b for a, b in zip(states, states[1:], strict=False))
    summary.record(
        "reader during recomputation",
        f"{len(readings)} responses from {READERS} readers during {swaps} swaps "
        f"({during_swap} in flight at a swap, {switches} switches old/new): "
        f"{kinds['old']} old, {kinds['new']} new, never mixed or empty",
        failures=bad + (swaps != SWAPS),
    )
    examples = [r for r in readings if r.status != 200 or figures_of(r.body) not in (old, new)]
    examples = examples[:3]
    assert bad == 0, f"{dict(kinds)}; e.g. {examples}\n{stack.diagnostics()}"
    assert kinds["old"] and kinds["new"] and switches >= SWAPS // 2, dict(kinds)
    assert during_swap > 0, "no request was in flight at a swap; the test proved nothing"
