"""python manage.py demo_users [--json | --table]: the demo logins."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from org.demo import DEMO_PASSWORD
from org.models import RoleAssignment


class Command(BaseCommand):
    help = "Print the demo logins (demo passwords only exist in demo data)."

    def add_arguments(self, parser: Any) -> None:
        fmt = parser.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="Every demo login, one object per role held.")
        fmt.add_argument("--table", action="store_true", help="One login per role, for a person to read.")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = (
            RoleAssignment.objects.active()
            .filter(user__is_demo=True, user__is_active=True)
            .select_related("user", "unit")
            .order_by("role", "unit__path", "user__username")
        )
        logins = [
            {
                "username": a.user.username,
                "password": DEMO_PASSWORD,
                "role": a.role,
                "unit_code": a.unit.code,
                "unit_path": a.unit.path,
            }
            for a in rows.iterator(chunk_size=5000)
        ]
        if not options["table"]:
            self.stdout.write(json.dumps(logins, ensure_ascii=False))
            return
        seen: set[str] = set()
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"  {'ROLE':<10} {'USERNAME':<22} UNIT")
        for row in logins:
            if row["role"] in seen:
                continue
            seen.add(row["role"])
            self.stdout.write(f"  {row['role']:<10} {row['username']:<22} {row['unit_code']}")
        self.stdout.write("  (python manage.py demo_users --json lists them all)")
        self.stdout.write("")
