"""JSON of the questionnaire API: the questionnaire itself, and a response with its answers.

Answers are an object keyed by question code; the shape of each value follows the type:

* ``single``: ``{"choice": "in_progress"}``, with ``"text"`` for an open answer option
  (``{"choice": "other", "text": "Adviseur integrale veiligheid"}``);
* ``multiple``: ``{"choices": ["a", "b"]}``;
* ``grid``: ``{"rows": {"V3a": "yes", "V3b": "no"}, "texts": {"V3g": "Ombudsman"}}``;
* ``grid_multiple``: ``{"rows": {"V10a": ["central", "all_locations"]}}``;
* ``open``: ``{"text": "..."}``.

``null`` (or an empty list or string) clears an answer. Errors come back in the same shape:
``{"answers": {"V3": {"rows": {"V3a": ["'perhaps' is geen antwoord op deze vraag."]}}}}``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from ..answers import Answers, Problem
from ..definition import NO_ITEM, Condition, Question, Questionnaire
from ..messages import problem_message

# --- The questionnaire --------------------------------------------------------------------------


def _condition(condition: Condition | None) -> dict | None:
    if condition is None:
        return None
    return {
        "question": condition.question,
        "any_in": sorted(condition.any_in) if condition.any_in is not None else None,
        "any_not_in": sorted(condition.any_not_in) if condition.any_not_in is not None else None,
        "same_item": condition.same_item,
        "printed": condition.printed,
        "note_nl": condition.note_nl,
        "note_en": condition.note_en,
    }


def question_json(q: Question) -> dict:
    return {
        "code": q.code,
        "type": q.type,
        "required": q.required,
        "rows_required": q.rows_required if q.is_grid else None,
        "text_nl": q.text_nl,
        "text_en": q.text_en,
        "instruction_nl": q.instruction_nl,
        "instruction_en": q.instruction_en,
        "info_nl": q.info_nl,
        "info_en": q.info_en,
        "condition": _condition(q.condition),
        "item_condition": _condition(q.item_condition),
        "options": [
            {
                "code": o.code,
                "text_nl": o.text_nl,
                "text_en": o.text_en,
                "open_text": o.open_text,
                "exclusive": o.exclusive,
            }
            for o in q.options
        ],
        "items": [
            {
                "code": i.code,
                "text_nl": i.text_nl,
                "text_en": i.text_en,
                "open_text": i.open_text,
                "optional": i.optional,
            }
            for i in q.items
        ],
    }


def questionnaire_json(questionnaire: Questionnaire) -> dict:
    return {
        "code": questionnaire.code,
        "name_nl": questionnaire.name_nl,
        "name_en": questionnaire.name_en,
        "published_on": questionnaire.published_on,
        "source": questionnaire.source,
        "sections": [
            {
                "number": s.number,
                "title_nl": s.title_nl,
                "title_en": s.title_en,
                "questions": [question_json(q) for q in s.questions],
            }
            for s in questionnaire.sections
        ],
    }


# --- Answers <-> JSON ----------------------------------------------------------------------------


def answers_json(questionnaire: Questionnaire, answers: Answers) -> dict:
    result: dict[str, Any] = {}
    for q in questionnaire.questions:
        if q.code not in answers.choices and q.code not in answers.texts:
            continue
        value: dict[str, Any] = {}
        if q.is_grid:
            rows = {}
            for row in q.rows:
                chosen = sorted(answers.selected(q.code, row))
                if chosen:
                    rows[row] = chosen if q.several else chosen[0]
            value["rows"] = rows
            texts = {slot: t for slot, t in answers.texts.get(q.code, {}).items() if slot}
            if texts:
                value["texts"] = texts
        elif q.is_open:
            value["text"] = answers.text(q.code)
        else:
            chosen = sorted(answers.selected(q.code, NO_ITEM))
            if q.several:
                value["choices"] = chosen
            else:
                value["choice"] = chosen[0] if chosen else None
            if answers.text(q.code):
                value["text"] = answers.text(q.code)
        result[q.code] = value
    return result


def _codes(value, several: bool) -> tuple[list[str] | None, str | None]:
    """The answer codes of one row, or an error message."""
    if value is None or value == "" or value == []:
        return [], None
    if several:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, None
        return None, _("Geef een lijst van antwoordcodes.")
    if isinstance(value, str):
        return [value], None
    return None, _("Geef één antwoordcode.")


def _text(value) -> tuple[str | None, str | None]:
    if value is None:
        return "", None
    if isinstance(value, str):
        return value, None
    return None, _("Geef een tekst.")


def answers_from_json(questionnaire: Questionnaire, data) -> tuple[Answers, dict]:
    """The answers in ``data`` and the errors of its shape (not yet of its codes)."""
    answers, errors = Answers(), {}
    if not isinstance(data, dict):
        return answers, {"non_field_errors": [_("Geef de antwoorden als object per vraag.")]}
    for code, value in data.items():
        q = questionnaire.question(code)
        if q is None:
            errors[code] = [_("Deze vraag bestaat niet in deze vragenlijst.")]
            continue
        if value is None:
            continue  # the question is cleared: it is saved with no answer
        if not isinstance(value, dict):
            errors[code] = [_("Geef het antwoord als object.")]
            continue
        allowed = (
            {"rows", "texts"}
            if q.is_grid
            else {"text"}
            if q.is_open
            else {"choices" if q.several else "choice", "text"}
        )
        unknown = sorted(set(value) - allowed)
        if unknown:
            errors[code] = [
                _("Onbekende velden: %(fields)s; verwacht: %(allowed)s.")
                % {"fields": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}
            ]
            continue
        problems = _read_question(q, value, answers)
        if problems:
            errors[code] = problems
    return answers, errors


def _read_question(q: Question, value: dict, answers: Answers) -> dict | list | None:
    errors: dict[str, Any] = {}
    if q.is_grid:
        rows = value.get("rows") or {}
        if not isinstance(rows, dict):
            return {"rows": [_("Geef per onderdeel de antwoordcode(s).")]}
        for row, raw in rows.items():
            codes, error = _codes(raw, q.several)
            if error:
                errors.setdefault("rows", {})[row] = [error]
            else:
                answers.set_choice(q.code, str(row), codes)
        texts = value.get("texts") or {}
        if not isinstance(texts, dict):
            return {"texts": [_("Geef per onderdeel een tekst.")]}
        for slot, raw in texts.items():
            text, error = _text(raw)
            if error:
                errors.setdefault("texts", {})[slot] = [error]
            elif slot == NO_ITEM:
                errors.setdefault("texts", {})[slot] = [_("Bij deze vraag hoort geen toelichting.")]
            else:
                answers.set_text(q.code, str(slot), text)
        return errors or None
    if not q.is_open:
        key = "choices" if q.several else "choice"
        codes, error = _codes(value.get(key), q.several)
        if error:
            errors[key] = [error]
        else:
            answers.set_choice(q.code, NO_ITEM, codes)
    if "text" in value:
        text, error = _text(value["text"])
        if error:
            errors["text"] = [error]
        else:
            answers.set_text(q.code, NO_ITEM, text)
    return errors or None


def problem_errors(questionnaire: Questionnaire, problems: list[Problem]) -> dict:
    """Problems in the shape of the answers: ``{"V3": {"rows": {"V3a": [message]}}}``,
    ``{"V2": {"choice": [message]}}``."""
    errors: dict[str, Any] = {}
    for problem in problems:
        message = problem_message(problem, questionnaire)
        q = questionnaire.question(problem.question)
        if q is None:
            errors.setdefault(problem.question, []).append(message)
            continue
        entry = errors.setdefault(problem.question, {})
        text_problem = problem.code in ("text_too_long", "no_text_here")
        if q.is_grid and problem.item:
            key = "texts" if text_problem else "rows"
            entry.setdefault(key, {}).setdefault(problem.item, []).append(message)
        elif q.is_grid:
            entry.setdefault("non_field_errors", []).append(message)
        elif text_problem or q.is_open:
            entry.setdefault("text", []).append(message)
        else:
            entry.setdefault("choices" if q.several else "choice", []).append(message)
    return errors


# --- Serializers (request bodies and the schema) ------------------------------------------


class QuestionnaireVersionSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_nl = serializers.CharField()
    name_en = serializers.CharField()
    published_on = serializers.DateField()
    questionnaire = serializers.JSONField(
        help_text="Sections, questions, answer options, items and conditions."
    )


class ResponseSerializer(serializers.Serializer):
    institution = serializers.CharField(help_text="BRIN code")
    school_year = serializers.CharField()
    version = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    answers = serializers.JSONField(help_text="Per question code; see the module documentation.")
    asked = serializers.JSONField(
        help_text="The questions asked given the answers, with the items asked of a grid."
    )
    missing = serializers.JSONField(help_text="Required answers still open: question and item.")


class ResponseCreateSerializer(serializers.Serializer):
    institution = serializers.CharField(max_length=4, help_text="BRIN code of your institution")
    school_year = serializers.RegexField(r"^\d{4}-\d{4}$", max_length=9)


class AnswersUpdateSerializer(serializers.Serializer):
    answers = serializers.JSONField(
        help_text="The answers to store as a draft, per question code; other questions keep "
        "their answers."
    )


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
