"""The combined analyses of chapter 6 that need the questionnaire or the two surveys:
figure 6.1 (staff score MO against % students safe JOB, per institution) and figures 6.3 and
6.5 (number of the six V3 provisions present against % students safe, and against the
staff score). Pure functions: no Django, no database.

Each analysis returns the points (one per institution that has both values), the
correlation of :func:`reporting.stats.correlation` (Pearson r with two-sided p and
Fisher-z interval, Spearman ρ with p, n; the same statistics as figures 6.2 and 6.4), and
for 6.3 and 6.5 the mean score per number of provisions.

Decisions
---------
* The number of provisions counts the six named items of V3 answered *Ja*; *Weet niet*
  counts as not present (the question is whether the institution has it, and the
  respondent does not know of it). "Anders" is not one of the six. An institution that left
  one of the six unanswered has no count (a draft; submitted responses answer all six).
* The count takes only the values 0–6 and is far from normal: Spearman's ρ suits it better
  than Pearson's r; both are given, as the report's readers know r.
* Group means are of institutions, unweighted, with the sample standard deviation
  (ddof = 1; none for a group of one) and min/max. No interval per group: groups hold a
  handful of institutions.
* Institutions without one of the two values are left out and counted in ``excluded``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np

from reporting.stats import DEFAULT_LEVEL, Correlation, correlation

from .answers import Answers
from .definition import Questionnaire

NO_ANSWERS = "no_answers"
NO_COUNT = "provisions_incomplete"
NO_X = "no_x"
NO_Y = "no_y"


@dataclass(frozen=True)
class Point:
    institution: Hashable
    x: float
    y: float


@dataclass(frozen=True)
class GroupMean:
    x: int  # number of provisions
    n: int
    mean: float
    sd: float | None
    min: float
    max: float


@dataclass(frozen=True)
class Association:
    x: str  # what is on the x axis: "mo", "provisions"
    y: str  # "job", "mo"
    points: tuple[Point, ...]
    correlation: Correlation
    groups: tuple[GroupMean, ...] = ()
    excluded: dict[str, int] = field(default_factory=dict)


def provision_count(questionnaire: Questionnaire, answers: Answers) -> int | None:
    """How many of the six V3 provisions the institution has (answered *Ja*); None when one
    of them is unanswered."""
    count = 0
    for item in questionnaire.provision_items():
        chosen = answers.selected("V3", item.code)
        if not chosen:
            return None
        count += "yes" in chosen
    return count


def provision_counts(
    questionnaire: Questionnaire, answers: Mapping[Hashable, Answers]
) -> dict[Hashable, int | None]:
    return {key: provision_count(questionnaire, a) for key, a in answers.items()}


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def _pairs(
    xs: Mapping[Hashable, float | None], ys: Mapping[Hashable, float | None]
) -> tuple[list[Point], dict[str, int]]:
    points, excluded = [], {NO_X: 0, NO_Y: 0}
    for key in sorted(set(xs) | set(ys), key=str):
        x, y = xs.get(key), ys.get(key)
        if not _finite(x):
            excluded[NO_X] += 1
        elif not _finite(y):
            excluded[NO_Y] += 1
        else:
            points.append(Point(key, float(x), float(y)))
    return points, {k: v for k, v in excluded.items() if v}


def group_means(points: list[Point]) -> tuple[GroupMean, ...]:
    """Mean, sample SD, min and max of y per value of x (x an integer count)."""
    groups: dict[int, list[float]] = {}
    for p in points:
        groups.setdefault(int(p.x), []).append(p.y)
    result = []
    for x in sorted(groups):
        values = np.asarray(groups[x], dtype=np.float64)
        result.append(
            GroupMean(
                x=x,
                n=len(values),
                mean=float(values.mean()),
                sd=float(values.std(ddof=1)) if len(values) > 1 else None,
                min=float(values.min()),
                max=float(values.max()),
            )
        )
    return tuple(result)


def associate(
    x_name: str,
    y_name: str,
    xs: Mapping[Hashable, float | None],
    ys: Mapping[Hashable, float | None],
    *,
    by_group: bool = False,
    level: float = DEFAULT_LEVEL,
) -> Association:
    points, excluded = _pairs(xs, ys)
    stats = correlation([p.x for p in points], [p.y for p in points], level)
    return Association(
        x=x_name,
        y=y_name,
        points=tuple(points),
        correlation=stats,
        groups=group_means(points) if by_group else (),
        excluded=excluded,
    )


def figure_6_1(
    mo_scores: Mapping[Hashable, float], job_scores: Mapping[Hashable, float], level=DEFAULT_LEVEL
) -> Association:
    """Staff safety (MO, mean 0–10) on x against % students (certainly) safe (JOB) on y."""
    return associate("mo", "job", mo_scores, job_scores, level=level)


def _provisions_against(
    y_name: str,
    questionnaire: Questionnaire,
    answers: Mapping[Hashable, Answers],
    scores: Mapping[Hashable, float],
    level: float,
) -> Association:
    counts = provision_counts(questionnaire, answers)
    result = associate("provisions", y_name, counts, scores, by_group=True, level=level)
    # Say why an institution has no point: it did not answer, left a provision open, or
    # has no score.
    excluded = {
        NO_ANSWERS: sum(1 for key in scores if key not in counts),
        NO_COUNT: sum(1 for count in counts.values() if count is None),
        NO_Y: sum(1 for key, c in counts.items() if c is not None and not _finite(scores.get(key))),
    }
    return Association(
        result.x,
        result.y,
        result.points,
        result.correlation,
        result.groups,
        {k: v for k, v in excluded.items() if v},
    )


def figure_6_3(
    questionnaire: Questionnaire,
    answers: Mapping[Hashable, Answers],
    job_scores: Mapping[Hashable, float],
    level: float = DEFAULT_LEVEL,
) -> Association:
    """Number of V3 provisions (0–6) against % students (certainly) safe (JOB)."""
    return _provisions_against("job", questionnaire, answers, job_scores, level)


def figure_6_5(
    questionnaire: Questionnaire,
    answers: Mapping[Hashable, Answers],
    mo_scores: Mapping[Hashable, float],
    level: float = DEFAULT_LEVEL,
) -> Association:
    """Number of V3 provisions (0–6) against the staff safety score (MO, 0–10)."""
    return _provisions_against("mo", questionnaire, answers, mo_scores, level)
