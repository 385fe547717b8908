"""Run a POST at most once per idempotency key and replay its answer on a retry.

Used by the API (``Idempotency-Key`` header) and the web form (a hidden one-time token),
so a double click, a resubmitted form or a client retry never creates a second incident.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from miv.errors import DomainError

from .models import IdempotencyRecord

MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


@dataclass
class Outcome:
    status_code: int
    body: Any = None
    location: str = ""
    replayed: bool = False


def fingerprint(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()


def run_once(
    *, user, key: str | None, request_fingerprint: str, produce: Callable[[], Outcome]
) -> Outcome:
    """Run ``produce`` once for ``(user, key)``; later calls get the stored outcome.

    The key is stored with the outcome in the same transaction as the work, so a first
    call costs one extra write. A retry runs ``produce`` too, then finds the key taken
    (the unique constraint), rolls its own work back and replays the stored answer. A
    concurrent call with the same key blocks on the first call's uncommitted row and
    replays its answer once it commits. If ``produce`` raises, nothing is stored and the
    next call with the key runs again.
    """
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH:
        # Bad input, not a conflict: the API answers 400 with the header named.
        raise ValidationError(
            {"Idempotency-Key": [_("De Idempotency-Key is te lang (max. 200 tekens).")]},
            code="invalid_key",
        )
    try:
        with transaction.atomic():
            outcome = produce()
            IdempotencyRecord.objects.create(
                user=user,
                key=key,
                fingerprint=request_fingerprint,
                status_code=outcome.status_code,
                body=outcome.body,
                location=outcome.location,
            )
        return outcome
    except (IntegrityError, ValidationError, DomainError):
        # The key is taken (an earlier or a concurrent call), or this retry no longer
        # passes a check the first call passed: the first call's answer counts, if any.
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            raise
    if record.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            _("Deze Idempotency-Key is al gebruikt voor een ander verzoek.")
        ) from None
    return Outcome(record.status_code, record.body, record.location, replayed=True)
