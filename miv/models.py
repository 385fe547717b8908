"""The one background-job model, shared by every app (the only model of the project package).

A :class:`Job` is one piece of background work and how it goes: status, progress, the step
it is at, attempts (a retried or redelivered task counts again), the error for people, who
asked for it and when it started and ended. Each kind adds its own fields by multi-table
inheritance: :class:`incidents.models.ImportJob` (an uploaded file, checked and then
imported) and :class:`reporting.models.FigureJob` (the figures of one school year). So the
lifecycle is written once here (NetBox's ``core.models.Job`` is the model), and one table
lists every job of the service.

Every status change is a compare-and-set (:meth:`JobQuerySet.transition`): a double click,
a redelivered task or two workers can never move a job twice. How jobs reach a worker, and
what happens when the broker is away, is :mod:`miv.jobs`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ACTIVE_STATUSES, JobStatus

logger = logging.getLogger(__name__)


class JobQuerySet(models.QuerySet):
    def transition(self, pk, *, to: str, from_: Iterable[str] | None = None, **fields) -> bool:
        """Move job ``pk`` to status ``to`` if it is in one of ``from_`` (None: any),
        setting ``fields`` too. False when it was not (a double click, a redelivery)."""
        jobs = self.filter(pk=pk)
        if from_ is not None:
            jobs = jobs.filter(status__in=list(from_))
        return bool(jobs.update(status=to, updated_at=timezone.now(), **fields))

    def start(self, pk, *, from_: Iterable[str], to: str = JobStatus.RUNNING, task_id: str = ""):
        """Mark a job running and count the attempt; None when it is not in ``from_``
        (e.g. already done: a redelivered message after completion). The job completes
        once."""
        with transaction.atomic():
            job = self.select_for_update().filter(pk=pk).first()
            if job is None or job.status not in set(from_):
                return None
            now = timezone.now()
            job.attempts += 1
            job.status = to
            job.progress = 0
            job.started_at = job.started_at or now
            job.updated_at = now
            job.error = ""
            fields = ["attempts", "status", "progress", "started_at", "updated_at", "error"]
            if task_id:
                job.celery_task_id = task_id
                fields.append("celery_task_id")
            job.save(update_fields=fields)
        return job

    def finish(self, pk, *, to: str = JobStatus.DONE, **fields) -> None:
        now = timezone.now()
        self.filter(pk=pk).update(
            status=to, progress=100, finished_at=now, updated_at=now, **{"error": "", **fields}
        )

    def fail(self, pk, error: str, *, final: bool = True, to: str = JobStatus.FAILED) -> None:
        """Record an error; ``final=False`` while the task will be retried (the job goes back
        to the queue). Never raises: the database may be the thing that failed."""
        try:
            now = timezone.now()
            changes: dict = {"error": error[:2000], "updated_at": now}
            if final:
                changes.update(status=to, finished_at=now)
            else:
                changes.update(status=JobStatus.QUEUED, step="retry")
            self.filter(pk=pk).update(**changes)
        except (OperationalError, InterfaceError):
            logger.warning("could not record the error of job %s", pk)

    def abandoned(self, *, before: datetime):
        """Jobs still queued or running though nothing happened to them since ``before``
        (their worker vanished and the message was lost)."""
        return self.filter(status__in=ACTIVE_STATUSES, updated_at__lt=before)

    def fail_abandoned(self, *, before: datetime) -> int:
        """Mark abandoned jobs failed, so no page reports them running forever."""
        now = timezone.now()
        return self.abandoned(before=before).update(
            status=JobStatus.FAILED, error="abandoned", finished_at=now, updated_at=now
        )


class Job(models.Model):
    """One piece of background work and how it goes; see the module docstring. Created as
    one of its kinds (an import, a figures computation), never on its own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("voortgang (%)"), default=0)
    step = models.CharField(_("stap"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(_("pogingen"), default=0)
    error = models.TextField(_("fout"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aangevraagd door"),
    )
    celery_task_id = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    started_at = models.DateTimeField(_("gestart op"), null=True, blank=True)
    finished_at = models.DateTimeField(_("klaar op"), null=True, blank=True)
    updated_at = models.DateTimeField(_("bijgewerkt op"), auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("achtergrondtaak")
        verbose_name_plural = _("achtergrondtaken")
        indexes = [models.Index(fields=["status", "updated_at"], name="job_status_updated")]

    def __str__(self) -> str:
        return f"{self.pk} {self.status}"

    @property
    def running(self) -> bool:
        """Queued or at work: a page shows its progress and polls."""
        return self.status in ACTIVE_STATUSES

    @property
    def retried(self) -> bool:
        return self.attempts > 1
