"""The statistics module against independently known values: published R/Stata results,
closed forms that need nothing but ``math``, the defining property of the exact interval
checked with a hand-written Poisson sum, and scipy's own ``pearsonr``/``spearmanr``."""

import json
import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from reporting import stats

# R: poisson.test(x, T = 1)$conf.int (Stata: cii means 1000 x, poisson gives the same).
R_POISSON_TEST = {
    0: (0.0, 3.688879),
    1: (0.02531781, 5.571643),
    2: (0.2422093, 7.224688),
    5: (1.623486, 11.668332),
    10: (4.795389, 18.390356),
}


@pytest.mark.parametrize("count", sorted(R_POISSON_TEST))
def test_exact_interval_matches_r_poisson_test(count):
    low, high = R_POISSON_TEST[count]
    # T = 1 in units of 1,000 students: N = 1,000.
    result = stats.exact_poisson_interval(count, 1000)
    assert result.rate == pytest.approx(count)
    assert result.ci_low == pytest.approx(low, abs=1e-6)
    assert result.ci_high == pytest.approx(high, abs=1e-6)
    assert result.method == "exact_poisson"


def test_issue_example_x_10_per_1000():
    result = stats.exact_poisson_interval(10, 1000)
    assert (round(result.ci_low, 4), round(result.ci_high, 4)) == (4.7954, 18.3904)


def test_zero_count_has_lower_zero_and_closed_form_upper():
    # x = 0: upper = chi2(0.975; 2)/2 = -ln(0.025), exactly.
    result = stats.exact_poisson_interval(0, 1000)
    assert result.ci_low == 0.0
    assert result.ci_high == pytest.approx(-math.log(0.025), rel=1e-12)


def test_one_count_closed_forms():
    # x = 1: lower = chi2(0.025; 2)/2 = -ln(0.975); upper solves e^-u (1 + u) = 0.025.
    result = stats.exact_poisson_interval(1, 1000)
    assert result.ci_low == pytest.approx(-math.log(0.975), rel=1e-12)
    assert math.exp(-result.ci_high) * (1 + result.ci_high) == pytest.approx(0.025, rel=1e-10)


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed by hand (no scipy)."""
    term = total = math.exp(-mu)
    for i in range(1, k + 1):
        term *= mu / i
        total += term
    return total


@pytest.mark.parametrize("count", [1, 3, 7, 25, 140])
@pytest.mark.parametrize("level", [0.90, 0.95, 0.99])
def test_exact_interval_has_its_defining_tail_probabilities(count, level):
    alpha = 1 - level
    result = stats.exact_poisson_interval(count, 1000, level)
    # At the upper limit P(X <= x) = alpha/2; at the lower limit P(X >= x) = alpha/2.
    assert _poisson_cdf(count, result.ci_high) == pytest.approx(alpha / 2, rel=1e-8)
    assert 1 - _poisson_cdf(count - 1, result.ci_low) == pytest.approx(alpha / 2, rel=1e-8)


def test_rate_scales_with_students_and_tiny_denominators_work():
    base = stats.exact_poisson_interval(3, 1000)
    tiny = stats.exact_poisson_interval(3, 7)
    factor = 1000 / 7
    assert tiny.rate == pytest.approx(3 * factor)
    assert tiny.ci_low == pytest.approx(base.ci_low * factor)
    assert tiny.ci_high == pytest.approx(base.ci_high * factor)
    one = stats.exact_poisson_interval(0, 1)
    assert one.ci_high == pytest.approx(-math.log(0.025) * 1000)


def test_vectorised_and_scalar_intervals_agree():
    counts = np.array([[0, 1, 10], [4, 50, 999]])
    students = np.array([[1000], [25000]])
    rate, low, high = stats.exact_poisson_intervals(counts, students)
    for i in range(2):
        for j in range(3):
            one = stats.exact_poisson_interval(int(counts[i, j]), int(students[i, 0]))
            assert (rate[i, j], low[i, j], high[i, j]) == pytest.approx(
                (one.rate, one.ci_low, one.ci_high)
            )


@pytest.mark.parametrize(
    "count, students, level",
    [(-1, 1000, 0.95), (1.5, 1000, 0.95), (1, 0, 0.95), (1, -5, 0.95), (1, 10, 1.0), (1, 10, 0)],
)
def test_exact_interval_rejects_nonsense(count, students, level):
    with pytest.raises(ValueError):
        stats.exact_poisson_interval(count, students, level)


def _approx_equal(a, b) -> bool:
    """Two result dataclasses equal up to floating-point rounding."""
    for key, value in a.__dict__.items():
        other = b.__dict__[key]
        if isinstance(value, float) and isinstance(other, float):
            if value != pytest.approx(other, rel=1e-12, abs=1e-12):
                return False
        elif value != other:
            return False
    return True


# --- Sector summary ---------------------------------------------------------------------------


def test_sector_summary_by_hand_k_3():
    # Rates 10, 20, 30 per 1,000: mean 20, s = 10, t(0.975; 2) = 0.95 * sqrt(2 / 0.0975)
    # (closed form for df = 2) = 4.302653, half width 4.302653 * 10 / sqrt(3) = 24.841377.
    summary = stats.sector_summary([10, 20, 30], [1000, 1000, 1000])
    t_975_2 = 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025))
    half = t_975_2 * 10 / math.sqrt(3)
    assert t_975_2 == pytest.approx(4.302653, abs=1e-6)
    assert summary.k == 3
    assert summary.mean_rate == pytest.approx(20)
    assert summary.mean_ci_low == pytest.approx(20 - half)
    assert summary.mean_ci_high == pytest.approx(20 + half)
    assert (summary.median, summary.min, summary.max) == (20, 10, 30)
    # Pooled: 60 incidents among 3,000 students, with its own exact interval.
    pooled = stats.exact_poisson_interval(60, 3000)
    assert summary.pooled_rate == pytest.approx(20)
    assert (summary.pooled_ci_low, summary.pooled_ci_high) == pytest.approx(
        (pooled.ci_low, pooled.ci_high)
    )
    assert summary.mean_method == "unweighted_mean_t"
    assert summary.pooled_method == "pooled_exact_poisson"


def test_mean_is_unweighted_and_pooled_is_weighted():
    # A big institution with a low rate and a small one with a high rate.
    summary = stats.sector_summary([10, 40], [10000, 1000])
    assert summary.mean_rate == pytest.approx((1 + 40) / 2)
    assert summary.pooled_rate == pytest.approx(50 / 11000 * 1000)


def test_sector_summary_k_2_uses_df_1():
    # t(0.975; 1) = tan(pi * 0.475) (Cauchy); rates 10 and 20: s = 7.0711, se = 5.
    summary = stats.sector_summary([10, 20], [1000, 1000])
    half = math.tan(math.pi * 0.475) * 5
    assert summary.mean_ci_low == pytest.approx(15 - half)
    assert summary.mean_ci_high == pytest.approx(15 + half)


def test_sector_summary_k_1_has_no_mean_interval_but_a_pooled_one():
    summary = stats.sector_summary([10], [1000])
    assert summary.k == 1
    assert summary.mean_rate == pytest.approx(10)
    assert summary.mean_ci_low is None and summary.mean_ci_high is None
    assert (summary.pooled_ci_low, summary.pooled_ci_high) == pytest.approx((4.795389, 18.390356))
    assert summary.median == summary.min == summary.max == pytest.approx(10)


def test_sector_summary_k_0_is_all_none_and_json_safe():
    summary = stats.sector_summary([], [])
    assert summary.k == 0
    assert summary.mean_rate is None and summary.pooled_rate is None and summary.median is None
    json.dumps(summary.__dict__, allow_nan=False)


def test_identical_rates_give_a_zero_width_mean_interval():
    summary = stats.sector_summary([5, 5, 5], [1000, 1000, 1000])
    assert summary.mean_ci_low == pytest.approx(5) and summary.mean_ci_high == pytest.approx(5)


def test_sector_summaries_vectorised_equal_the_scalar_ones():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 80, size=(9, 4))
    students = rng.integers(500, 30000, size=9)
    many = stats.sector_summaries(counts, students)
    for j in range(4):
        assert _approx_equal(many[j], stats.sector_summary(counts[:, j], students))


# --- Correlation ------------------------------------------------------------------------------


def _sample(n: int, seed: int):
    rng = random.Random(seed)
    x = [rng.uniform(1, 40) for _ in range(n)]
    y = [90 - 0.4 * v + rng.gauss(0, 4) for v in x]
    return x, y


@pytest.mark.parametrize("n, seed", [(4, 1), (5, 2), (17, 3), (54, 4)])
@pytest.mark.parametrize("level", [0.90, 0.95])
def test_correlation_equals_scipy(n, seed, level):
    x, y = _sample(n, seed)
    result = stats.correlation(x, y, level)
    pearson = scipy_stats.pearsonr(x, y)
    interval = pearson.confidence_interval(confidence_level=level)
    spearman = scipy_stats.spearmanr(x, y)
    assert result.status == "ok" and result.n == n
    assert result.pearson_r == pytest.approx(pearson.statistic, abs=1e-12)
    assert result.pearson_p == pytest.approx(pearson.pvalue, rel=1e-9, abs=1e-15)
    assert result.pearson_ci_low == pytest.approx(interval.low, abs=1e-12)
    assert result.pearson_ci_high == pytest.approx(interval.high, abs=1e-12)
    assert result.spearman_rho == pytest.approx(spearman.statistic, abs=1e-12)
    assert result.spearman_p == pytest.approx(spearman.pvalue, rel=1e-9, abs=1e-15)


def test_fisher_interval_by_hand():
    # r = 0.5 with n = 28: z = atanh(0.5), se = 1/5, interval tanh(z -+ 1.959964 * 0.2).
    # y is built to have a sample correlation of exactly 0.5 with x.
    x = np.arange(28, dtype=float)
    noise = np.sin(np.arange(28) * 7.3)
    xc = (x - x.mean()) / x.std()
    e = noise - noise.mean()
    e -= (e @ xc) / (xc @ xc) * xc
    e /= e.std()
    y = 0.5 * xc + math.sqrt(1 - 0.25) * e
    result = stats.correlation(x, y)
    z = math.atanh(0.5)
    assert result.pearson_r == pytest.approx(0.5, abs=1e-12)
    assert result.pearson_ci_low == pytest.approx(math.tanh(z - 1.959964 * 0.2), abs=1e-6)
    assert result.pearson_ci_high == pytest.approx(math.tanh(z + 1.959964 * 0.2), abs=1e-6)


def test_spearman_handles_ties_like_scipy():
    x = [1, 2, 2, 3, 5, 5, 5, 8]
    y = [10, 9, 9, 7, 7, 3, 2, 1]
    result = stats.correlation(x, y)
    expected = scipy_stats.spearmanr(x, y)
    assert result.spearman_rho == pytest.approx(expected.statistic)
    assert result.spearman_p == pytest.approx(expected.pvalue)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_fewer_than_four_points_is_not_enough_data(n):
    result = stats.correlation(list(range(n)), [v * 2.0 for v in range(n)])
    assert result.status == "not_enough_data" and result.n == n
    assert result.pearson_r is None and result.pearson_p is None and result.spearman_rho is None
    json.dumps(result.__dict__, allow_nan=False)


def test_constant_input_is_no_variation_not_nan():
    result = stats.correlation([3, 3, 3, 3, 3], [1, 2, 3, 4, 5])
    assert result.status == "no_variation"
    assert result.pearson_r is None
    json.dumps(result.__dict__, allow_nan=False)


def test_perfect_correlation_is_finite():
    result = stats.correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert result.pearson_r == pytest.approx(1.0)
    assert result.pearson_p == pytest.approx(0.0, abs=1e-12)
    assert (result.pearson_ci_low, result.pearson_ci_high) == pytest.approx((1.0, 1.0))
    json.dumps(result.__dict__, allow_nan=False)


def test_correlation_rejects_nan_and_mismatched_lengths():
    with pytest.raises(ValueError):
        stats.correlation([1, 2, float("nan"), 4], [1, 2, 3, 4])
    with pytest.raises(ValueError):
        stats.correlation([1, 2, 3, 4], [1, 2, 3])


def test_vectorised_correlations_equal_the_scalar_ones():
    x1, y = _sample(12, 9)
    x2 = [v * v for v in x1]
    columns = np.column_stack([x1, x2, [4.0] * 12])
    many = stats.correlations(columns, y)
    assert _approx_equal(many[0], stats.correlation(x1, y))
    assert _approx_equal(many[1], stats.correlation(x2, y))
    assert many[2].status == "no_variation"


# --- Possible under-registration ------------------------------------------------------------


def test_below_both_medians_is_strict_and_uses_both_medians():
    rates = [5, 10, 15, 20, 25]
    scores = [70, 90, 80, 60, 85]
    result = stats.below_both_medians(rates, scores)
    assert (result.rate_median, result.score_median) == (15, 80)
    # Rate 5 with score 70: both below. Rate 10 with score 90, rate 20 with 60: only one.
    assert result.indices == [0]


def test_below_both_medians_of_nothing():
    assert stats.below_both_medians([], []).indices == []
