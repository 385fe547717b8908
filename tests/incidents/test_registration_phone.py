"""Issue 13 without a browser: the unbiased short form, the offline queue's server side
(session endpoint, service worker, the API with Idempotency-Key under session + CSRF), the
closing note for the reporter (with its e-mail through a real SMTP server, and the AVG
duties that come with a free text), and the list, filters, tiles and API docs page."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.choices import EventAction, Injury, PerpetratorRole, Role, Status
from incidents.forms import FIGURE_FIELDS, RegistrationForm
from incidents.models import Incident, IncidentEvent
from tests.factories import IncidentFactory, LocationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/incidents/register/"
NOTE = "Besproken met Jan Jansen; de camera bij de stalling wordt vervangen."


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


# --- No answer that feeds the figures is preselected ------------------------------------------


def test_no_registration_field_that_feeds_the_figures_has_a_default_answer(registrar_a):
    # The model does have defaults (for the API and imports: "unknown", never a known answer):
    # the form must not show them.
    assert Incident._meta.get_field("perpetrator_role").default == PerpetratorRole.UNKNOWN
    assert Incident._meta.get_field("injury").default == Injury.UNKNOWN

    form = RegistrationForm(user=registrar_a)
    for name in FIGURE_FIELDS:
        assert form[name].value() in (None, ""), name
        assert form.fields[name].required, name
    page = html(login(registrar_a).get(REGISTER))
    for name in ("victim_role", "perpetrator_role", "injury"):
        radios = re.findall(rf'<input type="radio" name="{name}"[^>]*>', page)
        assert len(radios) >= 4, name
        assert not [r for r in radios if "checked" in r], name
    fallback = re.search(r'<select name="incident_type".*?</select>', page, re.S).group(0)
    assert "selected" not in fallback
    assert re.search(
        r'<input type="hidden" id="id_type_value" data-name="incident_type" value="">', page
    )
    assert 'aria-selected="true"' not in page


def test_unknown_is_an_explicit_choice_and_leaving_one_out_is_an_error(registrar_a, location_a):
    page = html(login(registrar_a).get(REGISTER))
    for name in ("victim_role", "perpetrator_role", "injury"):
        assert re.search(rf'name="{name}" value="unknown"', page), name
    data = {
        "submission_token": "tok-" + "x" * 28,
        "incident_type": "MIS.FYS.06",
        "location": location_a.pk,
        "occurred_on": "2024-03-14",
        "_action": "save",
    }
    response = login(registrar_a).post(REGISTER, data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"victim_role", "perpetrator_role", "injury"}
    assert not Incident.objects.exists()


def test_a_search_redisplay_keeps_an_explicit_unknown(registrar_a, location_a):
    data = {"type_q": "vecht", "perpetrator_role": "unknown", "injury": "none", "_action": "search"}
    page = html(login(registrar_a).post(REGISTER, data))
    assert re.search(r'name="perpetrator_role" value="unknown"[^>]*checked', page)
    assert re.search(r'name="injury" value="none"[^>]*checked', page)


def test_the_optional_details_are_folded_unless_they_hold_something(registrar_a, location_a):
    page = html(login(registrar_a).get(REGISTER))
    assert '<details class="more-details">' in page
    page = html(login(registrar_a).post(REGISTER, {"description": "x" * 5001, "_action": "save"}))
    assert '<details class="more-details" open>' in page


def test_the_combobox_offers_every_active_type_with_its_search_text(registrar_a):
    page = html(login(registrar_a).get(REGISTER))
    options = re.findall(r'role="option"[^>]*data-value="([^"]+)" data-search="([^"]+)"', page)
    assert len(options) == 75
    search = dict(options)["MIS.FYS.06"]
    assert "vechtpartij" in search and "fight" in search  # both languages, folded


# --- The last location is remembered -----------------------------------------------------------


def test_the_registrars_last_location_is_preselected(registrar_a, location_a):
    annex = LocationFactory(institution=location_a.institution, name="Alfa Bijgebouw")
    client = login(registrar_a)
    assert RegistrationForm(user=registrar_a).initial["location"] == location_a.pk  # fixed one
    IncidentFactory(location=annex, registered_by=registrar_a)
    page = html(client.get(REGISTER))
    assert re.search(rf'<option value="{annex.pk}" selected>', page)
    # A location that is no longer active is not offered, so not remembered either.
    annex.active = False
    annex.save()
    page = html(client.get(REGISTER))
    assert re.search(rf'<option value="{location_a.pk}" selected>', page)


# --- The offline queue's server side -------------------------------------------------------------


def test_the_session_endpoint_gives_a_token_or_says_to_log_in(registrar_a, researcher):
    anonymous = Client().get("/incidents/register/session/")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"
    assert "no-cache" in anonymous["Cache-Control"]
    answer = login(registrar_a).get("/incidents/register/session/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["user"] == "registrar_a" and len(body["csrf"]) >= 32
    assert login(researcher).get("/incidents/register/session/").status_code == 403


def test_the_service_worker_covers_the_page_and_caches_only_it_and_static_files(db):
    response = Client().get("/incidents/register/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert 'var PAGE = "/incidents/register/";' in script
    assets = json.loads(re.search(r"var ASSETS = (\[.*?\]);", script).group(1))
    assert "/static/miv/offline-queue.js" in assets and "/static/miv/miv.css" in assets
    assert all(url.startswith("/static/") for url in assets)
    assert 'request.method !== "GET"' in script  # POSTs (and their texts) pass by


def test_a_queued_registration_is_registered_once_through_the_api(registrar_a, location_a):
    """What offline-queue.js does when the connection returns: session + CSRF token, the
    JSON API, its own Idempotency-Key; a retry of the same item replays the first answer."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(registrar_a)
    token = client.get("/incidents/register/session/").json()["csrf"]
    item = {
        "incident_type": "MIS.OVR.03",
        "location": location_a.pk,
        "occurred_on": timezone.localdate().isoformat(),
        "occurred_at": None,
        "place": "grounds",
        "victim_role": "unknown",
        "perpetrator_role": "unknown",
        "injury": "none",
        "police_involved": False,
        "description": "Fiets gestolen uit de stalling.",
        "measures": "",
    }

    def send(key: str, csrf: str = token):
        return client.post(
            "/api/v1/incidents/",
            json.dumps(item),
            content_type="application/json",
            headers={"X-CSRFToken": csrf, "Idempotency-Key": key, "Accept": "application/json"},
        )

    assert send("a1b2c3", csrf="wrong").status_code == 403  # the token is needed
    first = send("a1b2c3")
    again = send("a1b2c3")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    incident = Incident.objects.get()
    assert (incident.registered_by, incident.injury) == (registrar_a, "none")
    assert send("d4e5f6").status_code == 201  # another item: another key, another incident
    assert Incident.objects.count() == 2


def test_pages_with_incident_text_are_never_cached_by_the_browser(registrar_a, incident_a):
    client = login(registrar_a)
    for url in (REGISTER, f"/incidents/{incident_a.pk}/"):
        assert "no-store" in client.get(url)["Cache-Control"], url


# --- The loop closed: a note for the reporter ----------------------------------------------------


def test_the_coordinator_closes_with_a_note_that_the_reporter_reads(
    coordinator_a, registrar_a, registrar_b, incident_a, incident_b
):
    response = login(coordinator_a).post(
        f"/incidents/{incident_a.pk}/close/", {"reporter_note": NOTE}
    )
    assert response.status_code == 302
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reporter_note) == (Status.CLOSED, NOTE)
    event = incident_a.events.get(action=EventAction.CLOSED)
    assert event.changes == {"status": ["open", "closed"], "reporter_note": ["", "***"]}

    mine = html(login(registrar_a).get("/incidents/"))
    assert "<h1>Mijn meldingen</h1>" in mine
    row = re.search(rf"<tr>\s*<td[^>]*><a[^>]*>{incident_a.reference}</a>.*?</tr>", mine, re.S)
    assert "Afgesloten" in row.group(0) and "Besproken met Jan Jansen" in row.group(0)
    detail = html(login(registrar_a).get(f"/incidents/{incident_a.pk}/"))
    assert "Bericht van de coördinator" in detail and NOTE in detail
    # Another institution's registrar reads neither the incident nor its note.
    assert login(registrar_b).get(f"/incidents/{incident_a.pk}/").status_code == 404
    assert NOTE not in html(login(registrar_b).get("/incidents/"))


def test_a_note_that_is_too_long_closes_nothing(coordinator_a, incident_a):
    response = login(coordinator_a).post(
        f"/incidents/{incident_a.pk}/close/", {"reporter_note": "x" * 1001}
    )
    assert response.status_code == 400
    assert "Maximaal 1000 tekens." in html(response)
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reporter_note) == (Status.OPEN, "")


def test_an_open_report_says_it_is_being_handled(registrar_a, incident_a):
    page = html(login(registrar_a).get(f"/incidents/{incident_a.pk}/"))
    assert "In behandeling bij de veiligheidscoördinator" in page
    assert "Bericht aan de melder" not in page  # no close form for the reporter


def mail_callbacks(callbacks) -> list:
    return [c for c in callbacks if c.__qualname__.startswith("queue_closed_notice")]


def test_closing_mails_the_reporter_a_link_without_details(
    smtp_server,
    settings,
    coordinator_a,
    registrar_a,
    location_a,
    django_capture_on_commit_callbacks,
):
    settings.MIV_SITE_URL = "https://miv.example.nl"
    registrar_a.email = "melder@example.nl"
    registrar_a.save()
    incident = IncidentFactory(
        location=location_a, registered_by=registrar_a, description="Jan sloeg Piet."
    )
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        services.close_incident(actor=coordinator_a, incident=incident, reporter_note=NOTE)
        assert smtp_server.messages == []  # not before the commit
    assert len(mail_callbacks(after_commit)) == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "melder@example.nl"
    assert incident.reference in mail["Subject"]
    body = mail.get_content()
    assert f"https://miv.example.nl/incidents/{incident.pk}/" in body
    for detail in ("Jan", "Piet", "Besproken", incident.incident_type.name, location_a.name):
        assert detail not in body and detail not in mail["Subject"], detail


def test_no_mail_when_a_close_is_rolled_back_or_the_reporter_closes_it(
    smtp_server, coordinator_a, location_a, django_capture_on_commit_callbacks
):
    coordinator_a.email = "coordinator@example.nl"
    coordinator_a.save()
    other = UserFactory(username="melder_met_adres", email="melder@example.nl")
    MembershipFactory(user=other, institution=location_a.institution, role=Role.REGISTRAR)
    without = UserFactory(username="melder_zonder_adres", email="")
    MembershipFactory(user=without, institution=location_a.institution, role=Role.REGISTRAR)
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        own = IncidentFactory(location=location_a, registered_by=coordinator_a)
        services.close_incident(actor=coordinator_a, incident=own, reporter_note="Klaar.")
        no_address = IncidentFactory(location=location_a, registered_by=without)
        services.close_incident(actor=coordinator_a, incident=no_address)
        with pytest.raises(RuntimeError), transaction.atomic():
            rolled_back = IncidentFactory(location=location_a, registered_by=other)
            services.close_incident(actor=coordinator_a, incident=rolled_back)
            raise RuntimeError("rolled back")
    assert mail_callbacks(after_commit) == []
    with pytest.raises(AssertionError):
        smtp_server.wait_for(1, timeout=0.5)
    assert smtp_server.messages == []


# --- AVG: the note is personal-data-capable text --------------------------------------------


def test_a_data_subject_request_finds_exports_and_erases_the_note(coordinator_a, location_a):
    incident = IncidentFactory(location=location_a, description="Ruzie op het plein.")
    services.close_incident(actor=coordinator_a, incident=incident, reporter_note=NOTE)
    client = login(coordinator_a)
    found = client.post("/incidents/privacy/", {"term": "jan jansen"})
    assert [i.pk for i in found.context["results"]] == [incident.pk]
    export = client.post(
        "/incidents/privacy/export/", {"incident": [incident.pk], "format": "json"}
    )
    assert json.loads(export.content)["incidents"][0]["reporter_note"] == NOTE
    client.post("/incidents/privacy/erase/", {"incident": [incident.pk], "confirm": "on"})
    incident.refresh_from_db()
    assert (incident.description, incident.reporter_note) == ("", "")
    erased = IncidentEvent.objects.get(incident=incident, action=EventAction.ERASED)
    assert erased.changes == {"description": ["***", ""], "reporter_note": ["***", ""]}
    assert NOTE not in json.dumps(list(IncidentEvent.objects.values_list("changes", flat=True)))


def test_retention_blanks_the_note_too(settings, location_a):
    settings.MIV_RETENTION_YEARS = 5
    old = timezone.localdate() - timedelta(days=6 * 366)
    only_note = IncidentFactory(
        location=location_a, occurred_on=old, description="", reporter_note=NOTE
    )
    result = services.apply_retention()
    only_note.refresh_from_db()
    assert result.incidents == 1
    assert only_note.reporter_note == "" and only_note.anonymised_at is not None
    assert only_note.events.get().changes == {"reporter_note": ["***", ""]}


# --- The list: filters, empty states ---------------------------------------------------------


def test_every_filter_says_alle_and_school_years_are_a_choice(coordinator_a, location_a):
    IncidentFactory(location=location_a)  # 2022-2023
    IncidentFactory(location=location_a, occurred_on=timezone.localdate())
    page = html(login(coordinator_a).get("/incidents/"))
    assert "---------" not in page
    selects = re.findall(
        r'<select name="([a-z_]+)"[^>]*>\s*<option value=""[^>]*>([^<]*)</option>', page
    )
    assert {name for name, _ in selects} >= {
        "location", "school_year", "category", "subcategory", "incident_type", "victim_role",
        "status",
    }  # fmt: skip
    assert {label for _, label in selects} == {"Alle"}
    years = re.search(r'<select name="school_year".*?</select>', page, re.S).group(0)
    assert '<option value="2022-2023">' in years
    assert "2022-2023" in html(
        login(coordinator_a).get("/incidents/", {"school_year": "2022-2023"})
    )


@pytest.mark.parametrize(
    "who,query,says",
    [
        ("registrar_a", {}, "U heeft nog geen incidenten gemeld."),
        ("coordinator_a", {}, "Er zijn nog geen incidenten geregistreerd."),
        ("coordinator_a", {"status": "closed"}, "Geen incidenten met deze filters."),
    ],
)
def test_an_empty_list_says_what_to_do(request, who, query, says):
    page = html(login(request.getfixturevalue(who)).get("/incidents/", query))
    assert says in page


# --- Home, header, API docs ---------------------------------------------------------------------


def tiles(page: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<li><a href="([^"]+)"><span class="tile-title">[^<]+</span>'
        r'<span class="tile-text">([^<]+)</span></a></li>',
        page,
    )


def test_home_tiles_per_role_each_with_a_line(registrar_a, coordinator_a, researcher):
    registrar = tiles(html(login(registrar_a).get("/")))
    assert registrar[0][0] == REGISTER
    assert all(text.strip() for _, text in registrar)
    assert not any(href.startswith("/api/docs/") for href, _ in registrar)
    coordinator = tiles(html(login(coordinator_a).get("/")))
    assert coordinator[0][0] == REGISTER and len(coordinator) >= 6
    assert not any(href.startswith("/api/docs/") for href, _ in coordinator)
    assert any(href.startswith("/api/docs/") for href, _ in tiles(html(login(researcher).get("/"))))


def test_the_api_docs_page_is_inside_the_layout_with_a_way_back(coordinator_a):
    page = html(login(coordinator_a).get("/api/docs/"))
    assert '<header class="site-header">' in page
    assert '<a href="/">Terug naar de startpagina</a>' in page
    assert '<div id="swagger-ui"' in page
    assert "<style" not in page and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)


def test_no_word_is_broken_inside_table_cells():
    css = (settings.BASE_DIR / "miv" / "static" / "miv" / "miv.css").read_text()
    assert "overflow-wrap: anywhere" not in css and "word-break: break-all" not in css
