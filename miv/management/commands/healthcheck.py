"""``manage.py healthcheck``: exit 0 when MIV is healthy, 1 when not (for container health
checks and monitoring).

* ``--url http://127.0.0.1:8000/healthz``: asks the running web server, as the proxy
  would: with the first of ``DJANGO_ALLOWED_HOSTS`` as ``Host`` and
  ``X-Forwarded-Proto: https``, so the answer holds under production settings (a bare
  request to 127.0.0.1 would be refused by the allowed hosts, or redirected to https).
* without ``--url``: checks the database and the broker from this process (what
  ``/healthz`` checks), e.g. for the worker's container.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from miv import views


def probe_host() -> str:
    """A host name the server accepts: the first allowed host (``.example.nl`` ->
    ``example.nl``; ``*`` -> ``localhost``)."""
    for host in settings.ALLOWED_HOSTS:
        host = host.lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


class Command(BaseCommand):
    help = "Exit 0 when MIV (the web server at --url, or the database and broker) is healthy."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", help="the web server's /healthz, e.g. http://127.0.0.1:8000/healthz"
        )
        parser.add_argument("--timeout", type=float, default=5.0)

    def handle(self, *args, url=None, timeout=5.0, **options):
        if url:
            state = self._ask(url, timeout)
        else:
            database = "ok" if views._database_ok() else "down"
            state = {"database": database, "broker": views._broker_state()}
            state["status"] = (
                "ok" if database == "ok" and state["broker"] in ("ok", "eager") else "unavailable"
            )
        self.stdout.write(json.dumps(state))
        if state.get("status") != "ok":
            raise CommandError("unhealthy", returncode=1)

    def _ask(self, url: str, timeout: float) -> dict:
        request = urllib.request.Request(
            url,
            headers={
                "Host": probe_host(),
                "X-Forwarded-Proto": "https",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with exc:
                try:
                    return json.loads(exc.read() or b"{}") | {"http_status": exc.code}
                except ValueError:
                    return {"status": "unavailable", "http_status": exc.code}
        except (OSError, ValueError) as exc:
            return {"status": "unavailable", "error": str(exc)}
