from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """Institutions, their locations, the people who work there, and their incidents."""

    name = "incidents"
    verbose_name = _("Incidenten")
