"""Server-rendered SVG charts of the dashboards (matplotlib's object API, never pyplot).

The SVG is made safe for the site's Content-Security-Policy (no inline styles): the
``<style>`` element matplotlib writes is replaced by attributes on the root element, and
every ``style="a: b; c: d"`` attribute becomes the equivalent SVG presentation attributes
(``a="b" c="d"``), which are not styles in the CSP's sense. Text stays text
(``svg.fonttype: none``): smaller files, and the browser's own fonts.

Colours are the Okabe-Ito palette (distinguishable with colour blindness); the own
institution and flagged institutions also differ by marker shape, not colour alone.
"""

from __future__ import annotations

import html
import io
import re
import threading
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
GREEN = "#009E73"
GREY = "#7F7F7F"
SERIES = [(BLUE, "o"), (VERMILLION, "s"), (GREEN, "^"), (ORANGE, "D")]

# rc_context changes process-wide settings: one chart at a time (a few tens of ms each).
_LOCK = threading.Lock()
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "miv",  # stable element ids: the same data gives the same file
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return number_format(round(value, digits), digits)


# --- SVG post-processing ----------------------------------------------------------------------

_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.S)
_ROOT = re.compile(r"<svg\b([^>]*)>")


def _presentation_attributes(match: re.Match) -> str:
    declarations = []
    for declaration in match.group(1).split(";"):
        name, _sep, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name and value and re.fullmatch(r"[a-z-]+", name):
            declarations.append(f' {name}="{html.escape(html.unescape(value), quote=True)}"')
    return "".join(declarations)


def clean_svg(svg: str, title: str) -> str:
    """matplotlib's SVG without styles (CSP), with a ``<title>`` and ``role="img"``."""
    svg = _METADATA.sub("", svg)
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTRIBUTE.sub(_presentation_attributes, svg)
    root_attributes = (
        ' stroke-linejoin="round" stroke-linecap="butt" role="img" aria-label="'
        + html.escape(title, quote=True)
        + '"'
    )
    svg = _ROOT.sub(
        lambda m: f"<svg{m.group(1)}{root_attributes}><title>{html.escape(title)}</title>",
        svg,
        count=1,
    )
    return svg.replace("<defs>\n  \n </defs>", "")


_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", re.S)
_ID = re.compile(r'\bid="([^"]+)"')
_REFERENCE = re.compile(r'(href="#|url\(#)([^")]+)')


def inline_svg(svg: bytes, prefix: str) -> str:
    """An SVG file ready to be placed in an HTML page: no XML prolog, and every id (and
    reference to one) prefixed, so that several charts in one page keep unique ids."""
    text = _PROLOG.sub("", svg.decode("utf-8"))
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    return _REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text).strip()


def _render(figure, title: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return clean_svg(buffer.getvalue().decode("utf-8"), title).encode("utf-8")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


# --- Figure 5.1 -------------------------------------------------------------------------------


def figure_51_svg(data: dict[str, Any]) -> bytes:
    """Sector mean per 1,000 per school year with its interval, one series per group."""
    import matplotlib

    title = _("Figuur 5.1 – Gemiddeld aantal incidenten per 1.000 studenten (%(role)s)") % {
        "role": data["victim_role_name"].lower()
    }
    with _LOCK, matplotlib.rc_context(_RC):
        figure = _figure(7.2, 3.8)
        ax = figure.add_subplot()
        years = data["school_years"]
        count = max(len(data["series"]), 1)
        drawn = False
        for n, series in enumerate(data["series"]):
            colour, marker = SERIES[n % len(SERIES)]
            offset = (n - (count - 1) / 2) * 0.12
            xs, ys, low, high = [], [], [], []
            for point in series["points"]:
                if point["mean"] is None:
                    continue
                x = years.index(point["school_year"]) + offset
                xs.append(x)
                ys.append(point["mean"])
                has_ci = point["ci_low"] is not None and point["ci_high"] is not None
                low.append(point["mean"] - point["ci_low"] if has_ci else 0)
                high.append(point["ci_high"] - point["mean"] if has_ci else 0)
            if not xs:
                continue
            drawn = True
            ax.errorbar(
                xs,
                ys,
                yerr=[low, high],
                fmt=marker + "-",
                color=colour,
                capsize=4,
                linewidth=1.2,
                markersize=6,
                label=series["name"],
            )
        if drawn:
            ax.set_xticks(range(len(years)), years)
            ax.set_xlim(-0.5, len(years) - 0.5)
            ax.set_ylim(bottom=0)
            ax.set_ylabel(_("Incidenten per 1.000 studenten"))
            ax.grid(axis="y", color="#dddddd", linewidth=0.6)
            ax.legend(frameon=False, loc="upper left", fontsize=8)
            ax.set_title(title, loc="left")
        else:
            _empty(ax, _("Geen cijfers voor deze keuze."))
        return _render(figure, title)


# --- Figure 5.3 -------------------------------------------------------------------------------


def figure_53_svg(data: dict[str, Any]) -> bytes:
    """A caterpillar plot: every published institution's rate with its interval, lowest
    first, the sector mean and its interval as a band, the own institution marked."""
    import matplotlib

    title = _("Figuur 5.3 – %(group)s per 1.000 studenten, per instelling (%(year)s)") % {
        "group": data.get("group_name", ""),
        "year": data["choice"].school_year,
    }
    rows = data["rows"]
    with _LOCK, matplotlib.rc_context(_RC):
        figure = _figure(7.2, 4.2)
        ax = figure.add_subplot()
        if not rows:
            _empty(ax, _("Geen gepubliceerde cijfers voor deze keuze."))
            return _render(figure, title)
        xs = list(range(len(rows)))
        sector = data.get("sector") or {}
        if sector.get("mean_rate") is not None:
            if sector.get("mean_ci_low") is not None:
                ax.axhspan(
                    sector["mean_ci_low"],
                    sector["mean_ci_high"],
                    color=SKY,
                    alpha=0.25,
                    linewidth=0,
                    label=_("95%-interval sectorgemiddelde"),
                )
            ax.axhline(
                sector["mean_rate"],
                color=BLUE,
                linewidth=1,
                linestyle="--",
                label=_("Sectorgemiddelde %(value)s") % {"value": _num(sector["mean_rate"])},
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
                color=ORANGE if own else GREY,
                ecolor=ORANGE if own else "#b0b0b0",
                markersize=8 if own else 4,
                capsize=0,
                linewidth=2 if own else 1,
                label=_("Eigen instelling") if own else _("Instellingen"),
                zorder=3 if own else 2,
            )
        labels = [r["label"] or "" for r in rows]
        if any(labels) and not all(r["own"] or not r["label"] for r in rows):
            ax.set_xticks(xs, labels, rotation=90, fontsize=7 if len(rows) > 25 else 8)
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
                        color=VERMILLION,
                        fontweight="bold",
                    )
            ax.set_xlabel(_("Instellingen, van laag naar hoog"))
        ax.set_xlim(-0.7, len(rows) - 0.3)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(_("Incidenten per 1.000 studenten"))
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(frameon=False, loc="upper left", fontsize=8)
        ax.set_title(title, loc="left")
        return _render(figure, title)


# --- Figures 6.2 and 6.4 ----------------------------------------------------------------------


def scatter_svg(data: dict[str, Any]) -> bytes:
    """Rate against survey score: points (own and flagged marked), fitted line, medians,
    and r, p, n in a corner."""
    import matplotlib

    figure_number = data["figure"]
    correlation = data["data"] or {}
    survey_year = correlation.get("survey_year")
    if data["source"] == "job":
        title = _("Figuur %(n)s – Incidenten per 1.000 studenten en veiligheidsgevoel studenten")
        y_label = _("%% studenten dat zich (zeer) veilig voelt (JOB %(year)s)")
    else:
        title = _("Figuur %(n)s – Incidenten per 1.000 studenten en veiligheidsgevoel medewerkers")
        y_label = _("Veiligheidsgevoel medewerkers, 0-10 (MO %(year)s)")
    title = title % {"n": figure_number}
    y_label = y_label % {"year": survey_year or "–"}
    points = correlation.get("points", [])
    with _LOCK, matplotlib.rc_context(_RC):
        figure = _figure(7.2, 4.2)
        ax = figure.add_subplot()
        if not points:
            message = correlation.get("message") or _("Geen gegevens voor deze keuze.")
            _empty(ax, message)
            return _render(figure, title)
        groups = [
            ([p for p in points if not p["own"] and not p["flagged"]], "o", SKY, BLUE, 36),
            (
                [p for p in points if p["flagged"] and not p["own"]],
                "s",
                VERMILLION,
                VERMILLION,
                48,
            ),
            ([p for p in points if p["own"]], "D", ORANGE, "#000000", 80),
        ]
        legend = [
            _("Instellingen"),
            _("Mogelijke onderregistratie"),
            _("Eigen instelling"),
        ]
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
        if correlation.get("rate_median") is not None:
            ax.axvline(correlation["rate_median"], color=GREY, linewidth=0.8, linestyle=":")
        if correlation.get("score_median") is not None:
            ax.axhline(correlation["score_median"], color=GREY, linewidth=0.8, linestyle=":")
        fit = data.get("fit")
        if fit is not None:
            xs = [p["rate_per_1000"] for p in points]
            low, high = min(xs), max(xs)
            ax.plot(
                [low, high],
                [fit["intercept"] + fit["slope"] * low, fit["intercept"] + fit["slope"] * high],
                color=BLUE,
                linewidth=1.2,
                linestyle="--",
                label=_("Regressielijn"),
            )
        if correlation.get("pearson_r") is not None:
            summary = _("r = %(r)s, p = %(p)s, n = %(n)s") % {
                "r": _num(correlation["pearson_r"], 2),
                "p": _num(correlation["pearson_p"], 3),
                "n": correlation["n"],
            }
        else:
            # The reason (too few points, withheld) is in the page next to the chart.
            summary = _("n = %(n)s (geen correlatie getoond)") % {"n": correlation.get("n", 0)}
        year = data["choice"].school_year
        # The statistics go under the axis title, where no point can hide them.
        x_label = _("Incidenten per 1.000 studenten (%(year)s)") % {"year": year}
        ax.set_xlabel(f"{x_label}\n{summary}")
        ax.set_ylabel(y_label)
        ax.set_xlim(left=0)
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.legend(frameon=False, loc="upper right", fontsize=8)
        ax.set_title(title, loc="left")
        return _render(figure, title)


def chart_svg(figure: str, data: dict[str, Any]) -> bytes:
    if figure == "5.1":
        return figure_51_svg(data)
    if figure == "5.3":
        return figure_53_svg(data)
    return scatter_svg(data)
