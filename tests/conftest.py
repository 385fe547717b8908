"""Shared fixtures: two institutions (A and B) with a registrar and a coordinator each,
a researcher and an administrator, and API clients authenticated as each of them."""

import pytest
from django.test.testcases import LiveServerThread
from rest_framework.test import APIClient

from incidents.choices import Role
from tests.factories import (
    IncidentFactory,
    InstitutionFactory,
    LocationFactory,
    MembershipFactory,
    UserFactory,
)
from tests.live_server import LiveServer
from tests.services import summary

# pytest-django's live_server uses Django's LiveServerThread; see tests/live_server.py.
LiveServerThread.server_class = LiveServer


@pytest.fixture
def institution_a(db):
    return InstitutionFactory(brin="25LJ", name="ROC Alfa")


@pytest.fixture
def institution_b(db):
    return InstitutionFactory(brin="30RR", name="ROC Beta")


@pytest.fixture
def location_a(institution_a):
    return LocationFactory(institution=institution_a, code="A-HQ", name="Alfa Hoofdgebouw")


@pytest.fixture
def location_b(institution_b):
    return LocationFactory(institution=institution_b, code="B-HQ", name="Beta Hoofdgebouw")


@pytest.fixture
def registrar_a(institution_a, location_a):
    return MembershipFactory(
        user=UserFactory(username="registrar_a"),
        institution=institution_a,
        role=Role.REGISTRAR,
        default_location=location_a,
    ).user


@pytest.fixture
def coordinator_a(institution_a):
    return MembershipFactory(
        user=UserFactory(username="coordinator_a"), institution=institution_a, role=Role.COORDINATOR
    ).user


@pytest.fixture
def registrar_b(institution_b, location_b):
    return MembershipFactory(
        user=UserFactory(username="registrar_b"),
        institution=institution_b,
        role=Role.REGISTRAR,
        default_location=location_b,
    ).user


@pytest.fixture
def coordinator_b(institution_b):
    return MembershipFactory(
        user=UserFactory(username="coordinator_b"), institution=institution_b, role=Role.COORDINATOR
    ).user


@pytest.fixture
def researcher(db):
    return MembershipFactory(
        user=UserFactory(username="researcher"), institution=None, role=Role.RESEARCHER
    ).user


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin", is_superuser=True, is_staff=True)


@pytest.fixture
def incident_a(location_a, registrar_a):
    return IncidentFactory(location=location_a, registered_by=registrar_a)


@pytest.fixture
def incident_b(location_b, registrar_b):
    return IncidentFactory(location=location_b, registered_by=registrar_b)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """``client_for(user)`` -> an APIClient logged in as ``user`` (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture(autouse=True)
def _celery_eager(request, settings):
    """Unit tests run Celery tasks in-process even when a broker is configured; the tests
    marked ``services`` start a real worker instead."""
    if request.node.get_closest_marker("services"):
        yield
        return
    from miv.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


def pytest_sessionfinish(session) -> None:
    """In a pytest-xdist worker: hand the rows this worker recorded to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["miv_summary"] = [
            (row.item, row.figure, row.failures) for row in summary.ROWS.values()
        ]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """In the pytest-xdist controller: collect a finished worker's rows for the table."""
    for item, figure, failures in getattr(node, "workeroutput", {}).get("miv_summary", []):
        summary.record(item, figure, failures=failures)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The reliability table of issue 7 (``tests/services/summary.py``), in every run that
    recorded a row: the services tests on PostgreSQL, the authorization matrix anywhere."""
    lines = summary.render()
    if lines:
        terminalreporter.section("MIV reliability (issue 7)")
        for line in lines:
            terminalreporter.write_line(line)


pytest_plugins = ["tests.smtp", "tests.oidc"]
