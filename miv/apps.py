from django.apps import AppConfig


class MivConfig(AppConfig):
    """Project-wide pieces: settings, base templates, static files, health, API plumbing."""

    name = "miv"
    verbose_name = "MIV"
