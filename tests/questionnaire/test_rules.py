"""The rules of answering (pure, no database): conditions, pruning, checks, versions."""

import copy
import json

import pytest

from questionnaire.answers import (
    EXCLUSIVE,
    NOT_ASKED,
    ONE_ANSWER,
    REQUIRED,
    TEXT_TOO_LONG,
    UNKNOWN_OPTION,
    Answers,
    missing,
    not_asked,
    prune,
    value_problems,
    visibility,
)
from questionnaire.definition import DefinitionError, incompatibilities, parse
from questionnaire.loading import CURRENT_FIXTURE

DOCUMENT = json.loads(CURRENT_FIXTURE.read_text(encoding="utf-8"))
Q = parse(DOCUMENT)
PROVISIONS = ["V3a", "V3b", "V3c", "V3d", "V3e", "V3f"]


def complete_answers() -> Answers:
    """A complete, valid set of answers (every required question answered)."""
    a = Answers()
    a.set_choice("V1", "", ["central_staff"])
    a.set_choice("V2", "", ["in_progress"])
    for item in PROVISIONS:
        a.set_choice("V3", item, ["yes"])
        a.set_choice("V4", item, ["all_most"])
    for item in ["V5a", "V5b", "V5c", "V5d"]:
        a.set_choice("V5", item, ["fair"])
    a.set_choice("V6", "", ["satisfied"])
    a.set_choice("V8", "", ["yes"])
    a.set_choice("V9", "", ["central_guides"])
    for item in ["V10a", "V10b", "V10c"]:
        a.set_choice("V10", item, ["central"])
    a.set_choice("V11", "V11b", ["central"])
    for letter in "abcdefghijkl":
        a.set_choice("V12", f"V12{letter}", ["no"])
        a.set_choice("V14", f"V14{letter}", ["more"])
    a.set_choice("V13", "", ["enough"])
    a.set_choice("V19", "", ["no"])
    return a


def test_a_complete_answer_set_has_no_problems():
    answers = complete_answers()
    assert value_problems(Q, answers) == []
    assert missing(Q, answers) == []
    assert not_asked(Q, answers) == []
    assert prune(Q, answers) == answers


def test_without_answers_the_conditional_questions_are_not_asked():
    shown = visibility(Q, Answers())
    assert "V4" not in shown and "V6" not in shown and "V7" not in shown and "V11" not in shown
    assert shown["V3"] == tuple(f"V3{c}" for c in "abcdefg")
    assert shown["V1"] == ("",)


def test_v4_asks_only_for_the_provisions_that_are_present():
    a = Answers()
    a.set_choice("V3", "V3a", ["yes"])
    a.set_choice("V3", "V3b", ["no"])
    a.set_choice("V3", "V3c", ["unknown"])
    a.set_choice("V3", "V3g", ["yes"])
    assert visibility(Q, a)["V4"] == ("V3a", "V3g")


def test_v6_and_v7_follow_any_cooperation_at_v5():
    a = Answers()
    for item in ["V5a", "V5b", "V5c", "V5d"]:
        a.set_choice("V5", item, ["none"])
    assert "V6" not in visibility(Q, a) and "V7" not in visibility(Q, a)
    a.set_choice("V5", "V5d", ["no_view"])  # "~= geen samenwerking" holds for Halt
    assert "V6" in visibility(Q, a) and "V7" in visibility(Q, a)


def test_v11_follows_any_evaluation_at_v10():
    a = Answers()
    for item in ["V10a", "V10b", "V10c"]:
        a.set_choice("V10", item, ["not_evaluated"])
    assert "V11" not in visibility(Q, a)
    a.set_choice("V10", "V10c", ["some_locations"])
    assert "V11" in visibility(Q, a)


def test_pruning_drops_what_is_no_longer_asked():
    a = complete_answers()
    a.set_text("V7", "", "Goede afspraken met de gemeente.")
    a.set_choice("V3", "V3c", ["no"])  # no staff training after all: no V4 row for it
    for item in ["V5a", "V5b", "V5c", "V5d"]:
        a.set_choice("V5", item, ["none"])  # no cooperation: no V6, no V7
    pruned = prune(Q, a)
    assert pruned.selected("V4", "V3c") == frozenset()
    assert pruned.selected("V4", "V3a") == {"all_most"}
    assert "V6" not in pruned.choices and "V7" not in pruned.texts
    assert {p.question for p in not_asked(Q, a)} == {"V4", "V6", "V7"}
    assert missing(Q, pruned) == []


def test_the_text_of_anders_goes_with_that_answer():
    a = Answers()
    a.set_choice("V1", "", ["other"])
    a.set_text("V1", "", "Adviseur integrale veiligheid")
    assert prune(Q, a).text("V1") == "Adviseur integrale veiligheid"
    a.set_choice("V1", "", ["board"])
    assert prune(Q, a).text("V1") == ""


def test_value_problems():
    a = Answers()
    a.set_choice("V2", "", ["no", "complete"])  # one answer only
    a.set_choice("V3", "V3a", ["perhaps"])  # unknown code
    a.set_choice("V10", "V10a", ["central", "not_evaluated"])  # exclusive
    a.set_text("V15", "", "x" * 2001)
    codes = {(p.question, p.item, p.code) for p in value_problems(Q, a)}
    assert codes == {
        ("V2", "", ONE_ANSWER),
        ("V3", "V3a", UNKNOWN_OPTION),
        ("V10", "V10a", EXCLUSIVE),
        ("V15", "", TEXT_TOO_LONG),
    }


def test_missing_lists_required_rows_and_questions_but_not_optional_ones():
    a = complete_answers()
    a.set_choice("V3", "V3e", [])
    a.set_choice("V11", "V11b", [])  # V11: at least one source, rows are optional
    a.set_choice("V2", "", [])
    problems = {(p.question, p.item, p.code) for p in missing(Q, prune(Q, a))}
    assert problems == {("V2", "", REQUIRED), ("V3", "V3e", REQUIRED), ("V11", "", REQUIRED)}
    # Open questions and the "Anders" rows are never required.
    assert all(p.question not in {"V7", "V15", "V16", "V17", "V18"} for p in missing(Q, a))
    assert NOT_ASKED not in {p.code for p in missing(Q, a)}


def test_a_new_version_may_not_change_the_meaning_of_a_code():
    later = copy.deepcopy(DOCUMENT)
    later["version"]["code"] = "VB-2025"
    # Correcting English and adding a question are fine.
    later["sections"][0]["questions"][0]["text_en"] = "What is your role?"
    later["sections"][4]["questions"].append(
        {"code": "V20", "type": "open", "required": False, "text_nl": "Nieuw", "text_en": "New"}
    )
    assert incompatibilities(Q, parse(later)) == []
    # Another Dutch text, another option list or another condition are not.
    changed = copy.deepcopy(later)
    changed["sections"][1]["questions"][0]["text_nl"] = "Heeft uw instelling een plan?"
    changed["sections"][1]["questions"][1]["options"].pop()
    changed["sections"][1]["questions"][4]["condition"]["any_not_in"] = ["none", "no_view"]
    problems = incompatibilities(Q, parse(changed))
    assert problems == [
        "V2: text_nl changed since VB-2023",
        "V3: options changed since VB-2023",
        "V6: condition changed since VB-2023",
    ]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["sections"][0]["questions"].append(d["sections"][0]["questions"][0]), "twice"),
        (
            lambda d: d["sections"][1]["questions"][4]["condition"].update(question="V99"),
            "no earlier",
        ),
        (
            lambda d: d["sections"][1]["questions"][4]["condition"].update(any_not_in=["x"]),
            "unknown",
        ),
        (lambda d: d["sections"][0]["questions"][0].update(type="slider"), "unknown type"),
    ],
)
def test_an_inconsistent_document_is_refused(change, message):
    document = copy.deepcopy(DOCUMENT)
    change(document)
    with pytest.raises(DefinitionError, match=message):
        parse(document)
