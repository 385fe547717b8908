"""API tokens (django-rest-knox) as their owners manage them: create one with a name and
an expiry (the token is shown once; knox stores only its hash), see when each was last
used, revoke it. ``manage.py create_api_token`` stays for operators.

The last use is recorded by :class:`TokenLastUseMiddleware` after any API request that a
token authenticated, at most once a minute per token (the cache throttles the writes), so
a busy client costs one cache lookup per request, not a database write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import AuthToken

from . import audit
from .choices import AuditAction
from .models import ApiTokenInfo

logger = logging.getLogger(__name__)

# Expiry choices (days) offered in the interface; at most MIV_TOKEN_MAX_DAYS.
EXPIRY_DAYS = (7, 30, 90, 180, 365)
LAST_USE_RESOLUTION = 60  # seconds


def max_token_days() -> int:
    return int(getattr(settings, "MIV_TOKEN_MAX_DAYS", 365))


def expiry_choices() -> list[int]:
    return [days for days in EXPIRY_DAYS if days <= max_token_days()] or [max_token_days()]


@dataclass(frozen=True)
class TokenRow:
    """A token as its owner sees it (never the token itself)."""

    key: str  # knox's token_key: the first characters, to tell tokens apart
    name: str
    created: datetime
    expiry: datetime | None
    last_used_at: datetime | None


def create_token(*, actor, name: str, days: int) -> tuple[AuthToken, str]:
    """A new token for ``actor`` valid ``days`` days; returns knox's row and the token
    (shown once: only its hash is stored)."""
    name = " ".join(name.split())
    if days not in expiry_choices():
        raise ValidationError({"days": _("Kies een geldigheidsduur uit de lijst.")})
    if not name:
        raise ValidationError({"name": _("Geef het token een naam.")})
    with transaction.atomic():
        instance, token = AuthToken.objects.create(user=actor, expiry=timedelta(days=days))
        info = ApiTokenInfo(token=instance, name=name[:100])
        info.full_clean(exclude=["token"])
        info.save()
        audit.record(
            actor=actor,
            action=AuditAction.TOKEN_CREATED,
            subject=actor.get_username(),
            changes={"name": name, "expiry": instance.expiry.isoformat()},
        )
    return instance, token


def tokens_of(user) -> list[TokenRow]:
    """The user's tokens that have not expired, newest first."""
    now = timezone.now()
    rows = (
        AuthToken.objects.filter(user=user)
        .exclude(expiry__lt=now)
        .select_related("miv_info")
        .order_by("-created")
    )
    result = []
    for token in rows:
        info = getattr(token, "miv_info", None)
        result.append(
            TokenRow(
                key=token.token_key,
                name=info.name if info else "",
                created=token.created,
                expiry=token.expiry,
                last_used_at=info.last_used_at if info else None,
            )
        )
    return result


def revoke_token(*, actor, key: str) -> bool:
    """Delete the actor's token(s) with this key; False when there is none (another
    user's token is not found either)."""
    with transaction.atomic():
        tokens = list(
            AuthToken.objects.filter(user=actor, token_key=key).select_related("miv_info")
        )
        if not tokens:
            return False
        for token in tokens:
            info = getattr(token, "miv_info", None)
            token.delete()
            audit.record(
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                subject=actor.get_username(),
                changes={"name": info.name if info else "", "key": key[:8]},
            )
    return True


def record_use(token: AuthToken, *, now: datetime | None = None) -> bool:
    """Note that ``token`` was used, unless that was noted less than a minute ago. True
    when it wrote."""
    key = f"miv:token-used:{token.digest[:32]}"
    try:
        if not cache.add(key, 1, LAST_USE_RESOLUTION):
            return False
    except Exception:  # noqa: BLE001 - a cache outage must not fail an API request
        logger.warning("cache unavailable; token use recorded without throttle")
    now = now or timezone.now()
    updated = ApiTokenInfo.objects.filter(token_id=token.digest).update(last_used_at=now)
    if not updated and AuthToken.objects.filter(digest=token.digest).exists():
        # A token made elsewhere (the command, an older version): start its record now.
        ApiTokenInfo.objects.get_or_create(token_id=token.digest, defaults={"last_used_at": now})
    return True


class TokenLastUseMiddleware:
    """After a request that a knox token authenticated (DRF puts the token on the Django
    request as ``request.auth``), record the token's use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        token = getattr(request, "auth", None)
        if isinstance(token, AuthToken) and response.status_code < 500:
            try:
                record_use(token)
            except Exception:  # noqa: BLE001 - bookkeeping only; the answer stands
                logger.exception("could not record the use of an API token")
        return response
