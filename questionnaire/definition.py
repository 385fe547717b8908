"""The safety-policy questionnaire (*Bijlage 7*) as data: sections, questions, answer options,
items and conditions, parsed from a fixture in ``fixtures/questionnaire/``. Pure: no Django.

Question types
--------------
``single``         one answer (radio buttons), e.g. V2;
``multiple``       several answers (check boxes);
``grid``           items × answers, one answer per item, e.g. V3 provisions × nee/ja/weet niet;
``grid_multiple``  items × answers, several answers per item, e.g. V10 moments × levels;
``open``           free text, e.g. V15.

An option or item may carry an open text (``"open_text": true``: "Anders, namelijk: …").
Open texts are never required: the appendix prints every one as *niet verplicht*.

Conditions
----------
A question may have a ``condition`` on an earlier question, and a grid may have an
``item_condition`` that decides per item (V4 asks "on how many locations" only for the
provisions answered *Ja* at V3). A condition holds when, among the answers selected in the
controlling question (for ``same_item``: in its row with the same item code)

* ``any_in``: at least one answer is in the list, or
* ``any_not_in``: at least one answer is not in the list.

So "[V5 ~= geen samenwerking)" is ``{"question": "V5", "any_not_in": ["none"]}``: V6 is
asked when at least one partner is answered with something other than *geen samenwerking*;
"[V10 ≠ 0]" is ``{"question": "V10", "any_not_in": ["not_evaluated"]}``. A condition on a
question that is itself not shown never holds. ``printed`` keeps the condition exactly as the
appendix prints it (typos included); ``null`` where the appendix states it in words only.

Versions and codes
------------------
Question, item and option codes are identifiers that answers, exports and figures refer to.
A later version may add questions, add items to a grid, or leave questions out; it may never
give an existing code another meaning: :func:`incompatibilities` lists every such change
(type, Dutch text, answer options, condition), and the loader refuses a version that has any.
English texts may be corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SINGLE = "single"
MULTIPLE = "multiple"
GRID = "grid"
GRID_MULTIPLE = "grid_multiple"
OPEN = "open"
QUESTION_TYPES = (SINGLE, MULTIPLE, GRID, GRID_MULTIPLE, OPEN)
# The key of the only "row" of a question without items.
NO_ITEM = ""


class DefinitionError(ValueError):
    """The questionnaire document is inconsistent (a message says where)."""


def _pick(nl: str, en: str, language: str | None) -> str:
    return en if (language or "nl").startswith("en") and en else nl


@dataclass(frozen=True)
class Option:
    code: str
    text_nl: str
    text_en: str
    open_text: bool = False
    # Excludes the other answers of its row ("Beleid wordt niet geëvalueerd").
    exclusive: bool = False

    def text(self, language: str | None = None) -> str:
        return _pick(self.text_nl, self.text_en, language)


# How a question's text says that it takes several answers (Dutch, English).
SEVERAL_WORDING = ("meer antwoorden mogelijk", "more answers possible")


@dataclass(frozen=True)
class Item:
    code: str
    text_nl: str
    text_en: str
    open_text: bool = False
    # An item nobody has to answer ("Anders, namelijk"): never counts as missing.
    optional: bool = False
    # One of the six V3 provisions counted in figures 6.3 and 6.5.
    provision: bool = False
    # The appendix prints the code before the text ("V10a Is onderdeel van ...").
    printed_code: bool = False

    def text(self, language: str | None = None) -> str:
        return _pick(self.text_nl, self.text_en, language)


@dataclass(frozen=True)
class Condition:
    question: str
    any_in: frozenset[str] | None = None
    any_not_in: frozenset[str] | None = None
    same_item: bool = False
    printed: str | None = None
    note_nl: str = ""
    note_en: str = ""

    def holds_for(self, selected: Iterable[str]) -> bool:
        chosen = set(selected)
        if self.any_in is not None:
            return bool(chosen & self.any_in)
        return bool(chosen - (self.any_not_in or frozenset()))

    def note(self, language: str | None = None) -> str:
        return _pick(self.note_nl, self.note_en, language)

    def signature(self) -> tuple:
        """What the condition means (not how it is printed or explained)."""
        return (
            self.question,
            tuple(sorted(self.any_in)) if self.any_in is not None else None,
            tuple(sorted(self.any_not_in)) if self.any_not_in is not None else None,
            self.same_item,
        )


@dataclass(frozen=True)
class Question:
    code: str
    type: str
    section: str
    text_nl: str
    text_en: str
    required: bool
    options: tuple[Option, ...] = ()
    items: tuple[Item, ...] = ()
    # Grids: every shown item needs an answer (else: the question needs one answer at all).
    rows_required: bool = True
    condition: Condition | None = None
    item_condition: Condition | None = None
    instruction_nl: str = ""
    instruction_en: str = ""
    info_nl: str = ""
    info_en: str = ""
    items_from: str | None = None

    def text(self, language: str | None = None) -> str:
        return _pick(self.text_nl, self.text_en, language)

    def instruction(self, language: str | None = None) -> str:
        return _pick(self.instruction_nl, self.instruction_en, language)

    def info(self, language: str | None = None) -> str:
        return _pick(self.info_nl, self.info_en, language)

    @property
    def is_grid(self) -> bool:
        return self.type in (GRID, GRID_MULTIPLE)

    @property
    def is_open(self) -> bool:
        return self.type == OPEN

    @property
    def several(self) -> bool:
        """More than one answer per row."""
        return self.type in (MULTIPLE, GRID_MULTIPLE)

    def says_several(self, language: str | None = None) -> bool:
        """Whether the question's own text already says that more answers are possible
        (V10 does, as in the source: "(Meer antwoorden mogelijk)"); forms and figures then
        do not say it a second time."""
        text = self.text(language).casefold()
        return any(words in text for words in SEVERAL_WORDING)

    @property
    def rows(self) -> tuple[str, ...]:
        """The keys under which answers are stored: item codes, or ``""``."""
        return tuple(i.code for i in self.items) if self.is_grid else (NO_ITEM,)

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def text_slots(self) -> tuple[str, ...]:
        """Where open texts go: ``""`` for the question (open question, or an open option),
        or the code of an item with an open text."""
        slots = []
        if self.is_open or any(o.open_text for o in self.options):
            slots.append(NO_ITEM)
        slots += [i.code for i in self.items if i.open_text]
        return tuple(slots)


@dataclass(frozen=True)
class Section:
    code: str
    number: int
    title_nl: str
    title_en: str
    questions: tuple[Question, ...]

    def title(self, language: str | None = None) -> str:
        return _pick(self.title_nl, self.title_en, language)


@dataclass(frozen=True)
class Questionnaire:
    code: str
    name_nl: str
    name_en: str
    published_on: str
    source: str
    sections: tuple[Section, ...]
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def name(self, language: str | None = None) -> str:
        return _pick(self.name_nl, self.name_en, language)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, code: str) -> Question | None:
        if not self._index:
            self._index.update({q.code: q for q in self.questions})
        return self._index.get(code)

    def section(self, number: int) -> Section | None:
        return next((s for s in self.sections if s.number == number), None)

    def provision_items(self) -> tuple[Item, ...]:
        """The provisions counted in figures 6.3 and 6.5 (the six named items of V3)."""
        return tuple(i for q in self.questions for i in q.items if i.provision)


# --- Parsing ----------------------------------------------------------------------------------


def _condition(raw: Mapping | None, where: str) -> Condition | None:
    if raw is None:
        return None
    if ("any_in" in raw) == ("any_not_in" in raw):
        raise DefinitionError(f"{where}: a condition needs exactly one of any_in, any_not_in")
    return Condition(
        question=raw["question"],
        any_in=frozenset(raw["any_in"]) if "any_in" in raw else None,
        any_not_in=frozenset(raw["any_not_in"]) if "any_not_in" in raw else None,
        same_item=bool(raw.get("same_item", False)),
        printed=raw.get("printed"),
        note_nl=raw.get("note_nl", ""),
        note_en=raw.get("note_en", ""),
    )


def _question(raw: Mapping, section: str, earlier: dict[str, Question]) -> Question:
    code = raw["code"]
    kind = raw["type"]
    if kind not in QUESTION_TYPES:
        raise DefinitionError(f"{code}: unknown type {kind!r}")
    options = tuple(
        Option(
            code=o["code"],
            text_nl=o["text_nl"],
            text_en=o["text_en"],
            open_text=bool(o.get("open_text", False)),
            exclusive=bool(o.get("exclusive", False)),
        )
        for o in raw.get("options", [])
    )
    if "items_from" in raw:
        source = earlier.get(raw["items_from"])
        if source is None or not source.items:
            raise DefinitionError(f"{code}: items_from names no earlier grid")
        # The rows are the same things (same codes); the open text stays with the source.
        items = tuple(Item(i.code, i.text_nl, i.text_en) for i in source.items)
    else:
        items = tuple(
            Item(
                code=i["code"],
                text_nl=i["text_nl"],
                text_en=i["text_en"],
                open_text=bool(i.get("open_text", False)),
                optional=bool(i.get("optional", False)),
                provision=bool(i.get("provision", False)),
                printed_code=bool(i.get("printed_code", False)),
            )
            for i in raw.get("items", [])
        )
    question = Question(
        code=code,
        type=kind,
        section=section,
        text_nl=raw["text_nl"],
        text_en=raw["text_en"],
        required=bool(raw.get("required", True)),
        options=options,
        items=items,
        rows_required=bool(raw.get("rows_required", True)),
        condition=_condition(raw.get("condition"), code),
        item_condition=_condition(raw.get("item_condition"), code),
        instruction_nl=raw.get("instruction_nl", ""),
        instruction_en=raw.get("instruction_en", ""),
        info_nl=raw.get("info_nl", ""),
        info_en=raw.get("info_en", ""),
        items_from=raw.get("items_from"),
    )
    _check_question(question, earlier)
    return question


def _check_question(q: Question, earlier: dict[str, Question]) -> None:
    def unique(codes, what):
        codes = list(codes)
        if len(codes) != len(set(codes)):
            raise DefinitionError(f"{q.code}: duplicate {what} codes {codes}")

    unique((o.code for o in q.options), "option")
    unique((i.code for i in q.items), "item")
    if q.is_open and (q.options or q.items):
        raise DefinitionError(f"{q.code}: an open question has no options or items")
    if not q.is_open and not q.options:
        raise DefinitionError(f"{q.code}: needs answer options")
    if q.is_grid != bool(q.items):
        raise DefinitionError(f"{q.code}: grids, and only grids, have items")
    if any(o.exclusive for o in q.options) and not q.several:
        raise DefinitionError(f"{q.code}: an exclusive option needs several answers per row")
    if q.is_grid and any(o.open_text for o in q.options):
        raise DefinitionError(f"{q.code}: in a grid, open texts belong to items")
    for condition, what in ((q.condition, "condition"), (q.item_condition, "item_condition")):
        if condition is None:
            continue
        source = earlier.get(condition.question)
        if source is None:
            raise DefinitionError(f"{q.code}: {what} names no earlier question")
        named = (condition.any_in or frozenset()) | (condition.any_not_in or frozenset())
        unknown = named - {o.code for o in source.options}
        if unknown:
            raise DefinitionError(f"{q.code}: {what} names unknown answers {sorted(unknown)}")
        if condition.same_item and not {i.code for i in q.items} <= set(source.rows):
            raise DefinitionError(f"{q.code}: same_item needs the rows of {source.code}")
    if q.item_condition is not None and not (q.is_grid and q.item_condition.same_item):
        raise DefinitionError(f"{q.code}: an item_condition is per item (same_item) of a grid")


def parse(document: Mapping) -> Questionnaire:
    """The questionnaire of a fixture document; :class:`DefinitionError` when inconsistent."""
    version = document["version"]
    earlier: dict[str, Question] = {}
    sections = []
    numbers = set()
    for raw_section in document["sections"]:
        questions = []
        for raw in raw_section["questions"]:
            question = _question(raw, raw_section["code"], earlier)
            if question.code in earlier:
                raise DefinitionError(f"{question.code}: the code is used twice")
            earlier[question.code] = question
            questions.append(question)
        if raw_section["number"] in numbers:
            raise DefinitionError(f"section number {raw_section['number']} is used twice")
        numbers.add(raw_section["number"])
        sections.append(
            Section(
                code=raw_section["code"],
                number=int(raw_section["number"]),
                title_nl=raw_section["title_nl"],
                title_en=raw_section["title_en"],
                questions=tuple(questions),
            )
        )
    return Questionnaire(
        code=version["code"],
        name_nl=version["name_nl"],
        name_en=version["name_en"],
        published_on=version["published_on"],
        source=version.get("source", ""),
        sections=tuple(sections),
    )


# --- Versions ---------------------------------------------------------------------------------


def _meaning(q: Question) -> dict:
    return {
        "type": q.type,
        "text_nl": q.text_nl,
        "options": [(o.code, o.text_nl, o.open_text, o.exclusive) for o in q.options],
        "condition": q.condition.signature() if q.condition else None,
        "item_condition": q.item_condition.signature() if q.item_condition else None,
    }


def incompatibilities(earlier: Questionnaire, later: Questionnaire) -> list[str]:
    """Every way in which ``later`` gives a code of ``earlier`` another meaning. A question
    left out, an item added or an English text corrected is no change of meaning."""
    problems = []
    for old in earlier.questions:
        new = later.question(old.code)
        if new is None:
            continue
        before, after = _meaning(old), _meaning(new)
        for key in before:
            if before[key] != after[key]:
                problems.append(f"{old.code}: {key} changed since {earlier.code}")
        for item in old.items:
            changed = new.item(item.code)
            if changed is not None and changed.text_nl != item.text_nl:
                problems.append(f"{old.code}.{item.code}: text_nl changed since {earlier.code}")
    return problems
