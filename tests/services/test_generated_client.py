"""A Python client generated from the served schema works (issue 17).

``openapi-python-client`` (pinned in ``.ci/openapi-client-requirements.txt``, installed by
``.ci/run`` in a virtualenv of its own, named by ``MIV_CI_OPENAPI_CLIENT``) generates a
client from ``/api/schema/`` of gunicorn on the PostgreSQL test database. The client is
installed next to the generator and runs ``client_journey.py``: a coordinator registers
with an Idempotency-Key, patches a field to null, meets a 404, a 409 and a 400 and reads
their codes, closes with a note for the registrar; a researcher fetches the research rates
as JSON and as CSV. Any status the schema does not declare, or a body the client cannot
parse, fails the journey.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from knox.models import AuthToken

from tests.services import summary
from tests.services.conftest import unavailable

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

JOURNEY = Path(__file__).with_name("client_journey.py")
# No post-generation hooks (the generator would run ruff over the client).
GENERATOR_CONFIG = "post_hooks: []\n"


def _generator() -> Path:
    directory = os.environ.get("MIV_CI_OPENAPI_CLIENT", "")
    if not directory or not (Path(directory) / "openapi-python-client").is_file():
        unavailable(
            "MIV_CI_OPENAPI_CLIENT must name the bin/ directory of a virtualenv with "
            "openapi-python-client (.ci/run installs one)"
        )
    return Path(directory)


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture
def journey_actors(institution_a, institution_b, location_a, location_b, coordinator_a, researcher):
    from tests.reporting.world import YEAR, build_world

    build_world(institution_a, institution_b, location_a, location_b)
    return {
        "coordinator_token": AuthToken.objects.create(user=coordinator_a)[1],
        "researcher_token": AuthToken.objects.create(user=researcher)[1],
        "location": location_a.pk,
        "school_year": YEAR,
        "label": f"{os.getpid()}-{time.monotonic_ns()}",
    }


def test_a_generated_client_runs_a_coordinators_and_a_researchers_journey(
    gunicorn_server, journey_actors, tmp_path
):
    bin_dir = _generator()
    started = time.monotonic()
    schema = httpx.get(f"{gunicorn_server.url}/api/schema/", params={"format": "json"}, timeout=60)
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_bytes(schema.content)
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG)
    generated = _run(
        [
            bin_dir / "openapi-python-client",
            "generate",
            "--path",
            "schema.json",
            "--config",
            "config.yaml",
            "--meta",
            "setup",
            "--output-path",
            "miv-api-client",
        ],
        cwd=tmp_path,
    )
    # The whole schema is understood: no operation or model left out.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    # Installed as an integrator would (pip), into a directory of its own; its dependencies
    # (httpx, attrs) are the generator's.
    _run(
        [bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--target",
         tmp_path / "site", tmp_path / "miv-api-client"]
    )  # fmt: skip
    result = subprocess.run(
        [bin_dir / "python", JOURNEY, gunicorn_server.url, json.dumps(journey_actors)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
    )
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    seconds = time.monotonic() - started
    summary.record(
        "generated API client journey",
        f"{len(steps) - 1} steps through openapi-python-client's client in {seconds:.0f} s "
        "(register, replay, null, 404, 409, 400, close with a note, research JSON and CSV)",
        failures=0 if result.returncode == 0 else 1,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert steps[-1] == {"step": "done"}
    codes = {step["step"]: (step["status"], step["code"]) for step in steps[:-1]}
    assert codes["404"] == (404, "not_found")
    assert codes["409 duplicate external id"] == (409, "duplicate_external_id")
    assert codes["400 invalid field"] == (400, "invalid")
    assert codes["research rates (CSV)"] == (200, None)
