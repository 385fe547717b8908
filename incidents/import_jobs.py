"""Import jobs: an uploaded file is checked in the background (a dry run), shown to the
uploader with its summary and every error, and imported, again in the background, only
after the uploader confirms.

The web views call :func:`create_job`, :func:`confirm_job`, :func:`revalidate_job` and
:func:`cancel_job`; the Celery tasks in :mod:`incidents.tasks` call :func:`validate_job`
and :func:`execute_job`. The parsing itself is in :mod:`incidents.importers` and
:mod:`reporting.importers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import BinaryIO

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from miv.importreport import ImportReport

from .choices import ImportKind, ImportStatus
from .importers import ImportOptions, import_incidents, progress_cache_key, publish_progress
from .models import ImportJob, Institution

logger = logging.getLogger(__name__)


def create_job(
    *,
    user,
    kind: str,
    upload: UploadedFile,
    institution: Institution | None = None,
    options: dict | None = None,
) -> ImportJob:
    """Store the upload and queue its check. The caller has checked the permissions."""
    job = ImportJob(
        kind=kind,
        institution=institution if kind == ImportKind.INCIDENTS else None,
        uploaded_by=user,
        original_name=(upload.name or "upload.csv")[:255],
        options=options or {},
    )
    # Streams the upload to MEDIA_ROOT (in chunks), never into memory.
    job.file.save("upload.csv", upload, save=False)
    job.save()
    _enqueue_validation(job.pk)
    return job


def _enqueue(task_name: str, job_id: int, *, if_unreachable: str) -> None:
    """Queue a task after commit. When the broker cannot be reached the job says so and
    goes back to ``if_unreachable``, from where the user can try again; nothing hangs."""
    from . import tasks

    def send() -> None:
        try:
            getattr(tasks, task_name).delay(job_id)
        except KombuOperationalError:
            logger.warning("import job %s: broker unreachable, %s not queued", job_id, task_name)
            ImportJob.objects.filter(pk=job_id).update(
                status=if_unreachable,
                message=_(
                    "De achtergrondverwerking is nu niet bereikbaar. Probeer het over een "
                    "paar minuten opnieuw."
                ),
            )

    transaction.on_commit(send)


def _enqueue_validation(job_id: int) -> None:
    _enqueue("validate_import_job", job_id, if_unreachable=ImportStatus.FAILED)


def confirm_job(job: ImportJob) -> bool:
    """Start the import of a checked job; False when it is not (or no longer) waiting for
    confirmation, e.g. a double click."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED).update(
        status=ImportStatus.IMPORTING, progress=0, message=""
    )
    if updated:
        cache.delete(progress_cache_key(job.pk))
        _enqueue("run_import_job", job.pk, if_unreachable=ImportStatus.VALIDATED)
    return bool(updated)


def revalidate_job(job: ImportJob) -> bool:
    """Check a job's file again, e.g. after the mapping was completed."""
    updated = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED]
    ).update(status=ImportStatus.QUEUED, progress=0, message="")
    if updated and job.file:
        _enqueue_validation(job.pk)
    return bool(updated)


def cancel_job(job: ImportJob) -> bool:
    """Drop a job that was not imported, and its file (it may hold personal data)."""
    updated = ImportJob.objects.filter(
        pk=job.pk,
        status__in=[
            ImportStatus.QUEUED,
            ImportStatus.VALIDATED,
            ImportStatus.INVALID,
            ImportStatus.FAILED,
        ],
    ).update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
    if updated:
        _delete_file(job)
    return bool(updated)


def _delete_file(job: ImportJob) -> None:
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def _progress_writer(job_id: int, *, to_row: bool = True) -> Callable[[float], None]:
    """Report progress in percent, at most once per percent.

    The check (a dry run) writes it on the job row. The import runs in one transaction, in
    which an update of the row would stay invisible to the page until the very end: there
    (``to_row=False``) the cache carries it.
    """
    last = [-1]

    def write(fraction: float) -> None:
        percent = max(0, min(100, int(fraction * 100)))
        if percent == last[0]:
            return
        last[0] = percent
        publish_progress(job_id, fraction)
        if to_row:
            ImportJob.objects.filter(pk=job_id).update(progress=percent)

    return write


def _run(job: ImportJob, fileobj: BinaryIO, *, commit: bool, progress) -> ImportReport:
    if job.kind == ImportKind.INCIDENTS:
        return import_incidents(
            fileobj,
            job.institution,
            name=job.original_name,
            options=ImportOptions.from_dict(job.options),
            actor=job.uploaded_by,
            commit=commit,
            progress=progress,
        )
    from reporting.importers import import_enrolments, import_safety_scores

    if job.kind == ImportKind.ENROLMENTS:
        return import_enrolments(
            fileobj,
            name=job.original_name,
            source_date=timezone.localdate(job.created_at),
            commit=commit,
            progress=progress,
        )
    return import_safety_scores(fileobj, name=job.original_name, commit=commit, progress=progress)


def _store(job: ImportJob, report: ImportReport, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        summary=report.summary_dict(),
        errors=report.error_list(),
        error_count=report.errors.total,
        **fields,
    )


def validate_job(job_id: int) -> None:
    """The dry run of a queued job: summary and every error, nothing imported."""
    job = ImportJob.objects.select_related("institution", "uploaded_by").filter(pk=job_id).first()
    # VALIDATING too: a task redelivered after its worker died starts the check again.
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.VALIDATING):
        return
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.VALIDATING, progress=0)
    if not job.file:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=_("Het bestand is er niet meer.")
        )
        return
    try:
        with job.file.open("rb") as fileobj:
            report = _run(job, fileobj, commit=False, progress=_progress_writer(job.pk))
    except (OperationalError, InterfaceError):
        raise  # the database is away: the task is retried and the job stays VALIDATING
    except Exception as exc:
        # A bug, not bad input (bad input is in the report): record it, don't crash the
        # caller (in eager mode that is the web request).
        logger.exception("import job %s: validation failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=_("De controle is mislukt (%(error)s).") % {"error": type(exc).__name__},
        )
        return
    _store(
        job,
        report,
        status=ImportStatus.VALIDATED if report.ok else ImportStatus.INVALID,
        progress=100,
        validated_at=timezone.now(),
    )


def execute_job(job_id: int) -> None:
    """The import of a confirmed job, all or nothing. The file is checked again inside the
    import transaction (the data may have changed since the dry run)."""
    job = ImportJob.objects.select_related("institution", "uploaded_by").filter(pk=job_id).first()
    # Only a confirmed job; a redelivered task after a crash finds it still IMPORTING (the
    # transaction was rolled back) and runs it again, which is safe: imports are idempotent.
    if job is None or job.status != ImportStatus.IMPORTING:
        return
    if not job.file:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=_("Het bestand is er niet meer.")
        )
        return
    try:
        with job.file.open("rb") as fileobj:
            report = _run(
                job, fileobj, commit=True, progress=_progress_writer(job.pk, to_row=False)
            )
    except (OperationalError, InterfaceError):
        raise  # rolled back; the task is retried and the job stays IMPORTING
    except Exception as exc:
        logger.exception("import job %s: import failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=_("De import is mislukt (%(error)s); er is niets opgeslagen.")
            % {"error": type(exc).__name__},
        )
        return
    cache.delete(progress_cache_key(job.pk))
    if report.committed:
        _store(job, report, status=ImportStatus.DONE, progress=100, finished_at=timezone.now())
        _delete_file(job)
    else:
        _store(
            job,
            report,
            status=ImportStatus.INVALID,
            progress=100,
            message=_("Bij het importeren bleek het bestand niet (meer) geldig; niets opgeslagen."),
        )


def current_progress(job: ImportJob) -> int:
    """Progress in percent: the cache while the import transaction runs, else the row."""
    cached = cache.get(progress_cache_key(job.pk))
    if job.status == ImportStatus.IMPORTING and cached is not None:
        return int(cached)
    return job.progress


def purge_stale_jobs(*, days: int = 7) -> int:
    """Cancel imports that waited more than ``days`` for a confirmation (or a fix) and
    delete their files: an uploaded file may hold personal data and is kept no longer
    than needed. Returns the number of jobs cancelled."""
    cutoff = timezone.now() - timedelta(days=days)
    stale = ImportJob.objects.filter(
        created_at__lt=cutoff,
        status__in=[
            ImportStatus.QUEUED,
            ImportStatus.VALIDATED,
            ImportStatus.INVALID,
            ImportStatus.FAILED,
        ],
    )
    count = 0
    for job in stale.iterator():
        count += cancel_job(job)
    return count
