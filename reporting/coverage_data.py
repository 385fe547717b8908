"""The inputs of :mod:`reporting.coverage` from the database, and its results in words: the
coverage sentence under every sector figure ("17 van 57 instellingen, 35% van de
studenten"), the names of the strata of Tabel 5.1 and the limits of the test.

The population of a school year is the institution list as the figures job sees it: the
active institutions, and inactive ones that have registrations or a student count that
year. So the coverage describes the same institutions as the figures of the year.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents.choices import Region
from incidents.models import Incident, Institution
from miv.numbers import format_number, format_percent

from . import coverage
from .models import StudentCount
from .usability import unusable_institution_ids


def institution_years(school_year: str) -> list[coverage.InstitutionYear]:
    """Every institution of the year's population, with what the coverage needs."""
    registered = set(
        Incident.objects.counted()
        .filter(school_year=school_year)
        .values_list("institution_id", flat=True)
        .order_by()
        .distinct()
    )
    students = dict(
        StudentCount.objects.filter(school_year=school_year).values_list(
            "institution_id", "students"
        )
    )
    marked = unusable_institution_ids(school_year)
    ids = set(Institution.objects.filter(active=True).values_list("pk", flat=True))
    ids |= registered | set(students)
    rows = Institution.objects.filter(pk__in=ids).values_list("pk", "kind", "region")
    return [
        coverage.InstitutionYear(
            institution_id=pk,
            kind=kind,
            region=region,
            students=students.get(pk),
            registered=pk in registered,
            marked_unusable=pk in marked,
        )
        for pk, kind, region in rows.order_by("pk")
    ]


def school_year_coverage(school_year: str) -> coverage.Coverage:
    """Tabel 5.1 of the school year and its tests (five queries)."""
    return coverage.coverage(institution_years(school_year))


def coverage_sentence(result: coverage.Coverage, *, language: str | None = None) -> str:
    """What a sector figure covers, for under the figure: "17 van 57 instellingen, 35% van
    de studenten" / "17 of 57 institutions, 35% of students". Without any student count
    the share is left out rather than shown as 0%."""
    with translation.override(language or translation.get_language()):
        institutions = ngettext(
            "%(usable)s van %(population)s instelling",
            "%(usable)s van %(population)s instellingen",
            result.population,
        ) % {
            "usable": format_number(result.usable, 0),
            "population": format_number(result.population, 0),
        }
        if result.student_share is None:
            return institutions
        return _("%(institutions)s, %(share)s van de studenten") % {
            "institutions": institutions,
            "share": format_percent(result.student_share),
        }


def stratum_label(dimension: str, category: str) -> str:
    """The row name of Tabel 5.1, in the active language."""
    if dimension == "size":
        return {
            coverage.SIZE_SMALL: _("< %(n)s studenten") % {"n": format_number(4000, 0)},
            coverage.SIZE_MEDIUM: _("%(low)s – %(high)s studenten")
            % {"low": format_number(4000, 0), "high": format_number(15000, 0)},
            coverage.SIZE_LARGE: _("> %(n)s studenten") % {"n": format_number(15000, 0)},
        }[category]
    if dimension == "kind":
        return {
            coverage.KIND_ROC: _("ROC"),
            coverage.KIND_COLLEGE: _("Beroepscollege (AOC, vakinstelling)"),
        }[category]
    return str(Region(category).label)


def dimension_label(dimension: str) -> str:
    return {"size": _("Grootte"), "kind": _("Type"), "region": _("Regio")}[dimension]


def limit_text(code: str) -> str:
    """One limit of the representativeness test, spelled out."""
    texts = {
        "not_proof": _(
            "Een hoge p-waarde bewijst niet dat de instellingen representatief zijn: met enkele "
            "tientallen instellingen vindt de toets alleen grote verschillen."
        ),
        "one_dimension": _(
            "Elke indeling (grootte, type, regio) is apart getoetst, niet in combinatie."
        ),
        "self_selection": _(
            "Instellingen kiezen zelf of en hoe zij registreren; zij kunnen verschillen op "
            "kenmerken die hier niet zichtbaar zijn."
        ),
        "small_expected": _(
            "Sommige verwachte aantallen zijn kleiner dan 5; de exacte toets blijft geldig, een "
            "chi-kwadraattoets zou dat niet zijn."
        ),
        "approximate": _("De p-waarde is benaderd met een chi-kwadraattoets (te veel tabellen)."),
        coverage.LIMIT_POPULATION: _(
            "De populatie is de instellingenlijst van MIV; een instelling die daar ontbreekt, "
            "ontbreekt ook in de toets."
        ),
    }
    return texts.get(code, code)
