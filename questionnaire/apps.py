from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionnaireConfig(AppConfig):
    """The safety-policy questionnaire (Bijlage 7): answered by coordinators per school year."""

    name = "questionnaire"
    verbose_name = _("Vragenlijst veiligheidsbeleid")

    def ready(self) -> None:
        # The institution's answers as a sheet of the yearly export.
        from . import receivers  # noqa: F401
