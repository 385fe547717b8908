"""End-to-end in real Chromium (issue 6): a coordinator and a researcher open the figures
dashboard and find the four charts (SVG images that load) and their tables; changing the
school year swaps only the figures region (htmx, no page load) and, with JavaScript off,
the form reloads the page. No console errors (the Content-Security-Policy holds)."""

import pytest

from tests.e2e.test_registration_browser import (  # noqa: F401 - fixtures
    Session,
    allow_orm_next_to_playwright,
    browser,
)
from tests.reporting.world import PREVIOUS, YEAR, build_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DESKTOP = {"viewport": {"width": 1400, "height": 1000}}


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    return build_world(institution_a, institution_b, location_a, location_b)


def settle(page) -> None:
    """No request may outlive a test: the live server shares the test's database
    connection (SQLite in memory), and the next test flushes the database."""
    page.wait_for_load_state("networkidle")


def _charts_loaded(page) -> list[int]:
    """The rendered widths of the five charts (inline SVG; 0 would be a broken chart)."""
    page.wait_for_load_state("load")  # measured with the stylesheets in (Session.laid_out)
    return page.eval_on_selector_all(
        "figure.chart svg[role=img]", "charts => charts.map(c => c.getBoundingClientRect().width)"
    )


def open_dashboard(session: Session, username: str):
    from playwright.sync_api import expect

    session.login(username, "/figures/")
    page = session.page
    expect(
        page.get_by_role("heading", name="Cijfers: incidenten per 1.000 studenten")
    ).to_be_visible()
    for number in ("5.1", "5.3", "6.2", "6.4"):
        expect(page.get_by_role("heading", name=f"Figuur {number}", exact=False)).to_be_visible()
        expect(
            page.get_by_role("table", name=f"Cijfers bij figuur {number}", exact=False)
        ).to_be_visible()
    widths = _charts_loaded(page)
    assert len(widths) == 5 and all(w > 0 for w in widths), widths
    return page


def test_coordinator_dashboard_with_javascript(browser, live_server, world, coordinator_a):  # noqa: F811
    from playwright.sync_api import expect

    session = Session(browser, live_server.url, **DESKTOP)
    page = open_dashboard(session, coordinator_a.username)
    table = page.get_by_role("table", name="Cijfers bij figuur 5.3", exact=False)
    expect(table.locator("tr.highlight")).to_contain_text("25LJ")
    expect(table).to_contain_text("andere instelling")
    expect(page.get_by_text("30RR")).to_have_count(0)

    # Another school year: only the figures region changes (no page load).
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Schooljaar", exact=True).select_option(PREVIOUS)
    expect(page.locator(".figure-context")).to_contain_text(PREVIOUS)
    assert page.evaluate("window.stillTheSamePage") is True
    assert f"school_year={PREVIOUS}" in page.url  # the address follows (back button, bookmark)
    assert all(w > 0 for w in _charts_loaded(page))
    expect(page.get_by_role("img", name="Figuur 5.3", exact=False)).to_contain_text(PREVIOUS)
    expect(page.get_by_role("link", name="Grafiek (SVG)").first).to_have_attribute(
        "href", f"/figures/chart/5.1.svg?school_year={PREVIOUS}&group=total&victim_role=all"
    )
    settle(page)
    assert session.errors == []
    session.close()


def test_researcher_dashboard_with_javascript(browser, live_server, world, researcher):  # noqa: F811
    from playwright.sync_api import expect

    session = Session(browser, live_server.url, **DESKTOP)
    page = open_dashboard(session, researcher.username)
    pseudonym = world["institutions"]["30RR"].pseudonym
    table = page.get_by_role("table", name="Cijfers bij figuur 5.3", exact=False)
    expect(table).to_contain_text(pseudonym)
    expect(page.get_by_text("25LJ")).to_have_count(0)
    # Small counts: withheld rows say so.
    page.get_by_label("Groep", exact=True).select_option("MIL")
    page.get_by_label("Slachtoffer", exact=True).select_option("staff")
    expect(page.locator(".figure-context")).to_contain_text("Slachtoffer medewerker")
    expect(table).to_contain_text("niet gepubliceerd (kleine aantallen)")
    settle(page)
    assert session.errors == []
    session.close()


def test_dashboard_without_javascript(browser, live_server, world, coordinator_a):  # noqa: F811
    from playwright.sync_api import expect

    session = Session(browser, live_server.url, java_script_enabled=False, **DESKTOP)
    page = open_dashboard(session, coordinator_a.username)
    page.get_by_label("Schooljaar", exact=True).select_option(PREVIOUS)
    page.get_by_role("button", name="Tonen").click()
    page.wait_for_url(f"**school_year={PREVIOUS}**")
    expect(page.locator(".figure-context")).to_contain_text(PREVIOUS)
    assert all(w > 0 for w in _charts_loaded(page))
    assert YEAR in page.locator("#id_school_year").inner_text()
    settle(page)
    assert session.errors == []
    session.close()


def test_dashboard_on_a_phone(browser, live_server, world, coordinator_a):  # noqa: F811
    session = Session(
        browser,
        live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = open_dashboard(session, coordinator_a.username)
    assert session.scroll_width() <= 390, session.wider_than(390)
    settle(page)
    assert session.errors == []
    session.close()
