"""Template filters for numbers in the reader's language (see :mod:`miv.numbers`)::

{% load miv_numbers %}
{{ rate|number:1 }}   -> 17,3 (Dutch) / 17.3 (English); "—" for no value
{{ students|number:0 }} -> 24.500 / 24,500
{{ share|percent }}   -> 35% ; {{ share|percent:1 }} -> 35,5% / 35.5%
"""

from django import template

from miv.numbers import format_number, format_percent

register = template.Library()


def _digits(value, default: int) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


@register.filter
def number(value, digits=1) -> str:
    return format_number(value, _digits(digits, 1))


@register.filter
def percent(value, digits=0) -> str:
    return format_percent(value, _digits(digits, 0))
