"""Figure 5.3 and the funnel plot next to it: every published institution of one school
year, group and victim role.

* **5.3**, a caterpillar plot: each institution's rate with its exact interval, lowest first,
  the sector mean as a dashed line and its interval as a band (each only when published).
* **The funnel plot**: rate against the number of students, with 95% and 99.8% exact
  Poisson control limits around the sector rate (:func:`reporting.stats.funnel_limits`):
  small institutions scatter more by chance, the funnel shows how much. Only institutions
  whose student number the reader may see are drawn (their own, or all with named
  access); the caption says how many are left out and why.

Both return the caption sentences of what they drew.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import svg


def figure_53(data: dict[str, Any]) -> tuple[bytes, list[str]]:
    import matplotlib

    title = _("Figuur 5.3 – %(group)s per 1.000 studenten, per instelling (%(year)s)") % {
        "group": data.get("group_name", ""),
        "year": data["choice"].school_year,
    }
    rows = data["rows"]
    caption: list[str] = []
    withheld = len(data.get("withheld", []))
    with svg.LOCK, matplotlib.rc_context(svg.RC):
        figure = svg.new_figure(4.2)
        ax = figure.add_subplot()
        if not rows:
            svg.empty(ax, _("Geen gepubliceerde cijfers voor deze keuze."))
            caption.append(_("Geen gepubliceerde cijfers voor deze keuze."))
            if withheld:
                caption.append(_withheld_sentence(withheld))
            return svg.render(figure, title), caption
        xs = list(range(len(rows)))
        sector = data.get("sector") or {}
        if sector.get("mean_rate") is not None:
            if sector.get("mean_ci_low") is not None:
                ax.axhspan(
                    sector["mean_ci_low"],
                    sector["mean_ci_high"],
                    color=svg.SKY,
                    alpha=0.25,
                    linewidth=0,
                    label=_("95%-interval sectorgemiddelde"),
                )
            ax.axhline(
                sector["mean_rate"],
                color=svg.BLUE,
                linewidth=1,
                linestyle="--",
                label=_("Sectorgemiddelde %(value)s") % {"value": svg.num(sector["mean_rate"])},
            )
        for own in (False, True):
            chosen = [(x, r) for x, r in zip(xs, rows, strict=True) if r["own"] == own]
            if not chosen:
                continue
            ax.errorbar(
                [x for x, _r in chosen],
                [r["rate_per_1000"] for _x, r in chosen],
                # Anonymous rows have no interval (access.anonymise_row): a point only.
                yerr=[
                    [
                        r["rate_per_1000"] - r["ci_low"] if r["ci_low"] is not None else 0
                        for _x, r in chosen
                    ],
                    [
                        r["ci_high"] - r["rate_per_1000"] if r["ci_high"] is not None else 0
                        for _x, r in chosen
                    ],
                ],
                fmt="D" if own else "o",
                color=svg.ORANGE if own else svg.GREY,
                ecolor=svg.ORANGE if own else "#b0b0b0",
                markersize=8 if own else 5,
                capsize=0,
                linewidth=2 if own else 1,
                label=_("Eigen instelling") if own else _("Instellingen"),
                zorder=3 if own else 2,
            )
        labels = [r["label"] or "" for r in rows]
        if any(labels) and not all(r["own"] or not r["label"] for r in rows):
            ax.set_xticks(xs, labels, rotation=90)
        else:
            ax.set_xticks([])
            for x, row in zip(xs, rows, strict=True):
                if row["own"]:
                    ax.annotate(
                        row["label"],
                        (x, row["ci_high"] if row["ci_high"] is not None else row["rate_per_1000"]),
                        xytext=(0, 6),
                        textcoords="offset points",
                        ha="center",
                        color=svg.VERMILLION,
                        fontweight="bold",
                    )
            ax.set_xlabel(_("Instellingen, van laag naar hoog"))
        ax.set_xlim(-0.7, len(rows) - 0.3)
        svg.finish_rate_chart(figure, ax, title)

        caption.append(_("Elk punt is een instelling, van laag naar hoog."))
        if any(r["ci_low"] is not None for r in rows):
            caption.append(
                _("Lijnen door de punten: exact 95%-betrouwbaarheidsinterval (Poisson).")
            )
        if any(r["ci_low"] is None for r in rows):
            caption.append(
                _(
                    "Instellingen die niet bij naam worden genoemd staan er afgerond op een "
                    "heel getal en zonder interval in."
                )
            )
        if any(r["own"] for r in rows):
            caption.append(_("Oranje ruit: uw instelling."))
        if sector.get("mean_rate") is not None:
            caption.append(_("Stippellijn: het ongewogen sectorgemiddelde."))
            if sector.get("mean_ci_low") is not None:
                caption.append(
                    _("Blauwe band: het betrouwbaarheidsinterval (95%) van het sectorgemiddelde.")
                )
        if withheld:
            caption.append(_withheld_sentence(withheld))
        return svg.render(figure, title), caption


def _withheld_sentence(withheld: int) -> str:
    return ngettext(
        "%(n)s instelling staat er niet in: de aantallen zijn te klein om te publiceren.",
        "%(n)s instellingen staan er niet in: de aantallen zijn te klein om te publiceren.",
        withheld,
    ) % {"n": withheld}


def funnel(data: dict[str, Any]) -> tuple[bytes, list[str]]:
    """Rate against students with the control limits (``data`` from
    :func:`reporting.dashboards.funnel`)."""
    import matplotlib

    title = _(
        "Trechterplot – %(group)s per 1.000 studenten tegen het aantal studenten (%(year)s)"
    ) % {
        "group": data.get("group_name", ""),
        "year": data["choice"].school_year,
    }
    caption: list[str] = []
    with svg.LOCK, matplotlib.rc_context(svg.RC):
        figure = svg.new_figure(3.9)
        ax = figure.add_subplot()
        limits = data.get("limits")
        if not limits:
            message = data.get("message") or _("Geen sectorcijfer voor deze keuze.")
            svg.empty(ax, message)
            return svg.render(figure, title), [message]
        students = limits["students"]
        ax.axhline(
            limits["sector_rate"],
            color=svg.BLUE,
            linewidth=1,
            label=_("Sectorcijfer %(value)s") % {"value": svg.num(limits["sector_rate"])},
        )
        for level, style, name in (
            ("inner", "--", _("grenzen bij 95%")),
            ("outer", ":", _("grenzen bij 99,8%")),
        ):
            ax.plot(
                students, limits[level]["upper"], style, color=svg.GREY, linewidth=1.2, label=name
            )
            ax.plot(students, limits[level]["lower"], style, color=svg.GREY, linewidth=1.2)
        points = data.get("points", [])
        for own in (False, True):
            chosen = [p for p in points if p["own"] == own]
            if chosen:
                ax.scatter(
                    [p["students"] for p in chosen],
                    [p["rate_per_1000"] for p in chosen],
                    marker="D" if own else "o",
                    s=64 if own else 30,
                    facecolor=svg.ORANGE if own else svg.SKY,
                    edgecolor="#000000" if own else svg.BLUE,
                    linewidth=1,
                    label=_("Eigen instelling") if own else _("Instellingen"),
                    zorder=3,
                )
        ax.set_xlim(left=0, right=students[-1])
        ax.set_ylim(bottom=0)
        svg.number_axis(ax.xaxis, 0)
        svg.number_axis(ax.yaxis)
        ax.set_xlabel(_("Aantal studenten"))
        ax.set_ylabel(_("Incidenten per 1.000 studenten"))
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_title(svg.title_lines(title), loc="left")
        svg.legend_below(figure, ax)
        caption.append(
            _(
                "Doorgetrokken lijn: het sectorcijfer (%(value)s per 1.000, alle incidenten "
                "gedeeld door alle studenten); gestreepte lijnen: 95%%-grenzen, stippellijnen: "
                "99,8%%-grenzen (exact, Poisson). Een instelling buiten de grenzen wijkt meer "
                "af dan toeval bij haar omvang verklaart."
            )
            % {"value": svg.num(limits["sector_rate"])}
        )
        if any(p["own"] for p in points):
            caption.append(_("Oranje ruit: uw instelling."))
        left_out = data.get("not_drawn", 0)
        if left_out:
            caption.append(
                ngettext(
                    "%(n)s instelling staat er niet als punt in: haar aantal studenten wordt "
                    "niet gepubliceerd of haar cijfers zijn niet gepubliceerd.",
                    "%(n)s instellingen staan er niet als punt in: hun aantal studenten wordt "
                    "niet gepubliceerd of hun cijfers zijn niet gepubliceerd.",
                    left_out,
                )
                % {"n": left_out}
            )
        return svg.render(figure, title), caption
