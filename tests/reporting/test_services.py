"""The figures computation: every stored count equals an independent ORM count, withdrawn
incidents and other years do not count, denominators and exclusions, survey years,
under-registration flags, idempotency, and the set swap readers rely on."""

from datetime import date

import pytest
from django.db import connection

from incidents.choices import Status
from incidents.models import Incident
from reporting import engine, groups, stats, surveys
from reporting.choices import FigureSetStatus
from reporting.engine import staleness, store
from reporting.models import (
    FigureSet,
    FigureYear,
    InstitutionRate,
    ScoreCorrelation,
    SectorRate,
)
from taxonomy.models import Category, IncidentType, Subcategory
from tests.factories import LocationFactory

from .conftest import YEAR, add_incidents, set_students

pytestmark = pytest.mark.django_db


def _current_rates(**filters):
    return InstitutionRate.objects.filter(
        figure_set__status=FigureSetStatus.CURRENT, school_year=YEAR, **filters
    )


def _orm_count(institution, group: str, victim_role: str) -> int:
    """The count the figures should hold, computed with plain ORM filters."""
    qs = Incident.objects.filter(institution=institution, school_year=YEAR).exclude(
        status=Status.WITHDRAWN
    )
    if group == "misdragingen":
        qs = qs.filter(incident_type__category__code="MIS")
    elif group == "ongevallen":
        qs = qs.exclude(incident_type__category__code="MIS")
    elif group != "total":
        if Category.objects.filter(code=group).exists():
            qs = qs.filter(incident_type__category__code=group)
        elif Subcategory.objects.filter(code=group).exists():
            qs = qs.filter(incident_type__subcategory__code=group)
        else:
            qs = qs.filter(incident_type__code=group)
    if victim_role != "all":
        qs = qs.filter(victim_role=victim_role)
    return qs.count()


def test_every_stored_count_equals_an_independent_orm_count(sector):
    engine.compute_school_year(YEAR)
    table = groups.group_table().groups
    # 3 institutions with a denominator x every group x 3 victim roles.
    assert _current_rates().count() == 3 * len(table) * 3
    assert len(table) == 3 + 4 + 13 + IncidentType.objects.count()
    for institution in (sector["a"], sector["b"], sector["d"]):
        stored = {
            (row.group, row.victim_role): row.count
            for row in _current_rates(institution=institution)
        }
        for group in table:
            for role in ("all", "student", "staff"):
                assert stored[(group.code, role)] == _orm_count(institution, group.code, role), (
                    institution.brin,
                    group.code,
                    role,
                )


def test_known_counts_and_rates(sector):
    engine.compute_school_year(YEAR)
    a_total = _current_rates(institution=sector["a"], group="total", victim_role="all").get()
    # 7 + 3 + 2 + 4 + 1 = 17; the 5 withdrawn and the 9 of 2023-2024 do not count.
    assert a_total.count == 17
    assert a_total.students == 2000
    expected = stats.exact_poisson_interval(17, 2000)
    assert (a_total.rate, a_total.ci_low, a_total.ci_high) == pytest.approx(
        (expected.rate, expected.ci_low, expected.ci_high)
    )
    assert a_total.method == "exact_poisson"
    assert a_total.taxonomy_version == "MIV-2023"
    a_mis = _current_rates(institution=sector["a"], group="misdragingen", victim_role="all").get()
    a_ong = _current_rates(institution=sector["a"], group="ongevallen", victim_role="all").get()
    assert (a_mis.count, a_ong.count) == (12, 5)
    a_staff = _current_rates(institution=sector["a"], group="MIS.FYS", victim_role="staff").get()
    assert a_staff.count == 3
    levels = dict(
        _current_rates(institution=sector["a"], victim_role="all").values_list("group", "level")
    )
    assert levels["total"] == "total" and levels["ongevallen"] == "report"
    assert levels["MIS"] == "category" and levels["MIS.FYS"] == "subcategory"
    assert levels["MIS.FYS.06"] == "type" and levels["BRA.01"] == "type"


def test_zero_incident_institution_has_rate_zero(sector):
    engine.compute_school_year(YEAR)
    d = _current_rates(institution=sector["d"], group="total", victim_role="all").get()
    assert (d.count, d.students, d.rate, d.ci_low) == (0, 800, 0.0, 0.0)
    assert d.ci_high == pytest.approx(stats.exact_poisson_interval(0, 800).ci_high)


def test_institution_without_student_count_is_excluded_with_reason(sector):
    figure_set = engine.compute_school_year(YEAR)
    assert not _current_rates(institution=sector["c"]).exists()
    assert figure_set.excluded == [
        {"institution_id": sector["c"].pk, "reason": "no_student_count", "count": 4}
    ]
    row = SectorRate.objects.get(figure_set=figure_set, group="total", victim_role="all")
    assert row.excluded == figure_set.excluded
    assert row.institutions == 3


def test_zero_students_is_excluded_with_its_own_reason(sector):
    set_students(sector["d"], 0)
    figure_set = engine.compute_school_year(YEAR)
    reasons = {e["institution_id"]: e["reason"] for e in figure_set.excluded}
    assert reasons[sector["d"].pk] == "zero_students"


def test_sector_rows_are_the_stats_of_the_included_institutions(sector):
    figure_set = engine.compute_school_year(YEAR)
    rows = _current_rates(group="total", victim_role="all").order_by("institution_id")
    expected = stats.sector_summary([r.count for r in rows], [r.students for r in rows])
    sector_row = SectorRate.objects.get(figure_set=figure_set, group="total", victim_role="all")
    assert sector_row.institutions == expected.k == 3
    assert sector_row.mean_rate == pytest.approx(expected.mean_rate)
    assert sector_row.mean_ci_low == pytest.approx(expected.mean_ci_low)
    assert sector_row.mean_ci_high == pytest.approx(expected.mean_ci_high)
    assert sector_row.pooled_count == 17 + 39 + 0
    assert sector_row.pooled_students == 2000 + 12500 + 800
    assert sector_row.pooled_rate == pytest.approx(expected.pooled_rate)
    assert sector_row.median == pytest.approx(expected.median)
    assert (sector_row.min_rate, sector_row.max_rate) == pytest.approx((0.0, 17 / 2000 * 1000))
    # One row per group and victim role.
    assert (
        SectorRate.objects.filter(figure_set=figure_set).count()
        == len(groups.group_table().groups) * 3
    )


def test_a_year_without_any_data_still_gets_a_complete_empty_set(institution_a):
    figure_set = engine.compute_school_year("2015-2016")
    assert figure_set.status == FigureSetStatus.CURRENT
    assert figure_set.institutions_included == 0
    assert figure_set.excluded[0]["reason"] == "no_student_count"
    row = SectorRate.objects.get(figure_set=figure_set, group="total", victim_role="all")
    assert row.institutions == 0 and row.mean_rate is None and row.pooled_rate is None


# --- Survey join and under-registration ------------------------------------------------------


def test_default_survey_is_the_latest_held_in_or_before_the_school_year(five):
    assert surveys.survey_school_year(2023) == "2022-2023"
    assert surveys.default_survey_year("job", "2022-2023") == 2023
    assert surveys.default_survey_year("job", "2021-2022") == 2021
    assert surveys.default_survey_year("job", "2024-2025") == 2025
    assert surveys.default_survey_year("job", "2019-2020") is None
    assert surveys.default_survey_year("mo", "2022-2023") is None


def test_correlation_rows_and_flagged_institutions(five):
    figure_set = engine.compute_school_year(YEAR)
    row = ScoreCorrelation.objects.get(figure_set=figure_set, group="total", source="job")
    assert row.survey_year == 2023
    assert row.n == 5 and row.status == "ok"
    rates = [5.0, 10.0, 15.0, 20.0, 25.0]
    expected = stats.correlation(rates, [70, 90, 80, 60, 85])
    assert row.pearson_r == pytest.approx(expected.pearson_r)
    assert row.spearman_p == pytest.approx(expected.spearman_p)
    assert (row.rate_median, row.score_median) == (15.0, 80.0)
    assert row.flagged == [{"institution_id": five[0].pk, "rate": 5.0, "score": 70.0}]
    # The scores used are frozen with the set (the points are its rates joined with them).
    frozen = figure_set.scores["job"]
    assert frozen["survey_year"] == 2023
    assert sorted(frozen["scores"].values()) == [60, 70, 80, 85, 90]
    mo = ScoreCorrelation.objects.get(figure_set=figure_set, group="total", source="mo")
    assert (mo.status, mo.survey_year, mo.n, mo.pearson_r, mo.flagged) == (
        "no_survey",
        None,
        0,
        None,
        [],
    )


def test_correlation_with_too_few_institutions_is_not_enough_data(five):
    for institution in five[3:]:
        institution.safety_scores.filter(survey_year=2023).delete()
    figure_set = engine.compute_school_year(YEAR)
    row = ScoreCorrelation.objects.get(figure_set=figure_set, group="total", source="job")
    assert (row.n, row.status, row.pearson_r, row.flagged) == (3, "not_enough_data", None, [])


# --- Idempotency, locking, the swap ----------------------------------------------------------


def _snapshot():
    rates = sorted(
        _current_rates().values_list(
            "institution_id",
            "group",
            "level",
            "victim_role",
            "count",
            "students",
            "rate",
            "ci_low",
            "ci_high",
        )
    )
    sector_rows = sorted(
        SectorRate.objects.filter(figure_set__status=FigureSetStatus.CURRENT).values_list(
            "group",
            "victim_role",
            "institutions",
            "mean_rate",
            "mean_ci_low",
            "pooled_rate",
            "median",
            "excluded",
        ),
        key=lambda r: (r[0], r[1]),
    )
    correlations = sorted(
        ScoreCorrelation.objects.filter(figure_set__status=FigureSetStatus.CURRENT).values_list(
            "group", "source", "survey_year", "n", "pearson_r", "spearman_rho", "flagged"
        ),
        key=lambda r: (r[0], r[1]),
    )
    return rates, sector_rows, correlations


def test_running_twice_gives_identical_results_and_one_current_set(sector, five):
    first = engine.compute_school_year(YEAR)
    before = _snapshot()
    second = engine.compute_school_year(YEAR)
    assert second.pk != first.pk
    assert _snapshot() == before
    statuses = dict(FigureSet.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "superseded", second.pk: "current"}


def test_superseded_sets_are_deleted_after_the_grace_period(sector, settings):
    settings.MIV_FIGURES_KEEP_SUPERSEDED_SECONDS = 0
    engine.compute_school_year(YEAR)
    engine.compute_school_year(YEAR)
    last = engine.compute_school_year(YEAR)
    assert list(FigureSet.objects.filter(school_year=YEAR).values_list("pk", flat=True)) == [
        last.pk
    ]
    assert not InstitutionRate.objects.exclude(figure_set=last).exists()


def test_a_crash_while_writing_leaves_the_old_set_current_and_is_cleaned_up(sector, monkeypatch):
    old = engine.compute_school_year(YEAR)
    before = _snapshot()
    real_write = store.write_rows
    calls = []

    def crash_on_second_table(model, columns, rows):
        calls.append(model)
        if len(calls) == 2:
            raise RuntimeError("worker died")
        real_write(model, columns, rows)

    monkeypatch.setattr(store, "write_rows", crash_on_second_table)
    add_incidents(LocationFactory(institution=sector["a"], code="A-2"), 3)
    with pytest.raises(RuntimeError):
        engine.compute_school_year(YEAR)
    # Readers still see the complete old set.
    assert FigureSet.objects.get(status=FigureSetStatus.CURRENT).pk == old.pk
    assert _snapshot() == before
    monkeypatch.setattr(store, "write_rows", real_write)
    new = engine.compute_school_year(YEAR)
    assert not FigureSet.objects.filter(status=FigureSetStatus.BUILDING).exists()
    a_total = _current_rates(institution=sector["a"], group="total", victim_role="all").get()
    assert a_total.count == 20 and a_total.figure_set_id == new.pk


def test_a_set_left_building_by_a_killed_worker_is_discarded(sector):
    from datetime import timedelta

    from django.utils import timezone

    engine.compute_school_year(YEAR)
    dead = FigureSet.objects.create(school_year=YEAR)
    InstitutionRate.objects.create(
        figure_set=dead,
        institution=sector["a"],
        school_year=YEAR,
        level="total",
        group="total",
        victim_role="all",
        count=999,
        students=1,
        rate=1,
        ci_low=0,
        ci_high=2,
        method="x",
        taxonomy_version="x",
        computed_at=timezone.now(),
    )
    # Older than a task may run (PostgreSQL discards it at once, under the advisory lock).
    FigureSet.objects.filter(pk=dead.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert _current_rates(group="total", victim_role="all", count=999).count() == 0
    engine.compute_school_year(YEAR)
    assert not FigureSet.objects.filter(pk=dead.pk).exists()
    assert not InstitutionRate.objects.filter(count=999).exists()


def test_an_older_computation_never_replaces_newer_figures(sector):
    newer = engine.compute_school_year(YEAR)
    FigureSet.objects.filter(pk=newer.pk).update(inputs_seq=5)
    older = FigureSet.objects.create(school_year=YEAR, inputs_seq=4)
    assert store.make_current(older).pk == newer.pk
    older.refresh_from_db()
    assert older.status == FigureSetStatus.SUPERSEDED


def test_publishing_updates_the_staleness_bookkeeping(sector):
    staleness.mark_stale([YEAR])
    year = FigureYear.objects.get(school_year=YEAR)
    assert year.stale and year.stale_since is not None
    figure_set = engine.compute_school_year(YEAR)
    year.refresh_from_db()
    assert not year.stale and year.stale_since is None
    assert figure_set.inputs_seq == year.change_seq == year.computed_seq == 1


def test_compute_rejects_a_malformed_school_year(db):
    with pytest.raises(ValueError):
        engine.compute_school_year("2022/2023")


def test_aggregation_reads_the_incidents_once_on_postgresql_and_twice_elsewhere(sector):
    # The incidents are read only by GROUP BY queries, whatever their number: the figures'
    # aggregate and the same period's counts per institution and month
    # (reporting.same_period); on PostgreSQL both in one scan (GROUPING SETS).
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        engine.compute_school_year(YEAR)
    incident_queries = [q["sql"] for q in queries if '"incidents_incident"' in q["sql"]]
    assert len(incident_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert all("GROUP BY" in sql for sql in incident_queries)


def test_the_one_scan_aggregate_equals_the_two_group_bys(sector):
    from reporting import same_period
    from reporting.engine import rows

    aggregate = rows.aggregate(YEAR)
    assert sorted(aggregate.counts) == sorted(rows.aggregate_counts(YEAR))
    assert sorted(aggregate.monthly) == sorted(same_period.month_rows(YEAR))
    assert sum(n for *_, n in aggregate.counts) == sum(n for *_, n in aggregate.monthly) > 0


def test_known_school_years_and_nightly_selection(sector):
    engine.compute_school_year(YEAR)
    assert engine.known_school_years() == ["2022-2023", "2023-2024"]
    years = engine.years_for_nightly_run(today=date(2024, 1, 10))
    # 2023-2024 has incidents but was never computed; it is also the current year.
    assert years == ["2023-2024"]
    staleness.mark_stale([YEAR])
    assert engine.years_for_nightly_run(today=date(2024, 1, 10)) == ["2022-2023", "2023-2024"]


def test_years_from_covers_later_years_up_to_now(sector):
    assert staleness.years_from("2022-2023")[:2] == ["2022-2023", "2023-2024"]
