"""Sent after commit when the set of submitted responses of a school year changes (a
response is submitted or reopened): the figures of that year are then out of date.
Arguments: ``school_year``. Nothing listens yet; the figures job will (phase 2 of issue 15),
as ``reporting/receivers.py`` does for incidents."""

from django.dispatch import Signal

submitted_responses_changed = Signal()
