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
from datetime import date
from typing import Any

import numpy as np
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from miv import clock
from miv.schoolyear import is_running, previous_school_years, through_date

from . import correlations, coverage_data, groups, queries, stats
from .access import figure_viewer, institution_rows, protect_rows
from .choices import FigureSetStatus, ScoreSource, VictimGroup
from .exports import group_names
from .models import FigureSet, InstitutionRate, SectorRate
from .protection import RESEARCH_VICTIM_ROLES, research_groups
from .year_to_date import year_to_date_counts

FIGURES = ("5.1", "5.3", "funnel", "6.2", "6.4")
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
        "school_years": [(y, year_label(y)) for y in reversed(list(current_sets()))],
        "groups": [(g, names.get(g, g)) for g in research_groups()],
        "victim_roles": [(str(r), str(roles[r])) for r in RESEARCH_VICTIM_ROLES],
    }


def running_year(school_year: str) -> dict[str, Any] | None:
    """The "t/m" of a school year that is still running today (None for a complete one):
    its figures cover 1 August up to and including that date."""
    day = clock.today()
    if not is_running(school_year, day):
        return None
    through = through_date(school_year, day)
    return {
        "school_year": school_year,
        "through": date_format(through, "j F Y"),
        "through_short": short_date(through),
        "through_date": through.isoformat(),
    }


def short_date(day) -> str:
    """ "3 dec" in Dutch (months in lower case), "3 Dec" in English."""
    dutch = (translation.get_language() or "nl").startswith("nl")
    return date_format(day, "j b" if dutch else "j M")


def year_label(school_year: str) -> str:
    """ "2026-2027 (lopend, t/m 2 december 2026)" for the running year, else the year."""
    running = running_year(school_year)
    if running is None:
        return school_year
    return _("%(year)s (lopend, t/m %(date)s)") % {
        "year": school_year,
        "date": running["through"],
    }


def coverage(school_year: str) -> dict[str, Any]:
    """What the sector figures of a school year cover, in words and numbers (Tabel 5.1)."""
    result = coverage_data.school_year_coverage(school_year)
    dimensions = []
    for dimension in ("size", "kind", "region"):
        test = result.tests["usable"][dimension]
        dimensions.append(
            {
                "label": coverage_data.dimension_label(dimension),
                "rows": [
                    {
                        "label": coverage_data.stratum_label(dimension, row.category),
                        "population": row.population,
                        "population_share": row.population_share,
                        "registered": row.registered,
                        "registered_share": row.registered_share,
                        "usable": row.usable,
                        "usable_share": row.usable_share,
                    }
                    for row in result.rows(dimension)
                ],
                "p_value": test.p_value,
                "unknown": test.population_unknown,
            }
        )
    limits = result.tests["usable"]["size"].limits
    return {
        "school_year": school_year,
        "sentence": _("Dekking %(year)s: %(coverage)s.")
        % {"year": school_year, "coverage": coverage_data.coverage_sentence(result)},
        "usable": result.usable,
        "registered": result.registered,
        "population": result.population,
        "student_share": result.student_share,
        "dimensions": dimensions,
        "limits": [coverage_data.limit_text(code) for code in limits],
    }


def parse_choice(params: Mapping[str, str]) -> Choice | None:
    """The choice a request names; defaults: the latest complete school year, total, all.
    None when no figures have been computed yet. BadChoice for values not offered."""
    years = current_sets()
    if not years:
        return None
    school_year = (params.get("school_year") or "").strip() or queries.default_school_year(
        list(years)
    )
    if school_year not in years:
        raise BadChoice(
            "school_year",
            _("Voor schooljaar '%(value)s' zijn geen cijfers. Kies uit: %(years)s.")
            % {"value": school_year[:20], "years": ", ".join(years)},
        )
    group = (params.get("group") or "").strip() or groups.GROUP_TOTAL
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
        "year_to_date": _year_to_date(choice, years, running),
        "coverage": coverage(choice.school_year),
    }


def _year_to_date(
    choice: Choice, years: list[str], running: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Every school year over the part the running year has had (1 August up to its "t/m"
    date): the unweighted mean of the institutions' rates, as figure 5.1's. Only while
    the latest year runs. Sector means to one decimal, as the published means."""
    if running is None:
        return None
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


# --- Figures 6.2 and 6.4 ----------------------------------------------------------------------


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
        data.update(
            status=result.status,
            n=result.n,
            pearson_r=result.pearson_r,
            pearson_p=result.pearson_p,
            pearson_ci_low=result.pearson_ci_low,
            pearson_ci_high=result.pearson_ci_high,
            spearman_rho=result.spearman_rho,
            spearman_p=result.spearman_p,
            rate_median=result.rate_median,
            score_median=result.score_median,
            message=queries.status_message(result.status, source),
        )
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
            _("Ten opzichte van vorig jaar (ratio)"),
            _("Ondergrens 95%-BI ratio"),
            _("Bovengrens 95%-BI ratio"),
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
                *(
                    [
                        r["rate_ratio"]["ratio"],
                        r["rate_ratio"]["ci_low"],
                        r["rate_ratio"]["ci_high"],
                    ]
                    if r.get("rate_ratio")
                    else [None, None, None]
                ),
            ]
            for r in [*data["rows"], *data["withheld"]]
        ]
        return header, rows
    if figure == "funnel":
        header = [
            _("Instelling"),
            _("Eigen instelling"),
            _("Studenten"),
            _("Per 1.000 studenten"),
            _("Positie in de trechter"),
        ]
        rows = [
            [p["label"] or "", p["own"], p["students"], p["rate_per_1000"], p["position_text"]]
            for p in data["points"]
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
