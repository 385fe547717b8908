"""Figures 5.4–5.9, Tabel 5.2 and figures 6.1, 6.3 and 6.5 on hand-made answers, against
values counted by hand and computed independently with scipy (pure, no database)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from questionnaire import analyses, figures
from questionnaire.answers import Answers
from reporting import representativeness
from tests.questionnaire.test_rules import PROVISIONS, Q, complete_answers


def answers(v3=None, v4=None, v5=None, v10=None, v11=None, v12=None, v14=None, v6=None):
    """A complete answer set with some questions replaced (dicts of item -> codes)."""
    a = complete_answers()
    for question, rows in (
        ("V3", v3),
        ("V4", v4),
        ("V5", v5),
        ("V10", v10),
        ("V11", v11),
        ("V12", v12),
        ("V14", v14),
    ):
        if rows is None:
            continue
        a.choices.pop(question, None)
        for item, codes in rows.items():
            a.set_choice(question, item, [codes] if isinstance(codes, str) else codes)
    if v6 is not None:
        a.set_choice("V6", "", [v6])
    return a


# Four institutions; the sector has ten.
SECTOR = 10
ANSWERS = {
    "A": answers(),  # all six provisions at all/most locations
    "B": answers(
        v3={"V3a": "yes", "V3b": "no", "V3c": "unknown", "V3d": "yes", "V3e": "no", "V3f": "no"},
        v4={"V3a": "part", "V3d": "one_few"},
        v5={"V5a": "none", "V5b": "none", "V5c": "none", "V5d": "none"},
        v10={"V10a": "not_evaluated", "V10b": "not_evaluated", "V10c": "not_evaluated"},
        v11={},
        v14={f"V14{c}": "same" for c in "abcdefghijkl"},
    ),
    "C": answers(
        v3={"V3a": "yes", "V3b": "yes", "V3c": "no", "V3d": "yes", "V3e": "yes", "V3f": "no"},
        v4={"V3a": "all_most", "V3b": "part", "V3d": "all_most", "V3e": "all_most"},
        v5={"V5a": "much", "V5b": "little", "V5c": "much", "V5d": "no_view"},
        v6="very_satisfied",
        v10={"V10a": ["central", "all_locations"], "V10b": "central", "V10c": "some_locations"},
        v11={"V11a": ["central", "all_locations"], "V11c": "some_locations"},
        v14={**{f"V14{c}": "much_more" for c in "abcdef"}, **{f"V14{c}": "less" for c in "ghijkl"}},
    ),
    "D": answers(
        v3={"V3a": "yes", "V3b": "yes", "V3c": "yes", "V3d": "yes", "V3e": "unknown", "V3f": "yes"},
        v4={"V3a": "all_most", "V3b": "all_most", "V3c": "one_few", "V3d": "part", "V3f": "part"},
        v10={"V10a": "all_locations", "V10b": "not_evaluated", "V10c": "central"},
        v11={"V11b": ["central", "all_locations"], "V11d": "all_locations"},
    ),
}


def test_distribution_counts_each_institution_once_per_row():
    v5, v6 = figures.figure_5_5(Q, ANSWERS, SECTOR)
    gemeente = v5.row("V5a")
    assert (gemeente.asked, gemeente.n) == (4, 4)
    assert [(c.option, c.count) for c in gemeente.counts] == [
        ("none", 1),
        ("little", 0),
        ("fair", 2),
        ("much", 1),
        ("no_view", 0),
    ]
    assert gemeente.share("fair") == 0.5
    assert (v5.answered, v5.population, v5.coverage) == (4, 10, 0.4)
    # V6 is asked of the three institutions that cooperate with someone (B does not).
    row = v6.row("")
    assert (row.asked, row.n) == (3, 3)
    assert row.count("satisfied") == 2 and row.count("very_satisfied") == 1
    assert row.share("satisfied") == pytest.approx(2 / 3)
    assert v6.coverage == 0.3


def test_figure_5_4_combines_presence_and_spread():
    figure = figures.figure_5_4(Q, ANSWERS, SECTOR)
    confidant = figure.row("V3a")
    assert confidant.n == 4
    assert confidant.count("all_most") == 3 and confidant.count("part") == 1
    training = figure.row("V3c")  # A all/most, B don't know, C no, D one/a few
    assert [training.count(k) for k in ("all_most", "part", "one_few")] == [1, 0, 1]
    assert training.count(figures.ABSENT) == 1 and training.count(figures.UNKNOWN) == 1
    assert sum(c.share for c in training.counts) == pytest.approx(1.0)
    other = figure.row("V3g")  # nobody answered "Anders"
    assert other.n == 0 and all(c.share is None for c in other.counts)


def test_figure_5_6_and_5_7_levels_and_sources():
    v10 = figures.figure_5_6(Q, ANSWERS, SECTOR)
    cycle = v10.row("V10a")  # A central; B not; C central + all; D all
    assert [cycle.count(k) for k in ("central", "all_locations", "some_locations")] == [2, 2, 0]
    assert cycle.count("not_evaluated") == 1
    # Several answers per row: shares of the same four institutions add up to over 100 %.
    assert sum(c.share for c in cycle.counts) == pytest.approx(5 / 4)

    v11, per_level = figures.figure_5_7(Q, ANSWERS, SECTOR)
    assert v11.row("V11a").asked == 3  # B does not evaluate: V11 is not asked
    central = next(level for level in per_level if level.level == "central")
    # Evaluating centrally: A (all moments), C (a, b), D (c): three institutions.
    assert central.n == 3
    counts = {c.option: c.count for c in central.counts}
    # Central level: A uses external surveys (V11b), C own surveys, D external surveys.
    assert counts == {"V11a": 1, "V11b": 2, "V11c": 0, "V11d": 0, "V11e": 0}
    locations = next(level for level in per_level if level.level == "all_locations")
    assert locations.n == 2  # C and D
    assert {c.option: c.count for c in locations.counts}["V11d"] == 1


def test_figure_5_8_and_5_9_themes():
    v12 = figures.figure_5_8(Q, ANSWERS, SECTOR)
    assert v12.row("V12a").count("no") == 4 and v12.row("V12a").share("no") == 1.0
    v14, more = figures.figure_5_9(Q, ANSWERS, SECTOR)
    absence = next(m for m in more if m.item == "V14a")  # A more, B same, C much more, D more
    assert (absence.n, absence.count, absence.share) == (4, 3, 0.75)
    rules = next(m for m in more if m.item == "V14g")  # C says less
    assert (rules.count, rules.share) == (2, 0.5)
    assert v14.row("V14g").count("less") == 1


def test_open_questions_are_never_counted():
    with pytest.raises(ValueError, match="open"):
        figures.distribution(Q, ANSWERS, "V15", SECTOR)


def test_no_answers_give_no_shares_not_zero():
    figure = figures.distribution(Q, {}, "V2", SECTOR)
    assert figure.row("").n == 0 and figure.row("").share("no") is None
    assert figure.coverage == 0.0
    assert figures.distribution(Q, {}, "V2", 0).coverage is None


# --- Tabel 5.2 ---------------------------------------------------------------------------------


def brute_force_p(sample, population):
    """The exact p-value by brute force in exact fractions (independent of numpy/scipy)."""
    n, big_n = sum(sample), sum(population)
    total = math.comb(big_n, n)

    def prob(counts):
        return Fraction(
            math.prod(math.comb(N, x) for N, x in zip(population, counts, strict=True)), total
        )

    observed = prob(sample)
    p = Fraction(0)
    for counts in itertools.product(*[range(N + 1) for N in population]):
        if sum(counts) == n and prob(counts) <= observed:
            p += prob(counts)
    return float(p)


@pytest.mark.parametrize(
    "sample, population",
    [((3, 4), (10, 12)), ((0, 5), (6, 9)), ((7, 1), (8, 20)), ((2, 2), (4, 4))],
)
def test_exact_test_equals_fisher_on_two_categories(sample, population):
    table = [list(sample), [population[0] - sample[0], population[1] - sample[1]]]
    expected = stats.fisher_exact(table).pvalue
    assert representativeness.exact_subset_p(sample, population) == pytest.approx(expected)


def test_exact_test_by_hand_on_three_categories():
    # Population 2/2/2, sample of two: the six possible samples have probabilities 1/15
    # ((2,0,0) and its permutations) and 4/15 ((1,1,0) ...).
    assert representativeness.exact_subset_p((2, 0, 0), (2, 2, 2)) == pytest.approx(3 / 15)
    assert representativeness.exact_subset_p((1, 1, 0), (2, 2, 2)) == pytest.approx(1.0)


def test_exact_test_on_the_regions_of_tabel_5_2():
    # The report: 31 of 57 institutions, Noord 3/7, Oost 7/13, West 18/27, Zuid 3/10.
    sample, population = (3, 7, 18, 3), (7, 13, 27, 10)
    p = representativeness.exact_subset_p(sample, population)
    assert p == pytest.approx(brute_force_p(sample, population), rel=1e-9)
    # And scipy's Monte Carlo Fisher test of the same 2 x 4 table agrees within its error.
    table = [list(sample), [N - x for N, x in zip(population, sample, strict=True)]]
    method = stats.MonteCarloMethod(n_resamples=40_000, rng=np.random.default_rng(2023))
    mc = stats.fisher_exact(table, method=method).pvalue
    assert abs(mc - p) < 4 * math.sqrt(p * (1 - p) / 40_000)


def test_tabel_5_2_shares_differences_and_limits():
    regions = {
        i: r for i, r in enumerate(["noord"] * 7 + ["oost"] * 13 + ["west"] * 27 + ["zuid"] * 10)
    }
    regions[57] = None  # an institution without a region
    students = {i: 8000 if i % 3 else 16000 for i in regions}
    students[56] = None
    sample = (
        [i for i in range(7) if i < 3] + list(range(7, 14)) + list(range(20, 38)) + [47, 48, 49]
    )
    by_region, by_size = representativeness.table_5_2(regions, students, sample)
    west = next(s for s in by_region.strata if s.category == "west")
    assert (west.sample_n, west.population_n) == (18, 27)
    assert west.sample_share == pytest.approx(18 / 31)
    assert west.population_share == pytest.approx(27 / 57)
    assert west.difference_pp == pytest.approx((18 / 31 - 27 / 57) * 100)
    assert (by_region.sample_n, by_region.population_n, by_region.population_unknown) == (31, 57, 1)
    assert by_region.p_value == pytest.approx(brute_force_p((3, 7, 18, 3), (7, 13, 27, 10)))
    assert by_region.method == representativeness.EXACT_METHOD
    assert {"not_proof", "one_dimension", "self_selection", "small_expected"} <= set(
        by_region.limits
    )
    assert by_size.population_unknown == 1
    assert sum(s.population_n for s in by_size.strata) == 57


def test_size_classes_of_tabel_5_2():
    assert representativeness.size_class(9_999) == representativeness.SIZE_SMALL
    assert representativeness.size_class(10_000) == representativeness.SIZE_MEDIUM
    assert representativeness.size_class(15_000) == representativeness.SIZE_MEDIUM
    assert representativeness.size_class(15_001) == representativeness.SIZE_LARGE
    assert representativeness.size_class(None) is None


def test_a_sample_outside_the_population_is_refused():
    with pytest.raises(ValueError):
        representativeness.representativeness("region", {1: "west"}, [2], ("west",))


# --- Figures 6.1, 6.3, 6.5 -----------------------------------------------------------------


def provisions(count: int) -> Answers:
    a = complete_answers()
    for index, item in enumerate(PROVISIONS):
        a.set_choice("V3", item, ["yes" if index < count else "no"])
    return a


def test_provision_count_counts_yes_only():
    a = provisions(4)
    a.set_choice("V3", "V3a", ["unknown"])  # don't know is not present
    assert analyses.provision_count(Q, a) == 3
    a.set_choice("V3", "V3f", [])
    assert analyses.provision_count(Q, a) is None


COUNTS = {"A": 2, "B": 3, "C": 3, "D": 4, "E": 5, "F": 5, "G": 6, "H": 6, "I": 6, "J": 3}
JOB = {"A": 84.0, "B": 79.5, "C": 83.0, "D": 81.0, "E": 86.5, "F": 78.0, "G": 85.0, "H": 77.0,
       "I": 82.5, "K": 90.0}  # fmt: skip
MO = {"A": 8.1, "B": 7.2, "C": 8.4, "D": 7.9, "E": 8.0, "F": 7.7, "G": 8.3, "H": 7.4, "I": 8.2}


def test_figure_6_3_against_scipy_and_group_means_by_hand():
    answers_by = {key: provisions(count) for key, count in COUNTS.items()}
    result = analyses.figure_6_3(Q, answers_by, JOB)
    xs = [COUNTS[k] for k in sorted(JOB) if k in COUNTS]
    ys = [JOB[k] for k in sorted(JOB) if k in COUNTS]
    assert [(p.institution, p.x, p.y) for p in result.points] == [
        (k, COUNTS[k], JOB[k]) for k in sorted(JOB) if k in COUNTS
    ]
    pearson = stats.pearsonr(xs, ys)
    interval = pearson.confidence_interval(0.95)
    spearman = stats.spearmanr(xs, ys)
    c = result.correlation
    assert c.n == 9
    assert c.pearson_r == pytest.approx(pearson.statistic)
    assert c.pearson_p == pytest.approx(pearson.pvalue)
    assert (c.pearson_ci_low, c.pearson_ci_high) == pytest.approx((interval.low, interval.high))
    assert c.spearman_rho == pytest.approx(spearman.statistic)
    assert c.spearman_p == pytest.approx(spearman.pvalue)
    # Group means by hand: 3 provisions -> B 79.5, C 83.0 (J has no JOB score).
    three = next(g for g in result.groups if g.x == 3)
    assert (three.n, three.mean, three.min, three.max) == (2, 81.25, 79.5, 83.0)
    assert three.sd == pytest.approx(math.sqrt(((79.5 - 81.25) ** 2 + (83 - 81.25) ** 2) / 1))
    six = next(g for g in result.groups if g.x == 6)
    assert (six.n, six.mean) == (3, pytest.approx((85.0 + 77.0 + 82.5) / 3))
    two = next(g for g in result.groups if g.x == 2)
    assert two.sd is None
    assert [g.x for g in result.groups] == [2, 3, 4, 5, 6]
    # K has a score but no answers; J answers but has no score.
    assert result.excluded == {analyses.NO_ANSWERS: 1, analyses.NO_Y: 1}


def test_figure_6_5_against_scipy():
    answers_by = {key: provisions(count) for key, count in COUNTS.items()}
    result = analyses.figure_6_5(Q, answers_by, MO)
    keys = sorted(MO)
    spearman = stats.spearmanr([COUNTS[k] for k in keys], [MO[k] for k in keys])
    assert result.correlation.n == 9
    assert result.correlation.spearman_rho == pytest.approx(spearman.statistic)
    assert result.y == "mo" and result.x == "provisions"


def test_figure_6_1_against_scipy():
    result = analyses.figure_6_1(MO, JOB)
    keys = sorted(set(MO) & set(JOB))
    pearson = stats.pearsonr([MO[k] for k in keys], [JOB[k] for k in keys])
    assert result.correlation.n == len(keys) == 9
    assert result.correlation.pearson_r == pytest.approx(pearson.statistic)
    assert result.correlation.pearson_p == pytest.approx(pearson.pvalue)
    assert result.excluded == {analyses.NO_X: 1}  # K has a JOB score only
    assert all(p.x == MO[p.institution] and p.y == JOB[p.institution] for p in result.points)


def test_too_few_institutions_give_no_correlation():
    result = analyses.figure_6_1({"A": 8.0, "B": 7.0}, {"A": 80.0, "B": 75.0})
    assert result.correlation.status == "not_enough_data"
    assert result.correlation.pearson_r is None
