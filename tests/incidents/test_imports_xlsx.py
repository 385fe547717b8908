"""Imports accept Excel workbooks (XLSX) as well as CSV (issue 14): read in streaming mode,
with the same checks, line-numbered errors and all-or-nothing behaviour, for incidents, DUO
student counts and survey scores."""

import io
from datetime import date, datetime, time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from incidents.choices import ImportStatus
from incidents.importers import import_incidents
from incidents.models import ImportJob, Incident
from reporting.importers import import_enrolments, import_safety_scores
from reporting.models import SafetyScore, StudentCount

pytestmark = pytest.mark.django_db


def workbook(*sheets: list[list]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for n, rows in enumerate(sheets):
        sheet = book.create_sheet(f"Blad{n + 1}")
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write(tmp_path, content: bytes, name="file.xlsx"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_an_incident_workbook_with_excel_cells_imports(tmp_path, institution_a, location_a):
    content = workbook(
        [
            [None],  # a blank first row: the header is the first non-empty row
            ["Vestiging", "Datum", "incident_type", "victim_role", "Tijd", "Nummer", "Politie"],
            ["A-HQ", datetime(2023, 3, 14, 10, 15), "MIS.FYS.06", "student", None, 1001, True],  # noqa: DTZ001 - Excel has no time zones
            ["Alfa Hoofdgebouw", date(2022, 11, 2), "bang maken", "Medewerker", time(8, 5), 1002],
        ],
        [["ignored"], ["sheet"]],
    )
    report = import_incidents(write(tmp_path, content), institution_a)
    assert report.ok, list(report.errors)
    assert (report.rows, report.created) == (2, 2)
    assert any("werkblad 'Blad1'" in note and "1 andere" in note for note in report.notes)
    first, second = Incident.objects.order_by("external_id")
    assert (first.occurred_on, first.occurred_at, first.external_id) == (
        date(2023, 3, 14),
        time(10, 15),
        "1001",
    )
    assert first.police_involved is True
    assert (second.occurred_at, second.victim_role, second.incident_type.code) == (
        time(8, 5),
        "staff",
        "MIS.BED.01",
    )


def test_bad_rows_of_a_workbook_are_reported_by_row_and_nothing_is_imported(
    tmp_path, institution_a, location_a
):
    content = workbook(
        [
            ["location", "occurred_on", "incident_type", "victim_role", "description"],
            ["A-HQ", date(2023, 3, 14), "MIS.FYS.06", "student", "goed"],
            ["NERGENS", date(2023, 3, 14), "MIS.FYS.06", "student", ""],
            ["A-HQ", "31-02-2023", "MIS.FYS.06", "alien", "tekst"],
            ["A-HQ", date(2023, 3, 14), "MIS.FYS.06", "student", "", "extra"],
        ]
    )
    report = import_incidents(write(tmp_path, content), institution_a)
    found = [(e.line, e.column) for e in report.errors]
    assert found == [(3, "location"), (4, "occurred_on"), (4, "victim_role"), (5, "")]
    assert not report.committed and Incident.objects.count() == 0


def test_student_counts_and_scores_from_workbooks(tmp_path, institution_a):
    counts = workbook(
        [
            ["institution", "school_year", "students"],
            ["25LJ", "2022-2023", 12345],
            ["25lj", "2021-2022", 12000],
        ]
    )
    report = import_enrolments(write(tmp_path, counts, "duo.xlsx"))
    assert report.ok, list(report.errors)
    assert dict(StudentCount.objects.values_list("school_year", "students")) == {
        "2022-2023": 12345,
        "2021-2022": 12000,
    }
    scores = workbook(
        [
            ["institution", "source", "survey_year", "value", "respondents"],
            ["25LJ", "job", 2022, 81.5, 400],
            ["25LJ", "mo", 2022, 7.25, None],
        ]
    )
    report = import_safety_scores(write(tmp_path, scores, "scores.xlsx"))
    assert report.ok, list(report.errors)
    assert sorted(SafetyScore.objects.values_list("source", "value")) == [
        ("job", pytest.approx(81.5)),
        ("mo", pytest.approx(7.25)),
    ]
    bad = workbook(
        [
            ["institution", "source", "survey_year", "value"],
            ["25LJ", "job", 2023, 101],
        ]
    )
    report = import_safety_scores(write(tmp_path, bad, "bad.xlsx"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "value")]
    assert SafetyScore.objects.count() == 2


def test_a_workbook_uploaded_on_the_import_page_is_checked_and_imported(
    settings, tmp_path, institution_a, location_a, coordinator_a, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(coordinator_a)
    content = workbook(
        [
            ["location", "occurred_on", "incident_type", "victim_role"],
            ["A-HQ", date(2023, 3, 14), "MIS.FYS.06", "student"],
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("incidents:import-new"),
            {
                "kind": "incidents",
                "institution": institution_a.pk,
                "file": SimpleUploadedFile("register.xlsx", content),
            },
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.file.name.endswith(".xlsx")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("incidents:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Incident.objects.count() == 1


def test_a_zip_bomb_is_refused_before_reading(tmp_path, settings, institution_a):
    settings.MIV_IMPORT_MAX_BYTES = 64 * 1024
    rows = [["location", "occurred_on", "incident_type", "victim_role", "description"]]
    rows += [["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "x" * 2000]] * 1000
    content = workbook(rows)  # compresses to far below the limit, unpacks to megabytes
    assert len(content) < 64 * 1024
    report = import_incidents(write(tmp_path, content), institution_a)
    assert [e.message for e in report.errors] == [
        "Het bestand is groter dan 0 MB. Splits het in kleinere bestanden (bijvoorbeeld "
        "per schooljaar)."
    ]
