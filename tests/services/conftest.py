"""Fixtures that start real processes on 127.0.0.1 for the reliability tests (issue 7).

* ``gunicorn_server``: gunicorn (production mode, several sync workers) on the pytest test
  database, so tests marked ``django_db(transaction=True)`` can create users and tokens
  through the ORM and read back what the server wrote.
* ``fault_stack``: a private PostgreSQL cluster and Redis, migrated, with its own gunicorn,
  for tests that restart or stop them without disturbing the rest of the suite.

They run only against PostgreSQL (SQLite has no server to restart and serialises writers).
On SQLite they are skipped; with ``CI=true`` a missing binary fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.db import connection

from tests.services.processes import (
    ROOT,
    Gunicorn,
    PostgresCluster,
    RedisServer,
    ServiceUnavailable,
    production_env,
    run_manage,
    tail,
)
from tests.services.provision import Actors, provision

WORKERS = int(os.environ.get("MIV_SERVICES_WORKERS", "4"))


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def require_postgres() -> None:
    if not on_postgres():
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


def unavailable(reason: str) -> None:
    """A prerequisite is missing: CI must notice (fail), a developer's machine may skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"services test cannot run in CI: {reason}")
    pytest.skip(reason)


def _database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = (
        f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    )
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(settings_dict['NAME'])}"


def _wait_for_other_sessions_to_end(django_db_blocker, timeout: float = 10) -> None:
    """pytest-django drops the test database after the session; a gunicorn backend that is
    still exiting would make DROP DATABASE fail."""
    deadline = time.monotonic() + timeout
    with django_db_blocker.unblock():
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0] == 0:
                    return
            time.sleep(0.1)


@pytest.fixture(scope="session")
def gunicorn_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn serving MIV in production mode on the pytest test database."""
    require_postgres()
    directory = tmp_path_factory.mktemp("gunicorn")
    redis = RedisServer()
    server: Gunicorn | None = None
    try:
        broker = {}
        if shutil.which("redis-server"):
            # A broker of its own, as in production: enqueued recomputations wait there and
            # no worker of another test picks them up.
            broker = {"CELERY_BROKER_URL": redis.start().url}
        env = production_env(
            database_url=_database_url(connection.settings_dict),
            data_dir=directory / "data",
            **broker,
        )
        server = Gunicorn(env=env, log_path=directory / "gunicorn.log", workers=WORKERS)
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        redis.remove()
        _wait_for_other_sessions_to_end(django_db_blocker)


@pytest.fixture
def live_actors(gunicorn_server) -> Actors:
    """Users and tokens in the test database (the test must be marked
    ``django_db(transaction=True)`` so that gunicorn sees them)."""
    return provision(prefix="live", registrars=20, incidents=6)


# --- the fault stack: private PostgreSQL, Redis and gunicorn ---------------------------------


@dataclass
class FaultStack:
    cluster: PostgresCluster
    redis: RedisServer
    server: Gunicorn
    actors: Actors

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the private cluster directly (not through Django's test connection)."""
        import psycopg

        with psycopg.connect(self.cluster.url, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def diagnostics(self) -> str:
        return (
            f"--- gunicorn log\n{tail(self.server.log_path)}\n"
            f"--- postgres log\n{tail(self.cluster.log_path, 15)}"
        )


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory) -> Iterator[FaultStack]:
    """A private PostgreSQL cluster and Redis (migrated, provisioned) behind a gunicorn."""
    require_postgres()
    try:
        # Durable commits, as in production: the crash test kills it (test_faults.py).
        cluster = PostgresCluster(durable=True)
    except ServiceUnavailable as exc:
        unavailable(str(exc))
    if shutil.which("redis-server") is None:
        unavailable("redis-server not found")
    directory = tmp_path_factory.mktemp("faults")
    redis = RedisServer()
    server: Gunicorn | None = None
    try:
        cluster.start()
        redis.start()
        env = production_env(
            database_url=cluster.url, data_dir=directory / "data", CELERY_BROKER_URL=redis.url
        )
        run_manage("migrate", "--noinput", "-v", "0", env=env)
        result = subprocess.run(
            [sys.executable, "-m", "tests.services.provision", "--prefix", "fault"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        actors = Actors(**json.loads(result.stdout.strip().splitlines()[-1]))
        server = Gunicorn(env=env, log_path=directory / "gunicorn.log", workers=3).start()
        yield FaultStack(cluster=cluster, redis=redis, server=server, actors=actors)
    finally:
        if server is not None:
            server.stop()
        redis.remove()
        cluster.stop()
