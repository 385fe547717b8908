"""How complete an institution's registrations of one school year look, and the short to-do
list a coordinator sees. Pure: no Django (the counts are gathered by
:mod:`reporting.quality_data`, the to-do items put in words there).

Indicators, over the year's counted (not withdrawn) registrations:

* **completeness**: per field that can be "onbekend", the share that is. ``place`` and the
  time are unknown when left empty; ``perpetrator_role`` is judged over misconduct only
  (an accident has no perpetrator, so "onbekend" is the right answer there);
* **locations without any registration** (active locations only);
* **months without any registration**: of a running year only the months that are over;
* **delay** between occurrence and registration: median days and the share over
  ``LATE_DAYS``, over the incidents registered *in MIV* (an import's registration date is
  the day of the import, which says nothing about the institution's registering);
* **origin**: imported from an earlier register versus registered in MIV.

To-do decisions (thresholds are constants, stated here): a field is a to-do when more than
``UNKNOWN_SHARE_LIMIT`` is unknown; every silent location is one; silent months are, except
July and August (the summer holiday: a silent August is normal and says little); the delay
is a to-do when its median or more than ``LATE_SHARE_LIMIT`` of the registrations is later
than ``LATE_DAYS`` days. A year without any registration is one item, instead of all others.
Limits: these are signs, not proof: a silent month or location may truly have had no
incident, and a filled-in field may be filled in wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

UNKNOWN_SHARE_LIMIT = 0.10
LATE_DAYS = 7
LATE_SHARE_LIMIT = 0.25
HOLIDAY_MONTHS = (7, 8)
FIELDS = ("place", "occurred_at", "victim_role", "perpetrator_role", "injury")

# To-do items.
NO_REGISTRATIONS = "no_registrations"
UNKNOWN_FIELD = "unknown_field"
SILENT_LOCATIONS = "silent_locations"
SILENT_MONTHS = "silent_months"
LATE = "late"


@dataclass(frozen=True)
class QualityInputs:
    """What :func:`assess` needs, as the query gathers it."""

    school_year: str
    first_day: date
    through: date | None  # the "t/m" date; None: the year has not begun
    running: bool
    incidents: int
    # field -> (unknown, total the share is over)
    unknown: Mapping[str, tuple[int, int]]
    # active location name -> registrations in the year
    locations: Mapping[str, int]
    # first day of a month -> registrations in it
    months: Mapping[date, int]
    delays: Iterable[int]  # days, of the registrations made in MIV
    imported: int
    registered_in_miv: int


@dataclass(frozen=True)
class FieldCompleteness:
    field: str
    unknown: int
    total: int

    @property
    def share(self) -> float | None:
        return self.unknown / self.total if self.total else None


@dataclass(frozen=True)
class Delay:
    n: int
    median_days: float | None
    late: int

    @property
    def late_share(self) -> float | None:
        return self.late / self.n if self.n else None


@dataclass(frozen=True)
class Todo:
    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationQuality:
    school_year: str
    through: date | None
    running: bool
    incidents: int
    completeness: tuple[FieldCompleteness, ...]
    silent_locations: tuple[str, ...]
    months_checked: tuple[date, ...]
    silent_months: tuple[date, ...]
    delay: Delay
    imported: int
    registered_in_miv: int
    todo: tuple[Todo, ...]

    @property
    def imported_share(self) -> float | None:
        total = self.imported + self.registered_in_miv
        return self.imported / total if total else None


def months_checked(first_day: date, through: date | None) -> list[date]:
    """First days of the months from ``first_day`` that are over by ``through``."""
    if through is None:
        return []
    months = []
    month = date(first_day.year, first_day.month, 1)
    while True:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if following > through + timedelta(days=1):  # its last day is after ``through``
            return months
        months.append(month)
        month = following


def delay_summary(delays: Iterable[int]) -> Delay:
    days = np.asarray(list(delays), dtype=np.float64)
    if days.size == 0:
        return Delay(0, None, 0)
    return Delay(int(days.size), float(np.median(days)), int((days > LATE_DAYS).sum()))


def assess(inputs: QualityInputs) -> RegistrationQuality:
    completeness = tuple(
        FieldCompleteness(name, *inputs.unknown.get(name, (0, 0))) for name in FIELDS
    )
    silent_locations = tuple(sorted(name for name, n in inputs.locations.items() if n == 0))
    checked = tuple(months_checked(inputs.first_day, inputs.through))
    silent_months = tuple(m for m in checked if not inputs.months.get(m))
    delay = delay_summary(inputs.delays)

    todo: list[Todo] = []
    if inputs.incidents == 0:
        if checked:
            todo.append(Todo(NO_REGISTRATIONS))
    else:
        for item in completeness:
            if item.share is not None and item.share > UNKNOWN_SHARE_LIMIT:
                todo.append(
                    Todo(
                        UNKNOWN_FIELD,
                        {"field": item.field, "unknown": item.unknown, "total": item.total},
                    )
                )
        if silent_locations:
            todo.append(Todo(SILENT_LOCATIONS, {"locations": list(silent_locations)}))
        flagged = [m for m in silent_months if m.month not in HOLIDAY_MONTHS]
        if flagged:
            todo.append(Todo(SILENT_MONTHS, {"months": flagged}))
        if delay.n and (
            delay.median_days > LATE_DAYS or (delay.late_share or 0) > LATE_SHARE_LIMIT
        ):
            todo.append(
                Todo(
                    LATE,
                    {"median": delay.median_days, "late": delay.late, "n": delay.n},
                )
            )
    return RegistrationQuality(
        school_year=inputs.school_year,
        through=inputs.through,
        running=inputs.running,
        incidents=inputs.incidents,
        completeness=completeness,
        silent_locations=silent_locations,
        months_checked=checked,
        silent_months=silent_months,
        delay=delay,
        imported=inputs.imported,
        registered_in_miv=inputs.registered_in_miv,
        todo=tuple(todo),
    )
