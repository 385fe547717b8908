"""Fixed choices of the questionnaire. Values are stable API identifiers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponseStatus(models.TextChoices):
    """A response is a draft until the coordinator submits it; only an administrator can
    reopen a submitted response."""

    DRAFT = "draft", _("Concept")
    SUBMITTED = "submitted", _("Ingediend")


class ResponseAction(models.TextChoices):
    """What the history (audit trail) of a response records. Never the content of an
    answer: open answers are confidential."""

    STARTED = "started", _("Begonnen")
    SAVED = "saved", _("Concept opgeslagen")
    SUBMITTED = "submitted", _("Ingediend")
    REOPENED = "reopened", _("Heropend door beheerder")
