"""Cell values in files from the outside world: dates, times, yes/no and choices as people
write them (``14-03-2023 10:15``, ``ja``, ``Medewerker``), parsed the same way by every
import. No models here."""

from __future__ import annotations

import re
from datetime import date, time

from django.utils import translation

from .csvfiles import label_key

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](.+))?$")
_DMY = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})(?:[ T](.+))?$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:\.(\d{1,6}))?)?$")
TRUE = {"ja", "j", "yes", "y", "true", "waar", "1", "x"}
FALSE = {"nee", "n", "no", "false", "onwaar", "0", ""}


def parse_time(value: str) -> time | None:
    match = _TIME.match(value)
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second, micro)


def parse_date(value: str) -> tuple[date, time | None] | None:
    """``2023-03-14``, ``14-03-2023`` or ``14/03/2023``, each optionally followed by a time
    (``10:15`` or ``10:15:00``). None when the value is none of these."""
    match = _ISO.match(value)
    if match:
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    else:
        match = _DMY.match(value)
        if not match:
            return None
        day, month, year, rest = int(match[1]), int(match[3]), int(match[4]), match[5]
    try:
        day_value = date(year, month, day)
    except ValueError:
        return None
    at = None
    if rest:
        at = parse_time(rest.strip())
        if at is None:
            return None
    return day_value, at


def time_text(value: time | None) -> str:
    """``10:15``; seconds only when set (``23:59:30``)."""
    if value is None:
        return ""
    if value.microsecond:
        return value.isoformat()
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def choice_lookup(choices) -> dict[str, str]:
    """value, Dutch label and English label (case/accent-insensitive) -> value."""
    result: dict[str, str] = {}
    for language in ("en", "nl"):
        with translation.override(language):
            for value, label in choices.choices:
                result[label_key(str(label))] = value
    for value in choices.values:
        result[label_key(value)] = value
    return result
