"""Registration quality on hand-made registrations, every number counted by hand: unknown
shares per field, silent locations and months (a running year only up to its last whole
month), the delay (median and share over 7 days, registrations in MIV only) and imported
versus registered, and the to-do list built from them."""

from datetime import date, datetime, time

import pytest
from django.utils import timezone

from incidents.choices import EventAction, Injury, PerpetratorRole, Status, VictimRole
from incidents.models import Incident, IncidentEvent
from reporting import quality, quality_data
from tests.factories import IncidentFactory, InstitutionFactory, LocationFactory, incident_type

YEAR = "2022-2023"


def _incident(location, occurred_on, *, registered_on=None, imported=False, **fields):
    incident = IncidentFactory(location=location, occurred_on=occurred_on, **fields)
    if registered_on is not None:
        at = timezone.make_aware(datetime.combine(registered_on, time(12, 0)))
        Incident.objects.filter(pk=incident.pk).update(created_at=at)
    action = EventAction.IMPORTED if imported else EventAction.CREATED
    IncidentEvent.objects.create(incident=incident, action=action)
    return incident


@pytest.fixture
def world(db):
    """An institution with three active locations (Noord silent) and one closed one:

    Centrum: 6 registrations in September 2022, October 2022 and March 2023
      - delays 0, 1, 2, 10, 30 days (registered in MIV) and 1 imported
      - place empty on 2, victim unknown on 1, injury unknown on 3, no time on 6 (the
        factory sets none)
      - 4 misdragingen, 1 with perpetrator unknown; 2 accidents with perpetrator unknown
    Zuid: 1 withdrawn registration in November (does not count)
    """
    institution = InstitutionFactory(name="College Kwaliteit")
    centrum = LocationFactory(institution=institution, name="Centrum")
    zuid = LocationFactory(institution=institution, name="Zuid")
    LocationFactory(institution=institution, name="Noord")
    LocationFactory(institution=institution, name="Gesloten", active=False)
    fight = incident_type("MIS.FYS.06")
    fall = incident_type("ONG.ONV.03")
    d = date
    rows = [
        # occurred, registered, imported, type, place, victim, perpetrator, injury
        (d(2022, 9, 5), d(2022, 9, 5), False, fight, "classroom", "student", "student", "none"),
        (d(2022, 9, 12), d(2022, 9, 13), False, fight, "", "unknown", "unknown", "unknown"),
        (d(2022, 10, 3), d(2022, 10, 5), False, fight, "", "student", "student", "unknown"),
        (d(2022, 10, 10), d(2022, 10, 20), False, fall, "corridor", "staff", "unknown", "unknown"),
        (d(2023, 3, 1), d(2023, 3, 31), False, fall, "grounds", "student", "unknown", "minor"),
        (d(2023, 3, 14), d(2023, 6, 1), True, fight, "online", "student", "external", "none"),
    ]  # fmt: skip
    for occurred, registered, imported, itype, place, victim, perpetrator, injury in rows:
        _incident(
            centrum,
            occurred,
            registered_on=registered,
            imported=imported,
            incident_type=itype,
            place=place,
            victim_role=victim,
            perpetrator_role=perpetrator,
            injury=injury,
        )
    _incident(zuid, date(2022, 11, 7), registered_on=date(2022, 11, 7), status=Status.WITHDRAWN)
    return institution


def test_indicators_of_a_complete_year(world):
    result = quality_data.registration_quality(world, YEAR, today=date(2023, 9, 1))
    assert not result.running and result.through == date(2023, 7, 31)
    assert result.incidents == 6
    unknown = {item.field: (item.unknown, item.total) for item in result.completeness}
    assert unknown == {
        "place": (2, 6),
        "occurred_at": (6, 6),
        "victim_role": (1, 6),
        "perpetrator_role": (1, 4),  # misconduct only
        "injury": (3, 6),
    }
    assert result.silent_locations == ("Noord", "Zuid")  # the withdrawn one does not count
    assert len(result.months_checked) == 12
    assert result.silent_months == (
        date(2022, 8, 1),
        date(2022, 11, 1),
        date(2022, 12, 1),
        date(2023, 1, 1),
        date(2023, 2, 1),
        date(2023, 4, 1),
        date(2023, 5, 1),
        date(2023, 6, 1),
        date(2023, 7, 1),
    )
    # Delays 0, 1, 2, 10, 30: median 2, two of five over 7 days; the import is left out.
    assert (result.delay.n, result.delay.median_days, result.delay.late) == (5, 2.0, 2)
    assert (result.imported, result.registered_in_miv) == (1, 5)
    assert result.imported_share == pytest.approx(1 / 6)


def test_todo_list_of_a_complete_year(world):
    result = quality_data.registration_quality(world, YEAR, today=date(2023, 9, 1))
    codes = [(item.code, item.params.get("field")) for item in result.todo]
    # place 33%, time 100%, victim 17%, perpetrator 25%, injury 50%: all over 10%.
    assert codes == [
        (quality.UNKNOWN_FIELD, "place"),
        (quality.UNKNOWN_FIELD, "occurred_at"),
        (quality.UNKNOWN_FIELD, "victim_role"),
        (quality.UNKNOWN_FIELD, "perpetrator_role"),
        (quality.UNKNOWN_FIELD, "injury"),
        (quality.SILENT_LOCATIONS, None),
        (quality.SILENT_MONTHS, None),
        (quality.LATE, None),  # 40% later than 7 days
    ]
    months = result.todo[6].params["months"]
    assert date(2022, 8, 1) not in months and date(2023, 7, 1) not in months  # summer
    assert len(months) == 7
    texts = [quality_data.todo_text(item) for item in result.todo]
    assert texts[0].startswith("Plek is bij 2 van 6 registraties onbekend (33%)")
    assert "Noord, Zuid" in texts[5]
    assert "de helft na 2 dagen, 2 van 5 na meer dan 7 dagen" in texts[7]


def test_a_running_year_counts_only_its_months_so_far(world):
    # 20 October 2022: August and September are over, October is not.
    result = quality_data.registration_quality(world, YEAR, today=date(2022, 10, 20))
    assert result.running and result.through == date(2022, 10, 20)
    assert result.months_checked == (date(2022, 8, 1), date(2022, 9, 1))
    assert result.silent_months == (date(2022, 8, 1),)
    assert not [item for item in result.todo if item.code == quality.SILENT_MONTHS]


def test_a_year_without_registrations_is_one_item(world):
    result = quality_data.registration_quality(world, "2021-2022", today=date(2023, 9, 1))
    assert result.incidents == 0
    assert [item.code for item in result.todo] == [quality.NO_REGISTRATIONS]
    assert result.delay.median_days is None and result.imported_share is None
    # A year that has not begun has nothing to do yet.
    future = quality_data.registration_quality(world, "2024-2025", today=date(2023, 9, 1))
    assert future.through is None and future.todo == ()


def test_thresholds_are_strict():
    inputs = quality.QualityInputs(
        school_year=YEAR,
        first_day=date(2022, 8, 1),
        through=date(2023, 7, 31),
        running=False,
        incidents=20,
        unknown={"place": (2, 20), "injury": (3, 20)},  # exactly 10% is fine, 15% is not
        locations={"A": 20},
        months={date(2022 + (m < 8), m, 1): 1 for m in range(1, 13)},
        delays=[8] * 5 + [0] * 15,  # 25% late: not over the limit; median 0
        imported=0,
        registered_in_miv=20,
    )
    result = quality.assess(inputs)
    unknown = [item.params["field"] for item in result.todo if item.code == quality.UNKNOWN_FIELD]
    assert unknown == ["injury"]
    assert quality.LATE not in [item.code for item in result.todo]
    assert result.delay.late_share == 0.25


def test_median_delay_over_a_week_is_a_todo():
    result = quality.delay_summary([8, 9, 1])
    assert (result.median_days, result.late) == (8.0, 2)


def test_perpetrator_unknown_is_right_for_accidents(world):
    """Accidents always have "onbekend" as perpetrator; they must not count against the
    institution."""
    location = world.locations.get(name="Centrum")
    for _ in range(5):
        _incident(
            location,
            date(2022, 12, 1),
            incident_type=incident_type("ONG.ONV.03"),
            perpetrator_role=PerpetratorRole.UNKNOWN,
            victim_role=VictimRole.STUDENT,
            injury=Injury.NONE,
        )
    result = quality_data.registration_quality(world, YEAR, today=date(2023, 9, 1))
    perpetrator = next(i for i in result.completeness if i.field == "perpetrator_role")
    assert (perpetrator.unknown, perpetrator.total) == (1, 4)
