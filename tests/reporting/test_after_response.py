"""In the embedded default (tasks run eagerly, in-process) a registration never computes
figures inside its request (issue 16): the year is marked stale in the request, and its
recomputation runs when the response has been sent (request_finished), as a WSGI server
closes it. Outside a request (a management command, the demo seed) it runs at once."""

import io
import json
from datetime import date

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from knox.models import AuthToken

from incidents import services as incident_services
from reporting.choices import FigureSetStatus
from reporting.models import FigureSet, FigureYear
from tests.factories import IncidentFactory
from tests.incidents.test_api import payload

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

YEAR = "2023-2024"  # of 14 March 2024, the payload's date


def current_sets() -> int:
    return FigureSet.objects.filter(school_year=YEAR, status=FigureSetStatus.CURRENT).count()


def wsgi_post(path: str, body: dict, token: str):
    """The request as a WSGI server makes it; the response is returned unclosed."""
    data = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    return WSGIHandler()(environ, lambda status, headers, exc_info=None: None)


@pytest.fixture
def keep_test_connection():
    # As Django's test client does: the test database connection must survive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_registration_answers_before_the_figures_are_computed(
    registrar_a, location_a, keep_test_connection
):
    _instance, token = AuthToken.objects.create(registrar_a)
    response = wsgi_post("/api/v1/incidents/", payload(location_a), token)
    assert response.status_code == 201, response.content
    # The response is ready; the year is stale and no figures were computed yet.
    assert FigureYear.objects.get(school_year=YEAR).stale
    assert current_sets() == 0
    response.close()  # the server has sent it
    assert current_sets() == 1
    assert not FigureYear.objects.get(school_year=YEAR).stale


def test_outside_a_request_the_eager_recomputation_runs_at_once(registrar_a, location_a):
    incident = IncidentFactory.build(
        location=location_a, institution=location_a.institution, occurred_on=date(2024, 3, 14)
    )
    incident_services.register_incident(actor=registrar_a, incident=incident)
    assert current_sets() == 1
