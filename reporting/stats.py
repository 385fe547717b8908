"""The statistics behind the MIV figures (report chapters 5 and 6). Pure functions: no
Django, no database; numpy and scipy underneath.

Five things are computed, each always labelled with its method:

* a **rate per 1,000 students** with the exact (Garwood) Poisson interval, the interval R's
  ``poisson.test(x, T = N/1000)`` and Stata's exact Poisson CI report;
* a **sector summary** of the institutions' rates: the unweighted mean with a t-interval
  (df = k - 1, as figure 5.1 of the report) *and* the pooled rate Σx/ΣN·1000 with its
  exact interval, plus median, minimum, maximum and k. The two are different estimands
  (the typical institution versus the sector as a whole) and are never mixed;
* a **correlation** between the institutions' rates and a survey score: Pearson r with its
  two-sided p-value and Fisher-z interval, Spearman ρ with its p-value, and n;
* **funnel-plot control limits** (95% and 99.8%) around the sector rate for an institution
  of N students, exact Poisson with Spiegelhalter's interpolation, and where each
  institution lies; with the overdispersion the limits ignore (see "Funnel plots" below);
* the **change from last year** as a rate ratio with the exact conditional interval R's
  ``poisson.test(c(x1, x2), c(N1, N2))`` reports.

Every function has a vectorised form (many groups at once), used by the figures job, and
a scalar form built on it, so there is one implementation to test. Results never contain
NaN or infinity: what cannot be computed is ``None`` with a status saying why.

Size (over 500 lines, on purpose): every statistic of the report with its vectorised and
scalar form and the decision it takes; pure and tested per function against independent
values, it reads as a reference, not as a flow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import binomtest, poisson, rankdata

PER_STUDENTS = 1000
DEFAULT_LEVEL = 0.95
# Fisher's z has standard error 1/sqrt(n - 3): below four points there is no interval, and
# a correlation of three institutions says nothing anyway.
MIN_CORRELATION_N = 4

RATE_METHOD = "exact_poisson"
RATE_METHOD_LABEL = "rate = 1000·x/N; exact (Garwood) Poisson interval via chi-square quantiles"
MEAN_METHOD = "unweighted_mean_t"
MEAN_METHOD_LABEL = (
    "unweighted mean of the institutions' rates; t-interval with df = k - 1 "
    "(not truncated at 0; none for k = 1)"
)
POOLED_METHOD = "pooled_exact_poisson"
POOLED_METHOD_LABEL = "pooled rate Σx/ΣN·1000 over the institutions; exact Poisson interval"
PEARSON_METHOD_LABEL = "Pearson r, two-sided p (t-test, df = n - 2), Fisher-z interval"
SPEARMAN_METHOD_LABEL = "Spearman rho (average ranks for ties), two-sided p (t approximation)"

# Correlation statuses.
OK = "ok"
NOT_ENOUGH_DATA = "not_enough_data"
NO_VARIATION = "no_variation"


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, not {level}")
    return level


def _finite(value) -> float | None:
    """A plain float, or None for NaN/inf (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- Rates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A rate per 1,000 students with its exact confidence interval."""

    count: int
    students: int
    rate: float
    ci_low: float
    ci_high: float
    level: float = DEFAULT_LEVEL
    method: str = RATE_METHOD


def exact_poisson_intervals(counts, students, level: float = DEFAULT_LEVEL):
    """Vectorised rates per 1,000 and their exact (Garwood) Poisson intervals.

    ``counts`` and ``students`` broadcast against each other. Returns three float arrays
    ``(rate, ci_low, ci_high)``. Lower = χ²(α/2; 2x)/2 (0 when x = 0), upper =
    χ²(1 − α/2; 2x + 2)/2, both scaled by 1000/N. χ²(p; 2a)/2 is the gamma quantile with
    shape a, which ``scipy.special.gammaincinv`` gives directly (no per-element Python).
    """
    level = _check_level(level)
    x = np.asarray(counts, dtype=np.float64)
    n = np.asarray(students, dtype=np.float64)
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("counts must be non-negative integers")
    if np.any(n <= 0):
        raise ValueError("the number of students must be positive")
    alpha = 1.0 - level
    x, n = np.broadcast_arrays(x, n)
    scale = PER_STUDENTS / n
    # The limits depend on the count only: compute them once per distinct count (a figure
    # set has tens of thousands of cells but few distinct counts), then scale by 1000/N.
    distinct, where = np.unique(x, return_inverse=True)
    # gammaincinv(0, p) is undefined; the lower limit at x = 0 is 0 by definition.
    lower = np.where(distinct > 0, special.gammaincinv(np.maximum(distinct, 1.0), alpha / 2.0), 0.0)
    upper = special.gammaincinv(distinct + 1.0, 1.0 - alpha / 2.0)
    where = where.reshape(x.shape)
    return x * scale, lower[where] * scale, upper[where] * scale


def exact_poisson_interval(count: int, students: int, level: float = DEFAULT_LEVEL) -> Rate:
    """Rate per 1,000 students of ``count`` incidents among ``students`` students, with the
    exact (Garwood) Poisson interval at ``level``."""
    if int(count) != count or int(students) != students:
        raise ValueError("count and students must be integers")
    rate, low, high = exact_poisson_intervals([count], [students], level)
    return Rate(
        count=int(count),
        students=int(students),
        rate=float(rate[0]),
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        level=level,
    )


# --- Sector summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SectorSummary:
    """The sector over k institutions: unweighted mean of rates (t-interval) *and* pooled
    rate (exact interval), labelled separately. Values are None where undefined."""

    k: int
    mean_rate: float | None
    mean_ci_low: float | None
    mean_ci_high: float | None
    pooled_count: int
    pooled_students: int
    pooled_rate: float | None
    pooled_ci_low: float | None
    pooled_ci_high: float | None
    median: float | None
    min: float | None
    max: float | None
    level: float = DEFAULT_LEVEL
    mean_method: str = MEAN_METHOD
    pooled_method: str = POOLED_METHOD


def t_quantile(q: float, df: int) -> float:
    """Quantile ``q`` of Student's t with ``df`` degrees of freedom."""
    return float(special.stdtrit(df, q))


def sector_summaries(counts, students, level: float = DEFAULT_LEVEL) -> list[SectorSummary]:
    """Sector summaries for many groups at once.

    ``counts`` is a k × m array (k institutions, m groups), ``students`` the k denominators
    (all positive: institutions without a denominator are left out by the caller).
    """
    level = _check_level(level)
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    n = np.asarray(students, dtype=np.float64).reshape(-1)
    k, m = x.shape
    if n.shape[0] != k:
        raise ValueError("one student count per institution is needed")
    if k == 0:
        return [
            SectorSummary(0, None, None, None, 0, 0, None, None, None, None, None, None, level)
            for _ in range(m)
        ]
    rates, _, _ = exact_poisson_intervals(x, n.reshape(-1, 1), level)
    mean = rates.mean(axis=0)
    if k >= 2:
        sd = rates.std(axis=0, ddof=1)
        half = t_quantile(1.0 - (1.0 - level) / 2.0, k - 1) * sd / math.sqrt(k)
        mean_low, mean_high = mean - half, mean + half
    else:
        # One institution has no spread to estimate: the mean is its rate, with no interval.
        mean_low = mean_high = np.full(m, np.nan)
    pooled_x = x.sum(axis=0)
    pooled_n = float(n.sum())
    p_rate, p_low, p_high = exact_poisson_intervals(pooled_x, pooled_n, level)
    median = np.median(rates, axis=0)
    lowest = rates.min(axis=0)
    highest = rates.max(axis=0)
    return [
        SectorSummary(
            k=k,
            mean_rate=_finite(mean[j]),
            mean_ci_low=_finite(mean_low[j]),
            mean_ci_high=_finite(mean_high[j]),
            pooled_count=int(pooled_x[j]),
            pooled_students=int(pooled_n),
            pooled_rate=_finite(p_rate[j]),
            pooled_ci_low=_finite(p_low[j]),
            pooled_ci_high=_finite(p_high[j]),
            median=_finite(median[j]),
            min=_finite(lowest[j]),
            max=_finite(highest[j]),
            level=level,
        )
        for j in range(m)
    ]


def sector_summary(
    counts: Sequence[int], students: Sequence[int], level: float = DEFAULT_LEVEL
) -> SectorSummary:
    """The sector summary of one group: ``counts[i]`` incidents among ``students[i]``."""
    return sector_summaries(np.asarray(counts).reshape(-1, 1), students, level)[0]


# --- Correlation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman correlation of n (rate, score) pairs. ``status`` is ``ok``,
    ``not_enough_data`` (n < 4) or ``no_variation`` (one variable is constant); the
    statistics are None unless the status is ``ok``."""

    n: int
    status: str
    pearson_r: float | None = None
    pearson_p: float | None = None
    pearson_ci_low: float | None = None
    pearson_ci_high: float | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    level: float = DEFAULT_LEVEL


def _pearson_columns(x: np.ndarray, y: np.ndarray):
    """Pearson r of each column of ``x`` (n × m) with ``y`` (n); NaN where a column or y
    is constant."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    sxx = (xc * xc).sum(axis=0)
    syy = float((yc * yc).sum())
    sxy = (xc * yc[:, None]).sum(axis=0)
    # Relative tolerance: a column of identical rates sums to ~1e-30, not exactly 0.
    scale_x = np.maximum((x * x).sum(axis=0), 1e-300)
    scale_y = max(float((y * y).sum()), 1e-300)
    constant = (sxx <= 1e-24 * scale_x) | (syy <= 1e-24 * scale_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(constant, np.nan, sxy / np.sqrt(sxx * syy))
    return np.clip(r, -1.0, 1.0), constant


def _two_sided_p(r: np.ndarray, n: int) -> np.ndarray:
    """Two-sided p of the t-test of r = 0 with df = n - 2: p = I_{1-r²}((n-2)/2, 1/2),
    the regularised incomplete beta function (the same as scipy's ``pearsonr``)."""
    df = n - 2
    return special.betainc(df / 2.0, 0.5, np.clip(1.0 - r * r, 0.0, 1.0))


def correlations(rates, scores, level: float = DEFAULT_LEVEL) -> list[Correlation]:
    """Correlations of each column of ``rates`` (n institutions × m groups) with ``scores``
    (n). All columns share the same institutions and therefore the same n."""
    level = _check_level(level)
    x = np.asarray(rates, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    n, m = x.shape
    if y.shape[0] != n:
        raise ValueError("one score per rate is needed")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("rates and scores must be finite numbers")
    if n < MIN_CORRELATION_N:
        return [Correlation(n=n, status=NOT_ENOUGH_DATA, level=level) for _ in range(m)]

    r, constant = _pearson_columns(x, y)
    p = _two_sided_p(np.nan_to_num(r), n)
    z_crit = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    se = 1.0 / math.sqrt(n - 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(r)  # ±inf for r = ±1, whose interval is then (r, r)
        ci_low = np.tanh(z - z_crit * se)
        ci_high = np.tanh(z + z_crit * se)

    x_ranks = rankdata(x, axis=0)
    y_ranks = rankdata(y)
    rho, rank_constant = _pearson_columns(x_ranks, y_ranks)
    rho_p = _two_sided_p(np.nan_to_num(rho), n)

    results = []
    for j in range(m):
        if constant[j] or rank_constant[j]:
            results.append(Correlation(n=n, status=NO_VARIATION, level=level))
            continue
        results.append(
            Correlation(
                n=n,
                status=OK,
                pearson_r=_finite(r[j]),
                pearson_p=_finite(p[j]),
                pearson_ci_low=_finite(ci_low[j]),
                pearson_ci_high=_finite(ci_high[j]),
                spearman_rho=_finite(rho[j]),
                spearman_p=_finite(rho_p[j]),
                level=level,
            )
        )
    return results


def correlation(
    rates: Sequence[float], scores: Sequence[float], level: float = DEFAULT_LEVEL
) -> Correlation:
    """Correlation of one series of rates with the matching survey scores."""
    return correlations(np.asarray(rates, dtype=np.float64).reshape(-1, 1), scores, level)[0]


# --- Possible under-registration ------------------------------------------------------------


@dataclass(frozen=True)
class BelowMedians:
    """Which points lie strictly below both medians (chapter 6: a low safety score *and*
    few registered incidents suggest under-registration)."""

    indices: list[int]
    rate_median: float | None
    score_median: float | None


def below_both_medians(rates: Sequence[float], scores: Sequence[float]) -> BelowMedians:
    """Indices of the points whose score is below the median score *and* whose rate is
    below the median rate. Medians are over the same points."""
    x = np.asarray(rates, dtype=np.float64).reshape(-1)
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError("one score per rate is needed")
    if x.size == 0:
        return BelowMedians([], None, None)
    rate_median = float(np.median(x))
    score_median = float(np.median(y))
    hits = np.nonzero((x < rate_median) & (y < score_median))[0]
    return BelowMedians([int(i) for i in hits], rate_median, score_median)


# --- Funnel plots -----------------------------------------------------------------------------
#
# Decisions and limits:
#
# * The target is the **pooled sector rate** Σx/ΣN·1000 of the institutions in the figure (the
#   sector as a whole), as Spiegelhalter (2005) does; the caller passes it.
# * The limits for an institution of N students are quantiles of Poisson(θ), θ = rate·N/1000,
#   **with Spiegelhalter's interpolation** (2005, "Funnel plots for comparing institutional
#   performance", Stat Med 24:1185-1202, appendix A.1): with r the p-quantile (the smallest r
#   with P(X ≤ r) ≥ p) and α = (P(X ≤ r) − p) / (P(X ≤ r) − P(X ≤ r − 1)), the limit is
#   r − α. Plain quantiles make the funnel a staircase; ``interpolate=False`` gives them.
#   A lower limit below 0 is 0. The count limits are divided by N and given per 1,000.
# * The limits assume that institutions differ by Poisson chance alone. Registrations differ
#   far more than that (how much is registered at all), so many institutions fall outside
#   them: :func:`overdispersion` measures by how much (φ̂ = Σz²/k; φ̂ ≫ 1 says the limits are
#   too narrow for a fair "outside" judgement). No correction is applied here: the caller
#   says so beside the plot.

FUNNEL_LEVELS = (0.95, 0.998)
FUNNEL_METHOD = "funnel_exact_poisson_interpolated"
FUNNEL_METHOD_LABEL = (
    "control limits: quantiles of Poisson(sector rate x N / 1000) with Spiegelhalter's (2005) "
    "interpolation, per 1,000 students; the target is the pooled sector rate"
)
# Where an institution lies in the funnel (inner: the lower level, 95%; outer: 99.8%).
ABOVE_OUTER = "above_outer"
ABOVE_INNER = "above_inner"
WITHIN = "within"
BELOW_INNER = "below_inner"
BELOW_OUTER = "below_outer"


def poisson_limit_counts(expected, p: float, *, interpolate: bool = True) -> np.ndarray:
    """The ``p``-quantile of Poisson(``expected``), vectorised: interpolated as Spiegelhalter
    (2005) does (see above), or the plain quantile with ``interpolate=False``."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, not {p}")
    mu = np.asarray(expected, dtype=np.float64)
    if np.any(mu < 0) or not np.all(np.isfinite(mu)):
        raise ValueError("expected counts must be finite and non-negative")
    r = poisson.ppf(p, mu)
    if not interpolate:
        return r
    at_r = poisson.cdf(r, mu)
    below = poisson.cdf(r - 1, mu)
    alpha = (at_r - p) / (at_r - below)
    return np.maximum(r - alpha, 0.0)


@dataclass(frozen=True)
class FunnelLimits:
    """The control limits of one level, per 1,000 students, for each ``students``."""

    level: float
    sector_rate: float
    students: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    method: str = FUNNEL_METHOD


def funnel_limits(
    sector_rate: float, students, levels: Sequence[float] = FUNNEL_LEVELS
) -> list[FunnelLimits]:
    """Control limits around ``sector_rate`` (per 1,000) for institutions of ``students``
    students (any sizes: the institutions themselves, or a grid to draw the funnel)."""
    n = np.asarray(students, dtype=np.float64).reshape(-1)
    if np.any(n <= 0):
        raise ValueError("the number of students must be positive")
    if not (math.isfinite(sector_rate) and sector_rate >= 0):
        raise ValueError("the sector rate must be a non-negative number")
    expected = sector_rate * n / PER_STUDENTS
    out = []
    for level in levels:
        level = _check_level(level)
        tail = (1.0 - level) / 2.0
        scale = PER_STUDENTS / n
        out.append(
            FunnelLimits(
                level=level,
                sector_rate=float(sector_rate),
                students=tuple(int(v) for v in n),
                lower=tuple((poisson_limit_counts(expected, tail) * scale).tolist()),
                upper=tuple((poisson_limit_counts(expected, 1.0 - tail) * scale).tolist()),
            )
        )
    return out


def funnel_positions(
    counts, students, sector_rate: float, levels: tuple[float, float] = FUNNEL_LEVELS
) -> list[str]:
    """Where each institution's rate lies: beyond the outer (99.8%) limit, beyond the inner
    (95%) one, or within. A rate on a limit is within."""
    x = np.asarray(counts, dtype=np.float64).reshape(-1)
    inner, outer = funnel_limits(sector_rate, students, sorted(levels))
    rate = PER_STUDENTS * x / np.asarray(inner.students, dtype=np.float64)
    positions = []
    for i, value in enumerate(rate):
        if value > outer.upper[i]:
            positions.append(ABOVE_OUTER)
        elif value > inner.upper[i]:
            positions.append(ABOVE_INNER)
        elif value < outer.lower[i]:
            positions.append(BELOW_OUTER)
        elif value < inner.lower[i]:
            positions.append(BELOW_INNER)
        else:
            positions.append(WITHIN)
    return positions


@dataclass(frozen=True)
class Overdispersion:
    """φ̂ = Σz²/k with z = (x − E)/√E and E = sector rate·N/1000, and the p-value of Σz²
    against χ²(k − 1) (k − 1: the target was estimated from the same institutions). None
    below two institutions or for a sector rate of 0."""

    k: int
    phi: float | None
    p_value: float | None


def overdispersion(counts, students, sector_rate: float) -> Overdispersion:
    x = np.asarray(counts, dtype=np.float64).reshape(-1)
    n = np.asarray(students, dtype=np.float64).reshape(-1)
    k = int(x.size)
    if k < 2 or sector_rate <= 0:
        return Overdispersion(k, None, None)
    expected = sector_rate * n / PER_STUDENTS
    chi_square = float((((x - expected) ** 2) / expected).sum())
    return Overdispersion(k, chi_square / k, _finite(special.chdtrc(k - 1, chi_square)))


# --- Change from last year --------------------------------------------------------------------
#
# Given x1 + x2 = n incidents in two years with N1 and N2 students, x1 ~ Binomial(n, p) with
# p = N1·RR / (N1·RR + N2). The interval is Clopper-Pearson on p (beta quantiles), turned into
# RR = p / (1 − p) · N2 / N1; the p-value is the exact binomial test of p = N1 / (N1 + N2)
# (RR = 1). This is what R's ``poisson.test(c(x1, x2), c(N1, N2))`` reports. Limits: it
# compares registrations, so a change in how much an institution registers looks like a
# change in incidents; and it needs whole years (a running year is compared with the same
# period of last year by the caller, never with a whole year).

RATE_RATIO_METHOD = "rate_ratio_exact_conditional"
RATE_RATIO_METHOD_LABEL = (
    "rate ratio (x1/N1)/(x2/N2); exact conditional interval: Clopper-Pearson on "
    "x1 | x1 + x2 ~ Binomial, as R's poisson.test"
)
NO_PREVIOUS = "no_previous"  # incidents this year, none the year before: the ratio is infinite


@dataclass(frozen=True)
class RateRatio:
    """This year's rate over last year's. ``status`` ``ok``; ``not_enough_data`` (no incident
    in either year: nothing is known); ``no_previous`` (none last year: the ratio and the
    upper limit are infinite, so None, the lower limit is given)."""

    count: int
    students: int
    previous_count: int
    previous_students: int
    status: str
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    level: float = DEFAULT_LEVEL
    method: str = RATE_RATIO_METHOD


def rate_ratio(
    count: int,
    students: int,
    previous_count: int,
    previous_students: int,
    level: float = DEFAULT_LEVEL,
) -> RateRatio:
    level = _check_level(level)
    values = (count, students, previous_count, previous_students)
    if any(int(v) != v for v in values) or count < 0 or previous_count < 0:
        raise ValueError("counts must be non-negative integers and students integers")
    if students <= 0 or previous_students <= 0:
        raise ValueError("the number of students must be positive")
    x1, n1, x2, n2 = (int(v) for v in values)
    total = x1 + x2
    base = RateRatio(x1, n1, x2, n2, NOT_ENOUGH_DATA, level=level)
    if total == 0:
        return base
    alpha = 1.0 - level
    p_low = float(special.betaincinv(x1, total - x1 + 1, alpha / 2.0)) if x1 else 0.0
    p_high = float(special.betaincinv(x1 + 1, total - x1, 1.0 - alpha / 2.0)) if x2 else 1.0
    scale = n2 / n1
    p_value = binomtest(x1, total, n1 / (n1 + n2)).pvalue
    return RateRatio(
        x1,
        n1,
        x2,
        n2,
        OK if x2 else NO_PREVIOUS,
        ratio=(x1 / n1) / (x2 / n2) if x2 else None,
        ci_low=p_low / (1.0 - p_low) * scale,
        ci_high=p_high / (1.0 - p_high) * scale if x2 else None,
        p_value=_finite(p_value),
        level=level,
    )
