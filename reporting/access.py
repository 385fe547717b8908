"""Who sees which figures. One place, so the disclosure control of the research issue can
plug in here (``institution_rows``) and every reader of figures applies it.

* Administrators: every institution, by BRIN.
* Researchers: every institution, by pseudonym (by BRIN only with ``named_access``).
* Coordinators: the rows of their own institution(s) by BRIN, plus the sector rows; in
  sector-wide lists (correlation points, excluded institutions) other institutions appear
  without a name.
* Registrars, users without a role and anonymous users: no figures at all.

Disclosure control (issues 6 and 11, :mod:`reporting.publication`): researchers, and
coordinators for every institution but their own, are *protected* readers and all get the
same publication of a set. Every per-institution figure they receive passes
:func:`protect_rows` (the publication's withheld cells: ``suppressed: true``; rows shown
without a BRIN coarsened by :func:`anonymise_row`); the sector and correlation readers ask
:func:`protection_for` which statistics to withhold. Researchers only get
the fixed combinations of :data:`reporting.protection.RESEARCH_VICTIM_ROLES` and
:func:`reporting.protection.research_groups`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from incidents.choices import Role
from incidents.models import Institution
from incidents.roles import coordinator_institution_ids, is_administrator, memberships_of

from .protection import SetProtection, set_protection


@dataclass(frozen=True)
class FigureViewer:
    """What one user may see of the figures."""

    sees_all: bool
    own_institution_ids: frozenset[int]
    # Whether institutions are named by BRIN (else by pseudonym) where they are visible.
    named: bool
    # Disclosure control applies (researchers; coordinators for other institutions).
    protected: bool = False
    # Institutions whose counts the user knows anyway (a coordinator's own): never
    # suppressed for them, and the others are protected against that knowledge.
    known_institution_ids: frozenset[int] = frozenset()
    researcher: bool = False

    def sees_institution(self, institution_id: int) -> bool:
        return self.sees_all or institution_id in self.own_institution_ids

    def label(self, institution_id: int, brin: str, pseudonym: str) -> str | None:
        """How an institution is shown to this user; None when it must stay anonymous."""
        if not self.sees_institution(institution_id):
            return None
        return brin if self.named else pseudonym


def figure_viewer(user) -> FigureViewer | None:
    """The user's view of the figures, or None when the user may not read figures."""
    if not (user and user.is_authenticated and user.is_active):
        return None
    if is_administrator(user):
        return FigureViewer(sees_all=True, own_institution_ids=frozenset(), named=True)
    researcher = next((m for m in memberships_of(user) if m.role == Role.RESEARCHER), None)
    own = frozenset(coordinator_institution_ids(user))
    if researcher is not None:
        return FigureViewer(
            sees_all=True,
            own_institution_ids=frozenset(),
            named=researcher.named_access,
            protected=True,
            # A researcher who also coordinates an institution knows its counts.
            known_institution_ids=own,
            researcher=True,
        )
    if own:
        return FigureViewer(
            sees_all=False,
            own_institution_ids=own,
            named=True,
            protected=True,
            known_institution_ids=own,
        )
    return None


def can_read_figures(user) -> bool:
    return figure_viewer(user) is not None


def can_request_computation(user) -> bool:
    """Administrators and coordinators may start a recomputation."""
    return is_administrator(user) or bool(coordinator_institution_ids(user))


def institution_rows(user, queryset: QuerySet, *, anonymous_others: bool = False) -> QuerySet:
    """THE function that selects the per-institution figure rows (anything with an
    ``institution`` foreign key) a user may read. Every reader of institution rows goes
    through it, and then through :func:`protect_rows` (disclosure control).

    ``anonymous_others``: the dashboards show a coordinator every institution's figure
    next to their own, the others without a name (and protected)."""
    viewer = figure_viewer(user)
    if viewer is None:
        return queryset.none()
    if viewer.sees_all or anonymous_others:
        return queryset
    return queryset.filter(institution_id__in=viewer.own_institution_ids)


def protection_for(user, figure_set_id: int) -> SetProtection | None:
    """The suppression pattern of a figure set for this user; None when nothing is
    withheld from them (administrators)."""
    viewer = figure_viewer(user)
    if viewer is None or not viewer.protected:
        return None
    return set_protection(figure_set_id, viewer.known_institution_ids)


SUPPRESSED_FIELDS = ("count", "rate_per_1000", "ci_low", "ci_high")


def protect_rows(user, figure_set_id: int, rows: list[dict]) -> list[dict]:
    """THE disclosure function for per-institution figure rows: every reader (figures API,
    research API and its CSV, dashboards and their CSV) passes its rows through it.

    Each row is a dict with ``institution_id``, ``group``, ``victim_role`` and the values
    of :data:`SUPPRESSED_FIELDS`; a withheld row gets those set to None. Every row gets
    ``suppressed``. A user who may read no figures gets no rows."""
    viewer = figure_viewer(user)
    if viewer is None:
        return []
    protection = protection_for(user, figure_set_id)
    for row in rows:
        withheld = protection is not None and protection.is_suppressed(
            row["institution_id"], row["group"], row["victim_role"]
        )
        if withheld:
            row.update(dict.fromkeys(SUPPRESSED_FIELDS))
        if protection is not None and _unnamed(viewer, row["institution_id"]):
            anonymise_row(row)
        row["suppressed"] = withheld
    return rows


def _unnamed(viewer: FigureViewer, institution_id: int) -> bool:
    """Whether this reader sees the institution without its BRIN (anonymous, or by
    pseudonym) and it is not their own."""
    if institution_id in viewer.known_institution_ids:
        return False
    return not viewer.sees_institution(institution_id) or not viewer.named


# An unnamed or pseudonymised institution's row keeps only its rate, rounded to a whole
# number per 1,000 students: with the count, the student number or the exact interval
# (whose width depends on the count alone) the row could be traced back to its
# institution through the public DUO counts. For an institution of at least 1,000
# students every whole rate is reachable with some count, so the rounded rate tells
# neither the count nor the student number (smaller institutions are a known limit).
ANONYMOUS_RATE_DECIMALS = 0
ANONYMOUS_WITHHELD = ("count", "students", "ci_low", "ci_high")


def anonymise_row(row: dict) -> dict:
    """Coarsen a per-institution row shown without the institution's name."""
    row.update(dict.fromkeys(ANONYMOUS_WITHHELD))
    if row.get("rate_per_1000") is not None:
        row["rate_per_1000"] = float(round(row["rate_per_1000"], ANONYMOUS_RATE_DECIMALS))
    row["coarsened"] = True
    return row


def resolve_institution(user, value: str) -> Institution | None:
    """The institution a request names, as this user names institutions (BRIN, or
    pseudonym for researchers without named access); None when unknown or not visible."""
    viewer = figure_viewer(user)
    if viewer is None or not value:
        return None
    value = value.strip().upper()
    lookup = {"brin": value} if viewer.named else {"pseudonym": value}
    institution = Institution.objects.filter(**lookup).first()
    if institution is None or not viewer.sees_institution(institution.pk):
        return None
    return institution


def institution_labels(viewer: FigureViewer, institution_ids) -> dict[int, str | None]:
    """Labels of many institutions in one query."""
    ids = set(institution_ids)
    rows = Institution.objects.filter(pk__in=ids).values_list("pk", "brin", "pseudonym")
    return {pk: viewer.label(pk, brin, pseudonym) for pk, brin, pseudonym in rows}
