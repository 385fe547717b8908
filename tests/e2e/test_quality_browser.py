"""Issue 12 (part A) in real Chromium: a coordinator on a phone, without JavaScript, reads
the registration-quality to-do list and marks the year not usable with a reason; the page
fits 390 px and axe-core finds no serious or critical violation (with JavaScript, which
axe needs)."""

from datetime import date

import pytest

from reporting.models import UnusableYear
from tests.e2e.test_registration_browser import PHONE, Session, serious_violations
from tests.factories import IncidentFactory
from tests.services import summary

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_coordinator_marks_a_year_not_usable_on_a_phone_without_javascript(
    browser, live_server, coordinator_a, institution_a, location_a
):
    from playwright.sync_api import expect

    for day in (date(2022, 9, 5), date(2023, 3, 14)):
        IncidentFactory(location=location_a, occurred_on=day, place="")
    url = f"/figures/quality/{institution_a.brin}/?school_year=2022-2023"

    session = Session(browser, live_server.url, java_script_enabled=False, **PHONE)
    session.login(coordinator_a.username, "/")
    page = session.page
    page.get_by_role("link", name="Kwaliteit van de registratie").click()
    page.get_by_label("Schooljaar").select_option("2022-2023")
    page.get_by_role("button", name="Tonen").click()
    expect(page.get_by_text("Plek is bij 2 van 2 registraties onbekend (100%)")).to_be_visible()
    assert session.scroll_width() <= 390, session.wider_than(390)
    page.get_by_role("button", name="Markeren als niet bruikbaar").click()  # no reason
    expect(page.locator("#error-summary")).to_be_visible()
    page.get_by_label("Reden").fill("Alleen de hoofdvestiging registreerde.")
    page.get_by_role("button", name="Markeren als niet bruikbaar").click()
    expect(page.get_by_text("tellen niet meer mee in de sectorcijfers")).to_be_visible()
    assert UnusableYear.objects.get().reason == "Alleen de hoofdvestiging registreerde."
    assert session.errors == []
    session.close()

    session = Session(browser, live_server.url, **PHONE)
    session.login(coordinator_a.username, url)
    found = serious_violations(session.page)
    summary.record(
        "axe-core: registration quality",
        f"{len(found)} serious or critical violations on the quality page (phone)",
        failures=len(found),
    )
    session.close()
    assert found == []
