from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    """Where a background job (:class:`miv.models.Job`) is.

    Every job goes ``queued`` → running → ``done`` or ``failed``. A figures job runs in one
    go (``running``). An import runs twice with a person in between: its check
    (``validating``) ends ``validated`` (waiting for the uploader's confirmation) or
    ``invalid`` (the file was refused), and only a confirmed import runs (``importing``).
    Each kind uses its subset (``incidents.choices.ImportStatus``,
    ``reporting.choices.JobStatus``); the values are shared.
    """

    QUEUED = "queued", _("In de wachtrij")
    RUNNING = "running", _("Bezig")
    VALIDATING = "validating", _("Wordt gecontroleerd")
    VALIDATED = "validated", _("Gecontroleerd, wacht op bevestiging")
    INVALID = "invalid", _("Afgekeurd")
    IMPORTING = "importing", _("Wordt geïmporteerd")
    DONE = "done", _("Klaar")
    FAILED = "failed", _("Mislukt")
    CANCELLED = "cancelled", _("Geannuleerd")


# A worker has it, or will take it: the page polls, the nightly sweep may call it abandoned.
ACTIVE_STATUSES = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.VALIDATING,
    JobStatus.IMPORTING,
)
