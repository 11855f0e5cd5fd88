"""Business dates that make sense: a visit, a plan, a calendar page lies
between 2000 and 2100. Anything outside is junk input (typed by hand into a
URL or an API body) and is refused or replaced, never passed to date
arithmetic that would overflow."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)


def in_range(day: date | None) -> bool:
    return day is None or MIN_DAY <= day <= MAX_DAY


def day_param(value: Any, default: date) -> date:
    """A ``YYYY-MM-DD`` query parameter, or ``default`` when it is missing, malformed or out of range."""
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError:
        return default
    return day if in_range(day) else default


def validate_business_day(value: date) -> None:
    if not in_range(value):
        raise ValidationError(
            _("Tanggal harus antara %(min)s dan %(max)s."),
            code="date_range",
            params={"min": MIN_DAY.strftime("%d-%m-%Y"), "max": MAX_DAY.strftime("%d-%m-%Y")},
        )
