"""The engine's time settings: debounce, maximum wait, grace for replaced sets, task limit."""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def _setting(name: str, default: int) -> int:
    return getattr(settings, name, default)


def debounce_seconds() -> int:
    return int(_setting("MIV_FIGURES_DEBOUNCE_SECONDS", 60))


def max_wait_seconds() -> int:
    """A year that keeps changing is recomputed at least this often, burst or not."""
    return int(_setting("MIV_FIGURES_MAX_WAIT_SECONDS", 10 * debounce_seconds()))


def superseded_grace_seconds() -> int:
    """How long a replaced set is kept, so a reader that looked up the current set just
    before the swap can still read it."""
    return int(_setting("MIV_FIGURES_KEEP_SUPERSEDED_SECONDS", 600))


def time_limit_seconds() -> int:
    return int(_setting("CELERY_TASK_TIME_LIMIT", 1800))
