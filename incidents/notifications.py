"""Closing the loop: the reporter hears that a report was closed.

When a coordinator closes an incident, its reporter (the registrar who registered it) gets
an e-mail with a link to the report in "Mijn meldingen", where the status and the
coordinator's note are. The mail itself holds no incident details, only the reference and
the link: a mailbox is not the place for personal data (AVG), and the page checks who may
read it.

Decisions:

* Sent by a Celery task queued after commit (``transaction.on_commit``), so a rolled-back
  close sends nothing and a slow mail server never holds up the coordinator's page.
* Nobody is mailed about their own action (a coordinator who closes their own report), and
  users without an e-mail address are skipped.
* A broker that cannot be reached loses the mail, not the close: it is logged, and the
  note is in "Mijn meldingen" all the same. The task retries a refused or unreachable SMTP
  server with backoff.
* The mail is in Dutch with an English translation below it: MIV does not store a user's
  language.
"""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def queue_closed_notice(incident, *, actor) -> bool:
    """Queue the e-mail to ``incident``'s reporter after commit. False when there is no one
    to mail (no reporter, no address, or the reporter closed it)."""
    reporter = incident.registered_by
    if reporter is None or not reporter.email or not reporter.is_active:
        return False
    if actor is not None and actor.pk == reporter.pk:
        return False
    incident_id = incident.pk

    def send() -> None:
        try:
            send_closed_notice.delay(incident_id)
        except Exception:  # noqa: BLE001 - the broker is down: the close stands, see above
            logger.warning("incident %s: closed notice not queued (no broker)", incident_id)

    transaction.on_commit(send)
    return True


def closed_notice(incident) -> tuple[str, str]:
    """Subject and body of the mail: the reference and a link, nothing else."""
    link = settings.MIV_SITE_URL + reverse("incidents:detail", kwargs={"pk": incident.pk})
    texts = {}
    for language in ("nl", "en"):
        with translation.override(language):
            texts[language] = {
                "subject": _("Uw melding %(reference)s is afgesloten")
                % {"reference": incident.reference},
                "body": _(
                    "De veiligheidscoördinator heeft uw melding %(reference)s afgesloten.\n"
                    "Wat ermee is gedaan, leest u na het inloggen bij Mijn meldingen:\n"
                    "%(link)s\n\n"
                    "Deze e-mail is automatisch verstuurd door MIV. Er staan bewust geen "
                    "details van het incident in."
                )
                % {"reference": incident.reference, "link": link},
            }
    subject = f"{texts['nl']['subject']} / {texts['en']['subject']}"
    body = f"{texts['nl']['body']}\n\n-- English --\n\n{texts['en']['body']}\n"
    return subject, body


@shared_task(
    name="incidents.notifications.send_closed_notice",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def send_closed_notice(incident_id: int) -> bool:
    """Send the closed-report mail to the reporter. False when there is nothing to send
    (the incident is gone, reopened or withdrawn, or the reporter has no address)."""
    from .choices import Status
    from .models import Incident

    incident = Incident.objects.select_related("registered_by").filter(pk=incident_id).first()
    if incident is None or incident.status != Status.CLOSED:
        return False
    reporter = incident.registered_by
    if reporter is None or not reporter.email:
        return False
    subject, body = closed_notice(incident)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [reporter.email])
    return True
