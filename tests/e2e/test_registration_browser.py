"""End-to-end in real Chromium (Debian's package, driven by Playwright; no browser
download) at 390 x 844, as facility staff use it (issue 13):

* with JavaScript: search the type ("vecht"), tap the result, answer, send;
* without JavaScript: the fallback search re-displays the form;
* offline: after one visit the page opens from the service worker's cache, two
  registrations wait on the device, and when the connection returns exactly two incidents
  exist, each once; nothing of them stays on the device;
* a lost answer is sent again with the same Idempotency-Key and registers once;
* a failed search clears a stale choice;
* the reporter sees the coordinator's closing note in "Mijn meldingen";
* the keyboard alone is enough (WCAG 2.1.1);
* axe-core finds no serious or critical violation on the form, the list, the detail page
  and the dashboards.

The form's height at 390 px (with "Meer details" folded) and the height of a list page of
25 incidents are printed, so CI shows them.
"""

import os
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.services import summary

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
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# The essentials of the form (what, where, when and the three answers that feed the
# figures) fit on about two phone screens.
FORM_HEIGHT_LIMIT = 1_700
LIST_HEIGHT_LIMIT = 3_200  # 25 incidents on a phone (it was about 5,800 px)

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
    from playwright.sync_api import expect, sync_playwright

    # The same patience for expectations as for actions (Session.context): CI runs two
    # test processes on two cores.
    expect.set_options(timeout=10_000)
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
        where = (message.location or {}).get("url", "")
        # Chromium logs a failed request while offline as an error; that is the test's doing.
        offline = "ERR_INTERNET_DISCONNECTED" in message.text
        if message.type == "error" and not where.endswith("/favicon.ico") and not offline:
            self.errors.append(f"{message.text} ({where})")

    def login(self, username: str, next_url: str):
        page = self.page
        page.goto(f"/accounts/login/?next={next_url}")
        page.get_by_label("Gebruikersnaam").fill(username)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"**{next_url}")

    def laid_out(self):
        """Wait for the page's load event before measuring it. The body is parsed, and so
        visible to Playwright, while a stylesheet linked after a script in the head is still
        loading; a width measured then is the page without that stylesheet (the sector page
        was 417 px without questionnaire.css). A reader never sees that: Chromium does not
        paint before the head's stylesheets are in."""
        self.page.wait_for_load_state("load")

    def scroll_width(self) -> int:
        self.laid_out()
        return self.page.evaluate("document.scrollingElement.scrollWidth")

    def wider_than(self, width: int) -> list[str]:
        """The innermost elements outside any scrolling box that reach past `width` px:
        what to fix when a page scrolls sideways (for an assertion's message)."""
        self.laid_out()
        return self.page.evaluate(WIDER_THAN, width)

    def page_height(self) -> int:
        self.laid_out()
        return self.page.evaluate("document.scrollingElement.scrollHeight")

    def close(self):
        self.context.close()


# --- Helpers ---------------------------------------------------------------------------------


WIDER_THAN = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') return false; } return true; })
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > width + 0.5))
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} `
    + `right ${Math.round(e.getBoundingClientRect().right)} px: `
    + (e.textContent || '').trim().slice(0, 60))"""


def combobox(page):
    return page.get_by_role("combobox", name="Wat is er gebeurd?")


def choose_type(page, query: str, name: str, *, tap: bool):
    from playwright.sync_api import expect

    field = combobox(page)
    field.click()
    field.press_sequentially(query)
    option = page.get_by_role("option", name=name, exact=True)
    expect(option).to_be_visible()
    option.tap() if tap else option.click()
    expect(field).to_have_value(name)
    expect(field).to_have_attribute("aria-expanded", "false")


def answer(page, victim="Student", perpetrator="Student", injury="Licht letsel"):
    page.get_by_role("group", name="Wie was het slachtoffer?").get_by_label(victim).check()
    page.get_by_role("group", name="Wie was de dader?").get_by_label(perpetrator).check()
    page.get_by_role("group", name="Letsel").get_by_label(injury).check()


def describe(page, text: str):
    page.locator("details.more-details > summary").click()
    page.get_by_label("Beschrijving").fill(text)


def nothing_preselected(page):
    """No answer that feeds the figures is chosen before the registrar chooses it."""
    from playwright.sync_api import expect

    for group in ("Wie was het slachtoffer?", "Wie was de dader?", "Letsel"):
        expect(page.get_by_role("group", name=group).locator("input:checked")).to_have_count(0)
    expect(combobox(page)).to_have_value("")


def form_height(session: Session) -> tuple[int, int]:
    """(the form's own height, the whole page's height) with "Meer details" folded."""
    page = session.page
    session.laid_out()
    assert page.evaluate("document.querySelector('details.more-details').open") is False
    form = page.evaluate("Math.round(document.querySelector('form.incident-form').offsetHeight)")
    return form, session.page_height()


# --- With JavaScript, on a phone ------------------------------------------------------------


def test_register_on_a_phone_with_javascript(
    browser, live_server, registrar_a, coordinator_a, location_a
):
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, **PHONE)
    page = staff.page
    staff.login(registrar_a.username, "/incidents/register/")
    expect(page.get_by_role("heading", name="Incident registreren")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    # The fallback controls are not shown: one field for the type.
    expect(page.get_by_role("button", name="Zoeken")).to_be_hidden()
    expect(page.get_by_label("Categorie", exact=True)).to_be_hidden()
    expect(page.get_by_label("Vestiging", exact=True)).to_have_value(str(location_a.pk))
    expect(page.get_by_label("Datum", exact=True)).to_have_value(timezone.localdate().isoformat())
    nothing_preselected(page)
    form, whole = form_height(staff)
    header = page.evaluate("document.querySelector('.site-header').offsetHeight")
    print(f"\nregistration form at 390 px, details folded: form {form} px, page {whole} px")
    print(f"header at 390 px: {header} px ({header / 844:.0%} of the screen)")
    summary.record(
        "phone: registration page at 390 x 844",
        f"form {form} px, whole page {whole} px with 'Meer details' folded "
        f"(limit {FORM_HEIGHT_LIMIT} px: two screens are 1688 px); header {header} px",
        failures=int(whole > FORM_HEIGHT_LIMIT) + int(header > 0.13 * 844),
    )
    assert whole <= FORM_HEIGHT_LIMIT, whole
    assert header <= 0.13 * 844, header
    assert staff.scroll_width() <= 390, staff.wider_than(390)

    page.evaluate("window.stillTheSamePage = true")
    choose_type(page, "vecht", "Vechtpartij", tap=True)
    assert page.evaluate("window.stillTheSamePage") is True  # searched without a page load
    expect(page.locator("#type-combo-status")).to_contain_text("Gekozen: Vechtpartij")
    answer(page)
    page.get_by_label("Plek binnen de vestiging").select_option("corridor")
    describe(page, "Twee studenten vochten in de kantine.")
    assert staff.scroll_width() <= 390, staff.wider_than(390)
    page.get_by_role("button", name="Incident registreren").tap()

    expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    reference = page.locator("#reference").inner_text().strip()
    incident = Incident.objects.get()
    assert incident.reference == reference
    assert incident.incident_type.code == "MIS.FYS.06"
    assert (incident.location, incident.registered_by) == (location_a, registrar_a)
    assert (incident.victim_role, incident.perpetrator_role, incident.injury) == (
        "student",
        "student",
        "minor",
    )
    assert (incident.place, incident.description) == (
        "corridor",
        "Twee studenten vochten in de kantine.",
    )
    # Nothing of it waits on the device.
    assert queued(page) == 0
    # "Register another" opens a fresh form: no answer carried over.
    page.get_by_role("link", name="Nog een incident registreren").click()
    nothing_preselected(page)
    assert staff.errors == []
    staff.close()

    boss = Session(browser, live_server.url, **PHONE)
    boss.login(coordinator_a.username, "/incidents/")
    link = boss.page.get_by_role("link", name=reference)
    expect(link).to_be_visible()
    assert boss.scroll_width() <= 390, boss.wider_than(390)
    link.click()
    expect(boss.page.get_by_text("Twee studenten vochten in de kantine.")).to_be_visible()
    assert boss.scroll_width() <= 390, boss.wider_than(390)
    assert boss.errors == []
    boss.close()


def queued(page) -> int:
    """How many registrations wait in this device's IndexedDB queue."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("miv-offline", 1);
            open.onupgradeneeded = () =>
                open.result.createObjectStore("registrations", {keyPath: "key"});
            open.onsuccess = () => {
                const db = open.result;
                const count = db.transaction("registrations").objectStore("registrations").count();
                count.onsuccess = () => { db.close(); resolve(count.result); };
                count.onerror = () => reject(count.error);
            };
            open.onerror = () => reject(open.error);
        })"""
    )


def test_a_failed_search_clears_a_stale_choice(browser, live_server, registrar_a, location_a):
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, **PHONE)
    page = staff.page
    staff.login(registrar_a.username, "/incidents/register/")
    choose_type(page, "diefstal", "Diefstal", tap=True)
    assert page.locator("input[name=incident_type]").input_value() != ""
    combobox(page).fill("xyzzy")
    expect(page.locator("#type-combo-status")).to_contain_text("Geen type gevonden voor ‘xyzzy’")
    expect(page.locator("input[name=incident_type]")).to_have_value("")
    expect(page.get_by_role("listbox")).to_be_hidden()
    # Sent like this, the server asks for the type; nothing is registered.
    answer(page)
    page.get_by_role("button", name="Incident registreren").tap()
    expect(page.locator("#error-summary")).to_contain_text("Kies het type incident.")
    assert not Incident.objects.exists()
    # The error summary's link leads to the combobox.
    page.locator("#error-summary a").first.click()
    expect(combobox(page)).to_be_focused()
    # The form with errors is answered with status 400, which Chromium logs; nothing else.
    assert [e for e in staff.errors if "status of 400" not in e] == []
    staff.close()


# --- Without JavaScript -----------------------------------------------------------------------


def test_register_without_javascript(browser, live_server, registrar_a, location_a):
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, java_script_enabled=False, **PHONE)
    page = staff.page
    staff.login(registrar_a.username, "/incidents/register/")
    expect(combobox(page)).to_be_hidden()
    nothing_preselected_no_js = page.locator(".radios input:checked")
    expect(nothing_preselected_no_js).to_have_count(0)
    page.get_by_label("Zoek het type incident").fill("vecht")
    page.get_by_role("button", name="Zoeken").click()
    type_select = page.locator("#id_incident_type")
    expect(type_select).to_have_value("MIS.FYS.06")
    expect(type_select).to_be_focused()  # the keyboard continues at the result
    expect(page.locator("#type-status")).to_contain_text("1 type gevonden")
    answer(page, perpetrator="Onbekend", injury="Onbekend")
    describe(page, "Ruzie bij de ingang.")
    assert staff.scroll_width() <= 390, staff.wider_than(390)
    page.get_by_role("button", name="Incident registreren").click()
    expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    incident = Incident.objects.get()
    assert (incident.incident_type.code, incident.perpetrator_role, incident.injury) == (
        "MIS.FYS.06",
        "unknown",
        "unknown",
    )
    assert incident.description == "Ruzie bij de ingang."
    assert staff.errors == []
    staff.close()


# --- Offline ----------------------------------------------------------------------------------


def test_offline_two_registrations_wait_and_arrive_once(
    browser, live_server, registrar_a, location_a
):
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, **PHONE)
    page = staff.page
    staff.login(registrar_a.username, "/incidents/register/")
    # One visit installs the service worker, which caches the page and its files.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        "caches.keys().then(k => Promise.all(k.map(n => caches.open(n).then(c => c.match("
        "'/incidents/register/'))))).then(r => r.some(Boolean))"
    )

    staff.context.set_offline(True)
    page.reload()  # from the cache: there is no connection
    expect(page.get_by_role("heading", name="Incident registreren")).to_be_visible()
    assert page.evaluate("navigator.onLine") is False
    texts = ["Fiets gestolen uit de stalling.", "Bedreiging bij de kantine."]
    for query, name, text in (("diefstal", "Diefstal", texts[0]), ("bedreig", None, texts[1])):
        if name is None:
            field = combobox(page)
            field.press_sequentially(query)
            page.get_by_role("option").first.tap()
        else:
            choose_type(page, query, name, tap=True)
        answer(page, victim="Onbekend", perpetrator="Onbekend", injury="Geen letsel")
        describe(page, text)
        page.get_by_role("button", name="Incident registreren").tap()
        expect(page.locator("#queue-status")).to_contain_text("bewaard op dit toestel")
        nothing_preselected(page)  # ready for the next one
    expect(page.locator("#offline-queue")).to_contain_text("2 meldingen wachten op verbinding")
    assert queued(page) == 2
    assert not Incident.objects.exists()

    staff.context.set_offline(False)  # the "online" event sends them
    expect(page.locator("#queue-status")).to_contain_text("Verstuurd: MIV-")
    expect(page.locator("#offline-queue")).to_be_hidden()
    incidents = list(Incident.objects.order_by("pk"))
    assert [i.description for i in incidents] == texts
    assert all(i.registered_by == registrar_a and i.location == location_a for i in incidents)
    # Sent means gone from the device: the queue is empty and no cache holds the texts.
    assert queued(page) == 0
    cached = page.evaluate(
        """async () => {
            let all = "";
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) {
                    all += await (await cache.match(request)).text();
                }
            }
            return all;
        }"""
    )
    assert "/incidents/register/" in cached  # the cache is there ...
    assert not any(text in cached for text in texts)  # ... without the incidents
    # Once more, now that everything is sent: nothing new.
    page.locator("#queue-send").dispatch_event("click")  # the panel is hidden
    page.wait_for_timeout(300)
    assert Incident.objects.count() == 2
    assert staff.errors == []
    staff.close()


def test_a_lost_answer_is_sent_again_and_registered_once(
    browser, live_server, registrar_a, location_a
):
    """The API registers the incident but the answer never arrives (the connection drops):
    the item stays queued, the retry sends the same Idempotency-Key, the API replays its
    first answer, and there is one incident."""
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, service_workers="block", **PHONE)
    page = staff.page
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        response = route.fetch()
        if len(keys) == 1:
            assert response.status == 201
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    staff.context.route("**/api/v1/incidents/", lose_the_first_answer)
    staff.login(registrar_a.username, "/incidents/register/")
    choose_type(page, "vecht", "Vechtpartij", tap=True)
    answer(page)
    page.get_by_role("button", name="Incident registreren").tap()
    expect(page.locator("#offline-queue")).to_contain_text("1 melding wacht op verbinding")
    # The submission has finished with it (its last word is "kept on this device"), so
    # that word cannot come after the retry's answer.
    expect(page.locator("#queue-status")).to_contain_text("Geen verbinding")
    assert Incident.objects.count() == 1  # registered, but the page does not know

    page.get_by_role("button", name="Nu versturen").tap()
    expect(page.locator("#queue-status")).to_contain_text("Verstuurd: MIV-")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    assert Incident.objects.count() == 1
    assert queued(page) == 0
    staff.close()


# --- Keyboard only ---------------------------------------------------------------------------


def test_register_with_the_keyboard_only(browser, live_server, registrar_a, location_a):
    """WCAG 2.1.1: the whole form works from the keyboard (Tab, typing, arrows, Space,
    Enter)."""
    from playwright.sync_api import expect

    staff = Session(browser, live_server.url, **DESKTOP)
    staff.login(registrar_a.username, "/incidents/register/")
    page = staff.page
    keyboard = page.keyboard

    def tab_to(selector: str, limit: int = 40):
        for _ in range(limit):
            keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reachable with Tab")

    tab_to("[role=combobox]")
    keyboard.type("vecht")
    expect(combobox(page)).to_have_attribute("aria-expanded", "true")
    keyboard.press("ArrowDown")
    active = combobox(page).get_attribute("aria-activedescendant")
    expect(page.locator(f"#{active}")).to_have_text("Vechtpartij")
    keyboard.press("Enter")  # chooses; does not send the form
    expect(combobox(page)).to_have_value("Vechtpartij")
    expect(page.locator("input[name=incident_type]")).to_have_value("MIS.FYS.06")
    for name in ("victim_role", "perpetrator_role", "injury"):
        tab_to(f"#id_{name}_0")
        keyboard.press("Space")
        expect(page.locator(f"#id_{name}_0")).to_be_checked()
    tab_to("details.more-details > summary")
    keyboard.press("Enter")
    tab_to("#id_description")
    keyboard.type("Vechtpartij bij de ingang.")
    tab_to("button[value=save]")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    incident = Incident.objects.get()
    assert (incident.incident_type.code, incident.victim_role, incident.injury) == (
        "MIS.FYS.06",
        "student",
        "none",
    )
    assert incident.description == "Vechtpartij bij de ingang."
    assert staff.errors == []
    staff.close()


# --- The loop closed ---------------------------------------------------------------------------


def test_the_reporter_sees_the_closing_note(
    browser, live_server, registrar_a, coordinator_a, location_a
):
    from playwright.sync_api import expect

    incident = IncidentFactory(location=location_a, registered_by=registrar_a)
    note = "Besproken met de teamleider; de camera bij de stalling wordt vervangen."

    boss = Session(browser, live_server.url, **PHONE)
    boss.login(coordinator_a.username, f"/incidents/{incident.pk}/")
    boss.page.get_by_label("Bericht aan de melder").fill(note)
    boss.page.get_by_role("button", name="Afsluiten").click()
    expect(boss.page.get_by_text("Het incident is afgesloten.")).to_be_visible()
    assert boss.errors == []
    boss.close()

    staff = Session(browser, live_server.url, **PHONE)
    staff.login(registrar_a.username, "/incidents/")
    page = staff.page
    expect(page.get_by_role("heading", name="Mijn meldingen")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=incident.reference)
    expect(row).to_contain_text("Afgesloten")
    expect(row).to_contain_text(note)
    assert staff.scroll_width() <= 390, staff.wider_than(390)
    row.get_by_role("link", name=incident.reference).click()
    expect(page.get_by_role("heading", name="Bericht van de coördinator")).to_be_visible()
    expect(page.get_by_text(note)).to_be_visible()
    assert staff.errors == []
    staff.close()


def test_a_phone_list_of_25_incidents_is_compact(browser, live_server, coordinator_a, location_a):
    IncidentFactory.create_batch(25, location=location_a)
    boss = Session(browser, live_server.url, **PHONE)
    boss.login(coordinator_a.username, "/incidents/")
    height = boss.page_height()
    print(f"\nlist of 25 incidents at 390 px: {height} px")
    summary.record(
        "phone: list of 25 incidents at 390 px",
        f"{height} px (limit {LIST_HEIGHT_LIMIT} px; it was about 5,800 px)",
        failures=int(height > LIST_HEIGHT_LIMIT),
    )
    assert height <= LIST_HEIGHT_LIMIT, height
    assert boss.scroll_width() <= 390, boss.wider_than(390)
    # No word is broken inside: every cell's text fits its box on one line per word.
    broken = boss.page.evaluate(
        """() => [...document.querySelectorAll('td')].filter(
            td => td.scrollWidth > td.clientWidth + 1).map(td => td.textContent)"""
    )
    assert broken == []
    boss.close()


# --- Accessibility (axe-core) -------------------------------------------------------------------


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_violations(
    browser, live_server, registrar_a, coordinator_a, location_a, institution_b, location_b
):
    from playwright.sync_api import expect

    from tests.reporting.world import build_world

    build_world(location_a.institution, institution_b, location_a, location_b)
    incident = Incident.objects.filter(location=location_a).first()
    incident.registered_by = registrar_a
    incident.save()
    services.close_incident(actor=coordinator_a, incident=incident, reporter_note="Opgelost.")

    found = {}
    for who, size in ((registrar_a, PHONE), (coordinator_a, DESKTOP)):
        session = Session(browser, live_server.url, **size)
        session.login(who.username, "/incidents/register/")
        page = session.page
        found[f"{who.username} register"] = serious_violations(page)
        combobox(page).press_sequentially("vecht")  # with the list of results open
        expect(page.get_by_role("listbox")).to_be_visible()
        found[f"{who.username} register, results"] = serious_violations(page)
        page.get_by_role("button", name="Incident registreren").click()  # with errors
        expect(page.locator("#error-summary")).to_be_visible()
        found[f"{who.username} register, errors"] = serious_violations(page)
        for name, url in (
            ("list", "/incidents/"),
            ("detail", f"/incidents/{incident.pk}/"),
            ("home", "/"),
        ):
            page.goto(url)
            found[f"{who.username} {name}"] = serious_violations(page)
        session.close()
    session = Session(browser, live_server.url, **DESKTOP)
    session.login(coordinator_a.username, "/figures/")
    session.page.wait_for_load_state("networkidle")
    found["coordinator dashboards"] = serious_violations(session.page)
    session.close()
    print("\naxe-core, serious or critical violations per page:")
    for page_name, violations in found.items():
        print(f"  {page_name}: {len(violations)}")
    failing = sum(len(v) for v in found.values())
    summary.record(
        "axe-core: serious or critical",
        f"{failing} violations on {len(found)} page states (form, results, errors, list, "
        "detail, home as registrar on a phone and coordinator on a desktop; dashboards)",
        failures=failing,
    )
    assert {name: v for name, v in found.items() if v} == {}
