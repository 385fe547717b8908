"""The management commands add_member and create_api_token."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from incidents.choices import Role
from incidents.models import Membership

pytestmark = pytest.mark.django_db
User = get_user_model()


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- add_member ----------------------------------------------------------------------------


def test_add_member_creates_user_and_role(institution_a):
    output = run("add_member", "nieuw", "--role", "registrar", "--institution", "25lj")
    user = User.objects.get(username="nieuw")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.institution) == (Role.REGISTRAR, institution_a)
    assert "Created user nieuw" in output and "added role registrar (25LJ)" in output


def test_add_member_is_idempotent(institution_a):
    for _ in range(2):
        output = run("add_member", "nieuw", "--role", "coordinator", "--institution", "25LJ")
    assert User.objects.filter(username="nieuw").count() == 1
    assert Membership.objects.filter(user__username="nieuw").count() == 1
    assert "Found user nieuw; kept role coordinator" in output


def test_add_member_changes_the_role_in_place(institution_a):
    run("add_member", "nieuw", "--role", "registrar", "--institution", "25LJ")
    run("add_member", "nieuw", "--role", "coordinator", "--institution", "25LJ")
    assert list(Membership.objects.values_list("role", flat=True)) == [Role.COORDINATOR]


def test_add_member_sets_a_password(institution_a):
    run(
        "add_member", "nieuw", "--role", "registrar", "--institution", "25LJ", "--password", "p-1!x"
    )
    assert User.objects.get(username="nieuw").check_password("p-1!x")


def test_add_member_researcher_is_sector_wide(db):
    run("add_member", "onderzoeker", "--role", "researcher")
    run("add_member", "onderzoeker", "--role", "researcher")
    membership = Membership.objects.get(user__username="onderzoeker")
    assert (membership.role, membership.institution) == (Role.RESEARCHER, None)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--role", "registrar", "--institution", "00XX"], "Unknown institution (BRIN) '00XX'"),
        (["--role", "boss", "--institution", "25LJ"], "Unknown role 'boss'"),
        (["--role", "registrar"], "--institution BRIN is required"),
        (["--role", "researcher", "--institution", "25LJ"], "leave out --institution"),
    ],
)
def test_add_member_fails_clearly(institution_a, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("add_member", "iemand", *args)
    assert not User.objects.filter(username="iemand").exists()


# --- create_api_token --------------------------------------------------------------------------


def test_create_api_token_prints_a_token_that_authenticates(registrar_a, incident_a):
    output = run("create_api_token", "registrar_a", "--days", "7")
    token = output.strip().splitlines()[-1]
    stored = AuthToken.objects.get(user=registrar_a)
    assert token not in stored.digest  # stored hashed, not in clear
    expected = timezone.now() + timedelta(days=7)
    assert abs((stored.expiry - expected).total_seconds()) < 60
    client = APIClient()
    response = client.get("/api/v1/incidents/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [incident_a.reference]


def test_each_call_makes_a_new_token(registrar_a):
    first = run("create_api_token", "registrar_a").strip().splitlines()[-1]
    second = run("create_api_token", "registrar_a").strip().splitlines()[-1]
    assert first != second
    assert AuthToken.objects.filter(user=registrar_a).count() == 2


def test_default_validity_is_90_days(registrar_a):
    run("create_api_token", "registrar_a")
    expiry = AuthToken.objects.get(user=registrar_a).expiry
    assert abs((expiry - timezone.now() - timedelta(days=90)).total_seconds()) < 60


@pytest.mark.parametrize(
    "args,message",
    [
        (["ghost"], "Unknown or inactive user 'ghost'"),
        (["registrar_a", "--days", "0"], "--days must be at least 1"),
    ],
)
def test_create_api_token_fails_clearly(registrar_a, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_token", *args)
    assert not AuthToken.objects.exists()


def test_no_token_for_an_inactive_user(registrar_a):
    registrar_a.is_active = False
    registrar_a.save()
    with pytest.raises(CommandError, match="inactive"):
        run("create_api_token", "registrar_a")
