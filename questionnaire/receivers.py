"""The questionnaire's part of other apps' work: its sheet in the yearly export, and figures
6.1, 6.3 and 6.5 computed by the figures job."""

from django.dispatch import receiver

from reporting.signals import figure_set_computed, yearly_export_parts

from . import combined, exports, sector


@receiver(yearly_export_parts, dispatch_uid="questionnaire.yearly_export_parts")
def add_answers_to_yearly_export(sender, **kwargs):
    return [exports.yearly_part()]


@receiver(figure_set_computed, dispatch_uid="questionnaire.figure_set_computed")
def compute_combined_figures(sender, school_year: str, **kwargs) -> None:
    """The figures job of a complete school year also computes 6.1, 6.3 and 6.5 and runs
    their integer-program audit (:func:`combined.bands_safe`), so the first reader after a
    change does not wait for it: the verdict is cached by its inputs in the shared cache."""
    if school_year in sector.published_years():
        combined.combined_figures(school_year)
