"""A coordinator's and a researcher's journey through a client generated from MIV's schema
(issue 17). Run by ``test_generated_client.py`` with the Python of the generator's own
virtualenv, where the generated package ``miv_api_client`` is installed; it imports nothing
of MIV itself, as an integrator's script would not.

Every call goes through the generated functions with ``raise_on_unexpected_status``: a
status the schema does not declare raises ``UnexpectedStatus``, a body that does not parse
raises too. Each step prints one JSON line (``step``, ``status``, ``code``); the script
exits non-zero at the first surprise.

    python client_journey.py BASE_URL '{"coordinator_token": ..., "researcher_token": ...,
        "location": 1, "school_year": "2022-2023", "label": "run-1"}'
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date

from miv_api_client import AuthenticatedClient
from miv_api_client.api.incidents import (
    incidents_close_create,
    incidents_create,
    incidents_list,
    incidents_partial_update,
    incidents_retrieve,
)
from miv_api_client.api.research import research_rates_csv, research_rates_list
from miv_api_client.models import (
    CloseRequest,
    IncidentRequest,
    IncidentStatusEnum,
    InjuryEnum,
    PatchedIncidentRequest,
    PerpetratorRoleEnum,
    Problem,
    ResearchRate,
    ResearchRatesCsvVictimRole,
    ResearchRatesListVictimRole,
    VictimRoleEnum,
)


def report(step: str, response, **extra) -> None:
    code = response.parsed.code if isinstance(response.parsed, Problem) else None
    line = {"step": step, "status": int(response.status_code), "code": code, **extra}
    print(json.dumps(line), flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def problem(response, status: int, code: str) -> Problem:
    body = response.parsed
    expect(int(response.status_code) == status, f"expected {status}, got {response.status_code}")
    expect(isinstance(body, Problem), f"a {status} is a Problem, got {type(body).__name__}")
    expect(body.code == code, f"expected code {code!r}, got {body.code!r}: {body.detail}")
    expect(bool(body.detail), "a problem has a detail")
    return body


def coordinator_journey(base_url: str, token: str, location: int, label: str) -> None:
    client = AuthenticatedClient(
        base_url=base_url, token=token, prefix="Token", raise_on_unexpected_status=True
    )
    registration = IncidentRequest(
        location=location,
        incident_type="MIS.FYS.06",
        occurred_on=date(2024, 3, 14),
        occurred_at="10:15",
        victim_role=VictimRoleEnum.STUDENT,
        description="Journey of a generated client.",
        external_id=f"CLIENT-{label}",
    )
    key = f"journey-{label}"

    # Register with an Idempotency-Key; omitted fields that feed the figures are unknown.
    created = incidents_create.sync_detailed(client=client, body=registration, idempotency_key=key)
    report("register", created)
    incident = created.parsed
    expect(int(created.status_code) == 201, "registered")
    expect(incident.injury == InjuryEnum.UNKNOWN, "omitted injury is unknown")
    expect(incident.perpetrator_role == PerpetratorRoleEnum.UNKNOWN, "perpetrator unknown")
    expect(incident.occurred_at == "10:15:00", f"time kept: {incident.occurred_at!r}")

    # The same request again (a retry after a lost answer): the first answer, nothing new.
    again = incidents_create.sync_detailed(client=client, body=registration, idempotency_key=key)
    report("register again", again, replayed=again.headers.get("Idempotent-Replayed"))
    expect(int(again.status_code) == 201 and again.parsed.id == incident.id, "replayed")
    expect(again.headers.get("Idempotent-Replayed") == "true", "marked as replayed")

    # Patch a field to null: the time is cleared (JSON null, not the string "None").
    patched = incidents_partial_update.sync_detailed(
        id=incident.id, client=client, body=PatchedIncidentRequest(occurred_at=None)
    )
    report("patch occurred_at to null", patched)
    expect(int(patched.status_code) == 200 and patched.parsed.occurred_at is None, "cleared")
    # Only what was sent changes (no defaults sent along by the client).
    expect(patched.parsed.description == registration.description, "description kept")
    expect(patched.parsed.external_id == registration.external_id, "external id kept")

    # 404: an incident that does not exist (or is not visible).
    missing = incidents_retrieve.sync_detailed(id=2_000_000_000, client=client)
    report("404", missing)
    problem(missing, 404, "not_found")

    # 409: the same external id again, under another key: the existing incident is named.
    duplicate = incidents_create.sync_detailed(
        client=client, body=registration, idempotency_key=f"{key}-other"
    )
    report("409 duplicate external id", duplicate)
    body = problem(duplicate, 409, "duplicate_external_id")
    expect(body.existing.id == incident.id, "the existing incident's id")
    expect(body.existing.reference == incident.reference, "the existing incident's reference")

    # 400: a date in the future, with the field named in `errors`.
    future = IncidentRequest(
        location=location,
        incident_type="MIS.FYS.06",
        occurred_on=date(2999, 1, 1),  # in the future
        victim_role=VictimRoleEnum.STAFF,
    )
    invalid = incidents_create.sync_detailed(client=client, body=future)
    report("400 invalid field", invalid)
    body = problem(invalid, 400, "invalid")
    expect([error.field for error in body.errors] == ["occurred_on"], "the field is named")

    # 400: an ordering the list does not offer (not silently ignored).
    ordering = incidents_list.sync_detailed(client=client, ordering="description")
    report("400 unknown ordering", ordering)
    body = problem(ordering, 400, "invalid")
    expect(body.errors[0].field == "ordering", "ordering named")

    # The list says the page size it used.
    listed = incidents_list.sync_detailed(client=client, ordering="-occurred_on", page_size=1000)
    report("list", listed, page_size=listed.parsed.page_size)
    expect(listed.parsed.page_size == listed.parsed.max_page_size == 500, "capped at 500")
    expect(incident.id in [row.id for row in listed.parsed.results], "listed")

    # Close with a note for the registrar, and closing again is a 409 with its code.
    note = CloseRequest(reporter_note="Besproken met de student.")
    closed = incidents_close_create.sync_detailed(id=incident.id, client=client, body=note)
    report("close", closed)
    expect(closed.parsed.status == IncidentStatusEnum.CLOSED, "closed")
    expect(closed.parsed.reporter_note == "Besproken met de student.", "the note is kept")
    closed_again = incidents_close_create.sync_detailed(id=incident.id, client=client)
    report("409 close again", closed_again)
    problem(closed_again, 409, "invalid_status")


def researcher_journey(base_url: str, token: str, school_year: str) -> None:
    client = AuthenticatedClient(
        base_url=base_url, token=token, prefix="Token", raise_on_unexpected_status=True
    )
    rates = research_rates_list.sync_detailed(
        client=client,
        school_year=school_year,
        group="total",
        victim_role=ResearchRatesListVictimRole.ALL,
    )
    report("research rates (JSON)", rates, rows=len(rates.parsed))
    expect(int(rates.status_code) == 200 and rates.parsed, "rows")
    expect(all(isinstance(row, ResearchRate) for row in rates.parsed), "typed rows")

    as_csv = research_rates_csv.sync_detailed(
        client=client,
        school_year=school_year,
        group="total",
        victim_role=ResearchRatesCsvVictimRole.ALL,
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.parsed)))
    report("research rates (CSV)", as_csv, rows=len(rows))
    expect(int(as_csv.status_code) == 200, "CSV answered")
    expect(as_csv.headers["content-type"].startswith("text/csv"), "text/csv")
    expect(
        [row["institution"] for row in rows] == [row.institution for row in rates.parsed],
        "the CSV holds the JSON's rows",
    )

    none = research_rates_list.sync_detailed(client=client, school_year="2010-2011")
    report("404 no figures", none)
    body = problem(none, 404, "no_figures")
    expect(school_year in body.school_years, "the years with figures are listed")

    bad = research_rates_csv.sync_detailed(client=client, group="MIS.FYS")
    report("400 research parameter", bad)
    expect(problem(bad, 400, "invalid_parameter").parameter == "group", "parameter named")


def main() -> None:
    base_url, raw = sys.argv[1], sys.argv[2]
    actors = json.loads(raw)
    coordinator_journey(base_url, actors["coordinator_token"], actors["location"], actors["label"])
    researcher_journey(base_url, actors["researcher_token"], actors["school_year"])
    print(json.dumps({"step": "done"}), flush=True)


if __name__ == "__main__":
    main()
