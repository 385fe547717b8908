"""The sector's answers as published (figures 5.4–5.9 at /questionnaire/sector/, issue 15
phase 2): complete school years only, submitted closed answers only, a row only when at least
k institutions answered it, counts checked by hand; who may read it; the page fits a phone."""

from datetime import date

import pytest
from django.test import Client

from miv import clock
from questionnaire import sector
from questionnaire.choices import ResponseStatus
from questionnaire.models import Answer, QuestionnaireResponse, QuestionnaireVersion
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

YEAR = "2022-2023"
URL = "/questionnaire/sector/"


def respond(institution, school_year, answers: dict, status=ResponseStatus.SUBMITTED):
    """A response with ``answers`` {(question, item): [options]} written as stored."""
    response = QuestionnaireResponse.objects.create(
        institution=institution,
        school_year=school_year,
        version=QuestionnaireVersion.current(),
        status=status,
    )
    Answer.objects.bulk_create(
        Answer(response=response, question=q, item=item, option=option)
        for (q, item), options in answers.items()
        for option in options
    )
    return response


@pytest.fixture
def sector_answers(institution_a, institution_b):
    """Seven institutions (A, B and five more): six submitted, one draft. The counselor
    (V3a): five yes on all/most locations, one absent; the reporting point (V3b) answered
    by three only."""
    others = [InstitutionFactory() for _ in range(5)]
    everyone = [institution_a, institution_b, *others]
    for n, inst in enumerate(everyone[:6]):
        answers = {("V3", "V3a"): ["yes"] if n < 5 else ["no"]}
        if n < 5:
            answers[("V4", "V3a")] = ["all_most"]
        if n < 3:
            answers[("V3", "V3b")] = ["yes"]
            answers[("V4", "V3b")] = ["part"]
        respond(inst, YEAR, answers)
    respond(everyone[6], YEAR, {("V3", "V3a"): ["no"]}, status=ResponseStatus.DRAFT)
    return everyone


def test_figure_5_4_as_published_by_hand(sector_answers, settings):
    settings.MIV_DISCLOSURE_K = 5
    data = sector.sector_figures(YEAR)
    assert data["respondents"] == 6  # the draft does not count
    figure = next(f for f in data["figures"] if f["question"] == "V3")
    counselor, point = figure["rows"][0], figure["rows"][1]
    assert counselor.n == 6 and counselor.published
    cells = {c["label"]: (c["count"], c["share"]) for c in counselor.cells}
    assert cells["Alle/meeste"] == (5, pytest.approx(5 / 6))
    assert cells["niet aanwezig"] == (1, pytest.approx(1 / 6))
    assert cells["weet niet"] == (0, 0.0)
    # Three answered the reporting point: below k, nothing but n is shown.
    assert point.n == 3 and not point.published and point.cells == ()
    assert figure["answered"] == 6
    population = data["population"]
    assert population >= 7
    assert figure["coverage"].startswith(f"Beantwoord door 6 van {population} instellingen")


def test_only_complete_school_years_are_published(sector_answers, institution_a, monkeypatch):
    respond(institution_a, "2023-2024", {("V3", "V3a"): ["yes"]})
    monkeypatch.setattr(clock, "today", lambda: date(2023, 11, 1))
    assert sector.published_years() == [YEAR]
    monkeypatch.setattr(clock, "today", lambda: date(2024, 8, 1))
    assert sector.published_years() == ["2023-2024", YEAR]


@pytest.mark.parametrize(
    "user, status",
    [
        ("coordinator_a", 200),
        ("researcher", 200),
        ("administrator", 200),
        ("registrar_a", 403),
        (None, 302),
    ],
)
def test_who_reads_the_sector_page(sector_answers, request, user, status):
    client = Client()
    if user:
        client.force_login(request.getfixturevalue(user))
    response = client.get(URL, {"school_year": YEAR})
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "Figuur 5.4 – Voorzieningen" in html and "Figuur 5.9" in html
        assert "niet gepubliceerd: minder dan 5 instellingen beantwoordden dit" in html
        assert "Wie antwoordden: Tabel 5.2, 2022-2023" in html
        assert "6 van de 7 instellingen dienden de vragenlijst in" in html
        # No institution is named on the page.
        for inst in sector_answers:
            assert inst.name not in html and inst.brin not in html


def test_an_unknown_year_is_400_with_the_choices(sector_answers, coordinator_a):
    client = Client()
    client.force_login(coordinator_a)
    response = client.get(URL, {"school_year": "2030-2031"})
    assert response.status_code == 400
    assert f"Kies uit: {YEAR}" in response.content.decode()


def test_without_answers_the_page_says_so(coordinator_a):
    client = Client()
    client.force_login(coordinator_a)
    response = client.get(URL)
    assert response.status_code == 200
    assert "nog geen antwoorden van een afgesloten schooljaar" in response.content.decode()


def test_every_figure_is_drawn_with_the_published_shares(sector_answers, coordinator_a, settings):
    """Figure 5.4's chart on the page: the counselor's bar is 5/6 'all/most' and 1/6
    'absent' (counted by hand above); the reporting point (n = 3) and the five provisions
    nobody answered have no bar."""
    import re

    from tests.reporting.test_chart_shares import bars

    settings.MIV_DISCLOSURE_K = 5
    client = Client()
    client.force_login(coordinator_a)
    page = client.get(URL, {"school_year": YEAR}).content.decode()
    charts = re.findall(r'<figure class="chart policy-chart">(.*?)</figure>', page, re.S)
    assert len(charts) == len(sector.FIGURES)
    first = charts[0]
    assert 'id="policy-chart-1-' in first and "<figcaption>" in first
    found = bars(first.encode())
    assert len(found) == 2
    whole = found[1][1] - found[0][0]
    assert [(r - left) / whole for left, r, _c in found] == pytest.approx([5 / 6, 1 / 6], abs=1e-4)
    assert "niet gepubliceerd" in first
    assert "6 onderdelen hebben geen balk: minder dan 5 instellingen beantwoordden ze." in first


# --- The research API -------------------------------------------------------------------------

API = "/api/v1/research/policy/"


@pytest.fixture
def _empty_cache():
    from django.core.cache import cache

    cache.clear()  # throttle buckets
    yield
    cache.clear()


def test_researchers_read_the_same_figures_through_the_api(
    sector_answers, researcher, _empty_cache
):
    from reporting.models import ResearchRequestLog
    from tests.reporting.test_research_api import token_client

    response = token_client(researcher).get(API, {"school_year": YEAR})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["school_year"], body["respondents"], body["k"]) == (YEAR, 6, 5)
    v3 = next(f for f in body["figures"] if f["question"] == "V3")
    counselor = next(r for r in v3["rows"] if r["item"] == "V3a")
    counts = {a["option"]: a["count"] for a in counselor["answers"]}
    assert counts["all_most"] == 5 and counts["absent"] == 1 and counselor["n"] == 6
    point = next(r for r in v3["rows"] if r["item"] == "V3b")
    assert point == {**point, "n": 3, "published": False, "answers": []}
    assert "texts" not in response.content.decode()
    # Tabel 5.2: respondents per region and size class (the test sector is all west).
    sample = body["sample"]
    assert (sample["respondents"], sample["population"]) == (6, 7)
    west = next(r for r in sample["dimensions"][0]["rows"] if r["category"] == "west")
    assert (west["sample"], west["population"]) == (6, 7)
    entry = ResearchRequestLog.objects.get()
    assert (entry.endpoint, entry.status_code) == ("research-policy", 200)


@pytest.mark.parametrize(
    "params, parameter",
    [({"school_year": "2030-2031"}, "school_year"), ({"institution": "25LJ"}, "institution")],
)
def test_the_api_answers_400_naming_the_parameter(
    sector_answers, researcher, params, parameter, _empty_cache
):
    from tests.reporting.test_research_api import token_client

    response = token_client(researcher).get(API, params)
    assert response.status_code == 400
    assert parameter in response.content.decode()


def test_coordinators_and_sessions_do_not_get_the_api(
    sector_answers, coordinator_a, researcher, _empty_cache
):
    from rest_framework.test import APIClient

    from tests.reporting.test_research_api import token_client

    assert token_client(coordinator_a).get(API).status_code == 403
    session = APIClient()
    session.force_login(researcher)
    assert session.get(API).status_code == 401


def test_open_texts_never_reach_the_page_or_the_api(
    sector_answers, institution_a, researcher, _empty_cache
):
    from questionnaire.models import OpenAnswer
    from tests.reporting.test_research_api import token_client

    response = QuestionnaireResponse.objects.get(institution=institution_a, school_year=YEAR)
    OpenAnswer.objects.create(response=response, question="V1", text="KANARIE-open-tekst")
    client = Client()
    client.force_login(researcher)
    assert "KANARIE" not in client.get(URL, {"school_year": YEAR}).content.decode()
    assert "KANARIE" not in token_client(researcher).get(API).content.decode()


def test_table_5_2_respondents_against_all_institutions(db):
    """Twelve institutions: eight in the west (five answered), four in the north (one
    answered), none in the east or south. Only two regions hold institutions, so the exact
    test is Fisher's exact test of the 2 x 2 table, which scipy computes independently;
    the size classes the same way (< 10,000 against 10,000–15,000 students)."""
    from scipy.stats import fisher_exact

    from reporting.models import StudentCount

    west = [InstitutionFactory(region="west") for _ in range(8)]
    north = [InstitutionFactory(region="noord") for _ in range(4)]
    for n, inst in enumerate(west + north):
        # West: the first three have 12,000 students, the rest 5,000; north: 5,000.
        StudentCount.objects.create(
            institution=inst, school_year=YEAR, students=12_000 if n < 3 else 5_000
        )
    for inst in [*west[:5], north[0]]:
        respond(inst, YEAR, {("V3", "V3a"): ["yes"]})
    respond(north[1], YEAR, {("V3", "V3a"): ["yes"]}, status=ResponseStatus.DRAFT)

    table = sector.sector_figures(YEAR)["sample"]
    assert (table["respondents"], table["population"], table["outside"]) == (6, 12, 0)
    region, size = table["dimensions"]
    rows = {r["category"]: r for r in region["rows"]}
    assert [r["category"] for r in region["rows"]] == ["noord", "oost", "west", "zuid"]
    assert (rows["west"]["sample"], rows["west"]["population"]) == (5, 8)
    assert (rows["noord"]["sample"], rows["noord"]["population"]) == (1, 4)
    assert rows["west"]["sample_share"] == pytest.approx(5 / 6)
    assert rows["west"]["population_share"] == pytest.approx(8 / 12)
    assert rows["west"]["difference_pp"] == pytest.approx((5 / 6 - 8 / 12) * 100)
    assert rows["oost"]["population"] == 0 and rows["oost"]["sample"] == 0
    expected = fisher_exact([[5, 1], [8 - 5, 4 - 1]]).pvalue
    assert region["p_value"] == pytest.approx(expected)
    sizes = {r["category"]: r for r in size["rows"]}
    # Respondents: three of 12,000 (all medium), three of 5,000 (west[3], west[4], north[0]).
    assert (sizes["10000_15000"]["sample"], sizes["10000_15000"]["population"]) == (3, 3)
    assert (sizes["lt_10000"]["sample"], sizes["lt_10000"]["population"]) == (3, 9)
    assert size["p_value"] == pytest.approx(fisher_exact([[3, 3], [0, 6]]).pvalue)
    # On the page, for every reader of the figures.
    assert "small_expected" not in table["limits"]  # texts, not codes
    assert any("vragenlijst invullen" in limit for limit in table["limits"])


def test_the_figure_of_v10_does_not_repeat_that_more_answers_were_possible(
    sector_answers, coordinator_a
):
    client = Client()
    client.force_login(coordinator_a)
    html = client.get(URL, {"school_year": YEAR}).content.decode()
    v10 = html[html.index("V10. ") :]
    v10 = v10[: v10.index("</p>")]
    assert v10.lower().count("meer antwoorden mogelijk") == 1  # the question's own text
    assert "De aandelen tellen op tot meer dan 100%" in v10
    v11 = html[html.index("V11. ") :]
    v11 = v11[: v11.index("</p>")]
    assert "(Meer antwoorden mogelijk: de aandelen tellen op tot meer dan 100%.)" in v11
