"""Issue 12 (part B) in real Chromium, on a phone (390 px) and a desktop, with and without
JavaScript, with the clock in a running school year: the running year is labelled; every
sector figure has its coverage sentence; the funnel plot is there with its limits; no
caption names what its chart does not draw; the Dutch page writes no decimal point; chart
text is at least 11 px; the page is no wider than the phone; axe-core finds no serious
violation. On the test world and on the demo."""

from datetime import date

import pytest

from miv import clock
from tests.e2e.test_registration_browser import (  # noqa: F401 - fixtures
    PHONE,
    Session,
    allow_orm_next_to_playwright,
    browser,
    serious_violations,
)
from tests.reporting.truth import CAPTION_NEEDS, decimal_points
from tests.reporting.world import YEAR, build_world
from tests.services import summary

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DESKTOP = {"viewport": {"width": 1400, "height": 1000}}

READ_PAGE = """() => {
  const figures = [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const sizes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
      const m = t.getScreenCTM();
      return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    });
    return {
      caption: f.querySelector('figcaption').textContent,
      texts: [...svg.querySelectorAll('text')].map(t => t.textContent).join(' '),
      smallest: Math.min(...sizes),
    };
  });
  const blocks = [...document.querySelectorAll('section.figure-block:not(.coverage-section)')].map(
    s => s.querySelector('p.coverage') ? s.querySelector('p.coverage').textContent : null);
  return {figures, blocks, text: document.body.innerText};
}"""


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    return build_world(institution_a, institution_b, location_a, location_b)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_dashboard_tells_the_truth(
    browser,  # noqa: F811
    live_server,
    world,
    coordinator_a,
    monkeypatch,
    device,
    javascript,
):
    # The live server runs in this process: its clock is 20 March 2023, in YEAR.
    monkeypatch.setattr(clock, "today", lambda: date(2023, 3, 20))
    options = PHONE if device == "phone" else DESKTOP
    session = Session(browser, live_server.url, java_script_enabled=javascript, **options)
    session.login(coordinator_a.username, f"/figures/?school_year={YEAR}")
    smallest = check_running_year_page(session, device, YEAR, "20 maart 2023", "20 mrt")
    if javascript and device == "phone":
        found = serious_violations(session.page)
        summary.record(
            "axe-core: figures dashboard",
            f"{len(found)} serious or critical violations on /figures/ (phone, running year); "
            f"smallest chart text {smallest:.1f} px at 390 px",
            failures=len(found),
        )
        assert found == []
    session.close()


def check_running_year_page(session, device: str, year: str, through: str, short: str) -> float:
    """The checks of issue 12 on a dashboard page showing the running ``year`` (its "t/m"
    date written long and short); returns the smallest chart text in px."""

    from playwright.sync_api import expect

    page = session.page
    expect(page.locator(".running-year")).to_contain_text(
        f"Lopend schooljaar {year}: cijfers t/m {through}"
    )
    expect(page.locator("#id_school_year option:checked")).to_have_text(
        f"{year} (lopend, t/m {through})"
    )
    session.laid_out()
    seen = page.evaluate(READ_PAGE)
    # Five charts: 5.1, 5.3, the funnel, 6.2, 6.4; each sector figure with its coverage.
    assert len(seen["figures"]) == 5
    assert all(b and b.startswith(f"Dekking {year}: ") for b in seen["blocks"]), seen["blocks"]
    funnel = seen["figures"][2]
    assert "grenzen bij 95%" in funnel["texts"] and "grenzen bij 99,8%" in funnel["texts"]
    assert f"t/m {short}" in seen["figures"][0]["texts"]
    for figure in seen["figures"]:
        for sentence, drawn in CAPTION_NEEDS:
            if sentence in figure["caption"]:
                assert drawn in figure["texts"], (sentence, figure["caption"])
    # Dutch notation: no decimal point in the page or its charts (figure numbers aside).
    everything = seen["text"] + " ".join(f["texts"] for f in seen["figures"])
    assert decimal_points(everything) == []
    smallest = min(f["smallest"] for f in seen["figures"])
    if device == "phone":
        assert session.scroll_width() <= 390, session.wider_than(390)
        assert smallest >= 11, smallest
    page.wait_for_load_state("networkidle")
    assert session.errors == []
    return smallest


def test_the_demo_dashboard_tells_the_truth(browser, live_server, monkeypatch):  # noqa: F811
    """The same checks on the demo, as issue 12 asks: its coordinator of ROC Amstelland,
    the demo's clock on 1 November 2023, phone and desktop, with and without JavaScript.
    One test, so the demo is seeded once."""
    from django.contrib.auth import get_user_model

    from demo.seed import seed_demo
    from tests.e2e.test_registration_browser import PASSWORD

    running = seed_demo(today=date(2023, 11, 1))["school_years"][-1]
    monkeypatch.setattr(clock, "today", lambda: date(2023, 11, 1))
    user = get_user_model().objects.get(username="coordinator.amstel")
    user.set_password(PASSWORD)
    user.save()
    for device in ("phone", "desktop"):
        for javascript in (True, False):
            options = PHONE if device == "phone" else DESKTOP
            session = Session(browser, live_server.url, java_script_enabled=javascript, **options)
            session.login(user.username, f"/figures/?school_year={running}")
            smallest = check_running_year_page(session, device, running, "1 november 2023", "1 nov")
            if javascript and device == "phone":
                found = serious_violations(session.page)
                summary.record(
                    "axe-core: figures dashboard on the demo",
                    f"{len(found)} serious or critical violations on the demo's /figures/ "
                    f"(phone, running year); smallest chart text {smallest:.1f} px at 390 px",
                    failures=len(found),
                )
                assert found == []
            session.close()


SMALLEST_POLICY_CHART_TEXT = """() => Math.min(...[...document.querySelectorAll(
  'figure.policy-chart svg text')].filter(t => t.textContent.trim()).map(t => {
    const m = t.getScreenCTM();
    return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
  }))"""


def test_the_sectors_policy_answers_on_a_phone(browser, live_server, institution_a, coordinator_a):  # noqa: F811
    """Issue 15: figures 5.4–5.9 at /questionnaire/sector/ fit 390 px with a chart each,
    without JavaScript too; chart text is at least 11 px; axe-core finds no serious
    violation."""
    from playwright.sync_api import expect

    from tests.factories import InstitutionFactory
    from tests.questionnaire.test_sector import respond

    for n, inst in enumerate([institution_a, *(InstitutionFactory() for _ in range(5))]):
        respond(inst, YEAR, {("V3", "V3a"): ["yes" if n else "no"], ("V4", "V3a"): ["part"]})
    for javascript in (False, True):
        session = Session(browser, live_server.url, java_script_enabled=javascript, **PHONE)
        session.login(coordinator_a.username, "/figures/")
        page = session.page
        page.get_by_role("link", name="Veiligheidsbeleid in de sector").click()
        expect(page.get_by_role("heading", name="Figuur 5.4", exact=False)).to_be_visible()
        expect(page.locator("p.coverage").first).to_contain_text("Beantwoord door 6 van")
        assert session.scroll_width() <= 390, session.wider_than(390)
        expect(page.locator("figure.policy-chart svg")).to_have_count(7)
        if javascript:
            smallest = page.evaluate(SMALLEST_POLICY_CHART_TEXT)
            assert smallest >= 11
            found = serious_violations(page)
            summary.record(
                "axe-core: the sector's policy answers",
                f"{len(found)} serious or critical violations on /questionnaire/sector/ "
                f"(phone); 7 charts, smallest chart text {smallest:.1f} px at 390 px",
                failures=len(found),
            )
            assert found == []
        assert session.errors == []
        session.close()
