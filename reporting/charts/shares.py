"""Figures 5.4–5.9: how many institutions gave each answer, as horizontal bars of shares.

``data`` is one figure as the reader may see it (``questionnaire.sector``, made plain by
``questionnaire.sector_views``): a title, whether several answers were allowed, the answer
columns and per row its label, n and shares (none for a row that is not published).

Decisions:

* **One answer per row**: one bar of 100% per row, its parts the answers in the order of
  the legend, as the report draws these figures. **Several answers**: a short bar per
  answer, each the share of the row's institutions that gave it (they add up to more than
  100%, so stacking them would lie).
* **Phone first**: the row's text goes above its bar, not beside it, so the bars keep the
  chart's whole width at 390 px; in a 100% bar shares of 15% or more are written in their
  part (in white or black, whichever reads on the colour), beside several bars every share.
* "Weet niet" and "geen zicht" (``neutral`` columns) are grey; the others take the
  Okabe-Ito colours in the order of the answers.
* A row that is not published gets no bar, only its text and n; the caption says how
  many and why. The table under the chart has every number.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from miv.numbers import format_percent

from . import svg

COLOURS = (svg.BLUE, svg.SKY, svg.GREEN, svg.ORANGE, svg.VERMILLION, "#CC79A7")
DARK_COLOURS = {svg.BLUE, svg.VERMILLION, svg.GREEN, svg.GREY}  # white text on these
WRITTEN_FROM = 0.15  # a share this large is written in its part of a 100% bar
LINE = 0.2  # inches: one line of 11 pt text
BAR = 0.2  # inches: one bar
GAP = 0.12  # inches between rows


def _colours(columns: list[dict[str, Any]]) -> list[str]:
    colours, next_colour = [], iter(COLOURS)
    for column in columns:
        colours.append(svg.GREY if column.get("neutral") else next(next_colour, svg.GREY))
    return colours


def _row_label(row: dict[str, Any]) -> str:
    text = f"{row['label']} (n = {row['n']})"
    if row["shares"] is None:
        text += " – " + _("niet gepubliceerd")
    return svg.title_lines(text)


def answer_shares(data: dict[str, Any]) -> tuple[bytes, list[str]]:
    import matplotlib
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    title = _("Figuur %(n)s – %(title)s") % {
        "n": data["number"],
        "title": data["title"],
    }
    columns, rows, several = data["columns"], data["rows"], data["several"]
    colours = _colours(columns)
    published = [r for r in rows if r["shares"] is not None]
    withheld = len(rows) - len(published)
    caption: list[str] = []
    # Rows top-down in inches (the axes are drawn as tall as the rows need, so a data unit
    # is about an inch): the row's text, then one bar or a bar per answer, then a gap.
    labels = [_row_label(row) for row in rows]
    positions, y = [], 0.05
    for row, label in zip(rows, labels, strict=True):
        y += LINE * (label.count("\n") + 1)
        positions.append(y)
        y += (BAR * len(columns) if several else BAR * 1.3) if row["shares"] is not None else 0
        y += GAP
    title_lines = svg.title_lines(title).count("\n") + 1
    height = y + LINE * title_lines + 0.6 + LINE * len(columns) + 0.1
    with svg.LOCK, matplotlib.rc_context(svg.RC):
        figure = svg.new_figure(height if published else 2.5)
        ax = figure.add_subplot()
        if not published:
            svg.empty(ax, _("Geen onderdeel van deze figuur is gepubliceerd."))
            caption.append(_("Geen onderdeel van deze figuur is gepubliceerd."))
        else:
            for index, colour in enumerate(colours):
                for row, top in zip(rows, positions, strict=True):
                    if row["shares"] is None:
                        continue
                    share = row["shares"][index] or 0.0
                    if several:
                        y_bar, left = top + BAR * (index + 0.5), 0.0
                    else:
                        y_bar = top + BAR * 0.65
                        left = sum(s or 0.0 for s in row["shares"][:index])
                    thickness = BAR * 0.85 if several else BAR * 1.2
                    if share > 0:
                        ax.barh(y_bar, share, left=left, height=thickness, color=colour, lw=0)
                    if several or share >= WRITTEN_FROM:
                        x_text = left + share / 2 if not several else share + 0.01
                        ax.text(
                            x_text,
                            y_bar,
                            format_percent(share),
                            ha="center" if not several else "left",
                            va="center",
                            color=("white" if colour in DARK_COLOURS and not several else "black"),
                        )
            for label, top in zip(labels, positions, strict=True):
                ax.text(0, top - 0.03, label, va="bottom", ha="left")
            ax.set_xlim(0, 1.12 if several else 1)
            ax.set_ylim(y, 0)
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.xaxis.set_major_locator(MultipleLocator(0.25))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_percent(v)))
            ax.set_xlabel(_("Aandeel instellingen"))
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            figure.legend(
                handles=[
                    Patch(color=colour, label=column["label"])
                    for column, colour in zip(columns, colours, strict=True)
                ],
                loc="outside lower center",
                ncols=1,
                frameon=False,
            )
            if several:
                caption.append(
                    _(
                        "Per onderdeel een balk per antwoord: het aandeel van de instellingen "
                        "dat dat antwoord gaf. Meer antwoorden waren mogelijk, dus de balken "
                        "tellen op tot meer dan %(whole)s."
                    )
                    % {"whole": format_percent(1)}
                )
            else:
                caption.append(
                    _(
                        "Per onderdeel één balk van %(whole)s: het aandeel van de instellingen "
                        "per antwoord, in de volgorde van de legenda."
                    )
                    % {"whole": format_percent(1)}
                )
            caption.append(_("n: het aantal instellingen dat het onderdeel beantwoordde."))
            if several:
                caption.append(_("Bij elke balk staat zijn aandeel."))
            elif any((s or 0) >= WRITTEN_FROM for r in published for s in r["shares"]):
                caption.append(
                    _("Aandelen van %(share)s of meer staan in hun deel van de balk.")
                    % {"share": format_percent(WRITTEN_FROM)}
                )
            if any(c.get("neutral") for c in columns):
                caption.append(_("Grijs: weet niet of geen zicht."))
        if withheld:
            caption.append(
                ngettext(
                    "%(n)s onderdeel heeft geen balk: minder dan %(k)s instellingen "
                    "beantwoordden het.",
                    "%(n)s onderdelen hebben geen balk: minder dan %(k)s instellingen "
                    "beantwoordden ze.",
                    withheld,
                )
                % {"n": withheld, "k": data["k"]}
            )
        ax.set_title(svg.title_lines(title), loc="left")
        return svg.render(figure, title), caption
