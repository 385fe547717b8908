"""The one clock of the figures: which day MIV takes as today.

Whether a school year is still running, and so up to which day ("t/m") its figures reach,
depends on today. Dashboards, the figures and research API, the yearly export and the
questionnaire's sector figures all ask this one function, so they agree with each other
within a request, and a test sets the day for all of them at once
(``monkeypatch.setattr(clock, "today", ...)``; callers must call ``clock.today()``, not
import the function).
"""

from datetime import date

from django.utils import timezone


def today() -> date:
    """Today in the project's time zone (Europe/Amsterdam)."""
    return timezone.localdate()
