"""The demo shows issue 14: a pending invitation, a deactivated location whose incidents
keep it, a deactivated colleague, the audit trail, and the researcher's token list."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AuditEvent, Invitation
from accounts.tokens import tokens_of
from demo.accounts import BRIN, CLOSED_LOCATION, INVITED, LEFT, RESEARCH_TOKENS
from demo.seed import seed_demo
from incidents.models import Location

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_demo_shows_people_and_access():
    seed_demo(today=date(2023, 11, 1))
    closed = Location.objects.get(institution__brin=BRIN, code=CLOSED_LOCATION)
    assert not closed.active and closed.incidents.exists()
    assert Invitation.objects.pending().filter(email=INVITED).exists()
    events = AuditEvent.objects.count()
    assert events >= 4

    coordinator = Client()
    coordinator.post(
        "/accounts/login/", {"username": "coordinator.rivierenland", "password": "demo-miv-2023"}
    )
    page = coordinator.get(f"/accounts/institutions/{BRIN}/members/").content.decode()
    assert INVITED in page and LEFT in page and "gedeactiveerd" in page
    places = coordinator.get(f"/accounts/institutions/{BRIN}/locations/").content.decode()
    assert "Gorinchem" in places and "Dordrecht Praktijkhal" in places

    researcher = Client()
    researcher.post("/accounts/login/", {"username": "onderzoeker", "password": "demo-miv-2023"})
    tokens = researcher.get("/accounts/tokens/")
    names = [row.name for row in tokens.context["tokens"]]
    assert sorted(names) == sorted([name for name, _d, _u in RESEARCH_TOKENS] + ["make demo"])
    assert sum(row.last_used_at is not None for row in tokens.context["tokens"]) == 1

    # A second run adds nothing but a fresh demo token (the old one is revoked).
    seed_demo(today=date(2023, 11, 1))
    assert Invitation.objects.count() == 2
    assert len(tokens_of(get_user_model().objects.get(username="onderzoeker"))) == 3
