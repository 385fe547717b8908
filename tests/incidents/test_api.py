"""The REST API for incidents: JSON shape, validation (400 with field errors, never 500),
filters, the constant query count of the list, Idempotency-Key and token authentication."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from incidents.choices import EventAction, Status
from incidents.models import Incident, IncidentEvent
from taxonomy.models import IncidentType
from tests.factories import IncidentFactory, LocationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/"


def error_fields(response) -> set:
    """The fields a 400 names (the problem answer's ``errors``, issue 17)."""
    body = response.json()
    assert body["code"] == "invalid" and body["detail"], body
    return {error["field"] for error in body["errors"]}


def payload(location, /, **overrides):
    data = {
        "location": location.pk,
        "incident_type": "MIS.FYS.06",
        "occurred_on": "2024-03-14",
        "occurred_at": "13:45",
        "place": "corridor",
        "victim_role": "student",
        "perpetrator_role": "student",
        "injury": "minor",
        "police_involved": False,
        "measures": "Ouders gebeld.",
        "description": "Twee studenten vochten in de kantine.",
        "external_id": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


# --- Shape and creation --------------------------------------------------------------------


def test_create_returns_the_documented_fields(client_for, registrar_a, location_a):
    response = client_for(registrar_a).post(URL, payload(location_a), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "reference",
        "location",
        "incident_type",
        "occurred_on",
        "occurred_at",
        "school_year",
        "place",
        "victim_role",
        "perpetrator_role",
        "injury",
        "police_involved",
        "measures",
        "description",
        "status",
        "reporter_note",
        "external_id",
        "institution",
        "registered_by",
        "created_at",
        "updated_at",
    }
    assert body["institution"] == "25LJ"
    assert body["location"] == location_a.pk
    assert body["incident_type"] == "MIS.FYS.06"
    assert body["school_year"] == "2023-2024"
    assert body["status"] == "open"
    assert body["registered_by"] == "registrar_a"
    assert body["reference"] == f"MIV-{body['id']:06d}"
    incident = Incident.objects.get(pk=body["id"])
    assert incident.events.get().action == EventAction.CREATED


def test_read_only_fields_are_ignored_on_create(client_for, registrar_a, location_a):
    data = payload(location_a, status="withdrawn", school_year="1999-2000", institution="30RR")
    response = client_for(registrar_a).post(URL, data, format="json")
    assert response.status_code == 201
    incident = Incident.objects.get(pk=response.json()["id"])
    assert (incident.status, incident.school_year, incident.institution.brin) == (
        "open",
        "2023-2024",
        "25LJ",
    )


def test_anonymous_gets_401_with_token_challenge(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


# --- Validation: every rule gives 400 with the field named ---------------------------------


def _future():
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
        ({"occurred_on": "14-03-2024"}, "occurred_on"),
        ({"occurred_on": "2024-02-30"}, "occurred_on"),
        ({"occurred_at": "25:61"}, "occurred_at"),
        ({"location": ...}, "location"),
        ({"incident_type": ...}, "incident_type"),
        ({"occurred_on": ...}, "occurred_on"),
        ({"victim_role": ...}, "victim_role"),
        ({"location": "abc"}, "location"),
        ({"location": [1]}, "location"),
        ({"occurred_on": 20240314}, "occurred_on"),
        ({"police_involved": "maybe"}, "police_involved"),
        ({"victim_role": "alien"}, "victim_role"),
        ({"place": {"x": 1}}, "place"),
        ({"description": "x" * 5001}, "description"),
        ({"measures": "x" * 5001}, "measures"),
        ({"external_id": "x" * 101}, "external_id"),
        ({"description": "nul \x00 byte"}, "description"),
        ({"incident_type": "MIS\x00"}, "incident_type"),
        ({"location": 10**30}, "location"),
    ],
)
def test_create_rejects_bad_input_with_field_errors(
    client_for, registrar_a, location_a, location_b, overrides, field
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
    response = client_for(registrar_a).post(URL, payload(location_a, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert not Incident.objects.exists()


def test_today_and_first_of_january_2000_are_accepted(client_for, registrar_a, location_a):
    client = client_for(registrar_a)
    for day in (timezone.localdate().isoformat(), "2000-01-01"):
        response = client.post(URL, payload(location_a, occurred_on=day), format="json")
        assert response.status_code == 201, response.json()


@pytest.mark.parametrize("body", [[], "text", 12, None])
def test_create_rejects_a_body_that_is_not_an_object(client_for, registrar_a, body):
    response = client_for(registrar_a).post(URL, body, format="json")
    assert response.status_code == 400


def test_create_rejects_malformed_json(client_for, registrar_a):
    response = client_for(registrar_a).post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_duplicate_external_id_in_one_institution_is_a_409_naming_the_existing_incident(
    client_for, registrar_a, location_a
):
    # Issue 17: a conflict with its code and the existing incident, not a raw constraint.
    client = client_for(registrar_a)
    first = client.post(URL, payload(location_a, external_id="T-1"), format="json")
    assert first.status_code == 201
    response = client.post(URL, payload(location_a, external_id="T-1"), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_external_id"
    assert body["existing"] == {"id": first.json()["id"], "reference": first.json()["reference"]}
    assert first.json()["reference"] in body["detail"]
    assert "incident_external_id_unique_per_institution" not in response.content.decode()
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"occurred_on": "future"}, "occurred_on"),
        ({"occurred_on": "1999-12-31"}, "occurred_on"),
        ({"incident_type": "NOPE.01"}, "incident_type"),
        ({"location": "other_institution"}, "location"),
        ({"description": "x" * 5001}, "description"),
        ({"victim_role": None}, "victim_role"),
    ],
)
def test_patch_validates_like_create(
    client_for, coordinator_a, incident_a, location_b, changes, field
):
    changes = dict(changes)
    if changes.get("occurred_on") == "future":
        changes["occurred_on"] = _future()
    if changes.get("location") == "other_institution":
        changes["location"] = location_b.pk
    before = Incident.objects.values().get(pk=incident_a.pk)
    response = client_for(coordinator_a).patch(f"{URL}{incident_a.pk}/", changes, format="json")
    assert response.status_code == 400, response.content
    assert field in error_fields(response)
    assert Incident.objects.values().get(pk=incident_a.pk) == before


def test_patch_records_a_masked_change(client_for, coordinator_a, incident_a):
    response = client_for(coordinator_a).patch(
        f"{URL}{incident_a.pk}/",
        {"description": "Naam: Jan Jansen", "victim_role": "staff"},
        format="json",
    )
    assert response.status_code == 200
    event = IncidentEvent.objects.get(incident=incident_a, action=EventAction.CHANGED)
    assert event.actor == coordinator_a
    assert event.changes == {"description": ["***", "***"], "victim_role": ["student", "staff"]}
    assert "Jan Jansen" not in str(event.changes)


def test_patch_cannot_set_status(client_for, coordinator_a, incident_a):
    response = client_for(coordinator_a).patch(
        f"{URL}{incident_a.pk}/", {"status": "withdrawn"}, format="json"
    )
    assert response.status_code == 200
    incident_a.refresh_from_db()
    assert incident_a.status == Status.OPEN


def test_close_and_withdraw_actions(client_for, coordinator_a, incident_a):
    client = client_for(coordinator_a)
    response = client.post(f"{URL}{incident_a.pk}/close/")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    again = client.post(f"{URL}{incident_a.pk}/close/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_status"
    response = client.post(f"{URL}{incident_a.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    patch = client.patch(f"{URL}{incident_a.pk}/", {"victim_role": "staff"}, format="json")
    assert patch.status_code == 409
    actions = list(incident_a.events.values_list("action", flat=True))
    assert actions == [EventAction.CLOSED, EventAction.WITHDRAWN]


def test_close_with_a_note_for_the_registrar(
    client_for, coordinator_a, registrar_a, registrar_b, incident_a
):
    note = "  Besproken met de docent; de student krijgt begeleiding.  "
    response = client_for(coordinator_a).post(
        f"{URL}{incident_a.pk}/close/", {"reporter_note": note}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed"
    assert response.json()["reporter_note"] == note.strip()
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reporter_note) == (Status.CLOSED, note.strip())
    # The audit trail masks the note, as for the web form.
    event = incident_a.events.get(action=EventAction.CLOSED)
    assert event.changes == {"status": ["open", "closed"], "reporter_note": ["", "***"]}
    # The registrar reads it with their incident; another institution sees no incident.
    own = client_for(registrar_a).get(f"{URL}{incident_a.pk}/")
    assert own.status_code == 200 and own.json()["reporter_note"] == note.strip()
    assert client_for(registrar_b).get(f"{URL}{incident_a.pk}/").status_code == 404


def test_close_without_a_body_leaves_no_note(client_for, coordinator_a, incident_a):
    response = client_for(coordinator_a).post(f"{URL}{incident_a.pk}/close/")
    assert response.status_code == 200
    assert response.json()["reporter_note"] == ""
    event = incident_a.events.get(action=EventAction.CLOSED)
    assert event.changes == {"status": ["open", "closed"]}


@pytest.mark.parametrize(
    "body",
    [{"reporter_note": "x" * 1001}, {"reporter_note": ["a list"]}, {"reporter_note": None}],
    ids=["too-long", "not-text", "null"],
)
def test_a_bad_note_is_400_and_closes_nothing(client_for, coordinator_a, incident_a, body):
    response = client_for(coordinator_a).post(f"{URL}{incident_a.pk}/close/", body, format="json")
    assert response.status_code == 400, response.content
    assert error_fields(response) == {"reporter_note"}
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reporter_note) == (Status.OPEN, "")
    assert not incident_a.events.exists()


def test_a_body_that_is_not_an_object_is_400(client_for, coordinator_a, incident_a):
    response = client_for(coordinator_a).post(
        f"{URL}{incident_a.pk}/close/", ["not", "an", "object"], format="json"
    )
    assert response.status_code == 400, response.content
    incident_a.refresh_from_db()
    assert incident_a.status == Status.OPEN


def test_the_note_is_written_only_by_closing(client_for, coordinator_a, registrar_a, incident_a):
    # Read-only in the incident: a PATCH that names it changes nothing, even a coordinator's.
    response = client_for(coordinator_a).patch(
        f"{URL}{incident_a.pk}/", {"reporter_note": "Zelf geschreven."}, format="json"
    )
    assert response.status_code == 200
    incident_a.refresh_from_db()
    assert incident_a.reporter_note == ""
    # Closing is for coordinators: the registrar's close is refused and leaves no note.
    refused = client_for(registrar_a).post(
        f"{URL}{incident_a.pk}/close/", {"reporter_note": "Klaar."}, format="json"
    )
    assert refused.status_code == 403
    incident_a.refresh_from_db()
    assert (incident_a.status, incident_a.reporter_note) == (Status.OPEN, "")


# --- Filters -------------------------------------------------------------------------------


@pytest.fixture
def filter_data(location_a, registrar_a):
    second = LocationFactory(institution=location_a.institution, code="A-2")
    rows = {
        "fight": IncidentFactory(
            location=location_a, registered_by=registrar_a, occurred_on=date(2023, 7, 31)
        ),
        "fire": IncidentFactory(
            location=second,
            registered_by=registrar_a,
            incident_type=IncidentType.objects.get(code="BRA.01"),
            occurred_on=date(2023, 8, 1),
            victim_role="staff",
            status=Status.CLOSED,
        ),
    }
    return second, rows


@pytest.mark.parametrize(
    "query,expected",
    [
        ("school_year=2022-2023", {"fight"}),
        ("school_year=2023-2024", {"fire"}),
        ("category=BRA", {"fire"}),
        ("subcategory=MIS.FYS", {"fight"}),
        ("incident_type=MIS.FYS.06", {"fight"}),
        ("victim_role=staff", {"fire"}),
        ("status=closed", {"fire"}),
        ("occurred_after=2023-08-01", {"fire"}),
        ("occurred_before=2023-07-31", {"fight"}),
        ("institution=25LJ", {"fight", "fire"}),
        ("location=SECOND", {"fire"}),
        ("ordering=occurred_on", {"fight", "fire"}),
    ],
)
def test_filters(client_for, coordinator_a, filter_data, query, expected):
    second, rows = filter_data
    query = query.replace("SECOND", str(second.pk))
    response = client_for(coordinator_a).get(f"{URL}?{query}")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {rows[name].pk for name in expected}


@pytest.mark.parametrize(
    "query",
    [
        "school_year=2023",
        "school_year=2023-2025",
        "occurred_after=gisteren",
        "victim_role=alien",
        "status=%00",
        "incident_type=%00",
        "category=MIS%00",
        "subcategory=%00",
        "institution=%00",
        "incident_type=NOPE",
        "location=abc",
        "location=99999999999999999999999",
    ],
)
def test_bad_filters_are_400(client_for, coordinator_a, query):
    response = client_for(coordinator_a).get(f"{URL}?{query}")
    assert response.status_code == 400, response.content


def test_location_filter_of_another_institution_is_rejected_like_a_missing_one(
    client_for, coordinator_a, location_b, incident_b
):
    response = client_for(coordinator_a).get(f"{URL}?location={location_b.pk}")
    assert response.status_code == 400
    assert "location" in error_fields(response)


def test_institution_lookup_with_odd_characters_is_404_not_500(client_for, researcher):
    assert client_for(researcher).get("/api/v1/institutions/%00/").status_code == 404


# --- Constant number of queries --------------------------------------------------------


def test_list_runs_a_constant_number_of_queries(
    client_for, coordinator_a, location_a, registrar_a, django_assert_num_queries
):
    IncidentFactory.create_batch(30, location=location_a, registered_by=registrar_a)

    def fresh_client():
        # A new user object per request, as in production: roles are cached per request.
        return client_for(type(coordinator_a).objects.get(pk=coordinator_a.pk))

    client = fresh_client()
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(f"{URL}?page_size=1").status_code == 200
    # memberships (permission; the scoped institution choices reuse them), count, page
    assert len(baseline.captured_queries) == 3
    for size in (5, 30):
        client = fresh_client()
        with django_assert_num_queries(3):
            response = client.get(f"{URL}?page_size={size}")
        assert len(response.json()["results"]) == size


def test_page_size_is_capped(client_for, coordinator_a, location_a, registrar_a, settings):
    from miv.api.pagination import StandardPagination

    IncidentFactory.create_batch(3, location=location_a, registered_by=registrar_a)
    StandardPagination.max_page_size, previous = 2, StandardPagination.max_page_size
    try:
        response = client_for(coordinator_a).get(f"{URL}?page_size=1000")
    finally:
        StandardPagination.max_page_size = previous
    assert len(response.json()["results"]) == 2


# --- Idempotency-Key -----------------------------------------------------------------------


def test_same_idempotency_key_replays_the_first_answer(client_for, registrar_a, location_a):
    client = client_for(registrar_a)
    first = client.post(URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Incident.objects.count() == 1
    assert IncidentEvent.objects.count() == 1


def test_same_key_with_a_different_payload_is_409_and_creates_nothing(
    client_for, registrar_a, location_a
):
    client = client_for(registrar_a)
    client.post(URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post(
        URL, payload(location_a, victim_role="staff"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Incident.objects.count() == 1


def test_idempotency_keys_are_per_user(client_for, registrar_a, coordinator_a, location_a):
    for user in (registrar_a, coordinator_a):
        response = client_for(user).post(
            URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )
        assert response.status_code == 201
    assert Incident.objects.count() == 2


def test_a_rejected_request_does_not_use_up_the_key(client_for, registrar_a, location_a):
    client = client_for(registrar_a)
    bad = client.post(
        URL, payload(location_a, occurred_on="nope"), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert bad.status_code == 400
    good = client.post(URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201
    assert Incident.objects.count() == 1


def test_an_oversized_idempotency_key_is_400(client_for, registrar_a, location_a):
    response = client_for(registrar_a).post(
        URL, payload(location_a), format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400
    assert not Incident.objects.exists()


# --- Token authentication ------------------------------------------------------------------


def test_token_authenticates_and_expired_token_does_not(registrar_a, incident_a):
    _, token = AuthToken.objects.create(user=registrar_a, expiry=timedelta(days=1))
    client = APIClient()
    response = client.get(URL, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [incident_a.pk]
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get(URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION="Token not-a-token").status_code == 401


def test_session_authentication_works_for_the_api(registrar_a, incident_a):
    client = APIClient()
    client.force_login(registrar_a)
    assert client.get(URL).status_code == 200
