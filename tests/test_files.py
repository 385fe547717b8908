"""Every file MIV writes, read as a researcher's script would (plain ``csv`` and
``openpyxl``) by the machine names ``docs/files.md`` documents, in both interface
languages (issue 17)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, time
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from incidents.choices import Status
from incidents.exporters import write_incidents_csv
from incidents.models import Incident
from tests.factories import IncidentFactory
from tests.reporting.world import YEAR, build_world

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[1] / "docs" / "files.md"
LANGUAGES = ["nl", "en"]


def documented() -> dict[str, list[str]]:
    """``### `name` `` sections of docs/files.md -> the machine names of their table."""
    files: dict[str, list[str]] = {}
    current = None
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `([a-z_]+)`", line)
        if heading:
            current = files.setdefault(heading[1], [])
            continue
        if line.startswith("## "):
            current = None
        cell = re.match(r"^\| `([a-z_0-9]+)` \|", line)
        if cell and current is not None:
            current.append(cell[1])
    return files


DOC = documented()


def test_the_documentation_lists_every_file():
    assert set(DOC) == {
        "standard",
        "incidents",
        "delivery",
        "rates",
        "trend",
        "policy",
        "codebook",
        "research",
    }
    assert all(DOC.values())


@pytest.fixture(autouse=True)
def _language_restored():
    """A request in English leaves English active in this thread: restore the default."""
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def world(institution_a, institution_b, location_a, location_b):
    world = build_world(institution_a, institution_b, location_a, location_b)
    IncidentFactory(location=location_a, description="=teruggetrokken", status=Status.WITHDRAWN)
    return world


def web(user, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def csv_header(content: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def sheet_rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_standard_file(world, institution_a, language):
    from django.utils import translation

    buffer = io.StringIO(newline="")
    with translation.override(language):
        write_incidents_csv(Incident.objects.filter(institution=institution_a), buffer)
    content = buffer.getvalue().encode()
    assert csv_header(content) == DOC["standard"]
    rows = csv_rows(content)
    assert {r["victim_role"] for r in rows} <= {"student", "staff", "visitor", "none", "unknown"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["occurred_on"]) for r in rows)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_incident_list_in_csv_and_xlsx(world, coordinator_a, language):
    client = web(coordinator_a, language)
    content = body(client.get("/incidents/export.csv"))
    assert csv_header(content) == DOC["incidents"]
    rows = csv_rows(content)
    counted = Incident.objects.filter(institution=coordinator_a.memberships.get().institution)
    assert len(rows) == counted.exclude(status=Status.WITHDRAWN).count()
    assert {r["status"] for r in rows} <= {"open", "closed"}  # withdrawn only when asked
    assert all(re.fullmatch(r"MIV-\d{6}", r["reference"]) for r in rows)
    withdrawn = csv_rows(body(client.get("/incidents/export.csv", {"status": "withdrawn"})))
    assert withdrawn and {r["status"] for r in withdrawn} == {"withdrawn"}
    assert "'=teruggetrokken" in {r["description"] for r in withdrawn}

    workbook = openpyxl.load_workbook(io.BytesIO(body(client.get("/incidents/export.xlsx"))))
    assert workbook.sheetnames == ["incidents", "codebook"]
    sheet = sheet_rows(workbook["incidents"])
    assert list(sheet[0]) == DOC["incidents"]
    assert len(sheet) == len(rows)
    # Real dates and times, not text.
    assert all(isinstance(r["occurred_on"], datetime) for r in sheet)
    assert all(r["occurred_at"] is None or isinstance(r["occurred_at"], time) for r in sheet)
    codebook = sheet_rows(workbook["codebook"])
    assert list(codebook[0]) == ["sheet", "column", "label", "description"]
    assert [r["column"] for r in codebook] == DOC["incidents"]
    label = next(r["label"] for r in codebook if r["column"] == "occurred_on")
    assert label == {"nl": "Datum", "en": "Date"}[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_yearly_figures_in_xlsx_zip_and_single_csv(world, coordinator_a, language):
    client = web(coordinator_a, language)
    download = "/figures/export/download/"
    params = {"institution": "25LJ", "school_year": YEAR}
    tables = ["delivery", "rates", "trend", "policy"]

    workbook = openpyxl.load_workbook(
        io.BytesIO(body(client.get(download, {**params, "format": "xlsx"})))
    )
    assert workbook.sheetnames == [*tables, "codebook"]
    for name in [*tables, "codebook"]:
        header = next(workbook[name].iter_rows(values_only=True))
        assert list(header) == DOC[name], name
    rates = sheet_rows(workbook["rates"])
    total = next(r for r in rates if (r["group_code"], r["victim_role_code"]) == ("total", "all"))
    assert total["count"] > 0 and total["rate"] > 0
    codebook = sheet_rows(workbook["codebook"])
    assert [(r["sheet"], r["column"]) for r in codebook] == [
        (table, column) for table in tables for column in DOC[table]
    ]

    with zipfile.ZipFile(io.BytesIO(body(client.get(download, {**params, "format": "csv"})))) as z:
        names = sorted(z.namelist())
        assert names == sorted(f"miv-25LJ-{YEAR}-{t}.csv" for t in [*tables, "codebook"])
        for table in [*tables, "codebook"]:
            assert csv_header(z.read(f"miv-25LJ-{YEAR}-{table}.csv")) == DOC[table]
        zipped_rates = csv_rows(z.read(f"miv-25LJ-{YEAR}-rates.csv"))
    assert float(zipped_rates[0]["rate"]) == pytest.approx(rates[0]["rate"])

    for table in tables:
        single = body(client.get(download, {**params, "table": table}))
        assert csv_header(single) == DOC[table]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_research_csv(world, researcher, language):
    cache.clear()  # throttle buckets
    _instance, token = AuthToken.objects.create(user=researcher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(
        "/api/v1/research/rates/",
        {"school_year": YEAR, "group": "total", "victim_role": "all", "format": "csv"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    assert csv_header(response.content) == DOC["research"]
    rows = csv_rows(response.content)
    assert rows and {r["group"] for r in rows} == {"total"}
