"""Load and concurrency against gunicorn + PostgreSQL (issue 7, "Load and concurrency")."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from incidents.choices import EventAction
from incidents.models import Incident, IncidentEvent
from tests.services import summary
from tests.services.loadgen import INCIDENTS_URL, client_for, percentiles, post_incidents, send
from tests.services.provision import incident_payload

pytestmark = [
    pytest.mark.services,
    # Committed data (gunicorn reads it); the taxonomy from the migrations is restored.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CLIENTS = 20
REQUESTS_PER_CLIENT = 100  # 20 x 100 = 2,000 registrations


def test_concurrent_registrations_each_201_is_exactly_one_row(gunicorn_server, live_actors):
    before = set(Incident.objects.values_list("pk", flat=True))
    payloads = [
        [
            incident_payload(live_actors.location, f"load-{client:02d}-{n:03d}")
            for n in range(REQUESTS_PER_CLIENT)
        ]
        for client in range(CLIENTS)
    ]
    tokens = live_actors.registrar_tokens[:CLIENTS]
    assert len(tokens) == CLIENTS

    exchanges, elapsed = asyncio.run(post_incidents(gunicorn_server.url, tokens, payloads))

    statuses = Counter(reply.status for _, reply in exchanges)
    created = {reply.body["id"]: payload for payload, reply in exchanges if reply.status == 201}
    rows = dict(
        Incident.objects.exclude(pk__in=before).values_list("pk", "external_id").order_by("pk")
    )
    created_events = Counter(
        IncidentEvent.objects.filter(incident__in=rows, action=EventAction.CREATED).values_list(
            "incident_id", flat=True
        )
    )
    not_created = [f"{r.status} {r.error or r.text[:200]}" for _, r in exchanges if r.status != 201]
    mismatched = [pk for pk, payload in created.items() if rows.get(pk) != payload["external_id"]]
    orphans = sorted(set(rows) - set(created))
    without_event = [pk for pk in rows if created_events[pk] != 1]

    figures = percentiles([reply.seconds for _, reply in exchanges])
    rate = len(exchanges) / elapsed
    summary.record(
        "load held",
        f"{len(exchanges)} requests, {CLIENTS} clients, {rate:.0f} req/s, "
        f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms",
        failures=len(not_created) + len(mismatched) + len(orphans) + len(without_event),
    )
    print(f"load: {len(exchanges)} in {elapsed:.1f}s, statuses {dict(statuses)}, {figures}")

    assert len(exchanges) == CLIENTS * REQUESTS_PER_CLIENT
    assert not [s for s in statuses if s >= 500 or s == 0], statuses
    assert not not_created, not_created[:5]
    # Every 201 names its own row, holding what that request sent, and nothing else exists.
    assert len(created) == statuses[201], "two 201s carried the same incident id"
    assert not mismatched, mismatched[:5]
    assert not orphans, f"rows without a 201: {orphans[:5]}"
    assert len(rows) == len(created) == CLIENTS * REQUESTS_PER_CLIENT
    assert not without_event, f"incidents without exactly one 'created' event: {without_event[:5]}"


ROUNDS = 3


def test_same_idempotency_key_from_20_clients_at_once_creates_one_incident(
    gunicorn_server, live_actors
):
    token = live_actors.registrar_tokens[0]

    async def round_of(key: str, payload: dict):
        clients = [client_for(gunicorn_server.url, token) for _ in range(CLIENTS)]
        try:
            headers = {"Idempotency-Key": key}
            return await asyncio.gather(
                *(send(c, "POST", INCIDENTS_URL, json=payload, headers=headers) for c in clients)
            )
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    failures = 0
    problems: list[str] = []
    for n in range(ROUNDS):
        label = f"dup-{n}-{uuid.uuid4().hex[:8]}"
        payload = incident_payload(live_actors.location, label)
        replies = asyncio.run(round_of(str(uuid.uuid4()), payload))
        statuses = Counter(r.status for r in replies)
        bodies = [r.body for r in replies]
        rows = list(Incident.objects.filter(external_id=label).values_list("pk", flat=True))
        replayed = sum(r.headers.get("idempotent-replayed") == "true" for r in replies)
        round_problems = []
        if statuses != Counter({201: CLIENTS}):
            round_problems.append(f"statuses {dict(statuses)}: {replies[0].text[:300]}")
        if any(body != bodies[0] for body in bodies):
            round_problems.append("bodies differ")
        if len(rows) != 1 or (bodies[0] or {}).get("id") != rows[0]:
            round_problems.append(f"rows {rows} for body id {(bodies[0] or {}).get('id')}")
        if replayed != CLIENTS - 1:
            round_problems.append(f"{replayed} replays instead of {CLIENTS - 1}")
        failures += bool(round_problems)
        problems += [f"round {n}: {p}" for p in round_problems]

    summary.record(
        "duplicate submissions",
        f"{ROUNDS} rounds x {CLIENTS} clients, same Idempotency-Key: 1 incident each",
        failures=failures,
    )
    assert not problems, problems
