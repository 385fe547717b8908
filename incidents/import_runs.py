"""The work of an import job, as a worker does it: the check (a dry run) and the import.

:func:`check_job` and :func:`import_job` are called by the Celery tasks in
:mod:`incidents.tasks`; they move the job through its states (:class:`miv.models.Job`) and
store the report on it. What a file of each kind means is the kind's importer, registered by
the app that owns the data: incidents here, DUO student counts and survey scores by
``reporting`` (``ReportingConfig.ready``), so this app never imports the one above it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import BinaryIO

from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _

from miv.importreport import ImportReport, Progress
from miv.jobs import forget_progress, progress_writer

from .choices import ImportKind, ImportStatus
from .importers import ImportOptions, import_incidents
from .models import ImportJob

logger = logging.getLogger(__name__)

# (job, file, commit, progress) -> report
Runner = Callable[[ImportJob, BinaryIO, bool, Progress], ImportReport]
_RUNNERS: dict[str, Runner] = {}


def register_importer(kind: str, runner: Runner) -> None:
    """Say how an import job of ``kind`` is read (called from the owning app's ``ready``)."""
    _RUNNERS[kind] = runner


def run_incident_import(
    job: ImportJob, fileobj: BinaryIO, commit: bool, progress: Progress
) -> ImportReport:
    return import_incidents(
        fileobj,
        job.institution,
        name=job.original_name,
        options=ImportOptions.from_dict(job.options),
        actor=job.uploaded_by,
        commit=commit,
        progress=progress,
    )


register_importer(ImportKind.INCIDENTS, run_incident_import)


def _store(job: ImportJob, report: ImportReport, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        summary=report.summary_dict(),
        errors=report.error_list(),
        error_count=report.errors.total,
        **fields,
    )


def _load(job_id) -> ImportJob | None:
    return ImportJob.objects.select_related("institution", "requested_by").filter(pk=job_id).first()


def _run(job: ImportJob, *, commit: bool, progress: Progress) -> ImportReport:
    with job.file.open("rb") as fileobj:
        return _RUNNERS[job.kind](job, fileobj, commit, progress)


def check_job(job_id) -> None:
    """The dry run of a queued job: summary and every error, nothing imported."""
    # VALIDATING too: a task redelivered after its worker died starts the check again.
    job = ImportJob.objects.start(
        job_id, from_=[ImportStatus.QUEUED, ImportStatus.VALIDATING], to=ImportStatus.VALIDATING
    )
    if job is None:
        return
    job = _load(job.pk)
    if not job.file:
        ImportJob.objects.fail(job.pk, _("Het bestand is er niet meer."))
        return
    try:
        report = _run(job, commit=False, progress=progress_writer(job.pk))
    except (OperationalError, InterfaceError):
        raise  # the database is away: the task is retried and the job stays VALIDATING
    except Exception as exc:
        # A bug, not bad input (bad input is in the report): record it, don't crash the
        # caller (in eager mode that is the web request).
        logger.exception("import job %s: validation failed", job.pk)
        ImportJob.objects.fail(
            job.pk, _("De controle is mislukt (%(error)s).") % {"error": type(exc).__name__}
        )
        return
    _store(
        job,
        report,
        status=ImportStatus.VALIDATED if report.ok else ImportStatus.INVALID,
        progress=100,
        validated_at=timezone.now(),
        updated_at=timezone.now(),
    )


def import_job(job_id) -> None:
    """The import of a confirmed job, all or nothing. The file is checked again inside the
    import transaction (the data may have changed since the dry run)."""
    # Only a confirmed job; a redelivered task after a crash finds it still IMPORTING (the
    # transaction was rolled back) and runs it again, which is safe: imports are idempotent.
    job = ImportJob.objects.start(job_id, from_=[ImportStatus.IMPORTING], to=ImportStatus.IMPORTING)
    if job is None:
        return
    job = _load(job.pk)
    if not job.file:
        ImportJob.objects.fail(job.pk, _("Het bestand is er niet meer."))
        return
    try:
        report = _run(job, commit=True, progress=progress_writer(job.pk, to_row=False))
    except (OperationalError, InterfaceError):
        raise  # rolled back; the task is retried and the job stays IMPORTING
    except Exception as exc:
        logger.exception("import job %s: import failed", job.pk)
        ImportJob.objects.fail(
            job.pk,
            _("De import is mislukt (%(error)s); er is niets opgeslagen.")
            % {"error": type(exc).__name__},
        )
        return
    forget_progress(job.pk)
    if report.committed:
        ImportJob.objects.finish(
            job.pk,
            summary=report.summary_dict(),
            errors=report.error_list(),
            error_count=report.errors.total,
        )
        delete_file(job)
    else:
        ImportJob.objects.finish(
            job.pk,
            to=ImportStatus.INVALID,
            summary=report.summary_dict(),
            errors=report.error_list(),
            error_count=report.errors.total,
            error=_("Bij het importeren bleek het bestand niet (meer) geldig; niets opgeslagen."),
        )


def delete_file(job: ImportJob) -> None:
    """Remove an upload from disk (it may hold personal data)."""
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


# Jobs that wait for a person (or were given up): cancelling them deletes their file.
CANCELLABLE = [
    ImportStatus.QUEUED,
    ImportStatus.VALIDATED,
    ImportStatus.INVALID,
    ImportStatus.FAILED,
]


def cancel(job: ImportJob) -> bool:
    """Drop a job that was not imported, and its file (it may hold personal data)."""
    cancelled = ImportJob.objects.transition(
        job.pk, from_=CANCELLABLE, to=ImportStatus.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        delete_file(job)
    return cancelled


def purge_stale_jobs(*, days: int = 7) -> int:
    """Cancel imports that waited more than ``days`` for a confirmation (or a fix) and
    delete their files: an uploaded file may hold personal data and is kept no longer
    than needed. Returns the number of jobs cancelled."""
    cutoff = timezone.now() - timedelta(days=days)
    stale = ImportJob.objects.filter(created_at__lt=cutoff, status__in=CANCELLABLE)
    return sum(cancel(job) for job in stale.iterator())
