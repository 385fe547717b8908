"""Issue 11 for figures 5.4-5.9: a reader who collects every output about a school year (the
sector page as researcher and as coordinators, the research API) cannot tell apart two
sectors that differ only in a withheld row, even a coordinator who answered that row.

Two worlds, byte for byte: if every output is identical, nothing about the difference can be
solved back, by an integer program or otherwise. A control shows the comparison would
notice: changing one answer in a published row changes the outputs."""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from questionnaire.models import Answer
from tests.factories import InstitutionFactory, MembershipFactory, UserFactory
from tests.reporting.test_research_api import token_client

from .test_sector import API, URL, YEAR, respond

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"')


@pytest.fixture
def sector(institution_a, settings):
    """Seven institutions answer the counselor (V3a, published); only A and two others
    answer the reporting point (V3b: n = 3, below k = 5, withheld)."""
    settings.MIV_DISCLOSURE_K = 5
    others = [InstitutionFactory() for _ in range(6)]
    responses = {}
    for n, institution in enumerate([institution_a, *others]):
        answers = {("V3", "V3a"): ["yes"], ("V4", "V3a"): ["all_most" if n % 2 else "part"]}
        if n < 3:
            answers[("V3", "V3b")] = ["yes"]
            answers[("V4", "V3b")] = ["part"]
        responses[institution] = respond(institution, YEAR, answers)
    return {"a": institution_a, "others": others, "responses": responses}


def outputs(readers) -> list[str]:
    """Everything the readers get about the year: pages (without per-request tokens) and
    the research API's answer."""
    cache.clear()  # drawn charts and throttle buckets: every world is computed afresh
    collected = []
    for user in readers["pages"]:
        client = Client()
        client.force_login(user)
        page = client.get(URL, {"school_year": YEAR}).content.decode()
        main = page[page.index("<main") : page.index("</main>")]
        collected.append(CSRF.sub("", main))
    answer = token_client(readers["researcher"]).get(API, {"school_year": YEAR})
    assert answer.status_code == 200
    collected.append(json.dumps(answer.json(), sort_keys=True))
    return collected


def set_answer(response, question: str, item: str, options: list[str]) -> None:
    Answer.objects.filter(response=response, question__in=(question, "V4"), item=item).delete()
    Answer.objects.bulk_create(
        Answer(response=response, question=question, item=item, option=o) for o in options
    )


def test_a_withheld_row_cannot_be_told_apart(sector, coordinator_a, researcher):
    outsider = UserFactory()
    MembershipFactory(user=outsider, institution=InstitutionFactory(), role="coordinator")
    readers = {"pages": [coordinator_a, researcher, outsider], "researcher": researcher}
    first = outputs(readers)
    assert "niet gepubliceerd" in first[0]  # the reporting point is withheld

    # The other two who answered the reporting point answer it differently; A's answer,
    # which A's coordinator knows, stays.
    one, two = sector["others"][:2]
    set_answer(sector["responses"][one], "V3", "V3b", ["no"])
    set_answer(sector["responses"][two], "V3", "V3b", ["unknown"])
    assert outputs(readers) == first

    # Control: one answer in the published counselor row changes what readers get.
    set_answer(sector["responses"][sector["others"][5]], "V3", "V3a", ["no"])
    changed = outputs(readers)
    assert all(a != b for a, b in zip(changed, first, strict=True))
