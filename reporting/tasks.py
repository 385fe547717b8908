"""Celery tasks of the reporting engine, and the sending of them. The logic lives in
:mod:`reporting.engine`; this module decides what is sent when inputs change
(:func:`note_inputs_changed`), so the engine never imports its own tasks.

Reliability, per task:

* ``acks_late`` + ``reject_on_worker_lost``: a worker that dies mid-job does not lose the
  message; it is delivered again and the job reruns (the job's ``attempts`` says so).
  Rerunning is safe: the computation is idempotent and a half-written set is discarded.
* A lost database connection (``OperationalError``/``InterfaceError``) is retried with
  bounded exponential backoff. Celery's Django fix-up closes unusable connections before
  each run, so the retry starts on a fresh one.

Messages are sent with :func:`miv.jobs.send`: one policy for a broker that is away, shared
with the imports (fail fast, record it, catch up later).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from miv.jobs import BrokerUnavailable, send

from .choices import JobReason
from .engine import jobs, staleness, store, timing

logger = logging.getLogger(__name__)

RETRY_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 6,
}


class FiguresTask(Task):
    """Records the final failure (after the retries) on the job."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        error = f"{type(exc).__name__}: {exc}"
        if kwargs.get("job_id"):
            jobs.fail_job(kwargs["job_id"], error)
        elif task_id:
            jobs.fail_job_of_task(task_id, error)


@shared_task(bind=True, base=FiguresTask, **RETRY_OPTIONS)
def compute_figures(self, school_year: str, job_id: str | None = None) -> str | None:
    """Compute and publish the figures of one school year for a :class:`FigureJob`.
    Returns the id of the current figure set (None when the job was already done)."""
    if job_id is None:
        job = jobs.job_for_task(school_year, self.request.id or "", reason=JobReason.API)
        job_id = str(job.pk)
    figure_set = jobs.run_job(job_id, task_id=self.request.id or "")
    return str(figure_set.pk) if figure_set else None


@shared_task(bind=True, base=FiguresTask, **RETRY_OPTIONS)
def recompute_stale_year(self, school_year: str) -> str:
    """The debounced recomputation after changes: waits while the burst goes on, skips when
    the figures are already up to date. Returns what it did."""
    decision = staleness.debounce_decision(school_year)
    if decision.action == "skip":
        staleness.clear_schedule(school_year)
        return "skip"
    if decision.action == "wait" and not self.request.is_eager:
        # Eager mode (tests, embedded development) has no clock to wait on: it computes.
        reschedule(school_year, decision.delay)
        return "wait"
    staleness.clear_schedule(school_year)
    job = jobs.job_for_task(school_year, self.request.id or "", reason=JobReason.CHANGE)
    jobs.run_job(job.pk, task_id=self.request.id or "")
    return "compute"


@shared_task(bind=True, **RETRY_OPTIONS)
def compute_all_figures(self) -> list[str]:
    """Nightly (Celery beat): recompute the stale years, the years never computed and the
    current year, one task per year."""
    jobs.fail_abandoned_jobs()
    store.delete_superseded()
    years = staleness.years_for_nightly_run()
    for school_year in years:
        if jobs.active_job(school_year) is not None:
            continue  # already queued or running (e.g. this task is being retried)
        job = jobs.create_job(school_year, reason=JobReason.NIGHTLY)
        try:
            send(compute_figures, kwargs={"school_year": school_year, "job_id": str(job.pk)})
        except BrokerUnavailable as exc:
            jobs.fail_job(job.pk, f"broker unreachable: {exc}")
            raise
    logger.info("nightly figures: %s", ", ".join(years))
    return years


@shared_task(bind=True, **RETRY_OPTIONS)
def catch_up_stale_figures(self) -> list[str]:
    """Every few minutes (beat, ``MIV_FIGURES_CATCH_UP_SECONDS``): schedule the stale years
    that have no recomputation on its way. That happens when a change came in while the
    broker was unreachable (the registration went on, the message could not be sent), or
    when a Redis without persistence lost a queued message. Years with a job running are
    left alone."""
    # A recomputation due longer ago than one catch-up period that has not run is lost
    # (e.g. a restarted Redis without persistence dropped it).
    grace = getattr(settings, "MIV_FIGURES_CATCH_UP_SECONDS", 300)
    years = staleness.stale_years_without_recomputation(grace_seconds=grace)
    scheduled = [year for year in years if schedule_recomputation(year)]
    if scheduled:
        logger.info("catching up stale figures: %s", ", ".join(scheduled))
    return scheduled


# --- Sending: what a change of inputs enqueues ------------------------------------------------


def note_inputs_changed(school_years: Iterable[str] | None, *, onwards: bool = False) -> None:
    """Receiver body for incident, count and score changes: mark the years stale within
    the caller's transaction (one statement per year, no savepoint: it is part of the
    change, and a database that refuses it refuses the change too), and enqueue the
    debounced recomputation it claimed. Any other failure is logged, never raised: the
    change must stand, the figures catch up nightly. ``onwards``: the change also
    affects every later school year (survey scores)."""
    try:
        if onwards and school_years:
            school_years = staleness.years_from(min(school_years))
        marked = staleness.mark_stale(school_years)
    except Exception:  # noqa: BLE001 - the change itself is saved; figures catch up nightly
        logger.exception("could not mark figures stale for %s", school_years)
        return
    # The message is delayed by the debounce period, so the worker finds the change
    # committed. (Eager mode computes here and now; it has no clock to wait on.)
    for school_year, claimed in marked.items():
        if claimed:
            _enqueue_recomputation(school_year)


def schedule_recomputation(school_year: str) -> bool:
    """Enqueue one debounced recomputation unless one is already due. Returns whether a
    message was sent."""
    return staleness.claim_recomputation(school_year) and _enqueue_recomputation(school_year)


# Years whose eager recomputation waits for the end of the current request (None: not in a
# request). Set and run by ``reporting.receivers`` on request_started / request_finished.
_after_response: ContextVar[set[str] | None] = ContextVar("miv_after_response", default=None)


def start_request() -> None:
    _after_response.set(set())


def finish_request() -> None:
    """The response has been sent: run the recomputations the request deferred."""
    pending = _after_response.get()
    _after_response.set(None)
    _send_deferred(pending)


@contextmanager
def recomputation_deferred() -> Iterator[None]:
    """Outside a request, a block of many changes (the demo seed) claims each year's
    recomputation once and runs it when the block ends, not after every change. Where
    the block computes the years itself, the deferred run finds them current and skips."""
    token = _after_response.set(set())
    try:
        yield
    finally:
        pending = _after_response.get()
        _after_response.reset(token)
        _send_deferred(pending)


def _send_deferred(pending: set[str] | None) -> None:
    """Send the recomputations a request or a block deferred, in the order of the years."""
    for school_year in sorted(pending or ()):
        _send_recomputation(school_year)


def _enqueue_recomputation(school_year: str) -> bool:
    """Send the debounced recomputation that was claimed for ``school_year``.

    In the embedded default (tasks run eagerly, in-process) sending *is* computing, so
    inside a web request it is deferred until the response has been sent: a registration
    never waits for the figures. With a broker the message is sent at once, delayed by the
    debounce period."""
    pending = _after_response.get()
    if pending is not None and recompute_stale_year.app.conf.task_always_eager:
        pending.add(school_year)
        return True
    return _send_recomputation(school_year)


def _send_recomputation(school_year: str) -> bool:
    """A broker that is down is logged and tolerated: the year stays stale and the nightly
    run (or the next change) recomputes it."""
    try:
        send(recompute_stale_year, args=[school_year], countdown=timing.debounce_seconds())
    except Exception:  # noqa: BLE001 - any broker failure; registration must go on
        logger.exception(
            "could not enqueue (or, eagerly, run) the recomputation of %s; it stays stale for "
            "the nightly run",
            school_year,
        )
        staleness.clear_schedule(school_year)
        return False
    return True


def reschedule(school_year: str, delay: float) -> None:
    """Push the debounced recomputation back until the burst of changes is over."""
    delay = max(1.0, delay)
    staleness.set_schedule(school_year, delay)
    try:
        send(recompute_stale_year, args=[school_year], countdown=delay)
    except Exception:  # noqa: BLE001 - broker down: the nightly run catches up
        logger.exception("could not reschedule the recomputation of %s", school_year)
        staleness.clear_schedule(school_year)
