"""The registration-quality page as a coordinator and an administrator use it: the to-do
list in words, the running year labelled with its "t/m" date, numbers in the reader's
format, marking and unmarking with a reason (refused without one), and the home tile."""

from datetime import date

import pytest
from django.test import Client

from accounts.models import AuditEvent
from reporting.models import UnusableYear
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db
URL = "/figures/quality/25LJ/"


@pytest.fixture
def client_a(coordinator_a, location_a):
    client = Client()
    client.force_login(coordinator_a)
    return client


def test_page_shows_the_todo_list_and_the_indicators(client_a, location_a, settings):
    IncidentFactory(location=location_a, occurred_on=date(2023, 3, 14), place="")
    response = client_a.get(URL, {"school_year": "2022-2023"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kwaliteit van de registratie" in html and "ROC Alfa" in html
    # One registration, place empty, no time: both 100% unknown.
    assert "Plek is bij 1 van 1 registraties onbekend (100%)" in html
    assert "Tijdstip is bij 1 van 1 registraties onbekend (100%)" in html
    assert "lopend schooljaar" not in html  # 2022-2023 is over
    # No student count: not counted in the sector figures, and why.
    assert "er is geen studentaantal (DUO) voor dit schooljaar" in html


def test_the_running_year_is_labelled_with_its_through_date(client_a, location_a):
    response = client_a.get(URL)  # default: the running year
    html = response.content.decode()
    assert "lopend schooljaar" in html and "Stand t/m" in html


def test_english_numbers_and_texts(client_a, location_a):
    IncidentFactory(location=location_a, occurred_on=date(2023, 3, 14), place="")
    client_a.cookies["django_language"] = "en"
    html = client_a.get(URL, {"school_year": "2022-2023"}, HTTP_ACCEPT_LANGUAGE="en").content
    assert "Place is unknown in 1 of 1 registrations (100%)" in html.decode()


def test_mark_and_unmark(client_a, institution_a, location_a):
    response = client_a.post(URL + "2022-2023/unusable/", {"reason": "Eén vestiging."})
    assert response.status_code == 302
    assert response["Location"] == URL + "?school_year=2022-2023"
    assert UnusableYear.objects.get(institution=institution_a).reason == "Eén vestiging."
    html = client_a.get(response["Location"]).content.decode()
    assert "gemarkeerd als niet bruikbaar voor de sector door coordinator_a" in html
    assert "Eén vestiging." in html and "Weer laten meetellen" in html
    response = client_a.post(URL + "2022-2023/usable/")
    assert response.status_code == 302 and not UnusableYear.objects.exists()
    assert AuditEvent.objects.filter(institution=institution_a).count() == 2


def test_marking_without_a_reason_is_refused_with_a_message(client_a, location_a):
    response = client_a.post(URL + "2022-2023/unusable/", {"reason": "  "})
    assert response.status_code == 200  # the form again, as every page does
    assert "Geef de reden" in response.content.decode()
    assert not UnusableYear.objects.exists()


def test_a_malformed_year_is_no_error_page(client_a, location_a):
    response = client_a.get(URL, {"school_year": "2022/23"})
    assert response.status_code == 200
    assert "Ongeldig schooljaar" in response.content.decode()
    response = client_a.post(URL + "2022-23/unusable/", {"reason": "x"})
    assert response.status_code == 302 and not UnusableYear.objects.exists()


def test_administrator_chooses_any_institution(administrator, institution_a, institution_b):
    client = Client()
    client.force_login(administrator)
    index = client.get("/figures/quality/").content.decode()
    assert "ROC Alfa" in index and "ROC Beta" in index
    assert client.get("/figures/quality/30RR/").status_code == 200
    response = client.post("/figures/quality/30RR/2022-2023/unusable/", {"reason": "Proef"})
    assert response.status_code == 302
    assert UnusableYear.objects.get().institution == institution_b


def test_coordinator_of_one_institution_goes_straight_to_it(client_a):
    response = client_a.get("/figures/quality/")
    assert response.status_code == 302 and response["Location"] == URL


def test_home_tile_for_coordinators_only(client_a, registrar_a):
    assert "/figures/quality/" in client_a.get("/").content.decode()
    registrar = Client()
    registrar.force_login(registrar_a)
    assert "/figures/quality/" not in registrar.get("/").content.decode()
