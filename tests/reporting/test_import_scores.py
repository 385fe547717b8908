"""JOB-monitor and MO survey scores: import, range checks, unknown institutions, duplicates,
all-or-nothing and idempotent re-import."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from reporting.importers import import_safety_scores
from reporting.models import SafetyScore
from reporting.signals import figure_inputs_changed
from tests.factories import InstitutionFactory
from tests.import_helpers import write_csv

pytestmark = pytest.mark.django_db

HEADER = ["institution", "source", "survey_year", "value", "respondents"]


@pytest.fixture
def institutions(db):
    return InstitutionFactory(brin="25LJ"), InstitutionFactory(brin="30RR")


def scores():
    return {
        (s.institution.brin, s.source, s.survey_year): (s.value, s.respondents)
        for s in SafetyScore.objects.select_related("institution")
    }


def test_imports_job_and_mo_scores(tmp_path, institutions):
    path = write_csv(
        tmp_path / "scores.csv",
        [
            HEADER,
            ["25LJ", "job", "2022", "81.5", "4123"],
            ["25LJ", "MO", "2022", "8.0", ""],
            ["30RR", "job", "2020", "74", "812"],
        ],
    )
    report = import_safety_scores(path)
    assert report.ok, list(report.errors)
    assert scores() == {
        ("25LJ", "job", 2022): (Decimal("81.50"), 4123),
        ("25LJ", "mo", 2022): (Decimal("8.00"), None),
        ("30RR", "job", 2020): (Decimal("74.00"), 812),
    }


def test_semicolons_and_decimal_commas(tmp_path, institutions):
    path = write_csv(
        tmp_path / "scores.csv",
        [HEADER, ["25LJ", "job", "2022", "81,5", "4.123"]],
        delimiter=";",
        encoding="cp1252",
    )
    assert import_safety_scores(path).ok
    assert scores() == {("25LJ", "job", 2022): (Decimal("81.50"), 4123)}


def test_every_bad_row_is_reported_and_nothing_written(tmp_path, institutions):
    path = write_csv(
        tmp_path / "scores.csv",
        [
            HEADER,
            ["25LJ", "job", "2022", "81.5", "100"],  # good
            ["25LJ", "job", "2020", "101", ""],  # JOB is a percentage
            ["25LJ", "mo", "2022", "10.5", ""],  # MO is 0-10
            ["99ZZ", "job", "2022", "80", ""],  # unknown institution
            ["30RR", "pisa", "2022", "80", ""],  # unknown source
            ["30RR", "job", "twee", "80", ""],  # no year
            ["25LJ", "job", "2022", "80", ""],  # duplicate of line 2
            ["30RR", "mo", "2022", "-1", ""],  # below range
        ],
    )
    report = import_safety_scores(path)
    assert [(e.line, e.column) for e in report.errors] == [
        (3, "value"),
        (4, "value"),
        (5, "institution"),
        (6, "source"),
        (7, "survey_year"),
        (8, ""),
        (9, "value"),
    ]
    assert "regel 2" in report.errors.items[5].message
    assert SafetyScore.objects.count() == 0


def test_reimport_is_idempotent_and_a_change_updates(tmp_path, institutions):
    rows = [HEADER, ["25LJ", "job", "2022", "81.5", "100"], ["30RR", "mo", "2022", "7.9", ""]]
    path = write_csv(tmp_path / "scores.csv", rows)
    import_safety_scores(path)
    before = list(SafetyScore.objects.order_by("pk").values())
    again = import_safety_scores(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert list(SafetyScore.objects.order_by("pk").values()) == before

    rows[2][3] = "8.1"
    changed = import_safety_scores(write_csv(tmp_path / "scores2.csv", rows))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert scores()[("30RR", "mo", 2022)] == (Decimal("8.10"), None)


def test_signal_names_the_school_year_of_the_survey(
    tmp_path, institutions, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, school_years, **kwargs):
        received.append(school_years)

    figure_inputs_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_safety_scores(
                write_csv(tmp_path / "s.csv", [HEADER, ["25LJ", "job", "2022", "81", ""]])
            )
    finally:
        figure_inputs_changed.disconnect(listener)
    # The JOB-monitor 2022 was held in school year 2021-2022.
    assert received == [{"2021-2022"}]


def test_command(tmp_path, institutions, capsys):
    good = write_csv(tmp_path / "good.csv", [HEADER, ["25LJ", "job", "2022", "81", ""]])
    call_command("import_safety_scores", str(good), "--dry-run")
    assert "niets opgeslagen" in capsys.readouterr().out
    assert not SafetyScore.objects.exists()
    call_command("import_safety_scores", str(good))
    assert SafetyScore.objects.count() == 1
    bad = write_csv(tmp_path / "bad.csv", [HEADER, ["25LJ", "job", "2022", "181", ""]])
    with pytest.raises(CommandError):
        call_command("import_safety_scores", str(bad))
    assert "regel 2, kolom value" in capsys.readouterr().err
