"""Number formatting per language, against values written out by hand (Dutch: decimal comma,
thousands point; English the reverse), in code and through the template filters."""

import math
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from miv.numbers import csv_number, format_number, format_percent, number_formatter


@pytest.mark.parametrize(
    "value,digits,dutch,english",
    [
        (17.25, 1, "17,3", "17.3"),  # half up, as floatformat
        (0.05, 1, "0,1", "0.1"),
        (17.5, 1, "17,5", "17.5"),
        (1234.5, 1, "1.234,5", "1,234.5"),
        (24500, 0, "24.500", "24,500"),
        (1234567.891, 2, "1.234.567,89", "1,234,567.89"),
        (Decimal("75.90"), 1, "75,9", "75.9"),
        (-3.14159, 3, "-3,142", "-3.142"),
        (-0.01, 1, "0,0", "0.0"),  # no "-0,0"
        (3, 2, "3,00", "3.00"),
    ],
)
def test_format_number(value, digits, dutch, english):
    assert format_number(value, digits, language="nl") == dutch
    assert format_number(value, digits, language="en") == english


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), "geen getal", True])
def test_no_value_is_a_dash_never_nan(value):
    assert format_number(value, language="nl") == "—"
    assert format_percent(value, language="en") == "—"
    assert csv_number(value, language="nl") == ""


def test_percent():
    assert format_percent(0.355, language="nl") == "36%"
    assert format_percent(0.355, 1, language="nl") == "35,5%"
    assert format_percent(0.355, 1, language="en") == "35.5%"
    assert format_percent(17 / 57, language="nl") == "30%"


def test_csv_number_has_no_thousands_separator():
    assert csv_number(1234.56789, language="nl") == "1234,5679"
    assert csv_number(1234.56789, 1, language="en") == "1234.6"


def test_active_language_is_the_default():
    with translation.override("en"):
        assert format_number(1234.5) == "1,234.5"
    with translation.override("nl"):
        assert format_number(1234.5) == "1.234,5"
    with translation.override("de"):  # not offered: Dutch
        assert format_number(1234.5) == "1.234,5"


def test_chart_formatter_keeps_its_language():
    with translation.override("nl"):
        formatter = number_formatter(1)
    with translation.override("en"):
        assert formatter(17.5, 0) == "17,5"
    assert number_formatter(0, language="en")(math.pi * 1000) == "3,142"


def test_template_filters():
    template = Template(
        "{% load miv_numbers %}{{ rate|number:1 }} {{ n|number:0 }} {{ share|percent }} "
        "{{ share|percent:1 }} {{ missing|number }}"
    )
    context = Context({"rate": 17.25, "n": 24500, "share": 0.355, "missing": None})
    with translation.override("nl"):
        assert template.render(context) == "17,3 24.500 36% 35,5% —"
    with translation.override("en"):
        assert template.render(context) == "17.3 24,500 36% 35.5% —"
