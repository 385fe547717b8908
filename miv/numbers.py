"""Numbers as a reader of each language writes them: one place for templates (the filters in
:mod:`miv.templatetags.miv_numbers`), chart code and CSV files.

Dutch writes a decimal comma and a point between thousands (``1.234,5``; ``35%``), English
the other way round (``1,234.5``). The patterns come from Babel's CLDR data; the language
is the active Django language unless one is passed.

Decisions:

* Rounding is half up on the number as written (``0.25`` -> ``0,3``), as Django's
  ``floatformat`` does, not Babel's default half-even: the tables and the charts must agree.
* ``None`` (and NaN or infinity: what cannot be computed) becomes ``empty`` ("—" by default),
  never "nan".
* CSV for Dutch Excel (``csv_number``) has no thousands separator: Excel with Dutch settings
  reads ``1234,5`` as a number, but a separator it would take for a date or text in some
  cells. The API keeps plain JSON numbers with ``.``; nothing here is for the API.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable

from babel.numbers import format_decimal as babel_decimal
from django.utils import translation

EMPTY = "—"
DEFAULT_LANGUAGE = "nl"


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or DEFAULT_LANGUAGE).split("-")[0]
    return code if code in ("nl", "en") else DEFAULT_LANGUAGE


def _value(value) -> decimal.Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = decimal.Decimal(str(value)) if isinstance(value, float) else decimal.Decimal(value)
    except (decimal.InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _pattern(digits: int, grouping: bool, suffix: str = "") -> str:
    if digits < 0:
        raise ValueError("digits must be 0 or more")
    integer = "#,##0" if grouping else "0"
    return integer + ("." + "0" * digits if digits else "") + suffix


def _format(number: decimal.Decimal, pattern: str, language: str) -> str:
    with decimal.localcontext() as context:
        context.rounding = decimal.ROUND_HALF_UP
        text = babel_decimal(number, format=pattern, locale=language)
    # -0,0 reads as a value below zero that is not there.
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_number(
    value, digits: int = 1, *, language: str | None = None, grouping: bool = True, empty=EMPTY
) -> str:
    """``value`` with ``digits`` decimals: ``format_number(17.25)`` is ``17,3`` in Dutch,
    ``17.3`` in English; ``format_number(24500, 0)`` is ``24.500`` / ``24,500``."""
    number = _value(value)
    if number is None:
        return empty
    return _format(number, _pattern(digits, grouping), _language(language))


def format_percent(share, digits: int = 0, *, language: str | None = None, empty=EMPTY) -> str:
    """A share (0.355) as a percentage: ``36%`` (``35,5%`` with one decimal in Dutch)."""
    number = _value(share)
    if number is None:
        return empty
    # The % in the pattern makes Babel multiply by 100.
    return _format(number, _pattern(digits, True, "%"), _language(language))


def csv_number(value, digits: int = 4, *, language: str | None = None) -> str:
    """A number for a CSV cell: no thousands separator, the language's decimal mark,
    empty for no value."""
    return format_number(value, digits, language=language, grouping=False, empty="")


def number_formatter(digits: int = 1, *, language: str | None = None) -> Callable[..., str]:
    """A function ``(value, position=None) -> str`` for chart axes (matplotlib's
    ``FuncFormatter`` passes the tick position too). The language is fixed when it is made,
    so a chart drawn later (e.g. in a worker) keeps the reader's language."""
    language = _language(language)

    def formatter(value, position=None) -> str:
        return format_number(value, digits, language=language)

    return formatter
