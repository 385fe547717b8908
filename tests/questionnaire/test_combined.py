"""Figures 6.1, 6.3 and 6.5 as published (issue 15): the statistics on hand-made answers and
scores against scipy; what outside readers get; and the attack that decided it — an attacker
who knows the public JOB scores and their own answers enumerates every possible answer of
a small sector: r and ρ (as the report publishes them) give the answers away, what MIV
publishes does not."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from questionnaire import combined, combined_audit
from tests.factories import InstitutionFactory
from tests.reporting.conftest import set_score

from .test_sector import respond

pytestmark = pytest.mark.django_db

YEAR = "2022-2023"
PROVISIONS = ("V3a", "V3b", "V3c", "V3d", "V3e", "V3f")
# Seven institutions: number of the six provisions present, JOB %, MO score.
SECTOR = [(2, 70.0, 7.1), (4, 78.0, 7.6), (4, 82.0, 7.9), (5, 75.0, 7.4), (5, 84.0, 8.0)]
SECTOR += [(6, 86.0, 8.3), (6, 80.0, 7.8)]
BANDS = combined.BANDS


@pytest.fixture
def sector(settings):
    settings.MIV_DISCLOSURE_K = 5
    institutions = []
    for count, job, mo in SECTOR:
        institution = InstitutionFactory()
        answers = {
            ("V3", item): ["yes" if n < count else "no"] for n, item in enumerate(PROVISIONS)
        }
        respond(institution, YEAR, answers)
        set_score(institution, "job", 2023, job)
        set_score(institution, "mo", 2023, mo)
        institutions.append(institution)
    return institutions


def by_number(figures) -> dict[str, combined.Combined]:
    return {f.number: f for f in figures}


def fisher_interval(r: float, n: int) -> tuple[float, float]:
    z, half = math.atanh(r), 1.959963984540054 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def test_figure_6_1_as_scipy_computes_it(sector):
    figure = by_number(combined.combined_figures(YEAR))["6.1"]
    mo = [m for *_, m in SECTOR]
    job = [j for _, j, _ in SECTOR]
    pearson = scipy_stats.pearsonr(mo, job)
    spearman = scipy_stats.spearmanr(mo, job)
    low, high = fisher_interval(pearson.statistic, len(SECTOR))
    assert figure.published and figure.n == 7
    assert figure.pearson_r == round(pearson.statistic, 2)
    assert (figure.pearson_ci_low, figure.pearson_ci_high) == (round(low, 2), round(high, 2))
    assert figure.pearson_p == round(pearson.pvalue, 3)
    assert figure.spearman_rho == round(spearman.statistic, 2)
    assert figure.spearman_p == round(spearman.pvalue, 3)
    assert figure.survey_years == {"mo": 2023, "job": 2023}


def test_administrators_get_6_3_and_6_5_with_group_means(sector):
    figures = by_number(combined.combined_figures(YEAR, administrator=True))
    counts = [c for c, *_ in SECTOR]
    for number, scores in (("6.3", [j for _, j, _ in SECTOR]), ("6.5", [m for *_, m in SECTOR])):
        figure = figures[number]
        assert figure.pearson_r == round(scipy_stats.pearsonr(counts, scores).statistic, 2)
        assert figure.spearman_rho == round(scipy_stats.spearmanr(counts, scores).statistic, 2)
        groups = {g.label: g for g in figure.groups}
        assert set(groups) == {"2", "4", "5", "6"}
        for value in (2, 4, 5, 6):
            values = [s for c, s in zip(counts, scores, strict=True) if c == value]
            assert groups[str(value)].n == len(values)
            assert groups[str(value)].mean == round(float(np.mean(values)), 1)


def test_outside_readers_get_no_statistics_of_6_3_and_6_5(sector):
    figures = by_number(combined.combined_figures(YEAR))
    for number in ("6.3", "6.5"):
        figure = figures[number]
        assert not figure.published and figure.n == 7
        assert figure.pearson_r is figure.spearman_rho is figure.pearson_p is None
        assert "alleen voor beheerders" in figure.message
        assert all(g.mean is None for g in figure.groups)


def test_fewer_than_k_institutions_publish_nothing(sector, settings):
    settings.MIV_DISCLOSURE_K = 8
    for figure in combined.combined_figures(YEAR, administrator=True):
        assert not figure.published and figure.pearson_r is None and figure.groups == ()
        assert "minder dan 8 instellingen" in figure.message


# --- The attack --------------------------------------------------------------------------------


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc @ yc) / np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum())


def enumerate_answers(published: dict, scores: list[list[float]]) -> np.ndarray:
    """Every vector of provision counts (0–6 per institution) consistent with what an
    attacker read: the sum of all provisions (figure 5.4), and per figure whatever of r, ρ
    (rounded) and the band sizes was published."""
    n = len(SECTOR)
    candidates = np.array(list(itertools.product(range(7), repeat=n)), dtype=np.int8)
    candidates = candidates[candidates.sum(axis=1) == published["total"]].astype(float)
    keep = np.ones(len(candidates), dtype=bool)
    ranks = scipy_stats.rankdata(candidates, axis=1)
    band = np.array([next(b for b, values in enumerate(BANDS) if v in values) for v in range(7)])
    for figure, y in zip(published["figures"], scores, strict=True):
        y = np.asarray(y)
        if figure.get("r") is not None:
            keep &= np.round(_pearson_rows(candidates, y), figure["decimals"]) == figure["r"]
        if figure.get("rho") is not None:
            rho = _pearson_rows(ranks, scipy_stats.rankdata(y))
            keep &= np.round(rho, figure["decimals"]) == figure["rho"]
        for b, size in enumerate(figure.get("sizes") or ()):
            keep &= (band[candidates.astype(int)] == b).sum(axis=1) == size
    return candidates[keep].astype(int)


def found_bands(candidates: np.ndarray) -> list[tuple[int, int]]:
    """(institution, attacker) pairs where the attacker, knowing its own count, finds the
    other's band: every remaining candidate puts it in the same band."""
    truth = [c for c, *_ in SECTOR]
    band = np.array([next(b for b, values in enumerate(BANDS) if v in values) for v in range(7)])
    found = []
    for attacker, own in enumerate(truth):
        mine = band[candidates[candidates[:, attacker] == own]]
        for institution in range(len(truth)):
            if institution != attacker and len(set(mine[:, institution])) < 2:
                found.append((institution, attacker))
    return found


def test_the_attack_recovers_answers_from_r_and_rho_but_not_from_what_mivs_publishes(sector):
    counts = [c for c, *_ in SECTOR]
    scores = [[j for _, j, _ in SECTOR], [m for *_, m in SECTOR]]
    total = sum(counts)

    def report_style(decimals: int) -> dict:
        figures = []
        for y in scores:
            figures.append(
                {
                    "r": round(scipy_stats.pearsonr(counts, y).statistic, decimals),
                    "rho": round(scipy_stats.spearmanr(counts, y).statistic, decimals),
                    "decimals": decimals,
                }
            )
        return {"total": total, "figures": figures}

    # As the report publishes them (two decimals), r and ρ leave two possible sectors...
    candidates = enumerate_answers(report_style(2), scores)
    assert counts in candidates.tolist() and len(candidates) <= 2
    assert len(found_bands(candidates)) > 20
    # ... and even to one decimal some institution's band comes back.
    assert found_bands(enumerate_answers(report_style(1), scores))

    # What MIV publishes to outside readers: sizes per band (when the audit allows).
    figures = by_number(combined.combined_figures(YEAR))
    published = {"total": total, "figures": []}
    for number in ("6.3", "6.5"):
        assert figures[number].pearson_r is None
        published["figures"].append({"sizes": [g.n for g in figures[number].groups]})
    assert all(f["sizes"] for f in published["figures"])  # the audit allowed the sizes
    candidates = enumerate_answers(published, scores)
    assert found_bands(candidates) == []
    # The integer program of the audit agrees with the enumeration.
    everyone = list(range(len(counts)))
    assert combined.bands_safe(dict(enumerate(counts)), {"6.3": everyone, "6.5": everyone})


@pytest.mark.parametrize(
    "values, protected",
    [
        ((4, 4, 5, 5, 5), False),  # one band holds everyone
        ((0, 6, 6, 6, 6), False),  # the one in 0–3 knows everyone else is a 6
        ((0, 0, 4, 5, 6), True),
        ((1, 4, 4, 5, 6), True),
        ((3, 4, 6, 6, 6), True),
        ((2, 2, 6, 6, 6), True),  # a 2 knows one other is low, not which
    ],
)
def test_the_audit_finds_exactly_the_bands_a_brute_force_attacker_finds(values, protected):
    """Small sectors: the integer program's verdict and the (institution, attacker) pairs
    it finds equal those of trying every possible answer."""
    counts = {f"i{n}": v for n, v in enumerate(values)}
    sizes = tuple(sum(v in band for v in counts.values()) for band in BANDS)
    figure = combined_audit.PublishedFigure(
        list(counts),
        [combined_audit.PublishedBand(band, n) for band, n in zip(BANDS, sizes, strict=True)],
    )
    total = sum(counts.values())
    result = combined_audit.audit_bands(counts, [figure], BANDS, total)
    found = set()
    for institution, attacker in result.determined:
        attackers = [attacker] if attacker is not None else [k for k in counts if k != institution]
        found |= {(institution, a) for a in attackers}
    assert found == brute_force_found(counts, sizes, total)
    assert result.protected == (found == set()) == protected


def brute_force_found(counts: dict, sizes: tuple, total: int) -> set:
    keys = sorted(counts)
    band = [next(b for b, values in enumerate(BANDS) if v in values) for v in range(7)]
    candidates = [
        c
        for c in itertools.product(range(7), repeat=len(keys))
        if sum(c) == total and tuple(sum(band[v] == b for v in c) for b in range(3)) == sizes
    ]
    found = set()
    for j, attacker in enumerate(keys):
        mine = [c for c in candidates if c[j] == counts[attacker]]
        for i, key in enumerate(keys):
            if i != j and len({band[c[i]] for c in mine}) < 2:
                found.add((key, attacker))
    return found


# --- Where readers see them ---------------------------------------------------------------------


@pytest.fixture
def _empty_cache():
    from django.core.cache import cache

    cache.clear()  # throttle buckets, the audit's verdicts
    yield
    cache.clear()


def test_the_sector_page_shows_what_each_reader_may_see(
    sector, coordinator_a, administrator, _empty_cache
):
    import re

    from django.test import Client

    client = Client()
    client.force_login(coordinator_a)
    page = client.get("/questionnaire/sector/", {"school_year": YEAR}).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    r = round(scipy_stats.pearsonr([m for *_, m in SECTOR], [j for _, j, _ in SECTOR])[0], 2)
    assert "Figuur 6.1" in text and f"Pearson r {r:.2f}".replace(".", ",") in text
    assert "Figuur 6.3" in text and "alleen voor beheerders" in text
    assert text.count("Pearson r") == 1  # not for 6.3 and 6.5
    assert "4–5 4" in text  # institutions per band: 4 and 5 provisions hold four
    client.force_login(administrator)
    page = client.get("/questionnaire/sector/", {"school_year": YEAR}).content.decode()
    assert page.count("Pearson r") == 3 and "Gemiddelde score" in page


def test_researchers_get_the_outside_version_through_the_api(sector, researcher, _empty_cache):
    from tests.reporting.test_research_api import token_client

    body = token_client(researcher).get("/api/v1/research/policy/", {"school_year": YEAR}).json()
    figures = {f["number"]: f for f in body["combined"]}
    assert figures["6.1"]["published"] and figures["6.1"]["n"] == 7
    assert (
        figures["6.1"]["pearson_r"] == by_number(combined.combined_figures(YEAR))["6.1"].pearson_r
    )
    for number in ("6.3", "6.5"):
        assert not figures[number]["published"] and figures[number]["pearson_r"] is None
        assert [g["n"] for g in figures[number]["groups"]] == [1, 4, 2]
        assert "mean" not in figures[number]["groups"][0]


def test_the_figures_job_runs_the_audit_so_readers_need_not(
    sector, monkeypatch, _empty_cache, caplog
):
    """Computing the year's figures (the job) also runs the audit of 6.3/6.5; a reader
    afterwards gets the cached verdict. A failing audit is logged and leaves the incident
    figures published."""
    from reporting import engine
    from reporting.choices import FigureSetStatus

    calls = []
    real = combined_audit.audit_bands

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(combined_audit, "audit_bands", counted)
    engine.compute_school_year(YEAR)
    assert len(calls) == 1
    figures = by_number(combined.combined_figures(YEAR))
    assert figures["6.3"].groups and len(calls) == 1  # read from the cache

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(combined_audit, "audit_bands", broken)
    from django.core.cache import cache

    cache.clear()
    figure_set = engine.compute_school_year(YEAR)
    assert figure_set.status == FigureSetStatus.CURRENT
    assert "compute_combined_figures failed: RuntimeError('audit down')" in caplog.text
