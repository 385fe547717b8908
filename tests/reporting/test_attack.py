"""Issue 11: the integer attack against what MIV really publishes.

The attacker (``tests/reporting/attacker.py``, written from the published shapes only)
collects every output of a school year — the research API's rows with named access (the
most an outside reader gets), the sector figures of every group and victim role, the
public DUO student counts and, as a coordinator, their own institution's exact counts —
and bounds every withheld count with integer programs. The promise: no withheld count is
recovered, and every range is at least the protection level wide (a small count's range
starts at 1). The rows of unnamed institutions (figure 5.3, pseudonymised research rows)
give back neither count nor student number; two coordinators see the same outside figures.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from django.test import Client
from rest_framework.test import APIClient

from incidents.choices import Role
from reporting import audit, publication
from reporting.dashboards import Choice, figure_53
from reporting.models import FigureSet, InstitutionRate
from reporting.protection import RESEARCH_VICTIM_ROLES, research_groups
from tests.factories import MembershipFactory, UserFactory
from tests.services.summary import record

from .attacker import attack, invert_anonymous_rows, summarize_inversion
from .world import PREVIOUS, YEAR

pytestmark = pytest.mark.usefixtures("fresh_cache")

RESEARCH = "/api/v1/research/rates/"
RATES = "/api/v1/figures/rates/"
SECTOR = "/api/v1/figures/sector/"


def too_narrow(ranges: dict, level: int) -> list:
    """Withheld cells whose range is narrower than the protection level."""
    return [cell for cell, (lo, hi) in ranges.items() if hi - lo < level]


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user=user)
    return api


def collect(api: APIClient, school_year: str) -> tuple[list, list]:
    """Every research row and sector figure of a year, as the API gives them."""
    rows, sector = [], []
    for group in research_groups():
        for role in RESEARCH_VICTIM_ROLES:
            params = {"school_year": school_year, "group": group, "victim_role": role}
            response = api.get(RESEARCH, params)
            assert response.status_code == 200, response.content
            rows += response.json()
            response = api.get(SECTOR, params)
            assert response.status_code == 200, response.content
            sector.append(response.json())
    return rows, sector


def named_researcher():
    """A researcher with named access (the most an outside reader gets)."""
    return MembershipFactory(
        user=UserFactory(username="named"),
        institution=None,
        role=Role.RESEARCHER,
        named_access=True,
    ).user


def collect_as_named_researcher(school_year: str) -> tuple[list, list]:
    """:func:`collect` as a :func:`named_researcher`."""
    return collect(client(named_researcher()), school_year)


def truth_of(school_year: str) -> dict:
    set_id = FigureSet.objects.get(school_year=school_year, status="current").pk
    return {
        (brin, group, role): count
        for brin, group, role, count in InstitutionRate.objects.filter(
            figure_set_id=set_id, group__in=research_groups(), victim_role__in=RESEARCH_VICTIM_ROLES
        ).values_list("institution__brin", "group", "victim_role", "count")
    }


@pytest.mark.django_db
@pytest.mark.parametrize("school_year", [YEAR, PREVIOUS])
def test_the_integer_attack_recovers_nothing_as_researcher_or_as_any_coordinator(
    world, school_year
):
    rows, sector = collect_as_named_researcher(school_year)
    truth = truth_of(school_year)
    students = {r["institution"]: r["students"] for r in rows}
    withheld = [r for r in rows if r["suppressed"]]
    assert withheld, "the world has small counts: something must be withheld"
    level = publication.protection_level()

    outside = attack(rows, sector, students, mean_decimals=audit.MEAN_DECIMALS)
    narrow = too_narrow(outside.ranges, level)
    record(
        f"publication: test sector {school_year}",
        f"withheld {len(withheld)}/{len(rows)} cells ({100 * len(withheld) / len(rows):.0f} %); "
        f"integer attack (outside reader) recovered {len(outside.recovered)}, "
        f"narrower than {level}: {len(narrow)}",
        failures=len(outside.recovered) + len(narrow),
    )
    assert outside.exact
    assert outside.unknown_cells == len(withheld)
    for cell, (lo, hi) in outside.ranges.items():
        assert lo <= truth[cell] <= hi  # the attacker is sound
    assert outside.recovered == []
    assert too_narrow(outside.ranges, level) == []

    narrow_for_coordinators = {}
    for brin in students:
        known = {cell: count for cell, count in truth.items() if cell[0] == brin}
        inside = attack(rows, sector, students, known=known, mean_decimals=audit.MEAN_DECIMALS)
        assert inside.recovered == [], brin
        narrow_for_coordinators[brin] = too_narrow(inside.ranges, level)
    narrow = sum(len(cells) for cells in narrow_for_coordinators.values())
    record(
        f"publication: test sector {school_year}, as each coordinator",
        f"{len(students)} coordinators: recovered 0; ranges narrower than {level}: {narrow}",
        failures=narrow,
    )
    assert narrow == 0, narrow_for_coordinators


@pytest.mark.django_db
def test_two_coordinators_get_byte_identical_outside_figures(
    world, coordinator_a, coordinator_b, institution_a, institution_b
):
    own_ids = {institution_a.pk, institution_b.pk}
    for school_year in (YEAR, PREVIOUS):
        bodies = []
        for user in (coordinator_a, coordinator_b):
            api = client(user)
            texts = []
            for group in research_groups():
                for role in RESEARCH_VICTIM_ROLES:
                    params = {"school_year": school_year, "group": group, "victim_role": role}
                    response = api.get(SECTOR, params)
                    assert response.status_code == 200
                    texts.append(response.content)
            bodies.append(texts)
        assert bodies[0] == bodies[1]
        # Figure 5.3: the other institutions' rows and the sector are the same for both,
        # apart from each one's own (named) row.
        shown = []
        for user in (coordinator_a, coordinator_b):
            data = figure_53(user, Choice(school_year, "total", "all"))
            shown.append(
                (
                    data["sector"],
                    sorted(
                        (r["rate_per_1000"], r["ci_low"], r["count"])
                        for r in data["rows"]
                        if not r["own"] and r["institution_id"] not in own_ids
                    ),
                )
            )
        assert shown[0] == shown[1]


@pytest.mark.django_db
def test_coordinators_get_no_finer_group_about_the_sector(world, coordinator_a):
    response = client(coordinator_a).get(
        SECTOR, {"school_year": YEAR, "group": "MIS.SMB.01", "victim_role": "student"}
    )
    assert response.status_code == 400
    assert "Subcategorieën en typen niet" in response.content.decode()
    # Their own institution's finer figures stay theirs.
    response = client(coordinator_a).get(
        RATES, {"school_year": YEAR, "group": "MIS.FYS.06", "victim_role": "all"}
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_figure_53_inversion_finds_no_count_and_no_student_number(world, coordinator_a):
    pool = [r["students"] for r in _named_rows(YEAR)]
    found_counts = found_students = 0
    for group in research_groups():
        for role in RESEARCH_VICTIM_ROLES:
            data = figure_53(coordinator_a, Choice(YEAR, group, role))
            anonymous = [r for r in data["rows"] if r["label"] is None]
            for row in anonymous:
                assert row["count"] is None and row["students"] is None
                assert row["ci_low"] is None and row["ci_high"] is None
            summary = summarize_inversion(invert_anonymous_rows(anonymous, pool, decimals=0))
            found_counts += summary.counts_recovered
            found_students += summary.denominators_recovered
    assert (found_counts, found_students) == (0, 0)


@pytest.mark.django_db
def test_pseudonymised_rows_name_nothing_but_named_access_gets_exact_figures(world, researcher):
    rows = client(researcher).get(RESEARCH, {"school_year": YEAR}).json()
    assert rows
    for row in rows:
        assert row["count"] is None and row["students"] is None and row["ci_low"] is None
        assert row["kind"] is None and row["region"] is None and row["urbanity"] is None
        assert row["rate_per_1000"] is None or float(row["rate_per_1000"]).is_integer()
        assert row["size_class"] is None
    named = _named_rows(YEAR)
    assert any(r["count"] is not None and r["ci_low"] is not None for r in named)
    summary = summarize_inversion(
        invert_anonymous_rows(
            [r for r in rows if not r["suppressed"]], [r["students"] for r in named], decimals=0
        )
    )
    assert (summary.counts_recovered, summary.denominators_recovered) == (0, 0)


def _named_rows(school_year: str) -> list[dict]:
    user = UserFactory()
    MembershipFactory(user=user, institution=None, role=Role.RESEARCHER, named_access=True)
    return client(user).get(RESEARCH, {"school_year": school_year}).json()


@pytest.mark.django_db
def test_an_audit_that_does_not_finish_withholds_every_count_and_says_so(
    settings,
    monkeypatch,
    caplog,
    coordinator_a,
    institution_a,
    institution_b,
    location_a,
    location_b,
):
    """Fail safe: with no time for the integer audit (the test sector needs more than one
    round) the year publishes no count, no sector figure and no same-period mean to outside
    readers, and the log says why; a coordinator keeps their own institution's counts."""
    from .world import build_world

    settings.MIV_DISCLOSURE_AUDIT_SECONDS = 0
    monkeypatch.setattr(publication, "_SECURED", OrderedDict())  # nothing remembered
    build_world(institution_a, institution_b, location_a, location_b)

    stored = publication.stored(FigureSet.objects.get(school_year=YEAR, status="current").pk)
    assert stored["audit"]["timed_out"] and stored["audit"]["withheld_all"]
    assert stored["same_period"]["means"] == {}
    assert "every cell is withheld" in caplog.text
    rows, sector = collect_as_named_researcher(YEAR)
    assert rows and sector
    assert all(row["suppressed"] and row["count"] is None for row in rows)
    assert all(f["mean_rate"] is None and f["pooled_count"] is None for f in sector)
    # The dashboard and its charts draw a year with every outside figure withheld.
    browser = Client()
    browser.force_login(coordinator_a)
    for url in ("/figures/", *(f"/figures/chart/{f}.svg" for f in ("5.1", "5.3", "6.2", "6.4"))):
        assert browser.get(url, {"school_year": YEAR}).status_code == 200, url
    # ... and says why, instead of only "niet gepubliceerd" in every cell.
    page = browser.get("/figures/", {"school_year": YEAR}).content.decode()
    assert "withheld-wholesale" in page
    assert f"De cijfers van andere instellingen en van de sector over {YEAR}" in page
    assert "De cijfers van uw eigen instelling ziet u wel." in page
    own = [r for r in figure_53(coordinator_a, Choice(YEAR, "total", "all"))["rows"] if r["own"]]
    assert [r["count"] for r in own] == [
        InstitutionRate.objects.get(
            figure_set__school_year=YEAR,
            figure_set__status="current",
            institution=institution_a,
            group="total",
            victim_role="all",
        ).count
    ]
