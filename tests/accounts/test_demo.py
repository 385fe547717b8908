"""The demo shows issue 14: a pending invitation, a deactivated location whose incidents
keep it, a deactivated colleague, the audit trail, and the researcher's token list.

Only the demo's institutions and users are seeded (not its 8,000 incidents): the whole
``seed_demo`` is covered by tests/miv/test_demo.py, which runs this step too."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Invitation
from accounts.tokens import tokens_of
from demo.accounts import BRIN, CLOSED_LOCATION, INVITED, LEFT, RESEARCH_TOKENS, seed_accounts
from demo.data import DEMO_PASSWORD
from demo.people import research_token, seed_institutions, seed_users
from incidents.models import Location
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def seed():
    institutions = seed_institutions()
    seed_users(institutions)
    closed = Location.objects.get(institution__brin=BRIN, code=CLOSED_LOCATION)
    if not closed.incidents.exists():
        IncidentFactory(location=closed)
    seed_accounts(institutions)
    return research_token()


def login(username: str) -> Client:
    client = Client()
    client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    return client


def test_the_demo_shows_people_and_access():
    old_token = seed()
    closed = Location.objects.get(institution__brin=BRIN, code=CLOSED_LOCATION)
    assert not closed.active and closed.incidents.exists()
    assert Invitation.objects.pending().filter(email=INVITED).exists()
    assert AuditEvent.objects.count() >= 5

    coordinator = login("coordinator.rivierenland")
    page = coordinator.get(f"/accounts/institutions/{BRIN}/members/").content.decode()
    assert INVITED in page and LEFT in page and "gedeactiveerd" in page
    places = coordinator.get(f"/accounts/institutions/{BRIN}/locations/").content.decode()
    assert "Gorinchem" in places and "Dordrecht Praktijkhal" in places
    assert login(LEFT).get("/incidents/register/").status_code == 302  # deactivated

    researcher = login("onderzoeker")
    rows = researcher.get("/accounts/tokens/").context["tokens"]
    assert sorted(row.name for row in rows) == sorted(
        [name for name, _days, _used in RESEARCH_TOKENS] + ["make demo"]
    )
    assert sum(row.last_used_at is not None for row in rows) == 1
    admin = login("beheerder")
    assert (
        "promovendus@universiteit.example.nl"
        in admin.get("/accounts/researchers/").content.decode()
    )

    # A second run adds nothing but a fresh demo token (the old one is revoked).
    events = AuditEvent.objects.count()
    seed()
    assert Invitation.objects.count() == 2
    assert len(tokens_of(get_user_model().objects.get(username="onderzoeker"))) == 3
    assert AuditEvent.objects.count() == events + 1  # the new demo token
    old = APIClient(HTTP_AUTHORIZATION=f"Token {old_token}")
    assert old.get("/api/v1/institutions/").status_code == 401
