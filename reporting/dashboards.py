"""The data of the dashboards (figures 5.1, 5.3, 6.2 and 6.4), for one user.

Every figure reads the current figure set(s) by id, and every per-institution value goes
through :func:`reporting.access.protect_rows` (and the sector and correlation readers
through their disclosure control): a researcher sees what the research API would give,
a coordinator their own institution by name and the others anonymously and protected.
The same dicts feed the charts (:mod:`reporting.charts`), the tables beside them and the
CSV downloads, so the three always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _

from miv.schoolyear import school_year_bounds

from . import queries, services
from .access import figure_viewer, institution_rows, protect_rows
from .choices import FigureSetStatus, ScoreSource, VictimGroup
from .exports import group_names
from .models import FigureSet, InstitutionRate, SectorRate
from .protection import RESEARCH_VICTIM_ROLES, research_groups

FIGURES = ("5.1", "5.3", "6.2", "6.4")
SCORES = {"6.2": ScoreSource.JOB, "6.4": ScoreSource.MO}


class BadChoice(ValueError):
    """A parameter of the dashboard that cannot be used (the message says why)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Choice:
    """What the dashboard shows: a school year, a group and a victim role."""

    school_year: str
    group: str
    victim_role: str

    def as_query(self) -> dict[str, str]:
        return {
            "school_year": self.school_year,
            "group": self.group,
            "victim_role": self.victim_role,
        }


def current_sets() -> dict[str, int]:
    """School year -> id of its current set, oldest first."""
    return dict(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT)
        .order_by("school_year")
        .values_list("school_year", "pk")
    )


def options() -> dict[str, list[tuple[str, str]]]:
    """The choices the page offers (the fixed combinations of the research API)."""
    names = group_names()
    roles = dict(VictimGroup.choices)
    return {
        "school_years": [(y, y) for y in reversed(list(current_sets()))],
        "groups": [(g, names.get(g, g)) for g in research_groups()],
        "victim_roles": [(str(r), str(roles[r])) for r in RESEARCH_VICTIM_ROLES],
    }


def default_school_year(years: list[str]) -> str:
    """The latest *complete* school year with figures (a running year's few months are
    not comparable with whole years), or the latest one when none is complete."""
    today = timezone.localdate()
    complete = [y for y in years if school_year_bounds(y)[1] < today]
    return (complete or years)[-1]


def parse_choice(params: Mapping[str, str]) -> Choice | None:
    """The choice a request names; defaults: the latest complete school year, total, all.
    None when no figures have been computed yet. BadChoice for values not offered."""
    years = current_sets()
    if not years:
        return None
    school_year = (params.get("school_year") or "").strip() or default_school_year(list(years))
    if school_year not in years:
        raise BadChoice(
            "school_year",
            _("Voor schooljaar '%(value)s' zijn geen cijfers. Kies uit: %(years)s.")
            % {"value": school_year[:20], "years": ", ".join(years)},
        )
    group = (params.get("group") or "").strip() or services.GROUP_TOTAL
    if group not in research_groups():
        raise BadChoice(
            "group",
            _("Onbekende groep '%(value)s'. Kies uit: %(groups)s.")
            % {"value": group[:20], "groups": ", ".join(research_groups())},
        )
    role = (params.get("victim_role") or "").strip() or VictimGroup.ALL
    if role not in RESEARCH_VICTIM_ROLES:
        raise BadChoice(
            "victim_role",
            _("Onbekende slachtofferrol '%(value)s'. Kies all, student of staff.")
            % {"value": role[:20]},
        )
    return Choice(school_year, group, str(role))


# --- Figure 5.1 -------------------------------------------------------------------------------


def figure_51(user, choice: Choice) -> dict[str, Any]:
    """The sector mean per 1,000 per school year with its interval, for the report's three
    groups (and the chosen category), for the chosen victim role."""
    sets = current_sets()
    groups = list(services.REPORT_GROUPS)
    if choice.group not in groups:
        groups.append(choice.group)
    names = group_names()
    rows = SectorRate.objects.filter(
        figure_set_id__in=sets.values(), group__in=groups, victim_role=choice.victim_role
    )
    found = {(r.school_year, r.group): r for r in rows}
    series = []
    for group in groups:
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
                    "institutions": row.institutions,
                    "mean": data["mean_rate"],
                    "ci_low": data["mean_ci_low"],
                    "ci_high": data["mean_ci_high"],
                    "withheld": bool(data["withheld"]),
                }
            )
        series.append({"group": group, "name": names.get(group, group), "points": points})
    return {
        "choice": choice,
        "school_years": list(sets),
        "series": series,
        "victim_role_name": str(dict(VictimGroup.choices)[choice.victim_role]),
    }


# --- Figure 5.3 -------------------------------------------------------------------------------


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
    return {
        "choice": choice,
        "rows": shown,
        "withheld": withheld,
        "sector": sector,
        "group_name": names.get(choice.group, choice.group),
        "victim_role_name": str(dict(VictimGroup.choices)[choice.victim_role]),
    }


# --- Figures 6.2 and 6.4 ----------------------------------------------------------------------


def figure_scatter(user, choice: Choice, figure: str) -> dict[str, Any]:
    """Rates (victim role all) against the JOB (6.2) or MO (6.4) score: points, fitted
    line, r, p, n and the flagged possible under-registration."""
    source = SCORES[figure]
    group = services.resolve_group(choice.group)
    selection = queries.Selection(school_year=choice.school_year, group=group)
    try:
        data = queries.correlation(user, selection, source)
    except queries.FiguresNotComputed:
        data = None
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


# --- CSV of the underlying data ---------------------------------------------------------------


def figure_csv_rows(figure: str, data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a figure's data, as shown in its table."""
    if figure == "5.1":
        header = [
            _("Schooljaar"),
            _("Groep (code)"),
            _("Groep"),
            _("Slachtoffer (code)"),
            _("Instellingen (k)"),
            _("Gemiddelde per 1.000"),
            _("Ondergrens 95%-BI"),
            _("Bovengrens 95%-BI"),
        ]
        rows = [
            [
                p["school_year"],
                p["group"],
                p["group_name"],
                data["choice"].victim_role,
                p["institutions"],
                p["mean"],
                p["ci_low"],
                p["ci_high"],
            ]
            for s in data["series"]
            for p in s["points"]
        ]
        return header, rows
    if figure == "5.3":
        header = [
            _("Rang"),
            _("Instelling"),
            _("Eigen instelling"),
            _("Aantal"),
            _("Studenten"),
            _("Per 1.000 studenten"),
            _("Ondergrens 95%-BI"),
            _("Bovengrens 95%-BI"),
            _("Niet gepubliceerd"),
        ]
        rows = [
            [
                r.get("rank"),
                r["label"] or "",
                r["own"],
                r["count"],
                r["students"],
                r["rate_per_1000"],
                r["ci_low"],
                r["ci_high"],
                r["suppressed"],
            ]
            for r in [*data["rows"], *data["withheld"]]
        ]
        return header, rows
    header = [
        _("Instelling"),
        _("Eigen instelling"),
        _("Per 1.000 studenten"),
        _("Score"),
        _("Mogelijke onderregistratie"),
    ]
    points = (data["data"] or {}).get("points", [])
    rows = [
        [p["institution"] or "", p["own"], p["rate_per_1000"], p["score"], p["flagged"]]
        for p in points
    ]
    return header, rows
