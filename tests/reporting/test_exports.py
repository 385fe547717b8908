"""Exports for coordinators (issue 6): the yearly figures (delivery table, rates next to
the sector, trend) as XLSX and CSV, from the web and the command line; and the incident
list as the standard CSV and XLSX with exactly the list's filters and formula escaping."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client
from django.utils import translation

from incidents.choices import Status
from incidents.columns import LIST, LIST_COLUMNS
from incidents.exporters import write_incidents_csv
from incidents.models import Incident
from reporting import export_files, exports
from reporting.models import InstitutionRate, SectorRate
from tests.factories import IncidentFactory, LocationFactory

from .world import PREVIOUS, YEAR

pytestmark = pytest.mark.django_db


def session(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def read_zip(content: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            for name in archive.namelist()
        }


# --- The delivery table ------------------------------------------------------------------------


def test_the_delivery_table_sums_to_the_counted_incidents_of_the_year(world, institution_a):
    second = LocationFactory(institution=institution_a, code="A-2", name="Alfa Bijgebouw")
    IncidentFactory(location=second, occurred_on=date(2022, 11, 1), victim_role="staff")
    table = exports.delivery_table(institution_a, YEAR)
    # Computed independently: every incident of the institution, in Python.
    expected = sum(
        1
        for incident in Incident.objects.filter(institution=institution_a)
        if incident.school_year == YEAR and incident.status != Status.WITHDRAWN
    )
    count_column = [c.key for c in table.columns].index("count")
    assert sum(row[count_column] for row in table.rows) == expected > 0
    # Each row is one type × location × victim role, and says so.
    keys = [(r[5], r[7], r[9]) for r in table.rows]
    assert len(keys) == len(set(keys))
    assert ("MIS.FYS.06", "A-HQ", "student") in keys
    assert any(r[7] == "A-2" for r in table.rows)
    row = next(r for r in table.rows if (r[5], r[7], r[9]) == ("MIS.FYS.06", "A-HQ", "student"))
    assert row[1:5] == ["MIS", "Misdraging", "MIS.FYS", "Fysieke agressie"]
    assert (
        row[count_column]
        == Incident.objects.counted()
        .filter(
            institution=institution_a,
            school_year=YEAR,
            incident_type__code="MIS.FYS.06",
            location__code="A-HQ",
            victim_role="student",
        )
        .count()
    )


def test_the_delivery_table_is_one_aggregate_query(
    world, institution_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        exports.delivery_table(institution_a, YEAR)


def test_types_without_subcategory_have_empty_subcategory_cells(world, institution_a):
    table = exports.delivery_table(institution_a, YEAR)
    fire = next(r for r in table.rows if r[5] == "BRA.01")
    assert (fire[1], fire[3], fire[4]) == ("BRA", "", "")


# --- Rates and trend ---------------------------------------------------------------------------


def test_the_rates_table_holds_the_institution_next_to_the_sector(world, institution_a):
    table = exports.rates_table(None, institution_a, YEAR)
    keys = [c.key for c in table.columns]
    rows = {
        (row["group_code"], row["victim_role_code"]): row
        for row in (dict(zip(keys, r, strict=True)) for r in table.rows)
    }
    assert set(g for g, _ in rows) == {
        "total",
        "misdragingen",
        "ongevallen",
        "MIS",
        "ONG",
        "BRA",
        "MIL",
    }
    assert {role for _, role in rows} == {"all", "student", "staff"}
    stored = InstitutionRate.objects.get(
        figure_set__status="current",
        figure_set__school_year=YEAR,
        institution=institution_a,
        group="ongevallen",
        victim_role="all",
    )
    sector = SectorRate.objects.get(
        figure_set__status="current", school_year=YEAR, group="ongevallen", victim_role="all"
    )
    row = rows[("ongevallen", "all")]
    assert (row["count"], row["students"]) == (stored.count, 12000)
    assert row["rate"] == round(stored.rate, 4)
    assert (row["ci_low"], row["ci_high"]) == (round(stored.ci_low, 4), round(stored.ci_high, 4))
    assert row["sector_mean"] == round(sector.mean_rate, 4)
    assert row["sector_ci_low"] == round(sector.mean_ci_low, 4)
    assert row["sector_k"] == 8


def test_the_trend_has_the_earlier_years(world, institution_a):
    table = exports.trend_table(None, institution_a, YEAR)
    assert {r[0] for r in table.rows} == {PREVIOUS}
    assert len(table.rows) == 7 * 3
    assert exports.trend_table(None, institution_a, PREVIOUS).rows == []


# --- Files: XLSX and CSV hold the same numbers ---------------------------------------------------


def test_xlsx_opens_and_holds_the_same_numbers_as_the_csv(world, institution_a):
    tables = exports.yearly_tables(institution_a, YEAR)
    xlsx = io.BytesIO()
    export_files.write_xlsx(tables, xlsx)
    archive = io.BytesIO()
    export_files.write_zip(tables, archive, "miv-25LJ-2022-2023")
    csvs = read_zip(archive.getvalue())
    # Issue 17: machine names for sheets and files, and a codebook beside the tables.
    assert sorted(csvs) == [
        "miv-25LJ-2022-2023-codebook.csv",
        "miv-25LJ-2022-2023-delivery.csv",
        "miv-25LJ-2022-2023-policy.csv",
        "miv-25LJ-2022-2023-rates.csv",
        "miv-25LJ-2022-2023-trend.csv",
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.getvalue()))
    # The questionnaire adds its sheet (issue 15): empty, the institution did not answer.
    assert workbook.sheetnames == ["delivery", "rates", "trend", "policy", "codebook"]
    for sheet, key in zip(workbook.worksheets[:3], ("delivery", "rates", "trend"), strict=True):
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
        lines = csvs[f"miv-25LJ-2022-2023-{key}.csv"]
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert len(values) == len(lines) > 1
        assert values[0] == lines[0]
        for cells, line in zip(values[1:], lines[1:], strict=True):
            for cell, text in zip(cells, line, strict=True):
                if cell is None:
                    assert text == ""
                elif isinstance(cell, int | float):
                    assert float(text) == pytest.approx(cell, abs=0)
                else:
                    assert cell == text


def test_column_names_follow_the_language(world, institution_a):
    with translation.override("nl"):
        dutch = exports.yearly_tables(institution_a, YEAR, tables=["delivery"])[0]
    with translation.override("en"):
        english = exports.yearly_tables(institution_a, YEAR, tables=["delivery"])[0]
    assert dutch.header()[:3] == ["Schooljaar", "Categorie (code)", "Categorie"]
    assert english.header()[:3] == ["School year", "Category (code)", "Category"]
    assert english.title == "Delivery"
    fire = next(r for r in english.rows if r[5] == "BRA.01")
    assert fire[2] == "Fire/explosion"


def test_text_cells_are_escaped_in_both_formats(world, institution_a):
    location = LocationFactory(institution=institution_a, code="EQ", name="=HYPERLINK(1)")
    IncidentFactory(location=location, occurred_on=date(2023, 1, 10))
    tables = exports.yearly_tables(institution_a, YEAR, tables=["delivery"])
    text = export_files.csv_bytes(tables[0]).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    xlsx = io.BytesIO()
    export_files.write_xlsx(tables, xlsx)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.getvalue())).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "'=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


# --- The command ---------------------------------------------------------------------------------


def test_command_writes_xlsx_zip_and_single_tables(world, tmp_path):
    out = io.StringIO()
    xlsx = tmp_path / "f.xlsx"
    call_command(
        "export_figures",
        "--institution",
        "25lj",
        "--school-year",
        YEAR,
        "--format",
        "xlsx",
        "--output",
        str(xlsx),
        stdout=out,
    )
    assert openpyxl.load_workbook(xlsx).sheetnames == [
        "delivery",
        "rates",
        "trend",
        "policy",
        "codebook",
    ]
    assert "25LJ 2022-2023" in out.getvalue()
    archive = tmp_path / "f.zip"
    call_command(
        "export_figures",
        "--institution=25LJ",
        f"--school-year={YEAR}",
        "--format=csv",
        f"--output={archive}",
        stdout=io.StringIO(),
    )
    assert len(read_zip(archive.read_bytes())) == 5  # 4 tables + codebook
    single = tmp_path / "rates.csv"
    call_command(
        "export_figures",
        "--institution=25LJ",
        f"--school-year={YEAR}",
        "--format=csv",
        "--table=rates",
        "--language=en",
        f"--output={single}",
        stdout=io.StringIO(),
    )
    header = single.read_text(encoding="utf-8-sig").splitlines()[0]
    # Issue 17: machine names.
    assert header.startswith("school_year,period,through,group_code,group")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--institution=99ZZ", f"--school-year={YEAR}"], "99ZZ"),
        (["--institution=25LJ", "--school-year=2010-2011"], "2010-2011"),
        (["--institution=25LJ", "--school-year=2022/2023"], "2022/2023"),
    ],
)
def test_command_errors_are_clear(world, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "export_figures",
            *args,
            "--format=xlsx",
            f"--output={tmp_path / 'x.xlsx'}",
            stdout=io.StringIO(),
        )
    assert not (tmp_path / "x.xlsx").exists()


def test_command_refuses_a_table_for_xlsx_and_a_missing_directory(world, tmp_path):
    with pytest.raises(CommandError, match="--table"):
        call_command(
            "export_figures",
            "--institution=25LJ",
            f"--school-year={YEAR}",
            "--format=xlsx",
            "--table=rates",
            f"--output={tmp_path / 'x.xlsx'}",
        )
    with pytest.raises(CommandError, match="directory"):
        call_command(
            "export_figures",
            "--institution=25LJ",
            f"--school-year={YEAR}",
            "--format=xlsx",
            f"--output={tmp_path / 'nope' / 'x.xlsx'}",
        )


# --- The web download ----------------------------------------------------------------------------

DOWNLOAD = "/figures/export/download/"


def test_coordinator_downloads_the_own_institution(world, coordinator_a):
    client = session(coordinator_a)
    page = client.get("/figures/export/")
    assert page.status_code == 200
    assert b"25LJ" in page.content and b"30RR" not in page.content
    response = client.get(DOWNLOAD, {"institution": "25LJ", "school_year": YEAR, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == export_files.XLSX_CONTENT_TYPE
    assert 'filename="miv-25LJ-2022-2023.xlsx"' in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert len(workbook.sheetnames) == 5  # + policy (issue 15) + codebook (issue 17)
    response = client.get(DOWNLOAD, {"institution": "25LJ", "school_year": YEAR, "format": "csv"})
    assert response["Content-Type"] == "application/zip"
    assert len(read_zip(b"".join(response.streaming_content))) == 5
    response = client.get(DOWNLOAD, {"institution": "25LJ", "school_year": YEAR, "table": "trend"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode("utf-8-sig").startswith("school_year,")  # issue 17


def test_other_institutions_and_other_roles_cannot_download(
    world, coordinator_a, registrar_a, researcher, administrator
):
    params = {"institution": "30RR", "school_year": YEAR, "format": "xlsx"}
    assert session(coordinator_a).get(DOWNLOAD, params).status_code == 403
    assert session(registrar_a).get(DOWNLOAD, params).status_code == 403
    assert session(researcher).get(DOWNLOAD, params).status_code == 403
    assert session(None).get(DOWNLOAD, params).status_code == 302
    assert session(administrator).get(DOWNLOAD, params).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"institution": "25LJ", "school_year": "2010-2011"},
        {"institution": "25LJ", "school_year": "nope"},
        {"institution": "25LJ", "school_year": YEAR, "format": "pdf"},
        {"institution": "25LJ", "school_year": YEAR, "format": "xlsx", "table": "rates"},
        {"institution": "25LJ", "school_year": YEAR, "table": "everything"},
        {"institution": "99ZZ", "school_year": YEAR},
        {"school_year": YEAR},
    ],
)
def test_bad_download_parameters_are_400_with_a_message(world, administrator, params):
    response = session(administrator).get(DOWNLOAD, params)
    assert response.status_code == 400
    assert b"error-summary" in response.content


# --- The incident list export -------------------------------------------------------------------


@pytest.fixture
def listed(location_a, location_b, registrar_a):
    """Incidents of A with cells a spreadsheet would run, and one of B."""
    other = LocationFactory(institution=location_a.institution, code="A-2", name="Bijgebouw")
    IncidentFactory(
        location=location_a,
        occurred_on=date(2023, 2, 1),
        victim_role="student",
        description='=HYPERLINK("http://x")',
        measures="+31 belde",
        external_id="@ext",
        registered_by=registrar_a,
    )
    IncidentFactory(location=location_a, occurred_on=date(2022, 3, 1), victim_role="staff")
    IncidentFactory(location=other, occurred_on=date(2023, 5, 1), victim_role="staff")
    IncidentFactory(
        location=location_a,
        occurred_on=date(2023, 4, 1),
        victim_role="student",
        description="\x01=1+1 met een stuurteken",
    )
    IncidentFactory(location=location_b, occurred_on=date(2023, 2, 1))
    return other


def _csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _list_count(client, params) -> int:
    return client.get("/incidents/", params).context["page"].paginator.count


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"school_year": YEAR},
        {"victim_role": "staff"},
        {"school_year": YEAR, "victim_role": "student"},
        {"occurred_after": "2023-03-01"},
        {"category": "MIS", "page": "1"},
    ],
)
def test_the_list_export_honours_exactly_the_list_filters(listed, coordinator_a, params):
    client = session(coordinator_a)
    rows = _csv_rows(client.get("/incidents/export.csv", params))
    assert len(rows) == _list_count(client, params)
    expected = (
        client.get("/incidents/", {**params, "page": 1})
        .context["filterset"]
        .qs.values_list("external_id", "location__code")
    )
    assert sorted((r["external_id"].lstrip("'"), r["location"]) for r in rows) == sorted(expected)
    assert all(r["location"] != "B-HQ" for r in rows)  # never another institution's


def test_the_list_export_by_location(listed, coordinator_a):
    client = session(coordinator_a)
    rows = _csv_rows(client.get("/incidents/export.csv", {"location": listed.pk}))
    assert [r["location"] for r in rows] == ["A-2"]


def test_an_invalid_filter_is_400_not_everything(listed, coordinator_a):
    client = session(coordinator_a)
    for params in ({"school_year": "2022"}, {"victim_role": "alien"}, {"location": "999999"}):
        response = client.get("/incidents/export.csv", params)
        assert response.status_code == 400, params
        assert client.get("/incidents/export.xlsx", params).status_code == 400


def test_the_csv_is_the_standard_csv_streamed(listed, coordinator_a):
    response = session(coordinator_a).get("/incidents/export.csv")
    assert response.streaming
    streamed = b"".join(response.streaming_content).decode("utf-8")
    buffer = io.StringIO(newline="")
    write_incidents_csv(
        Incident.objects.filter(institution=listed.institution).order_by("-occurred_on", "-id"),
        buffer,
        bom=True,
        columns=LIST,  # issue 17: the list adds reference and status to the standard columns
    )
    assert streamed == buffer.getvalue()


def test_formula_cells_are_escaped_in_csv_and_xlsx(listed, coordinator_a):
    client = session(coordinator_a)
    rows = _csv_rows(client.get("/incidents/export.csv"))
    row = next(r for r in rows if r["external_id"] == "'@ext")
    assert row["description"] == '\'=HYPERLINK("http://x")'
    assert row["measures"] == "'+31 belde"
    response = client.get("/incidents/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == export_files.XLSX_CONTENT_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == LIST_COLUMNS  # issue 17: + reference, status
    assert len(values) - 1 == len(rows)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            assert cell.data_type != "f"  # text, never a formula
            if isinstance(cell.value, str):
                assert cell.value[:1] not in ("=", "+", "-", "@")
    xlsx_row = next(r for r in values if r[11] == "'@ext")
    assert xlsx_row[10] == '\'=HYPERLINK("http://x")' and xlsx_row[9] == "'+31 belde"
    # A control character XML cannot hold is dropped, and what it uncovers is escaped.
    assert any(r[10] == "'=1+1 met een stuurteken" for r in values)


def test_only_coordinators_and_administrators_export_the_list(
    listed, registrar_a, coordinator_b, administrator
):
    assert session(registrar_a).get("/incidents/export.csv").status_code == 403
    assert session(None).get("/incidents/export.csv").status_code == 302
    rows = _csv_rows(session(coordinator_b).get("/incidents/export.csv"))
    assert [r["location"] for r in rows] == ["B-HQ"]
    everything = _csv_rows(session(administrator).get("/incidents/export.csv"))
    assert len(everything) == 5
    only_b = _csv_rows(session(administrator).get("/incidents/export.csv", {"institution": "30RR"}))
    assert [r["location"] for r in only_b] == ["B-HQ"]


def test_the_list_page_links_the_exports_with_its_filters(listed, coordinator_a, registrar_a):
    page = session(coordinator_a).get("/incidents/", {"victim_role": "staff", "page": "1"})
    html = page.content.decode()
    assert 'href="/incidents/export.csv?victim_role=staff"' in html
    assert 'href="/incidents/export.xlsx?victim_role=staff"' in html
    assert "export.csv" not in session(registrar_a).get("/incidents/").content.decode()


def test_the_list_export_aggregates_nothing_in_python(
    listed, coordinator_a, django_assert_max_num_queries
):
    """Streaming: a handful of queries whatever the number of incidents (chunks)."""
    IncidentFactory.create_batch(30, location=listed)
    client = session(coordinator_a)
    with django_assert_max_num_queries(12):
        rows = _csv_rows(client.get("/incidents/export.csv"))
    assert (
        len(rows)
        == Incident.objects.filter(institution=listed.institution).aggregate(n=Count("id"))["n"]
    )


def test_odd_input_is_400_not_a_server_error(listed, coordinator_a, world):
    client = session(coordinator_a)
    assert client.get("/incidents/export.csv", {"institution": "25\x00LJ"}).status_code == 400
    assert client.get("/incidents/export.xlsx", {"x\x00": "1"}).status_code == 400
    response = client.get(DOWNLOAD, {"institution": "2\x005LJ", "school_year": YEAR})
    assert response.status_code == 400
    response = client.get(DOWNLOAD, {"institution": "25LJ", "school_year": "2022\x00-2023"})
    assert response.status_code == 400
