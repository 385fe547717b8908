"""Exports for coordinators: the yearly figures of their institution, and the incident list.

Yearly figures (:func:`yearly_tables`), tables for one institution and school year; reporting's
three, and those apps above reporting add (:class:`ExportPart`; the questionnaire adds
``policy``, the institution's answers):

1. ``delivery``: what the MIV researchers asked institutions for, counts per incident type
   (with its category and subcategory) × location × victim role, of the year's counted
   (not withdrawn) incidents, aggregated in the database (one ``GROUP BY``). Only
   combinations that occurred are listed (a full grid would be mostly zeros).
2. ``rates``: the institution's incidents per 1,000 students with the exact interval for
   ``total``, ``misdragingen``, ``ongevallen`` and each category, per victim role (all,
   student, staff), next to the sector mean (unweighted, t-interval) and k.
3. ``trend``: the same for every earlier school year with figures; when the exported year
   is still running, also the institution's own rates of each earlier year over the same
   period (1 August up to the same date), the only fair comparison for a running year.

Every rates row says which part of its year it covers (``period``: ``complete``,
``running`` or ``year_to_date``, and ``through``, its last day): a running year's figures
are never silently put next to whole years.

The files are written by :mod:`reporting.export_files`; the incident list by
:mod:`incidents.exporters`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from incidents.choices import VictimRole
from incidents.models import Incident, Institution
from miv.schoolyear import parse_school_year, same_date_in
from taxonomy.models import Category

from . import groups, queries, stats
from .choices import FigureSetStatus, VictimGroup
from .export_files import Column, ExportTable
from .models import FigureSet, InstitutionRate, SectorRate
from .protection import RESEARCH_VICTIM_ROLES, research_groups
from .signals import yearly_export_parts
from .year_to_date import institution_counts

TABLES = ("delivery", "rates", "trend")  # reporting's own; other apps add theirs (ExportPart)
DECIMALS = 4


class ExportError(ValueError):
    """The export cannot be made (unknown institution, year without figures, ...); the
    message is meant for the user."""


# --- What may be exported ---------------------------------------------------------------------


def school_years_with_figures() -> list[str]:
    """School years with a current figure set, newest first."""
    return list(
        FigureSet.objects.filter(status=FigureSetStatus.CURRENT)
        .order_by("-school_year")
        .values_list("school_year", flat=True)
    )


def check_school_year(school_year: str) -> int:
    """The id of the year's current figure set; ExportError when the year is malformed or
    has no figures."""
    try:
        parse_school_year(school_year)
    except ValueError:
        raise ExportError(
            _("Ongeldig schooljaar '%(value)s'; gebruik bijvoorbeeld 2022-2023.")
            % {"value": school_year}
        ) from None
    set_id = (
        FigureSet.objects.filter(school_year=school_year, status=FigureSetStatus.CURRENT)
        .values_list("pk", flat=True)
        .first()
    )
    if set_id is None:
        years = ", ".join(school_years_with_figures()) or "-"
        raise ExportError(
            _("Voor schooljaar %(year)s zijn (nog) geen cijfers berekend. Beschikbaar: %(years)s.")
            % {"year": school_year, "years": years}
        )
    return set_id


def find_institution(brin: str) -> Institution:
    value = (brin or "").strip().upper()
    institution = None
    if re.fullmatch(r"[0-9]{2}[A-Z]{2}", value):
        institution = Institution.objects.filter(brin=value).first()
    if institution is None:
        raise ExportError(_("Onbekende instelling '%(value)s'.") % {"value": brin})
    return institution


# --- The tables -------------------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def _level_label(level: float) -> str:
    return f"{level * 100:g}%"


def delivery_table(institution: Institution, school_year: str) -> ExportTable:
    """Counts per type × location × victim role: one GROUP BY in the database."""
    columns = [
        Column("school_year", _("Schooljaar"), width=11),
        Column("category_code", _("Categorie (code)"), width=10),
        Column("category", _("Categorie"), width=20),
        Column("subcategory_code", _("Subcategorie (code)"), width=12),
        Column("subcategory", _("Subcategorie"), width=22),
        Column("type_code", _("Type incident (code)"), width=13),
        Column("type", _("Type incident"), width=36),
        Column("location_code", _("Vestiging (code)"), width=12),
        Column("location", _("Vestiging"), width=26),
        Column("victim_role_code", _("Slachtoffer (code)"), width=12),
        Column("victim_role", _("Slachtoffer"), width=18),
        Column("count", _("Aantal"), "0", width=9),
    ]
    # The taxonomy's names in the active language, as TaxonomyNode.name chooses them.
    name = "name_en" if (get_language() or "nl").startswith("en") else "name_nl"
    aggregate = (
        Incident.objects.counted()
        .filter(institution=institution, school_year=school_year)
        .values(
            "incident_type__category__code",
            f"incident_type__category__{name}",
            "incident_type__subcategory__code",
            f"incident_type__subcategory__{name}",
            "incident_type__code",
            f"incident_type__{name}",
            "location__code",
            "location__name",
            "victim_role",
        )
        .annotate(n=Count("id"))
        .order_by(
            "incident_type__category__sort_order",
            "incident_type__category__code",
            "incident_type__subcategory__sort_order",
            "incident_type__subcategory__code",
            "incident_type__sort_order",
            "incident_type__code",
            "location__code",
            "victim_role",
        )
    )
    roles = dict(VictimRole.choices)
    rows = [
        [
            school_year,
            r["incident_type__category__code"],
            r[f"incident_type__category__{name}"],
            r["incident_type__subcategory__code"] or "",
            r[f"incident_type__subcategory__{name}"] or "",
            r["incident_type__code"],
            r[f"incident_type__{name}"],
            r["location__code"],
            r["location__name"],
            r["victim_role"],
            str(roles.get(r["victim_role"], r["victim_role"])),
            r["n"],
        ]
        for r in aggregate
    ]
    return ExportTable("delivery", _("Levering"), columns, rows)


def group_names() -> dict[str, str]:
    """Readable names of the fixed groups, in the active language."""
    names = {
        groups.GROUP_TOTAL: _("Totaal"),
        groups.GROUP_MISCONDUCT: _("Misdragingen"),
        groups.GROUP_ACCIDENTS: _("Ongevallen/incidenten"),
    }
    for category in Category.objects.all():
        names[category.code] = category.name
    return names


def _rate_columns(level: float) -> list[Column]:
    label = _level_label(level)
    return [
        Column("school_year", _("Schooljaar"), width=11),
        Column("period", _("Periode"), width=13),
        Column("through", _("T/m"), width=11),
        Column("group_code", _("Groep (code)"), width=13),
        Column("group", _("Groep"), width=22),
        Column("victim_role_code", _("Slachtoffer (code)"), width=12),
        Column("victim_role", _("Slachtoffer"), width=20),
        Column("count", _("Aantal"), "0", width=9),
        Column("students", _("Studenten"), "0", width=10),
        Column("rate", _("Per 1.000 studenten"), "0.00", width=12),
        Column("ci_low", _("Ondergrens %(level)s-BI") % {"level": label}, "0.00", width=12),
        Column("ci_high", _("Bovengrens %(level)s-BI") % {"level": label}, "0.00", width=12),
        Column("sector_mean", _("Sectorgemiddelde per 1.000"), "0.00", width=14),
        Column(
            "sector_ci_low",
            _("Sector ondergrens %(level)s-BI") % {"level": label},
            "0.00",
            width=14,
        ),
        Column(
            "sector_ci_high",
            _("Sector bovengrens %(level)s-BI") % {"level": label},
            "0.00",
            width=14,
        ),
        Column("sector_k", _("Instellingen in sector"), "0", width=12),
        Column("note", _("Opmerking"), width=30),
    ]


def _rate_rows(user, institution: Institution, figure_set: FigureSet) -> list[list[Any]]:
    """Rows of the rates table for one set (two queries, by the set's id)."""
    from .access import protection_for

    codes = research_groups()
    names = group_names()
    roles = dict(VictimGroup.choices)
    own = {
        (r.group, r.victim_role): r
        for r in InstitutionRate.objects.filter(
            figure_set=figure_set,
            institution=institution,
            group__in=codes,
            victim_role__in=RESEARCH_VICTIM_ROLES,
        )
    }
    sector = {
        (r.group, r.victim_role): r
        for r in SectorRate.objects.filter(
            figure_set=figure_set, group__in=codes, victim_role__in=RESEARCH_VICTIM_ROLES
        )
    }
    # The sector t-interval follows the disclosure control of the user's view (it would
    # otherwise reveal other institutions' withheld counts); an operator (no user) sees it.
    protection = protection_for(user, figure_set.pk) if user is not None else None
    covered = queries.period(figure_set.school_year)
    period = PERIOD_RUNNING if covered["running"] else PERIOD_COMPLETE
    through = covered["through"].isoformat() if covered["through"] else None
    rows = []
    for group in codes:
        for role in RESEARCH_VICTIM_ROLES:
            mine = own.get((group, role))
            row = sector.get((group, role))
            hidden = protection.sector_withheld(group, role) if protection else frozenset()
            withheld = "mean_ci_low" in hidden
            mean = None if row is None or "mean_rate" in hidden else row.mean_rate
            if mean is not None and protection is not None:
                mean = round(mean, protection.mean_decimals)
            sector_ci = (None, None)
            if row is not None and not withheld:
                sector_ci = (row.mean_ci_low, row.mean_ci_high)
            note = ""
            if mine is None:
                note = _("Geen studentaantal voor dit schooljaar: geen cijfer per 1.000.")
            elif withheld:
                note = _("Interval van de sector niet getoond (kleine aantallen elders).")
            if covered["running"]:
                note = " ".join(filter(None, [running_note(covered["through"]), note]))
            rows.append(
                [
                    figure_set.school_year,
                    period,
                    through,
                    group,
                    names.get(group, group),
                    str(role),
                    str(roles.get(role, role)),
                    mine.count if mine else None,
                    mine.students if mine else None,
                    _round(mine.rate) if mine else None,
                    _round(mine.ci_low) if mine else None,
                    _round(mine.ci_high) if mine else None,
                    _round(mean),
                    _round(sector_ci[0]),
                    _round(sector_ci[1]),
                    row.institutions if row else None,
                    note,
                ]
            )
    return rows


def rates_table(user, institution: Institution, school_year: str) -> ExportTable:
    figure_set = FigureSet.objects.get(pk=check_school_year(school_year))
    return ExportTable(
        "rates",
        _("Cijfers"),
        _rate_columns(figure_set.confidence_level),
        _rate_rows(user, institution, figure_set),
    )


def trend_table(user, institution: Institution, school_year: str) -> ExportTable:
    """The rates of every earlier school year with figures, oldest first; for a running
    school year then the same years again over its period (:func:`_year_to_date_rows`)."""
    sets = list(
        FigureSet.objects.filter(
            status=FigureSetStatus.CURRENT, school_year__lt=school_year
        ).order_by("school_year")
    )
    level = sets[-1].confidence_level if sets else 0.95
    rows: list[list[Any]] = []
    for figure_set in sets:
        rows += _rate_rows(user, institution, figure_set)
    covered = queries.period(school_year)
    if covered["running"]:
        for figure_set in sets:
            rows += _year_to_date_rows(institution, figure_set, covered["through"])
    return ExportTable("trend", _("Trend"), _rate_columns(level), rows)


PERIOD_COMPLETE, PERIOD_RUNNING, PERIOD_YEAR_TO_DATE = "complete", "running", "year_to_date"


def running_note(through) -> str:
    return _(
        "Lopend schooljaar, t/m %(date)s: niet te vergelijken met hele schooljaren; "
        "vergelijk met dezelfde periode (trend, periode year_to_date)."
    ) % {"date": through.isoformat()}


def _year_to_date_rows(institution: Institution, figure_set: FigureSet, through) -> list:
    """The institution's own rates of an earlier year from 1 August up to the running
    year's "t/m" date (same day and month), with that year's student count and exact
    interval; no sector columns (sector figures are published for whole years only).
    Nothing when the institution has no rates that year (no student count, or the year
    marked not usable)."""
    students = (
        InstitutionRate.objects.filter(figure_set=figure_set, institution=institution)
        .values_list("students", flat=True)
        .first()
    )
    if not students:
        return []
    year = figure_set.school_year
    last = same_date_in(year, through)
    counts = institution_counts(institution.pk, year, through)
    names = group_names()
    roles = dict(VictimGroup.choices)
    note = _("Zelfde periode als het lopende schooljaar: 1 augustus t/m %(date)s.") % {
        "date": last.isoformat()
    }
    rows = []
    for group in research_groups():
        for role in RESEARCH_VICTIM_ROLES:
            count = counts.get((group, role), 0)
            rate = stats.exact_poisson_interval(count, students, figure_set.confidence_level)
            rows.append(
                [
                    year,
                    PERIOD_YEAR_TO_DATE,
                    last.isoformat(),
                    group,
                    names.get(group, group),
                    str(role),
                    str(roles.get(role, role)),
                    count,
                    students,
                    _round(rate.rate),
                    _round(rate.ci_low),
                    _round(rate.ci_high),
                    None,
                    None,
                    None,
                    None,
                    note,
                ]
            )
    return rows


@dataclass(frozen=True)
class ExportPart:
    """One table the yearly export offers: its ``key`` (sheet and file name), a ``label``
    for the export page, and how it is built (institution, school year, user or None)."""

    key: str
    label: str
    build: Callable[[Institution, str, Any], ExportTable]


def yearly_parts() -> list[ExportPart]:
    """The tables of the yearly export: reporting's three, then those that apps above
    reporting add through :data:`reporting.signals.yearly_export_parts` (the questionnaire's
    answers), so reporting need not import them."""
    parts = [
        ExportPart(
            "delivery",
            _("Levering: incidenten per type, vestiging en slachtoffer"),
            lambda institution, year, user: delivery_table(institution, year),
        ),
        ExportPart(
            "rates",
            _("Cijfers per 1.000 studenten naast de sector"),
            lambda institution, year, user: rates_table(user, institution, year),
        ),
        ExportPart(
            "trend",
            _("Trend: dezelfde cijfers in eerdere schooljaren"),
            lambda institution, year, user: trend_table(user, institution, year),
        ),
    ]
    for _receiver, more in yearly_export_parts.send(sender=ExportPart):
        parts.extend(more)
    return parts


def table_keys() -> list[str]:
    return [part.key for part in yearly_parts()]


def yearly_tables(
    institution: Institution,
    school_year: str,
    *,
    user=None,
    tables: Iterable[str] | None = None,
) -> list[ExportTable]:
    """The yearly tables of one institution (all, or ``tables`` by key, in that order);
    ``user`` None: an operator's export."""
    check_school_year(school_year)
    parts = {part.key: part for part in yearly_parts()}
    wanted = list(parts) if tables is None else list(tables)
    unknown = [t for t in wanted if t not in parts]
    if unknown:
        raise ExportError(
            _("Onbekende tabel '%(value)s'. Mogelijk: %(allowed)s.")
            % {"value": unknown[0], "allowed": ", ".join(parts)}
        )
    return [parts[t].build(institution, school_year, user) for t in wanted]


def file_stem(institution: Institution, school_year: str) -> str:
    return f"miv-{institution.brin}-{school_year}"
