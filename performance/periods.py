"""Target and achievement periods: a month, a quarter or a year, each a
half-open range of Asia/Jakarta calendar dates ``[start, end)``.

Written as ``2026-11`` (month), ``2026-Q4`` (quarter) and ``2026`` (year) in
URLs, the API and spreadsheets."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.dates import MAX_DAY, MIN_DAY


class PeriodKind(models.TextChoices):
    MONTH = "M", _("Bulan")
    QUARTER = "Q", _("Triwulan")
    YEAR = "Y", _("Tahun")


MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}
_PATTERN = re.compile(r"^\s*(\d{4})(?:-(?:(\d{1,2})|[Qq]([1-4])))?\s*$")


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    kind: str

    @property
    def months(self) -> int:
        return MONTHS_IN[PeriodKind(self.kind)]

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return add_months(self.start, self.months)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def code(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}"

    def __str__(self) -> str:
        return self.code

    def label(self) -> str:
        from django.utils import formats

        if self.kind == PeriodKind.MONTH:
            return formats.date_format(self.start, "F Y")
        if self.kind == PeriodKind.QUARTER:
            return f"{_('Triwulan')} {(self.start.month - 1) // 3 + 1} {self.start.year}"
        return str(self.start.year)

    def previous_year(self) -> Period:
        return Period(self.start.replace(year=self.start.year - 1), self.kind)

    def previous(self) -> Period:
        return Period(add_months(self.start, -self.months), self.kind)

    def following(self) -> Period:
        return Period(self.end, self.kind)

    def children(self) -> list[Period]:
        """The months of the period."""
        return [Period(add_months(self.start, i), PeriodKind.MONTH) for i in range(self.months)]

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    @classmethod
    def of(cls, day: dt.date, kind: str = PeriodKind.MONTH) -> Period:
        if kind == PeriodKind.YEAR:
            return cls(dt.date(day.year, 1, 1), kind)
        if kind == PeriodKind.QUARTER:
            return cls(dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1), kind)
        return cls(dt.date(day.year, day.month, 1), PeriodKind.MONTH)

    @classmethod
    def from_parts(cls, kind: str, start: dt.date) -> Period:
        return cls.of(start, kind)


def parse_period(value: object) -> Period | None:
    """``2026-11``, ``2026-Q4`` or ``2026``; ``None`` for anything else (or out of 2000–2100)."""
    match = _PATTERN.match(str(value or ""))
    if not match:
        return None
    year, month, quarter = int(match[1]), match[2], match[3]
    if not MIN_DAY.year <= year <= MAX_DAY.year - 1:
        return None
    if month is not None:
        m = int(month)
        if not 1 <= m <= 12:
            return None
        return Period(dt.date(year, m, 1), PeriodKind.MONTH)
    if quarter is not None:
        return Period(dt.date(year, (int(quarter) - 1) * 3 + 1, 1), PeriodKind.QUARTER)
    return Period(dt.date(year, 1, 1), PeriodKind.YEAR)
