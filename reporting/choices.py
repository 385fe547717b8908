from django.db import models
from django.utils.translation import gettext_lazy as _

from miv.choices import JobStatus as SharedJobStatus


class ScoreSource(models.TextChoices):
    """The two safety surveys the figures are joined to."""

    JOB = "job", _("JOB-monitor (studenten, % veilig)")
    MO = "mo", _("MO (medewerkers, gemiddelde 0-10)")


class GroupLevel(models.TextChoices):
    """The level of a figures group: the whole taxonomy, the report's two groups, or one
    node of the taxonomy."""

    TOTAL = "total", _("Totaal")
    REPORT = "report", _("Groep uit het rapport (misdragingen/ongevallen)")
    CATEGORY = "category", _("Categorie")
    SUBCATEGORY = "subcategory", _("Subcategorie")
    TYPE = "type", _("Type incident")


class VictimGroup(models.TextChoices):
    """Whose incidents a figure counts: all, or those with a student or staff victim."""

    ALL = "all", _("Alle incidenten")
    STUDENT = "student", _("Slachtoffer student")
    STAFF = "staff", _("Slachtoffer medewerker")


class FigureSetStatus(models.TextChoices):
    BUILDING = "building", _("Wordt berekend")
    CURRENT = "current", _("Actueel")
    SUPERSEDED = "superseded", _("Vervangen")


class JobStatus(models.TextChoices):
    """The states a figures job passes through, out of the shared
    :class:`miv.choices.JobStatus`."""

    QUEUED = SharedJobStatus.QUEUED.value, SharedJobStatus.QUEUED.label
    RUNNING = SharedJobStatus.RUNNING.value, SharedJobStatus.RUNNING.label
    DONE = SharedJobStatus.DONE.value, SharedJobStatus.DONE.label
    FAILED = SharedJobStatus.FAILED.value, SharedJobStatus.FAILED.label


class JobReason(models.TextChoices):
    """Why a recomputation was started."""

    API = "api", _("Aangevraagd via de API")
    COMMAND = "command", _("Beheercommando")
    NIGHTLY = "nightly", _("Nachtelijke herberekening")
    CHANGE = "change", _("Gewijzigde gegevens")
    DEMO = "demo", _("Demodata")
