"""Error pages: in the site's layout for people, JSON for API clients."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=False)
def test_unknown_page_is_a_dutch_page_in_the_layout(client):
    response = client.get("/bestaat-niet/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Niet gevonden" in body and 'class="site-header"' in body


@override_settings(DEBUG=False)
def test_api_path_the_url_pattern_refuses_is_json(client):
    # A job id must be a UUID: the URL resolver, not DRF, answers this one.
    response = client.get("/api/v1/figures/jobs/geen-uuid/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Niet gevonden.", "code": "not_found"}


def test_forbidden_page_explains_in_dutch(client, django_user_model):
    user = django_user_model.objects.create_user("zonder_rol", password="x-Geheim-123")
    client.force_login(user)
    response = client.get("/incidents/export.csv", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 403
    body = response.content.decode()
    assert "Geen toegang" in body and 'class="site-header"' in body
