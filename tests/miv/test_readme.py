"""The README's command lines work as printed on a fresh demo (issue 17).

The fenced shell blocks of ``README.md`` are run in order, in one ``bash`` session, as a
reader would run them in a second terminal next to ``make demo``: against a fresh demo
database (``migrate`` + ``seed_demo`` on SQLite in a temporary directory, the embedded
set-up) served by ``runserver`` on a free port instead of 8000.

Not run, and recognisable as such: blocks of the set-up (``make``) and the production
set-up (they set ``DATABASE_URL`` or ``CELERY_BROKER_URL``, or start ``docker``, ``celery``,
``gunicorn`` or ``runserver``; the production section's blocks are marked ```` ```sh
production ````), and any block right after the comment
``<!-- readme-test: skip -->``. ``curl`` fails on an HTTP error status here (as with
``--fail-with-body``), so an example that answers 4xx fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.services.processes import LOOPBACK, free_port, spawn, tail, wait_until

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```([A-Za-z]*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELLS = {"sh", "bash", "shell"}
SKIP_MARK = "<!-- readme-test: skip -->"
NOT_HERE = re.compile(
    r"DATABASE_URL=|CELERY_BROKER_URL=|\bdocker\b|\bcelery\b|\bgunicorn\b|\brunserver\b"
    r"|^\s*make\b",
    re.MULTILINE,
)
DEMO_URL = "http://127.0.0.1:8000"


def shell_blocks() -> list[tuple[int, str, bool]]:
    """``(line, code, runnable)`` of every fenced shell block of the README."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) not in SHELLS:
            continue
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip().splitlines()[-1:] or [""]
        code = match.group(3)
        # ```sh production: the production section, run by .ci/production on a machine of
        # its own, never here.
        production = "production" in match.group(2).split()
        runnable = before[0].strip() != SKIP_MARK and not production and not NOT_HERE.search(code)
        blocks.append((line, code, runnable))
    return blocks


def test_the_readme_calls_manage_py_through_the_projects_virtualenv():
    """``make demo`` installs into ``.venv``; a bare ``python manage.py`` runs without it."""
    text = README.read_text(encoding="utf-8")
    bare = [
        line
        for line in text.splitlines()
        if re.search(r"(?<!\.venv/bin/)python3? manage\.py", line)
        # Inside the container image the project's Python is the system one.
        and "docker compose exec" not in line
    ]
    assert bare == []
    runnable = [code for _line, code, runnable in shell_blocks() if runnable]
    assert any("manage.py" in code for code in runnable)
    assert any("curl" in code for code in runnable)


def _env(data_dir: Path) -> dict[str, str]:
    """The embedded demo: no database, broker or cache of the test run leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "MIV_"))
    }
    env.update({"MIV_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"})
    # A developer's terminal, as the README's set-up section says: DJANGO_DEBUG exported.
    env["DJANGO_DEBUG"] = "true"
    return env


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # The demo seed audits the publication of every demo year (issue 11): minutes on a
        # loaded two-core machine.
        timeout=900,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"


def _script(blocks: list[tuple[int, str]], base_url: str) -> str:
    lines = [
        "set -euo pipefail",
        # As with --fail-with-body: an HTTP error status fails the line, the body is shown.
        'curl() { command curl --silent --show-error --fail-with-body "$@"; echo; }',
        "trap 'echo \"README line failed: $BASH_COMMAND\" >&2' ERR",
    ]
    for line, code in blocks:
        lines.append(f"echo '--- README.md line {line}'")
        lines.append(code.replace(DEMO_URL, base_url))
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_the_readme_examples_work_as_printed_on_a_fresh_demo(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the README's demo is the embedded one; the SQLite run covers it")
    blocks = [(line, code) for line, code, runnable in shell_blocks() if runnable]
    assert len(blocks) >= 3
    data_dir = Path(tempfile.mkdtemp(prefix="miv-readme-", dir=tmp_path))
    env = _env(data_dir)
    _manage("migrate", "--noinput", "-v", "0", env=env)
    _manage("seed_demo", env=env)

    # A reader's terminal: the project's files at hand, output files written here.
    work = tmp_path / "terminal"
    work.mkdir()
    for name in (".venv", "manage.py", "fixtures"):
        (work / name).symlink_to(ROOT / name)
    port = free_port()
    server = spawn(
        [sys.executable, "manage.py", "runserver", "--noreload", f"{LOOPBACK}:{port}"],
        env=env,
        log_path=tmp_path / "runserver.log",
    )
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(lambda: _answers(base_url), timeout=60, what="runserver")
        result = subprocess.run(
            ["bash", "-c", _script(blocks, base_url)],
            cwd=work,
            env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    report = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}\n{tail(tmp_path / 'runserver.log')}"
    assert result.returncode == 0, report
    assert result.stdout.count("--- README.md line") == len(blocks)
    # What the examples claim to produce.
    assert (work / "figures.xlsx").stat().st_size > 0
    assert (work / "rates.csv").read_text().startswith("institution,"), report
    assert '"reference":"MIV-' in result.stdout.replace(" ", ""), report


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
