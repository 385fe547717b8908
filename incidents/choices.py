"""Fixed choices of the incident registration. Values are stable API identifiers."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from miv.choices import JobStatus


class InstitutionKind(models.TextChoices):
    ROC = "roc", _("ROC (regionaal opleidingencentrum)")
    AOC = "aoc", _("AOC (agrarisch opleidingscentrum)")
    VAK = "vak", _("Vakinstelling")
    OVERIG = "overig", _("Overig")


class Region(models.TextChoices):
    NOORD = "noord", _("Noord")
    OOST = "oost", _("Oost")
    ZUID = "zuid", _("Zuid")
    WEST = "west", _("West")


class Urbanity(models.IntegerChoices):
    """CBS urbanity class of the main seat (stedelijkheid)."""

    ZEER_STERK = 1, _("Zeer sterk stedelijk")
    STERK = 2, _("Sterk stedelijk")
    MATIG = 3, _("Matig stedelijk")
    WEINIG = 4, _("Weinig stedelijk")
    NIET = 5, _("Niet stedelijk")


class Role(models.TextChoices):
    REGISTRAR = "registrar", _("Registreerder")
    COORDINATOR = "coordinator", _("Veiligheidscoördinator")
    RESEARCHER = "researcher", _("Onderzoeker")


class Place(models.TextChoices):
    CLASSROOM = "classroom", _("Lokaal/werkplaats")
    CORRIDOR = "corridor", _("Gang/kantine")
    GROUNDS = "grounds", _("Schoolplein/fietsenstalling")
    SURROUNDINGS = "surroundings", _("Omgeving van de school")
    INTERNSHIP = "internship", _("Stage/BPV-plek")
    ONLINE = "online", _("Online")
    OTHER = "other", _("Anders")


class VictimRole(models.TextChoices):
    STUDENT = "student", _("Student")
    STAFF = "staff", _("Medewerker")
    VISITOR = "visitor", _("Bezoeker/extern")
    NONE = "none", _("Geen slachtoffer")
    UNKNOWN = "unknown", _("Onbekend")


class PerpetratorRole(models.TextChoices):
    STUDENT = "student", _("Student")
    STAFF = "staff", _("Medewerker")
    EXTERNAL = "external", _("Bezoeker/extern")
    UNKNOWN = "unknown", _("Onbekend")


class Injury(models.TextChoices):
    NONE = "none", _("Geen letsel")
    MINOR = "minor", _("Licht letsel")
    MEDICAL = "medical", _("Medische zorg nodig")
    # Not known (yet), e.g. an import from a register that did not record it.
    UNKNOWN = "unknown", _("Onbekend")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Afgesloten")
    WITHDRAWN = "withdrawn", _("Ingetrokken")


class EventAction(models.TextChoices):
    CREATED = "created", _("Geregistreerd")
    CHANGED = "changed", _("Gewijzigd")
    CLOSED = "closed", _("Afgesloten")
    WITHDRAWN = "withdrawn", _("Ingetrokken")
    ANONYMISED = "anonymised", _("Geanonimiseerd")
    ERASED = "erased", _("Gewist op verzoek")
    IMPORTED = "imported", _("Geïmporteerd")


class ImportKind(models.TextChoices):
    """What an uploaded import file holds."""

    INCIDENTS = "incidents", _("Incidenten")
    ENROLMENTS = "enrolments", _("Studentaantallen (DUO)")
    SCORES = "scores", _("Veiligheidsscores (JOB/MO)")


class ImportStatus(models.TextChoices):
    """Life of an import job: checked first (dry run), imported only after confirmation.
    The states an import passes through, out of the shared :class:`miv.choices.JobStatus`."""

    QUEUED = JobStatus.QUEUED.value, JobStatus.QUEUED.label
    VALIDATING = JobStatus.VALIDATING.value, JobStatus.VALIDATING.label
    VALIDATED = JobStatus.VALIDATED.value, JobStatus.VALIDATED.label
    INVALID = JobStatus.INVALID.value, JobStatus.INVALID.label
    IMPORTING = JobStatus.IMPORTING.value, JobStatus.IMPORTING.label
    DONE = JobStatus.DONE.value, JobStatus.DONE.label
    FAILED = JobStatus.FAILED.value, JobStatus.FAILED.label
    CANCELLED = JobStatus.CANCELLED.value, JobStatus.CANCELLED.label
