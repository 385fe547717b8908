"""Year-to-date counts: a running year against the same part of earlier years, counted by
hand, with the exclusions of the sector figures (no student count, marked not usable)."""

from datetime import date

import pytest

from incidents.choices import Status
from reporting.models import UnusableYear
from reporting.year_to_date import year_to_date_counts
from tests.factories import InstitutionFactory, LocationFactory

from .conftest import add_incidents, set_students

pytestmark = pytest.mark.django_db
THROUGH = date(2022, 12, 15)  # in the running year 2022-2023


@pytest.fixture
def world():
    a = InstitutionFactory(name="A")
    b = InstitutionFactory(name="B")
    c = InstitutionFactory(name="C")  # no student count in 2021-2022
    la, lb, lc = (LocationFactory(institution=i) for i in (a, b, c))
    for year in ("2020-2021", "2021-2022", "2022-2023"):
        set_students(a, 2000, year)
        set_students(b, 5000, year)
    set_students(c, 1000, "2022-2023")
    # 2022-2023: A 3 (one on the "t/m" day), B 2; C 1.
    add_incidents(la, 2, occurred_on=date(2022, 9, 1))
    add_incidents(la, 1, occurred_on=THROUGH)
    add_incidents(lb, 2, occurred_on=date(2022, 8, 1))
    add_incidents(lc, 1, occurred_on=date(2022, 10, 1))
    # 2021-2022: A 4 by 15 December, 10 after it; B 1 by then, 1 withdrawn; C 5 (no count).
    add_incidents(la, 4, occurred_on=date(2021, 12, 15))
    add_incidents(la, 10, occurred_on=date(2021, 12, 16))
    add_incidents(lb, 1, occurred_on=date(2021, 11, 1))
    add_incidents(lb, 1, occurred_on=date(2021, 11, 2), status=Status.WITHDRAWN)
    add_incidents(lc, 5, occurred_on=date(2021, 9, 1))
    # 2020-2021: A 6 by then, but marked not usable; B 3, of which 1 misconduct accident.
    add_incidents(la, 6, occurred_on=date(2020, 10, 1))
    add_incidents(lb, 2, occurred_on=date(2020, 10, 1))
    add_incidents(lb, 1, occurred_on=date(2020, 10, 1), type_code="ONG.ONV.03", victim_role="staff")
    UnusableYear.objects.create(institution=a, school_year="2020-2021", reason="Proef")
    return a, b, c


def test_counts_up_to_the_same_date(world):
    a, b, c = world
    years = year_to_date_counts("2022-2023", THROUGH, earlier=2)
    assert [y.school_year for y in years] == ["2020-2021", "2021-2022", "2022-2023"]
    assert [y.through for y in years] == [date(2020, 12, 15), date(2021, 12, 15), THROUGH]
    y20, y21, y22 = years
    assert y22.by_institution == {a.pk: 3, b.pk: 2, c.pk: 1} and y22.count == 6
    assert y22.students == 8000 and y22.excluded == {}
    assert y21.by_institution == {a.pk: 4, b.pk: 1} and y21.count == 5
    assert y21.excluded == {c.pk: "no_student_count"} and y21.students == 7000
    assert y20.by_institution == {b.pk: 3} and y20.excluded == {a.pk: "marked_unusable"}
    assert y20.student_counts == {b.pk: 5000}


def test_groups_and_victim_roles(world):
    _a, b, _c = world
    accidents = year_to_date_counts("2022-2023", THROUGH, earlier=2, group="ongevallen")
    assert accidents[0].by_institution == {b.pk: 1}
    misconduct = year_to_date_counts("2022-2023", THROUGH, earlier=2, group="misdragingen")
    assert misconduct[0].by_institution == {b.pk: 2}
    staff = year_to_date_counts("2022-2023", THROUGH, earlier=2, victim_role="staff")
    assert staff[0].count == 1 and staff[1].count == 0
    by_type = year_to_date_counts("2022-2023", THROUGH, earlier=0, group="MIS.FYS.06")
    assert by_type[0].count == 6


def test_refuses_a_date_outside_the_year_and_unknown_groups(world):
    with pytest.raises(ValueError):
        year_to_date_counts("2022-2023", date(2023, 8, 1))
    with pytest.raises(ValueError):
        year_to_date_counts("2022-2023", THROUGH, group="NOPE")
