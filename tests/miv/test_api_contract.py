"""The API contract for integrators (issue 17): a schema that tells the whole truth and does
not change with the reader's language, one problem format for every error, conflicts as
answers, no silent defaults that bias the figures, and limits that are stated."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.db import OperationalError
from knox.models import AuthToken
from rest_framework.test import APIClient

from incidents import services
from incidents.models import Incident
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

SCHEMA = "/api/schema/"
INCIDENTS = "/api/v1/incidents/"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _schema() -> dict:
    response = APIClient().get(SCHEMA, {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def token_client(user, language: str = "nl") -> APIClient:
    _instance, token = AuthToken.objects.create(user=user)
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def payload(location, **overrides) -> dict:
    data = {
        "location": location.pk,
        "incident_type": "MIS.FYS.06",
        "occurred_on": "2024-03-14",
        "victim_role": "student",
    }
    data.update(overrides)
    return data


# --- The schema ---------------------------------------------------------------------------


def test_the_schema_is_byte_identical_whatever_the_readers_language():
    bodies = set()
    for language in ("nl", "en", "de"):
        for query in ({}, {"format": "json"}, {"lang": "nl"}):
            client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
            response = client.get(SCHEMA, query)
            assert response.status_code == 200
            bodies.add((query.get("format", "yaml"), response.content))
    # One YAML and one JSON document, whatever the language.
    assert len(bodies) == 2
    text = dict(bodies)["yaml"].decode()
    # Rendered in English: texts for people appear in English, names are English.
    assert "Victim" in text and "Slachtoffer" not in text and "Medewerker" not in text


def test_every_operation_declares_its_errors_in_the_one_problem_format():
    schema = _schema()
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operations = list(_operations(schema))
    assert len(operations) > 15
    for path, method, operation in operations:
        responses = operation["responses"]
        expected = {"503"}
        public = operation.get("security") == [{}]
        if not public:
            expected |= {"401", "403"}
        if "requestBody" in operation:
            expected |= {"400", "415"}
        if "{" in path:
            expected.add("404")
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected.add("400")
        if path.startswith(("/api/v1/research/", "/api/v1/figures/")) and "jobs" not in path:
            expected.add("429")
        if path.startswith("/api/v1/incidents/") and method in ("post", "patch"):
            expected.add("409")
        assert expected <= set(responses), (path, method, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == problem, (path, method, status)
                assert response["description"], (path, method, status)
        for status in ("429", "503"):
            if status in responses:
                assert "Retry-After" in responses[status]["headers"]
    fields = schema["components"]["schemas"]["Problem"]["properties"]
    assert {"detail", "code", "errors"} <= set(fields)
    assert schema["components"]["schemas"]["Problem"]["required"] == ["code", "detail"]


def test_the_api_takes_json_only():
    for path, method, operation in _operations(_schema()):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, (path, method)


def test_the_research_csv_is_declared_as_text_not_as_json():
    schema = _schema()
    csv_file = schema["paths"]["/api/v1/research/rates.csv"]["get"]
    assert csv_file["operationId"] == "research_rates_csv"
    assert csv_file["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    rates = schema["paths"]["/api/v1/research/rates/"]["get"]["responses"]["200"]["content"]
    assert list(rates) == ["application/json", "text/csv"]
    assert rates["text/csv"] == {"schema": {"type": "string"}}


def test_limits_defaults_and_descriptions_are_as_they_are():
    schema = _schema()
    text = json.dumps(schema)
    assert "9223372036854775807" not in text
    assert "visible_to" not in text
    components = schema["components"]["schemas"]
    incident = components["IncidentRequest"]["properties"]
    assert incident["injury"]["default"] == "unknown"
    assert incident["perpetrator_role"]["default"] == "unknown"
    assert "victim_role" in components["IncidentRequest"]["required"]
    assert "default" not in incident["victim_role"]
    # A PATCH changes only what it names: no defaults a generated client would send along.
    for name, component in components.items():
        if name.startswith("Patched"):
            assert not [p for p in component["properties"].values() if "default" in p], name
    urbanity = components["Institution"]["properties"]["urbanity"]
    assert "maximum" not in urbanity and urbanity["nullable"] is True
    assert components["UrbanityEnum"]["enum"] == [1, 2, 3, 4, 5]
    listing = schema["paths"]["/api/v1/incidents/"]["get"]
    page_size = next(p for p in listing["parameters"] if p["name"] == "page_size")
    assert "at most 500" in page_size["description"]
    ordering = next(p for p in listing["parameters"] if p["name"] == "ordering")
    assert re.fullmatch(ordering["schema"]["pattern"], "-occurred_on,id")
    assert not re.fullmatch(ordering["schema"]["pattern"], "description")
    paginated = components["PaginatedIncidentList"]["properties"]
    assert {"page_size", "max_page_size"} <= set(paginated)
    for _path, _method, operation in _operations(schema):
        assert operation.get("description"), operation["operationId"]


# --- One problem format -------------------------------------------------------------------


def test_every_error_answer_has_a_detail_and_a_code(
    client_for, registrar_a, coordinator_a, researcher, incident_a, incident_b
):
    registrar = token_client(registrar_a)
    coordinator = token_client(coordinator_a)
    anonymous = APIClient()
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    services.withdraw_incident(actor=coordinator_a, incident=incident_a)
    cases = [
        (registrar.post(INCIDENTS, {}, format="json"), 400, "invalid"),
        (
            registrar.post(INCIDENTS, data="{not json", content_type="application/json"),
            400,
            "parse_error",
        ),
        (anonymous.get(INCIDENTS), 401, "not_authenticated"),
        (bad_token.get(INCIDENTS), 401, "authentication_failed"),
        (token_client(researcher).get(INCIDENTS), 403, "permission_denied"),
        (coordinator.get(f"{INCIDENTS}{incident_b.pk}/"), 404, "not_found"),
        (coordinator.delete(f"{INCIDENTS}{incident_a.pk}/"), 405, "method_not_allowed"),
        (coordinator.post(f"{INCIDENTS}{incident_a.pk}/withdraw/"), 409, "invalid_status"),
        (
            coordinator.patch(f"{INCIDENTS}{incident_a.pk}/", {"place": "online"}, format="json"),
            409,
            "incident_withdrawn",
        ),
        (registrar.post(INCIDENTS, {"location": "1"}, format="multipart"), 415, None),
        (coordinator.get(INCIDENTS, {"ordering": "description"}), 400, "invalid"),
        (coordinator.get(INCIDENTS, {"page_size": "0"}), 400, "invalid"),
        (coordinator.get(INCIDENTS, {"page": "99"}), 404, "not_found"),
        (coordinator.get("/api/v1/figures/jobs/geen-uuid/"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (status, response.content)
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert isinstance(body["detail"], str) and body["detail"], body
        assert body["code"] == (code or "unsupported_media_type"), body
        if status == 400:
            assert body["errors"] and all(
                set(error) == {"field", "code", "detail"} for error in body["errors"]
            )


def test_a_field_error_names_the_field_with_its_own_code(client_for, registrar_a, location_a):
    response = token_client(registrar_a).post(
        INCIDENTS, payload(location_a, victim_role=None, incident_type="NOPE.01"), format="json"
    )
    assert response.status_code == 400
    errors = {error["field"]: error["code"] for error in response.json()["errors"]}
    assert errors == {"victim_role": "null", "incident_type": "does_not_exist"}


def test_a_very_long_value_is_not_echoed_whole(registrar_a, location_a):
    # DRF's message quotes the value: 5,000 characters in the wrong field came back whole.
    response = token_client(registrar_a).post(
        INCIDENTS, payload(location_a, incident_type="X" * 5000), format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "incident_type" and error["code"] == "does_not_exist"
    assert len(error["detail"]) == 200 + 1 + 80  # start … end
    assert error["detail"].startswith("Object met code=XXXX")
    assert error["detail"].endswith("XXXX bestaat niet.") and "…" in error["detail"]
    assert len(response.content) < 1000
    # A value of ordinary length is quoted whole.
    short = token_client(registrar_a).post(
        INCIDENTS, payload(location_a, incident_type="NOPE.01"), format="json"
    )
    assert short.json()["errors"][0]["detail"] == "Object met code=NOPE.01 bestaat niet."


@pytest.mark.parametrize("language,text", [("nl", "Niet gevonden."), ("en", "Not found.")])
def test_a_404_speaks_the_sites_language(coordinator_a, incident_b, language, text):
    response = token_client(coordinator_a, language).get(f"{INCIDENTS}{incident_b.pk}/")
    assert response.status_code == 404
    assert response.json() == {"detail": text, "code": "not_found"}


def test_a_lost_database_is_a_503_problem_with_retry_after(coordinator_a, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(type(Incident.objects.all()), "visible_to", down)
    response = token_client(coordinator_a).get(INCIDENTS)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert response.json()["retry_after"] == 5


@pytest.mark.parametrize(
    "language,pattern",
    [
        ("nl", r"Te veel verzoeken\. Probeer het over (\d+) seconden opnieuw\."),
        ("en", r"Too many requests\. Try again in (\d+) seconds\."),
    ],
)
def test_the_throttle_message_is_in_one_language_with_the_wait(
    researcher, settings, language, pattern
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"research": "1/min"},
    }
    client = token_client(researcher, language)
    client.get("/api/v1/research/rates/")
    response = client.get("/api/v1/research/rates/")
    assert response.status_code == 429
    body = response.json()
    match = re.fullmatch(pattern, body["detail"])
    assert match, body["detail"]
    assert body["code"] == "throttled"
    assert int(match.group(1)) == body["retry_after"] == int(response["Retry-After"])


# --- Conflicts are answers ----------------------------------------------------------------


def test_a_duplicate_external_id_on_change_is_a_409_naming_the_existing_incident(
    coordinator_a, location_a, registrar_a
):
    holder = IncidentFactory(location=location_a, registered_by=registrar_a, external_id="TD-7")
    other = IncidentFactory(location=location_a, registered_by=registrar_a)
    response = token_client(coordinator_a).patch(
        f"{INCIDENTS}{other.pk}/", {"external_id": "TD-7"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_external_id"
    assert body["existing"] == {"id": holder.pk, "reference": holder.reference}
    other.refresh_from_db()
    assert other.external_id == ""


def test_a_duplicate_saved_concurrently_is_still_a_409(
    coordinator_a, location_a, registrar_a, monkeypatch
):
    """The race: the check finds nothing, then the database refuses the second row."""
    holder = IncidentFactory(location=location_a, registered_by=registrar_a, external_id="TD-8")
    real = services._holder_of_external_id
    calls = []

    def missed_once(incident):
        calls.append(incident.external_id)
        return None if len(calls) == 1 else real(incident)

    monkeypatch.setattr(services, "_holder_of_external_id", missed_once)
    monkeypatch.setattr(Incident, "validate_constraints", lambda self, exclude=None: None)
    response = token_client(coordinator_a).post(
        INCIDENTS, payload(location_a, external_id="TD-8"), format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["existing"]["reference"] == holder.reference
    assert len(calls) == 2
    assert Incident.objects.filter(external_id="TD-8").count() == 1


# --- No silent defaults that bias the figures -------------------------------------------


def test_omitted_injury_and_perpetrator_are_unknown_never_none(registrar_a, location_a):
    response = token_client(registrar_a).post(INCIDENTS, payload(location_a), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["injury"], body["perpetrator_role"]) == ("unknown", "unknown")
    assert body["occurred_at"] is None and body["place"] == ""
    incident = Incident.objects.get(pk=body["id"])
    assert (incident.injury, incident.perpetrator_role) == ("unknown", "unknown")


def test_the_victim_role_is_required(registrar_a, location_a):
    data = payload(location_a)
    del data["victim_role"]
    response = token_client(registrar_a).post(INCIDENTS, data, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "victim_role"
    assert response.json()["errors"][0]["code"] == "required"


def test_a_patch_leaves_omitted_fields_alone_and_null_clears_the_time(
    coordinator_a, location_a, registrar_a
):
    from datetime import time

    incident = IncidentFactory(
        location=location_a, registered_by=registrar_a, injury="minor", occurred_at=time(9, 30)
    )
    response = token_client(coordinator_a).patch(
        f"{INCIDENTS}{incident.pk}/", {"occurred_at": None}, format="json"
    )
    assert response.status_code == 200, response.content
    incident.refresh_from_db()
    assert incident.occurred_at is None and incident.injury == "minor"


# --- Stated limits -------------------------------------------------------------------------


def test_the_page_size_cap_is_said_in_the_answer(coordinator_a, location_a, registrar_a):
    IncidentFactory.create_batch(3, location=location_a, registered_by=registrar_a)
    client = token_client(coordinator_a)
    body = client.get(INCIDENTS, {"page_size": "2"}).json()
    assert (body["page_size"], body["max_page_size"], len(body["results"])) == (2, 500, 2)
    body = client.get(INCIDENTS, {"page_size": "100000"}).json()
    assert (body["page_size"], body["count"], len(body["results"])) == (500, 3, 3)
    for bad in ("abc", "-1", "0", "1.5"):
        response = client.get(INCIDENTS, {"page_size": bad})
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == "page_size"


def test_an_unknown_ordering_is_a_400_not_ignored(coordinator_a, location_a, registrar_a):
    from datetime import date

    old = IncidentFactory(
        location=location_a, registered_by=registrar_a, occurred_on=date(2023, 1, 5)
    )
    new = IncidentFactory(
        location=location_a, registered_by=registrar_a, occurred_on=date(2024, 1, 5)
    )
    client = token_client(coordinator_a)
    ids = [
        row["id"] for row in client.get(INCIDENTS, {"ordering": "occurred_on"}).json()["results"]
    ]
    assert ids == [old.pk, new.pk]
    ids = [
        row["id"] for row in client.get(INCIDENTS, {"ordering": "-occurred_on"}).json()["results"]
    ]
    assert ids == [new.pk, old.pk]
    for bad in ("description", "occurred_on,nope", "-", "occurred_on;drop"):
        response = client.get(INCIDENTS, {"ordering": bad})
        assert response.status_code == 400, bad
        error = response.json()["errors"][0]
        assert error["field"] == "ordering" and "occurred_on" in error["detail"]
    assert client.get("/api/v1/locations/", {"ordering": "municipality"}).status_code == 400
    assert client.get("/api/v1/locations/", {"ordering": "-name"}).status_code == 200


# --- Figures and research ------------------------------------------------------------------


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    from tests.reporting.world import build_world

    return build_world(institution_a, institution_b, location_a, location_b)


def test_no_figures_for_a_year_lists_the_years_that_have_them(world, researcher):
    client = token_client(researcher)
    for path in ("/api/v1/research/rates/", "/api/v1/figures/rates/"):
        response = client.get(path, {"school_year": "2010-2011"})
        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "no_figures"
        assert body["school_years"] == ["2021-2022", "2022-2023"]
        assert "2010-2011" in body["detail"] and "2021-2022, 2022-2023" in body["detail"]


def test_the_research_csv_file_is_csv_and_its_errors_are_problems(world, researcher):
    client = token_client(researcher)
    response = client.get(
        "/api/v1/research/rates.csv", {"school_year": "2022-2023"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    as_json = client.get("/api/v1/research/rates/", {"school_year": "2022-2023"}).json()
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("institution,") and len(lines) == len(as_json) + 1
    bad = client.get("/api/v1/research/rates.csv", {"group": "MIS.FYS"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"
    assert bad.json()["code"] == "invalid_parameter" and bad.json()["parameter"] == "group"
    assert bad.json()["errors"][0]["field"] == "group"


def test_a_researcher_with_a_session_is_told_to_use_a_token(world, researcher):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(researcher)
    response = client.get("/api/v1/figures/rates/")
    assert response.status_code == 403
    assert response.json()["code"] == "token_required"
    assert "token" in response.json()["detail"]
