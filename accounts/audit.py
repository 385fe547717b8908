"""The audit trail of locations, members, invitations and tokens (:class:`AuditEvent`).

Every service of this app writes one entry per change, inside its own transaction, so an
entry exists exactly when the change does."""

from django.db.models import Model

from .models import AuditEvent


def _plain(value):
    if isinstance(value, Model):
        return str(value)
    return value


def record(*, actor, action: str, subject: str, institution=None, changes=None) -> AuditEvent:
    """Write one entry; ``changes`` is ``{field: [old, new]}`` (models are shown by name)."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        institution=institution,
        action=action,
        subject=str(subject)[:254],
        changes={
            key: [_plain(v) for v in value] if isinstance(value, list | tuple) else _plain(value)
            for key, value in (changes or {}).items()
        },
    )
