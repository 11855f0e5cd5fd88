"""The performance module's daily job (``manage.py performance_daily``, run by
cron or Celery beat once a day after midnight Jakarta time, and by ``make run``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from performance import facts


def run_daily(today: dt.date | None = None) -> dict[str, int]:
    """Recompute the months in which a planned maintenance visit may have turned
    overdue by the calendar alone, and whatever writes left marked."""
    today = today or timezone.localdate()
    return {"facts_rows": facts.refresh_recent(today), "dirty_settled": facts.settle(today)}
