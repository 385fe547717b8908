"""Tabel 5.2 for a school year: are the institutions that submitted the questionnaire (the
sample) like all institutions (the population), by region and by size?

The test and its limits are :func:`reporting.representativeness.table_5_2` (exact
Freeman–Halton test, size classes < 10,000 / 10,000–15,000 / > 15,000 students); this module
gathers its inputs and puts labels on the result.

Decisions:

* The population is the year's population of the incident figures
  (:func:`reporting.coverage_data.institution_years`), so Tabel 5.1 and 5.2 describe the same
  institutions. A submitted response of an institution outside it (inactive, without
  registrations or a student count that year) is not in the test; ``outside`` counts them.
* Published whenever the year's sector figures are: it says how many institutions per region
  and size class answered, not what they answered (the report prints the same table).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from incidents.choices import Region
from miv.numbers import format_number
from reporting import representativeness as test
from reporting.coverage_data import institution_years, limit_text


def _stratum_label(dimension: str, category: str) -> str:
    if dimension == "region":
        return str(Region(category).label)
    return {
        test.SIZE_SMALL: _("< %(n)s studenten") % {"n": format_number(10_000, 0)},
        test.SIZE_MEDIUM: _("%(low)s – %(high)s studenten")
        % {"low": format_number(10_000, 0), "high": format_number(15_000, 0)},
        test.SIZE_LARGE: _("> %(n)s studenten") % {"n": format_number(15_000, 0)},
    }[category]


def _limit(code: str) -> str:
    if code == "self_selection":
        return _(
            "Instellingen kiezen zelf of zij de vragenlijst invullen; zij kunnen verschillen op "
            "kenmerken die hier niet zichtbaar zijn, zoals hoe actief zij met veiligheid "
            "bezig zijn."
        )
    return limit_text(code)


def table_5_2(school_year: str, respondents: Iterable[int]) -> dict[str, Any]:
    """Tabel 5.2 of ``school_year`` for the institutions ``respondents`` (ids), for the page
    and the research API: per dimension its rows, p-value and method; the limits."""
    population = institution_years(school_year)
    ids = {i.institution_id for i in population}
    respondents = set(respondents)
    sample = respondents & ids
    regions = {i.institution_id: i.region for i in population}
    students = {i.institution_id: i.students for i in population}
    results = test.table_5_2(regions, students, sample)
    dimensions = []
    for result in results:
        dimensions.append(
            {
                "dimension": result.dimension,
                "label": _("Regio") if result.dimension == "region" else _("Grootte"),
                "rows": [
                    {
                        "category": s.category,
                        "label": _stratum_label(result.dimension, s.category),
                        "sample": s.sample_n,
                        "sample_share": s.sample_share,
                        "population": s.population_n,
                        "population_share": s.population_share,
                        "difference_pp": s.difference_pp,
                    }
                    for s in result.strata
                ],
                "sample_unknown": result.sample_unknown,
                "population_unknown": result.population_unknown,
                "p_value": result.p_value,
                "method": result.method,
            }
        )
    limits = sorted({code for r in results for code in r.limits}, key=_limit_order)
    return {
        "school_year": school_year,
        "respondents": len(sample),
        "population": len(population),
        "outside": len(respondents - ids),
        "dimensions": dimensions,
        "limits": [_limit(code) for code in limits],
    }


def _limit_order(code: str) -> int:
    order = (*test.LIMITS, "small_expected", "approximate")
    return order.index(code) if code in order else len(order)
