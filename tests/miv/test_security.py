"""Security items of issue 7 that hold for every page and request: password hashing, login
lockout, idle session expiry, cookie flags in production, CSRF, security headers with a
Content-Security-Policy the pages satisfy, and no personal data in logs."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, ip: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- Passwords and login ---------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2():
    user = UserFactory(username="hashed")
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
    assert check_password(PASSWORD, user.password)


def test_login_is_locked_after_repeated_failures_for_that_username():
    """Five wrong passwords for one username lock that username, even for the right password
    and from another address (issue 14: the lock no longer depends on the address); another
    username from the same address can still log in (the per-address limit is higher:
    tests/miv/test_hardening.py)."""
    UserFactory(username="victim")
    UserFactory(username="colleague")
    attacker = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _login(attacker, "victim", "wrong-password", "127.0.0.2")
        assert not _logged_in(attacker)

    locked = _login(attacker, "victim", PASSWORD, "127.0.0.2")
    assert locked.status_code == 429
    assert not _logged_in(attacker)

    elsewhere = Client()
    response = _login(elsewhere, "victim", PASSWORD, "127.0.0.3")
    assert response.status_code == 429 and not _logged_in(elsewhere)

    same_address_other_user = Client()
    response = _login(same_address_other_user, "colleague", PASSWORD, "127.0.0.2")
    assert response.status_code == 302 and _logged_in(same_address_other_user)


def test_fewer_failures_than_the_limit_do_not_lock():
    UserFactory(username="clumsy")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "clumsy", "wrong-password", "127.0.0.4")
    response = _login(client, "clumsy", PASSWORD, "127.0.0.4")
    assert response.status_code == 302 and _logged_in(client)


# --- Sessions --------------------------------------------------------------------------------


def _session(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_sessions_expire_after_inactivity_and_activity_extends_them(registrar_a):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 8 * 60 * 60
    institutions = "/api/v1/institutions/"
    client = Client()
    client.force_login(registrar_a)
    assert client.get(institutions).status_code == 200

    # Almost idle for the whole period: one request starts the period again.
    Session.objects.filter(pk=_session(client).pk).update(
        expire_date=timezone.now() + timedelta(seconds=30)
    )
    assert client.get(institutions).status_code == 200
    renewed = _session(client).expire_date - timezone.now()
    assert renewed > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)

    # Idle for longer than the period: the session is gone, the user anonymous again.
    Session.objects.filter(pk=_session(client).pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(institutions).status_code in (401, 403)
    page = client.get("/").content.decode()
    assert registrar_a.username not in page


# --- Cookies in production mode --------------------------------------------------------------

COOKIE_SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
]


def _production_settings() -> dict:
    """The cookie settings MIV computes in production mode (a fresh interpreter, since the
    mode is decided when the settings module is imported)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="miv.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="production-mode-test-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="miv.example.nl,testserver",
    )
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {COOKIE_SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cookies_are_secure_httponly_and_samesite_in_production(registrar_a):
    production = _production_settings()
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365

    # What the browser receives with those settings, over https.
    with override_settings(**production, DEBUG=False):
        client = Client(enforce_csrf_checks=True)
        page = client.get(reverse("login"), secure=True)
        token = _csrf_token(page.content.decode())
        response = client.post(
            reverse("login"),
            {"username": registrar_a.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            secure=True,
            # Over https Django also checks that the form came from this site.
            HTTP_REFERER="https://testserver/accounts/login/",
        )
    assert response.status_code == 302
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        cookie = response.cookies.get(name) or page.cookies.get(name)
        assert cookie is not None, f"{name} was not set"
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["samesite"].lower() in ("lax", "strict"), name


def test_plain_http_is_redirected_to_https_in_production():
    with override_settings(**_production_settings(), DEBUG=False):
        response = Client().get("/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


# --- CSRF ------------------------------------------------------------------------------------


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


def test_login_form_requires_a_csrf_token(registrar_a):
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": registrar_a.username, "password": PASSWORD}

    assert client.post(reverse("login"), credentials).status_code == 403
    assert not _logged_in(client)

    token = _csrf_token(client.get(reverse("login")).content.decode())
    response = client.post(reverse("login"), {**credentials, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and _logged_in(client)


def test_language_switch_requires_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    choice = {"language": "en", "next": "/"}

    refused = client.post(reverse("set_language"), choice)
    assert refused.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in refused.cookies

    token = _csrf_token(client.get("/").content.decode())
    response = client.post(reverse("set_language"), {**choice, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_logout_requires_a_csrf_token(registrar_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(registrar_a)
    assert client.post(reverse("logout")).status_code == 403
    assert _logged_in(client)


# --- Security headers and a Content-Security-Policy the pages satisfy -------------------------


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline <script> and <style>,
    on* event-handler attributes, style attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self._inline_script = True
        if tag == "style":
            self.violations.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.violations.append(f"<{tag} {name}=...>")
            if name == "style":
                self.violations.append(f"<{tag} style=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.violations.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = False

    def handle_data(self, data: str) -> None:
        if self._inline_script and data.strip():
            self.violations.append(f"inline <script>: {data.strip()[:60]}")


PAGES = [
    # (page, who is logged in)
    ("home", None),
    ("login", None),
    ("home", "coordinator_a"),
    ("incidents:register", "registrar_a"),
    ("incidents:list", "coordinator_a"),
    ("incidents:import-list", "coordinator_a"),
    ("reporting:export", "coordinator_a"),
    ("api-docs", None),
    ("admin:index", "administrator"),
]


@pytest.mark.parametrize("page,who", PAGES)
def test_pages_send_security_headers_and_satisfy_their_csp(request, page, who):
    client = Client()
    if who:
        client.force_login(request.getfixturevalue(who))
    response = client.get(reverse(page))
    assert response.status_code == 200

    csp = response["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in csp.split(";") if part.strip()
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"

    parser = _InlineCode()
    parser.feed(response.content.decode())
    assert parser.violations == []


# --- No personal data in logs ----------------------------------------------------------------


def test_a_registration_puts_no_personal_data_in_the_logs(caplog, registrar_a, location_a):
    description = "Jan Jansen (2B) sloeg Piet de Vries in de kantine"
    measures = "Ouders van Jan Jansen gebeld op 06-12345678"
    client = APIClient()
    client.force_authenticate(registrar_a)
    payload = {
        "location": location_a.pk,
        "incident_type": "MIS.FYS.06",
        "occurred_on": "2024-03-14",
        "victim_role": "student",
        "description": description,
        "measures": measures,
    }
    # Everything any logger emits, down to DEBUG, whatever LOGGING configures for it.
    caplog.set_level(logging.DEBUG)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)

    created = client.post("/api/v1/incidents/", payload, format="json")
    rejected = client.post(
        "/api/v1/incidents/", {**payload, "occurred_on": "2999-01-01"}, format="json"
    )
    changed = client.patch(
        f"/api/v1/incidents/{created.json()['id']}/", {"description": description + "!"}
    )

    assert created.status_code == 201 and rejected.status_code == 400
    assert changed.status_code in (200, 403, 404)  # registrars may not edit; either way
    assert caplog.records, "nothing was logged at all: the capture is not working"
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    for secret in ("Jan Jansen", "Piet de Vries", "06-12345678"):
        assert secret not in logged


def _every_path() -> list[str]:
    """One concrete path per URL pattern of the project (sample values for the parameters;
    the routers' format-suffix variants left out)."""
    from django.urls import URLResolver, get_resolver
    from django.urls.resolvers import RegexPattern

    samples = {
        "int": "1",
        "str": "91ZZ",
        "uuid": "00000000-0000-0000-0000-000000000001",
        # The questionnaire's converters (questionnaire/converters.py).
        "brin": "91ZZ",
        "schoolyear": "2023-2024",
    }

    def concrete(pattern) -> str | None:
        text = str(pattern)
        if isinstance(pattern, RegexPattern):
            if "\\." in text:
                return None
            return re.sub(r"\(\?P<\w+>[^)]*\)", "1", text.lstrip("^").rstrip("$"))
        return re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples.get(m.group(1) or "str", "x"), text)

    def walk(patterns, prefix):
        for entry in patterns:
            part = concrete(entry.pattern)
            if part is None or (prefix + part).startswith("admin/"):
                continue
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + part)
            else:
                yield "/" + prefix + part

    return sorted(set(walk(get_resolver().url_patterns, "")))


def test_no_page_accepts_a_post_without_a_csrf_token(administrator):
    """CSRF on every form: a POST with the browser session but without the token is refused
    on every path of the project, before any view runs (Django's middleware for pages,
    DRF's session authentication for the API; the admin has its own, tested by Django)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    paths = _every_path()
    assert len(paths) > 40 and "/incidents/register/" in paths and "/api/v1/incidents/" in paths
    accepted = []
    for path in paths:
        if path.startswith("/api/"):
            # The API takes JSON only (a form body is a 415 before anything else).
            response = client.post(path, {"anything": "x"}, content_type="application/json")
        else:
            response = client.post(path, {"anything": "x"})
        # The Swagger page answers DRF's CSRF refusal with the site's 403 page.
        refused_for_csrf = response.status_code == 403 and (
            b"CSRF" in response.content or path == "/api/docs/"
        )
        # Token-only API views (research) take no session, and a public read-only view
        # (taxonomy) takes no POST at all: nothing to forge.
        token_only = path.startswith("/api/v1/research/") and response.status_code == 401
        no_post = path == "/api/v1/taxonomy/" and response.status_code == 405
        if not (refused_for_csrf or token_only or no_post):
            accepted.append((path, response.status_code))
    assert accepted == []
