"""What every chart shares: the look (matplotlib's object API, never pyplot), numbers as the
reader writes them, and SVG that the site's Content-Security-Policy allows.

The SVG is made safe for the Content-Security-Policy (no inline styles): the ``<style>``
element matplotlib writes is replaced by attributes on the root element, and every
``style="a: b; c: d"`` attribute becomes the equivalent SVG presentation attributes
(``a="b" c="d"``), which are not styles in the CSP's sense. Text stays text
(``svg.fonttype: none``): smaller files, and the browser's own fonts.

Decisions:

* **Phone first.** A chart is drawn 4.2 inches (302 pt) wide with 11 pt text (SVG user
  units) and scaled to its column: on a 390 px phone (about 356 px for the chart, labels
  included) every text is still 11 px or more (tests/e2e/test_dashboard_browser.py).
  Titles are wrapped instead of widening the chart; legends go under the axes, where they
  cannot cover a point or an error bar.
* **Numbers** on the axes and in labels go through :mod:`miv.numbers` (decimal comma in
  Dutch, point in English), as in the tables next to them.
* Colours are the Okabe-Ito palette (distinguishable with colour blindness); the own
  institution and flagged institutions also differ by marker shape, not colour alone.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
import threading

from django.utils.translation import gettext as _

from miv.numbers import format_number

BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
GREEN = "#009E73"
GREY = "#7F7F7F"
SERIES = [(BLUE, "o"), (VERMILLION, "s"), (GREEN, "^"), (ORANGE, "D")]

WIDTH = 4.2  # inches: see the module's decisions
FONT_SIZE = 11  # points, for every text in a chart
TITLE_CHARACTERS = 46  # a title line at 11 pt bold in 4.2 inches

# rc_context changes process-wide settings: one chart at a time (a few tens of ms each;
# charts are kept once drawn, reporting.charts.chart).
LOCK = threading.Lock()
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "miv",  # stable element ids: the same data gives the same file
    "font.family": "sans-serif",
    "font.size": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": FONT_SIZE,
    "axes.titleweight": "bold",
}


def num(value: float | None, digits: int = 1) -> str:
    """A number in the active language's notation ("–" for none)."""
    return format_number(value, digits, empty="–")


def number_axis(axis, digits: int | None = None) -> None:
    """Tick labels in the active language's notation: whole numbers without decimals,
    others with one (or ``digits``)."""
    from matplotlib.ticker import FuncFormatter

    def label(value, _position):
        places = digits if digits is not None else (0 if float(value).is_integer() else 1)
        return format_number(value, places)

    axis.set_major_formatter(FuncFormatter(label))


def title_lines(title: str) -> str:
    return "\n".join(textwrap.wrap(title, TITLE_CHARACTERS))


def legend_below(figure, ax) -> None:
    """The legend under the axes (never over the data), in as many columns as fit."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=1, frameon=False)


def finish_rate_chart(figure, ax, title: str) -> None:
    """The steps every chart of rates by year or by institution ends with (5.1, 5.3): the
    rate axis from 0 in the reader's notation with its label and grid lines, the title,
    the legend under the axes."""
    ax.set_ylim(bottom=0)
    number_axis(ax.yaxis)
    ax.set_ylabel(_("Incidenten per 1.000 studenten"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_title(title_lines(title), loc="left")
    legend_below(figure, ax)


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


def render(figure, title: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return clean_svg(buffer.getvalue().decode("utf-8"), title).encode("utf-8")


def new_figure(height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")


def empty(ax, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        "\n".join(textwrap.wrap(message, 44)),
        ha="center",
        va="center",
        transform=ax.transAxes,
        color=GREY,
    )
    ax.set_xticks([])
    ax.set_yticks([])
