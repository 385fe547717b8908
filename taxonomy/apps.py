from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxonomyConfig(AppConfig):
    """The MIV incident taxonomy (Bijlage 2): category, subcategory, incident type."""

    name = "taxonomy"
    verbose_name = _("Incidentindeling")
