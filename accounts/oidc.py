"""Sign-in with the institution account: OpenID Connect through mozilla-django-oidc
(SURFconext, or any provider), configured by environment (``OIDC_*`` in
``miv/settings.py``; the README shows how). Unconfigured, the sign-in pages answer 404
and the login page offers only the password.

Who gets in (:func:`resolve_user`), in this order:

1. an account already linked to this provider's subject (``OIDCIdentity``): if it is
   active; a deactivated one is refused, unless a new invitation for its address waits;
2. a pending invitation for the (verified) e-mail address: the account with that address
   takes it up, or a new one is made (no password), and the subject is linked;
3. an existing, active member account with that address, not an administrator: linked;
4. anyone else is refused with a clear page (:func:`failure`): no account is made, so
   nobody gets rights by signing in.

The e-mail address must be verified by the provider (claim ``email_verified``) unless
``OIDC_TRUST_EMAIL`` says the provider vouches for every address it sends (an
institution's own directory does; SURFconext passes the institution's address on).
The ID token is checked for signature, expiry, nonce (mozilla-django-oidc), audience and,
when ``OIDC_OP_ISSUER`` is set, issuer (here).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from incidents.models import Membership

from . import audit
from .choices import AuditAction
from .members import accept_invitation, normalise_email
from .models import Invitation, OIDCIdentity

logger = logging.getLogger(__name__)

FAILURE_KEY = "miv_oidc_failure"
# Why a sign-in was refused; the failure page explains each.
NO_ACCESS, DEACTIVATED, UNVERIFIED, AMBIGUOUS, ERROR = (
    "no_access",
    "deactivated",
    "unverified",
    "ambiguous",
    "error",
)


def oidc_enabled() -> bool:
    return bool(
        getattr(settings, "OIDC_RP_CLIENT_ID", "")
        and getattr(settings, "OIDC_OP_AUTHORIZATION_ENDPOINT", "")
    )


class Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _username_for(email: str) -> str:
    User = get_user_model()
    base = email[:140]
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def resolve_user(*, issuer: str, subject: str, claims: dict):
    """The user this institution account signs in as, per the module docstring; raises
    :class:`Refused` otherwise."""
    User = get_user_model()
    email = normalise_email(claims.get("email") or "")
    verified = claims.get("email_verified") is True or getattr(settings, "OIDC_TRUST_EMAIL", False)
    with transaction.atomic():
        identity = (
            OIDCIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        invitations = (
            list(Invitation.objects.pending().filter(email=email).select_for_update())
            if email and verified
            else []
        )
        if identity is not None:
            user = identity.user
        elif not email:
            raise Refused(NO_ACCESS)
        elif not verified:
            raise Refused(UNVERIFIED)
        else:
            same_address = list(User.objects.filter(email__iexact=email).exclude(is_superuser=True))
            if len(same_address) > 1:
                raise Refused(AMBIGUOUS)
            user = same_address[0] if same_address else None
            if user is None and not invitations:
                raise Refused(NO_ACCESS)
            if user is not None and not invitations:
                if not (user.is_active and Membership.objects.filter(user=user).exists()):
                    raise Refused(NO_ACCESS if user.is_active else DEACTIVATED)
            if user is None:
                user = User(
                    username=_username_for(email),
                    email=email,
                    first_name=(claims.get("given_name") or "")[:150],
                    last_name=(claims.get("family_name") or "")[:150],
                )
                user.set_unusable_password()
                user.save()
            identity = OIDCIdentity.objects.create(
                user=user, issuer=issuer, subject=subject, email=email
            )
            audit.record(
                actor=user,
                action=AuditAction.ACCOUNT_LINKED,
                subject=user.get_username(),
                changes={"issuer": issuer},
            )
        if not user.is_active:
            if not invitations:
                raise Refused(DEACTIVATED)
            # Invited again after being deactivated: the invitation lets them back in.
            User.objects.filter(pk=user.pk).update(is_active=True)
            user.is_active = True
        for invitation in invitations:
            accept_invitation(invitation=invitation, user=user)
        if not (user.is_superuser or Membership.objects.filter(user=user).exists()):
            raise Refused(NO_ACCESS)
        OIDCIdentity.objects.filter(pk=identity.pk).update(
            last_login_at=timezone.now(), email=email or identity.email
        )
    return user


class InstitutionAccountBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with MIV's rules for who gets in. Inert (answers
    None) when OIDC is not configured or the credentials are a username and password."""

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()
        if oidc_enabled():
            super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        if not oidc_enabled() or request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except Refused as refused:
            request.session[FAILURE_KEY] = refused.reason
            logger.info("institution sign-in refused: %s", refused.reason)
        except requests.RequestException as exc:
            # The provider cannot be reached or answered nonsense: a page, not a 500.
            request.session[FAILURE_KEY] = ERROR
            logger.warning("institution sign-in failed: %s", type(exc).__name__)
        return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("ID token from another issuer")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo is about another subject")
        return resolve_user(issuer=payload.get("iss", ""), subject=payload["sub"], claims=claims)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # As Django's ModelBackend: a deactivated account's session ends at once.
        return user if user is not None and user.is_active else None


class SignInView(OIDCAuthenticationRequestView):
    """``/accounts/oidc/login/``: off to the provider (404 when not configured)."""

    def __init__(self, *args, **kwargs):
        if oidc_enabled():
            super().__init__(*args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        request.session.pop(FAILURE_KEY, None)
        return super().dispatch(request, *args, **kwargs)


BACKEND_PATH = "accounts.oidc.InstitutionAccountBackend"


class CallbackView(OIDCAuthenticationCallbackView):
    """``/accounts/oidc/callback/``: back from the provider; a refusal goes to the
    failure page, which says why.

    The code is exchanged by :class:`InstitutionAccountBackend` asked directly, not through
    ``django.contrib.auth.authenticate()`` as mozilla-django-oidc does: that would signal a
    failed login without a username on every refusal, which django-axes counts together
    (per address, or for everyone), so a few refused colleagues behind one school network
    would lock the institution sign-in for all. Guessing passwords is the provider's
    concern; the state, nonce and PKCE checks are kept as in the library."""

    def dispatch(self, request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state")
        if request.GET.get("error") or "code" not in request.GET or state not in states:
            if state in states:
                # A spent or refused state is never accepted again (replay).
                del request.session["oidc_states"][state]
                request.session.save()
            if request.GET.get("error") and request.user.is_authenticated:
                auth.logout(request)
            return self.login_failure()
        nonce = states[state]["nonce"]
        code_verifier = states[state].get("code_verifier")
        del request.session["oidc_states"][state]
        request.session.save()
        # As the library: reload the session after the (slow) exchange with the provider,
        # so a change made meanwhile in another tab is not overwritten.
        request.session = request.session.__class__(request.session.session_key)
        user = InstitutionAccountBackend().authenticate(
            request, nonce=nonce, code_verifier=code_verifier
        )
        if user is None or not user.is_active:
            return self.login_failure()
        user.backend = BACKEND_PATH
        self.user = user
        return self.login_success()

    def login_failure(self):
        self.request.session.setdefault(FAILURE_KEY, ERROR)
        return HttpResponseRedirect(reverse("accounts:oidc-failed"))


@never_cache
def failure(request):
    """The clear page for a refused sign-in (Dutch, English in the English interface)."""
    reason = request.session.pop(FAILURE_KEY, ERROR)
    return render(
        request, "accounts/oidc_failed.html", {"reason": reason, "oidc_enabled": oidc_enabled()}
    )
