"""What a dashboard shows (school year, group, victim role), parsed from a request, and
what every figure shares: the current sets, the running year's label, the coverage (Tabel 5.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from miv import clock
from miv.schoolyear import is_running, through_date

from .. import coverage_data, publication, selection
from ..choices import FigureSetStatus, ScoreSource, VictimGroup
from ..exports import group_names
from ..models import FigureSet
from ..protection import RESEARCH_VICTIM_ROLES, research_groups

FIGURES = ("5.1", "5.3", "funnel", "6.2", "6.4")
SCORES = {"6.2": ScoreSource.JOB, "6.4": ScoreSource.MO}


# A parameter of the dashboard that cannot be used (its message says why).
BadChoice = selection.InvalidSelection


@dataclass(frozen=True)
class Choice:
    """What the dashboard shows: a school year, a group and a victim role."""

    school_year: str
    group: str
    victim_role: str

    def as_query(self) -> dict[str, str]:
        return {
            "school_year": self.school_year,
            "group": self.group,
            "victim_role": self.victim_role,
        }


def current_sets() -> dict[str, int]:
    """School year -> id of its current set, oldest first."""
    return dict(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT)
        .order_by("school_year")
        .values_list("school_year", "pk")
    )


def options() -> dict[str, list[tuple[str, str]]]:
    """The choices the page offers (the fixed combinations of the research API)."""
    names = group_names()
    roles = dict(VictimGroup.choices)
    return {
        "school_years": [(y, year_label(y)) for y in reversed(list(current_sets()))],
        "groups": [(g, names.get(g, g)) for g in research_groups()],
        "victim_roles": [(str(r), str(roles[r])) for r in RESEARCH_VICTIM_ROLES],
    }


def running_year(school_year: str) -> dict[str, Any] | None:
    """The "t/m" of a school year that is still running today (None for a complete one):
    its figures cover 1 August up to and including that date."""
    day = clock.today()
    if not is_running(school_year, day):
        return None
    through = through_date(school_year, day)
    return {
        "school_year": school_year,
        "through": date_format(through, "j F Y"),
        "through_short": short_date(through),
        "through_date": through.isoformat(),
    }


def withheld_wholesale(school_year: str) -> bool:
    """Whether the year's current publication withholds every count and sector figure from
    outside readers, because its audit did not finish (:func:`reporting.publication.compute`,
    the fail safe). The page says so, instead of only "niet gepubliceerd" in every cell."""
    set_id = current_sets().get(school_year)
    stored = publication.stored(set_id) if set_id is not None else None
    return bool(stored and stored["audit"].get("withheld_all"))


def short_date(day) -> str:
    """ "3 dec" in Dutch (months in lower case), "3 Dec" in English."""
    dutch = (translation.get_language() or "nl").startswith("nl")
    return date_format(day, "j b" if dutch else "j M")


def year_label(school_year: str) -> str:
    """ "2026-2027 (lopend, t/m 2 december 2026)" for the running year, else the year."""
    running = running_year(school_year)
    if running is None:
        return school_year
    return _("%(year)s (lopend, t/m %(date)s)") % {
        "year": school_year,
        "date": running["through"],
    }


def coverage(school_year: str) -> dict[str, Any]:
    """What the sector figures of a school year cover, in words and numbers (Tabel 5.1)."""
    result = coverage_data.school_year_coverage(school_year)
    dimensions = []
    for dimension in ("size", "kind", "region"):
        test = result.tests["usable"][dimension]
        dimensions.append(
            {
                "label": coverage_data.dimension_label(dimension),
                "rows": [
                    {
                        "label": coverage_data.stratum_label(dimension, row.category),
                        "population": row.population,
                        "population_share": row.population_share,
                        "registered": row.registered,
                        "registered_share": row.registered_share,
                        "usable": row.usable,
                        "usable_share": row.usable_share,
                    }
                    for row in result.rows(dimension)
                ],
                "p_value": test.p_value,
                "unknown": test.population_unknown,
            }
        )
    limits = result.tests["usable"]["size"].limits
    return {
        "school_year": school_year,
        "sentence": _("Dekking %(year)s: %(coverage)s.")
        % {"year": school_year, "coverage": coverage_data.coverage_sentence(result)},
        "usable": result.usable,
        "registered": result.registered,
        "population": result.population,
        "student_share": result.student_share,
        "dimensions": dimensions,
        "limits": [coverage_data.limit_text(code) for code in limits],
    }


def parse_choice(params: Mapping[str, str]) -> Choice | None:
    """The choice a request names (:mod:`reporting.selection`, the publication's
    combinations only); defaults: the latest complete school year, total, all. None when no
    figures have been computed yet. BadChoice for values not offered."""
    if not current_sets():
        return None
    filled = {name: value for name, value in params.items() if value.strip()}
    try:
        chosen = selection.parse_selection(filled, fixed=True)
    except selection.NoFiguresForYear as error:
        raise BadChoice("school_year", error.message) from None
    return Choice(chosen.school_year, chosen.group.code, chosen.victim_role)
