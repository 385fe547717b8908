"""Is a subset of institutions (the sample) like all institutions (the population), stratum
by stratum? Pure: no Django. Used for Tabel 5.2 of the report (the institutions that answered
the questionnaire, by region and size: :func:`table_5_2`) and Tabel 5.1 (the institutions
whose registrations the sector figures use: :mod:`reporting.coverage`).

The table puts, per category, the sample's number and share next to the population's and
the difference in percentage points. The test asks whether the differences could be
chance: were the responding institutions a random subset of the population, the number
from each category would follow the multivariate hypergeometric distribution. The p-value
is exact: the probability of all possible samples of the same size that are at most as
likely as the observed one (the Freeman–Halton extension of Fisher's exact test to the
2 × k table responded / did not respond × category).

Why not a library: ``scipy.stats.fisher_exact`` is exact only for 2 × 2 tables and uses
Monte Carlo sampling beyond that; ``scipy.stats.chisquare`` needs expected counts of 5 or
more, which four regions and 31 institutions do not give. The enumeration here is small
(the MBO sector has 57 institutions; at most ``MAX_TABLES`` tables are enumerated, beyond
that the chi-square p-value of ``scipy.stats.chi2_contingency`` is given, labelled so). It
is tested against ``fisher_exact`` on 2 × 2 tables and against hand-computed values.

Limits (stated with every result, in ``limits``)
------------------------------------------------
* ``not_proof``: a high p-value does not show that the sample is representative; with
  some tens of institutions the test finds only large differences (low power).
* ``one_dimension``: each dimension is tested on its own; region and size together, and
  other characteristics (ROC or specialist college, urbanity), are not.
* ``self_selection``: institutions choose to answer; they may differ in ways that region
  and size do not show (e.g. how active they are on safety, which is what is measured).
* ``small_expected``: added when an expected count is below 5 (a chi-square test would be
  unreliable; the exact test is not affected).
* ``approximate``: added when the chi-square approximation was used.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.stats import chi2_contingency

# Size classes of Tabel 5.2 (students, 1 October of the school year).
SIZE_SMALL = "lt_10000"
SIZE_MEDIUM = "10000_15000"
SIZE_LARGE = "gt_15000"
SIZE_CLASSES = (SIZE_SMALL, SIZE_MEDIUM, SIZE_LARGE)
REGIONS = ("noord", "oost", "west", "zuid")  # the order of Tabel 5.2

MAX_TABLES = 5_000_000
EXACT_METHOD = "exact_hypergeometric"
EXACT_METHOD_LABEL = (
    "exact test (Freeman-Halton): sum of the multivariate hypergeometric probabilities of all "
    "samples of the same size at most as likely as the observed one"
)
APPROXIMATE_METHOD = "chi_square"
APPROXIMATE_METHOD_LABEL = "chi-square test of the 2 x k table (approximation for large tables)"
LIMITS = ("not_proof", "one_dimension", "self_selection")
MIN_EXPECTED = 5.0


def size_class(students: int | None) -> str | None:
    """The size class of Tabel 5.2: < 10,000, 10,000–15,000, > 15,000 students."""
    if students is None:
        return None
    if students < 10_000:
        return SIZE_SMALL
    if students <= 15_000:
        return SIZE_MEDIUM
    return SIZE_LARGE


@dataclass(frozen=True)
class Stratum:
    category: str
    sample_n: int
    sample_share: float | None
    population_n: int
    population_share: float | None
    difference_pp: float | None  # sample share − population share, percentage points
    expected: float  # sample size × population share: the count a random sample expects


@dataclass(frozen=True)
class Representativeness:
    dimension: str
    strata: tuple[Stratum, ...]
    sample_n: int
    population_n: int
    # Institutions without a category (no region, no student count): left out of the test.
    sample_unknown: int
    population_unknown: int
    p_value: float | None
    method: str
    limits: tuple[str, ...]


def _log_comb(n, k):
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def exact_subset_p(sample_counts: Sequence[int], population_counts: Sequence[int]) -> float | None:
    """Exact two-sided p-value that ``sample_counts`` (per category) is a random subset of
    ``population_counts``; None when the enumeration would exceed ``MAX_TABLES``."""
    x = np.asarray(sample_counts, dtype=np.int64)
    big_n = np.asarray(population_counts, dtype=np.int64)
    if x.shape != big_n.shape or np.any(x < 0) or np.any(x > big_n):
        raise ValueError("each sample count must lie between 0 and its population count")
    n = int(x.sum())
    if len(x) < 2 or n == 0 or n == int(big_n.sum()):
        return 1.0
    if math.prod(int(v) + 1 for v in big_n[:-1]) > MAX_TABLES:
        return None
    # Every vector of the first k-1 counts; the last one is what remains.
    grids = np.meshgrid(*[np.arange(int(v) + 1) for v in big_n[:-1]], indexing="ij")
    heads = np.stack([g.reshape(-1) for g in grids], axis=1)
    last = n - heads.sum(axis=1)
    ok = (last >= 0) & (last <= big_n[-1])
    tables = np.column_stack([heads[ok], last[ok]])
    log_total = float(_log_comb(big_n.sum(), n))
    log_p = _log_comb(big_n, tables).sum(axis=1) - log_total
    log_observed = float(_log_comb(big_n, x).sum() - log_total)
    # Equal probabilities up to rounding count as "at most as likely" (as scipy does).
    at_most = log_p <= log_observed + 1e-7
    return float(min(1.0, np.exp(log_p[at_most]).sum()))


def _chi_square_p(sample: np.ndarray, population: np.ndarray) -> float | None:
    table = np.vstack([sample, population - sample])
    table = table[:, population > 0]
    if table.shape[1] < 2 or np.any(table.sum(axis=1) == 0):
        return None
    return float(chi2_contingency(table, correction=False).pvalue)


def representativeness(
    dimension: str,
    population: Mapping[Hashable, str | None],
    sample: Iterable[Hashable],
    categories: Sequence[str],
) -> Representativeness:
    """Sample against population in one dimension. ``population`` maps every institution to
    its category (None: unknown); ``sample`` are the institutions that answered (a subset)."""
    sample = set(sample)
    outside = sample - set(population)
    if outside:
        raise ValueError(f"{len(outside)} sampled institutions are not in the population")
    unknown_categories = {c for c in population.values() if c is not None} - set(categories)
    if unknown_categories:
        raise ValueError(f"unknown categories {sorted(unknown_categories)}")
    pop_counts = np.array([sum(1 for c in population.values() if c == cat) for cat in categories])
    sample_counts = np.array(
        [sum(1 for key in sample if population[key] == cat) for cat in categories]
    )
    n, big_n = int(sample_counts.sum()), int(pop_counts.sum())
    strata = []
    for cat, x, total in zip(categories, sample_counts, pop_counts, strict=True):
        s_share = x / n if n else None
        p_share = total / big_n if big_n else None
        strata.append(
            Stratum(
                category=cat,
                sample_n=int(x),
                sample_share=s_share,
                population_n=int(total),
                population_share=p_share,
                difference_pp=(s_share - p_share) * 100
                if s_share is not None and p_share is not None
                else None,
                expected=n * (p_share or 0.0),
            )
        )
    limits = list(LIMITS)
    if any(s.expected < MIN_EXPECTED for s in strata if s.population_n):
        limits.append("small_expected")
    p_value = exact_subset_p(sample_counts, pop_counts)
    method = EXACT_METHOD
    if p_value is None:
        p_value = _chi_square_p(sample_counts, pop_counts)
        method = APPROXIMATE_METHOD
        limits.append("approximate")
    return Representativeness(
        dimension=dimension,
        strata=tuple(strata),
        sample_n=n,
        population_n=big_n,
        sample_unknown=sum(1 for key in sample if population[key] is None),
        population_unknown=sum(1 for c in population.values() if c is None),
        p_value=p_value,
        method=method,
        limits=tuple(limits),
    )


def table_5_2(
    regions: Mapping[Hashable, str | None],
    students: Mapping[Hashable, int | None],
    sample: Iterable[Hashable],
) -> tuple[Representativeness, Representativeness]:
    """Tabel 5.2: by region (landsdeel) and by size class. ``regions`` and ``students`` map
    every institution of the population (same keys) to its region and student count."""
    if set(regions) != set(students):
        raise ValueError("regions and students must describe the same institutions")
    sample = list(sample)
    by_region = representativeness(
        "region", {k: (v or None) for k, v in regions.items()}, sample, REGIONS
    )
    by_size = representativeness(
        "size", {k: size_class(v) for k, v in students.items()}, sample, SIZE_CLASSES
    )
    return by_region, by_size
