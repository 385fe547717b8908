"""The figures groups: total, the report's two groups (misdragingen, ongevallen), the
categories, subcategories and types of the taxonomy, and why an institution is left out.
What readers of the figures import; the engine (:mod:`reporting.engine`) uses it too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from taxonomy.models import Category, IncidentType, Subcategory, TaxonomyVersion

from .choices import GroupLevel, VictimGroup

logger = logging.getLogger(__name__)


GROUP_TOTAL = "total"
GROUP_MISCONDUCT = "misdragingen"
GROUP_ACCIDENTS = "ongevallen"
REPORT_GROUPS = (GROUP_TOTAL, GROUP_MISCONDUCT, GROUP_ACCIDENTS)
# The report's "misdragingen" are the category Misdraging; "ongevallen/incidenten" all others.
MISCONDUCT_CATEGORY = "MIS"
VICTIM_GROUPS = (VictimGroup.ALL, VictimGroup.STUDENT, VictimGroup.STAFF)

# Why an institution is left out of the rates and means.
EXCLUDED_NO_STUDENT_COUNT = "no_student_count"
EXCLUDED_ZERO_STUDENTS = "zero_students"
# Its coordinator or an administrator marked the year's registrations not usable
# (reporting.usability): left out even with a student count.
EXCLUDED_MARKED_UNUSABLE = "marked_unusable"
# Correlation status when no survey of that kind was held in or before the school year.
NO_SURVEY = "no_survey"


@dataclass(frozen=True)
class Group:
    """A figures group: ``level`` (a GroupLevel) and ``code`` (``total``, ``misdragingen``,
    ``ongevallen`` or a category, subcategory or type code)."""

    level: str
    code: str


@dataclass
class GroupTable:
    """All groups of the taxonomy and which types each one counts (a 0/1 matrix of
    types × groups), so the roll-up is one matrix product."""

    groups: list[Group]
    type_index: dict[int, int]
    matrix: np.ndarray
    taxonomy_version: str


def group_table() -> GroupTable:
    """The groups, in a stable order: total, misdragingen, ongevallen, the categories, the
    subcategories, the types. Retired types are included: old registrations still count."""
    categories = list(Category.objects.order_by("sort_order", "code").values_list("id", "code"))
    subcategories = list(
        Subcategory.objects.order_by("category__sort_order", "sort_order", "code").values_list(
            "id", "code"
        )
    )
    types = list(
        IncidentType.objects.order_by("sort_order", "code").values_list(
            "id", "code", "category_id", "subcategory_id", "category__code"
        )
    )
    groups = [Group(GroupLevel.TOTAL, GROUP_TOTAL)]
    groups += [Group(GroupLevel.REPORT, c) for c in (GROUP_MISCONDUCT, GROUP_ACCIDENTS)]
    groups += [Group(GroupLevel.CATEGORY, code) for _, code in categories]
    groups += [Group(GroupLevel.SUBCATEGORY, code) for _, code in subcategories]
    groups += [Group(GroupLevel.TYPE, code) for _, code, *_rest in types]
    column = {(g.level, g.code): j for j, g in enumerate(groups)}
    category_code = dict(categories)
    subcategory_code = dict(subcategories)

    matrix = np.zeros((len(types), len(groups)), dtype=np.int64)
    type_index = {}
    for row, (type_id, code, category_id, subcategory_id, cat_code) in enumerate(types):
        type_index[type_id] = row
        matrix[row, 0] = 1
        report = GROUP_MISCONDUCT if cat_code == MISCONDUCT_CATEGORY else GROUP_ACCIDENTS
        matrix[row, column[(GroupLevel.REPORT, report)]] = 1
        matrix[row, column[(GroupLevel.CATEGORY, category_code[category_id])]] = 1
        if subcategory_id:
            matrix[row, column[(GroupLevel.SUBCATEGORY, subcategory_code[subcategory_id])]] = 1
        matrix[row, column[(GroupLevel.TYPE, code)]] = 1
    version = TaxonomyVersion.current()
    return GroupTable(groups, type_index, matrix, version.code if version else "")


def resolve_group(code: str) -> Group | None:
    """The group a request names, or None when no such group exists."""
    if code in (GROUP_MISCONDUCT, GROUP_ACCIDENTS):
        return Group(GroupLevel.REPORT, code)
    if code == GROUP_TOTAL:
        return Group(GroupLevel.TOTAL, code)
    for model, level in (
        (Category, GroupLevel.CATEGORY),
        (Subcategory, GroupLevel.SUBCATEGORY),
        (IncidentType, GroupLevel.TYPE),
    ):
        if model.objects.filter(code=code).exists():
            return Group(level, code)
    return None
