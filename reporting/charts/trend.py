"""Figure 5.1: the sector mean per 1,000 students per school year, one series per group.

A running school year is not a whole year: its point is drawn open, apart from the line of
the complete years, and labelled with its "t/m" date; when the data has a year-to-date
series (the same part of every year, :mod:`reporting.year_to_date`), that is drawn as its
own dashed line, so the running year is compared with like. The caption says only what is
drawn.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from . import svg


def _errors(points: list[dict]) -> list[list[float]]:
    low, high = [], []
    for point in points:
        has_ci = point["ci_low"] is not None and point["ci_high"] is not None
        low.append(point["mean"] - point["ci_low"] if has_ci else 0)
        high.append(point["ci_high"] - point["mean"] if has_ci else 0)
    return [low, high]


def figure_51(data: dict[str, Any]) -> tuple[bytes, list[str]]:
    """(SVG, caption sentences) of figure 5.1."""
    import matplotlib

    role = data["victim_role_name"].lower()
    title = _("Figuur 5.1 – Gemiddeld aantal incidenten per 1.000 studenten (%(role)s)") % {
        "role": role
    }
    years = data["school_years"]
    running = data.get("running")
    caption: list[str] = []
    with svg.LOCK, matplotlib.rc_context(svg.RC):
        figure = svg.new_figure(3.9)
        ax = figure.add_subplot()
        count = max(len(data["series"]), 1)
        drawn = with_ci = without_ci = open_point = False
        for n, series in enumerate(data["series"]):
            colour, marker = svg.SERIES[n % len(svg.SERIES)]
            offset = (n - (count - 1) / 2) * 0.12
            shown = [p for p in series["points"] if p["mean"] is not None]

            def x(point, offset=offset):
                return years.index(point["school_year"]) + offset

            whole = [p for p in shown if not p.get("running")]
            partial = [p for p in shown if p.get("running")]
            with_ci |= any(p["ci_low"] is not None for p in shown)
            without_ci |= any(p["ci_low"] is None for p in shown)
            if whole:
                drawn = True
                ax.errorbar(
                    [x(p) for p in whole],
                    [p["mean"] for p in whole],
                    yerr=_errors(whole),
                    fmt=marker + "-",
                    color=colour,
                    capsize=4,
                    linewidth=1.2,
                    markersize=6,
                    label=series["name"],
                )
            if partial:
                drawn = open_point = True
                ax.errorbar(
                    [x(p) for p in partial],
                    [p["mean"] for p in partial],
                    yerr=_errors(partial),
                    fmt=marker,
                    color=colour,
                    markerfacecolor="white",
                    capsize=4,
                    linewidth=1.2,
                    markersize=6,
                    label=None if whole else series["name"],
                )
        year_to_date = data.get("year_to_date") or {}
        ytd_points = [p for p in year_to_date.get("points", []) if p["mean"] is not None]
        if ytd_points:
            drawn = True
            ax.plot(
                [years.index(p["school_year"]) for p in ytd_points if p["school_year"] in years],
                [p["mean"] for p in ytd_points if p["school_year"] in years],
                "v--",
                color=svg.GREY,
                markerfacecolor="white",
                markersize=6,
                linewidth=1,
                label=_("%(group)s, zelfde periode (%(period)s)")
                % {"group": year_to_date["group_name"], "period": year_to_date["period"]},
            )
        if drawn:
            labels = [
                _("%(year)s\nt/m %(date)s") % {"year": y, "date": running["through_short"]}
                if running and y == running["school_year"]
                else y
                for y in years
            ]
            ax.set_xticks(range(len(years)), labels)
            ax.tick_params(axis="x", labelrotation=0)
            for tick in ax.get_xticklabels():
                tick.set_fontsize(svg.FONT_SIZE)
            ax.set_xlim(-0.5, len(years) - 0.5)
            svg.finish_rate_chart(figure, ax, title)
            if len(years) > 3:
                for tick in ax.get_xticklabels():
                    tick.set_rotation(30)
                    tick.set_horizontalalignment("right")
            caption.append(
                _("Ongewogen gemiddelde van de instellingen, slachtoffer: %(role)s.")
                % {"role": role}
            )
            if with_ci:
                caption.append(
                    _(
                        "Foutbalken: 95%-betrouwbaarheidsinterval (t-verdeling); overlappende "
                        "intervallen betekenen geen significant verschil."
                    )
                )
            if without_ci:
                caption.append(
                    _(
                        "Een punt zonder foutbalk: het interval wordt niet gepubliceerd, omdat "
                        "de aantallen van een of meer instellingen te klein zijn."
                    )
                )
            if open_point:
                caption.append(
                    _(
                        "Open symbool: het lopende schooljaar %(year)s t/m %(date)s; geen heel "
                        "jaar, dus niet te vergelijken met de hele jaren ervoor."
                    )
                    % {"year": running["school_year"], "date": running["through"]}
                )
            if ytd_points:
                caption.append(
                    _(
                        "Grijze stippellijn: elk schooljaar over dezelfde periode "
                        "(%(period)s), de vergelijking voor het lopende jaar."
                    )
                    % {"period": year_to_date["period"]}
                )
            if any(p.get("withheld") for p in year_to_date.get("points", [])):
                caption.append(
                    _(
                        "Een schooljaar zonder grijs punt: die periode wordt niet gepubliceerd, "
                        "omdat de aantallen van een of meer instellingen te klein zijn."
                    )
                )
        else:
            svg.empty(ax, _("Geen cijfers voor deze keuze."))
            caption.append(_("Geen cijfers voor deze keuze."))
        return svg.render(figure, title), caption
