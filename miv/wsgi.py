"""WSGI entry point (gunicorn miv.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miv.settings")

application = get_wsgi_application()
