"""School years (schooljaren): 1 August to 31 July, written ``2022-2023``. No Django."""

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
