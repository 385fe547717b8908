"""Marking an institution's registrations of a school year as not usable for the sector
figures, with a reason, and unmarking them (:class:`~reporting.models.UnusableYear`).

Who: the institution's coordinators and administrators (``actor=None`` is the system: a
command, the demo), the rule of :mod:`accounts.permissions`. Each function is atomic, takes
the actor keyword-only, validates with ``full_clean()``, writes an entry in the audit trail
of :mod:`accounts.audit` (shown with the institution's other management actions) and marks
the year's figures stale in the same transaction, so the figures job recomputes the year
without the institution (or with it again).

The year's registrations themselves are not touched: they stay visible and editable for the
institution, and count again as soon as the mark is removed.
"""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.choices import AuditAction
from accounts.permissions import check_manage, may_manage
from incidents.models import Institution

from . import tasks
from .models import UnusableYear


def may_mark(actor, institution: Institution) -> bool:
    """Coordinators of the institution and administrators."""
    return may_manage(actor, institution)


def mark_unusable(
    *, actor, institution: Institution, school_year: str, reason: str
) -> UnusableYear:
    """Mark the year not usable (or change the reason of an existing mark)."""
    with transaction.atomic():
        check_manage(actor, institution)
        mark = (
            UnusableYear.objects.select_for_update()
            .filter(institution=institution, school_year=school_year)
            .first()
        )
        before = mark.reason if mark else None
        if mark is None:
            mark = UnusableYear(institution=institution, school_year=school_year)
        mark.reason = reason
        mark.marked_by = actor if actor is not None and actor.is_authenticated else None
        mark.full_clean()
        if before == mark.reason:
            return mark  # the same mark again (a second click): nothing changes
        mark.save()
        audit.record(
            actor=actor,
            action=AuditAction.YEAR_UNUSABLE,
            institution=institution,
            subject=school_year,
            changes={"reason": [before, mark.reason]},
        )
        if before is None:
            tasks.note_inputs_changed([school_year])
    return mark


def unmark_unusable(*, actor, institution: Institution, school_year: str) -> bool:
    """Make the year usable again. False when it was not marked (nothing changes)."""
    with transaction.atomic():
        check_manage(actor, institution)
        mark = (
            UnusableYear.objects.select_for_update()
            .filter(institution=institution, school_year=school_year)
            .first()
        )
        if mark is None:
            return False
        reason = mark.reason
        mark.delete()
        audit.record(
            actor=actor,
            action=AuditAction.YEAR_USABLE,
            institution=institution,
            subject=school_year,
            changes={"reason": [reason, None]},
        )
        tasks.note_inputs_changed([school_year])
    return True


def unusable_institution_ids(school_year: str) -> set[int]:
    return set(
        UnusableYear.objects.filter(school_year=school_year).values_list(
            "institution_id", flat=True
        )
    )
