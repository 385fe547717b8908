"""Signals for the figures, so importers need not know how recomputation works."""

from django.dispatch import Signal

# Sent after commit when student counts or survey scores changed.
# Arguments: ``school_years`` (a set of "2022-2023" strings, or None for "all years").
figure_inputs_changed = Signal()

# Sent when the yearly export lists its tables, so an app above reporting (the questionnaire)
# adds its own table without reporting importing it. No arguments; each receiver returns a
# list of ``reporting.exports.ExportPart``.
yearly_export_parts = Signal()

# Sent by the figures job when a school year's figure set is computed and current, so apps
# above reporting compute their figures of that year in the job too (the questionnaire's
# 6.1, 6.3 and 6.5 and their audit). Arguments: ``school_year``. Sent with ``send_robust``:
# a failing receiver is logged and does not undo the incident figures.
figure_set_computed = Signal()
