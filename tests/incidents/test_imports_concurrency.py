"""Imports next to other work on PostgreSQL: a long import transaction does not make
registrations at the same institution wait, and two imports of one file at once (a double
confirmation) import its rows without a number only once."""

import threading
from datetime import date

import pytest
from django.db import connection, connections

from incidents.importers import import_incidents
from incidents.models import Incident
from incidents.services import register_incident
from taxonomy.models import IncidentType
from tests.import_helpers import write_csv

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (threads)"),
]


def _thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def _file(tmp_path, rows):
    data = [["location", "occurred_on", "incident_type", "victim_role", "description"]]
    data += [
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", f"melding {n % 7}"] for n in range(rows)
    ]
    return write_csv(tmp_path / "many.csv", data)


def test_registration_does_not_wait_for_an_import(tmp_path, institution_a, location_a, registrar_a):
    path = _file(tmp_path, 5000)
    inside, release = threading.Event(), threading.Event()
    results, errors = [], []

    def progress(fraction):
        # Called from inside the import transaction, after the first batches were written.
        if not inside.is_set():
            inside.set()
            release.wait(30)

    importer = _thread(
        lambda: results.append(import_incidents(path, institution_a, progress=progress)), errors
    )
    importer.start()
    assert inside.wait(30)

    def register():
        register_incident(
            actor=registrar_a,
            incident=Incident(
                location=location_a,
                incident_type=IncidentType.objects.get(code="MIS.BED.01"),
                occurred_on=date(2023, 5, 1),
                victim_role="staff",
            ),
        )

    registration = _thread(register, errors)
    registration.start()
    registration.join(10)
    finished_during_import = not registration.is_alive()
    release.set()
    importer.join(60)
    registration.join(30)

    assert errors == []
    assert finished_during_import
    assert results[0].committed and results[0].created == 5000
    assert Incident.objects.count() == 5001


def test_two_imports_at_once_import_once(tmp_path, institution_a, location_a):
    path = _file(tmp_path, 1500)
    results, errors = [], []
    threads = [
        _thread(lambda: results.append(import_incidents(path, institution_a)), errors)
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted((r.created, r.unchanged) for r in results) == [(0, 1500), (1500, 0)]
    assert Incident.objects.count() == 1500
