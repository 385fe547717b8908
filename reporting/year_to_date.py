"""A running school year against the same part of earlier years (figure 5.1's trend): the
counted registrations of each year from its 1 August up to the same calendar date
(:func:`miv.schoolyear.year_to_date_bounds`), per institution, with each year's student
counts, so the caller can put rates "t/m 15 december" side by side.

Decisions: the registrations are counted by the date they occurred (as the figures do);
institution-years marked not usable are left out, and so are institutions without a
student count for that year (``excluded`` says which, per year), so the rates are over the
same kind of institutions as the sector figures. A group is the figures job's: ``total``,
``misdragingen``, ``ongevallen`` or a category, subcategory or type code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q

from incidents.models import Incident
from miv.schoolyear import previous_school_years, school_year_bounds, year_to_date_bounds

from . import groups
from .choices import GroupLevel, VictimGroup
from .models import StudentCount
from .usability import unusable_institution_ids


@dataclass(frozen=True)
class YearToDate:
    school_year: str
    first_day: date
    through: date
    count: int  # over the included institutions
    students: int  # their student counts added up
    by_institution: dict[int, int]  # included institution -> count (0 included)
    student_counts: dict[int, int]
    excluded: dict[int, str] = field(default_factory=dict)  # institution -> reason


def group_filter(group: str) -> Q:
    """The incidents a figures group counts, as a filter on ``Incident``."""
    resolved = groups.resolve_group(group)
    if resolved is None:
        raise ValueError(f"unknown group {group!r}")
    if resolved.level == GroupLevel.TOTAL:
        return Q()
    if resolved.level == GroupLevel.REPORT:
        misconduct = Q(incident_type__category__code=groups.MISCONDUCT_CATEGORY)
        return misconduct if group == groups.GROUP_MISCONDUCT else ~misconduct
    lookup = {
        GroupLevel.CATEGORY: "incident_type__category__code",
        GroupLevel.SUBCATEGORY: "incident_type__subcategory__code",
        GroupLevel.TYPE: "incident_type__code",
    }[resolved.level]
    return Q(**{lookup: group})


def year_to_date_counts(
    school_year: str,
    through: date,
    *,
    earlier: int = 3,
    group: str = groups.GROUP_TOTAL,
    victim_role: str = VictimGroup.ALL,
) -> list[YearToDate]:
    """``school_year`` up to ``through`` and the ``earlier`` school years before it up to
    the same date, oldest first. One query per year for the counts."""
    first, last = school_year_bounds(school_year)
    if not first <= through <= last:
        raise ValueError(f"{through} is not in school year {school_year}")
    condition = group_filter(group)
    if victim_role != VictimGroup.ALL:
        condition &= Q(victim_role=victim_role)
    out = []
    for year in [*previous_school_years(school_year, earlier), school_year]:
        start, end = year_to_date_bounds(year, through)
        students = dict(
            StudentCount.objects.filter(school_year=year, students__gt=0).values_list(
                "institution_id", "students"
            )
        )
        unusable = unusable_institution_ids(year)
        counts = dict(
            Incident.objects.counted()
            .filter(condition, school_year=year, occurred_on__gte=start, occurred_on__lte=end)
            .values_list("institution_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        excluded = {inst: groups.EXCLUDED_MARKED_UNUSABLE for inst in unusable}
        excluded |= {
            inst: groups.EXCLUDED_NO_STUDENT_COUNT
            for inst in counts
            if inst not in students and inst not in unusable
        }
        included = {inst: n for inst, n in students.items() if inst not in unusable}
        by_institution = {inst: counts.get(inst, 0) for inst in included}
        out.append(
            YearToDate(
                school_year=year,
                first_day=start,
                through=end,
                count=sum(by_institution.values()),
                students=sum(included.values()),
                by_institution=by_institution,
                student_counts=included,
                excluded=excluded,
            )
        )
    return out


def institution_counts(
    institution_id: int, school_year: str, through: date
) -> dict[tuple[str, str], int]:
    """One institution's counted registrations of ``school_year`` from its 1 August up to
    the date matching ``through``, per group (``total``, ``misdragingen``, ``ongevallen``,
    each category) × victim role (``all``, ``student``, ``staff``); missing keys are 0.
    One GROUP BY. For the institution's own export: its own counts, no one else's."""
    start, end = year_to_date_bounds(school_year, through)
    rows = (
        Incident.objects.counted()
        .filter(
            institution_id=institution_id,
            school_year=school_year,
            occurred_on__gte=start,
            occurred_on__lte=end,
        )
        .values_list("incident_type__category__code", "victim_role")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for category, role, n in rows:
        report = (
            groups.GROUP_MISCONDUCT
            if category == groups.MISCONDUCT_CATEGORY
            else groups.GROUP_ACCIDENTS
        )
        for group in (groups.GROUP_TOTAL, report, category):
            counts[(group, VictimGroup.ALL)] += n
            counts[(group, role)] += n
    return counts
