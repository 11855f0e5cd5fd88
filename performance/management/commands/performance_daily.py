"""``manage.py performance_daily [--day YYYY-MM-DD]``: the daily job of the performance module."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from performance.tasks import run_daily


class Command(BaseCommand):
    help = "Recompute the recent months' KPI facts (visits turn overdue by the calendar alone)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--day", help="Run as if today were this day (YYYY-MM-DD).")

    def handle(self, *args: Any, **opts: Any) -> None:
        day = None
        if opts["day"]:
            try:
                day = dt.date.fromisoformat(opts["day"])
            except ValueError:
                raise CommandError("--day must be YYYY-MM-DD") from None
        result = run_daily(day)
        self.stdout.write(", ".join(f"{k}={v}" for k, v in result.items()))
