"""The invitation e-mail: Dutch first, English below (the invitee's language is not known
yet), with the one-time link to ``MIV_SITE_URL``."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Invitation


def invitation_link(secret: str) -> str:
    return settings.MIV_SITE_URL + reverse("accounts:invitation", kwargs={"secret": secret})


def send_invitation(invitation: Invitation, secret: str) -> None:
    """Send the link; raises (an ``OSError`` / ``SMTPException``) when the mail server
    refuses, so the page can say so and offer to send it again."""
    context = {"invitation": invitation, "link": invitation_link(secret)}
    parts = []
    for language in ("nl", "en"):
        with translation.override(language):
            parts.append(render_to_string("accounts/mail/invitation.txt", context).strip())
    with translation.override("nl"):
        subject = render_to_string("accounts/mail/invitation_subject.txt", context).strip()
    send_mail(
        subject,
        "\n\n----------------------------------------\n\n".join(parts) + "\n",
        None,
        [invitation.email],
    )
