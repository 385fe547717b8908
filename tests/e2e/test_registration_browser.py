"""End-to-end in real Chromium (Debian's package, driven by Playwright; no browser
download): a registrar logs in, registers an incident through the form using the search
box ("vecht"), sees the confirmation; a coordinator finds it in the list.

The flow runs on a desktop screen with JavaScript (the search is live, through htmx), on
a 390 x 844 phone screen (no sideways scrolling), and with JavaScript switched off (the
search is a form submit).
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from incidents.models import Incident

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread, so the data must be committed; the
    # taxonomy (loaded by a data migration) is restored after each flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def allow_orm_next_to_playwright(monkeypatch):
    """Playwright's sync API runs an asyncio event loop in the test thread; Django refuses
    ORM calls from a thread with a running loop unless told that this is safe here."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(allow_orm_next_to_playwright):
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} not found: install Debian's chromium package to run browser tests"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # While Playwright's loop runs, Django's connection is a separate one (its
            # connections are context-local); close it here, or PostgreSQL will not drop
            # the test database at the end of the session.
            connections.close_all()


class Session:
    """One user's browser context, collecting console errors (CSP violations show there)."""

    def __init__(self, browser, base_url, **context_options):
        # Staff's browsers ask for Dutch; Django would otherwise follow Accept-Language.
        self.context = browser.new_context(base_url=base_url, locale="nl-NL", **context_options)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, message):
        # The site has no favicon; Chromium's request for /favicon.ico is not ours.
        where = (message.location or {}).get("url", "")
        if message.type == "error" and not where.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({where})")

    def login(self, username: str, next_url: str):
        page = self.page
        page.goto(f"/accounts/login/?next={next_url}")
        page.get_by_label("Gebruikersnaam").fill(username)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"**{next_url}")

    def scroll_width(self) -> int:
        return self.page.evaluate("document.scrollingElement.scrollWidth")

    def close(self):
        self.context.close()


def register_and_find(browser, live_server, registrar, coordinator, location, *, js, **options):
    """The whole flow: the registrar registers through the search box, the coordinator
    finds the incident in the list and opens it."""
    from playwright.sync_api import expect

    phone = options.get("viewport", {}).get("width") == 390
    staff = Session(browser, live_server.url, java_script_enabled=js, **options)
    page = staff.page
    staff.login(registrar.username, "/incidents/register/")
    expect(page.get_by_role("heading", name="Incident registreren")).to_be_visible()

    # Preselected: the registrar's location and today's date.
    expect(page.get_by_label("Vestiging", exact=True)).to_have_value(str(location.pk))
    expect(page.get_by_label("Datum", exact=True)).to_have_value(timezone.localdate().isoformat())
    if phone:
        assert staff.scroll_width() <= 390

    type_select = page.locator("#id_incident_type")
    if js:
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        assert page.evaluate("typeof htmx") == "object"  # the vendored script loaded
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Zoek het type incident").press_sequentially("vecht")
        expect(type_select).to_have_value("MIS.FYS.06")  # live, no submit
        assert page.evaluate("window.stillTheSamePage") is True
    else:
        page.get_by_label("Zoek het type incident").fill("vecht")
        page.get_by_role("button", name="Zoeken").click()
        expect(type_select).to_have_value("MIS.FYS.06")
        expect(type_select).to_be_focused()  # the keyboard continues at the result
    expect(page.locator("#type-status")).to_contain_text("1 type gevonden")
    expect(type_select.locator("option:checked")).to_have_text("Vechtpartij")
    if phone:
        assert staff.scroll_width() <= 390

    page.get_by_role("group", name="Wie was het slachtoffer?").get_by_label("Student").check()
    page.get_by_role("group", name="Letsel").get_by_label("Licht letsel").check()
    page.get_by_label("Plek binnen de vestiging").select_option("corridor")
    page.get_by_label("Beschrijving").fill("Twee studenten vochten in de kantine.")
    page.get_by_role("button", name="Incident registreren").click()

    expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"MIV-\d{6}", reference)
    expect(page.get_by_role("link", name="Nog een incident registreren")).to_be_visible()
    if phone:
        assert staff.scroll_width() <= 390

    incident = Incident.objects.get()
    assert incident.reference == reference
    assert incident.incident_type.code == "MIS.FYS.06"
    assert (incident.location, incident.registered_by) == (location, registrar)
    assert (incident.victim_role, incident.injury, incident.place) == (
        "student",
        "minor",
        "corridor",
    )

    # "Register another" opens a fresh, empty form.
    page.get_by_role("link", name="Nog een incident registreren").click()
    expect(page.get_by_label("Zoek het type incident")).to_have_value("")
    assert staff.errors == []
    staff.close()

    boss = Session(browser, live_server.url, java_script_enabled=js, **options)
    boss.login(coordinator.username, "/incidents/")
    page = boss.page
    expect(page.get_by_role("heading", name="Incidenten")).to_be_visible()
    link = page.get_by_role("link", name=reference)
    expect(link).to_be_visible()
    if phone:
        assert boss.scroll_width() <= 390
    link.click()
    expect(page.get_by_role("heading", name=re.compile(reference))).to_be_visible()
    expect(page.get_by_text("Twee studenten vochten in de kantine.")).to_be_visible()
    expect(page.get_by_role("heading", name="Historie")).to_be_visible()
    if phone:
        assert boss.scroll_width() <= 390
    assert boss.errors == []
    boss.close()


def test_register_and_find_on_a_desktop_with_javascript(
    browser, live_server, registrar_a, coordinator_a, location_a
):
    register_and_find(
        browser,
        live_server,
        registrar_a,
        coordinator_a,
        location_a,
        js=True,
        viewport={"width": 1280, "height": 900},
    )


def test_register_and_find_on_a_phone(browser, live_server, registrar_a, coordinator_a, location_a):
    register_and_find(
        browser, live_server, registrar_a, coordinator_a, location_a, js=True, **PHONE
    )


def test_register_and_find_without_javascript(
    browser, live_server, registrar_a, coordinator_a, location_a
):
    register_and_find(
        browser,
        live_server,
        registrar_a,
        coordinator_a,
        location_a,
        js=False,
        viewport={"width": 1280, "height": 900},
    )


def test_register_with_the_keyboard_only(browser, live_server, registrar_a, location_a):
    """WCAG 2.1.1: the whole form works from the keyboard (Tab, typing, Space, Enter)."""
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, viewport={"width": 1280, "height": 900})
    staff.login(registrar_a.username, "/incidents/register/")
    page = staff.page
    keyboard = page.keyboard

    def tab_to(selector: str, limit: int = 40):
        for _ in range(limit):
            keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reachable with Tab")

    tab_to("#id_type_q")
    keyboard.type("vecht")
    expect(page.locator("#id_incident_type")).to_have_value("MIS.FYS.06")
    tab_to("#id_incident_type")
    tab_to("#id_victim_role_0")
    keyboard.press("Space")
    expect(page.locator("#id_victim_role_0")).to_be_checked()
    tab_to("#id_description")
    keyboard.type("Vechtpartij bij de ingang.")
    tab_to("button[value=save]")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    incident = Incident.objects.get()
    assert (incident.incident_type.code, incident.victim_role) == ("MIS.FYS.06", "student")
    assert incident.description == "Vechtpartij bij de ingang."
    assert staff.errors == []
    staff.close()
