"""Faults: the database restarts and the broker goes away under a running service (issue 7).

Both run on the private cluster and Redis of ``fault_stack``, never on the database the
rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.services import summary
from tests.services.conftest import FaultStack
from tests.services.loadgen import INCIDENTS_URL, Reply, client_for, send
from tests.services.processes import wait_until
from tests.services.provision import incident_payload

pytestmark = pytest.mark.services

WRITERS = 8
MAX_SUBMISSIONS = 400  # bounds the run whatever the machine's speed
RETRY_DEADLINE = 30.0  # seconds a client keeps retrying one submission after a 503


def _clear_503(reply: Reply) -> bool:
    """A 503 a client can act on: JSON with a message and Retry-After, no traceback."""
    return (
        reply.status == 503
        and reply.is_json
        and isinstance(reply.body, dict)
        and bool(reply.body.get("detail"))
        and "retry-after" in reply.headers
        and "Traceback" not in reply.text
    )


def test_database_restart_during_writes(fault_stack: FaultStack):
    """``pg_ctl restart -m fast`` while 8 clients register incidents.

    Clients behave as the API asks: on a 503 they retry the same submission with the same
    ``Idempotency-Key``. Every attempt must get a 201 or a clear 503, every submission must
    end as exactly one incident with its audit event, and gunicorn is never restarted.
    """
    stack = fault_stack
    actors = stack.actors
    master_pid = stack.server.process.pid
    before = {row[0] for row in stack.sql("SELECT id FROM incidents_incident")}
    attempts: list[Reply] = []
    finished_at: list[float] = []  # monotonic time each attempt got its answer
    outcomes: dict[str, Reply] = {}  # external_id -> the reply that ended the submission
    submitted = 0
    restart_window: dict[str, float] = {}

    async def writer(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        nonlocal submitted
        while not stop.is_set() and submitted < MAX_SUBMISSIONS:
            submitted += 1
            label = f"restart-{uuid.uuid4().hex[:12]}"
            payload = incident_payload(actors.location, label)
            headers = {"Idempotency-Key": label}
            deadline = time.monotonic() + RETRY_DEADLINE
            while True:
                reply = await send(client, "POST", INCIDENTS_URL, json=payload, headers=headers)
                attempts.append(reply)
                finished_at.append(time.monotonic())
                if reply.status != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            outcomes[label] = reply

    async def scenario() -> None:
        stop = asyncio.Event()
        clients = [client_for(stack.server.url, actors.registrar_tokens[0]) for _ in range(WRITERS)]
        try:
            tasks = [asyncio.create_task(writer(c, stop)) for c in clients]
            await asyncio.sleep(1.0)  # writes are flowing
            restart_window["start"] = time.monotonic()
            await asyncio.to_thread(stack.cluster.restart, "fast")
            restart_window["end"] = time.monotonic()
            await asyncio.sleep(2.0)  # and keep flowing after the restart
            stop.set()
            await asyncio.gather(*tasks)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    asyncio.run(scenario())

    statuses = Counter(reply.status for reply in attempts)
    unclear = [r for r in attempts if r.status != 201 and not _clear_503(r)]
    unfinished = {label: r.status for label, r in outcomes.items() if r.status != 201}
    acknowledged = {r.body["id"] for r in outcomes.values() if r.status == 201}
    rows = {row[0] for row in stack.sql("SELECT id FROM incidents_incident")} - before
    events = dict(
        stack.sql(
            "SELECT i.id, count(e.id) FROM incidents_incident i LEFT JOIN incidents_incidentevent e"
            " ON e.incident_id = i.id AND e.action = 'created' GROUP BY i.id"
        )
    )
    half_written = sorted(pk for pk in rows if events.get(pk) != 1)
    lost = sorted(acknowledged - rows)
    unacknowledged = sorted(rows - acknowledged)
    restart_seconds = restart_window["end"] - restart_window["start"]
    # Recovery: from the end of the restart to the first 201 after it.
    later_201s = [
        at
        for reply, at in zip(attempts, finished_at, strict=True)
        if reply.status == 201 and at > restart_window["end"]
    ]
    recovered_after = min(later_201s) - restart_window["end"] if later_201s else float("nan")
    # Two submissions answered with the same incident would be one row for two reports.
    shared_ids = sum(r.status == 201 for r in outcomes.values()) - len(acknowledged)

    # After the fault: a plain registration works and health is green, same gunicorn.
    after = httpx.post(
        stack.server.url + INCIDENTS_URL,
        json=incident_payload(actors.location, f"after-restart-{uuid.uuid4().hex[:8]}"),
        headers={"Authorization": f"Token {actors.registrar_tokens[0]}"},
        timeout=30,
    )
    health = httpx.get(stack.server.url + "/healthz", timeout=10)

    failures = (
        len(unclear)
        + len(unfinished)
        + len(half_written)
        + len(lost)
        + len(unacknowledged)
        + shared_ids
        + (after.status_code != 201)
        + (health.status_code != 200)
        + (not stack.server.alive or stack.server.process.pid != master_pid)
        + (statuses[503] == 0)
    )
    summary.record(
        "fault: PostgreSQL restart",
        f"{len(outcomes)} registrations, {len(attempts)} attempts: {statuses[201]} x 201, "
        f"{statuses[503]} x 503; restart {restart_seconds:.1f}s, next 201 after "
        f"{recovered_after:.1f}s, same gunicorn",
        failures=failures,
    )
    detail = stack.diagnostics()
    assert statuses[503] > 0, f"the restart hit no request; the test proved nothing\n{detail}"
    assert not unclear, [(r.status, r.content_type, r.error or r.text[:300]) for r in unclear][:5]
    assert not unfinished, f"submissions that never got their 201: {unfinished}\n{detail}"
    assert not lost, f"acknowledged (201) but not in the database: {lost}"
    assert not unacknowledged, f"in the database without any 201: {unacknowledged}"
    assert shared_ids == 0, "two submissions were answered with the same incident"
    assert not half_written, f"incidents without exactly one 'created' event: {half_written}"
    assert after.status_code == 201, after.text
    assert health.status_code == 200, health.text
    assert stack.server.alive and stack.server.process.pid == master_pid


def _health(stack: FaultStack) -> httpx.Response:
    return httpx.get(stack.server.url + "/healthz", timeout=15)


def test_broker_down_registration_still_works_and_healthz_says_so(fault_stack: FaultStack):
    stack = fault_stack
    actors = stack.actors
    assert _health(stack).json()["broker"] == "ok", "precondition: the broker is up"
    problems: list[str] = []
    post_seconds = float("nan")
    try:
        stack.redis.stop()
        assert not stack.redis.answers()

        down = _health(stack)
        if down.status_code != 503 or down.json().get("broker") != "down":
            problems.append(f"healthz with Redis stopped: {down.status_code} {down.text}")
        if down.json().get("database") != "ok":
            problems.append(f"healthz blames the database: {down.text}")

        label = f"broker-down-{uuid.uuid4().hex[:8]}"
        start = time.monotonic()
        created = httpx.post(
            stack.server.url + INCIDENTS_URL,
            json=incident_payload(actors.location, label),
            headers={"Authorization": f"Token {actors.registrar_tokens[0]}"},
            timeout=30,
        )
        post_seconds = time.monotonic() - start
        if created.status_code != 201:
            problems.append(f"POST with Redis stopped: {created.status_code} {created.text[:300]}")
        elif post_seconds > 5:
            problems.append(f"POST with Redis stopped took {post_seconds:.1f}s")
        rows = stack.sql(
            "SELECT i.id, count(e.id) FROM incidents_incident i JOIN incidents_incidentevent e"
            " ON e.incident_id = i.id AND e.action = 'created' WHERE i.external_id = %s"
            " GROUP BY i.id",
            label,
        )
        if len(rows) != 1 or rows[0][1] != 1:
            problems.append(f"stored rows for the registration: {rows}")
    finally:
        if not stack.redis.running:
            stack.redis.start()

    try:
        back_after = wait_until(
            lambda: _health(stack).status_code == 200, timeout=20, interval=0.5, what="healthz"
        )
    except TimeoutError:
        back_after = float("nan")
        problems.append(f"healthz after Redis restarted: {_health(stack).text}")

    summary.record(
        "fault: broker (Redis) down",
        f"POST 201 in {post_seconds * 1000:.0f} ms while down; healthz 503 'down', "
        f"200 again {back_after:.1f}s after restart",
        failures=len(problems),
    )
    assert not problems, f"{problems}\n{stack.diagnostics()}"
