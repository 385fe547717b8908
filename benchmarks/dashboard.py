"""Benchmark of the figures dashboard (``/figures/``) on the demo, against a static page.

    DATABASE_URL=postgres://user@host:port/db python benchmarks/dashboard.py [--ci]

In a scratch database (``<db>_bench_dashboard``; the developer database is never touched)
it seeds the demo (``seed_demo``: 12 institutions, four school years, the running one
included), then, in one process through Django's test client (no network in between), it
requests as a coordinator and as a named researcher:

* **baseline**: ``/static/miv/miv.css``, a file served without any database work: what any
  request costs on this machine in this run;
* **dashboard**: ``/figures/`` for each school year with figures (the default choice
  included), the whole page with its five charts and tables.

The first request of each page draws its charts (they are kept: ``reporting.charts``), so
it is reported apart ("first view"); the target is for the views after it. Issue 12's
target: the dashboard within **300 ms at p95**. The machine's speed is taken out with the
baseline: the target is scaled by how much slower the baseline is here than on the machine
the target was set on (``REFERENCE_BASELINE_MS``, never below 1). The noise is the spread of
the p95 between rounds; the benchmark fails (exit 1) when the p95 misses the scaled target by
more than that.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import recreate_database, setup_scratch_django, spread, verdict  # noqa: E402

TARGET_MS = 300.0
# The baseline's median on the machine where the target was set (2 cores, a test run beside it).
REFERENCE_BASELINE_MS = 0.6
USERS = ("coordinator.amstel", "onderzoeker.benoemd")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci", action="store_true", help="run from CI (4 rounds)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> int:
    args = parse_args()
    rounds = 4 if args.ci else args.rounds
    # The demo's computations run in this process (no worker is part of the measurement).
    os.environ["CELERY_BROKER_URL"] = ""
    name, maintenance = setup_scratch_django("dashboard.py", "dashboard")
    try:
        return run(rounds)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(maintenance, name, drop_only=True)


def run(rounds: int) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from reporting.dashboards import current_sets

    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    print(f"demo seeded in {time.perf_counter() - started:.0f}s")
    years = list(current_sets())
    clients = []
    for username in USERS:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        clients.append((username, client))
    pages = [{}] + [{"school_year": year} for year in years]

    def get(client, path, params=None) -> float:
        began = time.perf_counter()
        response = client.get(path, params or {})
        took = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path} {params} answered {response.status_code}")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return took

    first = [get(c, "/figures/", page) for _, c in clients for page in pages]
    baseline_rounds, dashboard_rounds = [], []
    for _ in range(rounds):
        baseline, dashboard = [], []
        for _username, client in clients:
            for page in pages:
                baseline.append(get(client, "/static/miv/miv.css"))
                dashboard.append(get(client, "/figures/", page))
        baseline_rounds.append(baseline)
        dashboard_rounds.append(dashboard)

    all_baseline = [t for r in baseline_rounds for t in r]
    all_dashboard = [t for r in dashboard_rounds for t in r]
    base = statistics.median(all_baseline)
    factor = max(1.0, base / REFERENCE_BASELINE_MS)
    target = TARGET_MS * factor
    measured = p95(all_dashboard)
    noise = spread([p95(r) for r in dashboard_rounds])
    result = verdict(measured, target, noise)
    print(f"pages: /figures/ for {len(pages)} choices x {len(clients)} users, {rounds} rounds")
    print(f"baseline (static file) median {base:.1f} ms -> machine factor {factor:.2f}")
    print(
        f"first view (charts drawn): median {statistics.median(first):.0f} ms, "
        f"max {max(first):.0f} ms"
    )
    print(
        f"dashboard: median {statistics.median(all_dashboard):.0f} ms, "
        f"p95 {measured:.0f} ms (noise {noise:.0f} ms)"
    )
    print(f"target: p95 <= {TARGET_MS:.0f} ms x {factor:.2f} = {target:.0f} ms -> {result}")
    return 1 if result == "MISSED" else 0


if __name__ == "__main__":
    sys.exit(main())
