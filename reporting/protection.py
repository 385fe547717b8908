"""Disclosure control applied to the stored figures: the set's publication
(:mod:`reporting.publication`, computed with the set) read back for every reader.

Every reader outside an institution gets the same withheld cells and statistics; a
coordinator's own institution is never withheld from them (they know its counts). The
pattern is cached per set (a set's publication never changes; a recomputation is a new set
with a new id).

Readers do not call this module directly: :mod:`reporting.access` decides who is protected
and applies it (``access.protection_for`` and ``access.protect_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.core.cache import cache

from taxonomy.models import Category

from . import disclosure, groups, publication
from .choices import VictimGroup
from .models import FigureSet

# Only these combinations of dimensions are offered to researchers (and shown of other
# institutions to coordinators): fixed, so that overlapping queries cannot be subtracted.
RESEARCH_VICTIM_ROLES = (VictimGroup.ALL, VictimGroup.STUDENT, VictimGroup.STAFF)
CACHE_SECONDS = 24 * 60 * 60
_CACHE_VERSION = 4

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
disclosure_k = publication.disclosure_k


def research_groups() -> tuple[str, ...]:
    """``total``, ``misdragingen``, ``ongevallen`` and the taxonomy's categories."""
    categories = Category.objects.order_by("sort_order", "code").values_list("code", flat=True)
    return (*groups.REPORT_GROUPS, *categories)


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
    # The precision of the sector mean of rates in the publication.
    mean_decimals: int = 1

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
            # Finer groups than the publication's are not published about the sector.
            return SECTOR_STATISTICS
        if self.sector_suppressed(group, role):
            return SECTOR_STATISTICS
        return self.withheld_statistics.get((group, role), frozenset())


def set_protection(figure_set_id: int, known_institutions: Iterable[int] = ()) -> SetProtection:
    """The publication of a set as a pattern, for a reader who knows
    ``known_institutions`` (their rows are never withheld from them). Cached; a set
    without a stored publication (computed before issue 11) gets it computed and stored."""
    known = frozenset(int(i) for i in known_institutions)
    # The set's creation time next to its id: an id can come back (a restored database,
    # rolled-back tests), a set's rows never change.
    created = FigureSet.objects.filter(pk=figure_set_id).values_list("created_at", flat=True)
    stamp = next(iter(created), None)
    key = (
        f"miv:publication:{_CACHE_VERSION}:{figure_set_id}:{stamp.timestamp() if stamp else 0}"
        f":{publication.disclosure_k()}:{publication.protection_level()}"
    )
    pattern = cache.get(key)
    if not isinstance(pattern, SetProtection):
        stored = publication.stored(figure_set_id)
        if stored is None:
            stored = publication.publish(
                figure_set_id, research_groups(), groups.MISCONDUCT_CATEGORY
            )
        pattern = SetProtection(
            figure_set_id=figure_set_id,
            k=stored["k"],
            groups=frozenset(stored["groups"]),
            known_institutions=frozenset(),
            suppressed=frozenset(disclosure.Cell(*cell) for cell in stored["withheld"]),
            withheld_statistics={
                tuple(line.split("|", 1)): frozenset(names)
                for line, names in stored["statistics"].items()
            },
            mean_decimals=stored["mean_decimals"],
        )
        cache.set(key, pattern, CACHE_SECONDS)
    if known:
        pattern = replace(pattern, known_institutions=known)
    return pattern
