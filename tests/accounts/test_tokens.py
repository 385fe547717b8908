"""API tokens in the interface: create with an expiry (shown once), see the last use
(recorded at most once a minute), revoke."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts import tokens
from accounts.choices import AuditAction
from accounts.models import ApiTokenInfo, AuditEvent

pytestmark = pytest.mark.django_db
RATES = "/api/v1/institutions/"  # any API call a researcher may make


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_researcher_creates_uses_and_revokes_a_token(client, researcher):
    client.force_login(researcher)
    answer = client.post("/accounts/tokens/", {"name": "analyse 2024", "days": "30"})
    assert answer.status_code == 200
    token = answer.context["new_token"]
    assert token and token in answer.content.decode()
    assert answer["Cache-Control"].startswith("max-age=0")
    instance = AuthToken.objects.get(user=researcher)
    assert timedelta(days=29, hours=23) < instance.expiry - timezone.now() <= timedelta(days=30)
    assert instance.digest != token  # knox keeps a hash only

    # Shown once: the list has the name and the first characters, never the token.
    listing = client.get("/accounts/tokens/").content.decode()
    assert "analyse 2024" in listing and token not in listing and token[:8] in listing
    assert "nog niet" in listing

    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(RATES).status_code == 200
    used = ApiTokenInfo.objects.get().last_used_at
    assert used is not None and timezone.now() - used < timedelta(seconds=30)
    assert "nog niet" not in client.get("/accounts/tokens/").content.decode()

    client.post("/accounts/tokens/revoke/", {"key": instance.token_key})
    assert api.get(RATES).status_code == 401
    assert not AuthToken.objects.filter(user=researcher).exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.TOKEN_CREATED,
        AuditAction.TOKEN_REVOKED,
    ]


def test_the_last_use_is_written_at_most_once_a_minute(researcher):
    instance, token = tokens.create_token(actor=researcher, name="script", days=7)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    api.get(RATES)
    first = ApiTokenInfo.objects.get().last_used_at
    ApiTokenInfo.objects.update(last_used_at=first - timedelta(seconds=30))
    api.get(RATES)  # within the minute: not written again
    assert ApiTokenInfo.objects.get().last_used_at == first - timedelta(seconds=30)
    cache.clear()  # the minute has passed
    api.get(RATES)
    assert ApiTokenInfo.objects.get().last_used_at > first - timedelta(seconds=30)


def test_a_token_made_by_the_command_gets_its_last_use_too(researcher):
    _instance, token = AuthToken.objects.create(user=researcher, expiry=timedelta(days=1))
    APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(RATES)
    assert ApiTokenInfo.objects.get().last_used_at is not None


def test_nobody_revokes_or_sees_another_users_token(researcher, coordinator_a):
    instance, _token = tokens.create_token(actor=researcher, name="geheim", days=7)
    other = Client()
    other.force_login(coordinator_a)
    assert "geheim" not in other.get("/accounts/tokens/").content.decode()
    assert other.post("/accounts/tokens/revoke/", {"key": instance.token_key}).status_code == 404
    assert AuthToken.objects.filter(pk=instance.pk).exists()


def test_bad_input_is_shown_in_the_form(client, researcher):
    client.force_login(researcher)
    answer = client.post("/accounts/tokens/", {"name": " ", "days": "9999"})
    assert answer.status_code == 200 and answer.context["new_token"] is None
    assert set(answer.context["form"].errors) == {"name", "days"}
    assert not AuthToken.objects.exists()


def test_users_without_a_role_have_no_tokens(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="niemand"))
    assert client.get("/accounts/tokens/").status_code == 403
