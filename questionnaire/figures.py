"""Figures 5.4–5.9 of the report: how the institutions answered the safety-policy
questionnaire. Pure functions: no Django, no database.

Input: the questionnaire (:mod:`questionnaire.definition`), ``answers`` as *institution →*
:class:`~questionnaire.answers.Answers` (submitted responses only, closed answers only: the
caller passes ``services.submitted_answers(school_year)``), and the number of institutions
in the sector (``population``) for the coverage.

Decisions
---------
* The unit is the institution: one response per institution and school year, each counts
  once. Shares are of ``n``, the institutions that answered the row (question, or item of a
  grid), so a question nobody was asked has ``n = 0`` and no shares (``None``), never 0 %.
* ``asked`` is how many institutions the row was asked (its condition held); ``n <= asked``.
  For questions with several answers per row (V10, V11) the shares of a row add up to more
  than 100 %.
* ``coverage`` = institutions that answered the question / ``population``: the reader sees
  how much of the sector a figure speaks for (31 of 57 in the report).
* Figure 5.4 combines V3 and V4: per provision, present at all/most, some, one/a few
  locations (V4), present without V4, absent, don't know, as shares of the institutions
  that answered V3 for it.
* Figure 5.7 divides by the institutions that evaluate at that level (any moment of V10),
  as the report does ("of the 26 institutions that evaluate centrally, 25 use external
  surveys").
* Small numbers are not suppressed here: publication rules (disclosure control) are applied
  where the figures are published, as for the incident figures.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from .answers import Answers, visibility
from .definition import Question, Questionnaire

# Figure 5.4's categories besides V4's options.
PRESENT_UNSPECIFIED = "present_unspecified"
ABSENT = "absent"
UNKNOWN = "unknown"
# Figure 5.9: "(veel) meer aandacht".
MORE_ATTENTION = ("much_more", "more")

AnswerSets = Mapping[Hashable, Answers]


@dataclass(frozen=True)
class AnswerCount:
    option: str
    count: int
    share: float | None  # count / n; None when n = 0


@dataclass(frozen=True)
class RowDistribution:
    """The answers to one row: a question without items, or one item of a grid."""

    question: str
    item: str
    asked: int
    n: int
    counts: tuple[AnswerCount, ...]

    def count(self, option: str) -> int:
        return next((c.count for c in self.counts if c.option == option), 0)

    def share(self, option: str) -> float | None:
        return next((c.share for c in self.counts if c.option == option), None)


@dataclass(frozen=True)
class QuestionFigure:
    question: str
    rows: tuple[RowDistribution, ...]
    respondents: int  # institutions in the input
    answered: int  # institutions that answered at least one row
    population: int
    coverage: float | None  # answered / population

    def row(self, item: str = "") -> RowDistribution:
        return next(r for r in self.rows if r.item == item)


def _share(count: int, n: int) -> float | None:
    return count / n if n else None


def _counts(options: list[str], chosen: list[frozenset[str]]) -> tuple[AnswerCount, ...]:
    n = len(chosen)
    return tuple(
        AnswerCount(
            option, sum(option in c for c in chosen), _share(sum(option in c for c in chosen), n)
        )
        for option in options
    )


def _coverage(answered: int, population: int) -> float | None:
    if population < 0:
        raise ValueError("the population cannot be negative")
    return answered / population if population else None


def distribution(
    questionnaire: Questionnaire, answers: AnswerSets, question: str, population: int
) -> QuestionFigure:
    """Number and share of institutions per answer, per row of ``question``."""
    q = _question(questionnaire, question)
    shown = {key: visibility(questionnaire, a) for key, a in answers.items()}
    rows = []
    answered_keys = set()
    for row in q.rows:
        asked = [key for key in answers if row in shown[key].get(q.code, ())]
        chosen = []
        for key in asked:
            selected = answers[key].selected(q.code, row)
            if selected:
                chosen.append(selected)
                answered_keys.add(key)
        rows.append(
            RowDistribution(
                q.code, row, len(asked), len(chosen), _counts([o.code for o in q.options], chosen)
            )
        )
    return QuestionFigure(
        q.code,
        tuple(rows),
        len(answers),
        len(answered_keys),
        population,
        _coverage(len(answered_keys), population),
    )


def _question(questionnaire: Questionnaire, code: str) -> Question:
    q = questionnaire.question(code)
    if q is None:
        raise KeyError(f"{code} is not a question of {questionnaire.code}")
    if q.is_open:
        raise ValueError(f"{code} is an open question: open answers are never counted")
    return q


# --- The figures of the report ---------------------------------------------------------------


def figure_5_4(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> QuestionFigure:
    """Provisions (V3) and on how many locations they are present (V4), per provision."""
    v3, v4 = _question(questionnaire, "V3"), _question(questionnaire, "V4")
    categories = [o.code for o in v4.options] + [PRESENT_UNSPECIFIED, ABSENT, UNKNOWN]
    rows = []
    answered_keys = set()
    for item in v3.rows:
        chosen = []
        for key, a in answers.items():
            presence = a.selected("V3", item)
            if not presence:
                continue
            answered_keys.add(key)
            if "yes" in presence:
                spread = a.selected("V4", item)
                chosen.append(spread if spread else frozenset({PRESENT_UNSPECIFIED}))
            elif "no" in presence:
                chosen.append(frozenset({ABSENT}))
            else:
                chosen.append(frozenset({UNKNOWN}))
        rows.append(
            RowDistribution("V3", item, len(answers), len(chosen), _counts(categories, chosen))
        )
    return QuestionFigure(
        "V3",
        tuple(rows),
        len(answers),
        len(answered_keys),
        population,
        _coverage(len(answered_keys), population),
    )


def figure_5_5(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> tuple[QuestionFigure, QuestionFigure]:
    """Cooperation with partners (V5) and satisfaction with it (V6)."""
    return (
        distribution(questionnaire, answers, "V5", population),
        distribution(questionnaire, answers, "V6", population),
    )


def figure_5_6(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> QuestionFigure:
    """When (V10a–c) and at which level the policy is evaluated."""
    return distribution(questionnaire, answers, "V10", population)


@dataclass(frozen=True)
class SourcesAtLevel:
    """Figure 5.7 for one evaluation level: the sources used by the ``n`` institutions that
    evaluate at that level."""

    level: str
    n: int
    counts: tuple[AnswerCount, ...]  # per source (V11 item)


def figure_5_7(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> tuple[QuestionFigure, tuple[SourcesAtLevel, ...]]:
    """Sources used in evaluation (V11), per level, as shares of the institutions that
    evaluate at that level (V10)."""
    v11 = _question(questionnaire, "V11")
    per_level = []
    for level in (o.code for o in v11.options):
        evaluating = [key for key, a in answers.items() if level in a.selected("V10")]
        counts = []
        for source in v11.rows:
            count = sum(level in answers[key].selected("V11", source) for key in evaluating)
            counts.append(AnswerCount(source, count, _share(count, len(evaluating))))
        per_level.append(SourcesAtLevel(level, len(evaluating), tuple(counts)))
    return distribution(questionnaire, answers, "V11", population), tuple(per_level)


def figure_5_8(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> QuestionFigure:
    """Themes with extra measures in the past two school years (V12)."""
    return distribution(questionnaire, answers, "V12", population)


@dataclass(frozen=True)
class MoreAttention:
    item: str
    n: int
    count: int  # "veel meer" or "meer"
    share: float | None


def figure_5_9(
    questionnaire: Questionnaire, answers: AnswerSets, population: int
) -> tuple[QuestionFigure, tuple[MoreAttention, ...]]:
    """Themes that need (much) more attention (V14): the full distribution, and per theme
    the number and share answering *veel meer* or *meer*."""
    figure = distribution(questionnaire, answers, "V14", population)
    more = tuple(
        MoreAttention(
            row.item,
            row.n,
            sum(row.count(option) for option in MORE_ATTENTION),
            _share(sum(row.count(option) for option in MORE_ATTENTION), row.n),
        )
        for row in figure.rows
    )
    return figure, more
