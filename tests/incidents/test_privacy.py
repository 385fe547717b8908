"""Privacy by design (AVG, issue 7): the nightly retention run, data-subject requests
(search, export, erase), no personal data in logs or URLs, and a committed registration
that survives a failing listener."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import services
from incidents.choices import EventAction, ImportKind, ImportStatus
from incidents.importers import import_incidents
from incidents.models import IdempotencyRecord, ImportJob, Incident, IncidentEvent
from incidents.signals import incidents_changed
from incidents.tasks import anonymise_expired_incidents
from tests.factories import IncidentFactory
from tests.import_helpers import csv_bytes

pytestmark = pytest.mark.django_db

NAME = "Jan Jansen"
DESCRIPTION = f"{NAME} (2B) sloeg Piet de Vries in de kantine."
MEASURES = f"Ouders van {NAME} gebeld op 06-12345678."
SECRETS = (NAME, "Piet de Vries", "06-12345678")


def years_ago(years: int, *, days: int = 0, today: date | None = None) -> date:
    today = today or timezone.localdate()
    return services.retention_cutoff(today, years) + timedelta(days=days)


def web(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def texts(incident: Incident) -> tuple[str, str]:
    incident.refresh_from_db()
    return incident.description, incident.measures


# --- Retention: the cutoff ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "today,years,cutoff",
    [
        (date(2025, 3, 10), 5, date(2020, 3, 10)),
        (date(2025, 3, 10), 1, date(2024, 3, 10)),
        # 29 February: 28 February of a year without one had its anniversary yesterday.
        (date(2028, 2, 29), 5, date(2023, 3, 1)),
        (date(2028, 2, 29), 4, date(2024, 2, 29)),
        (date(2029, 3, 1), 5, date(2024, 3, 1)),
    ],
)
def test_retention_cutoff(today, years, cutoff):
    assert services.retention_cutoff(today, years) == cutoff


def test_a_retention_of_less_than_a_year_is_refused(settings):
    settings.MIV_RETENTION_YEARS = 0
    with pytest.raises(ValueError):
        services.retention_cutoff(date(2025, 1, 1))


# --- Retention: the nightly task -----------------------------------------------------------------


@pytest.fixture
def aged(location_a):
    """Incidents around the 5-year boundary (relative to today), all with personal data."""

    def make(occurred_on: date, **fields) -> Incident:
        return IncidentFactory(
            location=location_a,
            occurred_on=occurred_on,
            description=fields.pop("description", DESCRIPTION),
            measures=fields.pop("measures", MEASURES),
            **fields,
        )

    return {
        "day_before_cutoff": make(years_ago(5, days=-1)),
        "on_cutoff": make(years_ago(5)),
        "recent": make(years_ago(1)),
        "old_measures_only": make(years_ago(7), description=""),
        "old_without_text": make(years_ago(8), description="", measures=""),
    }


def test_the_beat_schedule_names_registered_tasks(settings):
    from miv.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_nightly_task_anonymises_what_is_past_retention_at_the_boundary(settings, aged):
    settings.MIV_RETENTION_YEARS = 5
    result = anonymise_expired_incidents.delay().get()

    assert result["cutoff"] == years_ago(5).isoformat()
    assert result["incidents"] == 2
    assert texts(aged["day_before_cutoff"]) == ("", "")
    assert texts(aged["old_measures_only"]) == ("", "")
    # Exactly five years old today: kept until tomorrow.
    assert texts(aged["on_cutoff"]) == (DESCRIPTION, MEASURES)
    assert texts(aged["recent"]) == (DESCRIPTION, MEASURES)
    for name in ("day_before_cutoff", "old_measures_only"):
        assert Incident.objects.get(pk=aged[name].pk).anonymised_at is not None
    for name in ("on_cutoff", "recent", "old_without_text"):
        assert Incident.objects.get(pk=aged[name].pk).anonymised_at is None

    # The audit trail says which fields were blanked, never what they held.
    events = IncidentEvent.objects.filter(action=EventAction.ANONYMISED)
    assert {(e.incident_id, json.dumps(e.changes, sort_keys=True)) for e in events} == {
        (
            aged["day_before_cutoff"].pk,
            json.dumps({"description": ["***", ""], "measures": ["***", ""]}, sort_keys=True),
        ),
        (aged["old_measures_only"].pk, json.dumps({"measures": ["***", ""]})),
    }
    assert all(e.actor_id is None for e in events)


def test_the_next_day_the_boundary_incident_is_anonymised(settings, aged):
    settings.MIV_RETENTION_YEARS = 5
    tomorrow = timezone.localdate() + timedelta(days=1)
    services.apply_retention(today=tomorrow)
    assert texts(aged["on_cutoff"]) == ("", "")
    assert texts(aged["recent"]) == (DESCRIPTION, MEASURES)


def test_nightly_task_is_idempotent(settings, aged):
    settings.MIV_RETENTION_YEARS = 5
    first = anonymise_expired_incidents.delay().get()
    events = IncidentEvent.objects.count()
    stamps = dict(Incident.objects.values_list("pk", "anonymised_at"))
    second = anonymise_expired_incidents.delay().get()

    assert first["incidents"] == 2
    assert second == {**first, "incidents": 0}
    assert IncidentEvent.objects.count() == events
    assert dict(Incident.objects.values_list("pk", "anonymised_at")) == stamps


@pytest.mark.parametrize("years,anonymised", [(2, {"three", "ten"}), (5, {"ten"}), (11, set())])
def test_the_retention_setting_decides(settings, location_a, years, anonymised):
    settings.MIV_RETENTION_YEARS = years
    incidents = {
        "one": IncidentFactory(location=location_a, occurred_on=years_ago(1, days=-1)),
        "three": IncidentFactory(location=location_a, occurred_on=years_ago(3, days=-1)),
        "ten": IncidentFactory(location=location_a, occurred_on=years_ago(10, days=-1)),
    }
    anonymise_expired_incidents.delay()
    blanked = {name for name, incident in incidents.items() if texts(incident)[0] == ""}
    assert blanked == anonymised


def test_retention_works_in_batches(settings, location_a):
    settings.MIV_RETENTION_YEARS = 5
    old = [
        IncidentFactory(location=location_a, occurred_on=years_ago(6, days=-n)) for n in range(7)
    ]
    cutoff, count, _scrubbed = services.anonymise_expired_incidents(batch_size=3)
    assert count == 7
    assert all(texts(incident) == ("", "") for incident in old)
    assert IncidentEvent.objects.filter(action=EventAction.ANONYMISED).count() == 7


def _all_event_text() -> str:
    return json.dumps(list(IncidentEvent.objects.values_list("changes", flat=True)))


def test_the_audit_trail_never_holds_the_texts(
    settings, tmp_path, location_a, registrar_a, coordinator_a
):
    """Every way an incident is written (API, web form, change, import) leaves only ***."""
    settings.MEDIA_ROOT = tmp_path
    api = APIClient()
    api.force_authenticate(registrar_a)
    created = api.post(
        "/api/v1/incidents/",
        {
            "location": location_a.pk,
            "incident_type": "MIS.FYS.06",
            "occurred_on": "2023-03-14",
            "victim_role": "student",
            "description": DESCRIPTION,
            "measures": MEASURES,
        },
        format="json",
    )
    assert created.status_code == 201
    coordinator = APIClient()
    coordinator.force_authenticate(coordinator_a)
    changed = coordinator.patch(
        f"/api/v1/incidents/{created.json()['id']}/",
        {"description": DESCRIPTION + " Nagekomen: Piet de Vries.", "measures": ""},
        format="json",
    )
    assert changed.status_code == 200
    report = import_incidents(
        io.BytesIO(
            csv_bytes(
                [
                    ["location", "occurred_on", "incident_type", "victim_role", "description"],
                    ["A-HQ", "2022-10-01", "MIS.FYS.06", "student", DESCRIPTION],
                ]
            )
        ),
        location_a.institution,
        name="import.csv",
        actor=coordinator_a,
    )
    assert report.committed
    assert IncidentEvent.objects.count() == 3
    logged = _all_event_text()
    assert "***" in logged
    for secret in SECRETS:
        assert secret not in logged


def test_retention_scrubs_texts_that_an_old_audit_event_still_holds(settings, location_a):
    settings.MIV_RETENTION_YEARS = 5
    incident = IncidentFactory(location=location_a, occurred_on=years_ago(6))
    # As an event written before the masking rule (or by hand) might look.
    IncidentEvent.objects.create(
        incident=incident,
        action=EventAction.CHANGED,
        changes={"description": ["", DESCRIPTION], "victim_role": ["staff", "student"]},
    )
    result = services.apply_retention()
    assert result.audit_events == 1
    event = IncidentEvent.objects.get(incident=incident, action=EventAction.CHANGED)
    assert event.changes == {"description": ["", "***"], "victim_role": ["staff", "student"]}
    for secret in SECRETS:
        assert secret not in _all_event_text()


def _post_with_key(user, location, occurred_on: date, key: str) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(
        "/api/v1/incidents/",
        {
            "location": location.pk,
            "incident_type": "MIS.FYS.06",
            "occurred_on": occurred_on.isoformat(),
            "victim_role": "student",
            "description": DESCRIPTION,
            "measures": MEASURES,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_retention_blanks_stored_api_answers_and_purges_old_ones(settings, registrar_a, location_a):
    settings.MIV_RETENTION_YEARS = 5
    settings.MIV_IDEMPOTENCY_KEEP_DAYS = 7
    old = _post_with_key(registrar_a, location_a, years_ago(6), "old-incident")
    recent = _post_with_key(registrar_a, location_a, years_ago(1), "recent-incident")
    stale = _post_with_key(registrar_a, location_a, years_ago(2), "stale-record")
    IdempotencyRecord.objects.filter(key="stale-record").update(
        created_at=timezone.now() - timedelta(days=8)
    )

    result = services.apply_retention()

    assert result.idempotency_records == 1
    assert not IdempotencyRecord.objects.filter(key="stale-record").exists()
    assert Incident.objects.filter(pk=stale["id"]).exists()  # only the stored answer went
    kept = IdempotencyRecord.objects.get(key="old-incident")
    assert kept.body["id"] == old["id"]
    assert (kept.body["description"], kept.body["measures"]) == ("", "")
    assert IdempotencyRecord.objects.get(key="recent-incident").body["description"] == DESCRIPTION
    assert recent["description"] == DESCRIPTION
    # A retry with the key replays the answer, now without the texts.
    replay = _post_with_key(registrar_a, location_a, years_ago(6), "old-incident")
    assert (replay["id"], replay["description"]) == (old["id"], "")
    assert Incident.objects.count() == 3


def test_retention_drops_the_row_errors_and_files_of_old_imports(settings, tmp_path, location_a):
    settings.MIV_RETENTION_YEARS = 5
    settings.MEDIA_ROOT = tmp_path

    def job(age_days: int) -> ImportJob:
        created = ImportJob.objects.create(
            kind=ImportKind.INCIDENTS,
            institution=location_a.institution,
            original_name="register.csv",
            status=ImportStatus.INVALID,
            errors=[[2, "police_involved", f"Ongeldige waarde '{NAME}'"]],
            error_count=1,
            summary={"rows": 1},
        )
        created.file.save("upload.csv", ContentFile(DESCRIPTION.encode()))
        ImportJob.objects.filter(pk=created.pk).update(
            created_at=timezone.now() - timedelta(days=age_days)
        )
        return ImportJob.objects.get(pk=created.pk)

    old, recent = job(6 * 366), job(30)
    old_path = old.file.path

    assert services.apply_retention().import_jobs == 1
    old.refresh_from_db()
    assert (old.errors, old.file.name, old.error_count, old.summary) == ([], "", 1, {"rows": 1})
    assert not (tmp_path / old_path).exists()
    recent.refresh_from_db()
    assert recent.errors and recent.file
    assert services.apply_retention().import_jobs == 0


# --- Data-subject requests -------------------------------------------------------------------


@pytest.fixture
def subject(location_a, location_b, registrar_a, registrar_b):
    """Incidents that mention the data subject at A (twice) and at B, and one that doesn't."""
    return {
        "a_description": IncidentFactory(
            location=location_a, registered_by=registrar_a, description=DESCRIPTION, measures=""
        ),
        "a_measures": IncidentFactory(
            location=location_a,
            registered_by=registrar_a,
            description="Ruzie op het plein.",
            measures=MEASURES.upper(),
        ),
        "a_other": IncidentFactory(
            location=location_a, registered_by=registrar_a, description="Niets over hem."
        ),
        "b_description": IncidentFactory(
            location=location_b, registered_by=registrar_b, description=DESCRIPTION
        ),
    }


def _found(response) -> set[int]:
    results = response.context["results"]
    return {incident.pk for incident in results} if results is not None else set()


PRIVACY = "/incidents/privacy/"
EXPORT = "/incidents/privacy/export/"
ERASE = "/incidents/privacy/erase/"


def test_the_search_form_is_a_post_form(coordinator_a):
    response = web(coordinator_a).get(PRIVACY)
    assert response.status_code == 200
    forms = re.findall(r"<form[^>]*>.*?</form>", response.content.decode(), re.S)
    with_term = [form for form in forms if 'name="term"' in form]
    assert len(with_term) == 1 and 'method="post"' in with_term[0]
    # A term in the URL is ignored, not searched.
    response = web(coordinator_a).get(PRIVACY, {"term": NAME})
    assert response.context["results"] is None


def test_search_finds_the_own_institutions_incidents_in_description_and_measures(
    coordinator_a, coordinator_b, subject
):
    found = web(coordinator_a).post(PRIVACY, {"term": "  jan   JANSEN "})
    assert found.status_code == 200
    assert _found(found) == {subject["a_description"].pk, subject["a_measures"].pk}
    assert "Beta" not in found.content.decode()

    other = web(coordinator_b).post(PRIVACY, {"term": NAME})
    assert _found(other) == {subject["b_description"].pk}


@pytest.mark.parametrize("term", ["", " ", "J"])
def test_search_needs_two_characters(coordinator_a, subject, term):
    response = web(coordinator_a).post(PRIVACY, {"term": term})
    assert response.status_code == 400
    assert response.context["results"] is None


def test_export_json_holds_the_incidents_and_their_history_without_staff_names(
    coordinator_a, subject
):
    chosen = [subject["a_description"].pk, subject["a_measures"].pk]
    response = web(coordinator_a).post(EXPORT, {"incident": chosen, "format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Jansen" not in disposition
    assert "no-store" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["count"] == 2
    by_reference = {row["reference"]: row for row in document["incidents"]}
    row = by_reference[subject["a_description"].reference]
    assert row["description"] == DESCRIPTION
    assert row["institution"] == "25LJ"
    assert "history" in row
    assert "registrar_a" not in response.content.decode()


def test_export_csv_escapes_formulas(coordinator_a, location_a):
    incident = IncidentFactory(location=location_a, description=f'=HYPERLINK("x") {NAME}')
    response = web(coordinator_a).post(EXPORT, {"incident": [incident.pk], "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["reference"] == incident.reference
    assert rows[0]["description"].startswith("'=HYPERLINK")


def test_erase_asks_for_confirmation_then_erases_and_audits(coordinator_a, subject, registrar_a):
    # A stored API answer about the incident must lose the texts too.
    IdempotencyRecord.objects.create(
        user=registrar_a,
        key="k",
        fingerprint="f",
        status_code=201,
        body={"id": subject["a_description"].pk, "description": DESCRIPTION, "measures": ""},
    )
    client = web(coordinator_a)
    chosen = [subject["a_description"].pk, subject["a_measures"].pk]

    confirm = client.post(ERASE, {"incident": chosen})
    assert confirm.status_code == 200
    assert b"Definitief wissen" in confirm.content
    assert texts(subject["a_description"]) == (DESCRIPTION, "")

    done = client.post(ERASE, {"incident": chosen, "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == PRIVACY
    assert texts(subject["a_description"]) == ("", "")
    assert texts(subject["a_measures"]) == ("", "")
    assert texts(subject["a_other"])[0] == "Niets over hem."
    event = IncidentEvent.objects.get(incident=subject["a_description"], action=EventAction.ERASED)
    assert (event.actor, event.changes) == (coordinator_a, {"description": ["***", ""]})
    assert IdempotencyRecord.objects.get(key="k").body["description"] == ""
    # Nothing left to find, and erasing again does nothing.
    assert _found(client.post(PRIVACY, {"term": NAME})) == set()
    client.post(ERASE, {"incident": chosen, "confirm": "on"})
    assert IncidentEvent.objects.filter(action=EventAction.ERASED).count() == 2


@pytest.mark.parametrize("url", [EXPORT, ERASE])
@pytest.mark.parametrize("confirm", [False, True])
def test_another_institutions_coordinator_gets_404_and_nothing_changes(
    coordinator_b, subject, url, confirm
):
    data = {"incident": [subject["a_description"].pk], "format": "json"}
    if confirm:
        data["confirm"] = "on"
    response = web(coordinator_b).post(url, data)
    assert response.status_code == 404
    assert NAME not in response.content.decode()
    assert texts(subject["a_description"]) == (DESCRIPTION, "")


def test_a_selection_with_one_foreign_incident_is_refused_whole(coordinator_a, subject):
    chosen = [subject["a_description"].pk, subject["b_description"].pk]
    response = web(coordinator_a).post(ERASE, {"incident": chosen, "confirm": "on"})
    assert response.status_code == 404
    assert texts(subject["a_description"]) == (DESCRIPTION, "")


@pytest.mark.parametrize("data", [{}, {"incident": ["x"]}, {"incident": ["-1"]}])
def test_an_empty_or_malformed_selection_goes_back_to_the_search(coordinator_a, data):
    response = web(coordinator_a).post(ERASE, {**data, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == PRIVACY


@pytest.mark.parametrize("who", ["registrar_a", "researcher"])
def test_only_coordinators_handle_requests(request, subject, who):
    client = web(request.getfixturevalue(who))
    assert client.get(PRIVACY).status_code == 403
    assert client.post(PRIVACY, {"term": NAME}).status_code == 403
    assert client.post(ERASE, {"incident": [subject["a_description"].pk]}).status_code == 403
    assert texts(subject["a_description"]) == (DESCRIPTION, "")


def test_anonymous_users_go_to_the_login_page_without_the_term(subject):
    response = Client().post(PRIVACY, {"term": NAME})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "Jansen" not in response["Location"]


def test_get_on_export_and_erase_is_not_allowed(coordinator_a):
    assert web(coordinator_a).get(EXPORT).status_code == 405
    assert web(coordinator_a).get(ERASE).status_code == 405


def test_a_whole_request_puts_no_personal_data_in_logs_or_urls(caplog, coordinator_a, subject):
    caplog.set_level(logging.DEBUG)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
    client = web(coordinator_a)
    chosen = [subject["a_description"].pk]
    responses = [
        client.get(PRIVACY),
        client.post(PRIVACY, {"term": NAME}),
        client.post(PRIVACY, {"term": "x"}),  # an invalid search is not logged either
        client.post(EXPORT, {"incident": chosen, "format": "csv"}),
        client.post(ERASE, {"incident": chosen}),
        client.post(ERASE, {"incident": chosen, "confirm": "on"}),
        web(None).post(PRIVACY, {"term": NAME}),
    ]
    services.apply_retention()  # logs its counts

    assert caplog.records, "nothing was logged at all: the capture is not working"
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    locations = " ".join(r.get("Location", "") for r in responses)
    for secret in (*SECRETS, "Jansen"):
        assert secret not in logged
        assert secret not in locations
    # Every link and form target on the pages is free of the term too.
    for response in responses:
        if response.get("Content-Type", "").startswith("text/html"):
            for url in re.findall(
                r'(?:href|action|formaction)="([^"]*)"', response.content.decode()
            ):
                assert "Jansen" not in url


# --- A failing listener never breaks a committed registration ---------------------------------


@pytest.fixture
def broken_listener():
    def listener(sender, **kwargs):
        raise ConnectionError("broker unreachable")

    incidents_changed.connect(listener, dispatch_uid="test-broken-listener")
    yield
    incidents_changed.disconnect(dispatch_uid="test-broken-listener")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failing_listener_after_commit_is_logged_and_the_registration_stands(
    caplog, broken_listener, registrar_a, location_a
):
    api = APIClient()
    api.force_authenticate(registrar_a)
    with caplog.at_level(logging.ERROR, logger="incidents.services"):
        response = api.post(
            "/api/v1/incidents/",
            {
                "location": location_a.pk,
                "incident_type": "MIS.FYS.06",
                "occurred_on": "2023-03-14",
                "victim_role": "student",
                "description": DESCRIPTION,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert Incident.objects.filter(pk=response.json()["id"]).exists()
    failures = [r for r in caplog.records if r.name == "incidents.services"]
    assert len(failures) == 1
    assert "2022-2023" in failures[0].getMessage()
    assert NAME not in failures[0].getMessage()

    form = web(registrar_a).post(
        "/incidents/register/",
        {
            "incident_type": "MIS.FYS.06",
            "location": location_a.pk,
            "occurred_on": "2023-03-14",
            "victim_role": "student",
            "perpetrator_role": "unknown",
            "injury": "none",
            "submission_token": "t" * 32,
        },
    )
    assert form.status_code == 302
    assert Incident.objects.count() == 2


def test_the_privacy_pages_satisfy_the_content_security_policy(coordinator_a, subject):
    from tests.miv.test_security import _InlineCode

    client = web(coordinator_a)
    pages = [
        client.get(PRIVACY),
        client.post(PRIVACY, {"term": NAME}),
        client.post(ERASE, {"incident": [subject["a_description"].pk]}),
    ]
    for page in pages:
        assert page.status_code == 200
        parser = _InlineCode()
        parser.feed(page.content.decode())
        assert parser.violations == []
