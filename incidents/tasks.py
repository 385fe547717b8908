"""Celery tasks of the incidents app.

Import jobs: checking and importing an uploaded file runs in a worker
(:mod:`incidents.import_runs`), so a file of 100,000 rows never blocks a web process. Tasks
take IDs only and are queued after commit by :mod:`incidents.import_jobs` through
:func:`miv.jobs.enqueue_job`.

Reliability: ``acks_late`` + ``reject_on_worker_lost`` redeliver a task whose worker died;
rerunning is safe (the check writes nothing, the import is one transaction and idempotent).
A lost database connection is retried with backoff.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import import_runs, services
from .models import ImportJob

RETRY_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="incidents.tasks.validate_import_job", **RETRY_OPTIONS)
def validate_import_job(job_id: int) -> None:
    """Dry run of an uploaded file: progress, summary and every error on the job."""
    import_runs.check_job(job_id)


@shared_task(name="incidents.tasks.run_import_job", **RETRY_OPTIONS)
def run_import_job(job_id: int) -> None:
    """Import a confirmed job's file, all or nothing."""
    import_runs.import_job(job_id)


@shared_task(name="incidents.tasks.purge_stale_import_jobs", **RETRY_OPTIONS)
def purge_stale_import_jobs(days: int = 7) -> int:
    """Nightly: cancel imports left unconfirmed for ``days`` days and delete their files, and
    mark imports whose worker vanished as failed."""
    ImportJob.objects.fail_abandoned(before=timezone.now() - timedelta(days=1))
    return import_runs.purge_stale_jobs(days=days)


@shared_task(name="incidents.tasks.anonymise_expired_incidents", **RETRY_OPTIONS)
def anonymise_expired_incidents() -> dict:
    """Nightly (Celery beat): the AVG retention run. Blanks description and measures of
    incidents that happened more than ``MIV_RETENTION_YEARS`` ago, with their copies (audit
    trail, stored API answers, import errors). Idempotent and batched, so a retry or a
    second run the same night does no harm. Returns counts only (no personal data)."""
    return services.apply_retention().as_dict()
