"""The Celery app. All settings come from Django settings with the ``CELERY_`` prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")

app = Celery("miv")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
