"""The demo shows the questionnaire: answers over two school years (most submitted, some
drafts, a couple none), a reopening in the history, and inputs the figures can use."""

from datetime import date

import pytest

from demo.seed import seed_demo
from miv import clock
from questionnaire import analyses, figures, services
from questionnaire.choices import ResponseAction, ResponseStatus
from questionnaire.models import QuestionnaireResponse, QuestionnaireVersion
from reporting.choices import ScoreSource
from reporting.models import SafetyScore

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_demo_has_questionnaire_answers_that_make_figures(monkeypatch):
    result = seed_demo(today=date(2023, 11, 1))
    last, this = "2022-2023", "2023-2024"
    statuses = {
        (r.institution.brin, r.school_year): r.status
        for r in QuestionnaireResponse.objects.select_related("institution")
    }
    last_year = [s for (_b, y), s in statuses.items() if y == last]
    this_year = [s for (_b, y), s in statuses.items() if y == this]
    assert last_year.count(ResponseStatus.SUBMITTED) == 10  # of 12
    assert this_year.count(ResponseStatus.SUBMITTED) == 6
    assert this_year.count(ResponseStatus.DRAFT) == 3
    assert result["questionnaire_responses"] == 19
    # The demo coordinators: Amstel continues a draft, Rivierenland starts afresh.
    assert statuses[("91RD", this)] == ResponseStatus.DRAFT
    assert ("91RA", this) not in statuses
    reopened = QuestionnaireResponse.objects.get(institution__brin="91RA", school_year=last)
    actions = list(reopened.events.values_list("action", flat=True))
    assert ResponseAction.REOPENED in actions and actions[-1] == ResponseAction.SUBMITTED

    questionnaire = QuestionnaireVersion.current().questionnaire
    inputs = services.submitted_answers(last)
    assert len(inputs) == 10
    provisions = figures.figure_5_4(questionnaire, inputs, population=12)
    assert provisions.row("V3a").count("all_most") + provisions.row("V3a").count("part") >= 8
    assert provisions.coverage == pytest.approx(10 / 12)
    job = {
        s.institution_id: float(s.value)
        for s in SafetyScore.objects.filter(source=ScoreSource.JOB, survey_year=2022)
    }
    association = analyses.figure_6_3(questionnaire, inputs, job)
    assert association.correlation.n == 10 and association.correlation.status == "ok"

    # The sector page (figures 5.4-5.9) shows the complete year, not the running one.
    from django.contrib.auth import get_user_model
    from django.test import Client

    monkeypatch.setattr(clock, "today", lambda: date(2023, 11, 1))
    client = Client()
    client.force_login(get_user_model().objects.get(username="onderzoeker"))
    page = client.get("/questionnaire/sector/").content.decode()
    assert f'<option value="{last}" selected>' in page and this not in page
    assert page.count('<p class="coverage">Beantwoord door 10 van 12 instellingen') >= 7
    # Each of them drawn as a chart with its caption.
    assert page.count('<figure class="chart policy-chart">') == 7
    assert page.count("Per onderdeel één balk van 100%") == 5
    assert page.count("de balken tellen op tot meer dan 100%") == 2
    # Figures 6.1, 6.3 and 6.5 below them: 6.1 with its correlation, 6.3 and 6.5 as
    # institutions per band of provisions for a researcher (issue 15).
    assert "Figuur 6.1" in page and page.count("Pearson r") == 1
    assert "Figuur 6.3" in page and "Figuur 6.5" in page and "alleen voor beheerders" in page
    # Tabel 5.2: who answered, against all institutions.
    assert f"Wie antwoordden: Tabel 5.2, {last}" in page
    assert "10 van de 12 instellingen dienden de vragenlijst in" in page

    # The coordinator of ROC Amstelland finds the submitted answers in the yearly export.
    import csv
    import io

    client.force_login(get_user_model().objects.get(username="coordinator.amstel"))
    response = client.get(
        "/figures/export/download/",
        {"institution": "91RD", "school_year": last, "format": "csv", "table": "policy"},
    )
    assert response.status_code == 200, response.content[:300]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {(r["institution"], r["status"]) for r in rows} == {("91RD", "submitted")}
    assert {"V3", "V5", "V14"} <= {r["question_code"] for r in rows}

    # A second run adds nothing.
    assert seed_demo(today=date(2023, 11, 1))["questionnaire_responses"] == 0
    assert QuestionnaireResponse.objects.count() == 19
