from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    """Figures: student counts, survey scores, rates per 1,000 students, sector means."""

    name = "reporting"
    verbose_name = _("Cijfers")

    def ready(self) -> None:
        # Recompute figures when incidents, counts or scores change.
        from . import receivers  # noqa: F401
