"""The web pages of issue 3: the registration form (defaults, type picker and search,
validation with messages tied to their fields, double-submit protection), the
confirmation, and the list, detail, edit, close and withdraw pages."""

import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from incidents.choices import EventAction, Role, Status
from incidents.models import Incident, IncidentEvent, Membership
from taxonomy.models import IncidentType
from tests.factories import IncidentFactory, LocationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/incidents/register/"
TOKEN = "tok-" + "x" * 28


# --- Helpers -------------------------------------------------------------------------------


def login(user, language=None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        # Through the language switch in the page header.
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
        assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    return client


def html(response) -> str:
    return response.content.decode()


def select_options(page: str, name: str) -> list[tuple[str, bool, str]]:
    """(value, selected, text) of the options of the select named ``name``."""
    match = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert match, f"no select {name}"
    return [
        (value, "selected" in attrs, text.strip())
        for value, attrs, text in re.findall(
            r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', match.group(0)
        )
    ]


def selected(page: str, name: str) -> list[str]:
    return [value for value, is_selected, _ in select_options(page, name) if is_selected]


def tag_with_id(page: str, element_id: str) -> str:
    match = re.search(rf'<[a-z]+[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no element #{element_id}"
    return match.group(0)


def form_data(location, /, **overrides) -> dict:
    data = {
        "submission_token": TOKEN,
        "type_q": "",
        "incident_type": "MIS.FYS.06",
        "location": location.pk,
        "occurred_on": "2024-03-14",
        "occurred_at": "13:45",
        "place": "corridor",
        "victim_role": "student",
        "perpetrator_role": "student",
        "injury": "minor",
        "police_involved": "on",
        "description": "Twee studenten vochten in de kantine.",
        "measures": "Ouders gebeld.",
        "_action": "save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- The empty form ------------------------------------------------------------------------


def test_form_is_dutch_with_location_and_today_preselected(registrar_a, location_a):
    LocationFactory(institution=location_a.institution, name="Alfa Bijgebouw")
    response = login(registrar_a).get(REGISTER)
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="nl">' in page
    for label in ("Vestiging", "Datum", "Type incident", "Wie was het slachtoffer?", "Letsel"):
        assert f">{label}" in page
    assert selected(page, "location") == [str(location_a.pk)]  # the membership's location
    assert f'value="{timezone.localdate().isoformat()}"' in tag_with_id(page, "id_occurred_on")
    assert re.search(r'name="submission_token" value="[A-Za-z0-9_-]{16,64}"', page)


def test_the_only_registrable_location_is_preselected(coordinator_a, location_a):
    LocationFactory(institution=location_a.institution, active=False)
    LocationFactory()  # another institution's
    page = html(login(coordinator_a).get(REGISTER))
    assert selected(page, "location") == [str(location_a.pk)]
    assert len(select_options(page, "location")) == 2  # the empty choice and location_a


def test_nothing_is_preselected_among_several_locations(coordinator_a, location_a):
    LocationFactory(institution=location_a.institution)
    page = html(login(coordinator_a).get(REGISTER))
    assert selected(page, "location") == [""]  # the "choose" option


def test_every_field_has_a_label(registrar_a):
    page = html(login(registrar_a).get(REGISTER))
    form = page[page.index('<form method="post" action="/incidents/register/"') :]
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', form)
    assert len(ids) > 10
    for element_id in ids:
        assert f'for="{element_id}"' in form, element_id


def test_english_shows_the_english_type_names(registrar_a):
    page = html(login(registrar_a, language="en").get(REGISTER))
    assert '<html lang="en">' in page
    names = {text for _, _, text in select_options(page, "incident_type")}
    assert "Fight" in names and "Vechtpartij" not in names


def test_pages_carry_no_inline_script_or_style(coordinator_a, incident_a):
    client = login(coordinator_a)
    for url in (
        REGISTER,
        "/incidents/",
        f"/incidents/{incident_a.pk}/",
        f"/incidents/{incident_a.pk}/edit/",
        f"/incidents/registered/{incident_a.pk}/",
        "/incidents/register/types/?type_q=vecht",
    ):
        page = html(client.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert "<style" not in page and " style=" not in page, url
        assert " on" + "click=" not in page and "javascript:" not in page, url


# --- Picking the type ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["vecht", "VECHT", "Vecht", "fight", " vecht "])
def test_search_finds_vechtpartij_in_one_step_without_javascript(registrar_a, location_a, query):
    data = form_data(location_a, type_q=query, incident_type="", _action="search")
    response = login(registrar_a).post(REGISTER, data)
    assert response.status_code == 200
    page = html(response)
    assert select_options(page, "incident_type") == [
        ("", False, "— kies een type —"),
        ("MIS.FYS.06", True, "Vechtpartij"),
    ]
    assert "1 type gevonden" in page
    # The rest of the input is kept, nothing is saved and no error is shown.
    assert "Twee studenten vochten in de kantine." in page
    assert 'value="13:45"' in tag_with_id(page, "id_occurred_at")
    assert "error-summary" not in page
    assert not Incident.objects.exists()


def test_search_with_several_words_and_accents(registrar_a):
    response = login(registrar_a).get("/incidents/register/types/", {"type_q": "mishandeling met"})
    codes = [value for value, _, _ in select_options(html(response), "incident_type") if value]
    assert codes == ["MIS.FYS.07"]


def test_search_without_result_says_so_and_keeps_the_whole_list(registrar_a):
    response = login(registrar_a).get("/incidents/register/types/", {"type_q": "xyzzy"})
    page = html(response)
    assert "Geen type gevonden" in page
    assert len([v for v, _, _ in select_options(page, "incident_type") if v]) == 75


def test_live_search_fragment_for_htmx(registrar_a):
    response = login(registrar_a).get(
        "/incidents/register/types/", {"type_q": "vecht"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<div id="type-choice"')
    assert selected(page, "incident_type") == ["MIS.FYS.06"]
    assert 'id="type-status"' in page and 'hx-swap-oob="innerHTML"' in page
    assert "<html" not in page


def test_live_search_after_the_session_expired_sends_the_page_to_login(db):
    response = Client().get(
        "/incidents/register/types/",
        {"type_q": "vecht"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/incidents/register/",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/accounts/login/?next=/incidents/register/"


def test_category_then_subcategory_then_type(registrar_a):
    client = login(registrar_a)
    page = html(client.get("/incidents/register/types/", {"type_category": "BRA"}))
    assert "type_subcategory" not in page  # Brand/explosie has its types directly
    assert [v for v, _, _ in select_options(page, "incident_type") if v] == [
        f"BRA.0{n}" for n in range(1, 6)
    ]
    page = html(client.get("/incidents/register/types/", {"type_category": "MIS"}))
    assert len(select_options(page, "type_subcategory")) == 12  # "all" + 11
    assert len([v for v, _, _ in select_options(page, "incident_type") if v]) == 54
    page = html(
        client.get(
            "/incidents/register/types/", {"type_category": "MIS", "type_subcategory": "MIS.FYS"}
        )
    )
    assert len([v for v, _, _ in select_options(page, "incident_type") if v]) == 10
    # A subcategory of another category is ignored.
    page = html(
        client.get(
            "/incidents/register/types/", {"type_category": "BRA", "type_subcategory": "MIS.FYS"}
        )
    )
    assert len([v for v, _, _ in select_options(page, "incident_type") if v]) == 5


def test_narrowing_without_javascript_keeps_the_input(registrar_a, location_a):
    data = form_data(location_a, type_category="ONG", incident_type="", _action="narrow")
    page = html(login(registrar_a).post(REGISTER, data))
    assert selected(page, "type_category") == ["ONG"]
    assert {v for v, _, _ in select_options(page, "incident_type") if v} == {
        t.code for t in IncidentType.objects.filter(category__code="ONG")
    }
    assert "Ouders gebeld." in page


def test_retired_types_are_not_offered(registrar_a):
    IncidentType.objects.filter(code="MIS.FYS.06").update(active=False)
    page = html(login(registrar_a).get("/incidents/register/types/", {"type_q": "vecht"}))
    assert "MIS.FYS.06" not in page


# --- Saving --------------------------------------------------------------------------------


def test_register_creates_the_incident_and_shows_the_confirmation(registrar_a, location_a):
    client = login(registrar_a)
    response = client.post(REGISTER, form_data(location_a))
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/registered/{incident.pk}/"
    assert (incident.location, incident.incident_type.code, incident.occurred_on) == (
        location_a,
        "MIS.FYS.06",
        date(2024, 3, 14),
    )
    assert incident.occurred_at.strftime("%H:%M") == "13:45"
    assert (incident.place, incident.victim_role, incident.perpetrator_role) == (
        "corridor",
        "student",
        "student",
    )
    assert incident.injury == "minor" and incident.police_involved is True
    assert incident.registered_by == registrar_a
    assert incident.school_year == "2023-2024"
    assert incident.events.get().action == EventAction.CREATED
    confirmation = client.get(response["Location"])
    page = html(confirmation)
    assert incident.reference in page
    assert re.search(r'<a class="button" href="/incidents/register/">[^<]*registreren', page)


def test_double_submit_creates_one_incident(registrar_a, location_a):
    client = login(registrar_a)
    first = client.post(REGISTER, form_data(location_a))
    second = client.post(REGISTER, form_data(location_a))
    assert Incident.objects.count() == 1
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert "al verstuurd" in html(client.get(second["Location"]))


def test_reused_token_with_other_data_is_refused_until_sent_again(registrar_a, location_a):
    client = login(registrar_a)
    client.post(REGISTER, form_data(location_a))
    response = client.post(REGISTER, form_data(location_a, victim_role="staff"))
    assert response.status_code == 409
    page = html(response)
    assert "al eens verstuurd" in page
    assert Incident.objects.count() == 1
    new_token = re.search(r'name="submission_token" value="([^"]+)"', page).group(1)
    assert new_token != TOKEN
    assert selected(page, "incident_type") == ["MIS.FYS.06"]  # the input is kept
    again = client.post(
        REGISTER, form_data(location_a, victim_role="staff", submission_token=new_token)
    )
    assert again.status_code == 302
    assert Incident.objects.count() == 2


def test_each_new_form_gets_its_own_token(registrar_a):
    client = login(registrar_a)
    tokens = {
        re.search(r'name="submission_token" value="([^"]+)"', html(client.get(REGISTER))).group(1)
        for _ in range(3)
    }
    assert len(tokens) == 3


def test_a_form_without_a_valid_token_is_not_saved(registrar_a, location_a):
    for token in (None, "", "short", "bad token with spaces!!!!!!!!!!", "x" * 65):
        response = login(registrar_a).post(REGISTER, form_data(location_a, submission_token=token))
        assert response.status_code == 400
        assert "niet volledig ontvangen" in html(response)
    assert not Incident.objects.exists()


# --- Validation: each rule, with messages at the field and the input kept --------------------


def _future() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"occurred_on": "future"}, "occurred_on"),
        ({"occurred_on": "1999-12-31"}, "occurred_on"),
        ({"incident_type": "retired"}, "incident_type"),
        ({"location": "inactive"}, "location"),
        ({"location": "other_institution"}, "location"),
        ({"incident_type": "NOPE.01"}, "incident_type"),
        ({"occurred_on": "2024-13-45"}, "occurred_on"),
        ({"occurred_on": "gisteren"}, "occurred_on"),
        ({"occurred_at": "25:61"}, "occurred_at"),
        ({"incident_type": None}, "incident_type"),
        ({"location": None}, "location"),
        ({"occurred_on": None}, "occurred_on"),
        ({"victim_role": None}, "victim_role"),
        ({"location": "abc"}, "location"),
        ({"location": "99999999999999999999999"}, "location"),
        ({"victim_role": "alien"}, "victim_role"),
        ({"place": "roof"}, "place"),
        ({"injury": "x" * 50}, "injury"),
        ({"description": "x" * 5001}, "description"),
        ({"measures": "x" * 5001}, "measures"),
        ({"description": "nul \x00 byte"}, "description"),
        ({"incident_type": "MIS\x00"}, "incident_type"),
    ],
)
def test_invalid_input_is_shown_at_the_field_with_input_kept(
    registrar_a, location_a, location_b, overrides, field
):
    overrides = dict(overrides)
    if overrides.get("occurred_on") == "future":
        overrides["occurred_on"] = _future()
    if overrides.get("incident_type") == "retired":
        IncidentType.objects.filter(code="MIS.FYS.05").update(active=False)
        overrides["incident_type"] = "MIS.FYS.05"
    if overrides.get("location") == "inactive":
        overrides["location"] = LocationFactory(institution=location_a.institution, active=False).pk
    if overrides.get("location") == "other_institution":
        overrides["location"] = location_b.pk
    response = login(registrar_a).post(REGISTER, form_data(location_a, **overrides))
    assert response.status_code == 400
    assert not Incident.objects.exists()
    form = response.context["form"]
    assert list(form.errors) == [field]
    page = html(response)
    # The error list has an id that the field (or its fieldset) points to.
    assert f'id="id_{field}_error"' in page
    described = re.search(rf'aria-describedby="([^"]*\bid_{field}_error\b[^"]*)"', page)
    assert described, field
    # The summary at the top links to the field.
    summary = page[
        page.index('class="error-summary"') : page.index("</div>", page.index("error-summary"))
    ]
    assert f'href="#id_{field}' in summary
    # What the user typed is still there.
    if field != "description":
        assert "Twee studenten vochten in de kantine." in page
    if field != "measures":
        assert "Ouders gebeld." in page


def test_today_and_1_january_2000_are_accepted(registrar_a, location_a):
    client = login(registrar_a)
    for n, day in enumerate((timezone.localdate().isoformat(), "2000-01-01")):
        token = f"token-{n}-" + "y" * 20
        response = client.post(
            REGISTER, form_data(location_a, occurred_on=day, submission_token=token)
        )
        assert response.status_code == 302
    assert Incident.objects.count() == 2


def test_dutch_date_format_is_accepted(registrar_a, location_a):
    response = login(registrar_a).post(REGISTER, form_data(location_a, occurred_on="14-03-2024"))
    assert response.status_code == 302
    assert Incident.objects.get().occurred_on == date(2024, 3, 14)


# --- List ------------------------------------------------------------------------------------


def test_coordinator_list_filters_with_the_filterset(coordinator_a, location_a, registrar_a):
    second = LocationFactory(institution=location_a.institution, name="Alfa Bijgebouw")
    staff = IncidentFactory(location=second, registered_by=registrar_a, victim_role="staff")
    IncidentFactory(location=location_a, registered_by=registrar_a, victim_role="student")
    client = login(coordinator_a)
    page = client.get("/incidents/", {"victim_role": "staff", "location": second.pk})
    assert page.status_code == 200
    assert [i.pk for i in page.context["page"].object_list] == [staff.pk]
    # Location choices come from the user's scope only.
    choices = {value for value, _, _ in select_options(html(page), "location") if value}
    assert choices == {str(location_a.pk), str(second.pk)}


def test_list_filter_on_another_institutions_location_is_rejected(
    coordinator_a, location_b, incident_b
):
    response = login(coordinator_a).get("/incidents/", {"location": location_b.pk})
    assert response.status_code == 400
    assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize(
    "query",
    [
        {"school_year": "2023"},
        {"occurred_after": "gisteren"},
        {"status": "kapot"},
        {"incident_type": "\x00"},
    ],
)
def test_invalid_list_filters_are_400_not_everything(coordinator_a, incident_a, query):
    response = login(coordinator_a).get("/incidents/", query)
    assert response.status_code == 400
    assert list(response.context["page"].object_list) == []


def test_list_filters_school_year_and_date_range(coordinator_a, location_a, registrar_a):
    old = IncidentFactory(
        location=location_a, registered_by=registrar_a, occurred_on=date(2023, 7, 31)
    )
    new = IncidentFactory(
        location=location_a, registered_by=registrar_a, occurred_on=date(2023, 8, 1)
    )
    client = login(coordinator_a)
    by_year = client.get("/incidents/", {"school_year": "2022-2023"}).context["page"]
    assert [i.pk for i in by_year.object_list] == [old.pk]
    by_range = client.get(
        "/incidents/", {"occurred_after": "2023-08-01", "occurred_before": "2023-08-31"}
    ).context["page"]
    assert [i.pk for i in by_range.object_list] == [new.pk]


def test_list_is_paginated_and_keeps_the_filters(coordinator_a, location_a, registrar_a):
    IncidentFactory.create_batch(30, location=location_a, registered_by=registrar_a)
    client = login(coordinator_a)
    first = client.get("/incidents/", {"status": "open"})
    assert len(first.context["page"].object_list) == 25
    assert "?status=open&amp;page=2" in html(first)
    second = client.get("/incidents/", {"status": "open", "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert client.get("/incidents/", {"page": "abc"}).status_code == 200


def test_list_query_count_does_not_grow_with_the_rows(
    coordinator_a, location_a, registrar_a, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    IncidentFactory.create_batch(2, location=location_a, registered_by=registrar_a)
    client = login(coordinator_a)
    with CaptureQueriesContext(connection) as few:
        client.get("/incidents/")
    IncidentFactory.create_batch(23, location=location_a, registered_by=registrar_a)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/incidents/").context["page"].object_list) == 25
    assert len(many.captured_queries) == len(few.captured_queries)


def test_registrar_list_heading_says_my_registrations(registrar_a, incident_a):
    page = html(login(registrar_a).get("/incidents/"))
    assert "<h1>Mijn meldingen</h1>" in page
    assert incident_a.reference in page


# --- Detail and history ----------------------------------------------------------------------


def test_detail_shows_the_masked_history_to_coordinators(coordinator_a, registrar_a, location_a):
    client = login(registrar_a)
    client.post(REGISTER, form_data(location_a, description="Jan Jansen sloeg Piet."))
    incident = Incident.objects.get()
    coordinator = login(coordinator_a)
    coordinator.post(
        f"/incidents/{incident.pk}/edit/",
        form_data(
            location_a,
            description="Twee studenten.",
            victim_role="staff",
            incident_type="MIS.FYS.02",
        ),
    )
    page = html(coordinator.get(f"/incidents/{incident.pk}/"))
    history = page[page.index('id="history"') :]
    assert "Geregistreerd" in history and "Gewijzigd" in history
    assert "Beschrijving: *** → ***" in history
    assert "Slachtoffer: Student → Medewerker" in history
    assert "Type incident: Vechtpartij → Slaan en/of schoppen" in history
    assert "Vestiging: — → Alfa Hoofdgebouw" in history  # the registration
    assert "Jan Jansen" not in page  # the old text is nowhere, not even in the history
    assert "Twee studenten." in page[: page.index('id="history"')]  # current text is shown


def test_registrar_sees_own_incident_without_history_or_actions(registrar_a, incident_a):
    page = html(login(registrar_a).get(f"/incidents/{incident_a.pk}/"))
    assert incident_a.description in page
    assert 'id="history"' not in page
    assert "/close/" not in page and "/edit/" not in page


# --- Edit, close, withdraw -----------------------------------------------------------------


def test_edit_goes_through_the_service_and_is_audited(coordinator_a, incident_a, location_a):
    client = login(coordinator_a)
    form = html(client.get(f"/incidents/{incident_a.pk}/edit/"))
    assert selected(form, "incident_type") == [incident_a.incident_type.code]
    data = form_data(location_a, incident_type="MIS.FYS.02", occurred_on="2023-03-14")
    data["description"] = incident_a.description
    response = client.post(f"/incidents/{incident_a.pk}/edit/", data)
    assert response.status_code == 302
    incident_a.refresh_from_db()
    assert incident_a.incident_type.code == "MIS.FYS.02"
    event = IncidentEvent.objects.get(incident=incident_a, action=EventAction.CHANGED)
    assert event.actor == coordinator_a
    assert event.changes["incident_type"] == ["MIS.FYS.06", "MIS.FYS.02"]
    assert event.changes["measures"] == ["", "***"]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"occurred_on": "future"}, "occurred_on"),
        ({"occurred_on": "1999-12-31"}, "occurred_on"),
        ({"location": "other_institution"}, "location"),
        ({"incident_type": "NOPE"}, "incident_type"),
        ({"description": "x" * 5001}, "description"),
    ],
)
def test_edit_validates_like_registration(
    coordinator_a, incident_a, location_a, location_b, overrides, field
):
    overrides = dict(overrides)
    if overrides.get("occurred_on") == "future":
        overrides["occurred_on"] = _future()
    if overrides.get("location") == "other_institution":
        overrides["location"] = location_b.pk
    before = Incident.objects.values().get(pk=incident_a.pk)
    response = login(coordinator_a).post(
        f"/incidents/{incident_a.pk}/edit/", form_data(location_a, **overrides)
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Incident.objects.values().get(pk=incident_a.pk) == before
    assert not IncidentEvent.objects.filter(action=EventAction.CHANGED).exists()


def test_a_retired_type_may_stay_on_an_existing_incident(coordinator_a, incident_a, location_a):
    IncidentType.objects.filter(pk=incident_a.incident_type_id).update(active=False)
    client = login(coordinator_a)
    assert selected(html(client.get(f"/incidents/{incident_a.pk}/edit/")), "incident_type") == [
        incident_a.incident_type.code
    ]
    response = client.post(
        f"/incidents/{incident_a.pk}/edit/", form_data(location_a, victim_role="staff")
    )
    assert response.status_code == 302
    incident_a.refresh_from_db()
    assert incident_a.victim_role == "staff"


def test_a_withdrawn_incident_cannot_be_edited(coordinator_a, incident_a, location_a):
    Incident.objects.filter(pk=incident_a.pk).update(status=Status.WITHDRAWN)
    response = login(coordinator_a).post(
        f"/incidents/{incident_a.pk}/edit/", form_data(location_a, victim_role="staff")
    )
    assert response.status_code == 400
    assert "ingetrokken" in html(response)
    incident_a.refresh_from_db()
    assert incident_a.victim_role == "student"


def test_close_then_withdraw(coordinator_a, incident_a):
    client = login(coordinator_a)
    response = client.post(f"/incidents/{incident_a.pk}/close/", follow=True)
    assert "afgesloten" in html(response)
    incident_a.refresh_from_db()
    assert incident_a.status == Status.CLOSED
    again = client.post(f"/incidents/{incident_a.pk}/close/", follow=True)
    assert "kan niet naar" in html(again)  # the service's message, no 500
    client.post(f"/incidents/{incident_a.pk}/withdraw/")
    incident_a.refresh_from_db()
    assert incident_a.status == Status.WITHDRAWN
    actions = list(incident_a.events.values_list("action", flat=True))
    assert actions == [EventAction.CLOSED, EventAction.WITHDRAWN]


def test_close_and_withdraw_need_the_csrf_token(coordinator_a, incident_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator_a)
    for action in ("close", "withdraw"):
        assert client.post(f"/incidents/{incident_a.pk}/{action}/").status_code == 403
    incident_a.refresh_from_db()
    assert incident_a.status == Status.OPEN


# --- Navigation --------------------------------------------------------------------------------


def test_navigation_and_tiles_per_role(registrar_a, coordinator_a, researcher):
    registrar_home = html(login(registrar_a).get("/"))
    assert registrar_home.count('href="/incidents/register/"') == 2  # menu and tile
    assert "Mijn meldingen" in registrar_home
    coordinator_home = html(login(coordinator_a).get("/"))
    assert 'href="/incidents/"' in coordinator_home and "Incidenten" in coordinator_home
    researcher_home = html(login(researcher).get("/"))
    assert "/incidents/" not in researcher_home


def test_admin_without_membership_may_register(administrator, location_a):
    response = login(administrator).post(REGISTER, form_data(location_a))
    assert response.status_code == 302
    assert Incident.objects.get().registered_by == administrator


def test_second_membership_default_location_is_used(db, location_a, location_b):
    user = UserFactory(username="two_hats")
    MembershipFactory(user=user, institution=location_a.institution, role=Role.REGISTRAR)
    MembershipFactory(
        user=user,
        institution=location_b.institution,
        role=Role.REGISTRAR,
        default_location=location_b,
    )
    LocationFactory(institution=location_a.institution)
    assert Membership.objects.filter(user=user).count() == 2
    page = html(login(user).get(REGISTER))
    assert selected(page, "location") == [str(location_b.pk)]
