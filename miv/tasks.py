"""Housekeeping tasks of the project itself (no app data)."""

from celery import shared_task
from django.utils import timezone
from knox.models import AuthToken


@shared_task
def delete_expired_api_tokens() -> int:
    """Nightly: delete API tokens past their expiry (they are refused already). Returns the
    number deleted."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
