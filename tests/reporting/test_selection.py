"""One parser of the figure selection (reporting.selection) for the figures API, the research
API and the dashboards: the same parameters get the same answer in all three, and the
OpenAPI parameters are the parser's own fields."""

import html
from datetime import date

import pytest
from django.test import Client
from django.test.utils import override_settings
from drf_spectacular.generators import SchemaGenerator

from miv import clock
from reporting import dashboards, engine, selection
from reporting.choices import VictimGroup

from .conftest import YEAR
from .test_research_api import token_client

pytestmark = pytest.mark.django_db

RATES = "/api/v1/figures/rates/"
RESEARCH = "/api/v1/research/rates/"


@pytest.fixture
def computed(sector):
    engine.compute_school_year(YEAR)
    return sector


@pytest.fixture
def _empty_cache():
    from django.core.cache import cache

    cache.clear()  # throttle buckets
    yield
    cache.clear()


def test_defaults_are_the_latest_complete_year_total_and_all(computed, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2024, 1, 15))
    chosen = selection.parse_selection({})
    assert (chosen.school_year, chosen.group.code, chosen.victim_role) == (YEAR, "total", "all")
    assert dashboards.parse_choice({}) == dashboards.Choice(YEAR, "total", "all")


@pytest.mark.parametrize(
    "params, parameter, message",
    [
        ({"group": "MIS.FYS"}, "group", "Alleen deze groepen worden over andere instellingen"),
        ({"victim_role": "visitor"}, "victim_role", "Onbekende slachtofferrol 'visitor'"),
        ({"school_year": "2022/2023"}, "school_year", "Ongeldig schooljaar '2022/2023'"),
        ({"school_year": "2022-2024"}, "school_year", "Ongeldig schooljaar '2022-2024'"),
    ],
)
@pytest.mark.usefixtures("_empty_cache")
def test_research_api_and_dashboard_refuse_alike(
    computed, researcher, coordinator_a, params, parameter, message
):
    """The research API (400 naming the parameter) and the dashboard page (400, the message
    re-displayed) give the same message: one parser."""
    answer = token_client(researcher).get(RESEARCH, params)
    assert answer.status_code == 400
    assert answer.json()["parameter"] == parameter
    assert answer.json()["detail"].startswith(message)
    with pytest.raises(selection.InvalidSelection) as refused:
        dashboards.parse_choice(params)
    assert refused.value.parameter == parameter and refused.value.message.startswith(message)
    page = Client()
    page.force_login(coordinator_a)
    response = page.get("/figures/", params)
    assert response.status_code == 400 and message in html.unescape(response.content.decode())


def test_a_subcategory_is_open_to_administrators_not_to_fixed_readers(computed):
    assert selection.parse_selection({"group": "MIS.FYS"}).group.code == "MIS.FYS"
    with pytest.raises(selection.InvalidSelection):
        selection.parse_selection({"group": "MIS.FYS"}, fixed=True)


def test_a_year_without_figures_lists_the_years_that_have_them(computed, administrator):
    with pytest.raises(selection.NoFiguresForYear) as missing:
        selection.parse_selection({"school_year": "2010-2011"})
    assert missing.value.school_years == [YEAR]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(administrator)
    answer = client.get(RATES, {"school_year": "2010-2011"})
    assert answer.status_code == 404 and answer.json()["school_years"] == [YEAR]
    with pytest.raises(selection.InvalidSelection) as refused:
        dashboards.parse_choice({"school_year": "2010-2011"})
    assert refused.value.parameter == "school_year" and YEAR in refused.value.message


def test_empty_values_are_refused_by_the_api_and_defaults_on_the_page(computed, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2024, 1, 15))
    from django.http import QueryDict

    with pytest.raises(selection.InvalidSelection) as refused:
        selection.parse_selection(QueryDict("group="))
    assert refused.value.parameter == "group"
    # A form's empty field is its default on the page.
    assert dashboards.parse_choice(QueryDict("school_year=&group=&victim_role=")) == (
        dashboards.Choice(YEAR, "total", "all")
    )


def test_a_parameter_given_twice_is_refused():
    from django.http import QueryDict

    with pytest.raises(selection.InvalidSelection) as refused:
        selection.parse_selection(QueryDict("victim_role=all&victim_role=staff"))
    assert refused.value.parameter == "victim_role"
    assert "één keer" in refused.value.message


@override_settings(LANGUAGE_CODE="en")
def test_the_openapi_parameters_are_the_parsers_fields():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    def parameters(path):
        operation = schema["paths"][path]["get"]
        return {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}

    rates = parameters(RATES)
    assert rates["school_year"]["schema"]["pattern"] == selection.SCHOOL_YEAR_PATTERN
    assert rates["victim_role"]["schema"]["enum"] == list(VictimGroup.values)
    assert "MIS.FYS.06" in rates["group"]["description"]
    research = parameters(RESEARCH)
    assert "Subcategories and incident types are not offered" in research["group"]["description"]
    correlation = parameters("/api/v1/figures/correlation/")
    assert "victim_role" not in correlation and {"school_year", "group"} <= set(correlation)
