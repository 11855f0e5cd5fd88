"""Periods: parsing, half-open ends, previous year."""

from __future__ import annotations

import datetime as dt

import pytest

from performance.periods import Period, PeriodKind, parse_period


@pytest.mark.parametrize(
    ("text", "start", "kind", "end"),
    [
        ("2026-11", dt.date(2026, 11, 1), PeriodKind.MONTH, dt.date(2026, 12, 1)),
        ("2026-12", dt.date(2026, 12, 1), PeriodKind.MONTH, dt.date(2027, 1, 1)),
        ("2026-Q4", dt.date(2026, 10, 1), PeriodKind.QUARTER, dt.date(2027, 1, 1)),
        ("2026-q1", dt.date(2026, 1, 1), PeriodKind.QUARTER, dt.date(2026, 4, 1)),
        ("2026", dt.date(2026, 1, 1), PeriodKind.YEAR, dt.date(2027, 1, 1)),
        (" 2026-2 ", dt.date(2026, 2, 1), PeriodKind.MONTH, dt.date(2026, 3, 1)),
    ],
)
def test_parse_and_half_open_end(text: str, start: dt.date, kind: str, end: dt.date) -> None:
    p = parse_period(text)
    assert p is not None
    assert (p.start, p.kind, p.end) == (start, kind, end)
    assert p.last_day == end - dt.timedelta(days=1)
    assert p.contains(p.last_day) and not p.contains(p.end) and not p.contains(start - dt.timedelta(days=1))
    assert parse_period(p.code) == p


@pytest.mark.parametrize(
    "junk",
    [
        "",
        None,
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "26-11",
        "2026/11",
        "abc",
        "2026-11-01",
        "1999",
        "2101",
        "2026-Q",
        "١٢٣٤",
        "2026-11; DROP TABLE",
        2026.5,
    ],
)
def test_refuses_junk(junk: object) -> None:
    assert parse_period(junk) is None


def test_codes_previous_year_and_children() -> None:
    q = Period(dt.date(2026, 10, 1), PeriodKind.QUARTER)
    assert q.code == "2026-Q4"
    assert q.previous_year() == Period(dt.date(2025, 10, 1), PeriodKind.QUARTER)
    assert [c.code for c in q.children()] == ["2026-10", "2026-11", "2026-12"]
    assert Period.of(dt.date(2024, 2, 29), PeriodKind.YEAR).previous_year().code == "2023"
    assert Period.of(dt.date(2026, 11, 29)).code == "2026-11"
    assert Period(dt.date(2026, 1, 1), PeriodKind.MONTH).previous().code == "2025-12"
    assert Period(dt.date(2026, 12, 1), PeriodKind.MONTH).following().code == "2027-01"
