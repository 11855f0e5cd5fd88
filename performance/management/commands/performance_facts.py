"""``manage.py performance_facts --rebuild`` recounts every monthly KPI fact from
the source tables; ``--check`` compares the kept facts with a recount (exit 1 on
a difference); ``--settle`` recomputes what writes marked (the daily task does
the current and previous month too)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from performance import facts


class Command(BaseCommand):
    help = "Rebuild, check or settle the monthly KPI facts."

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--rebuild", action="store_true")
        group.add_argument("--check", action="store_true")
        group.add_argument("--settle", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["rebuild"]:
            n = facts.rebuild()
            self.stdout.write(f"facts rebuilt: {n} rows in {time.perf_counter() - started:.1f}s")
        elif options["settle"]:
            n = facts.settle()
            self.stdout.write(f"settled {n} dirty (branch, month) pairs")
        else:
            diffs = facts.differences()
            if diffs:
                for d in diffs:
                    self.stdout.write(f"{d['key']}: kept {d['kept']} recount {d['recount']}")
                raise CommandError("facts differ from a recount")
            self.stdout.write(f"facts agree with a recount ({time.perf_counter() - started:.1f}s)")
