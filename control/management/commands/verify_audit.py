from typing import Any

from django.core.management.base import BaseCommand, CommandError

from control.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit hash chain; exit non-zero naming the first broken row."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        if not result.ok:
            row = f"seq {result.broken_seq}" + (f" (id {result.broken_id})" if result.broken_id else "")
            raise CommandError(
                f"Audit chain BROKEN at {row}: {result.reason}. {result.checked} event(s) before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {result.checked} event(s) verified."))
