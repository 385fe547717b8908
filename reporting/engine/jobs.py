"""Figure jobs (:class:`FigureJob`): each computation recorded for the job API."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser as User
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from miv.schoolyear import parse_school_year

from ..choices import JobStatus
from ..models import (
    FigureJob,
    FigureSet,
)
from . import compute, timing

logger = logging.getLogger(__name__)


JobId = uuid.UUID | str


def create_job(
    school_year: str, *, reason: str, requested_by: User | None = None, task_id: str = ""
) -> FigureJob:
    parse_school_year(school_year)
    return FigureJob.objects.create(
        school_year=school_year,
        reason=reason,
        requested_by=requested_by if requested_by and requested_by.is_authenticated else None,
        celery_task_id=task_id,
    )


def active_job(school_year: str) -> FigureJob | None:
    """A queued or running job of the year that is younger than a task may run: a second
    request for the same year joins it instead of starting another computation."""
    cutoff = timezone.now() - timedelta(seconds=timing.time_limit_seconds())
    return (
        FigureJob.objects.filter(
            school_year=school_year,
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
            created_at__gte=cutoff,
        )
        .order_by("-created_at")
        .first()
    )


def start_job(job_id: JobId, *, task_id: str = "") -> FigureJob | None:
    """Mark a job running and count the attempt. None when it is already done (a redelivered
    message after completion): the job completes once."""
    return FigureJob.objects.start(
        job_id, from_=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED], task_id=task_id
    )


def finish_job(job: FigureJob, figure_set: FigureSet) -> None:
    FigureJob.objects.finish(job.pk, step="done", figure_set=figure_set)


def fail_job(job_id: JobId, error: str, *, final: bool = True) -> None:
    """Record an error; ``final=False`` while the task will be retried. Never raises: the
    database may be the thing that failed."""
    FigureJob.objects.fail(job_id, error, final=final)


def run_job(job_id: JobId, *, task_id: str = "") -> FigureSet | None:
    """Run a job in this process: start it, compute, record the outcome. Database errors
    propagate (the task retries them) with the job back in the queue."""
    job = start_job(job_id, task_id=task_id)
    if job is None:
        return None
    try:
        figure_set = compute.compute_school_year(job.school_year, job=job)
    except (OperationalError, InterfaceError) as exc:
        fail_job(job.pk, f"{type(exc).__name__}: {exc}", final=False)
        raise
    except Exception as exc:
        fail_job(job.pk, f"{type(exc).__name__}: {exc}")
        raise
    finish_job(job, figure_set)
    return figure_set


def job_for_task(school_year: str, task_id: str, *, reason: str) -> FigureJob:
    """The job of a task message: the existing one when the message is redelivered (so the
    attempts add up), else a new one."""
    if task_id:
        job = FigureJob.objects.filter(celery_task_id=task_id).first()
        if job is not None:
            return job
    return create_job(school_year, reason=reason, task_id=task_id)


def fail_job_of_task(task_id: str, error: str) -> None:
    try:
        job_ids = list(
            FigureJob.objects.filter(celery_task_id=task_id).values_list("pk", flat=True)
        )
    except (OperationalError, InterfaceError):
        return
    for job_id in job_ids:
        fail_job(job_id, error)


def fail_abandoned_jobs() -> int:
    """Jobs still running long after a task could have (their worker vanished and the
    message was lost) are marked failed, so the job API does not report them forever."""
    cutoff = timezone.now() - timedelta(seconds=2 * timing.time_limit_seconds())
    return FigureJob.objects.fail_abandoned(before=cutoff)
