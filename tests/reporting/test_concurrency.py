"""Concurrency on PostgreSQL: two computations of a year at once, and readers during a
recomputation (they see the old set or the new one, complete, never a mix or nothing)."""

import threading

import pytest
from django.db import connection, connections

from incidents.choices import Role
from reporting import engine, groups, queries
from reporting.choices import FigureSetStatus
from reporting.models import FigureSet, InstitutionRate
from tests.factories import MembershipFactory, UserFactory

from .conftest import YEAR

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (advisory locks, threads)"
    ),
]


def _in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def _rows():
    return sorted(
        InstitutionRate.objects.filter(figure_set__status=FigureSetStatus.CURRENT).values_list(
            "institution_id", "group", "victim_role", "count", "students", "rate", "ci_low"
        )
    )


def test_two_computations_at_once_are_serialised_and_agree(sector):
    engine.compute_school_year(YEAR)
    expected = _rows()
    errors: list[Exception] = []
    threads = [_in_thread(lambda: engine.compute_school_year(YEAR), errors) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert FigureSet.objects.filter(school_year=YEAR, status=FigureSetStatus.CURRENT).count() == 1
    assert not FigureSet.objects.filter(status=FigureSetStatus.BUILDING).exists()
    assert _rows() == expected


def test_readers_see_a_complete_set_during_recomputation(sector, settings):
    # Delete replaced sets at once, the hardest case for readers.
    settings.MIV_FIGURES_KEEP_SUPERSEDED_SECONDS = 0
    engine.compute_school_year(YEAR)
    reader = MembershipFactory(
        user=UserFactory(username="reader"), institution=None, role=Role.RESEARCHER
    ).user
    selection = queries.Selection(YEAR, groups.resolve_group("total"), "all")
    expected = [(r["count"], r["students"]) for r in queries.institution_rates(reader, selection)]
    assert len(expected) == 3
    stop = threading.Event()
    seen: list[list] = []
    errors: list[Exception] = []

    def read():
        while not stop.is_set():
            rows = queries.institution_rates(reader, selection)
            seen.append([(r["count"], r["students"]) for r in rows])
            assert len({r["computed_at"] for r in rows}) == 1  # one set, never a mix

    def write():
        try:
            for _ in range(6):
                engine.compute_school_year(YEAR)
        finally:
            stop.set()

    threads = [_in_thread(read, errors), _in_thread(read, errors), _in_thread(write, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(seen) > 6
    assert all(rows == expected for rows in seen)
