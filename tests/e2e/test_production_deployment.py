"""The README's production deployment as people use it (issue 18), over https through the
README's nginx configuration: CI's step ``.ci/production`` sets it up exactly as the README
says and runs this module against it. Without that deployment (``MIV_PRODUCTION_URL``
unset) these tests are skipped.

* plain http is redirected to https; ``/healthz`` is green through the proxy;
* pages carry static files with hashed names (collectstatic's manifest);
* a registrar logs in through Chromium (a self-signed certificate, so
  ``ignore_https_errors``) and registers an incident; secure cookies, CSRF and the
  forwarded headers all have to be right for that to work;
* the worker recomputes the figures by itself, and the coordinator reads them: the
  dashboard page and the figures API show the new incident.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from miv.schoolyear import school_year_of

ROOT = Path(__file__).resolve().parents[2]
URL = os.environ.get("MIV_PRODUCTION_URL", "")
HTTP_URL = os.environ.get("MIV_PRODUCTION_HTTP_URL", "")
ENV_FILE = os.environ.get("MIV_PRODUCTION_ENV_FILE", "")
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "Prod-Test-2023-veilig"
BRIN = "99PR"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not URL, reason="needs the README's deployment (.ci/production)"),
]


def _host_port() -> tuple[str, int]:
    parts = urlsplit(URL)
    return parts.hostname, parts.port or 443


def _client(**options) -> httpx.Client:
    host, port = _host_port()
    # The host name resolves to loopback, as Chromium is told below.
    transport = httpx.HTTPTransport(verify=False)
    return httpx.Client(
        transport=transport,
        timeout=30,
        headers={"Host": f"{host}:{port}"},
        base_url=f"https://127.0.0.1:{port}",
        **options,
    )


def _production_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIV_", "DATABASE_"))
    }
    for line in Path(ENV_FILE).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def manage(*args: str) -> str:
    """An operator command, run as the README says (the configuration in the environment)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def people() -> dict:
    """An institution with a location and a student count, and its people (set up with the
    operator commands; the institution itself as an administrator would in the admin)."""
    year = school_year_of(datetime.now(ZoneInfo("Europe/Amsterdam")).date())
    manage(
        "shell",
        "-c",
        "from incidents.models import Institution, Location; "
        "from reporting.models import StudentCount; "
        f"i, _ = Institution.objects.get_or_create(brin='{BRIN}', "
        "defaults={'name': 'ROC Productie', 'kind': 'roc'}); "
        "Location.objects.get_or_create(institution=i, code='P-HQ', "
        "defaults={'name': 'Productie Hoofdgebouw'}); "
        f"StudentCount.objects.update_or_create(institution=i, school_year='{year}', "
        "defaults={'students': 4000})",
    )
    manage("add_member", "melder", "--role", "registrar", "--institution", BRIN,
           "--password", PASSWORD)  # fmt: skip
    manage("add_member", "coordinator", "--role", "coordinator", "--institution", BRIN,
           "--password", PASSWORD)  # fmt: skip
    token = manage("create_api_token", "coordinator").strip().splitlines()[-1]
    return {"year": year, "token": token}


def test_plain_http_is_redirected_to_https():
    host, _port = _host_port()
    http = urlsplit(HTTP_URL)
    response = httpx.get(
        f"http://127.0.0.1:{http.port}/incidents/register/",
        headers={"Host": f"{host}:{http.port}"},
        timeout=10,
    )
    assert response.status_code == 301
    assert response.headers["location"].startswith(f"https://{host}")


def test_health_and_hashed_static_files_through_the_proxy():
    with _client() as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok", "broker": "ok"}
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        css = re.search(r'href="(/static/miv/miv\.[0-9a-f]{12}\.css)"', page.text)
        assert css, "no hashed stylesheet: collectstatic's manifest is not in use"
        assert client.get(css.group(1)).status_code == 200


def _browser_context(playwright):
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} not found")
    host, _port = _host_port()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--host-resolver-rules=MAP {host} 127.0.0.1",
        ],
    )
    context = browser.new_context(base_url=URL, locale="nl-NL", ignore_https_errors=True)
    context.set_default_timeout(15_000)
    return browser, context


def _login(page, username: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"**{next_url}")


def _counted(token: str, year: str) -> int:
    """Incidents in the current figures of the year (0 while none were computed)."""
    with _client() as client:
        response = client.get(
            "/api/v1/figures/rates/",
            params={"school_year": year, "group": "total", "victim_role": "all"},
            headers={"Authorization": f"Token {token}"},
        )
    if response.status_code == 404:  # "no figures computed yet for this year"
        return 0
    assert response.status_code == 200, response.text
    return sum(row["count"] or 0 for row in response.json())


def test_register_through_chromium_and_read_the_figures(people):
    from playwright.sync_api import expect, sync_playwright

    before = _counted(people["token"], people["year"])
    with sync_playwright() as playwright:
        browser, context = _browser_context(playwright)
        try:
            page = context.new_page()
            _login(page, "melder", "/incidents/register/")
            cookies = {c["name"]: c for c in context.cookies()}
            assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"]

            # The type is chosen through the search-as-you-type combobox; no answer that
            # feeds the figures is preselected, so each is chosen explicitly.
            field = page.get_by_role("combobox", name="Wat is er gebeurd?")
            field.click()
            field.press_sequentially("vecht")
            page.get_by_role("option", name="Vechtpartij", exact=True).click()
            expect(field).to_have_value("Vechtpartij")
            for group, label in (
                ("Wie was het slachtoffer?", "Student"),
                ("Wie was de dader?", "Student"),
                ("Letsel", "Licht letsel"),
            ):
                page.get_by_role("group", name=group).get_by_label(label).check()
            page.locator("details.more-details > summary").click()
            page.get_by_label("Beschrijving").fill("Productietest: twee studenten vochten.")
            page.get_by_role("button", name="Incident registreren").click()
            expect(page.get_by_role("heading", name="Incident geregistreerd")).to_be_visible()
            reference = page.locator("#reference").inner_text().strip()
            assert re.fullmatch(r"MIV-\d{6}", reference)

            # The worker recomputes the year by itself (debounced): wait for the figures.
            deadline = time.monotonic() + 90
            after = before
            while time.monotonic() < deadline:
                after = _counted(people["token"], people["year"])
                if after > before:
                    break
                time.sleep(1)
            assert after == before + 1, f"figures not recomputed: {before} -> {after}"

            boss = context.new_page()
            context.clear_cookies()
            _login(boss, "coordinator", "/figures/")
            expect(boss.locator("main svg").first).to_be_visible()
            assert "ROC Productie" in boss.content() or BRIN in boss.content()
        finally:
            context.close()
            browser.close()
