"""Figure 5.3 (institutions side by side, with rate ratios against the year before) and
the funnel plot beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from miv.schoolyear import previous_school_years

from .. import queries, stats
from ..access import figure_viewer, institution_rows, protect_rows
from ..choices import VictimGroup
from ..exports import group_names
from ..models import InstitutionRate, SectorRate
from .choice import Choice, coverage, current_sets, running_year


def figure_53(user, choice: Choice) -> dict[str, Any]:
    """Every institution's rate with its interval, lowest first (a caterpillar plot), and
    the sector mean. A coordinator's own institution is named and marked; the others are
    anonymous. Withheld institutions are listed, not drawn."""
    viewer = figure_viewer(user)
    set_id = current_sets().get(choice.school_year)
    if viewer is None or set_id is None:
        return {"choice": choice, "rows": [], "withheld": [], "sector": None}
    rates = institution_rows(
        user,
        InstitutionRate.objects.filter(
            figure_set_id=set_id, group=choice.group, victim_role=choice.victim_role
        ),
        anonymous_others=True,
    ).select_related("institution")
    rows = []
    for r in rates:
        label = viewer.label(r.institution_id, r.institution.brin, r.institution.pseudonym)
        rows.append(
            {
                "institution_id": r.institution_id,
                "label": label,
                # Names only where the BRIN is shown anyway (never next to a pseudonym).
                "name": r.institution.name if label is not None and viewer.named else "",
                "own": r.institution_id in viewer.own_institution_ids,
                "group": r.group,
                "victim_role": r.victim_role,
                "count": r.count,
                "students": r.students,
                "rate_per_1000": r.rate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
        )
    rows = protect_rows(user, set_id, rows)
    for row in rows:
        if row["label"] is None:
            # Anonymous: protect_rows left a rounded rate only (access.anonymise_row).
            row.update(count=None, students=None, name="")
    shown = sorted(
        (r for r in rows if not r["suppressed"]),
        key=lambda r: (r["rate_per_1000"], r["label"] or ""),
    )
    withheld = sorted((r for r in rows if r["suppressed"]), key=lambda r: r["label"] or "")
    for rank, row in enumerate(shown, start=1):
        row["rank"] = rank
    sector_row = (
        SectorRate.objects.filter(
            figure_set_id=set_id, group=choice.group, victim_role=choice.victim_role
        )
        .values(
            "mean_rate",
            "mean_ci_low",
            "mean_ci_high",
            "pooled_count",
            "pooled_rate",
            "pooled_ci_low",
            "pooled_ci_high",
            "median",
            "min_rate",
            "max_rate",
            "institutions",
        )
        .first()
    )
    sector = None
    if sector_row is not None:
        sector_row["min"] = sector_row.pop("min_rate")
        sector_row["max"] = sector_row.pop("max_rate")
        sector = queries.protect_sector(
            user, set_id, {**sector_row, "group": choice.group, "victim_role": choice.victim_role}
        )
    names = group_names()
    running = running_year(choice.school_year)
    if running is None:
        _add_rate_ratios(user, choice, shown)
    return {
        "choice": choice,
        "rows": shown,
        "withheld": withheld,
        "sector": sector,
        "group_name": names.get(choice.group, choice.group),
        "victim_role_name": str(dict(VictimGroup.choices)[choice.victim_role]),
        "running": running,
        "rate_ratios": any(r.get("rate_ratio") for r in shown),
        "coverage": coverage(choice.school_year),
    }


def _add_rate_ratios(user, choice: Choice, rows: list[dict[str, Any]]) -> None:
    """The change from last year of every row with a count and student number (the own
    institution, or all with named access) whose last year is published to this reader
    too: ``rate_ratio``, this year's rate over last year's with its exact interval
    (:func:`reporting.stats.rate_ratio`). Complete years only (the caller's check)."""
    previous = current_sets().get(previous_school_years(choice.school_year, 1)[0])
    known = [r for r in rows if r["count"] is not None and r["students"]]
    if previous is None or not known:
        return
    earlier = protect_rows(
        user,
        previous,
        [
            {
                "institution_id": r.institution_id,
                "group": r.group,
                "victim_role": r.victim_role,
                "count": r.count,
                "students": r.students,
                "rate_per_1000": r.rate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
            for r in InstitutionRate.objects.filter(
                figure_set_id=previous,
                group=choice.group,
                victim_role=choice.victim_role,
                institution_id__in=[r["institution_id"] for r in known],
            )
        ],
    )
    by_institution = {
        e["institution_id"]: e for e in earlier if e["count"] is not None and e["students"]
    }
    for row in known:
        last = by_institution.get(row["institution_id"])
        if last is None:
            continue
        ratio = stats.rate_ratio(row["count"], row["students"], last["count"], last["students"])
        row["rate_ratio"] = {
            "ratio": ratio.ratio,
            "ci_low": ratio.ci_low,
            "ci_high": ratio.ci_high,
            "status": ratio.status,
        }


# --- The funnel plot next to figure 5.3 -------------------------------------------------------


def funnel(user, choice: Choice, figure_53_data: dict[str, Any]) -> dict[str, Any]:
    """Figure 5.3's institutions as a funnel plot: rate against students, with the 95% and
    99.8% exact Poisson limits around the sector rate (all incidents over all students,
    the target the limits are for). Points only where the reader sees the student number
    (access.anonymise_row removes it from anonymous rows); the limits need only the
    published sector rate. Without a published sector rate there is no funnel."""
    rows = figure_53_data["rows"]
    sector = figure_53_data.get("sector") or {}
    out: dict[str, Any] = {
        "choice": choice,
        "group_name": figure_53_data.get("group_name", ""),
        "limits": None,
        "points": [],
        "not_drawn": 0,
        "message": "",
    }
    rate = sector.get("pooled_rate")
    if rate is None or not rows:
        out["message"] = _("Geen gepubliceerd sectorcijfer voor deze keuze: geen trechterplot.")
        return out
    drawn = [r for r in rows if r["students"] and r["count"] is not None]
    largest = max([r["students"] for r in drawn], default=0)
    # The funnel is drawn over the sizes of MBO institutions (up to ~45,000 students).
    right = max(largest * 1.1, 20_000)
    grid = np.unique(np.geomspace(100, right, 120).round().astype(int))
    inner, outer = stats.funnel_limits(float(rate), grid)
    positions = (
        stats.funnel_positions(
            [r["count"] for r in drawn], [r["students"] for r in drawn], float(rate)
        )
        if drawn
        else []
    )
    out["limits"] = {
        "sector_rate": round(float(rate), 1),
        "students": [int(n) for n in grid],
        "inner": {"upper": list(inner.upper), "lower": list(inner.lower)},
        "outer": {"upper": list(outer.upper), "lower": list(outer.lower)},
    }
    out["points"] = [
        {
            "label": r["label"],
            "own": r["own"],
            "students": r["students"],
            "rate_per_1000": r["rate_per_1000"],
            "position": position,
            "position_text": str(FUNNEL_POSITIONS[position]),
        }
        for r, position in zip(drawn, positions, strict=True)
    ]
    out["not_drawn"] = len(rows) - len(drawn) + len(figure_53_data.get("withheld", []))
    return out


FUNNEL_POSITIONS = {
    stats.ABOVE_OUTER: gettext_lazy("boven de grens bij 99,8%"),
    stats.ABOVE_INNER: gettext_lazy("boven de grens bij 95%"),
    stats.WITHIN: gettext_lazy("binnen de grenzen"),
    stats.BELOW_INNER: gettext_lazy("onder de grens bij 95%"),
    stats.BELOW_OUTER: gettext_lazy("onder de grens bij 99,8%"),
}
