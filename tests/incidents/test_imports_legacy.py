"""Legacy exports (TOPdesk, Excel registers): own labels mapped onto the taxonomy through a
mapping file that is stored per institution; unmapped labels reported with row counts;
recognised and explicitly named columns."""

from datetime import date, time

import pytest
from django.core.management import CommandError, call_command

from incidents.importers import ImportOptions, import_incidents, read_mapping_file
from incidents.models import Incident, LabelMapping
from tests.import_helpers import write_csv

pytestmark = pytest.mark.django_db

TOPDESK_HEADER = ["Incidentnummer", "Aanmelddatum", "Vestiging", "Categorie", "Subcategorie"]
TOPDESK_HEADER += ["Omschrijving"]
TOPDESK_ROWS = [
    ["I2303-001", "14-03-2023 10:15", "Alfa Hoofdgebouw", "Agressie", "Fysiek", "Bij de ingang"],
    ["I2303-002", "15/03/2023", "A-HQ", "Agressie", "Verbaal", "Schelden op docent"],
    ["I2303-003", "2023-03-16", "a-hq", "Ongeval", "", "Gestruikeld op trap"],
    ["I2303-004", "16-03-2023", "A-HQ", "Diefstal", "Fiets", ""],
    ["I2303-005", "17-03-2023", "A-HQ", "diefstal", "fiets", "Tweede fiets"],
    ["I2303-006", "17-03-2023", "A-HQ", "Vandalisme", "", ""],
]
MAPPING = [
    ["source_label", "incident_type"],
    ["Agressie > Fysiek", "MIS.FYS.06"],
    ["agressie>verbaal", "Uitschelden en/of vloeken"],  # a Dutch name instead of a code
    ["Ongeval", "ONG.ONV.03"],
]


@pytest.fixture
def topdesk_file(tmp_path):
    # Dutch Excel writes ; and Windows-1252.
    return write_csv(
        tmp_path / "topdesk.csv",
        [TOPDESK_HEADER, *TOPDESK_ROWS],
        delimiter=";",
        encoding="cp1252",
    )


def mapping(tmp_path, rows, name="mapping.csv"):
    entries, errors = read_mapping_file(write_csv(tmp_path / name, rows))
    assert not errors, list(errors)
    return entries


def test_unmapped_labels_are_reported_with_row_counts(
    tmp_path, topdesk_file, institution_a, location_a
):
    report = import_incidents(topdesk_file, institution_a, mapping=mapping(tmp_path, MAPPING))
    # "Diefstal > Fiets" on lines 5 and 6 (case differs), "Vandalisme" on line 7.
    assert report.unmapped == [("Diefstal > Fiets", 2, 5), ("Vandalisme", 1, 7)]
    assert [(e.line, e.column) for e in report.errors] == [
        (5, "Categorie > Subcategorie"),
        (6, "Categorie > Subcategorie"),
        (7, "Categorie > Subcategorie"),
    ]
    assert Incident.objects.count() == 0
    assert not LabelMapping.objects.exists()  # nothing stored from a failed import


def test_complete_mapping_imports_and_is_stored(
    tmp_path, topdesk_file, institution_a, location_a, coordinator_a
):
    rows = MAPPING + [["Diefstal > Fiets", "MIS.OVR.03"], ["Vandalisme", "MIS.FYS.03"]]
    report = import_incidents(
        topdesk_file, institution_a, mapping=mapping(tmp_path, rows), actor=coordinator_a
    )
    assert report.ok, list(report.errors)
    assert report.created == 6
    got = {
        i.external_id: (i.incident_type.code, i.occurred_on, i.occurred_at, i.victim_role)
        for i in Incident.objects.select_related("incident_type")
    }
    assert got == {
        "I2303-001": ("MIS.FYS.06", date(2023, 3, 14), time(10, 15), "unknown"),
        "I2303-002": ("MIS.VER.02", date(2023, 3, 15), None, "unknown"),
        "I2303-003": ("ONG.ONV.03", date(2023, 3, 16), None, "unknown"),
        "I2303-004": ("MIS.OVR.03", date(2023, 3, 16), None, "unknown"),
        "I2303-005": ("MIS.OVR.03", date(2023, 3, 17), None, "unknown"),
        "I2303-006": ("MIS.FYS.03", date(2023, 3, 17), None, "unknown"),
    }
    assert Incident.objects.get(external_id="I2303-001").description == "Bij de ingang"
    assert set(Incident.objects.values_list("perpetrator_role", flat=True)) == {"unknown"}
    stored = dict(
        LabelMapping.objects.filter(institution=institution_a).values_list(
            "source_label", "incident_type__code"
        )
    )
    assert stored == {
        "Agressie > Fysiek": "MIS.FYS.06",
        "agressie>verbaal": "MIS.VER.02",
        "Ongeval": "ONG.ONV.03",
        "Diefstal > Fiets": "MIS.OVR.03",
        "Vandalisme": "MIS.FYS.03",
    }


def test_next_import_reuses_the_stored_mapping(tmp_path, topdesk_file, institution_a, location_a):
    rows = MAPPING + [["Diefstal > Fiets", "MIS.OVR.03"], ["Vandalisme", "MIS.FYS.03"]]
    import_incidents(topdesk_file, institution_a, mapping=mapping(tmp_path, rows))
    later = write_csv(
        tmp_path / "april.csv",
        [TOPDESK_HEADER, ["I2304-001", "03-04-2023", "A-HQ", "VANDALISME", "", "Ruit"]],
        delimiter=";",
    )
    report = import_incidents(later, institution_a)  # no mapping file this time
    assert report.ok, list(report.errors)
    assert Incident.objects.get(external_id="I2304-001").incident_type.code == "MIS.FYS.03"
    # And the first file again changes nothing.
    again = import_incidents(topdesk_file, institution_a)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)


def test_label_that_is_a_taxonomy_name_needs_no_mapping(tmp_path, institution_a, location_a):
    path = write_csv(
        tmp_path / "excel.csv",
        [["Datum", "Locatie", "Soort"], ["14-03-2023", "A-HQ", "vechtpartij"]],
    )
    report = import_incidents(path, institution_a)
    assert report.ok, list(report.errors)
    assert Incident.objects.get().incident_type.code == "MIS.FYS.06"


def test_columns_named_explicitly(tmp_path, institution_a, location_a):
    path = write_csv(
        tmp_path / "register.csv",
        [
            ["Nr.", "Datum melding", "Gebouw", "Hoofdgroep", "Groep", "Datum invoer"],
            ["77", "01-02-2023", "A-HQ", "Agressie", "Fysiek", "05-02-2023"],
        ],
    )
    options = ImportOptions(
        date_column="datum MELDING",
        location_column="Gebouw",
        label_columns=["Hoofdgroep", "Groep"],
        id_column="Nr.",
    )
    report = import_incidents(
        path, institution_a, mapping=mapping(tmp_path, MAPPING), options=options
    )
    assert report.ok, list(report.errors)
    incident = Incident.objects.get()
    assert (incident.external_id, incident.occurred_on) == ("77", date(2023, 2, 1))
    assert incident.incident_type.code == "MIS.FYS.06"


def test_explicit_column_that_does_not_exist(tmp_path, institution_a, location_a):
    path = write_csv(tmp_path / "r.csv", [["Datum", "Vestiging", "Soort"], ["x", "y", "z"]])
    report = import_incidents(path, institution_a, options=ImportOptions(label_columns=["Groep"]))
    assert len(report.errors) == 1
    assert "Groep" in report.errors.items[0].message
    assert "--label-columns" in report.errors.items[0].message


def test_mapping_file_errors(tmp_path):
    path = write_csv(
        tmp_path / "m.csv",
        [
            ["source_label", "incident_type"],
            ["Agressie", "MIS.FYS.06"],
            ["Iets", "MIS.NOPE.01"],
            ["", "MIS.FYS.06"],
            ["AGRESSIE", "MIS.FYS.01"],
        ],
    )
    _entries, errors = read_mapping_file(path)
    assert [(e.line, e.column) for e in errors] == [
        (3, "incident_type"),
        (4, "source_label"),
        (5, "source_label"),
    ]


def test_command_with_mapping(tmp_path, topdesk_file, institution_a, location_a, capsys):
    path = write_csv(tmp_path / "map.csv", MAPPING)
    with pytest.raises(CommandError):
        call_command(
            "import_incidents", str(topdesk_file), "--institution", "25LJ", "--mapping", str(path)
        )
    out = capsys.readouterr().out
    assert "Labels zonder koppeling (aantal rijen):" in out
    assert "Diefstal > Fiets: 2 (eerst op regel 5)" in out
    assert "Vandalisme: 1 (eerst op regel 7)" in out

    full = write_csv(
        tmp_path / "map2.csv",
        MAPPING + [["Diefstal > Fiets", "MIS.OVR.03"], ["Vandalisme", "MIS.FYS.03"]],
    )
    call_command(
        "import_incidents",
        str(topdesk_file),
        "--institution",
        "25LJ",
        "--mapping",
        str(full),
        "--label-columns",
        "Categorie,Subcategorie",
    )
    assert Incident.objects.count() == 6


def test_reimport_keeps_what_coordinators_added_since(tmp_path, institution_a, location_a):
    """A legacy file lacks victim role and time: filling them in later in MIV is neither
    overwritten nor mistaken for a new incident when the file is imported again."""
    rows = [
        ["Incidentnummer", "Datum", "Vestiging", "Soort"],
        ["77", "01-02-2023", "A-HQ", "Vechtpartij"],
        ["", "02-02-2023", "A-HQ", "Vechtpartij"],  # no number: matched on its fields
    ]
    path = write_csv(tmp_path / "register.csv", rows)
    assert import_incidents(path, institution_a).created == 2
    Incident.objects.update(victim_role="student", occurred_at=time(9, 30), description="later")

    again = import_incidents(path, institution_a)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert set(Incident.objects.values_list("victim_role", "occurred_at", "description")) == {
        ("student", time(9, 30), "later")
    }
    # A column the file does have is imported again: a changed date updates the incident.
    rows[1][1] = "03-02-2023"
    changed = import_incidents(write_csv(tmp_path / "register2.csv", rows), institution_a)
    assert (changed.updated, changed.unchanged) == (1, 1)
    incident = Incident.objects.get(external_id="77")
    assert (incident.occurred_on, incident.victim_role) == (date(2023, 2, 3), "student")


def test_fields_a_legacy_file_lacks_become_unknown(
    tmp_path, topdesk_file, institution_a, location_a
):
    rows = MAPPING + [["Diefstal > Fiets", "MIS.OVR.03"], ["Vandalisme", "MIS.FYS.03"]]
    report = import_incidents(topdesk_file, institution_a, mapping=mapping(tmp_path, rows))
    assert report.ok, list(report.errors)
    recorded = set(Incident.objects.values_list("victim_role", "perpetrator_role", "injury"))
    # The register did not say: never "no injury".
    assert recorded == {("unknown", "unknown", "unknown")}
