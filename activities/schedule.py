"""Maintenance schedules: the due dates a plan generates, and when a visit is overdue.

Pure functions of dates (Asia/Jakarta calendar days), so tests freeze "today"
by passing it in.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from activities.models import Frequency

# How far ahead planned visits exist.
HORIZON_DAYS = 120


def _add_months(day: date, months: int, anchor_day: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day, last))


def due_dates(frequency: str, starts_on: date, until: date, ends_on: date | None = None) -> list[date]:
    """Every due date from ``starts_on`` up to and including ``until`` (and
    before ``ends_on`` when the plan ends). Monthly and quarterly plans keep
    their day of the month (the 31st becomes the month's last day)."""
    stop = min(until, ends_on - timedelta(days=1)) if ends_on else until
    out: list[date] = []
    if frequency in (Frequency.WEEKLY, Frequency.BIWEEKLY):
        step = timedelta(days=7 if frequency == Frequency.WEEKLY else 14)
        d = starts_on
        while d <= stop:
            out.append(d)
            d += step
        return out
    months = 1 if frequency == Frequency.MONTHLY else 3
    n = 0
    while True:
        d = _add_months(starts_on, n * months, starts_on.day)
        if d > stop:
            return out
        out.append(d)
        n += 1


def overdue_on(due_on: date, grace_days: int) -> date:
    """The first day a visit still not done counts as overdue."""
    return due_on + timedelta(days=grace_days + 1)


def is_overdue(due_on: date, grace_days: int, today: date, *, done: bool = False) -> bool:
    return not done and today >= overdue_on(due_on, grace_days)
