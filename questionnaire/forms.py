"""The web form of one section (page) of the questionnaire, built from the questionnaire's
data, and the administrator's reopen form.

Every question and row of the section has a field, whether it is shown or not; the page
shows the ones the conditions ask (:func:`questionnaire.answers.visibility`). So the server
decides what is asked, with or without JavaScript, and a posted page is read the same way
whatever was shown. Nothing is preselected: an answer is checked only when it was saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .answers import TEXT_MAX_LENGTH, Answers, Problem
from .definition import NO_ITEM, Question, Questionnaire, Section
from .messages import problem_message

OPEN_TEXT_HELP = _(
    "Schrijf over de instelling, niet over personen: geen namen of andere gegevens waaraan "
    "iemand te herkennen is. Vertrouwelijk: alleen de coördinatoren van uw instelling en de "
    "beheerders van MIV lezen dit. Het komt nooit in sectorcijfers en onderzoekers zien het niet."
)


def choice_name(question: str, item: str = NO_ITEM) -> str:
    return f"q-{question}-{item}" if item else f"q-{question}"


def text_name(question: str, slot: str = NO_ITEM) -> str:
    return f"t-{question}-{slot}" if slot else f"t-{question}"


@dataclass
class RowBlock:
    item: str
    label: str
    field: forms.BoundField
    text_field: forms.BoundField | None = None
    new: bool = False


@dataclass
class QuestionBlock:
    """What the template shows of one question: its text, the rows asked, open fields."""

    question: Question
    text: str
    instruction: str
    info: str
    anchor: str
    rows: list[RowBlock] = field(default_factory=list)
    text_field: forms.BoundField | None = None
    errors: list[str] = field(default_factory=list)
    new: bool = False

    @property
    def grid(self) -> bool:
        return self.question.is_grid

    @property
    def several_hint(self) -> bool:
        """Say "Meer antwoorden mogelijk." unless the question's text already says so."""
        return self.question.several and not self.question.says_several(get_language())


class SectionForm(forms.Form):
    def __init__(self, *args, questionnaire: Questionnaire, section: Section, **kwargs):
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        self.section = section
        self.question_errors: dict[str, list[str]] = {}
        language = get_language()
        for q in section.questions:
            for row in q.rows:
                self.fields[choice_name(q.code, row)] = self._choice_field(q, row, language)
            for slot in q.text_slots():
                self.fields[text_name(q.code, slot)] = self._text_field(q, slot, language)

    @staticmethod
    def _choice_field(q: Question, row: str, language) -> forms.Field:
        choices = [(o.code, o.text(language)) for o in q.options]
        label = q.item(row).text(language) if row else q.text(language)
        if q.several:
            return forms.MultipleChoiceField(
                label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple
            )
        return forms.ChoiceField(
            label=label, choices=choices, required=False, widget=forms.RadioSelect
        )

    @staticmethod
    def _text_field(q: Question, slot: str, language) -> forms.Field:
        if q.is_open:
            label = _("Uw antwoord")
            widget = forms.Textarea(attrs={"rows": 4})
        else:
            source = q.item(slot) if slot else next(o for o in q.options if o.open_text)
            label = _("Toelichting bij '%(answer)s'") % {"answer": source.text(language)}
            widget = forms.TextInput()
        return forms.CharField(
            label=label,
            required=False,
            max_length=TEXT_MAX_LENGTH,
            widget=widget,
            help_text=OPEN_TEXT_HELP,
            strip=True,
        )

    # --- Between answers and form data --------------------------------------------------------

    @classmethod
    def initial_from(cls, section: Section, answers: Answers) -> dict:
        initial = {}
        for q in section.questions:
            for row in q.rows:
                chosen = sorted(answers.selected(q.code, row))
                if chosen:
                    initial[choice_name(q.code, row)] = chosen if q.several else chosen[0]
            for slot in q.text_slots():
                if answers.text(q.code, slot):
                    initial[text_name(q.code, slot)] = answers.text(q.code, slot)
        return initial

    @classmethod
    def data_from(cls, section: Section, answers: Answers) -> MultiValueDict:
        """Form data that holds ``answers`` (to show saved answers with their problems)."""
        data = MultiValueDict()
        for name, value in cls.initial_from(section, answers).items():
            data.setlist(name, value if isinstance(value, list) else [value])
        return data

    def answers(self) -> Answers:
        """The answers on this page (call after ``is_valid()``)."""
        answers = Answers()
        for q in self.section.questions:
            for row in q.rows:
                value = self.cleaned_data.get(choice_name(q.code, row))
                values = value if isinstance(value, list) else [value] if value else []
                answers.set_choice(q.code, row, values)
            for slot in q.text_slots():
                answers.set_text(q.code, slot, self.cleaned_data.get(text_name(q.code, slot), ""))
        return answers

    def add_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            message = problem_message(problem, self.questionnaire)
            q = self.questionnaire.question(problem.question)
            name = choice_name(problem.question, problem.item)
            if q is not None and q.is_open:
                name = text_name(problem.question, problem.item)
            if problem.code == "text_too_long":
                name = text_name(problem.question, problem.item)
            if name in self.fields:
                self.add_error(name, message)
            else:
                self.add_error(None, f"{problem.question}: {message}")

    def error_summary(self) -> list[dict]:
        """The form's errors for the summary at the top, each linked to its field and named
        with its question ("V3. Cameratoezicht: Kies een antwoord ...")."""
        items = [{"anchor": "", "label": "", "message": e} for e in self.non_field_errors()]
        for name in self.fields:
            if name not in self.errors:
                continue
            bound = self[name]
            anchor = bound.auto_id
            if isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                anchor = f"{anchor}_0"  # the first choice of the group
            code = name.split("-")[1]
            label = f"{code}. {bound.label}"
            items += [{"anchor": anchor, "label": label, "message": e} for e in bound.errors]
        return items

    # --- What the template shows -------------------------------------------------------------

    def blocks(self, shown: dict[str, tuple[str, ...]], new=frozenset()) -> list[QuestionBlock]:
        """The questions of the section that are asked, with the rows that are asked.
        ``new``: (question, row) pairs that appeared because of the answers just saved."""
        language = get_language()
        result = []
        for q in self.section.questions:
            rows = shown.get(q.code)
            if rows is None:
                continue
            block = QuestionBlock(
                question=q,
                text=q.text(language),
                instruction=q.instruction(language),
                info=q.info(language),
                anchor=f"vraag-{q.code}",
                new=any(question == q.code for question, _row in new),
            )
            for row in rows:
                item = q.item(row)
                block.rows.append(
                    RowBlock(
                        item=row,
                        label=item.text(language) if item else block.text,
                        field=self[choice_name(q.code, row)],
                        text_field=self[text_name(q.code, row)]
                        if row and text_name(q.code, row) in self.fields
                        else None,
                        new=(q.code, row) in new,
                    )
                )
            if text_name(q.code) in self.fields:
                block.text_field = self[text_name(q.code)]
            result.append(block)
        return result


class ReopenForm(forms.Form):
    def error_summary(self) -> list[dict]:
        return [
            {"anchor": self[name].auto_id, "label": self[name].label, "message": e}
            for name, errors in self.errors.items()
            for e in errors
        ]

    reason = forms.CharField(
        label=_("Reden voor heropenen"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Wordt vastgelegd in de historie en is zichtbaar voor de coördinatoren."),
        error_messages={"required": _("Geef de reden voor het heropenen.")},
    )
