"""Figures 5.4–5.9 for the sector, as published: how the institutions answered the
safety-policy questionnaire, in tables a reader can take in on a phone.

The counting is :mod:`questionnaire.figures` (pure); this module chooses what is published
and puts labels on it.

Publication rules (decisions):

* **Complete school years only.** While a year runs, responses are still being submitted;
  a figure that changes with every submission would tell a watcher how the institution that
  just submitted answered. A complete year's figures change only when an administrator
  reopens a response (recorded in the audit trail).
* **A row is published when at least ``MIV_DISCLOSURE_K`` institutions answered it** (the k
  of the incident figures): below that, a coordinator who knows their own answer could
  learn too much about the few others. The row says so instead of showing numbers.
* **Institutions, not persons, and never who answered what**: only counts and shares of
  submitted closed answers. Open answers are never read (``services.submitted_answers``).
* The coverage is the share of the year's institutions (the population of the incident
  figures, :mod:`reporting.coverage_data`) that answered the question.

Limits: group disclosure is not prevented — when every institution gives the same answer,
the figure says that every institution gave it, as the report does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from miv import clock
from miv.numbers import format_percent
from miv.schoolyear import school_year_bounds
from reporting.coverage_data import institution_years

from . import figures, sample
from .choices import ResponseStatus
from .definition import Questionnaire
from .models import QuestionnaireResponse, QuestionnaireVersion
from .services import submitted_answers

# (number, title, question) in the report's order; 5.4 combines V3 and V4.
FIGURES = (
    ("5.4", gettext_lazy("Voorzieningen en op hoeveel locaties ze er zijn"), "V3"),
    ("5.5", gettext_lazy("Samenwerking met partners"), "V5"),
    ("5.5", gettext_lazy("Tevredenheid over de samenwerking"), "V6"),
    ("5.6", gettext_lazy("Evaluatie van het veiligheidsbeleid"), "V10"),
    ("5.7", gettext_lazy("Bronnen bij de evaluatie"), "V11"),
    ("5.8", gettext_lazy("Extra maatregelen in de afgelopen twee schooljaren"), "V12"),
    ("5.9", gettext_lazy("Thema's die (veel) meer aandacht nodig hebben"), "V14"),
)
# Answers that say the institution does not know: grey in the charts.
NEUTRAL_ANSWERS = frozenset({figures.UNKNOWN, "no_view"})
EXTRA_LABELS = {
    figures.PRESENT_UNSPECIFIED: gettext_lazy("aanwezig, aantal locaties onbekend"),
    figures.ABSENT: gettext_lazy("niet aanwezig"),
    figures.UNKNOWN: gettext_lazy("weet niet"),
}


def minimum() -> int:
    return max(1, int(getattr(settings, "MIV_DISCLOSURE_K", 5)))


def published_years() -> list[str]:
    """Complete school years with at least one submitted response, newest first."""
    years = (
        QuestionnaireResponse.objects.filter(status=ResponseStatus.SUBMITTED)
        .values_list("school_year", flat=True)
        .distinct()
    )
    day = clock.today()
    return sorted((y for y in set(years) if school_year_bounds(y)[1] < day), reverse=True)


@dataclass(frozen=True)
class Row:
    item: str  # the item's code ("" for a question without items)
    label: str
    n: int
    published: bool
    # {"option", "label", "count", "share"} per answer, when published
    cells: tuple[dict[str, Any], ...]


def _compute(questionnaire: Questionnaire, answers, population: int, code: str):
    if code == "V3":
        return figures.figure_5_4(questionnaire, answers, population)
    return figures.distribution(questionnaire, answers, code, population)


def _columns(questionnaire: Questionnaire, code: str) -> list[tuple[str, str]]:
    language = get_language()
    if code == "V3":
        v4 = questionnaire.question("V4")
        return [(o.code, o.text(language)) for o in v4.options] + [
            (key, str(label)) for key, label in EXTRA_LABELS.items()
        ]
    return [(o.code, o.text(language)) for o in questionnaire.question(code).options]


def sector_figures(school_year: str) -> dict[str, Any]:
    """The published figures of ``school_year``: per figure its columns, rows and coverage."""
    version = QuestionnaireVersion.current()
    if version is None:
        return {"school_year": school_year, "figures": [], "respondents": 0, "population": 0}
    questionnaire = version.questionnaire
    answers = submitted_answers(school_year)
    population = len(institution_years(school_year))
    k = minimum()
    language = get_language()
    out = []
    for number, title, code in FIGURES:
        question = questionnaire.question(code)
        figure = _compute(questionnaire, answers, population, code)
        columns = _columns(questionnaire, code)
        rows = []
        for row in figure.rows:
            item = question.item(row.item) if row.item else None
            published = row.n >= k
            rows.append(
                Row(
                    item=row.item,
                    label=item.text(language) if item else question.text(language),
                    n=row.n,
                    published=published,
                    cells=tuple(
                        {"option": c, "label": label, "count": row.count(c), "share": row.share(c)}
                        for c, label in columns
                    )
                    if published
                    else (),
                )
            )
        out.append(
            {
                "number": number,
                "title": str(title),
                "question": code,
                "question_text": question.text(language),
                "columns": [{"code": c, "label": label} for c, label in columns],
                "rows": rows,
                "several": question.several,
                "says_several": question.says_several(language),
                "answered": figure.answered,
                "coverage_share": figure.coverage,
                "coverage": _(
                    "Beantwoord door %(answered)s van %(population)s instellingen (%(share)s)."
                )
                % {
                    "answered": figure.answered,
                    "population": population,
                    "share": format_percent(figure.coverage),
                },
                "withheld": sum(not r.published for r in rows),
            }
        )
    return {
        "school_year": school_year,
        "figures": out,
        "respondents": len(answers),
        "population": population,
        "k": k,
        "sample": sample.table_5_2(school_year, answers),
    }


def chart_data(figure: dict[str, Any], k: int) -> dict[str, Any]:
    """One figure of :func:`sector_figures` as the plain data its chart is drawn from
    (:func:`reporting.charts.shares.answer_shares`); nothing the table does not show."""
    return {
        "number": figure["number"],
        "title": figure["title"],
        "several": figure["several"],
        "k": k,
        "columns": [
            {"label": column["label"], "neutral": column["code"] in NEUTRAL_ANSWERS}
            for column in figure["columns"]
        ],
        "rows": [
            {
                "label": row.label,
                "n": row.n,
                "shares": [cell["share"] for cell in row.cells] if row.published else None,
            }
            for row in figure["rows"]
        ],
    }
