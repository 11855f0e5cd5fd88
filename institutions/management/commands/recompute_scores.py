"""python manage.py recompute_scores

Recompute the potential score of every live institution, after the formula in
institutions/scoring.py (and docs/POTENTIAL_SCORE.md) or a branch's coordinates
changed. Writes only the rows whose score or distance changed; one audit event.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from institutions.services import scores_recompute


class Command(BaseCommand):
    help = "Recompute the potential score of every live institution."

    def handle(self, *args: Any, **options: Any) -> None:
        n = scores_recompute(actor=None)
        self.stdout.write(self.style.SUCCESS(f"{n} institution score(s) changed."))
