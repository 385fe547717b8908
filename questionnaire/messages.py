"""The wording of answer problems (:class:`questionnaire.answers.Problem`), in Dutch with an
English translation; one place for the web forms and the API."""

from django.utils.translation import gettext as _

from .answers import (
    EXCLUSIVE,
    NO_TEXT_HERE,
    NOT_ASKED,
    ONE_ANSWER,
    REQUIRED,
    TEXT_TOO_LONG,
    UNKNOWN_ITEM,
    UNKNOWN_OPTION,
    UNKNOWN_QUESTION,
    Problem,
)
from .definition import Questionnaire


def problem_message(problem: Problem, questionnaire: Questionnaire | None = None) -> str:
    question = questionnaire.question(problem.question) if questionnaire else None
    if problem.code == REQUIRED:
        if question is not None and question.is_grid and problem.item:
            return _("Kies een antwoord voor dit onderdeel.")
        return _("Beantwoord deze vraag.")
    if problem.code == UNKNOWN_OPTION:
        return _("'%(value)s' is geen antwoord op deze vraag.") % {"value": problem.value}
    if problem.code == UNKNOWN_ITEM:
        return _("'%(value)s' is geen onderdeel van deze vraag.") % {"value": problem.value}
    if problem.code == UNKNOWN_QUESTION:
        return _("Deze vraag bestaat niet in deze vragenlijst.")
    if problem.code == ONE_ANSWER:
        return _("Kies één antwoord.")
    if problem.code == EXCLUSIVE:
        option = question.option(problem.value) if question else None
        return _("'%(answer)s' gaat niet samen met een ander antwoord.") % {
            "answer": option.text() if option else problem.value
        }
    if problem.code == NO_TEXT_HERE:
        return _("Bij deze vraag hoort geen toelichting.")
    if problem.code == TEXT_TOO_LONG:
        return _("Maximaal %(max)s tekens.") % {"max": problem.value}
    if problem.code == NOT_ASKED:
        return _("Deze vraag wordt gezien de eerdere antwoorden niet gesteld.")
    if problem.code == "reason_required":
        return _("Geef de reden voor het heropenen.")
    return problem.code
