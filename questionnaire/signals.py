"""Sent after commit when the set of submitted responses of a school year changes (a
response is submitted or reopened): the figures of that year are then out of date.
Arguments: ``school_year``. Nothing listens: figures 5.4–5.9 are counted when read (a dozen
queries), and 6.1/6.3/6.5 are computed by the figures job or, after a change, by the first
reader (:mod:`questionnaire.combined`)."""

from django.dispatch import Signal

submitted_responses_changed = Signal()
