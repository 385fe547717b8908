"""One institution's answers to a questionnaire, and the rules they must follow. Pure: no Django.

:class:`Answers` holds the chosen answer codes per question and row (the item code, or
``""`` for a question without items) and the open texts per question and slot.

* :func:`visibility` decides which questions and items are shown, from the answers given
  so far (conditions, see :mod:`questionnaire.definition`);
* :func:`prune` drops what is no longer asked (V4 for a provision answered *Nee* after all;
  the open text of "Anders" when another answer is chosen), so stored answers never
  contradict the conditions;
* :func:`value_problems` finds answers that cannot be stored at all (unknown codes, two
  answers to a one-answer question, an exclusive answer with others, too long a text): a
  draft with such a problem is refused as a whole;
* :func:`missing` finds the required answers still open: allowed in a draft, refused when
  the questionnaire is submitted.

Problems are codes (:class:`Problem`), not messages: the forms and the API word them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .definition import NO_ITEM, Question, Questionnaire

TEXT_MAX_LENGTH = 2000

# Problem codes.
UNKNOWN_QUESTION = "unknown_question"
UNKNOWN_ITEM = "unknown_item"
UNKNOWN_OPTION = "unknown_option"
ONE_ANSWER = "one_answer"
EXCLUSIVE = "exclusive"
NO_TEXT_HERE = "no_text_here"
TEXT_TOO_LONG = "text_too_long"
REQUIRED = "required"
NOT_ASKED = "not_asked"


@dataclass(frozen=True)
class Problem:
    question: str
    item: str
    code: str
    value: str = ""


@dataclass
class Answers:
    """``choices[question][row]`` is the set of chosen option codes; ``texts[question][slot]``
    an open text. Empty rows and empty texts are not stored."""

    choices: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def selected(self, question: str, item: str | None = None) -> frozenset[str]:
        """The chosen codes of one row, or of all rows together (``item=None``)."""
        rows = self.choices.get(question, {})
        if item is not None:
            return rows.get(item, frozenset())
        return frozenset().union(*rows.values()) if rows else frozenset()

    def text(self, question: str, slot: str = NO_ITEM) -> str:
        return self.texts.get(question, {}).get(slot, "")

    def set_choice(self, question: str, item: str, codes: Iterable[str]) -> None:
        codes = frozenset(c for c in codes if c)
        rows = self.choices.setdefault(question, {})
        if codes:
            rows[item] = codes
        else:
            rows.pop(item, None)
        if not rows:
            self.choices.pop(question, None)

    def set_text(self, question: str, slot: str, text: str) -> None:
        text = (text or "").strip()
        slots = self.texts.setdefault(question, {})
        if text:
            slots[slot] = text
        else:
            slots.pop(slot, None)
        if not slots:
            self.texts.pop(question, None)

    def replace_questions(self, other: Answers, questions: Iterable[str]) -> Answers:
        """A copy with the answers of ``questions`` taken from ``other`` (a saved page)."""
        merged = Answers(
            {q: dict(rows) for q, rows in self.choices.items()},
            {q: dict(slots) for q, slots in self.texts.items()},
        )
        for code in questions:
            merged.choices.pop(code, None)
            merged.texts.pop(code, None)
            if code in other.choices:
                merged.choices[code] = dict(other.choices[code])
            if code in other.texts:
                merged.texts[code] = dict(other.texts[code])
        return merged

    def is_empty(self) -> bool:
        return not (self.choices or self.texts)

    def closed_only(self) -> Answers:
        """The answers without any open text: what sector figures may use."""
        return Answers({q: dict(rows) for q, rows in self.choices.items()}, {})


# --- Conditions -------------------------------------------------------------------------------


def visibility(questionnaire: Questionnaire, answers: Answers) -> dict[str, tuple[str, ...]]:
    """The questions that are asked, each with the rows that are asked (``("",)`` for a
    question without items). A question whose condition fails, or a grid none of whose
    items are asked, is absent. Conditions look at the answers of questions that are asked
    themselves, so a chain of conditions is followed."""
    shown: dict[str, tuple[str, ...]] = {}
    for q in questionnaire.questions:
        condition = q.condition
        if condition is not None:
            if condition.question not in shown:
                continue
            if not condition.holds_for(_shown_selection(answers, shown, condition.question)):
                continue
        rows = q.rows
        if q.item_condition is not None:
            source = q.item_condition.question
            if source not in shown:
                continue
            rows = tuple(
                row
                for row in rows
                if row in shown[source]
                and q.item_condition.holds_for(answers.selected(source, row))
            )
        if rows:
            shown[q.code] = rows
    return shown


def _shown_selection(answers: Answers, shown: Mapping[str, tuple[str, ...]], code: str):
    return frozenset().union(*(answers.selected(code, row) for row in shown[code]))


def prune(questionnaire: Questionnaire, answers: Answers) -> Answers:
    """The answers without anything that is not asked given the answers themselves.

    Repeats until nothing changes: dropping an answer can hide another question.
    """
    current = answers
    while True:
        shown = visibility(questionnaire, current)
        pruned = Answers()
        for q in questionnaire.questions:
            rows = shown.get(q.code)
            if rows is None:
                continue
            for row in rows:
                pruned.set_choice(q.code, row, current.selected(q.code, row))
            for slot in q.text_slots():
                if slot == NO_ITEM and not q.is_open:
                    # The text of "Anders, namelijk" belongs to that answer being chosen.
                    chosen = current.selected(q.code, NO_ITEM)
                    if not any(o.open_text and o.code in chosen for o in q.options):
                        continue
                elif slot != NO_ITEM and slot not in rows:
                    continue
                pruned.set_text(q.code, slot, current.text(q.code, slot))
        if pruned == current:
            return pruned
        current = pruned


# --- Checks -----------------------------------------------------------------------------------


def value_problems(questionnaire: Questionnaire, answers: Answers) -> list[Problem]:
    """Answers that cannot be stored, whatever else is answered."""
    problems: list[Problem] = []
    for code, rows in answers.choices.items():
        q = questionnaire.question(code)
        if q is None:
            problems.append(Problem(code, NO_ITEM, UNKNOWN_QUESTION))
            continue
        for row, chosen in rows.items():
            if row not in q.rows:
                problems.append(Problem(code, row, UNKNOWN_ITEM, row))
                continue
            problems += _row_problems(q, row, chosen)
    for code, slots in answers.texts.items():
        q = questionnaire.question(code)
        if q is None:
            problems.append(Problem(code, NO_ITEM, UNKNOWN_QUESTION))
            continue
        for slot, text in slots.items():
            if slot not in q.text_slots():
                problems.append(Problem(code, slot, NO_TEXT_HERE))
            elif len(text) > TEXT_MAX_LENGTH:
                problems.append(Problem(code, slot, TEXT_TOO_LONG, str(TEXT_MAX_LENGTH)))
    return problems


def _row_problems(q: Question, row: str, chosen: frozenset[str]) -> list[Problem]:
    problems = []
    known = {o.code for o in q.options}
    for value in sorted(chosen - known):
        problems.append(Problem(q.code, row, UNKNOWN_OPTION, value))
    if q.is_open and chosen:
        problems.append(Problem(q.code, row, UNKNOWN_OPTION, sorted(chosen)[0]))
    elif not q.several and len(chosen) > 1:
        problems.append(Problem(q.code, row, ONE_ANSWER))
    exclusive = [o.code for o in q.options if o.exclusive and o.code in chosen]
    if exclusive and len(chosen) > 1:
        problems.append(Problem(q.code, row, EXCLUSIVE, exclusive[0]))
    return problems


def missing(
    questionnaire: Questionnaire, answers: Answers, questions: Iterable[str] | None = None
) -> list[Problem]:
    """Required answers not given among the questions that are asked (all, or ``questions``)."""
    shown = visibility(questionnaire, answers)
    wanted = set(questions) if questions is not None else None
    problems = []
    for q in questionnaire.questions:
        if q.code not in shown or not q.required or (wanted is not None and q.code not in wanted):
            continue
        rows = shown[q.code]
        if q.is_grid and q.rows_required:
            for row in rows:
                item = q.item(row)
                if not (item and item.optional) and not answers.selected(q.code, row):
                    problems.append(Problem(q.code, row, REQUIRED))
        elif not any(answers.selected(q.code, row) for row in rows):
            problems.append(Problem(q.code, NO_ITEM, REQUIRED))
    return problems


def not_asked(questionnaire: Questionnaire, answers: Answers) -> list[Problem]:
    """Answers to questions or items that the conditions do not ask (an API client that
    sends V6 while V5 says 'geen samenwerking' everywhere)."""
    kept = prune(questionnaire, answers)
    problems = []
    for code, rows in answers.choices.items():
        for row, chosen in rows.items():
            if chosen and kept.selected(code, row) != chosen:
                problems.append(Problem(code, row, NOT_ASKED))
    for code, slots in answers.texts.items():
        for slot in slots:
            if not kept.text(code, slot):
                problems.append(Problem(code, slot, NOT_ASKED))
    return problems
