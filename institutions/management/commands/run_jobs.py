"""python manage.py run_jobs [--stale-minutes N] [--all]

Finishes the import jobs that a stopped or restarted process left half done.
Background tasks run in threads of the web process (``core.tasks``): when that
process stops, a job stays PENDING, VALIDATING or WRITING. Validation starts
again from the file; a write runs in one transaction, so an interrupted one
wrote nothing and simply runs again (the job row lock stops a double write).

Only jobs untouched for ``--stale-minutes`` (progress updates touch them) are
taken, so a job still running in a live process is left alone. Run it after a
restart, or from cron.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from institutions import imports
from institutions.models import ImportJob, ImportStatus


class Command(BaseCommand):
    help = "Finish import jobs left PENDING/VALIDATING/WRITING by a stopped process."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--stale-minutes", type=int, default=5, help="Only jobs untouched this long (default 5).")
        parser.add_argument("--all", action="store_true", help="Take every unfinished job, however recent.")

    def handle(self, *args: Any, **options: Any) -> None:
        qs = ImportJob.objects.filter(
            status__in=[ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.WRITING]
        ).order_by("created_at", "id")
        if not options["all"]:
            qs = qs.filter(updated_at__lt=timezone.now() - timedelta(minutes=options["stale_minutes"]))
        done = 0
        for job in qs:
            if job.status == ImportStatus.WRITING:
                imports.import_write(job.pk)
            else:
                imports.import_validate(job.pk)
            job.refresh_from_db()
            done += 1
            self.stdout.write(f"job {job.pk} ({job.original_name}): {job.status} {job.message}".rstrip())
        self.stdout.write(self.style.SUCCESS(f"{done} job(s) processed."))
