"""Responses in the database: start, save drafts, submit, reopen (with the audit trail), and
the inputs of the sector figures (submitted closed answers only)."""

import pytest
from django.core.exceptions import PermissionDenied

from miv.errors import DomainError
from questionnaire import services
from questionnaire.answers import Answers
from questionnaire.choices import ResponseAction, ResponseStatus
from questionnaire.models import Answer, OpenAnswer, QuestionnaireResponse, QuestionnaireVersion
from tests.questionnaire.test_rules import complete_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def year():
    return services.answerable_school_years()[0]


@pytest.fixture
def response_a(coordinator_a, institution_a, year):
    return services.start_response(actor=coordinator_a, institution=institution_a, school_year=year)


def save_all(actor, response, answers):
    return services.save_answers(
        actor=actor, response=response, answers=answers, questions=[f"V{n}" for n in range(1, 20)]
    )


def test_the_fixture_is_loaded_by_the_migration():
    version = QuestionnaireVersion.current()
    assert version.code == "VB-2023"
    assert len(version.questionnaire.questions) == 19


def test_start_is_for_coordinators_of_the_institution_and_idempotent(
    coordinator_a, coordinator_b, registrar_a, researcher, institution_a, year
):
    first = services.start_response(
        actor=coordinator_a, institution=institution_a, school_year=year
    )
    again = services.start_response(
        actor=coordinator_a, institution=institution_a, school_year=year
    )
    assert first.pk == again.pk and first.status == ResponseStatus.DRAFT
    assert list(first.events.values_list("action", flat=True)) == [ResponseAction.STARTED]
    for outsider in (coordinator_b, registrar_a, researcher):
        with pytest.raises(PermissionDenied):
            services.start_response(actor=outsider, institution=institution_a, school_year=year)


def test_only_recent_school_years_can_be_started(coordinator_a, institution_a):
    with pytest.raises(DomainError):
        services.start_response(
            actor=coordinator_a, institution=institution_a, school_year="2015-2016"
        )


def test_a_draft_is_saved_page_by_page_and_pruned(coordinator_a, response_a):
    page = Answers()
    page.set_choice("V5", "V5a", ["much"])
    page.set_choice("V6", "", ["satisfied"])
    page.set_text("V7", "", "Korte lijnen met de wijkagent.")
    services.save_answers(
        actor=coordinator_a, response=response_a, answers=page, questions=["V5", "V6", "V7"]
    )
    other = Answers()
    other.set_choice("V2", "", ["planned"])
    services.save_answers(actor=coordinator_a, response=response_a, answers=other, questions=["V2"])
    stored = services.load_answers(response_a)
    assert stored.selected("V2") == {"planned"} and stored.selected("V6") == {"satisfied"}
    assert stored.text("V7") == "Korte lijnen met de wijkagent."
    # No cooperation after all: V6 and V7 are no longer asked and are removed.
    none = Answers()
    none.set_choice("V5", "V5a", ["none"])
    result = services.save_answers(
        actor=coordinator_a, response=response_a, answers=none, questions=["V5"]
    )
    assert result.dropped == ["V6", "V7"]
    assert not OpenAnswer.objects.filter(response=response_a).exists()
    assert set(Answer.objects.filter(response=response_a).values_list("question", flat=True)) == {
        "V2",
        "V5",
    }
    saved = response_a.events.filter(action=ResponseAction.SAVED).last()
    assert saved.details == {"questions": ["V5"], "no_longer_asked": ["V6", "V7"]}
    # The history names questions, never an answer or a text.
    assert "wijkagent" not in str(list(response_a.events.values_list("details", flat=True)))


def test_an_invalid_answer_stores_nothing(coordinator_a, response_a):
    page = Answers()
    page.set_choice("V2", "", ["complete"])
    page.set_choice("V3", "V3a", ["perhaps"])
    with pytest.raises(services.AnswerError) as error:
        services.save_answers(
            actor=coordinator_a, response=response_a, answers=page, questions=["V2", "V3"]
        )
    assert [(p.question, p.code) for p in error.value.problems] == [("V3", "unknown_option")]
    assert not Answer.objects.filter(response=response_a).exists()


def test_strict_saving_refuses_answers_to_questions_not_asked(coordinator_a, response_a):
    page = Answers()
    page.set_choice("V6", "", ["satisfied"])  # V5 not answered: V6 is not asked
    with pytest.raises(services.AnswerError) as error:
        services.save_answers(
            actor=coordinator_a, response=response_a, answers=page, questions=["V6"], strict=True
        )
    assert [p.code for p in error.value.problems] == ["not_asked"]


def test_others_cannot_save(coordinator_b, registrar_a, researcher, administrator, response_a):
    for outsider in (coordinator_b, registrar_a, researcher, administrator):
        with pytest.raises(PermissionDenied):
            services.save_answers(
                actor=outsider, response=response_a, answers=Answers(), questions=["V1"]
            )


def test_submit_needs_every_required_answer_then_locks(coordinator_a, response_a):
    answers = complete_answers()
    answers.set_choice("V13", "", [])
    save_all(coordinator_a, response_a, answers)
    with pytest.raises(services.AnswerError) as error:
        services.submit(actor=coordinator_a, response=response_a)
    assert [(p.question, p.code) for p in error.value.problems] == [("V13", "required")]
    assert QuestionnaireResponse.objects.get().status == ResponseStatus.DRAFT

    save_all(coordinator_a, response_a, complete_answers())
    submitted = services.submit(actor=coordinator_a, response=response_a)
    assert submitted.status == ResponseStatus.SUBMITTED and submitted.submitted_by == coordinator_a
    with pytest.raises(DomainError):
        save_all(coordinator_a, response_a, complete_answers())
    with pytest.raises(DomainError):
        services.submit(actor=coordinator_a, response=response_a)


def test_only_an_administrator_reopens_with_a_reason_in_the_history(
    coordinator_a, administrator, response_a
):
    save_all(coordinator_a, response_a, complete_answers())
    services.submit(actor=coordinator_a, response=response_a)
    with pytest.raises(PermissionDenied):
        services.reopen(actor=coordinator_a, response=response_a, reason="typfout")
    with pytest.raises(services.AnswerError):
        services.reopen(actor=administrator, response=response_a, reason="   ")
    reopened = services.reopen(
        actor=administrator, response=response_a, reason="V3 verkeerd  ingevuld"
    )
    assert reopened.status == ResponseStatus.DRAFT and reopened.submitted_at is None
    event = reopened.events.last()
    assert (event.action, event.actor, event.details) == (
        ResponseAction.REOPENED,
        administrator,
        {"reason": "V3 verkeerd ingevuld"},
    )
    with pytest.raises(DomainError):
        services.reopen(actor=administrator, response=response_a, reason="nog eens")


def test_figure_inputs_are_submitted_closed_answers_only(
    coordinator_a, coordinator_b, institution_a, institution_b, response_a, year
):
    answers = complete_answers()
    answers.set_choice("V1", "", ["other"])
    answers.set_text("V1", "", "Vertrouwelijke functieomschrijving")
    save_all(coordinator_a, response_a, answers)
    services.submit(actor=coordinator_a, response=response_a)
    draft = services.start_response(
        actor=coordinator_b, institution=institution_b, school_year=year
    )
    save_all(coordinator_b, draft, complete_answers())

    inputs = services.submitted_answers(year)
    assert list(inputs) == [institution_a.pk]  # B's draft does not count
    assert inputs[institution_a.pk].selected("V1") == {"other"}
    assert inputs[institution_a.pk].texts == {}  # open answers are never read


def test_loading_versions_keeps_every_code_meaning_what_it_meant():
    import copy
    import json

    from questionnaire.definition import DefinitionError
    from questionnaire.loading import CURRENT_FIXTURE, load_questionnaire

    document = json.loads(CURRENT_FIXTURE.read_text(encoding="utf-8"))
    assert load_questionnaire(document) == "unchanged"
    corrected = copy.deepcopy(document)
    corrected["sections"][0]["questions"][0]["text_en"] = "What is your role in your institution?"
    assert load_questionnaire(corrected) == "updated"

    later = copy.deepcopy(document)
    later["version"].update(code="VB-2025", published_on="2025-09-01")
    later["sections"][1]["questions"][0]["options"][0]["text_nl"] = "Nee, nog niet"
    with pytest.raises(DefinitionError, match="V2: options changed since VB-2023"):
        load_questionnaire(later)
    assert QuestionnaireVersion.objects.count() == 1

    later["sections"][1]["questions"][0]["options"][0]["text_nl"] = "Nee"
    later["sections"][4]["questions"].append(
        {"code": "V20", "type": "open", "required": False, "text_nl": "Nieuw", "text_en": "New"}
    )
    assert load_questionnaire(later) == "created"
    assert QuestionnaireVersion.current().code == "VB-2025"


def test_submit_and_reopen_announce_the_change_after_commit(
    coordinator_a, administrator, response_a, django_capture_on_commit_callbacks
):
    from questionnaire.signals import submitted_responses_changed

    heard = []

    def listener(sender, school_year, **kwargs):
        heard.append(school_year)

    submitted_responses_changed.connect(listener)
    try:
        save_all(coordinator_a, response_a, complete_answers())
        with django_capture_on_commit_callbacks(execute=True):
            services.submit(actor=coordinator_a, response=response_a)
        assert heard == [response_a.school_year]
        with django_capture_on_commit_callbacks(execute=True):
            services.reopen(actor=administrator, response=response_a, reason="controle")
        assert heard == [response_a.school_year] * 2
    finally:
        submitted_responses_changed.disconnect(listener)
