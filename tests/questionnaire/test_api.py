"""The questionnaire API: the same rules as the web pages, JSON in and out, 400 with field
errors in the shape of the request, 409 once submitted."""

import pytest

from questionnaire import services
from questionnaire.models import QuestionnaireResponse

pytestmark = pytest.mark.django_db

BASE = "/api/v1/questionnaire/responses/"


def fields(response) -> dict[str, list[str]]:
    """The field errors of an API problem answer: ``{"answers.V2.choice": [detail, ...]}``."""
    found: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["detail"])
    return found


@pytest.fixture
def year():
    return services.answerable_school_years()[0]


@pytest.fixture
def api_a(client_for, coordinator_a):
    return client_for(coordinator_a)


@pytest.fixture
def created(api_a, year):
    response = api_a.post(BASE, {"institution": "25LJ", "school_year": year}, format="json")
    assert response.status_code == 201, response.content
    return f"{BASE}25LJ/{year}/"


COMPLETE = {
    "V1": {"choice": "other", "text": "Adviseur integrale veiligheid"},
    "V2": {"choice": "in_progress"},
    "V3": {
        "rows": {f"V3{c}": "yes" for c in "abcdef"} | {"V3g": "yes"},
        "texts": {"V3g": "Ombudsman"},
    },
    "V4": {"rows": {f"V3{c}": "all_most" for c in "abcdefg"}},
    "V5": {"rows": {"V5a": "fair", "V5b": "little", "V5c": "much", "V5d": "none"}},
    "V6": {"choice": "satisfied"},
    "V7": {"text": "Goede afspraken met de politie."},
    "V8": {"choice": "yes"},
    "V9": {"choice": "central_guides"},
    "V10": {
        "rows": {"V10a": ["central"], "V10b": ["central", "all_locations"], "V10c": ["central"]}
    },
    "V11": {"rows": {"V11b": ["central"], "V11c": ["central", "all_locations"]}},
    "V12": {"rows": {f"V12{c}": "no" for c in "abcdefghijkl"}},
    "V13": {"choice": "enough"},
    "V14": {"rows": {f"V14{c}": "more" for c in "abcdefghijkl"}},
    "V19": {"choice": "no"},
}


def test_versions_hold_the_whole_questionnaire(client_for, researcher, registrar_a):
    for user in (researcher, registrar_a):
        response = client_for(user).get("/api/v1/questionnaire/versions/")
        assert response.status_code == 200
        (version,) = response.json()
        assert version["code"] == "VB-2023"
        questions = [q for s in version["questionnaire"]["sections"] for q in s["questions"]]
        assert [q["code"] for q in questions] == [f"V{n}" for n in range(1, 20)]
        v11 = questions[10]
        assert v11["condition"]["printed"] == "[V10 ≠ 0]"
        assert v11["condition"]["any_not_in"] == ["not_evaluated"]
    assert client_for(None).get("/api/v1/questionnaire/versions/").status_code == 401


def test_start_is_idempotent_and_only_for_own_institution(api_a, year, created):
    again = api_a.post(BASE, {"institution": "25LJ", "school_year": year}, format="json")
    assert again.status_code == 200
    other = api_a.post(BASE, {"institution": "30RR", "school_year": year}, format="json")
    assert other.status_code == 400 and "institution" in fields(other)
    old = api_a.post(BASE, {"institution": "25LJ", "school_year": "2015-2016"}, format="json")
    assert old.status_code == 400 and "school_year" in fields(old)
    bad = api_a.post(BASE, {"institution": "25LJ", "school_year": "twenty"}, format="json")
    assert bad.status_code == 400 and "school_year" in fields(bad)


def test_draft_submit_round_trip(api_a, created):
    response = api_a.patch(created, {"answers": {"V5": COMPLETE["V5"]}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answers"] == {"V5": COMPLETE["V5"]}
    assert {"question": "V6", "items": []} in body["asked"]  # some cooperation: V6 is asked
    assert {"question": "V2", "item": ""} in body["missing"]

    incomplete = api_a.post(created + "submit/")
    assert incomplete.status_code == 400
    assert fields(incomplete)["answers.V2.choice"] == ["Beantwoord deze vraag."]

    saved = api_a.patch(created, {"answers": COMPLETE}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["missing"] == []
    assert saved.json()["answers"]["V3"]["texts"] == {"V3g": "Ombudsman"}

    submitted = api_a.post(created + "submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    locked = api_a.patch(created, {"answers": {"V2": {"choice": "no"}}}, format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "already_submitted"


def test_bad_answers_get_field_errors_and_store_nothing(api_a, created):
    response = api_a.patch(
        created,
        {
            "answers": {
                "V2": {"choice": ["no", "planned"]},
                "V3": {"rows": {"V3a": "perhaps"}},
                "V10": {"rows": {"V10a": "central"}},
                "V99": {"choice": "x"},
            }
        },
        format="json",
    )
    assert response.status_code == 400
    errors = fields(response)
    assert errors["answers.V2.choice"] == ["Geef één antwoordcode."]
    assert errors["answers.V10.rows.V10a"] == ["Geef een lijst van antwoordcodes."]
    assert errors["answers.V99"] == ["Deze vraag bestaat niet in deze vragenlijst."]

    codes = api_a.patch(
        created,
        {
            "answers": {
                "V3": {"rows": {"V3a": "perhaps"}},
                "V10": {"rows": {"V10a": ["central", "not_evaluated"]}},
                "V15": {"text": "x" * 2001},
            }
        },
        format="json",
    )
    assert codes.status_code == 400
    errors = fields(codes)
    assert errors["answers.V3.rows.V3a"] == ["'perhaps' is geen antwoord op deze vraag."]
    assert "gaat niet samen" in errors["answers.V10.rows.V10a"][0]
    assert errors["answers.V15.text"] == ["Maximaal 2000 tekens."]
    assert QuestionnaireResponse.objects.get().answers.count() == 0


def test_an_answer_to_a_question_not_asked_is_refused(api_a, created):
    response = api_a.patch(created, {"answers": {"V6": {"choice": "satisfied"}}}, format="json")
    assert response.status_code == 400
    assert fields(response)["answers.V6.choice"] == [
        "Deze vraag wordt gezien de eerdere antwoorden niet gesteld."
    ]


@pytest.mark.parametrize(
    "body", [{}, {"answers": []}, {"answers": "V1"}, {"answers": {"V1": "board"}}, []]
)
def test_malformed_bodies_are_400(api_a, created, body):
    assert api_a.patch(created, body, format="json").status_code == 400


def test_null_clears_an_answer(api_a, created):
    api_a.patch(created, {"answers": {"V2": {"choice": "no"}}}, format="json")
    cleared = api_a.patch(created, {"answers": {"V2": None}}, format="json")
    assert cleared.status_code == 200 and "V2" not in cleared.json()["answers"]


def test_reopen_is_for_administrators(client_for, api_a, administrator, created):
    api_a.patch(created, {"answers": COMPLETE}, format="json")
    api_a.post(created + "submit/")
    assert api_a.post(created + "reopen/", {"reason": "fout"}, format="json").status_code == 403
    admin = client_for(administrator)
    assert admin.post(created + "reopen/", {}, format="json").status_code == 400
    reopened = admin.post(created + "reopen/", {"reason": "V4 onjuist"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
    assert admin.post(created + "reopen/", {"reason": "nog eens"}, format="json").status_code == 409


def test_others_never_see_the_answers(
    client_for, coordinator_b, registrar_a, researcher, api_a, created
):
    api_a.patch(created, {"answers": {"V1": COMPLETE["V1"]}}, format="json")
    other = client_for(coordinator_b)
    assert other.get(created).status_code == 404
    assert other.get(BASE).json() == []
    for user in (registrar_a, researcher):
        client = client_for(user)
        assert client.get(BASE).status_code == 403
        assert client.get(created).status_code == 403
    assert client_for(None).get(created).status_code == 401
