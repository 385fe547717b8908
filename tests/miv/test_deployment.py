"""Deployment files agree with each other and with the settings (issue 18): the README's
production section (run literally by ``.ci/production``), the environment variables it
documents, the Docker image's build context, docker-compose with the production variables,
and the health check that holds under production settings."""

from __future__ import annotations

import http.server
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_blocks():
    spec = importlib.util.spec_from_file_location("readme_blocks", ROOT / ".ci/readme_blocks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


readme_blocks = _readme_blocks()


# --- The README's production section --------------------------------------------------------


def test_the_production_section_has_the_blocks_ci_runs():
    blocks = readme_blocks.blocks(README)
    assert [b.language for b in blocks] == ["sh", "sh", "sh", "nginx"]
    database, prepare, services, proxy = (b.body for b in blocks)
    assert "createdb --owner miv miv" in database and "DJANGO_SECRET_KEY=" in database
    for command in ("migrate --noinput", "collectstatic --noinput", "check --deploy"):
        assert command in prepare
    lines = [line for line in services.splitlines() if line.strip()]
    assert [line.split()[0] for line in lines] == [".venv/bin/gunicorn", ".venv/bin/celery",
                                                   ".venv/bin/celery"]  # fmt: skip
    assert "--bind 127.0.0.1:8000" in lines[0]
    assert "worker" in lines[1]
    # Beat's schedule file outside the code (the checkout stays clean).
    assert "beat" in lines[2] and "--schedule /var/lib/miv/celerybeat-schedule" in lines[2]
    for header in ("Host $http_host", "X-Forwarded-Proto $scheme", "X-Forwarded-For"):
        assert f"proxy_set_header {header}" in proxy
    assert "client_max_body_size" in proxy and "listen 443 ssl" in proxy


def test_the_systemd_unit_starts_the_same_command_as_the_readme():
    services = readme_blocks.blocks(README)[2].body.splitlines()
    unit = next(b.body for b in readme_blocks.all_blocks(README) if b.language == "ini")
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.MULTILINE).group(1)
    assert exec_start == "/srv/miv/" + services[0]


def _settings_variables() -> set[str]:
    source = (ROOT / "miv/settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))


def test_every_environment_variable_of_the_settings_is_documented():
    variables = _settings_variables()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "MIV_TRUSTED_PROXIES"} <= variables
    table = README[README.index("### Environment variables") :]
    table = table[: table.index("\n### ")]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.MULTILINE))
    assert variables - documented == set(), "document these in the README's table"
    assert documented - variables == set(), "the README documents variables MIV does not read"


def _documented_default(name: str) -> str:
    match = re.search(rf"^\| `{name}` \| ([^|]+) \|", README, re.MULTILINE)
    return match.group(1).strip()


def test_documented_defaults_are_the_defaults():
    """Spot checks of the defaults that matter most for safety."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.AXES_FAILURE_LIMIT, s.MIV_LOGIN_IP_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.seconds // 60, "
        "s.MIV_TRUSTED_PROXIES, s.MIV_UPLOAD_MAX_BYTES - s.MIV_IMPORT_MAX_BYTES, "
        "s.MIV_IMPORT_MAX_BYTES, s.MIV_SITE_URL]))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIV_", "AXES_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "miv.settings",
            "DJANGO_SECRET_KEY": "x" * 60,
            "DJANGO_ALLOWED_HOSTS": "miv.example.nl",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.splitlines()[-1])
    debug, redirect, hsts, per_user, per_ip, cooloff, proxies, margin, imports, site = values
    assert (debug, redirect) == (False, True)
    assert _documented_default("DJANGO_DEBUG") == "`false`"
    assert _documented_default("DJANGO_SECURE_SSL_REDIRECT") == "`true`"
    assert _documented_default("DJANGO_SECURE_HSTS_SECONDS") == f"`{hsts}`"
    assert _documented_default("AXES_FAILURE_LIMIT") == f"`{per_user}`"
    assert _documented_default("MIV_LOGIN_IP_FAILURE_LIMIT") == f"`{per_ip}`"
    assert _documented_default("AXES_COOLOFF_MINUTES") == f"`{cooloff}`"
    assert proxies == [] and _documented_default("MIV_TRUSTED_PROXIES") == "empty"
    assert margin == 1024 * 1024 and imports == 32 * 1024 * 1024
    assert site == "https://miv.example.nl"


# --- The image and docker compose -----------------------------------------------------------


def test_the_image_build_context_leaves_out_secrets_and_local_state(tmp_path):
    """What ``docker build`` would send, computed with the Docker SDK's own rules."""
    from docker.utils.build import exclude_paths

    shutil.copy(ROOT / ".dockerignore", tmp_path / ".dockerignore")
    files = {
        ".env": "DJANGO_SECRET_KEY=geheim",
        ".env.production": "POSTGRES_PASSWORD=geheim",
        "deploy/prod.env": "X=1",
        "ssl/privkey.pem": "key",
        "var/miv.sqlite3": "",
        "celerybeat-schedule": "",
        ".git/config": "",
        ".venv/bin/python": "",
        "miv/__pycache__/x.pyc": "",
        "manage.py": "",
        "miv/settings.py": "",
        "requirements.lock": "",
        "fixtures/taxonomy/MIV-2023.json": "",
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    context = exclude_paths(str(tmp_path), patterns)
    for secret in (".env", ".env.production", "deploy/prod.env", "ssl/privkey.pem"):
        assert secret not in context, f"{secret} would be baked into the image"
    for state in ("var/miv.sqlite3", "celerybeat-schedule", ".git/config", ".venv/bin/python"):
        assert state not in context
    for needed in ("manage.py", "miv/settings.py", "requirements.lock"):
        assert needed in context


def test_the_dockerfile_holds_no_secret_and_defaults_to_production():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_DEBUG=false" in dockerfile
    assert not re.search(r"^\s*(ARG|ENV)\s+[^\n]*(SECRET|PASSWORD)", dockerfile, re.MULTILINE)
    assert "collectstatic" in dockerfile  # hashed static files are in the image


def _compose(env: dict, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("docker-compose not found")
        pytest.skip("docker-compose not found (apt install docker-compose)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "POSTGRES_"))}
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DJANGO_SECRET_KEY": "compose-test-secret",
    "POSTGRES_PASSWORD": "compose-test-password",
    "DJANGO_ALLOWED_HOSTS": "miv.example.nl",
}


@pytest.mark.parametrize("missing", sorted(PRODUCTION))
def test_compose_refuses_to_start_without_a_production_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _compose(env, "-q")
    assert result.returncode != 0
    assert missing in result.stderr


def test_compose_with_the_production_variables():
    result = _compose(PRODUCTION)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "compose-test-password"
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        environment = service["environment"]
        assert environment["DJANGO_DEBUG"] == "false"
        assert environment["DATABASE_URL"] == (
            "postgres://miv:compose-test-password@postgres:5432/miv"
        )
        assert environment["MIV_TRUSTED_PROXIES"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert "--schedule" in services["beat"]["command"]
    assert services["beat"]["command"][-1].startswith("/data/")
    health = services["web"]["healthcheck"]["test"]
    assert health[1:4] == ["python", "manage.py", "healthcheck"]
    # Published on loopback only: the proxy in front is the way in.
    (port,) = services["web"]["ports"]
    assert (port if isinstance(port, str) else port["host_ip"]).startswith("127.0.0.1")


def test_gitignore_keeps_local_secrets_and_beat_schedule_out():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for pattern in (".env", ".env.*", "celerybeat-schedule*"):
        assert pattern in ignored


# --- The health check under production settings --------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).seen.append(dict(self.headers))
        body = json.dumps({"status": "ok" if self.status == 200 else "unavailable"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_web():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@override_settings(ALLOWED_HOSTS=[".miv.example.nl", "localhost"])
def test_healthcheck_asks_as_the_proxy_would(fake_web):
    url = f"http://127.0.0.1:{fake_web.server_port}/healthz"
    _Recorder.status = 200
    call_command("healthcheck", "--url", url, stdout=io.StringIO())
    headers = _Recorder.seen[-1]
    assert headers["Host"] == "miv.example.nl"
    assert headers["X-Forwarded-Proto"] == "https"

    _Recorder.status = 503
    with pytest.raises(CommandError):
        call_command("healthcheck", "--url", url, stdout=io.StringIO())
