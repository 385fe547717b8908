"""Project-level behaviour: settings modes, health check, language, OpenAPI schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from miv.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _run_django(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "miv.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_mode_refuses_to_start_without_secret_and_hosts():
    result = _run_django("print('started')", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr and "started" not in result.stdout


def test_production_mode_refuses_without_allowed_hosts():
    result = _run_django("print('started')", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_mode_passes_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "k3y-" + "aZ9$bY8#cX7@dW6!" * 4,
            "DJANGO_ALLOWED_HOSTS": "miv.example.nl",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_explicitly_on():
    """Issue 14: with nothing configured MIV is in production mode, so an image or server
    started without configuration refuses to run instead of serving debug pages with a
    known key; the message says how to turn development mode on."""
    result = _run_django("from django.conf import settings as s; print(s.DEBUG)")
    assert result.returncode != 0 and "True" not in result.stdout
    assert "DJANGO_SECRET_KEY" in result.stderr and "DJANGO_DEBUG=true" in result.stderr

    configured = _run_django(
        "from django.conf import settings as s; print(s.DEBUG)",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_ALLOWED_HOSTS="miv.example.nl",
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.split() == ["False"]

    for off in ("false", "0", "no", ""):
        result = _run_django(
            "from django.conf import settings as s; print(s.DEBUG)",
            DJANGO_DEBUG=off,
            DJANGO_SECRET_KEY="x" * 60,
            DJANGO_ALLOWED_HOSTS="miv.example.nl",
        )
        assert result.stdout.split() == ["False"], (off, result.stderr)


def test_demo_and_tests_turn_debug_on():
    makefile = (ROOT / "Makefile").read_text()
    assert "export DJANGO_DEBUG ?= true" in makefile
    assert os.environ.get("DJANGO_DEBUG", "").lower() in ("true", "1", "yes", "on")  # pytest-env


def test_default_mode_is_embedded():
    """With DEBUG on and no services configured: SQLite and eager Celery."""
    result = _run_django(
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
        DJANGO_DEBUG="true",
    )
    env_has_services = "DATABASE_URL" in os.environ or "CELERY_BROKER_URL" in os.environ
    if env_has_services:
        pytest.skip("this run is configured with external services")
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "True"]


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_healthz_database_down(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_healthz_broker_down(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Port 9 (discard) is closed on loopback: the broker cannot be reached.
    # connection_for_write() prefers broker_write_url, which Celery fills from the broker URL.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:9/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "down"}


@pytest.mark.django_db
def test_home_is_dutch_by_default_and_english_selectable(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="nl">' in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/")
    assert '<html lang="en">' in response.content.decode()


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in response.content.decode()


@pytest.mark.django_db
def test_openapi_schema_builds_without_warnings(tmp_path):
    # --fail-on-warn makes any drf-spectacular warning or error fail the command.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yml"))
    assert "openapi: 3" in (tmp_path / "s.yml").read_text()


@pytest.mark.django_db
def test_swagger_ui_is_served_locally(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "https://" not in page.split("<body")[1][:2000]
