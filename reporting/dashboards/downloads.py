"""The CSV download of a dashboard figure: the same rows the chart and table show."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


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
