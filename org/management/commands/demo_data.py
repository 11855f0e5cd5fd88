"""python manage.py demo_data --scale small|national [--seed N] [--if-empty]"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string
from tqdm import tqdm

from org.models import OrgUnit

# Each module adds its loader here; they run in this order.
# The performance loader is last: it rebuilds the monthly facts from what the others wrote.
LOADERS = [
    "org.demo.load",
    "institutions.demo.load",
    "activities.demo.load",
    "sales.demo.load",
    "performance.demo.load",
]


class Command(BaseCommand):
    help = "Load deterministic, idempotent demo data (small for a laptop, national for benchmarks)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--scale", choices=["small", "national"], default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database has data (a demo database still gets newer modules' demo data).",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and OrgUnit.objects.exists():
            from activities.models import Activity
            from institutions.models import Institution
            from org.models import User
            from performance.models import Target
            from sales.models import Closing

            # A database of real data is never touched; a demo database from an
            # earlier version gets what later modules add (the loaders are idempotent).
            complete = (
                Institution.objects.exists()
                and Activity.objects.exists()
                and Closing.objects.exists()
                and Target.objects.exists()
            )
            if not User.objects.filter(is_demo=True).exists() or complete:
                self.stdout.write("Database already has data; demo data not loaded.")
                return
        bars: list[tqdm] = []

        def progress(label: str, total: int) -> Callable[[int], None]:
            bar = tqdm(
                total=total,
                desc=f"{label:>10}",
                unit="",
                file=sys.stderr,
                disable=options["no_progress"],
                leave=True,
                dynamic_ncols=True,
            )
            bars.append(bar)

            def tick(n: int) -> None:
                bar.update(n)
                if bar.n >= bar.total:
                    bar.close()

            return tick

        started = time.monotonic()
        totals: dict[str, int] = {}
        for dotted in LOADERS:
            created = import_string(dotted)(scale=options["scale"], seed=options["seed"], progress=progress)
            for key, value in created.items():
                totals[key] = totals.get(key, 0) + value
        for bar in bars:
            bar.close()
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{k}={v}" for k, v in totals.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ({options['scale']}, seed {options['seed']}): added {summary} in {elapsed:.1f}s"
            )
        )
