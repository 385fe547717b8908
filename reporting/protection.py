"""Disclosure control applied to the stored figures (the policy is :mod:`reporting.disclosure`).

A figure set's table (the fixed research groups × victim roles × institutions, plus the
sector cells) is built from its :class:`InstitutionRate` rows in one query and protected
once per reader *kind*: researchers know nothing beforehand; a coordinator knows the
counts of their own institution(s), so other institutions are protected against that
knowledge. The outcome is cached per set (a set's rows never change; a recomputation is a
new set with a new id).

Readers do not call this module directly: :mod:`reporting.access` decides who is protected
and applies it (``access.protection_for`` and ``access.protect_rows``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from taxonomy.models import Category

from . import disclosure, services
from .choices import VictimGroup
from .models import FigureSet, InstitutionRate

# Only these combinations of dimensions are offered to researchers (and shown of other
# institutions to coordinators): fixed, so that overlapping queries cannot be subtracted.
RESEARCH_VICTIM_ROLES = (VictimGroup.ALL, VictimGroup.STUDENT, VictimGroup.STAFF)
CACHE_SECONDS = 24 * 60 * 60
_CACHE_VERSION = 3

# The sector statistics, in the order of the sector API's fields (and of ``withheld``).
SECTOR_VALUE_FIELDS = (
    "mean_rate",
    "mean_ci_low",
    "mean_ci_high",
    "pooled_count",
    "pooled_rate",
    "pooled_ci_low",
    "pooled_ci_high",
    "median",
    "min",
    "max",
)
SECTOR_STATISTICS = frozenset(SECTOR_VALUE_FIELDS)
# Those that are not linear in the counts: the t-interval (it reveals the standard
# deviation, i.e. the sum of squared rates) and the order statistics.
NONLINEAR_STATISTICS = frozenset({"mean_ci_low", "mean_ci_high", "median", "min", "max"})
# With the pooled count and the mean (two linear equations) and the standard deviation (a
# sphere), the unknown counts of a line lie on the intersection of a sphere with an
# affine space of dimension u - 2: a single point or two for u <= 3, a continuum from 4.
MIN_UNKNOWNS_FOR_SPREAD = 4


def disclosure_k() -> int:
    return max(1, int(getattr(settings, "MIV_DISCLOSURE_K", 5)))


def research_groups() -> tuple[str, ...]:
    """``total``, ``misdragingen``, ``ongevallen`` and the taxonomy's categories."""
    categories = Category.objects.order_by("sort_order", "code").values_list("code", flat=True)
    return (*services.REPORT_GROUPS, *categories)


def is_research_group(code: str) -> bool:
    return code in research_groups()


@dataclass(frozen=True)
class SetProtection:
    """The suppression pattern of one figure set for one kind of reader."""

    figure_set_id: int
    k: int
    groups: frozenset[str]
    known_institutions: frozenset[int]
    suppressed: frozenset[disclosure.Cell]
    # Per sector line with a suppressed cell: the non-linear statistics to withhold.
    withheld_statistics: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def covers(self, group: str, role: str) -> bool:
        return group in self.groups and role in RESEARCH_VICTIM_ROLES

    def is_suppressed(self, institution_id: int, group: str, role: str) -> bool:
        """Whether this institution's figure is withheld from the reader. Institutions the
        reader knows are never withheld; other institutions' figures outside the fixed
        combinations always are."""
        if institution_id in self.known_institutions:
            return False
        if not self.covers(group, role):
            return True
        return disclosure.Cell(institution_id, group, role) in self.suppressed

    def sector_suppressed(self, group: str, role: str) -> bool:
        return disclosure.Cell(disclosure.SECTOR, group, role) in self.suppressed

    def sector_withheld(self, group: str, role: str) -> frozenset[str]:
        """Which sector statistics of this group and role the reader may not see."""
        if not self.covers(group, role):
            # Other institutions' figures of finer groups are never published: their
            # order statistics and spread are not either.
            return NONLINEAR_STATISTICS
        if self.sector_suppressed(group, role):
            return SECTOR_STATISTICS
        return self.withheld_statistics.get((group, role), frozenset())


def _withheld_statistics(
    table: disclosure.Table, students: dict[int, int], suppressed: frozenset
) -> dict[tuple[str, str], frozenset[str]]:
    """Per sector line holding withheld cells, the non-linear statistics that would reveal
    one: the t-interval with fewer than :data:`MIN_UNKNOWNS_FOR_SPREAD` withheld positive
    counts; the minimum, maximum or median when a withheld institution is (one of) the
    institution(s) it is taken from."""
    lines: dict[tuple[str, str], list[tuple[float, int, bool]]] = defaultdict(list)
    for cell, count in table.values.items():
        if cell.institution == disclosure.SECTOR or cell.role not in RESEARCH_VICTIM_ROLES:
            continue
        rate = 1000.0 * count / students[cell.institution]
        lines[(cell.group, cell.role)].append((rate, count, cell in suppressed))
    result = {}
    for line, members in lines.items():
        hidden = [m for m in members if m[2]]
        if not hidden:
            continue
        withheld = set()
        if sum(1 for _rate, count, _h in hidden if count > 0) < MIN_UNKNOWNS_FOR_SPREAD:
            withheld |= {"mean_ci_low", "mean_ci_high"}
        rates = sorted(m[0] for m in members)
        hidden_rates = [m[0] for m in hidden]
        n = len(rates)
        middle = {rates[(n - 1) // 2], rates[n // 2]}
        for name, values in (("min", {rates[0]}), ("max", {rates[-1]}), ("median", middle)):
            if any(abs(r - v) <= 1e-12 * max(1.0, v) for r in hidden_rates for v in values):
                withheld.add(name)
        if withheld:
            result[line] = frozenset(withheld)
    return result


def _table(figure_set_id: int, groups: tuple[str, ...]) -> tuple[disclosure.Table, dict[int, int]]:
    rows = InstitutionRate.objects.filter(
        figure_set_id=figure_set_id,
        group__in=groups,
        victim_role__in=RESEARCH_VICTIM_ROLES,
    ).values_list("institution_id", "group", "victim_role", "count", "students")
    counts: dict[tuple[int, str, str], int] = {}
    students: dict[int, int] = {}
    for institution_id, group, role, count, denominator in rows.iterator(chunk_size=5000):
        counts[(institution_id, group, role)] = count
        students[institution_id] = denominator
    categories = [g for g in groups if g not in services.REPORT_GROUPS]
    lines = disclosure.miv_group_lines(categories, services.MISCONDUCT_CATEGORY)
    return disclosure.figures_table(counts, students, lines), students


def set_protection(figure_set_id: int, known_institutions: Iterable[int] = ()) -> SetProtection:
    """The pattern of a set for a reader who knows ``known_institutions`` (cached)."""
    k = disclosure_k()
    known = frozenset(int(i) for i in known_institutions)
    groups = research_groups()
    # The set's creation time next to its id: an id can come back (a restored database,
    # rolled-back tests), a set's rows never change.
    created = FigureSet.objects.filter(pk=figure_set_id).values_list("created_at", flat=True)
    stamp = next(iter(created), None)
    key = (
        f"miv:disclosure:{_CACHE_VERSION}:{figure_set_id}:{stamp.timestamp() if stamp else 0}:"
        f"{k}:{'-'.join(groups)}:{','.join(str(i) for i in sorted(known))}"
    )
    cached = cache.get(key)
    if isinstance(cached, SetProtection):
        return cached
    table, students = _table(figure_set_id, groups)
    outcome = disclosure.protect_figures(table, k, known_institutions=known)
    suppressed = frozenset(outcome.suppressed | outcome.unresolved)
    result = SetProtection(
        figure_set_id=figure_set_id,
        k=k,
        groups=frozenset(groups),
        known_institutions=known,
        suppressed=suppressed,
        withheld_statistics=_withheld_statistics(table, students, suppressed),
    )
    cache.set(key, result, CACHE_SECONDS)
    return result
