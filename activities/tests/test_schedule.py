"""Maintenance schedules (activities/schedule.py): the due dates of each
frequency, and when a visit counts as overdue. Pure functions of dates: "today"
is passed in (a frozen clock)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from activities.models import Frequency
from activities.schedule import due_dates, is_overdue, overdue_on


def test_weekly_from_start_to_until_inclusive() -> None:
    assert due_dates(Frequency.WEEKLY, date(2026, 1, 5), date(2026, 2, 2)) == [
        date(2026, 1, 5),
        date(2026, 1, 12),
        date(2026, 1, 19),
        date(2026, 1, 26),
        date(2026, 2, 2),
    ]


def test_biweekly_crosses_the_year_end() -> None:
    assert due_dates(Frequency.BIWEEKLY, date(2025, 12, 10), date(2026, 2, 5)) == [
        date(2025, 12, 10),
        date(2025, 12, 24),
        date(2026, 1, 7),
        date(2026, 1, 21),
        date(2026, 2, 4),
    ]


def test_monthly_keeps_the_day_and_the_31st_becomes_the_months_last_day() -> None:
    assert due_dates(Frequency.MONTHLY, date(2026, 1, 31), date(2026, 7, 31)) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),  # back to the 31st, not stuck on the 28th
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]
    # A leap year has a 29 February.
    assert due_dates(Frequency.MONTHLY, date(2028, 1, 30), date(2028, 3, 30)) == [
        date(2028, 1, 30),
        date(2028, 2, 29),
        date(2028, 3, 30),
    ]


def test_monthly_across_december() -> None:
    assert due_dates(Frequency.MONTHLY, date(2025, 11, 15), date(2026, 2, 14)) == [
        date(2025, 11, 15),
        date(2025, 12, 15),
        date(2026, 1, 15),
    ]


def test_quarterly_every_three_months() -> None:
    assert due_dates(Frequency.QUARTERLY, date(2025, 11, 30), date(2026, 12, 1)) == [
        date(2025, 11, 30),
        date(2026, 2, 28),
        date(2026, 5, 30),
        date(2026, 8, 30),
        date(2026, 11, 30),
    ]


@pytest.mark.parametrize(
    ("frequency", "ends", "expected"),
    [
        (
            Frequency.WEEKLY,
            date(2026, 3, 30),
            [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)],
        ),
        (Frequency.BIWEEKLY, date(2026, 3, 30), [date(2026, 3, 2), date(2026, 3, 16)]),
        (Frequency.MONTHLY, date(2026, 6, 2), [date(2026, 3, 2), date(2026, 4, 2), date(2026, 5, 2)]),
        (Frequency.QUARTERLY, date(2026, 6, 2), [date(2026, 3, 2)]),
    ],
)
def test_ends_on_is_exclusive(frequency: str, ends: date, expected: list[date]) -> None:
    assert due_dates(frequency, date(2026, 3, 2), date(2026, 12, 31), ends) == expected
    # One day later the end date itself is a due date.
    assert due_dates(frequency, date(2026, 3, 2), date(2026, 12, 31), ends + timedelta(days=1))[-1] == ends


def test_nothing_due_before_the_start_or_after_until() -> None:
    assert due_dates(Frequency.WEEKLY, date(2026, 3, 2), date(2026, 3, 1)) == []
    assert due_dates(Frequency.MONTHLY, date(2026, 3, 2), date(2026, 3, 2)) == [date(2026, 3, 2)]
    assert due_dates(Frequency.MONTHLY, date(2026, 3, 2), date(2026, 12, 31), date(2026, 3, 2)) == []


@pytest.mark.parametrize(
    ("grace", "today", "overdue"),
    [
        (7, date(2026, 3, 10), False),  # the due day
        (7, date(2026, 3, 17), False),  # the last day of grace
        (7, date(2026, 3, 18), True),  # the first day overdue
        (7, date(2026, 4, 30), True),
        (0, date(2026, 3, 10), False),
        (0, date(2026, 3, 11), True),
        (7, date(2026, 3, 1), False),  # before it is due
    ],
)
def test_overdue_after_the_grace_days(grace: int, today: date, overdue: bool) -> None:
    due = date(2026, 3, 10)
    assert is_overdue(due, grace, today) is overdue
    assert overdue_on(due, grace) == due + timedelta(days=grace + 1)
    # A visit done is never overdue.
    assert is_overdue(due, grace, today, done=True) is False


def test_grace_across_a_month_end() -> None:
    assert overdue_on(date(2026, 2, 25), 7) == date(2026, 3, 5)
    assert not is_overdue(date(2026, 2, 25), 7, date(2026, 3, 4))
    assert is_overdue(date(2026, 2, 25), 7, date(2026, 3, 5))
