"""State changes of questionnaire responses: start, save a draft, submit, reopen; and the
inputs the sector figures are computed from.

Every function is atomic, locks the response it changes, and writes a
:class:`ResponseEvent` (the audit trail: who, when, which questions; never an answer). The
rules themselves are pure (:mod:`questionnaire.answers`); this module only applies them to
stored data. Web forms and the API call these functions and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.choices import Role
from incidents.models import Institution, Membership, is_administrator
from miv.errors import DomainError
from miv.schoolyear import parse_school_year, school_year_from_start, school_year_of

from .answers import Answers, Problem, missing, not_asked, prune, value_problems
from .choices import ResponseAction, ResponseStatus
from .models import (
    Answer,
    OpenAnswer,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseEvent,
)
from .signals import submitted_responses_changed

# A response can be started for the running school year and the one before it (answers
# about last year are often given after the summer).
ANSWERABLE_YEARS = 2


class AnswerError(ValueError):
    """Answers that cannot be stored or submitted; ``problems`` says which and why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the answers")
        self.problems = problems


def answerable_school_years(today: date | None = None) -> list[str]:
    """The school years a new response may be started for, newest first."""
    start = parse_school_year(school_year_of(today or timezone.localdate()))
    return [school_year_from_start(start - n) for n in range(ANSWERABLE_YEARS)]


def is_coordinator_of(user, institution: Institution) -> bool:
    """Coordinators of the institution answer its questionnaire."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and Membership.objects.filter(
            user=user, institution=institution, role=Role.COORDINATOR
        ).exists()
    )


def _announce(school_year: str) -> None:
    transaction.on_commit(
        lambda: submitted_responses_changed.send(
            sender=QuestionnaireResponse, school_year=school_year
        )
    )


def _event(response, actor, action: str, **details) -> None:
    ResponseEvent.objects.create(
        response=response,
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        details=details,
    )


# --- Reading ---------------------------------------------------------------------------------


def load_answers(response: QuestionnaireResponse, *, with_open: bool = True) -> Answers:
    """The stored answers of a response. ``with_open=False`` leaves the confidential open
    texts unread (what figures use)."""
    answers = Answers()
    rows: dict[tuple[str, str], set[str]] = {}
    for question, item, option in response.answers.values_list("question", "item", "option"):
        rows.setdefault((question, item), set()).add(option)
    for (question, item), options in rows.items():
        answers.set_choice(question, item, options)
    if with_open:
        for question, slot, text in response.open_answers.values_list("question", "slot", "text"):
            answers.set_text(question, slot, text)
    return answers


# --- Changing ----------------------------------------------------------------------------------


def start_response(*, actor, institution: Institution, school_year: str) -> QuestionnaireResponse:
    """The institution's response for the school year, started as a draft with the current
    version if there is none yet. Coordinators of the institution only."""
    if not is_coordinator_of(actor, institution):
        raise PermissionDenied
    if school_year not in answerable_school_years():
        raise DomainError(
            _("Voor schooljaar %(year)s kan de vragenlijst niet (meer) worden ingevuld.")
            % {"year": school_year},
            code="school_year_closed",
        )
    version = QuestionnaireVersion.current()
    if version is None:
        raise DomainError(_("Er is geen vragenlijst geladen."), code="no_questionnaire")
    with transaction.atomic():
        response, created = QuestionnaireResponse.objects.get_or_create(
            institution=institution, school_year=school_year, defaults={"version": version}
        )
        if created:
            _event(response, actor, ResponseAction.STARTED, version=version.code)
    return response


def _locked(response: QuestionnaireResponse) -> QuestionnaireResponse:
    return (
        QuestionnaireResponse.objects.select_for_update()
        .select_related("version")
        .get(pk=response.pk)
    )


def _require_draft(response: QuestionnaireResponse) -> None:
    if response.status != ResponseStatus.DRAFT:
        raise DomainError(
            _(
                "Deze vragenlijst is al ingediend. Alleen een beheerder kan hem heropenen "
                "voor wijzigingen."
            ),
            code="already_submitted",
        )


def _write(response: QuestionnaireResponse, answers: Answers) -> None:
    """Replace the stored answers by ``answers`` (a response holds some tens of rows)."""
    response.answers.all().delete()
    response.open_answers.all().delete()
    Answer.objects.bulk_create(
        Answer(response=response, question=q, item=item, option=option)
        for q, rows in answers.choices.items()
        for item, options in rows.items()
        for option in sorted(options)
    )
    OpenAnswer.objects.bulk_create(
        OpenAnswer(response=response, question=q, slot=slot, text=text)
        for q, slots in answers.texts.items()
        for slot, text in slots.items()
    )


@dataclass
class SaveResult:
    response: QuestionnaireResponse
    answers: Answers  # everything stored now (pruned)
    dropped: list[str]  # questions whose answers were removed because they are no longer asked


def save_answers(
    *,
    actor,
    response: QuestionnaireResponse,
    answers: Answers,
    questions: Iterable[str],
    strict: bool = False,
    section: int | None = None,
) -> SaveResult:
    """Store the answers of ``questions`` (a page of the form, or the questions an API
    client sent) as a draft; the other stored answers stay. Answers that are no longer asked
    given the new answers are removed (pruned). Missing answers are fine in a draft.

    Refused as a whole (:class:`AnswerError`, nothing stored) when an answer is invalid; with
    ``strict`` (the API) also when it answers a question the conditions do not ask.
    """
    questions = list(questions)
    if not QuestionnaireResponse.objects.answerable_by(actor).filter(pk=response.pk).exists():
        raise PermissionDenied
    with transaction.atomic():
        response = _locked(response)
        _require_draft(response)
        questionnaire = response.version.questionnaire
        unknown = [q for q in questions if questionnaire.question(q) is None]
        stored = load_answers(response)
        merged = stored.replace_questions(answers, [q for q in questions if q not in unknown])
        problems = [Problem(q, "", "unknown_question") for q in unknown]
        problems += value_problems(questionnaire, answers)
        if strict and not problems:
            problems += [p for p in not_asked(questionnaire, merged) if p.question in questions]
        if problems:
            raise AnswerError(problems)
        pruned = prune(questionnaire, merged)
        dropped = sorted(
            q
            for q in set(merged.choices) | set(merged.texts)
            if q not in questions
            and (merged.choices.get(q), merged.texts.get(q))
            != (pruned.choices.get(q), pruned.texts.get(q))
        )
        if pruned != stored:
            _write(response, pruned)
            response.save(update_fields=["updated_at"])
            details = {"questions": sorted(questions)}
            if section is not None:
                details["section"] = section
            if dropped:
                details["no_longer_asked"] = dropped
            _event(response, actor, ResponseAction.SAVED, **details)
    return SaveResult(response, pruned, dropped)


def submit(*, actor, response: QuestionnaireResponse) -> QuestionnaireResponse:
    """Submit a complete draft: every required question that is asked must be answered
    (:class:`AnswerError` lists what is missing). Coordinators of the institution only."""
    if not QuestionnaireResponse.objects.answerable_by(actor).filter(pk=response.pk).exists():
        raise PermissionDenied
    with transaction.atomic():
        response = _locked(response)
        _require_draft(response)
        questionnaire = response.version.questionnaire
        answers = load_answers(response)
        problems = missing(questionnaire, answers) + not_asked(questionnaire, answers)
        if problems:
            raise AnswerError(problems)
        response.status = ResponseStatus.SUBMITTED
        response.submitted_at = timezone.now()
        response.submitted_by = actor
        response.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
        _event(response, actor, ResponseAction.SUBMITTED)
        _announce(response.school_year)
    return response


def reopen(*, actor, response: QuestionnaireResponse, reason: str) -> QuestionnaireResponse:
    """Make a submitted response a draft again, so the coordinators can change it.
    Administrators only; the reason is recorded in the history."""
    if not is_administrator(actor):
        raise PermissionDenied
    reason = " ".join((reason or "").split())
    if not reason:
        raise AnswerError([Problem("", "", "reason_required")])
    with transaction.atomic():
        response = _locked(response)
        if response.status != ResponseStatus.SUBMITTED:
            raise DomainError(_("Deze vragenlijst is niet ingediend."), code="not_submitted")
        response.status = ResponseStatus.DRAFT
        response.submitted_at = None
        response.submitted_by = None
        response.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
        _event(response, actor, ResponseAction.REOPENED, reason=reason[:500])
        _announce(response.school_year)
    return response


def record_response(
    *, institution: Institution, school_year: str, answers: Answers, submit: bool, actor=None
) -> QuestionnaireResponse:
    """Record answers given outside the web form in one go (the demo; answers keyed in from
    a paper or earlier survey by an administrator): checked with the same rules (complete
    when submitted), the history notes the source. The institution must have no response
    for the school year yet."""
    version = QuestionnaireVersion.current()
    questionnaire = version.questionnaire
    answers = prune(questionnaire, answers)
    problems = value_problems(questionnaire, answers)
    if submit:
        problems += missing(questionnaire, answers)
    if problems:
        raise AnswerError(problems)
    with transaction.atomic():
        response = QuestionnaireResponse.objects.create(
            institution=institution, school_year=school_year, version=version
        )
        _event(response, actor, ResponseAction.STARTED, version=version.code, recorded=True)
        _write(response, answers)
        _event(
            response,
            actor,
            ResponseAction.SAVED,
            questions=sorted(set(answers.choices) | set(answers.texts)),
        )
        if submit:
            response.status = ResponseStatus.SUBMITTED
            response.submitted_at = timezone.now()
            response.submitted_by = actor if actor and actor.is_authenticated else None
            response.save(update_fields=["status", "submitted_at", "submitted_by"])
            _event(response, actor, ResponseAction.SUBMITTED)
            _announce(school_year)
    return response


# --- Inputs of the sector figures (phase 2 wires them into the figures job) ------------------


def submitted_answers(school_year: str) -> dict[int, Answers]:
    """institution id -> closed answers of its submitted response for ``school_year``.

    Drafts do not count, and open answers are never read: sector figures are made from
    submitted closed answers only.
    """
    responses = QuestionnaireResponse.objects.filter(
        school_year=school_year, status=ResponseStatus.SUBMITTED
    )
    rows: dict[int, dict[tuple[str, str], set[str]]] = {}
    for institution_id, question, item, option in Answer.objects.filter(
        response__in=responses
    ).values_list("response__institution_id", "question", "item", "option"):
        rows.setdefault(institution_id, {}).setdefault((question, item), set()).add(option)
    result = {}
    for institution_id in responses.values_list("institution_id", flat=True):
        answers = Answers()
        for (question, item), options in rows.get(institution_id, {}).items():
            answers.set_choice(question, item, options)
        result[institution_id] = answers
    return result
