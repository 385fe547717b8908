"""A small asyncio + httpx load generator for the live-server tests."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

INCIDENTS_URL = "/api/v1/incidents/"
TIMEOUT = httpx.Timeout(30.0)


@dataclass
class Reply:
    """One HTTP exchange as the client saw it."""

    status: int  # 0: no HTTP answer at all (connection error, timeout)
    seconds: float
    body: Any = None
    content_type: str = ""
    text: str = ""
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_json(self) -> bool:
        return self.content_type.startswith("application/json")


async def send(
    client: httpx.AsyncClient, method: str, url: str, *, json: Any = None, headers=None
) -> Reply:
    start = time.perf_counter()
    try:
        response = await client.request(method, url, json=json, headers=headers)
    except httpx.HTTPError as exc:
        return Reply(0, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    content_type = response.headers.get("content-type", "")
    try:
        body = response.json() if content_type.startswith("application/json") else None
    except ValueError:
        body = None
    return Reply(
        response.status_code,
        seconds,
        body=body,
        content_type=content_type,
        text=response.text[:2000],
        headers=dict(response.headers),
    )


def client_for(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT)


async def post_incidents(
    base_url: str, tokens: Sequence[str], payloads: Sequence[Sequence[dict]]
) -> tuple[list[tuple[dict, Reply]], float]:
    """Client ``i`` (token ``tokens[i]``) posts ``payloads[i]`` one after the other; all
    clients run at once. Returns every (payload, reply) and the wall-clock seconds."""

    async def one_client(token: str, mine: Sequence[dict]) -> list[tuple[dict, Reply]]:
        async with client_for(base_url, token) as client:
            return [(p, await send(client, "POST", INCIDENTS_URL, json=p)) for p in mine]

    start = time.perf_counter()
    clients = zip(tokens, payloads, strict=True)
    per_client = await asyncio.gather(*(one_client(t, p) for t, p in clients))
    elapsed = time.perf_counter() - start
    return [pair for pairs in per_client for pair in pairs], elapsed


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}
