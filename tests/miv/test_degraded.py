"""Degraded, not down (issue 18), in-process: Redis unreachable is a cache miss (figures,
dashboards and the research API answer from the database; the research throttle fails
open), and a database that cannot be reached is a 503 in the site's layout or JSON.

The same with real processes (gunicorn, worker, beat, a Redis stopped under them):
``tests/services/test_redis_outage.py``.
"""

from __future__ import annotations

import logging

import pytest
import redis
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client, override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from miv import cache as resilient
from tests.reporting.world import YEAR, build_world
from tests.services.processes import free_port

pytestmark = pytest.mark.django_db

FIGURE_READS = [
    f"/api/v1/figures/rates/?school_year={YEAR}",
    f"/api/v1/figures/sector/?school_year={YEAR}",
    f"/api/v1/research/rates/?school_year={YEAR}",
]


def _unreachable_redis(backend: str = "miv.cache.ResilientRedisCache") -> dict:
    # A port nobody listens on: every connection is refused at once.
    return {"default": {"BACKEND": backend, "LOCATION": f"redis://127.0.0.1:{free_port()}/1"}}


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    return build_world(institution_a, institution_b, location_a, location_b)


@pytest.fixture(autouse=True)
def _cache_state():
    resilient._down_until.clear()
    yield
    resilient._down_until.clear()


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def test_without_the_resilient_cache_an_unreachable_redis_is_a_500(world, researcher):
    """The control: Django's own Redis cache raises, which was the 500 of issue 18."""
    with override_settings(
        CACHES=_unreachable_redis("django.core.cache.backends.redis.RedisCache")
    ):
        with pytest.raises(redis.exceptions.ConnectionError):
            _token_client(researcher).get(FIGURE_READS[2])


def test_figures_and_research_api_answer_from_the_database_without_redis(
    world, researcher, coordinator_a, caplog, monkeypatch
):
    caplog.set_level(logging.WARNING, logger="miv.cache")
    monkeypatch.setattr(resilient, "DOWN_SECONDS", 3600.0)  # one outage for the whole test
    attempts = []
    connect = redis.connection.AbstractConnection.connect

    def counted(self):
        attempts.append(self.port)
        return connect(self)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", counted)
    with override_settings(CACHES=_unreachable_redis()):
        statuses = {}
        for user in (researcher, coordinator_a):
            client = _token_client(user)
            for url in FIGURE_READS:
                statuses[(user.username, url)] = client.get(url).status_code
        page = Client()
        page.force_login(coordinator_a)
        dashboard = page.get(f"/figures/?school_year={YEAR}")
        chart_data = page.get(f"/figures/data/5.1.csv?school_year={YEAR}")

    assert statuses[("researcher", FIGURE_READS[2])] == 200
    assert statuses[("coordinator_a", FIGURE_READS[0])] == 200
    assert 500 not in statuses.values(), statuses
    assert dashboard.status_code == 200 and "<svg" in dashboard.content.decode()
    assert chart_data.status_code in (200, 404)  # never a 500
    # One connection attempt, then Redis is left alone until the pause is over.
    assert len(attempts) == 1, attempts
    warnings = [r for r in caplog.records if r.name == "miv.cache"]
    assert len(warnings) == 1, "one warning per outage, not one per call"


class _Forgetful:
    """A local cache that keeps nothing: as in a gunicorn with many worker processes, where
    each request may land in another process with its own memory."""

    def __getattr__(self, name):
        from django.core.cache.backends.dummy import DummyCache

        return getattr(DummyCache("forgetful", {}), name)

    def __set__(self, instance, value):
        pass


def test_the_research_throttle_fails_open_without_redis(world, researcher, settings, monkeypatch):
    """Documented direction: with Redis away the rate limit is not enforced across
    processes (every request still goes to the audit log in the database)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"research": "1/min"},
    }
    from reporting.models import ResearchRequestLog

    client = _token_client(researcher)
    logged = ResearchRequestLog.objects.count()
    monkeypatch.setattr(resilient, "DOWN_SECONDS", 3600.0)
    monkeypatch.setattr(resilient.ResilientRedisCache, "local", _Forgetful(), raising=False)
    with override_settings(CACHES=_unreachable_redis()):
        statuses = [client.get(FIGURE_READS[2]).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert ResearchRequestLog.objects.count() == logged + 3
    # With a cache the same rate limits as before.
    cache.clear()
    assert [client.get(FIGURE_READS[2]).status_code for _ in range(2)] == [200, 429]


def test_the_resilient_cache_falls_back_to_local_memory_and_retries_later(monkeypatch):
    with override_settings(CACHES=_unreachable_redis()):
        from django.core.cache import caches

        backend = caches["default"]
        assert backend.get("k", "default") == "default"  # a miss, not an error
        assert backend.unavailable()
        backend.set("k", 1)
        assert backend.get("k") == 1  # kept in this process meanwhile
        assert backend.add("k", 2) is False
        assert backend.get_or_set("other", 7) == 7
        with pytest.raises(ValueError):
            backend.incr("counter")
        # After the pause it tries Redis again.
        monkeypatch.setattr(resilient, "DOWN_SECONDS", 0.0)
        resilient._down_until.clear()
        assert not backend.unavailable()


# --- The database away: 503 -----------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    def activate():
        monkeypatch.setattr(connection, "ensure_connection", broken)

    return activate


@override_settings(DEBUG=False)
def test_pages_answer_503_in_the_sites_layout_when_the_database_is_away(
    coordinator_a, database_down
):
    client = Client(raise_request_exception=False)
    client.force_login(coordinator_a)
    database_down()
    for path in ("/", "/incidents/", "/figures/", "/incidents/register/"):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="nl")
        body = response.content.decode()
        assert response.status_code == 503, path
        assert response["Retry-After"] == "5"
        assert 'class="site-header"' in body and "tijdelijk niet bereikbaar" in body, path
        assert "Traceback" not in body


@override_settings(DEBUG=False)
def test_the_api_answers_503_json_when_the_database_is_away(coordinator_a, database_down):
    session = Client(raise_request_exception=False)
    session.force_login(coordinator_a)
    token = _token_client(coordinator_a)
    token.raise_request_exception = False
    database_down()
    for client in (session, token):
        for path in ("/api/v1/incidents/", f"/api/v1/figures/rates/?school_year={YEAR}"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.content[:200])
            assert response["Content-Type"].startswith("application/json")
            assert response.json()["detail"]
