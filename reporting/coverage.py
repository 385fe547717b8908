"""What the sector figures of a school year cover, as Tabel 5.1 of the report shows it, and
whether that part is like the whole sector. Pure: no Django (the inputs are gathered by
:mod:`reporting.coverage_data`).

Every institution of the population is one :class:`InstitutionYear`. Three nested groups:

* **all institutions** (the population): the institutions MIV knows for the year, i.e. its
  institution list, which is the DUO list of MBO institutions as the administrators keep it;
* **registered**: at least one counted (not withdrawn) incident in the school year;
* **usable**: registered, with a DUO student count above 0, and not marked "not usable for
  the sector" by its coordinator or an administrator (:mod:`reporting.usability`).

Per stratum (size class, kind, region: the rows of Tabel 5.1) each group has a count and a
share of its column, and the usable and the registered institutions are each tested against
the population with the exact test of :mod:`reporting.representativeness`, per dimension.
The students covered are the usable institutions' share of the population's students.

Decisions and limits
--------------------
* Size classes are Tabel 5.1's: < 4,000, 4,000-15,000 (inclusive) and > 15,000 students, by
  the year's DUO count. An institution without a count has no size class: it is counted in
  ``unknown`` of that dimension and left out of that test (never guessed).
* Kind: ROC, or *beroepscollege* (AOC and vakinstelling), as Tabel 5.1; "overig" has no
  class here. An institution without a region has none either.
* The student share is over the institutions *with* a count; ``without_student_count`` says
  how many of the population have none (then the share overstates the coverage a little).
* The population is MIV's list: an institution the administrators never added is missing
  from it, and the tests cannot see that (limit ``population_is_miv_list``, added to the
  limits of :mod:`reporting.representativeness`: ``not_proof``, ``one_dimension``,
  ``self_selection``, and ``small_expected`` / ``approximate`` where they apply).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .representativeness import Representativeness, representativeness

SIZE_SMALL, SIZE_MEDIUM, SIZE_LARGE = "<4000", "4000-15000", ">15000"
SIZE_CLASSES = (SIZE_SMALL, SIZE_MEDIUM, SIZE_LARGE)
KIND_ROC, KIND_COLLEGE = "roc", "beroepscollege"
KIND_CLASSES = (KIND_COLLEGE, KIND_ROC)  # the order of Tabel 5.1
REGIONS = ("noord", "oost", "zuid", "west")  # the order of Tabel 5.1
DIMENSIONS = {"size": SIZE_CLASSES, "kind": KIND_CLASSES, "region": REGIONS}

POPULATION, REGISTERED, USABLE = "population", "registered", "usable"
COLUMNS = (POPULATION, REGISTERED, USABLE)
LIMIT_POPULATION = "population_is_miv_list"


def size_class(students: int | None) -> str | None:
    """Tabel 5.1: < 4,000 / 4,000-15,000 / > 15,000 students; None without a count."""
    if not students:
        return None
    if students < 4000:
        return SIZE_SMALL
    if students <= 15000:
        return SIZE_MEDIUM
    return SIZE_LARGE


def kind_class(kind: str) -> str | None:
    """ROC, or beroepscollege (AOC and vakinstelling); None for anything else."""
    if kind == "roc":
        return KIND_ROC
    if kind in ("aoc", "vak"):
        return KIND_COLLEGE
    return None


@dataclass(frozen=True)
class InstitutionYear:
    """One institution of the population in one school year."""

    institution_id: int
    kind: str
    region: str
    students: int | None
    registered: bool
    marked_unusable: bool = False

    @property
    def usable(self) -> bool:
        return self.registered and bool(self.students) and not self.marked_unusable

    def category(self, dimension: str) -> str | None:
        if dimension == "size":
            return size_class(self.students)
        if dimension == "kind":
            return kind_class(self.kind)
        return self.region if self.region in REGIONS else None


@dataclass(frozen=True)
class StratumRow:
    """One row of Tabel 5.1: a stratum's count in each column and its share of the column
    (over the column's institutions whose category is known)."""

    dimension: str
    category: str
    population: int
    registered: int
    usable: int
    population_share: float | None
    registered_share: float | None
    usable_share: float | None


@dataclass(frozen=True)
class Coverage:
    population: int
    registered: int
    usable: int
    marked_unusable: int  # registered but marked not usable
    registered_without_count: int  # registered but no (or a zero) student count
    without_student_count: int  # of the population
    population_students: int
    usable_students: int
    strata: tuple[StratumRow, ...]
    # Per column (registered, usable) and dimension: the test against the population.
    tests: dict[str, dict[str, Representativeness]]

    @property
    def student_share(self) -> float | None:
        """The usable institutions' share of the population's students."""
        if not self.population_students:
            return None
        return self.usable_students / self.population_students

    def rows(self, dimension: str) -> list[StratumRow]:
        return [row for row in self.strata if row.dimension == dimension]


def _members(institutions: list[InstitutionYear], column: str) -> list[InstitutionYear]:
    if column == REGISTERED:
        return [i for i in institutions if i.registered]
    if column == USABLE:
        return [i for i in institutions if i.usable]
    return institutions


def coverage(institutions: Iterable[InstitutionYear]) -> Coverage:
    """Tabel 5.1 of one school year, and the tests of the registered and usable institutions
    against the population."""
    everyone = list(institutions)
    ids = [i.institution_id for i in everyone]
    if len(set(ids)) != len(ids):
        raise ValueError("each institution may appear once")
    strata = []
    for dimension, categories in DIMENSIONS.items():
        counts = {
            column: [
                sum(1 for i in _members(everyone, column) if i.category(dimension) == cat)
                for cat in categories
            ]
            for column in COLUMNS
        }
        totals = {column: sum(values) for column, values in counts.items()}
        for n, cat in enumerate(categories):
            shares = {
                column: counts[column][n] / totals[column] if totals[column] else None
                for column in COLUMNS
            }
            strata.append(
                StratumRow(
                    dimension,
                    cat,
                    counts[POPULATION][n],
                    counts[REGISTERED][n],
                    counts[USABLE][n],
                    shares[POPULATION],
                    shares[REGISTERED],
                    shares[USABLE],
                )
            )
    tests: dict[str, dict[str, Representativeness]] = {}
    for column in (REGISTERED, USABLE):
        sample = [i.institution_id for i in _members(everyone, column)]
        tests[column] = {}
        for dimension, categories in DIMENSIONS.items():
            population = {i.institution_id: i.category(dimension) for i in everyone}
            result = representativeness(dimension, population, sample, categories)
            tests[column][dimension] = replace(result, limits=(*result.limits, LIMIT_POPULATION))
    usable = [i for i in everyone if i.usable]
    return Coverage(
        population=len(everyone),
        registered=sum(1 for i in everyone if i.registered),
        usable=len(usable),
        marked_unusable=sum(1 for i in everyone if i.registered and i.marked_unusable),
        registered_without_count=sum(1 for i in everyone if i.registered and not i.students),
        without_student_count=sum(1 for i in everyone if not i.students),
        population_students=sum(i.students or 0 for i in everyone),
        usable_students=sum(i.students or 0 for i in usable),
        strata=tuple(strata),
        tests=tests,
    )
