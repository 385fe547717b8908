"""Who sees which figures. One place, so the disclosure control of the research issue can
plug in here (``institution_rows``) and every reader of figures applies it.

* Administrators: every institution, by BRIN.
* Researchers: every institution, by pseudonym (by BRIN only with ``named_access``).
* Coordinators: the rows of their own institution(s) by BRIN, plus the sector rows; in
  sector-wide lists (correlation points, excluded institutions) other institutions appear
  without a name.
* Registrars, users without a role and anonymous users: no figures at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from incidents.choices import Role
from incidents.models import Institution
from incidents.roles import coordinator_institution_ids, is_administrator, memberships_of


@dataclass(frozen=True)
class FigureViewer:
    """What one user may see of the figures."""

    sees_all: bool
    own_institution_ids: frozenset[int]
    # Whether institutions are named by BRIN (else by pseudonym) where they are visible.
    named: bool

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
    if researcher is not None:
        return FigureViewer(
            sees_all=True, own_institution_ids=frozenset(), named=researcher.named_access
        )
    own = coordinator_institution_ids(user)
    if own:
        return FigureViewer(sees_all=False, own_institution_ids=frozenset(own), named=True)
    return None


def can_read_figures(user) -> bool:
    return figure_viewer(user) is not None


def can_request_computation(user) -> bool:
    """Administrators and coordinators may start a recomputation."""
    return is_administrator(user) or bool(coordinator_institution_ids(user))


def institution_rows(user, queryset: QuerySet) -> QuerySet:
    """THE function that selects the per-institution figure rows (anything with an
    ``institution`` foreign key) a user may read. Every reader of institution rows goes
    through it; disclosure control for researchers belongs here."""
    viewer = figure_viewer(user)
    if viewer is None:
        return queryset.none()
    if viewer.sees_all:
        return queryset
    return queryset.filter(institution_id__in=viewer.own_institution_ids)


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
