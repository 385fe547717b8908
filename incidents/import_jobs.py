"""Import jobs as people handle them: an uploaded file is checked in the background (a dry
run), shown to the uploader with its summary and every error, and imported, again in the
background, only after the uploader confirms.

The web views call :func:`create_job`, :func:`confirm_job`, :func:`revalidate_job` and
:func:`cancel_job`. The work itself is done by the Celery tasks in :mod:`incidents.tasks`
(:mod:`incidents.import_runs`). Tasks are sent after commit with :func:`miv.jobs.enqueue_job`:
when the broker cannot be reached, the job says so and goes back to where the uploader can
try again; nothing hangs.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

from miv.jobs import current_progress as _current_progress
from miv.jobs import enqueue_job, forget_progress

from . import import_runs, tasks
from .choices import ImportKind, ImportStatus
from .models import ImportJob, Institution


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
        requested_by=user,
        original_name=(upload.name or "upload.csv")[:255],
        options=options or {},
    )
    # Streams the upload to MEDIA_ROOT (in chunks), never into memory.
    job.file.save(job.original_name, upload, save=False)
    job.save()
    enqueue_job(job, tasks.validate_import_job, if_unreachable=ImportStatus.FAILED)
    return job


def confirm_job(job: ImportJob) -> bool:
    """Start the import of a checked job; False when it is not (or no longer) waiting for
    confirmation, e.g. a double click."""
    confirmed = ImportJob.objects.transition(
        job.pk, from_=[ImportStatus.VALIDATED], to=ImportStatus.IMPORTING, progress=0, error=""
    )
    if confirmed:
        forget_progress(job.pk)
        enqueue_job(job, tasks.run_import_job, if_unreachable=ImportStatus.VALIDATED)
    return confirmed


def revalidate_job(job: ImportJob) -> bool:
    """Check a job's file again, e.g. after the mapping was completed."""
    queued = ImportJob.objects.transition(
        job.pk,
        from_=[ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED],
        to=ImportStatus.QUEUED,
        progress=0,
        error="",
    )
    if queued and job.file:
        forget_progress(job.pk)
        enqueue_job(job, tasks.validate_import_job, if_unreachable=ImportStatus.FAILED)
    return queued


def cancel_job(job: ImportJob) -> bool:
    """Drop a job that was not imported, and its file (it may hold personal data)."""
    return import_runs.cancel(job)


def current_progress(job: ImportJob) -> int:
    """Progress in percent: the cache while the job runs, else the row."""
    return _current_progress(job)
