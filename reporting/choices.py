from django.db import models
from django.utils.translation import gettext_lazy as _


class ScoreSource(models.TextChoices):
    """The two safety surveys the figures are joined to."""

    JOB = "job", _("JOB-monitor (studenten, % veilig)")
    MO = "mo", _("MO (medewerkers, gemiddelde 0-10)")
