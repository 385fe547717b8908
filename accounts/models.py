"""People and access: invitations, the audit trail of who changed which location, member
or token, the link between a user and their institution account (OpenID Connect), and
what MIV knows about each API token besides knox's own row (a name, the last use).

Institutions, locations and memberships themselves live in :mod:`incidents.models`; this
app manages them through :mod:`accounts.locations` and :mod:`accounts.members`.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import Role
from incidents.models import Institution, Location

from .choices import AuditAction


def hash_secret(secret: str) -> str:
    """What is stored of a one-time secret (an invitation link): its SHA-256. The link
    itself is only in the e-mail."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AuditEvent(models.Model):
    """One change of a location, a member, an invitation or an API token: who, when, what.

    ``subject`` names what changed (a location code, a username, an e-mail address of an
    invitation) so that the entry stays readable after the object is gone. Passwords and
    tokens are never recorded."""

    at = models.DateTimeField(_("tijdstip"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("door"),
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("instelling"),
    )
    action = models.CharField(_("actie"), max_length=30, choices=AuditAction.choices)
    subject = models.CharField(_("betreft"), max_length=254)
    changes = models.JSONField(_("wijzigingen"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("beheerhandeling")
        verbose_name_plural = _("beheerlogboek")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()} {self.subject}"


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        now = now or timezone.now()
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


class Invitation(models.Model):
    """An invitation by e-mail to become registrar or coordinator of an institution, or a
    researcher (``institution`` empty; administrators only).

    The link in the e-mail holds a random secret; only its hash is stored, so the link
    works once (it is spent on acceptance), until ``expires_at``, and not after a newer
    link was sent (resending replaces the secret)."""

    email = models.EmailField(_("e-mailadres"))
    institution = models.ForeignKey(
        Institution,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("instelling"),
    )
    role = models.CharField(_("rol"), max_length=20, choices=Role.choices)
    named_access = models.BooleanField(_("ziet BRIN-codes"), default=False)
    default_location = models.ForeignKey(
        Location,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("vaste vestiging"),
    )
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uitgenodigd door"),
    )
    created_at = models.DateTimeField(_("verstuurd op"), default=timezone.now)
    expires_at = models.DateTimeField(_("geldig tot"))
    accepted_at = models.DateTimeField(_("aangenomen op"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aangenomen door"),
    )
    revoked_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("uitnodiging")
        verbose_name_plural = _("uitnodigingen")
        constraints = [
            models.CheckConstraint(
                condition=(Q(role=Role.RESEARCHER) & Q(institution__isnull=True))
                | (~Q(role=Role.RESEARCHER) & Q(institution__isnull=False)),
                name="invitation_researcher_has_no_institution",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()})"

    @property
    def pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @property
    def state(self) -> str:
        if self.accepted_at:
            return _("aangenomen")
        if self.revoked_at:
            return _("ingetrokken")
        if self.expires_at <= timezone.now():
            return _("verlopen")
        return _("open")


class OIDCIdentity(models.Model):
    """A user's account at the institution's identity provider (SURFconext or another
    OpenID Connect provider): the provider's stable subject identifier, so a changed
    e-mail address does not lose the link."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(_("uitgever"), max_length=255)
    subject = models.CharField(_("kenmerk"), max_length=255)
    email = models.EmailField(_("e-mailadres"), blank=True)
    created_at = models.DateTimeField(_("gekoppeld op"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("laatst aangemeld"), null=True, blank=True)

    class Meta:
        verbose_name = _("instellingsaccount")
        verbose_name_plural = _("instellingsaccounts")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.issuer}"


class ApiTokenInfo(models.Model):
    """What MIV keeps about a knox API token besides knox's row: the name its owner gave it
    and when it was last used (written at most once a minute, see
    :class:`accounts.tokens.TokenLastUseMiddleware`). Deleted with the token."""

    token = models.OneToOneField(
        "knox.AuthToken", on_delete=models.CASCADE, related_name="miv_info", primary_key=True
    )
    name = models.CharField(_("naam"), max_length=100, blank=True)
    last_used_at = models.DateTimeField(_("laatst gebruikt"), null=True, blank=True)

    class Meta:
        verbose_name = _("API-tokengebruik")
        verbose_name_plural = _("API-tokengebruik")

    def __str__(self) -> str:
        return self.name or self.token_id[:8]
