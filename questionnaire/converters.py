"""URL parts of a response: the institution's BRIN code and the school year."""

from django.urls import register_converter


class SchoolYearConverter:
    regex = r"\d{4}-\d{4}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class BrinConverter:
    regex = r"[0-9A-Za-z]{4}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


register_converter(SchoolYearConverter, "schoolyear")
register_converter(BrinConverter, "brin")
