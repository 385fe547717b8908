"""Celery tasks of the reporting engine. The logic lives in :mod:`reporting.services`.

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

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from miv.jobs import BrokerUnavailable, send

from . import services
from .choices import JobReason

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
            services.fail_job(kwargs["job_id"], error)
        elif task_id:
            services.fail_job_of_task(task_id, error)


@shared_task(bind=True, base=FiguresTask, **RETRY_OPTIONS)
def compute_figures(self, school_year: str, job_id: str | None = None) -> str | None:
    """Compute and publish the figures of one school year for a :class:`FigureJob`.
    Returns the id of the current figure set (None when the job was already done)."""
    if job_id is None:
        job = services.job_for_task(school_year, self.request.id or "", reason=JobReason.API)
        job_id = str(job.pk)
    figure_set = services.run_job(job_id, task_id=self.request.id or "")
    return str(figure_set.pk) if figure_set else None


@shared_task(bind=True, base=FiguresTask, **RETRY_OPTIONS)
def recompute_stale_year(self, school_year: str) -> str:
    """The debounced recomputation after changes: waits while the burst goes on, skips when
    the figures are already up to date. Returns what it did."""
    decision = services.debounce_decision(school_year)
    if decision.action == "skip":
        services.clear_schedule(school_year)
        return "skip"
    if decision.action == "wait" and not self.request.is_eager:
        # Eager mode (tests, embedded development) has no clock to wait on: it computes.
        services.reschedule(school_year, decision.delay)
        return "wait"
    services.clear_schedule(school_year)
    job = services.job_for_task(school_year, self.request.id or "", reason=JobReason.CHANGE)
    services.run_job(job.pk, task_id=self.request.id or "")
    return "compute"


@shared_task(bind=True, **RETRY_OPTIONS)
def compute_all_figures(self) -> list[str]:
    """Nightly (Celery beat): recompute the stale years, the years never computed and the
    current year, one task per year."""
    services.fail_abandoned_jobs()
    services.delete_superseded()
    years = services.years_for_nightly_run()
    for school_year in years:
        if services.active_job(school_year) is not None:
            continue  # already queued or running (e.g. this task is being retried)
        job = services.create_job(school_year, reason=JobReason.NIGHTLY)
        try:
            send(compute_figures, kwargs={"school_year": school_year, "job_id": str(job.pk)})
        except BrokerUnavailable as exc:
            services.fail_job(job.pk, f"broker unreachable: {exc}")
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
    years = services.stale_years_without_recomputation(grace_seconds=grace)
    scheduled = [year for year in years if services.schedule_recomputation(year)]
    if scheduled:
        logger.info("catching up stale figures: %s", ", ".join(scheduled))
    return scheduled
