"""The permission matrix: every user kind x every endpoint and method x an object of their
own or of the other institution, with the exact status code.

Users: anonymous, registrar and coordinator of institution A and of institution B, and the
(sector-wide) researcher. Each case runs twice, against institution A's objects and against
institution B's; the expectation is written from the user's point of view ("own" is the
user's institution, "other" the other one).
"""

import pytest
from django.test import Client

from incidents.models import Incident, Institution, Location, Membership
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS = ["anonymous", "registrar_a", "coordinator_a", "registrar_b", "coordinator_b", "researcher"]
TARGETS = ["a", "b"]


def perspective(user: str, target: str) -> str:
    """'anonymous', 'researcher', or e.g. 'registrar_own' / 'coordinator_other'."""
    if user in ("anonymous", "researcher"):
        return user
    role, institution = user.rsplit("_", 1)
    return f"{role}_{'own' if institution == target else 'other'}"


def expect(anonymous, registrar_own, coordinator_own, registrar_other, coordinator_other, rsr):
    return {
        "anonymous": anonymous,
        "registrar_own": registrar_own,
        "coordinator_own": coordinator_own,
        "registrar_other": registrar_other,
        "coordinator_other": coordinator_other,
        "researcher": rsr,
    }


def incident_body(objects):
    return {
        "location": objects["location"].pk,
        "incident_type": "MIS.FYS.06",
        "occurred_on": "2024-03-14",
        "victim_role": "student",
    }


def form_body(objects):
    return {
        "incident_type": "MIS.FYS.06",
        "location": objects["location"].pk,
        "occurred_on": "2024-03-14",
        "victim_role": "student",
        "perpetrator_role": "unknown",
        "injury": "none",
        "submission_token": "t" * 32,
    }


# (name, method, url(objects), body(objects) or None, expected statuses)
API_CASES = [
    ("institution-list", "get", lambda o: "/api/v1/institutions/", None,
     expect(401, 200, 200, 200, 200, 200)),
    ("institution-detail", "get", lambda o: f"/api/v1/institutions/{o['institution'].brin}/",
     None, expect(401, 200, 200, 404, 404, 404)),
    ("institution-create", "post", lambda o: "/api/v1/institutions/",
     lambda o: {"brin": "99ZZ", "name": "Nieuw", "kind": "roc"},
     expect(401, 403, 403, 403, 403, 403)),
    ("institution-patch", "patch", lambda o: f"/api/v1/institutions/{o['institution'].brin}/",
     lambda o: {"name": "Anders"}, expect(401, 403, 403, 403, 403, 403)),
    ("location-list", "get", lambda o: "/api/v1/locations/", None,
     expect(401, 200, 200, 200, 200, 200)),
    ("location-detail", "get", lambda o: f"/api/v1/locations/{o['location'].pk}/", None,
     expect(401, 200, 200, 404, 404, 404)),
    ("location-create", "post", lambda o: "/api/v1/locations/",
     lambda o: {"institution": o["institution"].brin, "code": "NEW", "name": "Nieuw"},
     expect(401, 403, 201, 403, 400, 403)),
    ("location-patch", "patch", lambda o: f"/api/v1/locations/{o['location'].pk}/",
     lambda o: {"name": "Anders"}, expect(401, 403, 200, 403, 404, 403)),
    ("location-delete", "delete", lambda o: f"/api/v1/locations/{o['location'].pk}/", None,
     expect(401, 403, 405, 403, 405, 403)),
    ("incident-list", "get", lambda o: "/api/v1/incidents/", None,
     expect(401, 200, 200, 200, 200, 403)),
    ("incident-create", "post", lambda o: "/api/v1/incidents/", incident_body,
     expect(401, 201, 201, 400, 400, 403)),
    ("incident-detail", "get", lambda o: f"/api/v1/incidents/{o['incident'].pk}/", None,
     expect(401, 200, 200, 404, 404, 403)),
    ("incident-patch", "patch", lambda o: f"/api/v1/incidents/{o['incident'].pk}/",
     lambda o: {"victim_role": "staff"}, expect(401, 403, 200, 404, 404, 403)),
    ("incident-put", "put", lambda o: f"/api/v1/incidents/{o['incident'].pk}/", incident_body,
     expect(401, 405, 405, 405, 405, 403)),
    ("incident-delete", "delete", lambda o: f"/api/v1/incidents/{o['incident'].pk}/", None,
     expect(401, 405, 405, 405, 405, 403)),
    ("incident-close", "post", lambda o: f"/api/v1/incidents/{o['incident'].pk}/close/", None,
     expect(401, 403, 200, 404, 404, 403)),
    ("incident-withdraw", "post", lambda o: f"/api/v1/incidents/{o['incident'].pk}/withdraw/",
     None, expect(401, 403, 200, 404, 404, 403)),
]  # fmt: skip

# HTML pages: anonymous users are sent to the login page (302), researchers get 403.
PAGE_CASES = [
    ("register", "get", lambda o: "/incidents/register/", None,
     expect(302, 200, 200, 200, 200, 403)),
    ("register-post", "post", lambda o: "/incidents/register/", form_body,
     expect(302, 302, 302, 400, 400, 403)),
    ("type-choices", "get", lambda o: "/incidents/register/types/?type_q=vecht", None,
     expect(302, 200, 200, 200, 200, 403)),
    ("registered", "get", lambda o: f"/incidents/registered/{o['incident'].pk}/", None,
     expect(302, 200, 200, 404, 404, 403)),
    ("list", "get", lambda o: "/incidents/", None, expect(302, 200, 200, 200, 200, 403)),
    ("detail", "get", lambda o: f"/incidents/{o['incident'].pk}/", None,
     expect(302, 200, 200, 404, 404, 403)),
    ("edit", "get", lambda o: f"/incidents/{o['incident'].pk}/edit/", None,
     expect(302, 403, 200, 404, 404, 403)),
    ("edit-post", "post", lambda o: f"/incidents/{o['incident'].pk}/edit/", form_body,
     expect(302, 403, 302, 404, 404, 403)),
    ("close", "post", lambda o: f"/incidents/{o['incident'].pk}/close/", None,
     expect(302, 403, 302, 404, 404, 403)),
    ("close-get", "get", lambda o: f"/incidents/{o['incident'].pk}/close/", None,
     expect(302, 405, 405, 405, 405, 403)),
    ("withdraw", "post", lambda o: f"/incidents/{o['incident'].pk}/withdraw/", None,
     expect(302, 403, 302, 404, 404, 403)),
    ("withdraw-get", "get", lambda o: f"/incidents/{o['incident'].pk}/withdraw/", None,
     expect(302, 405, 405, 405, 405, 403)),
]  # fmt: skip


@pytest.fixture
def world(request, incident_a, incident_b, coordinator_a, coordinator_b, researcher):
    """All users, and for each institution its institution, location and an incident
    registered by its registrar."""
    objects = {
        "a": {"institution": incident_a.institution, "location": incident_a.location},
        "b": {"institution": incident_b.institution, "location": incident_b.location},
    }
    objects["a"]["incident"], objects["b"]["incident"] = incident_a, incident_b
    users = {name: request.getfixturevalue(name) for name in USERS if name != "anonymous"}
    users["anonymous"] = None
    return users, objects


def _snapshot():
    return (
        list(Incident.objects.order_by("pk").values()),
        list(Location.objects.order_by("pk").values()),
        list(Institution.objects.order_by("pk").values()),
    )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(
    "name,method,url,body,expected", API_CASES, ids=[case[0] for case in API_CASES]
)
def test_api_matrix(world, client_for, user, target, name, method, url, body, expected):
    users, objects = world
    status = expected[perspective(user, target)]
    before = _snapshot()
    client = client_for(users[user])
    data = body(objects[target]) if body else None
    response = getattr(client, method)(url(objects[target]), data, format="json")
    assert response.status_code == status, response.content
    if status >= 400:
        # A refused request changes nothing.
        assert _snapshot() == before


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize(
    "name,method,url,body,expected", PAGE_CASES, ids=[case[0] for case in PAGE_CASES]
)
def test_page_matrix(world, user, target, name, method, url, body, expected):
    users, objects = world
    status = expected[perspective(user, target)]
    before = _snapshot()
    client = Client()
    if users[user] is not None:
        client.force_login(users[user])
    path = url(objects[target])
    data = body(objects[target]) if body else {}
    response = getattr(client, method)(path, data)
    assert response.status_code == status
    if user == "anonymous":
        assert response["Location"].startswith("/accounts/login/?next=")
    if status >= 400 or user == "anonymous":
        assert _snapshot() == before


# --- What each user sees in the lists ------------------------------------------------------


@pytest.fixture
def colleague_incident(location_a, coordinator_a):
    """An incident of institution A registered by someone other than registrar A."""
    return IncidentFactory(location=location_a, registered_by=coordinator_a, victim_role="none")


@pytest.mark.parametrize(
    "user,visible",
    [
        ("registrar_a", {"incident_a"}),
        ("coordinator_a", {"incident_a", "colleague_incident"}),
        ("registrar_b", {"incident_b"}),
        ("coordinator_b", {"incident_b"}),
        ("administrator", {"incident_a", "colleague_incident", "incident_b"}),
    ],
)
def test_lists_show_exactly_the_visible_incidents(
    request, world, colleague_incident, client_for, user, visible
):
    who = request.getfixturevalue(user)
    expected = {request.getfixturevalue(name).reference for name in visible}
    api = client_for(who).get("/api/v1/incidents/").json()
    assert {row["reference"] for row in api["results"]} == expected
    client = Client()
    client.force_login(who)
    page = client.get("/incidents/")
    assert {i.reference for i in page.context["page"].object_list} == expected


def test_registrar_cannot_open_a_colleagues_incident(world, colleague_incident, registrar_a):
    client = Client()
    client.force_login(registrar_a)
    assert client.get(f"/incidents/{colleague_incident.pk}/").status_code == 404
    assert client.get(f"/incidents/registered/{colleague_incident.pk}/").status_code == 404


def test_user_without_any_role_gets_403(db, client_for):
    nobody = UserFactory(username="nobody")
    client = Client()
    client.force_login(nobody)
    assert client.get("/incidents/").status_code == 403
    assert client.get("/incidents/register/").status_code == 403
    assert client_for(nobody).get("/api/v1/incidents/").status_code == 403


def test_researchers_get_no_locations_and_no_institution_key(world, researcher, client_for):
    """Researchers get aggregates only: no locations at all, and without named access no
    list that would tie BRIN codes to the kind, region and urbanity of the research
    figures (and so undo the pseudonyms)."""
    client = client_for(researcher)
    assert client.get("/api/v1/locations/").json()["results"] == []
    assert client.get("/api/v1/institutions/").json()["results"] == []
    Membership.objects.filter(user=researcher).update(named_access=True)
    named = client_for(type(researcher).objects.get(pk=researcher.pk))
    assert named.get("/api/v1/locations/").json()["results"] == []
    assert len(named.get("/api/v1/institutions/").json()["results"]) == Institution.objects.count()
