"""Faults: the database restarts, the database crashes, and the broker goes away under a
running service (issues 7 and 14).

All run on the private cluster and Redis of ``fault_stack``, never on the database the
rest of the suite uses. The cluster commits durably, as in production (fsync,
synchronous_commit and full_page_writes on): a crash may lose only what was never
acknowledged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from tests.services import summary
from tests.services.conftest import FaultStack
from tests.services.loadgen import INCIDENTS_URL, Reply, client_for, send
from tests.services.processes import tail, wait_until
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


@dataclass
class Outcome:
    """What the clients saw and what the database holds after a fault under writes."""

    submissions: int
    attempts: int
    statuses: Counter
    fault_seconds: float
    recovered_after: float
    problems: list[str]


def _writes_through(stack: FaultStack, fault, label: str) -> Outcome:
    """8 clients register incidents while ``fault()`` happens to the database.

    Clients behave as the API asks: on a 503 they retry the same submission with the same
    ``Idempotency-Key``. Every attempt must get a 201 or a clear 503, every submission must
    end as exactly one incident with its audit event, and gunicorn is never restarted.
    """
    actors = stack.actors
    master_pid = stack.server.process.pid
    before = {row[0] for row in stack.sql("SELECT id FROM incidents_incident")}
    attempts: list[Reply] = []
    finished_at: list[float] = []  # monotonic time each attempt got its answer
    outcomes: dict[str, Reply] = {}  # external_id -> the reply that ended the submission
    submitted = 0
    window: dict[str, float] = {}

    async def writer(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        nonlocal submitted
        while not stop.is_set() and submitted < MAX_SUBMISSIONS:
            submitted += 1
            external_id = f"{label}-{uuid.uuid4().hex[:12]}"
            payload = incident_payload(actors.location, external_id)
            headers = {"Idempotency-Key": external_id}
            deadline = time.monotonic() + RETRY_DEADLINE
            while True:
                reply = await send(client, "POST", INCIDENTS_URL, json=payload, headers=headers)
                attempts.append(reply)
                finished_at.append(time.monotonic())
                if reply.status != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            outcomes[external_id] = reply

    async def scenario() -> None:
        stop = asyncio.Event()
        clients = [client_for(stack.server.url, actors.registrar_tokens[0]) for _ in range(WRITERS)]
        try:
            tasks = [asyncio.create_task(writer(c, stop)) for c in clients]
            await asyncio.sleep(1.0)  # writes are flowing
            window["start"] = time.monotonic()
            await asyncio.to_thread(fault)
            window["end"] = time.monotonic()
            await asyncio.sleep(2.0)  # and keep flowing after the fault
            stop.set()
            await asyncio.gather(*tasks)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    asyncio.run(scenario())

    statuses = Counter(reply.status for reply in attempts)
    unclear = [r for r in attempts if r.status != 201 and not _clear_503(r)]
    unfinished = {key: r.status for key, r in outcomes.items() if r.status != 201}
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
    # Recovery: from the end of the fault to the first 201 after it.
    later_201s = [
        at
        for reply, at in zip(attempts, finished_at, strict=True)
        if reply.status == 201 and at > window["end"]
    ]
    recovered_after = min(later_201s) - window["end"] if later_201s else float("nan")
    # Two submissions answered with the same incident would be one row for two reports.
    shared_ids = sum(r.status == 201 for r in outcomes.values()) - len(acknowledged)

    # After the fault: a plain registration works and health is green, same gunicorn.
    after = httpx.post(
        stack.server.url + INCIDENTS_URL,
        json=incident_payload(actors.location, f"after-{label}-{uuid.uuid4().hex[:8]}"),
        headers={"Authorization": f"Token {actors.registrar_tokens[0]}"},
        timeout=30,
    )
    health = httpx.get(stack.server.url + "/healthz", timeout=10)

    problems = []
    if statuses[503] == 0:
        problems.append("the fault hit no request; the test proved nothing")
    if unclear:
        shown = [(r.status, r.content_type, r.error or r.text[:300]) for r in unclear[:5]]
        problems.append(f"unclear answers: {shown}")
    if unfinished:
        problems.append(f"submissions that never got their 201: {unfinished}")
    if lost:
        problems.append(f"acknowledged (201) but not in the database: {lost}")
    if unacknowledged:
        problems.append(f"in the database without any 201: {unacknowledged}")
    if shared_ids:
        problems.append("two submissions were answered with the same incident")
    if half_written:
        problems.append(f"incidents without exactly one 'created' event: {half_written}")
    if after.status_code != 201:
        problems.append(f"registration after the fault: {after.status_code} {after.text[:300]}")
    if health.status_code != 200:
        problems.append(f"healthz after the fault: {health.text}")
    if not stack.server.alive or stack.server.process.pid != master_pid:
        problems.append("gunicorn was restarted")
    return Outcome(
        submissions=len(outcomes),
        attempts=len(attempts),
        statuses=statuses,
        fault_seconds=window["end"] - window["start"],
        recovered_after=recovered_after,
        problems=problems,
    )


def test_database_restart_during_writes(fault_stack: FaultStack):
    """``pg_ctl restart -m fast`` while 8 clients register incidents (durable commits)."""
    outcome = _writes_through(fault_stack, lambda: fault_stack.cluster.restart("fast"), "restart")
    summary.record(
        "fault: PostgreSQL restart",
        f"{outcome.submissions} registrations, {outcome.attempts} attempts: "
        f"{outcome.statuses[201]} x 201, {outcome.statuses[503]} x 503; restart "
        f"{outcome.fault_seconds:.1f}s, next 201 after {outcome.recovered_after:.1f}s, "
        "same gunicorn",
        failures=len(outcome.problems),
    )
    assert not outcome.problems, "\n".join(outcome.problems) + "\n" + fault_stack.diagnostics()


def test_database_crash_during_writes(fault_stack: FaultStack):
    """``kill -9`` of the postmaster and all its processes while 8 clients register
    incidents, with durable commits (fsync, synchronous_commit, full_page_writes on); then
    PostgreSQL starts again and recovers from its WAL. Every acknowledged registration is
    there exactly once, with its audit event; nothing without a 201; nothing half-written."""
    killed: list[int] = []

    def crash() -> None:
        killed.extend(fault_stack.cluster.crash())
        time.sleep(1.0)  # the service sees the database gone for a moment
        fault_stack.cluster.start_after_crash()

    outcome = _writes_through(fault_stack, crash, "crash")
    recovery = "redo done" in tail(fault_stack.cluster.log_path, 200)
    if not recovery:
        outcome.problems.append("PostgreSQL did not run crash recovery (no 'redo done' in its log)")
    summary.record(
        "fault: PostgreSQL crash (kill -9, durable)",
        f"{outcome.submissions} registrations, {outcome.attempts} attempts: "
        f"{outcome.statuses[201]} x 201, {outcome.statuses[503]} x 503; {len(killed)} "
        f"processes killed, down and recovered in {outcome.fault_seconds:.1f}s, next 201 after "
        f"{outcome.recovered_after:.1f}s; none lost, none twice, none half-written",
        failures=len(outcome.problems),
    )
    assert not outcome.problems, "\n".join(outcome.problems) + "\n" + fault_stack.diagnostics()


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
