"""What PostgreSQL plans to do with a statement (shared by the benchmarks)."""

from __future__ import annotations

from typing import Any

from django.db import connection


def explain_indexes(sql: str, params: list[Any]) -> set[str]:
    """Index names in the plan of ``sql`` (EXPLAIN, not run)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Index Name" in node:
                found.add(node["Index Name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan)
    return found
