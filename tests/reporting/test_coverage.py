"""Coverage and representativeness (Tabel 5.1) on hand-made data.

The pure part rebuilds the report's own Tabel 5.1 (57 institutions, 24 that delivered
registrations, 17 usable) from its printed margins and must reproduce its printed
percentages; the exact test is checked against scipy's ``fisher_exact`` (two strata) and
against an enumeration with ``scipy.stats.multivariate_hypergeom`` (four regions). The
Django part counts a small world by hand: registered, usable, marked, no count, inactive.
"""

import itertools

import pytest
from django.utils import translation
from scipy import stats as scipy_stats

from incidents.choices import InstitutionKind, Status
from incidents.models import Institution
from reporting import coverage, coverage_data
from reporting.models import StudentCount, UnusableYear
from tests.factories import InstitutionFactory, LocationFactory
from tests.reporting.conftest import YEAR, add_incidents

STUDENTS = {coverage.SIZE_SMALL: 2000, coverage.SIZE_MEDIUM: 8000, coverage.SIZE_LARGE: 20000}
KINDS = {coverage.KIND_ROC: "roc", coverage.KIND_COLLEGE: "aoc"}


def _group(sizes, kinds, regions, *, registered, start):
    """Institutions with the given margins (each list sums to the group's size): only the
    margins of Tabel 5.1 are printed, and only margins are compared, so any pairing does."""
    sizes = [c for c, n in zip(coverage.SIZE_CLASSES, sizes, strict=True) for _ in range(n)]
    kinds = [c for c, n in zip(coverage.KIND_CLASSES, kinds, strict=True) for _ in range(n)]
    regions = [c for c, n in zip(coverage.REGIONS, regions, strict=True) for _ in range(n)]
    assert len(sizes) == len(kinds) == len(regions)
    return [
        coverage.InstitutionYear(
            start + i, KINDS[kind], region, STUDENTS[size], registered=registered
        )
        for i, (size, kind, region) in enumerate(zip(sizes, kinds, regions, strict=True))
    ]


def report_table_5_1():
    """Tabel 5.1: usable 17 (size 3/8/6, beroepscollege 2 / ROC 15, regions N 1, O 3, Z 0,
    W 13); registered 24 (5/12/7, 5/19, 1/6/1/16); all 57 (18/29/10, 17/40, 7/13/10/27).
    Built as usable + registered-but-not-usable (here: marked) + not registered."""
    usable = _group((3, 8, 6), (2, 15), (1, 3, 0, 13), registered=True, start=0)
    marked = [
        coverage.InstitutionYear(
            i.institution_id, i.kind, i.region, i.students, True, marked_unusable=True
        )
        for i in _group((2, 4, 1), (3, 4), (0, 3, 1, 3), registered=True, start=100)
    ]
    silent = _group((13, 17, 3), (12, 21), (6, 7, 9, 11), registered=False, start=200)
    return usable + marked + silent


# Tabel 5.1 as printed (percentages of each column), usable and all institutions.
PRINTED = {
    ("size", coverage.SIZE_SMALL): (18, 32, 5, 21, 3, 18),
    ("size", coverage.SIZE_MEDIUM): (29, 51, 12, 50, 8, 47),
    ("size", coverage.SIZE_LARGE): (10, 18, 7, 29, 6, 35),
    ("kind", coverage.KIND_COLLEGE): (17, 30, 5, 21, 2, 12),
    ("kind", coverage.KIND_ROC): (40, 70, 19, 79, 15, 88),
    ("region", "noord"): (7, 12, 1, 4, 1, 6),
    ("region", "oost"): (13, 23, 6, 25, 3, 18),
    ("region", "zuid"): (10, 18, 1, 4, 0, 0),
    ("region", "west"): (27, 47, 16, 67, 13, 76),
}


def test_reproduces_the_reports_table_5_1():
    result = coverage.coverage(report_table_5_1())
    assert (result.population, result.registered, result.usable) == (57, 24, 17)
    assert result.marked_unusable == 7
    for row in result.strata:
        n_all, pct_all, n_reg, pct_reg, n_use, pct_use = PRINTED[(row.dimension, row.category)]
        assert (row.population, row.registered, row.usable) == (n_all, n_reg, n_use)
        assert round(100 * row.population_share) == pct_all
        assert round(100 * row.registered_share) == pct_reg
        assert round(100 * row.usable_share) == pct_use
    assert len(result.strata) == len(PRINTED)


def test_student_share():
    result = coverage.coverage(report_table_5_1())
    # By hand: all 18·2,000 + 29·8,000 + 10·20,000 = 468,000; usable 3·2,000 + 8·8,000 +
    # 6·20,000 = 190,000.
    assert (result.population_students, result.usable_students) == (468_000, 190_000)
    assert result.student_share == pytest.approx(190 / 468)


def test_kind_test_is_fishers_exact_test():
    result = coverage.coverage(report_table_5_1())
    test = result.tests[coverage.USABLE]["kind"]
    # 2 of 17 beroepscolleges and 15 of 40 ROCs are in the usable set.
    expected = scipy_stats.fisher_exact([[2, 15], [15, 25]]).pvalue
    assert test.p_value == pytest.approx(expected, rel=1e-9)
    assert test.sample_n == 17 and test.population_n == 57


def _enumerated_p(sample, population):
    """Two-sided exact p by enumeration with scipy's multivariate hypergeometric pmf."""
    n = sum(sample)
    observed = scipy_stats.multivariate_hypergeom.pmf(sample, population, n)
    total = 0.0
    for head in itertools.product(*[range(m + 1) for m in population[:-1]]):
        last = n - sum(head)
        if 0 <= last <= population[-1]:
            p = scipy_stats.multivariate_hypergeom.pmf([*head, last], population, n)
            if p <= observed * (1 + 1e-7):
                total += p
    return total


def test_region_test_against_an_independent_enumeration():
    result = coverage.coverage(report_table_5_1())
    usable = result.tests[coverage.USABLE]["region"]
    registered = result.tests[coverage.REGISTERED]["region"]
    assert usable.p_value == pytest.approx(_enumerated_p([1, 3, 0, 13], [7, 13, 10, 27]))
    assert registered.p_value == pytest.approx(_enumerated_p([1, 6, 1, 16], [7, 13, 10, 27]))
    # The report's point, as a test: no region Zuid and West over-represented is not chance.
    assert usable.p_value < 0.05
    assert {"not_proof", "one_dimension", "self_selection", coverage.LIMIT_POPULATION} <= set(
        usable.limits
    )


def test_unknown_categories_are_counted_apart_never_guessed():
    people = [
        coverage.InstitutionYear(1, "roc", "west", 5000, True),
        coverage.InstitutionYear(2, "overig", "", None, True),  # no kind, region or size
        coverage.InstitutionYear(3, "vak", "zuid", 0, False),  # a zero count is no count
    ]
    result = coverage.coverage(people)
    assert (result.population, result.registered, result.usable) == (3, 2, 1)
    assert result.registered_without_count == 1 and result.without_student_count == 2
    size = result.tests[coverage.USABLE]["size"]
    assert (size.population_n, size.population_unknown) == (1, 2)
    kinds = {row.category: row.population for row in result.rows("kind")}
    assert kinds == {coverage.KIND_ROC: 1, coverage.KIND_COLLEGE: 1}


@pytest.mark.parametrize(
    "students,expected",
    [
        (None, None),
        (0, None),
        (3999, coverage.SIZE_SMALL),
        (4000, coverage.SIZE_MEDIUM),
        (15000, coverage.SIZE_MEDIUM),
        (15001, coverage.SIZE_LARGE),
    ],
)
def test_size_classes_of_table_5_1(students, expected):
    assert coverage.size_class(students) == expected


def test_each_institution_once():
    with pytest.raises(ValueError):
        coverage.coverage([coverage.InstitutionYear(1, "roc", "west", 10, True)] * 2)


# --- From the database ------------------------------------------------------------------------


@pytest.fixture
def world(db):
    """Five institutions in 2022-2023, counted by hand:

    A: registered, 9,000 students                  -> usable
    B: registered, 3,000 students, marked          -> registered, not usable
    C: registered, no student count                -> registered, not usable
    D: not registered, 12,000 students             -> population only
    E: inactive, nothing this year                 -> not in the population
    F: inactive, but a withdrawn incident and a count -> population (count), not registered
    """
    made = {}
    for key, kind, region, active in (
        ("A", InstitutionKind.ROC, "west", True),
        ("B", InstitutionKind.AOC, "noord", True),
        ("C", InstitutionKind.VAK, "zuid", True),
        ("D", InstitutionKind.ROC, "oost", True),
        ("E", InstitutionKind.ROC, "oost", False),
        ("F", InstitutionKind.ROC, "west", False),
    ):
        made[key] = InstitutionFactory(name=f"College {key}", kind=kind, region=region)
        Institution.objects.filter(pk=made[key].pk).update(active=active)
    for key, n in (("A", 5), ("B", 2), ("C", 1)):
        add_incidents(LocationFactory(institution=made[key]), n)
    add_incidents(LocationFactory(institution=made["F"]), 3, status=Status.WITHDRAWN)
    for key, students in (("A", 9000), ("B", 3000), ("D", 12000), ("F", 1000)):
        StudentCount.objects.create(institution=made[key], school_year=YEAR, students=students)
    UnusableYear.objects.create(institution=made["B"], school_year=YEAR, reason="Eén vestiging.")
    return made


def test_coverage_from_the_database(world):
    years = {i.institution_id: i for i in coverage_data.institution_years(YEAR)}
    assert set(years) == {world[k].pk for k in "ABCDF"}
    assert years[world["B"].pk].marked_unusable and years[world["B"].pk].registered
    assert not years[world["F"].pk].registered  # withdrawn registrations do not count
    result = coverage_data.school_year_coverage(YEAR)
    assert (result.population, result.registered, result.usable) == (5, 3, 1)
    assert (result.marked_unusable, result.registered_without_count) == (1, 1)
    assert result.population_students == 9000 + 3000 + 12000 + 1000
    assert result.usable_students == 9000
    # Another year: nobody registered, the active institutions are the population.
    other = coverage_data.school_year_coverage("2019-2020")
    assert (other.population, other.registered, other.usable) == (4, 0, 0)


def test_coverage_sentence_in_both_languages(world):
    result = coverage_data.school_year_coverage(YEAR)
    # 1 of 5 institutions; 9,000 of 25,000 students = 36%.
    assert coverage_data.coverage_sentence(result, language="nl") == (
        "1 van 5 instellingen, 36% van de studenten"
    )
    assert coverage_data.coverage_sentence(result, language="en") == (
        "1 of 5 institutions, 36% of students"
    )


def test_coverage_sentence_of_the_report():
    result = coverage.coverage(report_table_5_1())
    with translation.override("nl"):
        assert coverage_data.coverage_sentence(result) == (
            "17 van 57 instellingen, 41% van de studenten"
        )
    with translation.override("en"):
        assert coverage_data.coverage_sentence(result) == "17 of 57 institutions, 41% of students"


def test_coverage_sentence_without_student_counts():
    result = coverage.coverage([coverage.InstitutionYear(1, "roc", "west", None, True)])
    assert coverage_data.coverage_sentence(result, language="nl") == "0 van 1 instelling"
    assert coverage_data.coverage_sentence(result, language="en") == "0 of 1 institution"


def test_stratum_labels_use_the_readers_number_format():
    with translation.override("nl"):
        assert coverage_data.stratum_label("size", coverage.SIZE_MEDIUM) == (
            "4.000 – 15.000 studenten"
        )
    with translation.override("en"):
        assert coverage_data.stratum_label("size", coverage.SIZE_MEDIUM) == (
            "4,000 – 15,000 students"
        )
        assert coverage_data.limit_text("not_proof").startswith("A high p-value")
