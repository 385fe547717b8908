"""Figure 5.1: the sector mean per 1,000 students per school year, and a running year
against the same part of earlier years.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from miv import clock

from .. import access, groups, publication, queries, same_period
from ..choices import VictimGroup
from ..exports import group_names
from ..models import SectorRate
from ..year_to_date import year_to_date_counts
from .choice import Choice, coverage, current_sets, running_year, short_date


def figure_51(user, choice: Choice) -> dict[str, Any]:
    """The sector mean per 1,000 per school year with its interval, for the report's three
    groups (and the chosen category), for the chosen victim role."""
    sets = current_sets()
    shown = list(groups.REPORT_GROUPS)
    # The misconduct category is the report's group "misdragingen": one series, not two.
    if choice.group not in shown and choice.group != groups.MISCONDUCT_CATEGORY:
        shown.append(choice.group)
    names = group_names()
    rows = SectorRate.objects.filter(
        figure_set_id__in=sets.values(), group__in=shown, victim_role=choice.victim_role
    )
    found = {(r.school_year, r.group): r for r in rows}
    series = []
    for group in shown:
        points = []
        for year, set_id in sets.items():
            row = found.get((year, group))
            if row is None:
                continue
            data = queries.protect_sector(
                user,
                set_id,
                {
                    "group": group,
                    "victim_role": choice.victim_role,
                    "mean_rate": row.mean_rate,
                    "mean_ci_low": row.mean_ci_low,
                    "mean_ci_high": row.mean_ci_high,
                    "pooled_count": row.pooled_count,
                    "pooled_rate": row.pooled_rate,
                    "pooled_ci_low": row.pooled_ci_low,
                    "pooled_ci_high": row.pooled_ci_high,
                    "median": row.median,
                    "min": row.min_rate,
                    "max": row.max_rate,
                },
            )
            points.append(
                {
                    "school_year": year,
                    "group": group,
                    "group_name": names.get(group, group),
                    # For a narrow table: "Ongevallen/incidenten" may break after the "/".
                    "group_label": names.get(group, group).replace("/", "/\u200b"),
                    "institutions": row.institutions,
                    "mean": data["mean_rate"],
                    "ci_low": data["mean_ci_low"],
                    "ci_high": data["mean_ci_high"],
                    "withheld": bool(data["withheld"]),
                    "running": running_year(year) is not None,
                }
            )
        series.append({"group": group, "name": names.get(group, group), "points": points})
    years = list(sets)
    running = running_year(years[-1]) if years else None
    return {
        "choice": choice,
        "school_years": years,
        "series": series,
        "victim_role_name": str(dict(VictimGroup.choices)[choice.victim_role]),
        "running": running,
        "year_to_date": _year_to_date(user, choice, sets, running),
        "coverage": coverage(choice.school_year),
    }


def _year_to_date(
    user, choice: Choice, sets: dict[str, int], running: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Every school year over the part the running year has had: the unweighted mean of the
    institutions' rates, as figure 5.1's, to one decimal. Only while the latest year runs.
    Readers outside an institution get the publications' month ends
    (:mod:`reporting.same_period`); administrators the running year's "t/m" date."""
    if running is None:
        return None
    if access.protection_for(user, sets[running["school_year"]]) is not None:
        return _published_same_period(choice, sets, running)
    years = list(sets)
    through = date.fromisoformat(running["through_date"])
    group = choice.group
    if group == groups.MISCONDUCT_CATEGORY:
        group = groups.GROUP_MISCONDUCT
    periods = year_to_date_counts(
        running["school_year"],
        through,
        earlier=len(years) - 1,
        group=group,
        victim_role=choice.victim_role,
    )
    points = []
    for period in periods:
        rates = [
            1000 * period.by_institution[inst] / students
            for inst, students in period.student_counts.items()
        ]
        points.append(
            {
                "school_year": period.school_year,
                "mean": round(sum(rates) / len(rates), 1) if rates else None,
                "institutions": len(rates),
            }
        )
    first = periods[-1].first_day
    return {
        "group_name": group_names().get(group, group),
        "period": _("%(first)s t/m %(last)s")
        % {"first": short_date(first), "last": short_date(through)},
        "points": points,
    }


def _published_same_period(
    choice: Choice, sets: dict[str, int], running: dict[str, Any]
) -> dict[str, Any] | None:
    """The same period as the publications have it: 1 August up to the last month end the
    running year's set has passed, total × all victims only; None before the first."""
    stored = {year: publication.stored(set_id) or {} for year, set_id in sets.items()}
    current = stored[running["school_year"]].get("same_period") or {}
    # The month ends that have passed today and that the running year's set had passed.
    months = min(
        same_period.passed_months(running["school_year"], clock.today()),
        len(current.get("months", [])),
    )
    if not months:
        return None
    names = group_names()
    line = {
        "group_name": names.get(same_period.GROUP, same_period.GROUP),
        "period": _("%(first)s t/m %(last)s")
        % {
            "first": short_date(same_period.month_end(running["school_year"], 0).replace(day=1)),
            "last": short_date(same_period.month_end(running["school_year"], months - 1)),
        },
        "points": [],
    }
    if (choice.group, choice.victim_role) != (same_period.GROUP, same_period.VICTIM_ROLE):
        line["note"] = _(
            "Dezelfde periode van eerdere jaren wordt alleen gepubliceerd voor alle incidenten "
            "en alle slachtoffers."
        )
        return line
    month = current["months"][months - 1]
    for year, published in stored.items():
        period = published.get("same_period") or {}
        mean = period.get("means", {}).get(month)
        line["points"].append(
            {
                "school_year": year,
                "mean": mean,
                "institutions": period.get("institutions"),
                "withheld": mean is None,
            }
        )
    return line
