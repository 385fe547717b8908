from django.apps import AppConfig


class MivConfig(AppConfig):
    """Project-wide pieces: base templates, static files, health, the demo command."""

    name = "miv"
    verbose_name = "MIV"
