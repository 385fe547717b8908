"""Signals other apps listen to, so incidents need not know about them."""

from django.dispatch import Signal

# Sent inside the transaction that created, changed, closed or withdrew incidents (so a
# listener's bookkeeping commits with the change); a listener defers anything outside the
# database with ``transaction.on_commit``. Arguments: ``school_years`` (a set of
# "2022-2023" strings).
incidents_changed = Signal()
