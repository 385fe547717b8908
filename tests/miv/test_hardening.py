"""Hardening of issue 14: the login throttle per username and per address, the client's
address behind proxies, and the upload cap that refuses before anything is stored.

(DEBUG off unless explicitly on: ``tests/miv/test_project.py``; formula escaping:
``tests/miv/test_csv_formula.py``.)
"""

from __future__ import annotations

import io

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client, override_settings
from django.urls import reverse

from incidents.models import ImportJob
from miv import clientip
from miv.uploads import CappedUploadHandler, RequestTooLarge
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password

pytestmark = pytest.mark.django_db


def _login(username: str, password: str, ip: str, **headers):
    client = Client()
    response = client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )
    return response, "_auth_user_id" in client.session


# --- Per username, from any address ----------------------------------------------------------


def test_failures_of_a_username_from_many_addresses_lock_that_username():
    """Today's lock counted username *and* address: guesses from new addresses went on and
    the right password from a fresh address logged in. Now the username is locked."""
    UserFactory(username="victim")
    for n in range(settings.AXES_FAILURE_LIMIT):
        response, ok = _login("victim", "wrong-password", f"198.51.100.{n + 1}")
        assert not ok

    response, ok = _login("victim", PASSWORD, "203.0.113.77")
    assert response.status_code == 429 and not ok
    # Another user is not affected, from any of those addresses.
    UserFactory(username="colleague")
    response, ok = _login("colleague", PASSWORD, "198.51.100.1")
    assert response.status_code == 302 and ok


def test_a_successful_login_clears_that_usernames_failures():
    UserFactory(username="typo")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login("typo", "wrong-password", "198.51.100.9")
    assert _login("typo", PASSWORD, "198.51.100.9")[1]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login("typo", "wrong-password", "198.51.100.9")
    assert _login("typo", PASSWORD, "198.51.100.9")[1]


# --- Per address, for any username -------------------------------------------------------------


@override_settings(MIV_LOGIN_IP_FAILURE_LIMIT=8)
def test_one_address_trying_many_usernames_is_stopped():
    UserFactory(username="colleague")
    UserFactory(username="attacker")
    sprayer = "192.0.2.66"
    for n in range(8):
        _login(f"guess-{n}", "Welkom01!", sprayer)

    # The address is locked, for any username, the right password too...
    response, ok = _login("colleague", PASSWORD, sprayer)
    assert response.status_code == 429 and not ok
    # ... and logging in to an account of one's own does not clear the address's count.
    response, ok = _login("attacker", PASSWORD, sprayer)
    assert response.status_code == 429 and not ok
    # Elsewhere the colleague logs in as usual.
    response, ok = _login("colleague", PASSWORD, "192.0.2.10")
    assert response.status_code == 302 and ok


def test_the_address_limit_is_higher_than_the_username_limit():
    assert settings.MIV_LOGIN_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AXES_COOLOFF_TIME.total_seconds() > 0  # a lock ends by itself


# --- The client's address behind proxies -------------------------------------------------------


@override_settings(MIV_TRUSTED_PROXIES=["127.0.0.1"], MIV_LOGIN_IP_FAILURE_LIMIT=6)
def test_behind_the_proxy_each_client_counts_for_itself():
    """Every request comes from the proxy (127.0.0.1); the client is what it appended to
    X-Forwarded-For. One client spraying is locked; the next client through the same proxy
    is not (with the proxy's address as the client's, everybody would be)."""
    UserFactory(username="colleague")
    for n in range(6):
        _login(f"guess-{n}", "Welkom01!", "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.66")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.66"}

    response, ok = _login("colleague", PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.66")
    assert response.status_code == 429 and not ok
    response, ok = _login("colleague", PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert response.status_code == 302 and ok


@override_settings(MIV_TRUSTED_PROXIES=["127.0.0.1"])
def test_a_client_cannot_choose_its_address_with_the_header():
    # Straight to gunicorn (not through the proxy): the header is the client's own words.
    _login("someone", "wrong", "203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    # Through the proxy, with a forged entry in front of what the proxy appended.
    _login("someone", "wrong", "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.6")
    addresses = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert addresses == {"203.0.113.5", "203.0.113.6"}


def test_without_trusted_proxies_the_header_is_ignored():
    assert settings.MIV_TRUSTED_PROXIES == []  # the default: gunicorn faces the clients
    _login("someone", "wrong", "203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.5"]


@pytest.mark.parametrize(
    "remote,forwarded,trusted,client",
    [
        ("203.0.113.5", "", "", "203.0.113.5"),
        ("127.0.0.1", "192.0.2.7", "127.0.0.1", "192.0.2.7"),
        # Two proxies: a load balancer (10.0.0.2) in front of nginx (127.0.0.1).
        ("127.0.0.1", "192.0.2.7, 10.0.0.2", "127.0.0.1,10.0.0.0/8", "192.0.2.7"),
        ("127.0.0.1", "6.6.6.6, 192.0.2.7, 10.0.0.2", "127.0.0.1,10.0.0.0/8", "192.0.2.7"),
        # Only one proxy trusted: the load balancer's entry is the client as far as we know.
        ("127.0.0.1", "192.0.2.7, 10.0.0.2", "127.0.0.1", "10.0.0.2"),
        ("::ffff:127.0.0.1", "2001:db8::7", "127.0.0.1", "2001:db8::7"),
        ("127.0.0.1", "192.0.2.7:51234", "127.0.0.1", "192.0.2.7"),
        ("127.0.0.1", "unknown", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1", "127.0.0.1"),
    ],
)
def test_client_address_resolution(remote, forwarded, trusted, client):
    networks = clientip.parse_networks(trusted.split(","))
    assert clientip.resolve(remote, forwarded, networks) == client


def test_a_bad_trusted_proxy_entry_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="MIV_TRUSTED_PROXIES"):
        clientip.parse_networks(["127.0.0.1", "proxy.example.nl"])


# --- The upload cap -----------------------------------------------------------------------------

CAP = 4096


@pytest.fixture
def received(monkeypatch) -> list[int]:
    """Bytes that reached Django's storing upload handler (the temporary file on disk)."""
    seen: list[int] = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        seen.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    return seen


def _upload(client: Client, size: int):
    data = io.BytesIO(b"datum,type\n" + b"x" * size)
    data.name = "groot.csv"
    return client.post(
        reverse("incidents:import-new"),
        {"kind": "incidents", "file": data},
        HTTP_ACCEPT_LANGUAGE="nl",
    )


@override_settings(MIV_UPLOAD_MAX_BYTES=CAP, FILE_UPLOAD_MAX_MEMORY_SIZE=0)
def test_an_upload_over_the_cap_is_refused_before_it_is_read(coordinator_a, received):
    client = Client()
    client.force_login(coordinator_a)
    jobs = ImportJob.objects.count()
    response = _upload(client, 64 * 1024)
    assert response.status_code == 413
    body = response.content.decode()
    assert "te groot" in body and 'class="site-header"' in body
    assert received == []  # not one byte stored
    assert ImportJob.objects.count() == jobs


@override_settings(MIV_UPLOAD_MAX_BYTES=CAP)
def test_an_api_body_over_the_cap_is_a_json_413(registrar_a):
    client = Client()
    client.force_login(registrar_a)
    response = client.post(
        "/api/v1/incidents/", data=b"{" + b" " * (2 * CAP) + b"}", content_type="application/json"
    )
    assert response.status_code == 413
    assert "detail" in response.json()


@override_settings(MIV_UPLOAD_MAX_BYTES=CAP, FILE_UPLOAD_MAX_MEMORY_SIZE=0)
def test_the_upload_handler_stops_a_body_the_middleware_did_not_catch(
    coordinator_a, received, settings
):
    """A body without (or with a wrong) Content-Length passes the middleware: the upload
    handler counts the bytes as they stream in and stops at the cap."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "miv.uploads.RequestSizeLimitMiddleware"
    ]
    client = Client(raise_request_exception=False)
    client.force_login(coordinator_a)
    jobs = ImportJob.objects.count()
    response = _upload(client, 64 * 1024)
    assert response.status_code == 413
    assert sum(received) <= CAP  # stopped at the cap, not after the whole file
    assert ImportJob.objects.count() == jobs


@override_settings(MIV_UPLOAD_MAX_BYTES=CAP)
def test_the_upload_handler_counts_streamed_bytes():
    """A body of unknown length (no Content-Length to check up front): the chunks are
    counted and the one that crosses the cap is refused, not passed on to be stored."""
    handler = CappedUploadHandler()
    assert handler.handle_raw_input(None, {}, None, b"boundary") is None
    passed = [handler.receive_data_chunk(b"x" * 1000, n * 1000) for n in range(4)]
    assert all(chunk == b"x" * 1000 for chunk in passed)
    with pytest.raises(RequestTooLarge):
        handler.receive_data_chunk(b"x" * 1000, 4000)


def test_a_body_under_the_cap_is_accepted(coordinator_a):
    assert settings.MIV_UPLOAD_MAX_BYTES > settings.MIV_IMPORT_MAX_BYTES
    client = Client()
    client.force_login(coordinator_a)
    response = _upload(client, 100)
    assert response.status_code in (200, 302)  # a form answer (errors or the new job)
