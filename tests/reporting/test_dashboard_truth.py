"""Figures that tell their reader the truth (issue 12, part B), on the dashboards' world:
the running year is labelled and compared with the same period; every sector figure states
its coverage; the funnel plot and the change from last year; statistics over the published
points with the exclusions named; captions that name only what is drawn; Dutch number
notation; charts drawn once."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.test import Client
from scipy import stats as scipy_stats

from miv import clock
from reporting import charts, groups
from reporting.dashboards import scatter
from reporting.models import InstitutionRate, SectorRate

from .truth import CAPTION_NEEDS, decimal_points
from .world import PREVIOUS, YEAR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DASHBOARD = "/figures/"
SVG = "{http://www.w3.org/2000/svg}"
FIGURE_NUMBERS = ("5.1", "5.3", "6.2", "6.4")


def page(user, **params):
    client = Client()
    client.force_login(user)
    query = {"school_year": YEAR, "group": "total", "victim_role": "all", **params}
    response = client.get(DASHBOARD, query)
    assert response.status_code == 200
    return response


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# --- The running year -------------------------------------------------------------------------


def test_the_running_year_is_labelled_and_compared_with_the_same_period(
    world, administrator, monkeypatch
):
    # On 20 March 2023, school year 2022-2023 runs; every incident of the world happened on
    # 14 March, so up to 20 March each year has all of its incidents.
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    response = page(administrator)
    html = response.content.decode()
    assert f"{YEAR} (lopend, t/m 20 maart 2023)" in html  # the year selector
    assert f"Lopend schooljaar {YEAR}: cijfers t/m 20 maart 2023." in html
    fig51 = response.context["fig51"]
    running = {p["school_year"]: p["running"] for s in fig51["series"] for p in s["points"]}
    assert running == {PREVIOUS: False, YEAR: True}
    assert any("t/m 20 mrt" in t for t in svg_texts(str(fig51["svg"])))
    # The same period of each year: the unweighted mean of the institutions' rates, here
    # the whole year, which the engine computed on its own (SectorRate).
    ytd = {p["school_year"]: p["mean"] for p in fig51["year_to_date"]["points"]}
    for year in (PREVIOUS, YEAR):
        sector = SectorRate.objects.get(
            figure_set__status="current", school_year=year, group="total", victim_role="all"
        )
        assert ytd[year] == pytest.approx(round(sector.mean_rate, 1))
    # No change from last year while the year runs (a part year against a whole one).
    assert all("rate_ratio" not in r for r in response.context["fig53"]["rows"])


def test_before_the_incidents_the_same_period_has_none(world, administrator, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 10))
    fig51 = page(administrator).context["fig51"]
    assert [p["mean"] for p in fig51["year_to_date"]["points"]] == [0.0, 0.0]


def test_a_complete_year_is_not_labelled_running(world, administrator):
    response = page(administrator)
    assert response.context["fig51"]["running"] is None
    assert "lopend" not in response.content.decode()


# --- Coverage, change, funnel -----------------------------------------------------------------


def test_every_sector_figure_states_its_coverage(world, coordinator_a):
    html = page(coordinator_a).content.decode()
    sentences = re.findall(r'<p class="coverage">([^<]*)</p>', html)
    # 5.1, 5.3, the funnel, 6.2 and 6.4.
    assert len(sentences) == 5
    assert all(re.fullmatch(rf"Dekking {YEAR}: \d+ van \d+ instellingen.*\.", s) for s in sentences)


def test_the_change_from_last_year_of_the_own_institution(world, coordinator_a):
    rows = page(coordinator_a).context["fig53"]["rows"]
    own = next(r for r in rows if r["own"])
    last = InstitutionRate.objects.get(
        figure_set__status="current",
        school_year=PREVIOUS,
        institution=world["institutions"]["25LJ"],
        group="total",
        victim_role="all",
    )
    ratio = own["rate_ratio"]
    expected = (own["count"] / own["students"]) / (last.count / last.students)
    assert ratio["ratio"] == pytest.approx(expected)
    assert ratio["ci_low"] < ratio["ratio"] < ratio["ci_high"]
    # Anonymous institutions have no count, so no change.
    assert all("rate_ratio" not in r for r in rows if not r["own"])


def test_the_funnel_draws_what_the_reader_may_see(world, coordinator_a, administrator):
    coordinator = page(coordinator_a).context
    funnel = coordinator["figfunnel"]
    assert [p["label"] for p in funnel["points"]] == ["25LJ"]
    others = len(coordinator["fig53"]["rows"]) + len(coordinator["fig53"]["withheld"]) - 1
    assert funnel["not_drawn"] == others
    assert "staan er niet als punt in" in funnel["caption"]
    sector = SectorRate.objects.get(
        figure_set__status="current", school_year=YEAR, group="total", victim_role="all"
    )
    assert funnel["limits"]["sector_rate"] == pytest.approx(round(sector.pooled_rate, 1))
    everything = page(administrator).context
    assert len(everything["figfunnel"]["points"]) == len(everything["fig53"]["rows"])
    # The limits narrow as institutions grow, around the sector rate.
    upper = everything["figfunnel"]["limits"]["inner"]["upper"]
    assert upper[0] > upper[-1] > sector.pooled_rate


# --- Honest statistics ------------------------------------------------------------------------


def test_scatter_statistics_over_the_published_points_name_the_exclusions():
    # A correlation of 10 institutions of which 2 are withheld (queries.correlation then
    # withholds r, ρ and the medians): the figure shows them over the 8 points shown.
    rates = [3.0, 4.5, 6.0, 7.5, 9.0, 11.0, 12.5, 20.0]
    scores = [88.0, 86.5, 85.0, 86.0, 81.0, 80.5, 78.0, 75.0]
    data = {
        "status": "suppressed",
        "n": 10,
        "survey_year": 2022,
        "points": [
            {
                "institution_id": i,
                "institution": f"I-{i}",
                "own": False,
                "flagged": False,
                "rate_per_1000": rate,
                "score": score,
            }
            for i, (rate, score) in enumerate(zip(rates, scores, strict=True))
        ],
    }
    scatter._published_points_only("job", data)
    r, p = scipy_stats.pearsonr(rates, scores)
    rho, _ = scipy_stats.spearmanr(rates, scores)
    assert data["n"] == 8 and data["excluded"] == 2
    assert data["pearson_r"] == pytest.approx(r)
    assert data["pearson_p"] == pytest.approx(p)
    assert data["spearman_rho"] == pytest.approx(rho)
    assert data["rate_median"] == pytest.approx(8.25)  # between 7.5 and 9.0
    assert data["score_median"] == pytest.approx(83.0)
    assert "2 instellingen zijn niet gepubliceerd" in data["excluded_text"]


def test_the_scatter_says_why_it_has_no_correlation(world, researcher):
    # Misconduct for a researcher: five of the eight institutions are withheld, three shown.
    context = page(researcher, group="misdragingen").context["fig62"]
    assert context["data"]["excluded"] > 0
    assert "niet gepubliceerd (te kleine aantallen)" in context["caption"]


def test_anonymous_scatter_points_keep_whole_rates(world, coordinator_a):
    data = page(coordinator_a).context["fig62"]["data"]
    others = [p for p in data["points"] if not p["own"]]
    assert others and all(float(p["rate_per_1000"]).is_integer() for p in others)
    assert float(data["rate_median"]).is_integer()


def test_the_misconduct_category_is_one_series(world, administrator):
    fig51 = page(administrator, group=groups.MISCONDUCT_CATEGORY).context["fig51"]
    assert [s["group"] for s in fig51["series"]] == list(groups.REPORT_GROUPS)


# --- What is drawn, and how it is written -----------------------------------------------------

# A caption sentence and the legend entry that must be in the chart for it.


@pytest.mark.parametrize("params", [{}, {"group": "MIL", "victim_role": "staff"}, {"group": "BRA"}])
@pytest.mark.parametrize("reader", ["coordinator_a", "researcher", "administrator"])
def test_captions_name_only_what_is_drawn(world, request, reader, params, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    context = page(request.getfixturevalue(reader), **params).context
    checked = 0
    for name in ("fig51", "fig53", "figfunnel", "fig62", "fig64"):
        svg = str(context[name]["svg"])
        texts = " ".join(svg_texts(svg))
        caption = context[name]["caption"]
        for sentence, legend in CAPTION_NEEDS:
            if sentence in caption:
                assert legend in texts, (name, sentence)
                checked += 1
    if reader == "researcher" and params.get("group") == "MIL":
        # Nothing drawn needs a legend here: outside readers get the same period for all
        # incidents only (reporting.same_period), and the figure says so instead.
        assert "alleen gepubliceerd" in context["fig51"]["year_to_date"]["note"]
    else:
        assert checked >= 1


def test_no_decimal_point_in_the_dutch_page(world, administrator, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    response = page(administrator)
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    assert decimal_points(text) == []
    assert re.search(r"\d,\d", text)  # there are decimals, written with a comma


def test_the_english_page_writes_a_decimal_point(world, administrator):
    client = Client()
    client.force_login(administrator)
    client.cookies["django_language"] = "en"
    html = client.get(DASHBOARD, {"school_year": YEAR}).content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    assert re.search(r"\b\d+\.\d\b", re.sub(r"Figure \d\.\d", "", text))
    assert "Funnel plot" in html and "Coverage" in html


def test_charts_are_drawn_once_per_view(world, coordinator_a, monkeypatch):
    drawn: list[str] = []
    for figure, draw in list(charts.FIGURES.items()):

        def counting(data, figure=figure, draw=draw):
            drawn.append(figure)
            return draw(data)

        monkeypatch.setitem(charts.FIGURES, figure, counting)
    page(coordinator_a)
    page(coordinator_a)
    assert sorted(drawn) == sorted(["5.1", "5.3", "funnel", "6.2", "6.4"])
    page(coordinator_a, school_year=PREVIOUS)  # other figures: drawn for themselves
    assert len(drawn) == 10


def test_table_5_1_of_the_chosen_year(world, coordinator_a):
    """The coverage section: every dimension's strata add up to the population, and the
    world's eight institutions all registered and count (test world: by construction)."""
    response = page(coordinator_a)
    cov = response.context["fig53"]["coverage"]
    assert (cov["population"], cov["registered"], cov["usable"]) == (8, 8, 8)
    for dimension in cov["dimensions"]:
        assert sum(r["population"] for r in dimension["rows"]) + dimension["unknown"] == 8
    html = response.content.decode()
    assert f"Dekking en representativiteit {YEAR} (Tabel 5.1)" in html
    assert "Een hoge p-waarde bewijst niet dat de instellingen representatief zijn" in html
