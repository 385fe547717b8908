"""The running school year and the same period of earlier years, on dates worked out by
hand (school years run 1 August - 31 July)."""

from datetime import date

import pytest

from miv.schoolyear import is_running, same_date_in, through_date, year_to_date_bounds


@pytest.mark.parametrize(
    "day,running,through",
    [
        (date(2022, 7, 31), False, None),  # the day before it begins
        (date(2022, 8, 1), True, date(2022, 8, 1)),
        (date(2022, 12, 15), True, date(2022, 12, 15)),
        (date(2023, 7, 31), True, date(2023, 7, 31)),
        (date(2023, 8, 1), False, date(2023, 7, 31)),  # over: through its last day
    ],
)
def test_running_and_through(day, running, through):
    assert is_running("2022-2023", day) is running
    assert through_date("2022-2023", day) == through


def test_same_date_in_earlier_years():
    assert same_date_in("2019-2020", date(2022, 12, 15)) == date(2019, 12, 15)
    assert same_date_in("2019-2020", date(2023, 3, 1)) == date(2020, 3, 1)
    # 29 February 2024 (school year 2023-2024) in 2022-2023, which has no 29 February.
    assert same_date_in("2022-2023", date(2024, 2, 29)) == date(2023, 2, 28)
    assert same_date_in("2019-2020", date(2024, 2, 29)) == date(2020, 2, 29)


def test_year_to_date_bounds():
    assert year_to_date_bounds("2020-2021", date(2023, 1, 10)) == (
        date(2020, 8, 1),
        date(2021, 1, 10),
    )
    with pytest.raises(ValueError):
        year_to_date_bounds("2020/2021", date(2023, 1, 10))
