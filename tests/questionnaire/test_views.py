"""The web pages: one section per page, saved at every step, follow-up questions shown by the
server (no JavaScript), submit, reopen, the summary and the download of the own answers."""

import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from questionnaire import services
from questionnaire.choices import ResponseAction, ResponseStatus
from questionnaire.models import QuestionnaireResponse
from tests.questionnaire.test_rules import complete_answers
from tests.questionnaire.test_services import save_all

pytestmark = pytest.mark.django_db


def with_other_role(text: str):
    """Every question answered; V1 (who coordinates safety) "other", named ``text``."""
    answers = complete_answers()
    answers.set_choice("V1", "", ["other"])
    answers.set_text("V1", "", text)
    return answers


@pytest.fixture
def year():
    return services.answerable_school_years()[0]


@pytest.fixture
def browser_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def started(coordinator_a, institution_a, year):
    return services.start_response(actor=coordinator_a, institution=institution_a, school_year=year)


def url(response_or_brin, year=None, tail=""):
    if year is None:
        response_or_brin, year = response_or_brin.institution.brin, response_or_brin.school_year
    return f"/questionnaire/{response_or_brin}/{year}/{tail}"


def section_2(**overrides):
    data = {
        "q-V2": "complete",
        **{f"q-V3-V3{c}": "no" for c in "abcdef"},
        **{f"q-V5-V5{c}": "none" for c in "abcd"},
        "_action": "next",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_overview_lists_the_school_years_for_a_coordinator(browser_for, coordinator_a, year):
    page = browser_for(coordinator_a).get("/questionnaire/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Invullen {year}" in html
    assert "ROC Alfa" in html


@pytest.mark.parametrize("who", ["registrar_a", "researcher"])
def test_others_get_403(request, browser_for, who):
    assert browser_for(request.getfixturevalue(who)).get("/questionnaire/").status_code == 403


def test_start_opens_the_first_section_with_nothing_preselected(
    browser_for, coordinator_a, institution_a, year
):
    client = browser_for(coordinator_a)
    started = client.post(url("25LJ", year, "start/"))
    assert started.status_code == 302 and started["Location"] == url("25LJ", year, "section/1/")
    page = client.get(started["Location"])
    html = page.content.decode()
    assert "Wat is uw functie of positie in uw instelling?" in html
    assert "checked" not in html
    # The open field says it is about the institution, not about persons, and confidential.
    assert "niet over personen" in html and "Vertrouwelijk" in html
    assert QuestionnaireResponse.objects.get().events.get().action == ResponseAction.STARTED


def test_follow_up_questions_appear_after_saving_without_javascript(
    browser_for, coordinator_a, started
):
    client = browser_for(coordinator_a)
    page = client.get(url(started, tail="section/2/"))
    html = page.content.decode()
    assert "V3." in html and 'name="q-V4-' not in html and 'name="q-V6"' not in html

    # Camera surveillance present, and some cooperation with the police: V4 (for that
    # provision only) and V6/V7 appear; the page is shown again, answers saved.
    answer = section_2(**{"q-V3-V3d": "yes", "q-V5-V5c": "much"})
    again = client.post(url(started, tail="section/2/"), answer)
    assert again.status_code == 200
    html = again.content.decode()
    assert "vervolgvragen" in html
    assert 'name="q-V4-V3d"' in html and 'name="q-V4-V3a"' not in html
    assert 'name="q-V6"' in html and 'name="t-V7"' in html
    assert services.load_answers(started).selected("V3", "V3d") == {"yes"}

    # Next without answering them: saved, but the page asks for them.
    missing = client.post(url(started, tail="section/2/"), answer)
    assert missing.status_code == 400
    assert "Kies een antwoord voor dit onderdeel." in missing.content.decode()
    assert "Beantwoord deze vraag." in missing.content.decode()

    done = client.post(
        url(started, tail="section/2/"),
        {**answer, "q-V4-V3d": "part", "q-V6": "satisfied", "t-V7": "Korte lijnen."},
    )
    assert done.status_code == 302 and done["Location"] == url(started, tail="section/3/")
    stored = services.load_answers(started)
    assert stored.selected("V4", "V3d") == {"part"} and stored.text("V7") == "Korte lijnen."


def test_no_follow_up_when_the_condition_does_not_hold(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    response = client.post(url(started, tail="section/2/"), section_2())
    assert response.status_code == 302 and response["Location"].endswith("/section/3/")
    page = client.get(url(started, tail="section/2/"))
    assert 'name="q-V6"' not in page.content.decode()


def test_save_and_come_back_later_keeps_an_incomplete_page(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    response = client.post(
        url(started, tail="section/3/"), {"q-V8": "yes", "_action": "save"}
    )  # V9, V10 and V12 still open
    assert response.status_code == 302 and response["Location"] == "/questionnaire/"
    page = client.get(url(started, tail="section/3/"))
    assert re.search(r'value="yes"[^>]*checked', page.content.decode())


def test_an_invalid_code_is_shown_again_and_saves_nothing(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    response = client.post(url(started, tail="section/2/"), section_2(**{"q-V2": "maybe"}))
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()
    assert services.load_answers(started).is_empty()


def test_exclusive_answer_with_another_is_refused(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    data = {
        "q-V8": "yes",
        "q-V9": "locations",
        "q-V10-V10a": ["central", "not_evaluated"],
        "_action": "save",
    }
    response = client.post(url(started, tail="section/3/"), data)
    assert response.status_code == 400
    assert "gaat niet samen met een ander antwoord" in response.content.decode()
    assert services.load_answers(started).is_empty()


def test_submit_checks_completeness_then_locks_the_answers(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    incomplete = client.post(url(started, tail="submit/"))
    assert incomplete.status_code == 400
    assert "nog niet compleet" in incomplete.content.decode()

    save_all(coordinator_a, started, complete_answers())
    submitted = client.post(url(started, tail="submit/"))
    assert submitted.status_code == 302
    started.refresh_from_db()
    assert started.status == ResponseStatus.SUBMITTED
    # A section page of a submitted response leads to the read-only summary.
    assert client.get(url(started, tail="section/1/"))["Location"] == url(started)
    summary = client.get(url(started)).content.decode()
    assert "Ingediend" in summary and "Vragenlijst indienen" not in summary


def test_reopen_is_for_administrators_and_lands_in_the_history(
    browser_for, coordinator_a, administrator, started
):
    save_all(coordinator_a, started, complete_answers())
    services.submit(actor=coordinator_a, response=started)
    assert browser_for(coordinator_a).get(url(started, tail="reopen/")).status_code == 403
    admin = browser_for(administrator)
    assert admin.post(url(started, tail="reopen/"), {"reason": ""}).status_code == 400
    done = admin.post(url(started, tail="reopen/"), {"reason": "Verkeerd schooljaar ingevuld"})
    assert done.status_code == 302
    started.refresh_from_db()
    assert started.status == ResponseStatus.DRAFT
    summary = browser_for(coordinator_a).get(url(started)).content.decode()
    assert "Heropend door beheerder" in summary and "Verkeerd schooljaar ingevuld" in summary


def test_the_last_section_leads_to_the_summary(browser_for, coordinator_a, started):
    response = browser_for(coordinator_a).post(
        url(started, tail="section/5/"), {"q-V19": "no", "_action": "next"}
    )
    assert response["Location"] == url(started)


def test_download_csv_and_xlsx_of_the_own_answers(browser_for, coordinator_a, started):
    save_all(coordinator_a, started, with_other_role("=Adviseur veiligheid"))
    client = browser_for(coordinator_a)
    csv_response = client.get(url(started, tail="answers.csv"))
    assert csv_response.status_code == 200
    content = csv_response.content.decode("utf-8")
    assert content.startswith("\ufeffinstelling,schooljaar,")
    assert "'=Adviseur veiligheid" in content  # formula escaped
    assert "Vertrouwenspersoon" in content
    assert (
        f'filename="miv-vragenlijst-25LJ-{started.school_year}.csv"'
        in csv_response["Content-Disposition"]
    )
    xlsx = client.get(url(started, tail="answers.xlsx"))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][4] == "vraagcode"
    assert any(r[4] == "V3" and r[6] == "V3a" and r[8] == "yes" for r in rows[1:])
    assert any(r[10] == "'=Adviseur veiligheid" for r in rows[1:])


def test_summary_marks_what_is_still_missing(browser_for, coordinator_a, started):
    html = browser_for(coordinator_a).get(url(started)).content.decode()
    assert "Nog niet beantwoord" in html and "Vragenlijst indienen" in html


def test_another_institution_is_not_found(browser_for, coordinator_b, started):
    client = browser_for(coordinator_b)
    for tail in ("", "section/1/", "answers.csv"):
        assert client.get(url(started, tail=tail)).status_code == 404
    assert client.post(url(started, tail="start/")).status_code == 404


def test_the_questions_are_in_english_when_chosen(browser_for, coordinator_a, started):
    client = browser_for(coordinator_a)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(url(started, tail="section/2/")).content.decode()
    assert "Does your institution have a school safety plan?" in html
    assert "Confidential adviser" in html and "Save and continue later" in html
    assert "Beschikt uw instelling" not in html


def test_the_answers_are_the_sheet_policy_of_the_yearly_export(
    browser_for, coordinator_a, coordinator_b, started
):
    from reporting import engine

    save_all(coordinator_a, started, with_other_role("Adviseur veiligheid"))
    engine.compute_school_year(started.school_year)
    params = {"institution": "25LJ", "school_year": started.school_year}
    client = browser_for(coordinator_a)
    assert "Vragenlijst veiligheidsbeleid" in client.get("/figures/export/").content.decode()
    response = client.get("/figures/export/download/", {**params, "format": "xlsx"})
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook["policy"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:6] == (
        "institution",
        "school_year",
        "version",
        "status",
        "section",
        "question_code",
    )
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert {r["institution"] for r in records} == {"25LJ"}
    assert {r["status"] for r in records} == {"draft"}
    # The chosen answers by their stable codes, and the confidential open text.
    assert any(
        r["question_code"] == "V3" and r["item_code"] == "V3a" and r["answer_code"] == "yes"
        for r in records
    )
    assert any(
        r["question_code"] == "V1" and r["open_text"] == "Adviseur veiligheid" for r in records
    )
    codebook = list(workbook["codebook"].iter_rows(values_only=True))
    assert ("policy", "open_text", "Toelichting (vertrouwelijk)") in codebook
    # One table as CSV; another institution's coordinator gets no export of it.
    single = client.get("/figures/export/download/", {**params, "table": "policy"})
    assert single.status_code == 200
    assert "Adviseur veiligheid" in single.content.decode("utf-8")
    other = browser_for(coordinator_b).get(
        "/figures/export/download/", {**params, "table": "policy"}
    )
    assert other.status_code == 403


def test_more_answers_possible_is_said_once(browser_for, coordinator_a, started):
    """V10's own text says "(Meer antwoorden mogelijk)", as in the source: the page does not
    add the same hint under it; V11 (asked once V10 is answered), whose text does not say
    it, gets the hint. Section 3 has no other question with several answers."""
    from questionnaire.definition import parse
    from questionnaire.models import QuestionnaireVersion

    definition = parse(QuestionnaireVersion.objects.get(code="VB-2023").definition)
    v10, v11 = definition.question("V10"), definition.question("V11")
    assert v10.several and v10.says_several("nl") and v10.says_several("en")
    assert v11.several and not v11.says_several("nl") and not v11.says_several("en")

    client = browser_for(coordinator_a)
    page = client.get(url(started, tail="section/3/")).content.decode()
    assert 'id="vraag-V10"' in page and 'id="vraag-V11"' not in page
    assert page.lower().count("meer antwoorden mogelijk") == 1  # V10's text

    data = {"q-V8": "yes", "q-V9": "locations", "q-V10-V10a": ["central"], "_action": "save"}
    client.post(url(started, tail="section/3/"), data)
    page = client.get(url(started, tail="section/3/")).content.decode()
    assert 'id="vraag-V11"' in page
    assert page.lower().count("meer antwoorden mogelijk") == 2  # V10's text, V11's hint
