"""School years (schooljaren): 1 August to 31 July, written ``2022-2023``, and the running
school year (see below). No Django."""

import re
from datetime import date

SCHOOL_YEAR_RE = re.compile(r"^(\d{4})-(\d{4})$")


def school_year_of(day: date) -> str:
    """The school year a date falls in: 31 July 2023 -> 2022-2023, 1 August 2023 -> 2023-2024."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


def parse_school_year(value: str) -> int:
    """The first calendar year of a school year string; ValueError when malformed."""
    match = SCHOOL_YEAR_RE.match(value or "")
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise ValueError(f"{value!r} is not a school year like 2022-2023")
    return int(match.group(1))


def school_year_bounds(value: str) -> tuple[date, date]:
    """First and last day of a school year."""
    start = parse_school_year(value)
    return date(start, 8, 1), date(start + 1, 7, 31)


def school_year_from_start(start: int) -> str:
    return f"{start}-{start + 1}"


def previous_school_years(value: str, count: int) -> list[str]:
    """The ``count`` school years before ``value``, oldest first."""
    start = parse_school_year(value)
    return [school_year_from_start(start - n) for n in range(count, 0, -1)]


# --- The running school year ----------------------------------------------------------------
#
# A school year is *running* on a day from its 1 August to its 31 July; its figures then
# cover the year "t/m" (through) that day only, and are compared with the same part of
# earlier years, never with whole years. "The same part" is by calendar date: through
# 15 December is 1 August-15 December in every year (29 February becomes 28 February in a
# year without it), so holidays and the start of the year line up.


def is_running(value: str, day: date) -> bool:
    """Whether the school year is under way on ``day`` (not before it, not after it)."""
    first, last = school_year_bounds(value)
    return first <= day <= last


def through_date(value: str, day: date) -> date | None:
    """The last day of the school year that has passed by ``day`` (its "t/m" date): ``day``
    itself while the year runs, its 31 July once it is over; None before it has begun."""
    first, last = school_year_bounds(value)
    if day < first:
        return None
    return min(day, last)


def same_date_in(value: str, day: date) -> date:
    """The date in school year ``value`` with ``day``'s month and day of the month."""
    start = parse_school_year(value)
    year = start if day.month >= 8 else start + 1
    if day.month == 2 and day.day == 29 and not _leap(year):
        return date(year, 2, 28)
    return date(year, day.month, day.day)


def year_to_date_bounds(value: str, through: date) -> tuple[date, date]:
    """First day of school year ``value`` and its date matching ``through`` (of any school
    year): the period to compare a running year with."""
    return school_year_bounds(value)[0], same_date_in(value, through)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
