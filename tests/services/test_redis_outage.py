"""Redis stopped under the running service (issue 18): degraded, not down.

A stack of its own: a private Redis (broker in db 0, cache in db 1, as the README
configures them), gunicorn in production mode, a Celery worker and Celery beat (its
catch-up task every 2 s here; 300 s by default), on the pytest test database.

While Redis is stopped: logging in, the dashboards, the figures API and the research API
answer 200 from the database, a registration is stored (201), ``/healthz`` says
"broker down" (503), and nothing answers 500. After Redis is back, the year the
registration changed is recomputed by itself (beat's catch-up schedules it, the worker
computes it): the stale year becomes current and its figures count the new incident.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis as redis_client
from django.db import connection

from incidents.models import Institution
from reporting import engine
from reporting.models import FigureSet, FigureYear
from tests.reporting.conftest import set_students
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
    _stop_process_group,
    production_env,
    spawn,
    tail,
    wait_until,
)
from tests.services.provision import Actors, incident_payload, provision

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

YEAR = "2023-2024"  # incident_payload's date, 2024-03-14
PASSWORD = "Redis-weg-2023!"


@dataclass
class OutageStack:
    redis: RedisServer
    server: Gunicorn
    worker: CeleryWorker
    beat: subprocess.Popen
    directory: Path

    def diagnostics(self) -> str:
        return "\n".join(
            f"--- {name}\n{tail(self.directory / name, 25)}"
            for name in ("gunicorn.log", "worker.log", "beat.log")
        )


@pytest.fixture(scope="module")
def outage_stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[OutageStack]:
    require_postgres()
    if shutil.which("redis-server") is None:
        unavailable("redis-server not found")
    directory = tmp_path_factory.mktemp("redis-outage")
    redis = RedisServer()
    server = worker = beat = None
    try:
        redis.start()
        base = f"redis://127.0.0.1:{redis.port}"
        env = production_env(
            database_url=_database_url(connection.settings_dict),
            data_dir=directory / "data",
            CELERY_BROKER_URL=f"{base}/0",
            CACHE_URL=f"{base}/1",
            MIV_FIGURES_DEBOUNCE_SECONDS="1",
            MIV_FIGURES_CATCH_UP_SECONDS="2",
        )
        server = Gunicorn(env=env, log_path=directory / "gunicorn.log", workers=2).start()
        worker = CeleryWorker(env=env, log_path=directory / "worker.log").start()
        beat = spawn(
            [sys.executable, "-m", "celery", "-A", "miv", "beat", "--loglevel", "INFO",
             "--schedule", str(directory / "celerybeat-schedule")],
            env=env,
            log_path=directory / "beat.log",
        )  # fmt: skip
        yield OutageStack(redis, server, worker, beat, directory)
    finally:
        if beat is not None:
            _stop_process_group(beat)
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        redis.remove()
        _wait_for_other_sessions_to_end(django_db_blocker)


def _seed() -> Actors:
    """Provisioned people and incidents of 2023-2024, student counts, computed figures."""
    from django.contrib.auth import get_user_model

    actors = provision(prefix="outage", registrars=1, incidents=6)
    for institution in Institution.objects.all():
        set_students(institution, 3000, YEAR)
    coordinator = get_user_model().objects.get(username="outage-coordinator-a")
    coordinator.set_password(PASSWORD)
    coordinator.save()
    engine.compute_school_year(YEAR)
    return actors


class Browser:
    """Cookies by hand: production cookies are Secure, and this is plain http on loopback
    (the proxy's side of the connection)."""

    def __init__(self, base: str):
        self.client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value.strip()
        return response

    def login(self, username: str, password: str) -> httpx.Response:
        page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.request(
            "POST",
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        )

    def close(self) -> None:
        self.client.close()


def _reads(base: str, actors: Actors, browser: Browser) -> dict[str, httpx.Response]:
    coordinator = {"Authorization": f"Token {actors.coordinator_token}"}
    researcher = {"Authorization": f"Token {actors.researcher_token}"}
    query = {"school_year": YEAR}
    with httpx.Client(base_url=base, timeout=30) as api:
        return {
            "figures/rates (coordinator)": api.get(
                "/api/v1/figures/rates/", params=query, headers=coordinator
            ),
            "figures/sector (coordinator)": api.get(
                "/api/v1/figures/sector/", params=query, headers=coordinator
            ),
            "research/rates (researcher)": api.get(
                "/api/v1/research/rates/", params=query, headers=researcher
            ),
            "dashboard page": browser.request("GET", f"/figures/?school_year={YEAR}"),
        }


def _current_set(year: str) -> FigureSet | None:
    return FigureSet.objects.filter(school_year=year, status="current").first()


def test_redis_stopped_figures_and_registration_go_on_and_the_year_is_recomputed_after(
    outage_stack,
):
    stack = outage_stack
    base = stack.server.url
    actors = _seed()
    counted_before = _current_set(YEAR).incidents_counted
    problems: list[str] = []

    browser = Browser(base)
    assert browser.login("outage-coordinator-a", PASSWORD).status_code == 302
    warm = _reads(base, actors, browser)
    bad = {name: r.status_code for name, r in warm.items() if r.status_code != 200}
    assert not bad, f"precondition: all reads 200 with Redis up: {bad}\n{stack.diagnostics()}"
    cached_keys = redis_client.Redis(port=stack.redis.port, db=1).dbsize()
    assert cached_keys > 0, "precondition: the figures use the Redis cache"

    # --- Redis away -------------------------------------------------------------------------
    stack.redis.stop()
    assert not stack.redis.answers()
    started = time.monotonic()
    statuses: dict[str, int] = {}
    try:
        second = Browser(base)
        login = second.login("outage-coordinator-a", PASSWORD)
        statuses["login"] = login.status_code
        for name, response in _reads(base, actors, second).items():
            statuses[name] = response.status_code
            if name == "dashboard page" and "<svg" not in response.text:
                problems.append("the dashboard without Redis has no chart")
        second.close()
        created = httpx.post(
            base + "/api/v1/incidents/",
            json=incident_payload(actors.location, "redis-outage"),
            headers={"Authorization": f"Token {actors.registrar_tokens[0]}"},
            timeout=30,
        )
        statuses["registration"] = created.status_code
        health = httpx.get(base + "/healthz", timeout=30)
        statuses["healthz"] = health.status_code
        if health.status_code != 503 or health.json().get("broker") != "down":
            problems.append(f"healthz with Redis stopped: {health.status_code} {health.text}")
    finally:
        outage_seconds = time.monotonic() - started
        stack.redis.start()

    expected = {name: 200 for name in warm} | {"login": 302, "registration": 201, "healthz": 503}
    if statuses != expected:
        problems.append(f"answers with Redis stopped: {statuses}, expected {expected}")
    year = FigureYear.objects.get(school_year=YEAR)
    if not year.stale:
        problems.append("the registration did not mark its year stale")

    # --- Redis back: the stale year is recomputed by itself -------------------------------
    try:
        recovered = wait_until(
            lambda: (
                not FigureYear.objects.get(school_year=YEAR).stale
                and (_current_set(YEAR).incidents_counted == counted_before + 1)
            ),
            # The worker reconnects with backoff and the catch-up runs every 2 s here; on a
            # busy CI machine that took up to a minute. The table row shows the time taken.
            timeout=240,
            interval=1,
            what="the stale year to be recomputed after Redis returned",
        )
    except TimeoutError as exc:
        recovered = float("nan")
        problems.append(str(exc))
    after = _reads(base, actors, browser)
    if any(r.status_code != 200 for r in after.values()):
        problems.append(f"reads after Redis returned: {[r.status_code for r in after.values()]}")
    browser.close()

    summary.record(
        "fault: Redis (broker and cache) down",
        f"login, dashboard, figures and research API 200, registration 201, no 500 "
        f"({outage_seconds:.1f}s of requests); year recomputed {recovered:.0f}s after Redis "
        "returned",
        failures=len(problems),
    )
    assert 500 not in statuses.values(), f"{statuses}\n{stack.diagnostics()}"
    assert not problems, "\n".join(problems) + "\n" + stack.diagnostics()
