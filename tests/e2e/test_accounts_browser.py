"""Issue 14 end to end in real Chromium: a coordinator adds a location and invites a
colleague; the colleague accepts by the link from the e-mail (read from a real SMTP server
on loopback) and registers an incident; deactivated, the colleague is refused at once
(session and API token); sign-in through the OpenID Connect provider on loopback; a
researcher creates, uses and revokes an API token."""

import re

import httpx
import pytest
from django.contrib.auth import get_user_model

from accounts import members, tokens
from incidents.choices import Role
from incidents.models import Incident, Location, Membership
from tests.e2e.test_registration_browser import PHONE, Session, answer, choose_type
from tests.oidc import IDP_USERS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
NEW_PASSWORD = "Vijf-Lange-Woorden-2024"


def test_a_coordinator_adds_a_location_and_invites_a_colleague_who_registers(
    browser, live_server, smtp_server, settings, coordinator_a, institution_a, location_a
):
    from playwright.sync_api import expect

    settings.MIV_SITE_URL = live_server.url
    boss = Session(browser, live_server.url, **DESKTOP)
    page = boss.page
    boss.login(coordinator_a.username, "/")
    page.get_by_role("link", name="Vestigingen en mensen").first.click()
    expect(page.get_by_role("heading", name=re.compile("Mensen"))).to_be_visible()

    # A new location.
    page.get_by_role("link", name="Vestigingen", exact=True).click()
    page.get_by_label("Code").fill("A-NOORD")
    page.get_by_label("Naam").fill("Alfa Noord")
    page.get_by_label("Gemeente").fill("Zwolle")
    page.get_by_role("button", name="Vestiging toevoegen").click()
    expect(page.get_by_text("Vestiging Alfa Noord toegevoegd.")).to_be_visible()
    expect(page.get_by_role("cell", name="A-NOORD")).to_be_visible()
    new_location = Location.objects.get(code="A-NOORD")

    # Invite a colleague as registrar with the new location as fixed location.
    page.get_by_role("link", name="Mensen", exact=True).click()
    page.get_by_role("link", name="Collega uitnodigen").click()
    page.get_by_label("E-mailadres").fill("nina.nieuw@alfa.example.nl")
    page.get_by_role("group", name="Rol").get_by_label("Registreerder").check()
    page.get_by_label("Vaste vestiging").select_option(str(new_location.pk))
    page.get_by_role("button", name="Uitnodiging versturen").click()
    expect(
        page.get_by_text("Uitnodiging verstuurd naar nina.nieuw@alfa.example.nl.")
    ).to_be_visible()
    pending = page.get_by_role("cell", name="nina.nieuw@alfa.example.nl", exact=True)
    expect(pending.first).to_be_visible()
    assert boss.errors == []

    [message] = smtp_server.wait_for(1)
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"(http://\S+/accounts/invitation/\S+/)", body)[1]
    assert link.startswith(live_server.url)

    # The colleague, on a phone, opens the link, chooses a password and registers.
    colleague = Session(browser, live_server.url, **PHONE)
    cpage = colleague.page
    cpage.goto(link)
    expect(cpage.get_by_role("heading", name="Uitnodiging aannemen")).to_be_visible()
    assert "/accounts/invitation/accept/" in cpage.url  # the secret left the address bar
    expect(cpage.get_by_label("Gebruikersnaam")).to_have_value("nina.nieuw@alfa.example.nl")
    cpage.get_by_label("Gebruikersnaam").fill("nina")
    cpage.get_by_label("Wachtwoord", exact=True).fill(NEW_PASSWORD)
    cpage.get_by_label("Wachtwoord nogmaals").fill(NEW_PASSWORD)
    cpage.get_by_role("button", name="Account aanmaken en aannemen").click()
    expect(cpage.get_by_role("heading", name="Incident registreren")).to_be_visible()
    expect(cpage.get_by_label("Vestiging", exact=True)).to_have_value(str(new_location.pk))
    assert colleague.scroll_width() <= 390, colleague.wider_than(390)
    choose_type(cpage, "vecht", "Vechtpartij", tap=False)
    answer(cpage, victim="Student", perpetrator="Student", injury="Geen letsel")
    cpage.get_by_role("button", name="Incident registreren").click()
    expect(cpage.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
    nina = get_user_model().objects.get(username="nina")
    incident = Incident.objects.get(registered_by=nina)
    assert incident.location == new_location
    assert Membership.objects.get(user=nina).role == Role.REGISTRAR

    # Deactivated: refused at once, in the open browser session and on the API.
    _row, token = tokens.create_token(actor=nina, name="telefoon", days=7)
    api = f"{live_server.url}/api/v1/incidents/"
    assert httpx.get(api, headers={"Authorization": f"Token {token}"}).status_code == 200
    page.reload()
    page.get_by_role("button", name="Deactiveer nina").click()
    expect(page.get_by_text("nina is gedeactiveerd")).to_be_visible()
    cpage.goto("/incidents/register/")
    expect(cpage.get_by_role("heading", name="Inloggen")).to_be_visible()
    assert "/accounts/login/" in cpage.url
    assert httpx.get(api, headers={"Authorization": f"Token {token}"}).status_code == 401
    # And logging in again does not work either.
    cpage.get_by_label("Gebruikersnaam").fill("nina")
    cpage.get_by_label("Wachtwoord").fill(NEW_PASSWORD)
    cpage.get_by_role("button", name="Inloggen").click()
    expect(cpage.get_by_role("heading", name="Inloggen")).to_be_visible()
    assert colleague.errors == [] and boss.errors == []
    colleague.close()
    boss.close()


def test_sign_in_with_the_institution_account(
    browser, live_server, oidc_settings, coordinator_a, institution_a, location_a
):
    from playwright.sync_api import expect

    members.invite(
        actor=coordinator_a,
        institution=institution_a,
        email="j.jansen@alfa.example.nl",
        role=Role.COORDINATOR,
    )
    staff = Session(browser, live_server.url, **DESKTOP)
    page = staff.page
    page.goto("/accounts/login/?next=/incidents/")
    page.get_by_role("link", name="Aanmelden met instellingsaccount").click()
    expect(page.get_by_role("heading", name="Institution login")).to_be_visible()
    assert page.url.startswith(oidc_settings.url)
    page.get_by_label("Institution username").fill("j.jansen")
    page.get_by_label("Institution password").fill(IDP_USERS["j.jansen"]["password"])
    page.get_by_role("button", name="Sign in at the institution").click()
    expect(page.get_by_role("heading", name="Incidenten")).to_be_visible()
    assert page.url.startswith(live_server.url)
    expect(page.get_by_role("button", name=re.compile(r"Uitloggen \(j\.jansen@"))).to_be_visible()
    user = get_user_model().objects.get(email="j.jansen@alfa.example.nl")
    assert Membership.objects.get(user=user).role == Role.COORDINATOR
    assert staff.errors == []
    staff.close()

    stranger = Session(browser, live_server.url, **DESKTOP)
    spage = stranger.page
    spage.goto("/accounts/oidc/login/")
    spage.get_by_label("Institution username").fill("p.pietersen")
    spage.get_by_label("Institution password").fill(IDP_USERS["p.pietersen"]["password"])
    spage.get_by_role("button", name="Sign in at the institution").click()
    expect(spage.get_by_role("heading", name="U hebt (nog) geen toegang tot MIV")).to_be_visible()
    expect(spage.get_by_role("link", name="Inloggen", exact=True)).to_be_visible()
    assert not get_user_model().objects.filter(email="p.pietersen@alfa.example.nl").exists()
    stranger.close()


def test_a_researcher_creates_uses_and_revokes_a_token(browser, live_server, researcher):
    from playwright.sync_api import expect

    session = Session(browser, live_server.url, **PHONE)
    page = session.page
    session.login(researcher.username, "/")
    page.get_by_role("link", name="Uw API-tokens").click()
    expect(page.get_by_role("heading", name="API-tokens")).to_be_visible()
    page.get_by_label("Naam").fill("R-script")
    page.get_by_label("Geldig").select_option("30")
    page.get_by_role("button", name="Token aanmaken").click()
    token = page.locator("#new-token").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert session.scroll_width() <= 390, session.wider_than(390)
    expect(page.get_by_role("cell", name="nog niet")).to_be_visible()

    api = f"{live_server.url}/api/v1/institutions/"
    assert httpx.get(api, headers={"Authorization": f"Token {token}"}).status_code == 200
    page.goto("/accounts/tokens/")
    expect(page.get_by_role("cell", name="nog niet")).to_have_count(0)
    assert token not in page.content()  # shown once, never again

    page.get_by_role("button", name="Trek R-script in").click()
    expect(page.get_by_text("Het token is ingetrokken")).to_be_visible()
    assert httpx.get(api, headers={"Authorization": f"Token {token}"}).status_code == 401
    assert session.errors == []
    session.close()


def test_the_management_pages_fit_a_phone(browser, live_server, coordinator_a, institution_a):
    session = Session(browser, live_server.url, **PHONE)
    session.login(coordinator_a.username, "/")
    for path in ("members", "locations", "invite"):
        session.page.goto(f"/accounts/institutions/{institution_a.brin}/{path}/")
        assert session.scroll_width() <= 390, (path, session.wider_than(390))
    assert session.errors == []
    session.close()
