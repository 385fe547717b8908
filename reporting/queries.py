"""The read side of the figures: what the API (and later the dashboards and exports) show.

Every function reads the *current* figure set of a school year in a single statement per
table, so a reader never sees half of an old and half of a new computation. Per-institution
rows go through :func:`reporting.access.institution_rows`; institutions are named with
:meth:`FigureViewer.label`. All results are plain dicts ready for JSON (no NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from miv import clock
from miv.numbers import format_number
from miv.schoolyear import is_running, school_year_bounds, through_date

from . import correlations, groups, stats, surveys
from .access import (
    FigureViewer,
    figure_viewer,
    institution_labels,
    institution_rows,
    protect_rows,
    protection_for,
)
from .choices import FigureSetStatus, ScoreSource, VictimGroup
from .models import FigureSet, InstitutionRate, SafetyScore, ScoreCorrelation, SectorRate
from .protection import SECTOR_VALUE_FIELDS


class FiguresNotComputed(LookupError):
    """There are no (current) figures for what was asked."""


@dataclass(frozen=True)
class Selection:
    """A validated request for figures."""

    school_year: str
    group: groups.Group
    victim_role: str = VictimGroup.ALL


def default_school_year(years: list[str]) -> str:
    """The latest *complete* school year of ``years`` (oldest first): a running year's few
    months are not comparable with whole years, so rankings, correlations and flags use a
    complete year unless one is asked for. The latest year when none is complete."""
    day = clock.today()
    complete = [y for y in years if school_year_bounds(y)[1] < day]
    return (complete or years)[-1]


def latest_computed_year() -> str | None:
    """The default school year of the API: the latest complete one with figures."""
    years = computed_years()
    return default_school_year(years) if years else None


def period(school_year: str) -> dict:
    """Which part of a school year its figures cover, for every answer that carries them:
    ``running`` while the year is under way, and ``through``, its last day covered (today
    for the running year, 31 July for a complete one)."""
    day = clock.today()
    return {
        "running": is_running(school_year, day),
        "through": through_date(school_year, day),
    }


def computed_years() -> list[str]:
    """The school years that have figures, oldest first."""
    return list(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT)
        .order_by("school_year")
        .values_list("school_year", flat=True)
        .distinct()
    )


def has_current_set(school_year: str) -> bool:
    return FigureSet.objects.filter(
        school_year=school_year, status=FigureSetStatus.CURRENT
    ).exists()


def current_set_id(school_year: str) -> int | None:
    """The id of the year's current set: readers with several queries read by this id, so
    a set swapped in between cannot mix old and new rows."""
    return (
        FigureSet.objects.filter(school_year=school_year, status=FigureSetStatus.CURRENT)
        .values_list("pk", flat=True)
        .first()
    )


def _current(queryset, school_year: str):
    return queryset.filter(
        figure_set__school_year=school_year, figure_set__status=FigureSetStatus.CURRENT
    )


def _reason_text(code: str) -> str:
    if code == groups.EXCLUDED_MARKED_UNUSABLE:
        return _(
            "De registraties van dit schooljaar zijn door de instelling of een beheerder als "
            "niet bruikbaar voor de sector gemarkeerd; niet meegeteld in de cijfers en "
            "gemiddelden."
        )
    if code == groups.EXCLUDED_ZERO_STUDENTS:
        return _("Het studentaantal is 0; niet meegeteld in de cijfers en gemiddelden.")
    return _("Geen studentaantal voor dit schooljaar; niet meegeteld in de cijfers en gemiddelden.")


def _fmt(value: float, digits: int = 1) -> str:
    """A number inside a sentence, in the sentence's language (decimal comma in Dutch)."""
    return format_number(value, digits, grouping=False)


def flagged_reason(source: str, survey_year: int | None, point: dict, medians: tuple) -> str:
    """The spelled-out reason an institution is flagged for possible under-registration."""
    rate_median, score_median = medians
    digits = 2 if source == ScoreSource.MO else 1
    return _(
        "De %(source)s-score %(score)s (peiling %(survey_year)s) ligt onder de sectormediaan "
        "%(score_median)s en het aantal geregistreerde incidenten per 1.000 studenten "
        "(%(rate)s) ligt onder de sectormediaan %(rate_median)s: een laag veiligheidsgevoel "
        "met weinig registraties wijst mogelijk op onderregistratie."
    ) % {
        "source": source.upper(),
        "score": _fmt(point["score"], digits),
        "survey_year": survey_year,
        "score_median": _fmt(score_median, digits),
        "rate": _fmt(point["rate"]),
        "rate_median": _fmt(rate_median),
    }


def status_message(status: str, source: str) -> str:
    if status == stats.NOT_ENOUGH_DATA:
        return _(
            "Te weinig gegevens: een correlatie vraagt minstens %(n)d instellingen met zowel "
            "een cijfer als een score."
        ) % {"n": stats.MIN_CORRELATION_N}
    if status == stats.NO_VARIATION:
        return _("Geen spreiding: de cijfers of de scores zijn bij alle instellingen gelijk.")
    if status == groups.NO_SURVEY:
        return _("Er is geen %(source)s-peiling gehouden in of vóór dit schooljaar.") % {
            "source": source.upper()
        }
    return ""


# --- Rates ------------------------------------------------------------------------------------


def institution_rates(user, selection: Selection, institution_id: int | None = None) -> list:
    """The rates per institution the user may see, with disclosure control applied:
    published rows by rate (highest first), withheld rows after them by name (their
    position must not hint at their value)."""
    viewer = figure_viewer(user)
    set_id = current_set_id(selection.school_year)
    if viewer is None or set_id is None:
        return []
    rows = institution_rows(
        user,
        InstitutionRate.objects.filter(
            figure_set_id=set_id, group=selection.group.code, victim_role=selection.victim_role
        ),
    )
    if institution_id is not None:
        rows = rows.filter(institution_id=institution_id)
    rows = list(rows.select_related("institution", "figure_set"))
    covered = period(selection.school_year)
    result = [
        {
            "institution_id": row.institution_id,
            "institution": viewer.label(
                row.institution_id, row.institution.brin, row.institution.pseudonym
            ),
            "school_year": row.school_year,
            "group": row.group,
            "level": row.level,
            "victim_role": row.victim_role,
            "count": row.count,
            "students": row.students,
            "rate_per_1000": row.rate,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "confidence_level": row.figure_set.confidence_level,
            "method": row.method,
            "taxonomy_version": row.taxonomy_version,
            "computed_at": row.computed_at,
            **covered,
        }
        for row in rows
    ]
    return order_rates(protect_rows(user, set_id, result))


def order_rates(rows: list[dict]) -> list[dict]:
    """Published rows by rate, highest first; withheld rows after them by label."""
    published = [r for r in rows if not r["suppressed"]]
    withheld = [r for r in rows if r["suppressed"]]
    published.sort(key=lambda r: (-r["rate_per_1000"], r["institution"] or ""))
    withheld.sort(key=lambda r: r["institution"] or "")
    return published + withheld


# --- Sector -----------------------------------------------------------------------------------


def _excluded(viewer: FigureViewer, excluded: list[dict]) -> list[dict]:
    labels = institution_labels(viewer, [e["institution_id"] for e in excluded])
    return [
        {
            "institution": labels.get(e["institution_id"]),
            "reason_code": e["reason"],
            "reason": _reason_text(e["reason"]),
        }
        for e in excluded
    ]


def sector(user, selection: Selection) -> dict:
    viewer = figure_viewer(user)
    row = (
        _current(SectorRate.objects, selection.school_year)
        .filter(group=selection.group.code, victim_role=selection.victim_role)
        .first()
    )
    if viewer is None or row is None:
        raise FiguresNotComputed(selection)
    data = _sector_data(viewer, row)
    return protect_sector(user, row.figure_set_id, data)


def protect_sector(user, figure_set_id: int, data: dict) -> dict:
    """Disclosure control for a sector row (a dict as :func:`sector` returns)."""
    protection = protection_for(user, figure_set_id)
    withheld: list[str] = []
    if protection is not None:
        hidden = protection.sector_withheld(data["group"], data["victim_role"])
        withheld = [name for name in SECTOR_VALUE_FIELDS if name in hidden]
    for name in withheld:
        data[name] = None
    if protection is not None and data.get("mean_rate") is not None:
        # The publication's precision: the integer audit assumes no more.
        data["mean_rate"] = round(data["mean_rate"], protection.mean_decimals)
    data["suppressed"] = "pooled_count" in withheld
    data["withheld"] = withheld
    return data


def _sector_data(viewer: FigureViewer, row: SectorRate) -> dict:
    return {
        "school_year": row.school_year,
        "group": row.group,
        "level": row.level,
        "victim_role": row.victim_role,
        "institutions": row.institutions,
        "mean_rate": row.mean_rate,
        "mean_ci_low": row.mean_ci_low,
        "mean_ci_high": row.mean_ci_high,
        "mean_method": row.mean_method,
        "pooled_count": row.pooled_count,
        "pooled_students": row.pooled_students,
        "pooled_rate": row.pooled_rate,
        "pooled_ci_low": row.pooled_ci_low,
        "pooled_ci_high": row.pooled_ci_high,
        "pooled_method": row.pooled_method,
        "median": row.median,
        "min": row.min_rate,
        "max": row.max_rate,
        "confidence_level": row.confidence_level,
        "excluded": _excluded(viewer, row.excluded),
        "taxonomy_version": row.taxonomy_version,
        "computed_at": row.computed_at,
        **period(row.school_year),
    }


# --- Correlation ------------------------------------------------------------------------------


def survey_years(source: str) -> list[int]:
    return list(
        SafetyScore.objects.filter(source=source)
        .order_by("survey_year")
        .values_list("survey_year", flat=True)
        .distinct()
    )


def _points(figure_set_id: int, group: str, scores: dict[int, float]) -> list[tuple]:
    """(institution_id, rate, score) of the set's institutions (victim role all) that have a
    score, by institution id: the points of a correlation."""
    rates = InstitutionRate.objects.filter(
        figure_set_id=figure_set_id, group=group, victim_role=VictimGroup.ALL
    ).order_by("institution_id")
    return [
        (inst, rate, scores[inst])
        for inst, rate in rates.values_list("institution_id", "rate")
        if inst in scores
    ]


def _stored(row: ScoreCorrelation, source: str) -> tuple[dict, list[tuple]]:
    frozen = (row.figure_set.scores or {}).get(source) or {}
    scores = {int(k): v for k, v in (frozen.get("scores") or {}).items()}
    data = {
        field: getattr(row, field)
        for field in (
            "survey_year",
            *correlations.CORRELATION_FIELDS,
            "confidence_level",
            *correlations.MEDIANS,
            "flagged",
            "computed_at",
        )
    }
    points = _points(row.figure_set_id, row.group, scores) if row.survey_year else []
    return data, points


def _on_the_fly(row: ScoreCorrelation, source: str, survey_year: int) -> tuple[dict, list]:
    """A correlation with another survey than the stored default: the same set's rates
    against that survey's scores, computed now (a few dozen points)."""
    points = _points(row.figure_set_id, row.group, surveys.survey_scores(source, survey_year))
    rates = np.array([[rate] for _, rate, _ in points], dtype=np.float64).reshape(-1, 1)
    values = np.array([score for *_, score in points], dtype=np.float64)
    ids = [inst for inst, *_ in points]
    result = correlations.correlate_groups(rates, values, ids, True, row.confidence_level)[0]
    data = {
        "survey_year": survey_year,
        **result.statistics(),
        "confidence_level": row.confidence_level,
        "flagged": result.flagged,
        "computed_at": row.computed_at,
    }
    return data, points


def correlation(user, selection: Selection, source: str, survey_year: int | None = None) -> dict:
    """The correlation of the institutions' rates with a survey score. The default survey
    is the latest one held in or before the school year; ``survey_year`` overrides it.

    The correlation row and the rates of its points are read by the id of one set (kept
    for a grace period after it is replaced), so they always belong together."""
    viewer = figure_viewer(user)
    row = (
        _current(ScoreCorrelation.objects, selection.school_year)
        .filter(group=selection.group.code, victim_role=VictimGroup.ALL, source=source)
        .select_related("figure_set")
        .first()
    )
    if viewer is None or row is None:
        raise FiguresNotComputed(selection)
    if survey_year is not None and survey_year != row.survey_year:
        data, points = _on_the_fly(row, source, survey_year)
    else:
        data, points = _stored(row, source)
    medians = (data["rate_median"], data["score_median"])
    status = data["status"]
    hidden, withheld = _protect_correlation(
        user, row.figure_set_id, selection.group.code, points, data
    )
    points = [p for p in points if p[0] not in hidden]
    labels = institution_labels(viewer, [inst for inst, *_ in points])
    # Flags say "below both medians": with the medians withheld, so are the flags. The
    # chart marks every flagged point (an unnamed point reveals no one); the list of named
    # judgements below holds only institutions the user may see by name.
    flagged_ids: set[int] = set()
    if not withheld:
        flagged_ids = {p["institution_id"] for p in data["flagged"]} - hidden
    data["points"] = [
        {
            "institution_id": inst,
            "institution": labels.get(inst),
            "rate_per_1000": rate,
            "score": score,
            "own": inst in viewer.own_institution_ids,
            "flagged": inst in flagged_ids,
        }
        for inst, rate, score in points
    ]
    # Flags are judgements about an institution: only for those the user may see.
    data["flagged"] = [
        {
            "institution_id": p["institution_id"],
            "institution": labels[p["institution_id"]],
            "rate_per_1000": p["rate"],
            "score": p["score"],
            "reason": flagged_reason(source, data["survey_year"], p, medians),
        }
        for p in data["flagged"]
        if p["institution_id"] in flagged_ids and labels.get(p["institution_id"]) is not None
    ]
    message = status_message(data["status"], source)
    if data["status"] != status:
        message = _(
            "Niet getoond: bij een of meer instellingen zijn de aantallen te klein om te "
            "publiceren, en uit deze statistieken zouden ze terug te rekenen zijn."
        )
    data.update(
        school_year=selection.school_year,
        score=source,
        group=selection.group.code,
        level=selection.group.level,
        victim_role=str(VictimGroup.ALL),
        message=message,
        **period(selection.school_year),
    )
    return data


SUPPRESSED = "suppressed"
# The statistics of a correlation, withheld together (status and n stay).
CORRELATION_STATISTICS = (
    *(name for name in correlations.CORRELATION_FIELDS if name not in ("status", "n")),
    *correlations.MEDIANS,
)


def _protect_correlation(
    user, figure_set_id: int, group: str, points, data: dict
) -> tuple[set[int], bool]:
    """Disclosure control for a correlation: the institutions whose point is withheld, and
    whether the statistics are. When one point is withheld while the others are
    published, the statistics (r, ρ, the medians and the flags taken from them) would pin
    it down: they are withheld too (status ``suppressed``)."""
    protection = protection_for(user, figure_set_id)
    if protection is None:
        return set(), False
    hidden = {inst for inst, *_ in points if protection.is_suppressed(inst, group, VictimGroup.ALL)}
    if hidden and protection.covers(group, VictimGroup.ALL):
        data.update(dict.fromkeys(CORRELATION_STATISTICS))
        if data["status"] == stats.OK:
            data["status"] = SUPPRESSED
        return hidden, True
    return hidden, False
