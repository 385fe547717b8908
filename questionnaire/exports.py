"""An institution's own answers as rows: for its summary page and its CSV and XLSX download.

One row per chosen answer (a grid gives one row per item, a question with several answers
one row per answer), plus a row per open text without a chosen answer. Questions that are
asked but not answered yet are listed with an empty answer, so a draft's download shows
what is still open. Texts in the interface language; codes are the stable codes of the
questionnaire version, so files of different years can be put side by side.

The same rows are the sheet ``policy`` of the coordinator's yearly export
(:func:`yearly_table`, added through :data:`reporting.signals.yearly_export_parts`), with the
export's stable column names and codes.

The download holds the institution's open answers: it is for its coordinators (and
administrators) only, like the page. CSV: UTF-8 with byte order mark, comma separated, CRLF;
text cells a spreadsheet would run as a formula are escaped in both formats.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import IO

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from incidents.models import Institution
from miv.csvfiles import escape_formula
from reporting.export_files import Column, ExportTable
from reporting.exports import ExportPart

from .answers import Answers, missing, visibility
from .definition import NO_ITEM, Questionnaire
from .models import QuestionnaireResponse
from .services import load_answers

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class AnswerRow:
    section: int
    question: str
    question_text: str
    item: str
    item_text: str
    option: str
    option_text: str
    text: str  # open text (confidential)
    missing: bool = False


def answer_rows(questionnaire: Questionnaire, answers: Answers) -> list[AnswerRow]:
    language = get_language()
    shown = visibility(questionnaire, answers)
    still_open = {(p.question, p.item) for p in missing(questionnaire, answers)}
    rows = []
    for section in questionnaire.sections:
        for q in section.questions:
            if q.code not in shown:
                continue

            def add(row="", option=None, text="", is_missing=False, q=q, number=section.number):
                item = q.item(row)
                rows.append(
                    AnswerRow(
                        number,
                        q.code,
                        q.text(language),
                        row,
                        item.text(language) if item else "",
                        option.code if option else "",
                        option.text(language) if option else "",
                        text,
                        is_missing,
                    )
                )

            for row in shown[q.code]:
                chosen = [o for o in q.options if o.code in answers.selected(q.code, row)]
                text = answers.text(q.code, row)
                for option in chosen:
                    add(row, option, text if (row or option.open_text) else "")
                if chosen:
                    continue
                if q.is_open or text:
                    add(row, None, text)
                elif (q.code, row) in still_open:
                    add(row, None, "", True)
            if q.is_grid and (q.code, NO_ITEM) in still_open:
                add(NO_ITEM, None, "", True)  # a grid that needs one answer at all (V11)
    return rows


def _columns() -> list[str]:
    return [
        _("instelling"),
        _("schooljaar"),
        _("versie"),
        _("status"),
        _("vraagcode"),
        _("vraagtekst"),
        _("onderdeelcode"),
        _("onderdeeltekst"),
        _("antwoordcode"),
        _("antwoord"),
        _("toelichting (vertrouwelijk)"),
    ]


def table(response: QuestionnaireResponse, answers: Answers) -> tuple[list[str], list[list]]:
    questionnaire = response.version.questionnaire
    head = [
        response.institution.brin,
        response.school_year,
        response.version.code,
        response.get_status_display(),
    ]
    rows = [
        head + [r.question, r.question_text, r.item, r.item_text, r.option, r.option_text, r.text]
        for r in answer_rows(questionnaire, answers)
    ]
    return _columns(), rows


def file_stem(response: QuestionnaireResponse) -> str:
    return f"miv-vragenlijst-{response.institution.brin}-{response.school_year}"


def csv_bytes(columns: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO(newline="")
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(c) for c in columns])
    for row in rows:
        writer.writerow([escape_formula(str(v)) for v in row])
    return buffer.getvalue().encode("utf-8")


def write_xlsx(columns: list[str], rows: list[list], fileobj: IO[bytes]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Antwoorden")[:31]

    def cell(value) -> str:
        # Control characters XML cannot hold are dropped first, then formulas escaped.
        return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))

    sheet.append([cell(c) for c in columns])
    for header in sheet[1]:
        header.font = Font(bold=True)
    for row in rows:
        sheet.append([cell(v) for v in row])
    for letter, width in zip(
        "ABCDEFGHIJK", (10, 11, 10, 11, 7, 50, 9, 40, 14, 30, 50), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    workbook.save(fileobj)


# --- The sheet "policy" of the yearly export ---------------------------------------------------


def yearly_table(institution: Institution, school_year: str, user=None) -> ExportTable:
    """The institution's answers of ``school_year`` (none: no rows), for its yearly export.
    Only the institution's coordinators and administrators get that export; it holds the
    confidential open texts as the own download does."""
    columns = [
        Column("institution", _("Instelling (BRIN)"), width=10),
        Column("school_year", _("Schooljaar"), width=11),
        Column("version", _("Versie van de vragenlijst"), width=10),
        Column("status", _("Status (draft: concept, submitted: ingediend)"), width=11),
        Column("section", _("Onderdeel van de vragenlijst"), width=8),
        Column("question_code", _("Vraagcode"), width=8),
        Column("question_text", _("Vraagtekst"), width=50),
        Column("item_code", _("Code van het onderdeel van de vraag"), width=9),
        Column("item_text", _("Onderdeel van de vraag"), width=40),
        Column("answer_code", _("Antwoordcode"), width=14),
        Column("answer_text", _("Antwoord"), width=30),
        Column("open_text", _("Toelichting (vertrouwelijk)"), width=50),
        Column("still_open", _("Nog te beantwoorden"), width=8),
    ]
    title = _("Vragenlijst veiligheidsbeleid")
    response = (
        QuestionnaireResponse.objects.filter(institution=institution, school_year=school_year)
        .select_related("version")
        .first()
    )
    if response is None:
        return ExportTable("policy", title, columns)
    head = [institution.brin, school_year, response.version.code, response.status]
    rows = [
        [
            *head,
            r.section,
            r.question,
            r.question_text,
            r.item,
            r.item_text,
            r.option,
            r.option_text,
            r.text,
            r.missing,
        ]
        for r in answer_rows(response.version.questionnaire, load_answers(response))
    ]
    return ExportTable("policy", title, columns, rows)


def yearly_part() -> ExportPart:
    return ExportPart(
        "policy",
        _("Vragenlijst veiligheidsbeleid: de antwoorden van de instelling"),
        yearly_table,
    )
