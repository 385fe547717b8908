"""People of an institution: invite by e-mail, accept, change a role, deactivate.

Each function is atomic, takes the acting user keyword-only, validates through
``full_clean()`` and writes an :class:`~accounts.models.AuditEvent`. Coordinators manage
their own institutions; administrators every institution and the researchers
(``institution=None``), see :mod:`accounts.permissions`.

Decisions:

* An invitation link holds a random secret; only its hash is stored. It works once, for
  ``MIV_INVITATION_DAYS`` (default 7). Resending makes a new secret, so an older link stops
  working. The invitee sets a password, or signs in with the institution account whose
  (verified) e-mail address is the invited one (:mod:`accounts.oidc`).
* Deactivating a member is refused at once, everywhere: the account is made inactive
  (``is_active=False``), so its sessions are no longer accepted (Django's backends refuse
  inactive users on every request) and its API tokens are deleted (knox refuses inactive
  users too). The membership stays, greyed out, and can be activated again.
* Someone who is also a member elsewhere keeps their account: deactivating ends only the
  membership of this institution (``member_removed``), which takes effect on their next
  request as well (every scope is read from the memberships).
* A coordinator cannot deactivate or demote themselves, so an institution always keeps a
  coordinator (administrators can do anything).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from knox.models import AuthToken

from incidents.choices import Role
from incidents.models import Institution, Location, Membership, is_administrator
from miv.errors import DomainError

from . import audit
from .choices import AuditAction
from .models import Invitation, hash_secret
from .permissions import check_manage

DEFAULT_INVITATION_DAYS = 7


def invitation_days() -> int:
    return int(getattr(settings, "MIV_INVITATION_DAYS", DEFAULT_INVITATION_DAYS))


def normalise_email(email: str) -> str:
    """E-mail addresses are compared without case (the domain is case-insensitive, and no
    real mailbox distinguishes case in the local part either)."""
    return email.strip().lower()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- Invitations ----------------------------------------------------------------------------


def invite(
    *,
    actor,
    email: str,
    role: str,
    institution: Institution | None = None,
    named_access: bool = False,
    default_location: Location | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` as ``role``; returns the invitation and the link's secret (send it
    with :func:`accounts.mail.send_invitation`; it is not stored)."""
    email = normalise_email(email)
    with transaction.atomic():
        check_manage(actor, institution)
        if role == Role.RESEARCHER and not (actor is None or is_administrator(actor)):
            raise PermissionDenied(_("Alleen beheerders benoemen onderzoekers."))
        if Membership.objects.filter(
            user__email__iexact=email,
            user__is_active=True,
            institution=institution,
            **({"role": Role.RESEARCHER} if institution is None else {}),
        ).exists():
            raise ValidationError({"email": _("Iemand met dit e-mailadres is hier al lid.")})
        if Invitation.objects.pending().filter(email=email, institution=institution).exists():
            raise ValidationError(
                {
                    "email": _(
                        "Voor dit e-mailadres staat al een uitnodiging open; verstuur die "
                        "opnieuw of trek hem in."
                    )
                }
            )
        secret = _new_secret()
        invitation = Invitation(
            email=email,
            institution=institution,
            role=role,
            named_access=named_access and role == Role.RESEARCHER,
            default_location=default_location if role != Role.RESEARCHER else None,
            secret_hash=hash_secret(secret),
            invited_by=actor if actor is not None and actor.is_authenticated else None,
            expires_at=timezone.now() + timedelta(days=invitation_days()),
        )
        invitation.full_clean()
        _check_location_of(invitation.default_location, institution)
        invitation.save()
        audit.record(
            actor=actor,
            action=AuditAction.INVITED,
            institution=institution,
            subject=email,
            changes={"role": [None, role], "named_access": [None, invitation.named_access]},
        )
    return invitation, secret


def _check_location_of(location: Location | None, institution: Institution | None) -> None:
    if location is not None and (institution is None or location.institution_id != institution.pk):
        raise ValidationError(
            {"default_location": _("De vestiging hoort niet bij deze instelling.")}
        )


def _pending_for_update(invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise DomainError(_("Deze uitnodiging is al aangenomen of ingetrokken."))
    return invitation


def resend_invitation(*, actor, invitation: Invitation) -> tuple[Invitation, str]:
    """A new link (the old one stops working) valid for another ``MIV_INVITATION_DAYS``."""
    with transaction.atomic():
        invitation = _pending_for_update(invitation)
        check_manage(actor, invitation.institution)
        secret = _new_secret()
        invitation.secret_hash = hash_secret(secret)
        invitation.expires_at = timezone.now() + timedelta(days=invitation_days())
        invitation.save(update_fields=["secret_hash", "expires_at"])
        audit.record(
            actor=actor,
            action=AuditAction.INVITATION_RESENT,
            institution=invitation.institution,
            subject=invitation.email,
        )
    return invitation, secret


def revoke_invitation(*, actor, invitation: Invitation) -> None:
    with transaction.atomic():
        invitation = _pending_for_update(invitation)
        check_manage(actor, invitation.institution)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action=AuditAction.INVITATION_REVOKED,
            institution=invitation.institution,
            subject=invitation.email,
        )


def find_invitation(secret: str) -> Invitation | None:
    """The pending invitation of a link, or None (unknown, used, revoked or expired)."""
    if not secret or len(secret) > 100:
        return None
    return (
        Invitation.objects.pending()
        .select_related("institution", "default_location")
        .filter(secret_hash=hash_secret(secret))
        .first()
    )


def accept_invitation(*, invitation: Invitation, user) -> Membership:
    """``user`` takes up the invitation: the membership is created (or its role updated),
    the link is spent. The user is the actor."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.pending:
            raise DomainError(_("Deze uitnodiging is verlopen of al gebruikt."))
        defaults = {"role": invitation.role}
        if invitation.role == Role.RESEARCHER:
            defaults["named_access"] = invitation.named_access
        elif invitation.default_location_id:
            defaults["default_location"] = invitation.default_location
        membership, _created = Membership.objects.update_or_create(
            user=user, institution=invitation.institution, defaults=defaults
        )
        membership.full_clean()
        if not user.email:
            user.email = invitation.email
            user.save(update_fields=["email"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            actor=user,
            action=AuditAction.INVITATION_ACCEPTED,
            institution=invitation.institution,
            subject=user.get_username(),
            changes={"email": invitation.email, "role": [None, invitation.role]},
        )
    return membership


def create_account(*, invitation: Invitation, username: str, password: str, **names):
    """A new local account for the invitee (a password they chose), then accepted."""
    User = get_user_model()
    with transaction.atomic():
        user = User(username=username, email=invitation.email, **names)
        user.set_password(password)
        user.full_clean()
        user.save()
        accept_invitation(invitation=invitation, user=user)
    return user


# --- Members ---------------------------------------------------------------------------------


def add_membership(
    *,
    actor,
    user,
    role: str,
    institution: Institution | None = None,
    named_access: bool = False,
    default_location: Location | None = None,
) -> Membership:
    """Give an existing account a role directly (the admin; everyone else invites)."""
    with transaction.atomic():
        check_manage(actor, institution)
        membership = Membership(
            user=user,
            institution=institution,
            role=role,
            named_access=named_access and role == Role.RESEARCHER,
            default_location=default_location,
        )
        membership.full_clean()
        membership.save()
        audit.record(
            actor=actor,
            action=AuditAction.ROLE_CHANGED,
            institution=institution,
            subject=user.get_username(),
            changes={"role": [None, role]},
        )
    return membership


def _guard_coordinators(actor, membership: Membership, *, losing: bool) -> None:
    """A coordinator does not demote or deactivate themselves. (Anyone else a coordinator
    can manage leaves the institution with at least one coordinator: the actor.)"""
    if actor is None or is_administrator(actor) or not losing:
        return
    if membership.user_id == actor.pk:
        raise DomainError(_("U kunt uw eigen rol niet wijzigen of uzelf deactiveren."))


def _end_sessions(user) -> int:
    """Delete the user's stored sessions, so that activating the account again later does
    not bring an old session back. (Refusal itself does not depend on this: Django's
    backends refuse an inactive user on every request.) Sessions live in the database
    (Django's default engine); they end after ``SESSION_IDLE_SECONDS`` anyway."""
    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return 0
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            SessionStore = import_string(settings.SESSION_ENGINE + ".SessionStore")
            SessionStore(session.session_key).delete()
            ended += 1
    return ended


def _membership_for_update(actor, membership: Membership) -> Membership:
    membership = (
        # of=self: PostgreSQL locks no rows of the outer join (a researcher has none).
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "institution")
        .get(pk=membership.pk)
    )
    check_manage(actor, membership.institution)
    if membership.user.is_superuser and not (actor is None or is_administrator(actor)):
        raise PermissionDenied(_("Een beheerder wordt door beheerders beheerd."))
    return membership


def change_member(
    *,
    actor,
    membership: Membership,
    role: str | None = None,
    default_location: Location | None | bool = False,
    named_access: bool | None = None,
) -> Membership:
    """Change a member's role (registrar <-> coordinator), fixed location or, for a
    researcher, named access (administrators). ``default_location=False``: unchanged."""
    with transaction.atomic():
        membership = _membership_for_update(actor, membership)
        before = {
            "role": membership.role,
            "default_location": membership.default_location,
            "named_access": membership.named_access,
        }
        if role is not None and role != membership.role:
            if Role.RESEARCHER in (role, membership.role):
                raise ValidationError({"role": _("Een onderzoeker krijgt geen andere rol.")})
            _guard_coordinators(actor, membership, losing=membership.role == Role.COORDINATOR)
            membership.role = role
        if default_location is not False:
            membership.default_location = default_location
        if named_access is not None and membership.role == Role.RESEARCHER:
            if not (actor is None or is_administrator(actor)):
                raise PermissionDenied(_("Alleen beheerders wijzigen de toegang van onderzoekers."))
            membership.named_access = named_access
        membership.full_clean()
        membership.save()
        diff = {
            key: [old, getattr(membership, key)]
            for key, old in before.items()
            if old != getattr(membership, key)
        }
        if diff:
            audit.record(
                actor=actor,
                action=AuditAction.ROLE_CHANGED,
                institution=membership.institution,
                subject=membership.user.get_username(),
                changes=diff,
            )
        membership.user._miv_memberships = None
    return membership


def deactivate_member(*, actor, membership: Membership) -> str:
    """Refuse a member at once (see the module docstring). Returns the audit action:
    ``member_deactivated`` (the account) or ``member_removed`` (only this membership)."""
    with transaction.atomic():
        membership = _membership_for_update(actor, membership)
        user = membership.user
        _guard_coordinators(actor, membership, losing=True)
        elsewhere = Membership.objects.filter(user=user).exclude(pk=membership.pk)
        if elsewhere.exists() or user.is_superuser:
            membership.delete()
            action = AuditAction.MEMBER_REMOVED
        else:
            if not user.is_active:
                return ""
            type(user).objects.filter(pk=user.pk).update(is_active=False)
            AuthToken.objects.filter(user=user).delete()
            _end_sessions(user)
            action = AuditAction.MEMBER_DEACTIVATED
        audit.record(
            actor=actor,
            action=action,
            institution=membership.institution,
            subject=user.get_username(),
            changes={"role": [membership.role, None]},
        )
    return action


def activate_member(*, actor, membership: Membership) -> bool:
    """Let a deactivated member in again (with the role they had). False if active."""
    with transaction.atomic():
        membership = _membership_for_update(actor, membership)
        user = membership.user
        if user.is_active:
            return False
        type(user).objects.filter(pk=user.pk).update(is_active=True)
        audit.record(
            actor=actor,
            action=AuditAction.MEMBER_ACTIVATED,
            institution=membership.institution,
            subject=user.get_username(),
            changes={"role": [None, membership.role]},
        )
    return True
