"""DUO enrolments as denominators: the real DUO file, its messy variants, the simple format,
all-or-nothing, idempotent re-import and a newer file updating counts."""

import csv
from collections import defaultdict
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from incidents.choices import InstitutionKind
from incidents.models import Institution
from reporting.importers import import_enrolments, read_institution_list
from reporting.models import StudentCount
from reporting.signals import figure_inputs_changed
from tests.factories import InstitutionFactory
from tests.import_helpers import DUO_EXCERPT, DUO_FULL, DUO_INSTITUTIONS, write_csv

pytestmark = pytest.mark.django_db


def duo_totals(path, *, encoding="utf-8-sig", code_column="BRIN NUMMER"):
    """Per (BRIN, school year) sums of the TOTAAL<yyyy> columns, computed with the plain csv
    module, independently of the importer. Zero totals are left out (no denominator)."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        years = [int(c[6:]) for c in reader.fieldnames if c.startswith("TOTAAL")]
        for row in reader:
            brin = row[code_column]
            if not brin:  # the real file has 29 lines holding only ""
                continue
            for year in years:
                totals[(brin, f"{year}-{year + 1}")] += int(row[f"TOTAAL{year}"] or 0)
    return {key: value for key, value in totals.items() if value}


def duo_kinds(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {
            row["BRIN NUMMER"]: row["SOORTINS"].lower()
            for row in csv.DictReader(f, delimiter=";")
            if row["BRIN NUMMER"]
        }


def stored_counts():
    return {
        (c.institution.brin, c.school_year): c.students
        for c in StudentCount.objects.select_related("institution")
    }


def test_real_duo_file_gives_per_institution_per_year_totals():
    expected = duo_totals(DUO_FULL)
    report = import_enrolments(DUO_FULL, source_date=date(2020, 3, 1))
    assert report.ok, list(report.errors)[:5]
    assert stored_counts() == expected
    # DUO's 1 October 2019 count is the denominator of school year 2019-2020.
    assert {year for _brin, year in expected} == {f"{y}-{y + 1}" for y in range(2015, 2020)}
    # Every institution of the file was created, with the kind from SOORTINS.
    kinds = duo_kinds(DUO_FULL)
    assert dict(Institution.objects.values_list("brin", "kind")) == kinds
    assert StudentCount.objects.filter(source=DUO_FULL.name, source_date=date(2020, 3, 1)).count()


def test_created_institution_takes_name_and_city_from_the_file():
    import_enrolments(DUO_EXCERPT)
    albeda = Institution.objects.get(brin="00GT")
    assert albeda.name == "Albeda"
    assert albeda.kind == InstitutionKind.ROC
    assert albeda.city == "Rotterdam"


def test_institution_list_seeds_names_kinds_and_main_seat():
    listed, list_report = read_institution_list(DUO_INSTITUTIONS)
    assert list_report.ok
    with open(DUO_INSTITUTIONS, encoding="utf-8", newline="") as f:
        rows = {r["Brinnr"]: r for r in csv.DictReader(f, delimiter=";")}
    import_enrolments(DUO_FULL, institution_list=listed)
    # 25LR: the DUO enrolment file lists it in several places; the list has its main seat.
    flevoland = Institution.objects.get(brin="25LR")
    assert flevoland.city.upper() == rows["25LR"]["Plaats"]
    hmc = Institution.objects.get(brin="02PG")
    assert hmc.name == rows["02PG"]["Naam Instelling"]


def test_existing_institution_keeps_its_attributes():
    InstitutionFactory(brin="00GT", name="Albeda College", kind=InstitutionKind.ROC, city="X")
    import_enrolments(DUO_EXCERPT)
    albeda = Institution.objects.get(brin="00GT")
    assert (albeda.name, albeda.city, albeda.region) == ("Albeda College", "X", "west")
    assert albeda.student_counts.exists()


def _variant(tmp_path, name, *, encoding="utf-8", newline="\r\n", rename=None, bom=False):
    text = DUO_EXCERPT.read_bytes().decode("utf-8")
    if rename:
        text = text.replace(*rename, 1)
    text = text.replace("\r\n", newline)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "variant",
    [
        {"bom": True},
        {"newline": "\n"},
        {"rename": ("BRIN NUMMER", "INSTELLINGSCODE")},
        {"encoding": "cp1252"},
        {"bom": True, "newline": "\n", "rename": ("BRIN NUMMER", "INSTELLINGSCODE")},
    ],
    ids=["bom", "lf", "instellingscode", "windows-1252", "all"],
)
def test_messy_variants_give_the_same_totals(tmp_path, variant):
    path = _variant(tmp_path, "variant.csv", **variant)
    report = import_enrolments(path)
    assert report.ok, list(report.errors)
    assert stored_counts() == duo_totals(DUO_EXCERPT)


def test_empty_cells_count_as_zero(tmp_path):
    path = write_csv(
        tmp_path / "small.csv",
        [
            [
                "BRIN NUMMER",
                "SOORTINS",
                "INSTELLINGSNAAM",
                "PLAATSNAAM",
                "TOTAAL2021",
                "TOTAAL2022",
            ],
            ["99XX", "AOC", "Groen College", "ZWOLLE", "", "7"],
            ["99XX", "AOC", "Groen College", "ZWOLLE", "5", ""],
            ["99XX", "AOC", "Groen College", "ZWOLLE", "", ""],
        ],
        delimiter=";",
    )
    assert import_enrolments(path).ok
    assert stored_counts() == {("99XX", "2021-2022"): 5, ("99XX", "2022-2023"): 7}


def test_a_bad_cell_rejects_the_whole_file(tmp_path):
    lines = DUO_EXCERPT.read_bytes().decode("utf-8").split("\r\n")
    header = lines[0].split(";")
    cells = lines[120].split(";")
    cells[header.index("TOTAAL2017")] = "veel"
    lines[120] = ";".join(cells)
    path = tmp_path / "bad.csv"
    path.write_bytes("\r\n".join(lines).encode())
    report = import_enrolments(path)
    assert [(e.line, e.column) for e in report.errors] == [(121, "TOTAAL2017")]
    assert "veel" in report.errors.items[0].message
    assert StudentCount.objects.count() == 0
    assert Institution.objects.count() == 0


def test_reimport_changes_nothing():
    import_enrolments(DUO_EXCERPT, source_date=date(2020, 1, 1))
    before = list(StudentCount.objects.order_by("pk").values())
    report = import_enrolments(DUO_EXCERPT, source_date=date(2021, 1, 1))
    assert (report.created, report.updated) == (0, 0)
    assert report.unchanged == len(before)
    assert list(StudentCount.objects.order_by("pk").values()) == before


def test_newer_file_updates_counts_and_records_source(tmp_path):
    import_enrolments(DUO_EXCERPT, source_date=date(2020, 1, 1))
    lines = DUO_EXCERPT.read_bytes().decode("utf-8").split("\r\n")
    header = lines[0].split(";")
    cells = lines[1].split(";")
    column = header.index("TOTAAL2018")
    cells[column] = str(int(cells[column] or 0) + 100)
    lines[1] = ";".join(cells)
    newer = tmp_path / "deelnemers-2021.csv"
    newer.write_bytes("\r\n".join(lines).encode())
    expected = duo_totals(newer)

    report = import_enrolments(newer, source_date=date(2021, 6, 1))

    assert report.updated == 1
    assert stored_counts() == expected
    changed = StudentCount.objects.get(institution__brin=cells[0], school_year="2018-2019")
    assert (changed.source, changed.source_date) == ("deelnemers-2021.csv", date(2021, 6, 1))
    others = StudentCount.objects.exclude(pk=changed.pk)
    assert set(others.values_list("source_date", flat=True)) == {date(2020, 1, 1)}


def test_simple_format(tmp_path):
    InstitutionFactory(brin="25LJ")
    InstitutionFactory(brin="30RR")
    path = write_csv(
        tmp_path / "simple.csv",
        [
            ["institution", "school_year", "students"],
            ["25LJ", "2022-2023", "12000"],
            ["30rr", "2022-2023", "4.500"],
        ],
    )
    report = import_enrolments(path)
    assert report.ok, list(report.errors)
    assert stored_counts() == {("25LJ", "2022-2023"): 12000, ("30RR", "2022-2023"): 4500}


def test_a_newer_file_with_no_students_withdraws_the_earlier_count(tmp_path):
    InstitutionFactory(brin="25LJ")
    InstitutionFactory(brin="30RR")
    header = ["institution", "school_year", "students"]
    first = write_csv(
        tmp_path / "first.csv",
        [header, ["25LJ", "2022-2023", "12000"], ["30RR", "2022-2023", "4500"]],
    )
    assert import_enrolments(first).ok
    newer = write_csv(
        tmp_path / "newer.csv",
        [header, ["25LJ", "2022-2023", "0"], ["30RR", "2022-2023", "4500"]],
    )
    report = import_enrolments(newer)
    assert report.ok, list(report.errors)
    # No denominator rather than the stale one (nor 0, which would make rates infinite).
    assert stored_counts() == {("30RR", "2022-2023"): 4500}
    assert (report.updated, report.unchanged) == (1, 1)
    assert report.school_years == {"2022-2023"}


def test_simple_format_reports_every_bad_row_and_writes_nothing(tmp_path):
    InstitutionFactory(brin="25LJ")
    path = write_csv(
        tmp_path / "simple.csv",
        [
            ["institution", "school_year", "students"],
            ["25LJ", "2022-2023", "12000"],
            ["99ZZ", "2022-2023", "100"],
            ["25LJ", "2022-2024", "100"],
            ["25LJ", "2021-2022", "-5"],
            ["25LJ", "2022-2023", "11000"],
        ],
    )
    report = import_enrolments(path)
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "institution"),
        (4, "school_year"),
        (5, "students"),
        (6, ""),
    ]
    assert "regel 2" in report.errors.items[-1].message
    assert not StudentCount.objects.exists()


def test_signal_names_the_changed_school_years(django_capture_on_commit_callbacks):
    received = []

    def listener(sender, school_years, **kwargs):
        received.append(school_years)

    figure_inputs_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_enrolments(DUO_EXCERPT)
        with django_capture_on_commit_callbacks(execute=True):
            import_enrolments(DUO_EXCERPT)  # unchanged: nothing to tell
    finally:
        figure_inputs_changed.disconnect(listener)
    assert received == [{year for _brin, year in duo_totals(DUO_EXCERPT)}]


def test_dry_run_writes_nothing():
    report = import_enrolments(DUO_EXCERPT, commit=False)
    assert report.ok and report.created == len(duo_totals(DUO_EXCERPT))
    assert not StudentCount.objects.exists() and not Institution.objects.exists()


def test_command_imports_and_reports(capsys):
    call_command("import_enrolments", str(DUO_EXCERPT), "--source-date", "2020-02-01")
    out = capsys.readouterr().out
    assert "Geïmporteerd" in out
    assert stored_counts() == duo_totals(DUO_EXCERPT)


def test_command_fails_on_bad_file(tmp_path, capsys):
    path = write_csv(tmp_path / "x.csv", [["foo", "bar"], ["1", "2"]])
    with pytest.raises(CommandError, match="Niets geïmporteerd"):
        call_command("import_enrolments", str(path))
    assert "Onbekend formaat" in capsys.readouterr().err
