"""Signals for the figures, so importers need not know how recomputation works."""

from django.dispatch import Signal

# Sent after commit when student counts or survey scores changed.
# Arguments: ``school_years`` (a set of "2022-2023" strings, or None for "all years").
figure_inputs_changed = Signal()
