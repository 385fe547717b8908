"""MIV: Monitor Integrale Veiligheid, the incident registration service for MBO institutions."""

# Load the Celery app with Django so that @shared_task binds to it.
from .celery import app as celery_app

__all__ = ["celery_app"]
