"""Figures 6.2 and 6.4: each institution's rate against its JOB or MO survey score, with
the correlation, as far as the reader may see the points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils.translation import ngettext

from .. import correlations, groups, queries
from ..exports import group_names
from .choice import SCORES, Choice


def figure_scatter(user, choice: Choice, figure: str) -> dict[str, Any]:
    """Rates (victim role all) against the JOB (6.2) or MO (6.4) score: points, fitted
    line, r, p, n and the flagged possible under-registration."""
    source = SCORES[figure]
    group = groups.resolve_group(choice.group)
    selection = queries.Selection(school_year=choice.school_year, group=group)
    try:
        data = queries.correlation(user, selection, source)
    except queries.FiguresNotComputed:
        data = None
    if data is not None:
        _published_points_only(source, data)
    fit = None
    if data is not None and data["status"] == "ok" and len(data["points"]) >= 2:
        x = np.array([p["rate_per_1000"] for p in data["points"]], dtype=float)
        y = np.array([p["score"] for p in data["points"]], dtype=float)
        if np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            fit = {"slope": float(slope), "intercept": float(intercept)}
    return {
        "choice": choice,
        "figure": figure,
        "source": source,
        "data": data,
        "fit": fit,
        "group_name": group_names().get(choice.group, choice.group),
    }


def _published_points_only(source: str, data: dict[str, Any]) -> None:
    """What is shown of a correlation is what can be computed from the points shown.

    * An institution shown without its name keeps a whole rate per 1,000 (as in figure
      5.3, access.anonymise_row); then the median of the rates is whole too, since the
      exact median is some institution's exact rate.
    * When points are withheld, the statistics over all institutions are withheld
      (queries.correlation): instead r, ρ, the medians and the flags are computed over
      the points shown, and the figure says how many are left out and why. Those
      statistics are a function of what the reader sees, so they disclose nothing more.
    """
    points = data["points"]
    coarse = False
    for point in points:
        if point["institution"] is None and not point["own"]:
            point["rate_per_1000"] = round(point["rate_per_1000"])
            point["coarsened"] = coarse = True
    withheld = data["n"] - len(points) if data.get("status") == queries.SUPPRESSED else 0
    if withheld > 0:
        result = correlations.correlate_groups(
            np.array([[p["rate_per_1000"]] for p in points], dtype=np.float64).reshape(-1, 1),
            np.array([p["score"] for p in points], dtype=np.float64),
            [p["institution_id"] for p in points],
            True,
        )[0]
        data.update(result.statistics(), message=queries.status_message(result.status, source))
        flagged = {f["institution_id"] for f in result.flagged}
        for point in points:
            point["flagged"] = point["institution_id"] in flagged
        data["flagged"] = [
            {
                "institution_id": p["institution_id"],
                "institution": p["institution"],
                "reason": queries.flagged_reason(
                    source,
                    data["survey_year"],
                    {"rate": p["rate_per_1000"], "score": p["score"]},
                    (result.rate_median, result.score_median),
                ),
            }
            for p in points
            if p["flagged"] and p["institution"] is not None
        ]
        data["excluded"] = withheld
        data["excluded_text"] = ngettext(
            "Berekend over de %(n)s getoonde instellingen; %(withheld)s instelling is niet "
            "gepubliceerd (te kleine aantallen) en telt niet mee.",
            "Berekend over de %(n)s getoonde instellingen; %(withheld)s instellingen zijn niet "
            "gepubliceerd (te kleine aantallen) en tellen niet mee.",
            withheld,
        ) % {"n": len(points), "withheld": withheld}
    elif coarse and data.get("rate_median") is not None:
        data["rate_median"] = round(data["rate_median"])
