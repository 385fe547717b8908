"""Correlation of each group's rates with a survey score (figures 6.2 and 6.4), with the
institutions below both medians (possible under-registration). Pure: numpy and
:mod:`reporting.stats`; used by the engine and by readers that compute on the fly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import stats
from .groups import NO_SURVEY

# What a result of :func:`stats.correlations` holds, by name.
CORRELATION_FIELDS = (
    "status",
    "n",
    "pearson_r",
    "pearson_p",
    "pearson_ci_low",
    "pearson_ci_high",
    "spearman_rho",
    "spearman_p",
)
# The medians below which an institution is flagged (possible under-registration).
MEDIANS = ("rate_median", "score_median")


@dataclass
class GroupCorrelation:
    """A correlation result with the flagged institutions, ready to store."""

    status: str
    n: int
    pearson_r: float | None = None
    pearson_p: float | None = None
    pearson_ci_low: float | None = None
    pearson_ci_high: float | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    rate_median: float | None = None
    score_median: float | None = None
    flagged: list[dict] = field(default_factory=list)

    def statistics(self) -> dict[str, Any]:
        """The statistics and the two medians by name (not the flagged institutions):
        what the stored rows and the readers' answers hold."""
        return {name: getattr(self, name) for name in (*CORRELATION_FIELDS, *MEDIANS)}


def correlate_groups(
    rates: np.ndarray,
    scores: np.ndarray,
    institution_ids: list[int],
    has_survey: bool,
    level: float = stats.DEFAULT_LEVEL,
) -> list[GroupCorrelation]:
    """Correlation and possible under-registration for each column of ``rates``
    (n institutions × m groups) against ``scores`` (n)."""
    n, m = rates.shape
    if not has_survey:
        return [GroupCorrelation(status=NO_SURVEY, n=0) for _ in range(m)]
    results = stats.correlations(rates, scores, level) if m else []
    ids = [int(inst) for inst in institution_ids]
    out = []
    for j, result in enumerate(results):
        flagged: list[dict] = []
        rate_median = score_median = None
        if n:
            below = stats.below_both_medians(rates[:, j], scores)
            rate_median, score_median = below.rate_median, below.score_median
            # Flags need as many points as a correlation: medians of three say nothing.
            if n >= stats.MIN_CORRELATION_N:
                flagged = [
                    {
                        "institution_id": ids[i],
                        "rate": float(rates[i, j]),
                        "score": float(scores[i]),
                    }
                    for i in below.indices
                ]
        out.append(
            GroupCorrelation(
                **{name: getattr(result, name) for name in CORRELATION_FIELDS},
                rate_median=rate_median,
                score_median=score_median,
                flagged=flagged,
            )
        )
    return out
