"""Funnel-plot limits, overdispersion and the rate ratio against independently known values:
R 4.2 results written in as literals (the R code is in each comment), a hand computation of
the interpolated limit from Poisson probabilities summed with ``math``, and the
Clopper-Pearson limits recomputed with ``scipy.stats.beta``."""

import math

import pytest
from scipy import stats as scipy_stats

from reporting import stats

# R, the interpolated limit written out independently:
#   lim <- function(theta, p) { r <- qpois(p, theta)
#     a <- (ppois(r, theta) - p) / (ppois(r, theta) - ppois(r - 1, theta)); max(r - a, 0) }
#   theta <- 13 * n / 1000
#   qpois(c(0.001, 0.025, 0.975, 0.999), theta)                            # plain quantiles
#   c(lim(theta, .001), lim(theta, .025), lim(theta, .975), lim(theta, .999)) * 1000 / n
R_FUNNEL = {
    # n: (plain count quantiles 0.1%, 2.5%, 97.5%, 99.9%), (interpolated, per 1,000)
    500: ((0, 2, 12, 16), (0.0, 2.864240551584, 22.994746025705, 30.438157752685)),
    2400: ((15, 21, 43, 50), (6.232033628879, 8.425771209581, 17.545691352745, 20.566964530210)),
    12300: (
        (122, 136, 185, 200),
        (9.899823458092, 10.983363284102, 15.013200215070, 16.250197217116),
    ),
    24500: (
        (265, 284, 354, 375),
        (10.787140822268, 11.571018929313, 14.426805717311, 15.288518615063),
    ),
}
SECTOR_RATE = 13.0


@pytest.mark.parametrize("students", sorted(R_FUNNEL))
def test_funnel_limits_match_r(students):
    _plain, (low_998, low_95, high_95, high_998) = R_FUNNEL[students]
    inner, outer = stats.funnel_limits(SECTOR_RATE, [students])
    assert (inner.level, outer.level) == (0.95, 0.998)
    assert inner.lower[0] == pytest.approx(low_95, abs=1e-9)
    assert inner.upper[0] == pytest.approx(high_95, abs=1e-9)
    assert outer.lower[0] == pytest.approx(low_998, abs=1e-9)
    assert outer.upper[0] == pytest.approx(high_998, abs=1e-9)
    assert inner.sector_rate == SECTOR_RATE and inner.students == (students,)


@pytest.mark.parametrize("students", sorted(R_FUNNEL))
def test_plain_quantiles_match_r_qpois(students):
    plain, _interpolated = R_FUNNEL[students]
    theta = SECTOR_RATE * students / 1000
    got = [
        stats.poisson_limit_counts(theta, p, interpolate=False)
        for p in (0.001, 0.025, 0.975, 0.999)
    ]
    assert [int(v) for v in got] == list(plain)


def test_interpolated_limit_by_hand():
    """θ = 2: P(X ≤ r) = e^-2 Σ 2^k/k!. The 97.5% quantile is r = 5 (P ≤ 4 = 0.9473,
    P ≤ 5 = 0.9834), α = (0.9834 − 0.975)/(0.9834 − 0.9473), limit 5 − α ≈ 4.7662."""
    cdf = [math.exp(-2) * sum(2**k / math.factorial(k) for k in range(r + 1)) for r in range(7)]
    assert cdf[4] < 0.975 <= cdf[5]
    alpha = (cdf[5] - 0.975) / (cdf[5] - cdf[4])
    assert float(stats.poisson_limit_counts(2.0, 0.975)) == pytest.approx(5 - alpha, rel=1e-12)
    assert float(stats.poisson_limit_counts(2.0, 0.975)) == pytest.approx(4.766236361715)
    # The 2.5% quantile is 0 and its interpolated limit below 0: it is 0.
    assert float(stats.poisson_limit_counts(2.0, 0.025)) == 0.0


def test_funnel_narrows_with_size_and_brackets_the_sector_rate():
    sizes = [500, 2000, 8000, 32000]
    inner, outer = stats.funnel_limits(SECTOR_RATE, sizes)
    widths = [u - lo for lo, u in zip(inner.lower, inner.upper, strict=True)]
    assert widths == sorted(widths, reverse=True)
    for i in range(len(sizes)):
        assert outer.lower[i] <= inner.lower[i] < SECTOR_RATE < inner.upper[i] <= outer.upper[i]


def test_funnel_positions():
    # 12,300 students around 13 per 1,000: limits 10.98-15.01 (95%) and 9.90-16.25 (99.8%).
    counts = [210, 190, 160, 130, 110]  # rates 17.07, 15.45, 13.01, 10.57, 8.94
    positions = stats.funnel_positions(counts, [12300] * 5, SECTOR_RATE)
    assert positions == [
        stats.ABOVE_OUTER,
        stats.ABOVE_INNER,
        stats.WITHIN,
        stats.BELOW_INNER,
        stats.BELOW_OUTER,
    ]


def test_funnel_refuses_nonsense():
    with pytest.raises(ValueError):
        stats.funnel_limits(13.0, [0])
    with pytest.raises(ValueError):
        stats.funnel_limits(float("nan"), [100])
    with pytest.raises(ValueError):
        stats.poisson_limit_counts(1.0, 1.0)


def test_overdispersion_matches_r():
    # x <- c(30, 12, 55, 8); N <- c(2000, 1500, 3000, 1200); rho <- sum(x)/sum(N)*1000
    # E <- rho*N/1000; z2 <- sum((x-E)^2/E); c(z2/4, pchisq(z2, 3, lower.tail=FALSE))
    rate = 105 / 7700 * 1000
    result = stats.overdispersion([30, 12, 55, 8], [2000, 1500, 3000, 1200], rate)
    assert result.k == 4
    assert result.phi == pytest.approx(3.223888888889, rel=1e-10)
    assert result.p_value == pytest.approx(0.004868003778, rel=1e-8)
    assert stats.overdispersion([3], [100], 10.0).phi is None


# R: r <- poisson.test(c(x1, x2), c(N1, N2), conf.level = level)
#    c(r$estimate, r$conf.int, r$p.value)
R_RATE_RATIO = [
    # (x1, N1, x2, N2, level), (estimate, low, high, p)
    ((30, 12000, 18, 11500, 0.95),
     (1.597222222222, 0.861882847020, 3.042684189468, 0.148066627312)),
    ((412, 24500, 380, 24100, 0.998),
     (1.066509129968, 0.854029473084, 1.332659194345, 0.374437322695)),
    ((7, 1900, 19, 1950, 0.95),
     (0.378116343490, 0.134323334670, 0.939334918853, 0.029305031739)),
    ((0, 3000, 4, 3000, 0.95), (0.0, 0.0, 1.514866859366, 0.125)),
]  # fmt: skip


@pytest.mark.parametrize("args,expected", R_RATE_RATIO)
def test_rate_ratio_matches_r_poisson_test(args, expected):
    x1, n1, x2, n2, level = args
    result = stats.rate_ratio(x1, n1, x2, n2, level)
    estimate, low, high, p = expected
    assert result.status == stats.OK
    assert result.ratio == pytest.approx(estimate, abs=1e-10)
    assert result.ci_low == pytest.approx(low, abs=1e-9)
    assert result.ci_high == pytest.approx(high, abs=1e-9)
    assert result.p_value == pytest.approx(p, abs=1e-9)
    assert result.level == level and result.method == stats.RATE_RATIO_METHOD


@pytest.mark.parametrize("x1,n1,x2,n2", [(30, 12000, 18, 11500), (7, 1900, 19, 1950)])
def test_rate_ratio_is_clopper_pearson_transformed(x1, n1, x2, n2):
    """The same limits from scipy's beta distribution: p in Clopper-Pearson, then
    RR = p / (1 - p) · N2 / N1."""
    n = x1 + x2
    p_low = scipy_stats.beta.ppf(0.025, x1, n - x1 + 1)
    p_high = scipy_stats.beta.ppf(0.975, x1 + 1, n - x1)
    result = stats.rate_ratio(x1, n1, x2, n2)
    assert result.ci_low == pytest.approx(p_low / (1 - p_low) * n2 / n1, rel=1e-9)
    assert result.ci_high == pytest.approx(p_high / (1 - p_high) * n2 / n1, rel=1e-9)


def test_rate_ratio_without_incidents_last_year():
    # R: poisson.test(c(5, 0), c(2000, 2100)): estimate Inf, conf.int 0.962173650181 - Inf,
    # p 0.027620446488. Infinity is not a number here: None, with the status saying why.
    result = stats.rate_ratio(5, 2000, 0, 2100)
    assert result.status == stats.NO_PREVIOUS
    assert result.ratio is None and result.ci_high is None
    assert result.ci_low == pytest.approx(0.962173650181, abs=1e-9)
    assert result.p_value == pytest.approx(0.027620446488, abs=1e-9)


def test_rate_ratio_without_any_incident():
    result = stats.rate_ratio(0, 2000, 0, 2100)
    assert result.status == stats.NOT_ENOUGH_DATA
    assert (result.ratio, result.ci_low, result.ci_high, result.p_value) == (None,) * 4


def test_rate_ratio_refuses_nonsense():
    with pytest.raises(ValueError):
        stats.rate_ratio(3, 0, 2, 100)
    with pytest.raises(ValueError):
        stats.rate_ratio(-1, 100, 2, 100)
    with pytest.raises(ValueError):
        stats.rate_ratio(1.5, 100, 2, 100)
