"""``make demo`` is the shop window: the demo data must reach every feature."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from demo.incidents import LEGACY_BRIN, LEGACY_ROWS
from demo.seed import seed_demo
from incidents.choices import ImportStatus, Role
from incidents.models import ImportJob, Incident, LabelMapping, Membership
from miv import clock
from reporting.models import FigureSet
from tests.services.summary import record

# transaction=True: the import job is queued on commit, as in a real run.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def demo():
    return seed_demo(today=date(2023, 11, 1))


def test_every_role_has_a_demo_user(demo):
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {Role.REGISTRAR, Role.COORDINATOR, Role.RESEARCHER}
    assert any(name == "beheerder" for name, _ in demo["logins"])


def test_the_legacy_register_is_imported_through_an_import_job_with_its_mapping(demo):
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert job.institution.brin == LEGACY_BRIN
    imported = Incident.objects.filter(institution=job.institution, external_id__startswith="TD-")
    assert imported.count() == LEGACY_ROWS
    assert LabelMapping.objects.filter(institution=job.institution).count() == 10


def test_the_printed_research_token_opens_the_research_api(demo):
    """The token works; and what an outside reader collects keeps issue 11's promise: for
    every complete year of the demo, the integer attack on every research row and sector
    figure (a researcher with named access) recovers no withheld count and leaves none
    narrower than the protection level. (One test: every demo test seeds the demo anew.)"""
    from django.core.cache import cache

    from reporting import audit, publication
    from tests.reporting.attacker import attack
    from tests.reporting.test_attack import client as client_of
    from tests.reporting.test_attack import collect, named_researcher, too_narrow, truth_of

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {demo['research_token']}")
    response = client.get("/api/v1/research/rates/", {"school_year": "2022-2023"})
    assert response.status_code == 200, response.content
    assert len(response.json()) == 12

    named = named_researcher()
    level = publication.protection_level()
    years = demo["school_years"][:-1]  # the last one runs
    cells = withheld = recovered = narrow = 0
    for school_year in years:
        cache.clear()  # the rate limit (per minute): the reader collects a year a minute
        rows, sector = collect(client_of(named), school_year)
        truth = truth_of(school_year)
        students = {row["institution"]: row["students"] for row in rows}
        result = attack(rows, sector, students, mean_decimals=audit.MEAN_DECIMALS)
        for cell, (lo, hi) in result.ranges.items():
            assert lo <= truth[cell] <= hi  # the attacker is sound
        assert result.exact
        cells += len(rows)
        withheld += sum(1 for row in rows if row["suppressed"])
        recovered += len(result.recovered)
        narrow += len(too_narrow(result.ranges, level))
    record(
        f"publication: demo, {len(years)} complete years",
        f"withheld {withheld}/{cells} cells ({100 * withheld / cells:.0f} %); integer attack "
        f"(named researcher) recovered {recovered}, narrower than {level}: {narrow}",
        failures=recovered + narrow,
    )
    assert withheld > 0 and recovered == 0 and narrow == 0


def test_a_second_run_adds_nothing_and_revokes_the_old_token(demo, capsys):
    incidents = Incident.objects.count()
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "already present" in out and "Authorization: Token" in out
    assert Incident.objects.count() == incidents
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {demo['research_token']}")
    assert client.get("/api/v1/research/rates/").status_code == 401


def test_the_demo_registrars_find_closed_reports_with_a_note(demo):
    """Issue 13: "Mijn meldingen" of each melder.* user shows what became of reports."""

    assert demo["closing_notes"] == 6
    for username in ("melder.rivierenland", "melder.amstel", "melder.twente"):
        mine = Incident.objects.filter(registered_by__username=username)
        noted = mine.exclude(reporter_note="")
        assert noted.count() == 2 and all(i.status == "closed" for i in noted)
        assert mine.filter(status="open", occurred_on__gte=date(2023, 10, 1)).exists()
        client = Client()
        client.force_login(noted.first().registered_by)
        page = client.get("/incidents/", {"status": "closed"}).content.decode()
        assert noted.order_by("-occurred_on").first().reporter_note[:60] in page
    assert seed_demo(today=date(2023, 11, 1))["closing_notes"] == 0  # idempotent


def test_the_demo_shows_registration_quality_and_honest_dashboards(demo, monkeypatch):
    """Issue 12: a first year marked not usable (and left out of its figures), and to-do
    lists with something on them; the dashboard marks the running year and compares it
    with the same period, states its coverage, has the funnel plot and writes Dutch
    numbers. (One test: every demo test seeds the demo anew.)"""
    import re

    from reporting.choices import FigureSetStatus
    from reporting.models import UnusableYear

    first, complete = demo["school_years"][0], demo["school_years"][-2]
    mark = UnusableYear.objects.get()
    assert (mark.institution.brin, mark.school_year) == ("91RG", first)
    figure_set = FigureSet.objects.get(school_year=first, status=FigureSetStatus.CURRENT)
    assert {"institution_id": mark.institution_id, "reason": "marked_unusable"}.items() <= next(
        e for e in figure_set.excluded if e["institution_id"] == mark.institution_id
    ).items()

    client = Client()
    client.force_login(mark.marked_by)
    page = client.get("/figures/quality/91RG/", {"school_year": first}).content.decode()
    assert "Hardenberg" in page and "gemarkeerd als niet bruikbaar" in page
    client.force_login(Membership.objects.get(user__username="coordinator.amstel").user)
    page = client.get("/figures/quality/91RD/", {"school_year": complete}).content.decode()
    assert "Registraties komen laat binnen" in page
    assert "Dader (bij misdragingen) is bij" in page  # a fifth of perpetrators unknown

    # The dashboard on the demo, its clock on the demo's day (1 November 2023).
    monkeypatch.setattr(clock, "today", lambda: date(2023, 11, 1))
    running = demo["school_years"][-1]
    page = client.get("/figures/").content.decode()
    assert f"{running} (lopend, t/m 1 november 2023)" in page  # in the year selector
    assert len(re.findall(rf'<p class="coverage">Dekking {complete}: 12 van 12', page)) == 5
    assert "grenzen bij 99,8%" in page and "zelfde periode (1 aug t/m 31 okt)" in page
    response = client.get("/figures/", {"school_year": running})
    html = response.content.decode()
    assert f"Lopend schooljaar {running}: cijfers t/m 1 november 2023." in html
    fig51 = response.context["fig51"]
    assert [p["school_year"] for p in fig51["year_to_date"]["points"]] == demo["school_years"]
    # For a coordinator the same period is the publications' (reporting.same_period), up to
    # the last month end: the demo's years publish it.
    assert all(p["mean"] > 0 for p in fig51["year_to_date"]["points"])
    administrator = Client()
    administrator.force_login(get_user_model().objects.get(username="beheerder"))
    shown = administrator.get("/figures/", {"school_year": running}).context["fig51"]
    assert shown["year_to_date"]["period"] == "1 aug t/m 1 nov"
    assert all(p["mean"] > 0 for p in shown["year_to_date"]["points"])
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(
        r"[Ff]iguur \d\.\d|Tabel \d\.\d|figuren 5\.1, 5\.3, 6\.2 en 6\.4|figuren \d\.\d–\d\.\d",
        "",
        text,
    )
    assert re.findall(r"(?<![\d.])\d+\.\d{1,2}(?!\d)", text) == []

    # The yearly export of the running year says so, and its trend adds the same period
    # of the earlier years (issue 12).
    import csv
    import io

    response = client.get(
        "/figures/export/download/",
        {"school_year": running, "format": "csv", "table": "trend"},
    )
    assert response.status_code == 200, response.content[:300]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    same_period = [r for r in rows if r["period"] == "year_to_date"]
    assert {r["school_year"] for r in same_period} == set(demo["school_years"][:-1])
    assert all(r["through"].endswith("-11-01") for r in same_period)
    assert sum(int(r["count"]) for r in same_period if r["group_code"] == "total") > 0
