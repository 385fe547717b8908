"""Signals other apps listen to, so incidents need not know about them."""

from django.dispatch import Signal

# Sent after commit when incidents were created, changed, closed or withdrawn.
# Arguments: ``school_years`` (a set of "2022-2023" strings).
incidents_changed = Signal()
