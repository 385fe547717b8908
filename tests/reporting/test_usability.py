"""Marking a year's registrations not usable for the sector: who may, the reason, the audit
trail, the year marked stale, and the figures job leaving the institution-year out of
every sector statistic (and taking it back in when unmarked)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from reporting import engine, groups, queries, stats, tasks, usability
from reporting.choices import FigureSetStatus
from reporting.engine import rows
from reporting.models import FigureSet, FigureYear, InstitutionRate, SectorRate, UnusableYear

from .conftest import YEAR

pytestmark = pytest.mark.django_db


def _current_set():
    return FigureSet.objects.get(school_year=YEAR, status=FigureSetStatus.CURRENT)


def _sector_total():
    return SectorRate.objects.get(figure_set=_current_set(), group="total", victim_role="all")


def test_marking_excludes_the_institution_year_from_the_sector(sector, coordinator_a):
    engine.compute_school_year(YEAR)
    before = _sector_total()
    assert before.institutions == 3  # A, B and D (C has no student count)

    usability.mark_unusable(
        actor=coordinator_a,
        institution=sector["a"],
        school_year=YEAR,
        reason="  Alleen de   hoofdvestiging registreerde. ",
    )
    # Eager Celery: the change recomputed the year at once.
    figure_set = _current_set()
    reasons = {e["institution_id"]: e["reason"] for e in figure_set.excluded}
    assert reasons == {sector["a"].pk: "marked_unusable", sector["c"].pk: "no_student_count"}
    assert (
        next(e for e in figure_set.excluded if e["institution_id"] == sector["a"].pk)["count"] == 17
    )  # A's counted incidents (7 + 3 + 2 + 4 + 1)
    assert not InstitutionRate.objects.filter(figure_set=figure_set, institution=sector["a"])
    after = _sector_total()
    # B (20 + 11 + 6 + 2 = 39 incidents / 12,500) and D (0 / 800), by hand: pooled
    # 39 / 13,300 · 1,000.
    assert after.institutions == 2
    assert after.pooled_count == 39 and after.pooled_students == 13_300
    assert after.pooled_rate == pytest.approx(39 / 13_300 * 1000)
    assert after.mean_rate == pytest.approx((39 / 12_500 * 1000 + 0.0) / 2)
    assert after.excluded == figure_set.excluded
    assert figure_set.institutions_included == 2

    mark = UnusableYear.objects.get(institution=sector["a"], school_year=YEAR)
    assert mark.reason == "Alleen de hoofdvestiging registreerde."
    assert mark.marked_by == coordinator_a
    event = AuditEvent.objects.get(action=AuditAction.YEAR_UNUSABLE)
    assert (event.actor, event.institution, event.subject) == (coordinator_a, sector["a"], YEAR)
    assert event.changes == {"reason": [None, "Alleen de hoofdvestiging registreerde."]}

    assert usability.unmark_unusable(actor=coordinator_a, institution=sector["a"], school_year=YEAR)
    restored = _sector_total()
    assert restored.institutions == 3 and restored.pooled_count == before.pooled_count
    assert not UnusableYear.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.YEAR_USABLE)
    assert event.changes == {"reason": ["Alleen de hoofdvestiging registreerde.", None]}
    # Unmarking what is not marked changes nothing.
    assert not usability.unmark_unusable(
        actor=coordinator_a, institution=sector["a"], school_year=YEAR
    )
    assert AuditEvent.objects.count() == 2


def test_the_reason_text_of_the_exclusion(sector):
    assert "niet bruikbaar" in queries._reason_text(groups.EXCLUDED_MARKED_UNUSABLE)


def test_marking_marks_the_year_stale_in_the_same_transaction(sector, administrator, monkeypatch):
    # Without a recomputation (as with a real worker, which runs after the debounce).
    monkeypatch.setattr(tasks, "_enqueue_recomputation", lambda school_year: True)
    engine.compute_school_year(YEAR)
    usability.mark_unusable(
        actor=administrator, institution=sector["b"], school_year=YEAR, reason="Proef"
    )
    year = FigureYear.objects.get(school_year=YEAR)
    assert year.stale
    seq = year.change_seq
    # A new reason changes no figure: not stale again; the audit trail records the change.
    usability.mark_unusable(
        actor=administrator, institution=sector["b"], school_year=YEAR, reason="Andere reden"
    )
    assert FigureYear.objects.get(school_year=YEAR).change_seq == seq
    assert list(AuditEvent.objects.order_by("id").values_list("action", "changes")) == [
        (AuditAction.YEAR_UNUSABLE, {"reason": [None, "Proef"]}),
        (AuditAction.YEAR_UNUSABLE, {"reason": ["Proef", "Andere reden"]}),
    ]
    # The same reason again (a second click): nothing at all.
    usability.mark_unusable(
        actor=administrator, institution=sector["b"], school_year=YEAR, reason="Andere reden"
    )
    assert AuditEvent.objects.count() == 2


def test_only_own_coordinators_and_administrators_may_mark(
    sector, coordinator_b, registrar_a, researcher
):
    for actor in (coordinator_b, registrar_a, researcher):
        with pytest.raises(PermissionDenied):
            usability.mark_unusable(
                actor=actor, institution=sector["a"], school_year=YEAR, reason="x"
            )
    UnusableYear.objects.create(institution=sector["a"], school_year=YEAR, reason="x")
    with pytest.raises(PermissionDenied):
        usability.unmark_unusable(actor=coordinator_b, institution=sector["a"], school_year=YEAR)
    assert UnusableYear.objects.count() == 1 and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "school_year,reason,field",
    [(YEAR, "   ", "reason"), ("2022/2023", "Reden", "school_year"), (YEAR, "x" * 501, "reason")],
)
def test_a_reason_and_a_valid_year_are_required(sector, coordinator_a, school_year, reason, field):
    with pytest.raises(ValidationError) as error:
        usability.mark_unusable(
            actor=coordinator_a, institution=sector["a"], school_year=school_year, reason=reason
        )
    assert field in error.value.message_dict
    assert not UnusableYear.objects.exists() and not AuditEvent.objects.exists()


def test_compute_rows_excludes_unusable_institutions_without_the_database():
    """The pure part of the job: an unusable institution with a denominator is excluded
    with its own reason and leaves the sector statistics."""
    table = groups.GroupTable(
        groups=[groups.Group("total", "total")],
        type_index={1: 0},
        matrix=__import__("numpy").ones((1, 1), dtype="int64"),
        taxonomy_version="T",
    )
    computed = rows.compute_rows(
        school_year=YEAR,
        figure_set_id=1,
        computed_at=None,
        groups=table,
        aggregate=[(10, 1, "student", 4), (11, 1, "staff", 6), (12, 1, "student", 3)],
        students={10: 1000, 11: 2000, 12: 500},
        institution_ids=[10, 11, 12],
        scores={},
        unusable=[11],
    )
    assert computed.excluded == [{"institution_id": 11, "reason": "marked_unusable", "count": 6}]
    assert computed.institutions_included == 2
    sector = computed.sector_rows[0]  # total, victim role all
    expected = stats.sector_summary([4, 3], [1000, 500])
    assert sector[5] == 2 and sector[6] == pytest.approx(expected.mean_rate)
