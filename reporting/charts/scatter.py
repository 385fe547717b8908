"""Figures 6.2 and 6.4: the institutions' rates against a survey score (JOB or MO), with the
fitted line, the medians and r, p and n under the axis, where no point can hide them.
The caption names only what is drawn."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import svg


def scatter(data: dict[str, Any]) -> tuple[bytes, list[str]]:
    import matplotlib

    figure_number = data["figure"]
    correlation = data["data"] or {}
    survey_year = correlation.get("survey_year")
    if data["source"] == "job":
        title = _("Figuur %(n)s – Incidenten per 1.000 studenten en veiligheidsgevoel studenten")
        y_label = _("%% studenten (zeer) veilig (JOB %(year)s)")
    else:
        title = _("Figuur %(n)s – Incidenten per 1.000 studenten en veiligheidsgevoel medewerkers")
        y_label = _("Veiligheidsgevoel medewerkers, 0-10 (MO %(year)s)")
    title = title % {"n": figure_number}
    y_label = y_label % {"year": survey_year or "–"}
    points = correlation.get("points", [])
    caption: list[str] = []
    with svg.LOCK, matplotlib.rc_context(svg.RC):
        figure = svg.new_figure(4.2)
        ax = figure.add_subplot()
        if not points:
            message = correlation.get("message") or _("Geen gegevens voor deze keuze.")
            svg.empty(ax, message)
            return svg.render(figure, title), [message]
        groups = [
            ([p for p in points if not p["own"] and not p["flagged"]], "o", svg.SKY, svg.BLUE, 36),
            (
                [p for p in points if p["flagged"] and not p["own"]],
                "s",
                svg.VERMILLION,
                svg.VERMILLION,
                48,
            ),
            ([p for p in points if p["own"]], "D", svg.ORANGE, "#000000", 80),
        ]
        legend = [_("Instellingen"), _("Mogelijke onderregistratie"), _("Eigen instelling")]
        for (chosen, marker, face, edge, size), label in zip(groups, legend, strict=True):
            if not chosen:
                continue
            ax.scatter(
                [p["rate_per_1000"] for p in chosen],
                [p["score"] for p in chosen],
                marker=marker,
                s=size,
                facecolor=face,
                edgecolor=edge,
                linewidth=1,
                label=label,
                zorder=3,
            )
        medians = (
            correlation.get("rate_median") is not None
            and correlation.get("score_median") is not None
        )
        if medians:
            ax.axvline(correlation["rate_median"], color=svg.GREY, linewidth=0.8, linestyle=":")
            ax.axhline(correlation["score_median"], color=svg.GREY, linewidth=0.8, linestyle=":")
        fit = data.get("fit")
        if fit is not None:
            xs = [p["rate_per_1000"] for p in points]
            low, high = min(xs), max(xs)
            ax.plot(
                [low, high],
                [fit["intercept"] + fit["slope"] * low, fit["intercept"] + fit["slope"] * high],
                color=svg.BLUE,
                linewidth=1.2,
                linestyle="--",
                label=_("Regressielijn"),
            )
        if correlation.get("pearson_r") is not None:
            summary = _("r = %(r)s, p = %(p)s, n = %(n)s") % {
                "r": svg.num(correlation["pearson_r"], 2),
                "p": svg.num(correlation["pearson_p"], 3),
                "n": correlation["n"],
            }
        else:
            # The reason (too few points) is in the caption and next to the chart.
            summary = _("n = %(n)s (geen correlatie getoond)") % {"n": correlation.get("n", 0)}
        year = data["choice"].school_year
        x_label = _("Incidenten per 1.000 studenten (%(year)s)") % {"year": year}
        ax.set_xlabel(f"{x_label}\n{summary}")
        ax.set_ylabel(y_label)
        ax.set_xlim(left=0)
        svg.number_axis(ax.xaxis)
        svg.number_axis(ax.yaxis)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_title(svg.title_lines(title), loc="left")
        svg.legend_below(figure, ax)

        if survey_year:
            caption.append(
                _("Peiling %(year)s; incidenten met alle slachtofferrollen.")
                % {"year": survey_year}
            )
        caption.append(
            ngettext(
                "%(n)s instelling met een score.",
                "%(n)s instellingen met een score.",
                len(points),
            )
            % {"n": len(points)}
        )
        if fit is not None:
            caption.append(_("Stippellijn in blauw: de regressielijn."))
        if medians:
            caption.append(_("Grijze stippellijnen: de medianen van beide assen."))
        if groups[1][0]:
            caption.append(
                _(
                    "Vierkant: score én aantal incidenten onder de sectormediaan – mogelijk "
                    "onderregistratie."
                )
            )
        if groups[2][0]:
            caption.append(_("Oranje ruit: uw instelling."))
        if correlation.get("excluded"):
            caption.append(correlation["excluded_text"])
        elif correlation.get("pearson_r") is None and correlation.get("message"):
            caption.append(correlation["message"])
        return svg.render(figure, title), caption
