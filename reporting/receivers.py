"""Recompute figures when their inputs change: incidents (registration, change, withdrawal),
student counts and survey scores. Connected in ``ReportingConfig.ready``."""

from django.core.signals import request_finished, request_started
from django.dispatch import receiver

from incidents.signals import incidents_changed

from . import tasks
from .models import SafetyScore
from .signals import figure_inputs_changed


@receiver(incidents_changed, dispatch_uid="reporting.incidents_changed")
def incidents_changed_receiver(sender, school_years=None, **kwargs) -> None:
    # An incident change always names its school years; never treat "none" as "all".
    if school_years:
        tasks.note_inputs_changed(school_years)


@receiver(figure_inputs_changed, dispatch_uid="reporting.figure_inputs_changed")
def figure_inputs_changed_receiver(sender, school_years=None, **kwargs) -> None:
    # None means "all years" (e.g. a score file that covers every year).
    if school_years is None:
        tasks.note_inputs_changed(None)
    elif sender is SafetyScore:
        # A survey held in school year S is the default survey of S and of the years after
        # it (until the next survey), so all of those change.
        tasks.note_inputs_changed(set(school_years), onwards=True)
    else:
        tasks.note_inputs_changed(set(school_years))


@receiver(request_started, dispatch_uid="reporting.request_started")
def request_started_receiver(sender, **kwargs) -> None:
    tasks.start_request()


@receiver(request_finished, dispatch_uid="reporting.request_finished")
def request_finished_receiver(sender, **kwargs) -> None:
    # After the response: the embedded default's recomputation, never inside a request.
    tasks.finish_request()
