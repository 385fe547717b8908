"""End-to-end in real Chromium (issue 15): a coordinator answers the safety-policy
questionnaire on a 390 x 844 phone, with JavaScript switched off and on: answers page by
page, sees a follow-up question appear only when its condition holds (V4 for a provision
that is present, V6 once there is cooperation with a partner, V11 once the policy is
evaluated), saves halfway, logs out, comes back in a new session, finds the saved answers,
completes and submits. No sideways scrolling, no console errors, and (with JavaScript, which
axe-core needs) no serious or critical axe-core violation on the overview, a section with
follow-up questions, and the summary."""

import re

import pytest

from questionnaire import services
from questionnaire.choices import ResponseStatus
from questionnaire.models import QuestionnaireResponse
from tests.e2e.test_registration_browser import (  # noqa: F401 - fixtures
    PHONE,
    Session,
    allow_orm_next_to_playwright,
    browser,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def question(page, code: str):
    return page.locator(f"#vraag-{code}")


def row(page, code: str, item: str):
    return question(page, code).get_by_role("group", name=item, exact=True)


def choose(page, code: str, answer: str, item: str | None = None):
    scope = row(page, code, item) if item else question(page, code)
    scope.get_by_label(answer, exact=True).check()


def narrow(session: Session) -> None:
    assert session.scroll_width() <= 390, (
        "the page scrolls sideways on a phone",
        session.wider_than(390),
    )


def accessible(page, js: bool) -> None:
    """axe-core (bundled with axe-playwright-python) finds no serious or critical violation."""
    if not js:
        return  # axe runs as JavaScript in the page; the HTML is the same either way
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def answer_the_questionnaire(browser, live_server, coordinator, *, js: bool):  # noqa: F811
    from playwright.sync_api import expect

    year = services.answerable_school_years()[0]
    session = Session(browser, live_server.url, java_script_enabled=js, **PHONE)
    page = session.page
    session.login(coordinator.username, "/questionnaire/")
    expect(page.get_by_role("heading", name="Vragenlijst veiligheidsbeleid")).to_be_visible()
    narrow(session)
    accessible(page, js)
    page.get_by_role("button", name=f"Invullen {year}").click()

    # 1 Functie: nothing is preselected.
    expect(page.get_by_role("heading", name="1. Functie")).to_be_visible()
    expect(question(page, "V1").locator("input:checked")).to_have_count(0)
    narrow(session)
    choose(page, "V1", "Medewerker van een centraal stafbureau")
    page.get_by_role("button", name="Volgende").click()

    # 2 Beleidsontwikkeling: no follow-up questions before the answers that ask for them.
    expect(
        page.get_by_role("heading", name="2. Beleidsontwikkeling sociale veiligheid")
    ).to_be_visible()
    expect(question(page, "V4")).to_have_count(0)
    expect(question(page, "V6")).to_have_count(0)
    choose(page, "V2", "Ja, zijn we mee bezig en is deels uitgewerkt")
    for item in (
        "Vertrouwenspersoon",
        "Meldpunt voor ontoelaatbaar/ongewenst gedrag",
        "Training personeel in omgaan met ongewenst gedrag",
        "Toezichthoudend personeel bij ingangen",
        "Toezichthoudend personeel in openbare ruimten zoals: hal, gangen, kantine",
    ):
        choose(page, "V3", "Nee", item)
    choose(page, "V3", "Ja", "Cameratoezicht")
    for item in ("Gemeente", "Jongerenwerk", "Politie", "Halt"):
        choose(page, "V5", "geen samenwerking", item)
    narrow(session)
    page.get_by_role("button", name="Volgende").click()

    # Camera surveillance is present: V4 asks on how many locations, for that row only.
    # No cooperation with anyone: V6 is not asked.
    expect(page.get_by_text("vervolgvragen bijgekomen")).to_be_visible()
    expect(question(page, "V4").get_by_role("group")).to_have_count(1)
    expect(row(page, "V4", "Cameratoezicht")).to_be_visible()
    expect(question(page, "V6")).to_have_count(0)
    narrow(session)
    accessible(page, js)
    choose(page, "V4", "Deel", "Cameratoezicht")
    choose(page, "V5", "veel samenwerking", "Politie")
    page.get_by_role("button", name="Volgende").click()

    # Cooperation with the police: now V6 (and V7, its explanation) are asked.
    expect(question(page, "V6")).to_be_visible()
    expect(question(page, "V7")).to_be_visible()
    expect(question(page, "V6").locator("input:checked")).to_have_count(0)
    expect(question(page, "V7").get_by_text("niet over personen")).to_be_visible()
    choose(page, "V6", "Tevreden")
    question(page, "V7").get_by_label("Uw antwoord").fill("Korte lijnen met de wijkagent.")
    page.get_by_role("button", name="Volgende").click()

    # 3 Beleidscyclus: save halfway and leave.
    expect(page.get_by_role("heading", name="3. Beleidscyclus sociale veiligheid")).to_be_visible()
    expect(question(page, "V11")).to_have_count(0)
    choose(page, "V8", "Ja")
    page.get_by_role("button", name="Opslaan en later verder").click()
    expect(page.get_by_text("als concept opgeslagen")).to_be_visible()
    assert session.errors == []
    session.close()

    # Back in a new session: the draft is there, with the saved answers.
    session = Session(browser, live_server.url, java_script_enabled=js, **PHONE)
    page = session.page
    session.login(coordinator.username, "/questionnaire/")
    expect(page.get_by_text("Concept", exact=True)).to_be_visible()
    page.get_by_role("button", name=f"Verder invullen {year}").click()
    expect(
        question(page, "V1").get_by_label("Medewerker van een centraal stafbureau")
    ).to_be_checked()
    page.get_by_role("link", name="Beleidscyclus sociale veiligheid").click()
    expect(question(page, "V8").get_by_label("Ja", exact=True)).to_be_checked()

    choose(page, "V9", "De uitvoering is in handen van de locaties (of cluster van locaties).")
    choose(page, "V10", "Op centraal niveau", "Is onderdeel van een vaste overlegcyclus")
    choose(page, "V10", "Beleid wordt niet geëvalueerd", "Bij beschikbaarheid (nieuwe)informatie")
    choose(page, "V10", "Op centraal niveau", "Na (ernstige) incidenten")
    choose(page, "V10", "Op locatieniveau bij alle locaties", "Na (ernstige) incidenten")
    for group in question(page, "V12").get_by_role("group").all():
        group.get_by_label("Nee", exact=True).check()
    narrow(session)
    page.get_by_role("button", name="Volgende").click()

    # The policy is evaluated: V11 (which sources) is asked now.
    expect(question(page, "V11")).to_be_visible()
    choose(page, "V11", "Op centraal niveau", "Gegevens incidentenregistratiesysteem")
    narrow(session)
    page.get_by_role("button", name="Volgende").click()

    # 4 Uw mening.
    expect(page.get_by_role("heading", name=re.compile(r"^4\. Uw mening"))).to_be_visible()
    choose(page, "V13", "Ja, daar is voldoende aandacht voor")
    for group in question(page, "V14").get_by_role("group").all():
        group.get_by_label("Meer", exact=True).check()
    page.get_by_role("button", name="Volgende").click()

    # 5 Afsluiting, then the summary and submit.
    choose(page, "V19", "Nee")
    page.get_by_role("button", name="Opslaan en naar het overzicht").click()
    expect(
        page.get_by_role("heading", name="Antwoorden vragenlijst veiligheidsbeleid")
    ).to_be_visible()
    expect(page.get_by_text("Korte lijnen met de wijkagent.")).to_be_visible()
    narrow(session)
    accessible(page, js)
    page.get_by_role("button", name="Vragenlijst indienen").click()
    expect(page.get_by_text("De vragenlijst is ingediend")).to_be_visible()
    expect(page.locator("#response-status")).to_have_text("Ingediend")
    narrow(session)
    assert session.errors == []
    session.close()

    response = QuestionnaireResponse.objects.get()
    assert response.status == ResponseStatus.SUBMITTED
    answers = services.load_answers(response)
    assert answers.selected("V4") == {"part"} and set(answers.choices["V4"]) == {"V3d"}
    assert answers.selected("V6") == {"satisfied"}
    assert answers.selected("V10", "V10c") == {"central", "all_locations"}
    assert answers.selected("V11", "V11c") == {"central"}


def test_answer_on_a_phone_without_javascript(browser, live_server, coordinator_a):  # noqa: F811
    answer_the_questionnaire(browser, live_server, coordinator_a, js=False)


def test_answer_on_a_phone_with_javascript(browser, live_server, coordinator_a):  # noqa: F811
    answer_the_questionnaire(browser, live_server, coordinator_a, js=True)
