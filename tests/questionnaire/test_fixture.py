"""The questionnaire fixture holds Bijlage 7 exactly: every question with its printed text,
its answer options and items in printed order, its open fields, and the conditions.

The reference is ``fixtures/questionnaire/bijlage-7.txt``, a copy of the appendix as it is
printed in the report (line breaks of the print kept). The check works both ways: every
text of the fixture is found in the printed block of its question, in order; and what is
left of the block after taking those texts out is only print furniture (item codes, the
"[open invulveld, niet verplicht]" markers, brackets and slashes). So a question, option or
item missing from the fixture, or a text that differs by one character, fails.
"""

import json
import re
from pathlib import Path

import pytest

from questionnaire.definition import GRID, GRID_MULTIPLE, OPEN, SINGLE, parse

ROOT = Path(__file__).resolve().parents[2]
APPENDIX = ROOT / "fixtures" / "questionnaire" / "bijlage-7.txt"
FIXTURE = ROOT / "fixtures" / "questionnaire" / "VB-2023.json"

# What the print adds around the texts: open-field markers, the "1" before an open text
# box, item codes, and the brackets and slashes of the V5 scale.
FURNITURE = re.compile(
    r"\[open (?:invulveld|tekstveld), niet verplicht\]|\[Tekstveld\]|\bV\d+[a-l]\b|[\[\]/]|\b1\b",
    re.IGNORECASE,
)
OPEN_MARKER = re.compile(r"\s*(\[open invulveld, niet verplicht\]|\[Tekstveld\])", re.IGNORECASE)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def printed() -> str:
    return flat(APPENDIX.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def questionnaire():
    return parse(json.loads(FIXTURE.read_text(encoding="utf-8")))


def blocks(printed: str) -> dict[str, str]:
    """The printed text of each question: from "V<n>. " to the next question or section."""
    starts = [(m.group(1), m.start(), m.end()) for m in re.finditer(r"\bV(\d+)\. ", printed)]
    result = {}
    for index, (number, _start, end) in enumerate(starts):
        stop = starts[index + 1][1] if index + 1 < len(starts) else len(printed)
        body = printed[end:stop]
        # A section heading ("3 Beleidscyclus ...") ends the block too.
        heading = re.search(r" [2-5] [A-Z][a-z]", body)
        result[f"V{number}"] = body[: heading.start()] if heading else body
    return result


def test_every_printed_question_is_in_the_fixture_and_nothing_else(printed, questionnaire):
    assert list(blocks(printed)) == [f"V{n}" for n in range(1, 20)]
    assert [q.code for q in questionnaire.questions] == [f"V{n}" for n in range(1, 20)]


def test_sections_are_printed_in_order_with_their_titles(printed, questionnaire):
    position = 0
    for section in questionnaire.sections:
        heading = f"{section.number} {section.title_nl} V{section.questions[0].code[1:]}. "
        found = printed.find(heading, position)
        assert found >= position, f"section heading {heading!r} not found in order"
        position = found
        assert all(q.section == section.code for q in section.questions)


def _take(block: str, text: str, after: int, what: str) -> tuple[str, int]:
    """Find ``text`` in ``block`` at or after ``after`` (as whole words) and blank it out."""
    before = r"(?<!\w)" if re.match(r"\w", text) else ""
    after_ = r"(?!\w)" if re.search(r"\w$", text) else ""
    pattern = re.compile(before + re.escape(text) + after_)
    match = pattern.search(block, after)
    assert match, f"{what}: {text!r} is not printed (in this order)"
    blanked = block[: match.start()] + " " * len(text) + block[match.end() :]
    return blanked, match.end()


@pytest.mark.parametrize("code", [f"V{n}" for n in range(1, 20)])
def test_each_question_is_printed_exactly(printed, questionnaire, code):
    q = questionnaire.question(code)
    block = blocks(printed)[code]
    original = block

    # The condition stands right after the number, as printed.
    position = 0
    if q.condition is not None and q.condition.printed:
        assert block.startswith(q.condition.printed), (code, block[:40])
        block, position = _take(block, q.condition.printed, 0, code)
    block, position = _take(block, q.text_nl, position, code)
    if q.info_nl:
        block, _ = _take(block, f"[infobutton: {q.info_nl}]", position, code)
    if q.instruction_nl:
        block, position = _take(block, q.instruction_nl, position, code)

    # Options and items, each list in printed order (V5 prints its items before the scale).
    own_items = [] if q.items_from else list(q.items)
    for entries in (q.options, own_items):
        after = position
        for entry in entries:
            text = entry.text_nl
            if getattr(entry, "printed_code", False):
                text = f"{entry.code} {text}"
            block, after = _take(block, text, after, f"{code} {entry.code}")
            marker = OPEN_MARKER.match(original, after)
            assert bool(marker) == entry.open_text, (
                f"{code} {entry.code}: the print {'has' if marker else 'has no'} open field"
            )

    # What is left is print furniture only.
    rest = FURNITURE.sub(" ", block).strip(" .:…")
    assert rest == "", f"{code}: printed but not in the fixture: {rest!r}"

    # Types the appendix implies.
    if code in {"V7", "V15", "V16", "V17", "V18"}:
        assert q.type == OPEN and not q.required
        assert re.search(r"\[open (invulveld|tekstveld), niet verplicht\]", original, re.I)
    if code in {"V3", "V5", "V12", "V14"}:
        assert q.type == GRID
    if code in {"V10", "V11"}:
        assert q.type == GRID_MULTIPLE  # "(Meer antwoorden mogelijk)" / levels × sources
    if code in {"V1", "V2", "V6", "V8", "V9", "V13", "V19"}:
        assert q.type == SINGLE


def test_every_printed_condition_is_a_condition_of_its_question(printed, questionnaire):
    found = re.findall(r"V(\d+)\. (\[V\d+ [^\]\)]*[\]\)])", printed)
    assert found == [("6", "[V5 ~= geen samenwerking)"), ("11", "[V10 ≠ 0]")]
    v6, v11 = questionnaire.question("V6"), questionnaire.question("V11")
    assert v6.condition.printed == "[V5 ~= geen samenwerking)"
    assert v6.condition.question == "V5" and v6.condition.any_not_in == {"none"}
    assert questionnaire.question("V5").option("none").text_nl == "geen samenwerking"
    assert v11.condition.printed == "[V10 ≠ 0]"
    assert v11.condition.question == "V10" and v11.condition.any_not_in == {"not_evaluated"}
    assert questionnaire.question("V10").option("not_evaluated").exclusive
    # Stated in words: V4 "Als aanwezig/beschikbaar" asks per provision answered Ja at V3,
    # and V7 explains V6, so it is asked with it.
    v4 = questionnaire.question("V4")
    assert v4.text_nl.startswith("Als aanwezig/beschikbaar")
    assert v4.item_condition.question == "V3" and v4.item_condition.same_item
    assert v4.item_condition.any_in == {"yes"}
    assert [i.code for i in v4.items] == [i.code for i in questionnaire.question("V3").items]
    assert questionnaire.question("V7").condition.signature() == v6.condition.signature()
    conditional = {q.code for q in questionnaire.questions if q.condition or q.item_condition}
    assert conditional == {"V4", "V6", "V7", "V11"}


def test_the_six_provisions_of_figures_6_3_and_6_5(questionnaire):
    assert [i.text_nl for i in questionnaire.provision_items()] == [
        "Vertrouwenspersoon",
        "Meldpunt voor ontoelaatbaar/ongewenst gedrag",
        "Training personeel in omgaan met ongewenst gedrag",
        "Cameratoezicht",
        "Toezichthoudend personeel bij ingangen",
        "Toezichthoudend personeel in openbare ruimten zoals: hal, gangen, kantine",
    ]


def test_every_text_has_an_english_translation(questionnaire):
    texts = [(q.code, q.text_nl, q.text_en) for q in questionnaire.questions]
    for q in questionnaire.questions:
        texts += [(f"{q.code}.{o.code}", o.text_nl, o.text_en) for o in q.options]
        texts += [(f"{q.code}.{i.code}", i.text_nl, i.text_en) for i in q.items]
    texts += [(s.code, s.title_nl, s.title_en) for s in questionnaire.sections]
    untranslated = [code for code, nl, en in texts if not en.strip() or (en == nl and len(nl) > 4)]
    assert untranslated == []


def test_open_fields_are_never_required(questionnaire):
    for q in questionnaire.questions:
        if q.is_open:
            assert not q.required, q.code
        for item in q.items:
            if item.open_text:
                assert item.optional, f"{q.code}.{item.code}"
