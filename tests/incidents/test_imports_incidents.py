"""Importing MIV's standard incident CSV: every field, messy real-world variants, all or
nothing, dry run, idempotent re-import, and the command."""

from datetime import date, time, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incidents.choices import EventAction, Status
from incidents.importers import STANDARD_COLUMNS, ImportOptions, import_incidents
from incidents.models import Incident, IncidentEvent, Location
from incidents.signals import incidents_changed
from taxonomy.models import IncidentType
from tests.factories import IncidentFactory, LocationFactory
from tests.import_helpers import write_csv

pytestmark = pytest.mark.django_db


def fields(incident: Incident) -> tuple:
    return (
        incident.location.code,
        incident.occurred_on,
        incident.occurred_at,
        incident.incident_type.code,
        incident.place,
        incident.victim_role,
        incident.perpetrator_role,
        incident.injury,
        incident.police_involved,
        incident.measures,
        incident.description,
        incident.external_id,
    )


def all_fields() -> list[tuple]:
    return sorted(fields(i) for i in Incident.objects.select_related("location", "incident_type"))


def test_standard_file_with_every_field(tmp_path, institution_a, location_a, coordinator_a):
    path = write_csv(
        tmp_path / "incidenten.csv",
        [
            STANDARD_COLUMNS,
            [
                "A-HQ",
                "2023-03-14",
                "MIS.FYS.06",
                "student",
                "10:15",
                "corridor",
                "student",
                "minor",
                "ja",
                "Ouders gebeld",
                "Twee studenten vochten",
                "T-1",
            ],
            # Location by name, type by exact Dutch name, optional fields empty.
            ["Alfa Hoofdgebouw", "2022-11-02", "bang maken", "staff", "", "", "", "", "nee"]
            + ["", "", ""],
        ],
    )
    report = import_incidents(path, institution_a, actor=coordinator_a)
    assert report.ok, list(report.errors)
    assert (report.rows, report.created) == (2, 2)
    # Empty optional fields are not known: roles and injury "unknown" (never "no injury").
    assert all_fields() == [
        ("A-HQ", date(2022, 11, 2), None, "MIS.BED.01", "", "staff", "unknown", "unknown", False)
        + ("", "", ""),
        ("A-HQ", date(2023, 3, 14), time(10, 15), "MIS.FYS.06", "corridor", "student", "student")
        + ("minor", True, "Ouders gebeld", "Twee studenten vochten", "T-1"),
    ]
    incident = Incident.objects.get(external_id="T-1")
    assert incident.school_year == "2022-2023"
    assert incident.institution == institution_a
    assert incident.registered_by == coordinator_a
    assert incident.status == Status.OPEN
    event = incident.events.get()
    assert (event.action, event.actor) == (EventAction.IMPORTED, coordinator_a)
    # The audit trail records that personal data was set, never its content.
    assert event.changes["description"] == [None, "***"]
    assert event.changes["incident_type"] == [None, "MIS.FYS.06"]


# Messy variants: each writes the same three incidents differently.
ROWS = [
    # location, date, time, type, victim, description
    ("A-HQ", date(2023, 3, 14), time(10, 15), "MIS.FYS.06", "student", "Ruzie in de café-hoek"),
    ("A-HQ", date(2021, 9, 1), None, "ONG.ONV.01", "staff", "Één medewerker gevallen"),
    ("Alfa Hoofdgebouw", date(2022, 7, 31), time(8, 0), "MIS.BED.01", "visitor", ""),
]


def _rows_for(variant: dict) -> list[list[str]]:
    header = [
        "location",
        "occurred_on",
        "occurred_at",
        "incident_type",
        "victim_role",
        "description",
    ]
    style = variant.get("headers")
    if style == "upper":
        header = [h.upper() for h in header]
    elif style == "spaced":
        header = [
            "  Location ",
            "Occurred On",
            "occurred-at",
            "Incident Type",
            "Victim_Role",
            "Descríption",
        ]
    date_format = variant.get("date_format", "%Y-%m-%d")
    time_in_date = variant.get("time_in_date", False)
    pad = "  " if variant.get("whitespace") else ""
    rows = [header]
    for location, day, at, type_code, victim, description in ROWS:
        day_text = day.strftime(date_format)
        time_text = at.strftime("%H:%M") if at else ""
        if time_in_date and at:
            day_text, time_text = f"{day_text} {time_text}", ""
        cells = [location, day_text, time_text, type_code, victim, description]
        rows.append([f"{pad}{c}{pad}" if c else c for c in cells])
    return rows


@pytest.mark.parametrize(
    "variant",
    [
        {"delimiter": ";"},
        {"delimiter": ","},
        {"delimiter": "\t"},
        {"encoding": "utf-8-sig"},
        {"encoding": "cp1252"},
        {"encoding": "cp1252", "delimiter": ";", "newline": "\n"},
        {"newline": "\n"},
        {"date_format": "%d-%m-%Y"},
        {"date_format": "%d/%m/%Y"},
        {"date_format": "%d-%m-%Y", "time_in_date": True},
        {"date_format": "%d/%m/%Y", "time_in_date": True},
        {"date_format": "%Y-%m-%d", "time_in_date": True},
        {"headers": "upper"},
        {"headers": "spaced"},
        {"whitespace": True},
    ],
    ids=lambda v: "-".join(f"{k}={v[k]!r}" for k in v),
)
def test_messy_variants_import_the_same_incidents(tmp_path, institution_a, location_a, variant):
    write_options = {k: variant[k] for k in ("delimiter", "encoding", "newline") if k in variant}
    path = write_csv(tmp_path / "messy.csv", _rows_for(variant), **write_options)
    report = import_incidents(path, institution_a)
    assert report.ok, list(report.errors)
    got = sorted(
        (i.location.code, i.occurred_on, i.occurred_at, i.incident_type.code, i.victim_role)
        + (i.description,)
        for i in Incident.objects.select_related("location", "incident_type")
    )
    expected = sorted(
        ("A-HQ", day, at, type_code, victim, description)
        for _loc, day, at, type_code, victim, description in ROWS
    )
    assert got == expected


def test_all_or_nothing_lists_every_bad_row(tmp_path, institution_a, location_a, location_b):
    header = ["location", "occurred_on", "incident_type", "victim_role", "external_id"]
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            header,
            ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "1"],
            ["A-HQ", "31-02-2023", "MIS.FYS.06", "student", "2"],  # no such date
            ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "3"],
            ["B-HQ", "2023-03-14", "MIS.XXX.99", "leerling", "4"],  # B's location; bad type
            ["A-HQ", "2023-03-15", "MIS.FYS.06", "staff", "1"],  # number used on line 2
            ["A-HQ", "2023-03-14", "MIS.FYS.06", "student"],  # a cell short
        ],
    )
    report = import_incidents(path, institution_a)
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "occurred_on"),
        (5, "location"),
        (5, "incident_type"),
        (5, "victim_role"),
        (6, "external_id"),
        (7, ""),
    ]
    assert "31-02-2023" in report.errors.items[0].message
    assert "regel 2" in report.errors.items[4].message
    assert report.errors.rows == 4
    assert not report.committed
    assert Incident.objects.count() == 0
    assert IncidentEvent.objects.count() == 0


def test_a_bad_row_after_many_good_ones_still_writes_nothing(tmp_path, institution_a, location_a):
    # More rows than one write batch, so some were already written when the bad row came.
    rows = [["location", "occurred_on", "incident_type", "victim_role", "external_id"]]
    rows += [["A-HQ", "2023-03-14", "MIS.FYS.06", "student", f"N{n}"] for n in range(2500)]
    rows.append(["A-HQ", "2023-03-14", "MIS.FYS.06", "marsmannetje", "LAST"])
    report = import_incidents(write_csv(tmp_path / "big.csv", rows), institution_a)
    assert [(e.line, e.column) for e in report.errors] == [(2502, "victim_role")]
    assert Incident.objects.count() == 0


def test_dry_run_summarises_without_writing(tmp_path, institution_a, location_a):
    data = [
        ("2023-03-14", "MIS.FYS.06"),
        ("2023-08-01", "MIS.FYS.06"),
        ("2022-10-10", "ONG.ONV.01"),
        ("2022-10-11", "BRA.01"),
    ]
    rows = [["location", "occurred_on", "incident_type", "victim_role"]]
    rows += [["A-HQ", day, code, "student"] for day, code in data]
    report = import_incidents(write_csv(tmp_path / "d.csv", rows), institution_a, commit=False)
    assert report.ok and not report.committed
    assert Incident.objects.count() == 0
    sections = dict(report.sections)
    categories: dict[str, int] = {}
    for _day, code in data:
        name = IncidentType.objects.get(code=code).category.name_nl
        categories[name] = categories.get(name, 0) + 1
    assert dict(sections["Incidenten per categorie"]) == categories
    assert dict(sections["Incidenten per schooljaar"]) == {"2022-2023": 3, "2023-2024": 1}
    assert (report.rows, report.created, report.errors.total) == (4, 4, 0)


def test_reimport_by_external_id_updates_instead_of_duplicating(
    tmp_path, institution_a, location_a
):
    header = [
        "location",
        "occurred_on",
        "incident_type",
        "victim_role",
        "description",
        "external_id",
    ]
    rows = [
        header,
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "eerste", "T-1"],
        ["A-HQ", "2023-03-15", "MIS.FYS.06", "student", "tweede", "T-2"],
    ]
    import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    again = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Incident.objects.count() == 2

    rows[2][1], rows[2][4] = "2023-09-01", "tweede, aangevuld"
    changed = import_incidents(write_csv(tmp_path / "b.csv", rows), institution_a)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    incident = Incident.objects.get(external_id="T-2")
    assert (incident.description, incident.school_year) == ("tweede, aangevuld", "2023-2024")
    update = incident.events.order_by("pk").last()
    assert update.action == EventAction.IMPORTED
    assert update.changes["occurred_on"] == ["2023-03-15", "2023-09-01"]
    assert update.changes["description"] == ["***", "***"]
    assert Incident.objects.count() == 2


def test_rows_without_number_are_matched_on_all_fields(tmp_path, institution_a, location_a):
    header = ["location", "occurred_on", "incident_type", "victim_role", "description"]
    row = ["A-HQ", "2023-03-14", "MIS.FYS.06", "student", "vechtpartij"]
    # Two identical rows are two incidents (it happens), not one.
    rows = [header, row, list(row), ["A-HQ", "2023-03-14", "MIS.FYS.06", "staff", ""]]
    first = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert first.created == 3
    again = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert (again.created, again.unchanged) == (0, 3)
    more = import_incidents(write_csv(tmp_path / "b.csv", rows + [list(row)]), institution_a)
    assert (more.created, more.unchanged) == (1, 3)
    assert Incident.objects.count() == 4


def test_registered_incident_is_recognised_by_its_fields(tmp_path, institution_a, location_a):
    IncidentFactory(
        location=location_a,
        occurred_on=date(2023, 3, 14),
        incident_type=IncidentType.objects.get(code="MIS.FYS.06"),
        description="Twee studenten vochten in de kantine.",
    )
    rows = [
        ["location", "occurred_on", "incident_type", "victim_role", "description"],
        ["A-HQ", "14-03-2023", "MIS.FYS.06", "student", "Twee studenten vochten in de kantine."],
    ]
    report = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert (report.created, report.unchanged) == (0, 1)
    assert Incident.objects.count() == 1


def test_unknown_location_is_an_error_unless_created(tmp_path, institution_a, location_a):
    rows = [
        ["location", "occurred_on", "incident_type", "victim_role"],
        ["Sportcampus Noord", "2023-03-14", "MIS.FYS.06", "student"],
        ["sportcampus noord", "2023-03-15", "MIS.FYS.06", "student"],
        ["GYM-2", "2023-03-15", "MIS.FYS.06", "student"],
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    report = import_incidents(path, institution_a)
    assert [(e.line, e.column) for e in report.errors] == [(2, "location"), (3, "location")] + [
        (4, "location")
    ]
    assert "--create-locations" in report.errors.items[0].message
    assert Location.objects.filter(institution=institution_a).count() == 1

    report = import_incidents(path, institution_a, options=ImportOptions(create_locations=True))
    assert report.ok, list(report.errors)
    created = Location.objects.filter(institution=institution_a).exclude(pk=location_a.pk)
    assert sorted(created.values_list("code", "name")) == [
        ("GYM-2", "GYM-2"),
        ("SPORTCAMPUS-NOORD", "Sportcampus Noord"),
    ]
    assert Incident.objects.filter(location__code="SPORTCAMPUS-NOORD").count() == 2


def test_dates_out_of_range_and_retired_types(tmp_path, institution_a, location_a):
    retired = IncidentType.objects.get(code="MIS.BED.02")
    existing = IncidentFactory(location=location_a, incident_type=retired, external_id="OLD")
    retired.active = False
    retired.save()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rows = [
        ["location", "occurred_on", "incident_type", "victim_role", "external_id"],
        ["A-HQ", tomorrow, "MIS.FYS.06", "student", ""],
        ["A-HQ", "1999-12-31", "MIS.FYS.06", "student", ""],
        ["A-HQ", "2023-01-01", "MIS.BED.02", "student", "NEW"],  # retired: not for new
        # An incident that already has the retired type keeps it when its date changes.
        ["A-HQ", "2023-01-02", "MIS.BED.02", "student", "OLD"],
    ]
    report = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "occurred_on"),
        (3, "occurred_on"),
        (4, "incident_type"),
    ]
    rows.pop(3)
    rows.pop(2)
    rows.pop(1)
    report = import_incidents(write_csv(tmp_path / "b.csv", rows), institution_a)
    assert report.ok and report.updated == 1
    existing.refresh_from_db()
    assert existing.occurred_on == date(2023, 1, 2)


def test_withdrawn_incident_cannot_be_changed_by_import(tmp_path, institution_a, location_a):
    IncidentFactory(location=location_a, external_id="W-1", status=Status.WITHDRAWN)
    rows = [
        ["location", "occurred_on", "incident_type", "victim_role", "external_id"],
        ["A-HQ", "2023-01-02", "MIS.FYS.06", "staff", "W-1"],
    ]
    report = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert [(e.line, e.column) for e in report.errors] == [(2, "external_id")]
    assert "ingetrokken" in report.errors.items[0].message


def test_signal_names_the_school_years(
    tmp_path, institution_a, location_a, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, school_years, **kwargs):
        received.append(school_years)

    rows = [
        ["location", "occurred_on", "incident_type", "victim_role"],
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student"],
        ["A-HQ", "2021-10-01", "MIS.FYS.06", "student"],
    ]
    incidents_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
        with django_capture_on_commit_callbacks(execute=True):
            import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    finally:
        incidents_changed.disconnect(listener)
    assert received == [{"2022-2023", "2021-2022"}]


def test_command_dry_run_and_errors(tmp_path, institution_a, location_a, capsys):
    rows = [
        ["location", "occurred_on", "incident_type", "victim_role"],
        ["A-HQ", "2023-03-14", "MIS.FYS.06", "student"],
        ["A-HQ", "2023-03-15", "ONG.ONV.01", "staff"],
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    call_command("import_incidents", str(path), "--institution", "25lj", "--dry-run")
    out = capsys.readouterr().out
    assert "Incidenten per categorie" in out and "Misdraging: 1" in out
    assert "2022-2023: 2" in out and "niets opgeslagen" in out
    assert Incident.objects.count() == 0

    call_command("import_incidents", str(path), "--institution", "25LJ")
    assert Incident.objects.count() == 2

    rows.append(["A-HQ", "gisteren", "MIS.FYS.06", "student"])
    with pytest.raises(CommandError, match="Niets geïmporteerd"):
        call_command(
            "import_incidents", str(write_csv(tmp_path / "b.csv", rows)), "--institution", "25LJ"
        )
    assert "regel 4, kolom occurred_on: Ongeldige datum 'gisteren'" in capsys.readouterr().err
    assert Incident.objects.count() == 2


def test_command_refuses_unknown_institution(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["location"], ["x"]])
    with pytest.raises(CommandError, match="Onbekende instelling"):
        call_command("import_incidents", str(path), "--institution", "99ZZ")


def test_header_without_rows_is_an_error(tmp_path, institution_a, location_a):
    path = write_csv(tmp_path / "a.csv", [STANDARD_COLUMNS])
    report = import_incidents(path, institution_a)
    assert [e.message for e in report.errors] == ["Het bestand bevat geen gegevensrijen."]


def test_missing_columns_are_named(tmp_path, institution_a, location_a):
    path = write_csv(tmp_path / "a.csv", [["location", "datum"], ["A-HQ", "2023-03-14"]])
    report = import_incidents(path, institution_a)
    assert len(report.errors) == 1
    assert "incident_type, victim_role" in report.errors.items[0].message


def test_other_institutions_locations_are_not_found(tmp_path, institution_a, location_a):
    other = LocationFactory(code="ELDERS")
    rows = [["location", "occurred_on", "incident_type", "victim_role"]]
    rows.append([other.code, "2023-03-14", "MIS.FYS.06", "student"])
    report = import_incidents(write_csv(tmp_path / "a.csv", rows), institution_a)
    assert [(e.line, e.column) for e in report.errors] == [(2, "location")]
