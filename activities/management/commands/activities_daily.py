"""The daily job of the activities module (run it from cron once a day)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from activities.tasks import run_daily


class Command(BaseCommand):
    help = "Generate maintenance visits ahead, send reminders and weekly summaries, anonymise old leads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="Run as if today were this date (YYYY-MM-DD).")
        parser.add_argument("--weekly", action="store_true", help="Send the weekly summaries even if not Monday.")

    def handle(self, *args: Any, **opts: Any) -> None:
        today = None
        if opts.get("date"):
            try:
                today = date.fromisoformat(opts["date"])
            except ValueError as exc:
                raise CommandError("--date must be YYYY-MM-DD") from exc
        result = run_daily(today, weekly=True if opts["weekly"] else None)
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")
