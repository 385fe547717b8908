from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    """Figures: student counts, survey scores, rates per 1,000 students, sector means."""

    name = "reporting"
    verbose_name = _("Cijfers")

    def ready(self) -> None:
        # Recompute figures when incidents, counts or scores change.
        from incidents.choices import ImportKind
        from incidents.import_runs import register_importer

        from . import receivers  # noqa: F401
        from .importers import run_enrolment_job, run_score_job

        # Student counts and survey scores are uploaded on the import pages of incidents;
        # this app says how they are read (incidents does not import reporting).
        register_importer(ImportKind.ENROLMENTS, run_enrolment_job)
        register_importer(ImportKind.SCORES, run_score_job)
