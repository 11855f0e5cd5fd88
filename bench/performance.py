"""Benchmarks of the performance dashboards at national scale (`make bench`):
the Pusat dashboard (goal p95 under 200 ms) and the Area dashboard (goal p95
under 100 ms), on 5 million closings and 2 million activities.

``bench/run.py`` runs this after the closings benchmarks; ``python
bench/performance.py`` runs it alone (same database, BENCH_DATABASE_URL). When
the monthly facts are missing they are rebuilt first (timed).

For each case, every run times in turn, on the same connection:

* *View*: ``GET /kinerja/unit/<id>/`` (the current month, as of today) through
  the test ``Client`` as the unit's own user (a Pusat staff member, the area's
  DBA): session, middleware, access policy, every widget of the page, template.
  The goal is held against its p95.
* *Figures (ORM)*: ``achievement.for_unit`` + ``trend`` + ``mix``, the numbers
  of the page without the rest.
* *Same SQL*: the statements the figures sent, replayed through a plain cursor
  (the database's own time for the same numbers from the same tables).
* *Closings aggregate*: the bare ``GROUP BY`` straight over ``sales_closing``
  for the same period and children (closing amount and count), this year and
  the same days last year; the bench checks it gives the same closing amount
  per child as the dashboard.

Results are printed and written into docs/PERFORMANCE.md between the
``bench:performance`` markers.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    import run  # noqa: F401 - points Django at the benchmark database and sets it up

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from registry import signed_in  # noqa: E402

from org.models import OrgUnit, Role, RoleAssignment, UnitKind, User  # noqa: E402
from performance import achievement, facts  # noqa: E402
from performance.models import KpiFact  # noqa: E402
from performance.periods import Period  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:performance:start -->", "<!-- bench:performance:end -->"
REPEAT = int(os.environ.get("BENCH_REPEAT", "50"))
WARMUP = 5
JKT = ZoneInfo("Asia/Jakarta")
GOALS = {UnitKind.PUSAT: 200.0, UnitKind.AREA: 100.0}
TREND = ("closing_amount",)

CLOSINGS_SQL = {
    UnitKind.PUSAT: """
SELECT region_id, SUM(amount), COUNT(*) FROM sales_closing
WHERE closed_on >= %s AND closed_on < %s GROUP BY region_id ORDER BY region_id""",
    UnitKind.AREA: """
SELECT branch_id, SUM(amount), COUNT(*) FROM sales_closing
WHERE area_id = %s AND closed_on >= %s AND closed_on < %s GROUP BY branch_id ORDER BY branch_id""",
}


def pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(unit: OrgUnit, period: Period) -> Any:
    result = achievement.for_unit(unit, period)
    achievement.trend(unit, TREND)
    achievement.mix(unit, period)
    return result


def replay(statements: list[tuple[str, Any]]) -> float:
    t = time.perf_counter_ns()
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
    return (time.perf_counter_ns() - t) / 1e6


def closings_sql(unit: OrgUnit, period: Period, as_of: dt.date) -> tuple[float, list[tuple[Any, ...]]]:
    last_as_of = achievement._year_before(as_of)
    t = time.perf_counter_ns()
    rows = []
    with connection.cursor() as cursor:
        for start, end in (
            (period.start, as_of + dt.timedelta(days=1)),
            (period.previous_year().start, last_as_of + dt.timedelta(days=1)),
        ):
            params: list[Any] = [start, end] if unit.kind == UnitKind.PUSAT else [unit.pk, start, end]
            cursor.execute(CLOSINGS_SQL[unit.kind], params)  # type: ignore[index]
            rows.append(cursor.fetchall())
    return (time.perf_counter_ns() - t) / 1e6, rows[0]


def user_for(unit: OrgUnit) -> User:
    role = Role.PUSAT if unit.kind == UnitKind.PUSAT else Role.DBA
    qs = RoleAssignment.objects.filter(role=role, valid_to__isnull=True).select_related("user")
    if unit.kind != UnitKind.PUSAT:
        qs = qs.filter(unit=unit)
    a = qs.order_by("id").first()
    if a is None:
        raise SystemExit(f"no {role} user for {unit.code}")
    return a.user


def pick_areas() -> list[OrgUnit]:
    """The area with the most closings this year, and a median one."""
    year = Period.of(dt.datetime.now(JKT).date(), "Y")
    rows = list(
        KpiFact.objects.filter(kpi="closing_count", month__gte=year.start, month__lt=year.end)
        .values("area_id")
        .annotate(n=Sum("value"))
        .order_by("-n", "area_id")
    )
    chosen = [rows[0]["area_id"], rows[len(rows) // 2]["area_id"]]
    return list(OrgUnit.objects.filter(pk__in=chosen).order_by("-id"))


def measure(unit: OrgUnit, period: Period, label: str) -> dict[str, Any]:
    user = user_for(unit)
    url = f"/kinerja/unit/{unit.pk}/?period={period.code}"
    today = dt.datetime.now(JKT).date()
    as_of = achievement.effective_as_of(period, today)
    out: dict[str, Any] = {"label": label, "unit": unit, "user": user.username, "period": period.code}
    with signed_in(user) as client:
        status = client.get(url).status_code
        out["status"] = status
        settings.DEBUG = True
        with CaptureQueriesContext(connection) as page_q:
            client.get(url)
        with CaptureQueriesContext(connection) as fig_q:
            result = figures(unit, period)
        settings.DEBUG = False
        out["queries"] = len(page_q) if status == 200 else None
        statements = [(q["sql"], None) for q in fig_q.captured_queries]
        view, orm, same, bare = [], [], [], []
        for i in range(WARMUP + REPEAT):
            if status == 200:
                t = time.perf_counter_ns()
                response = client.get(url)
                ms = (time.perf_counter_ns() - t) / 1e6
                assert response.status_code == 200
                if i >= WARMUP:
                    view.append(ms)
            t = time.perf_counter_ns()
            figures(unit, period)
            ms = (time.perf_counter_ns() - t) / 1e6
            if i >= WARMUP:
                orm.append(ms)
            ms = replay(statements)
            if i >= WARMUP:
                same.append(ms)
            ms, rows = closings_sql(unit, period, as_of)
            if i >= WARMUP:
                bare.append(ms)
    # The dashboard's closing amount per child equals the aggregate straight over the closings.
    by_child = {getattr(line.key, "pk", None): line.figures["closing_amount"].value for line in result.children}
    for child_id, amount, _count in rows:
        assert by_child.get(child_id, Decimal(0)) == amount, (child_id, by_child.get(child_id), amount)
    out |= {
        "children": len(result.children),
        "amount": result.own.figures["closing_amount"].value,
        "view": (statistics.median(view), pct(view, 95)) if view else None,
        "orm": (statistics.median(orm), pct(orm, 95)),
        "same": (statistics.median(same), pct(same, 95)),
        "bare": (statistics.median(bare), pct(bare, 95)),
        "goal": GOALS[unit.kind],  # type: ignore[index]
    }
    return out


def counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in (
            "sales_closing",
            "activities_activity",
            "performance_kpifact",
            "performance_mefact",
            "performance_branchdayfact",
            "performance_regiondayfact",
            "performance_regionmonthfact",
        ):
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            out[table] = int(cursor.fetchone()[0])
    return out


def render(results: list[dict[str, Any]], rebuild_s: float | None) -> str:
    n = counts()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    load = os.getloadavg()
    lines = [
        f"Run {dt.datetime.now(JKT):%Y-%m-%d %H:%M} (Jakarta) on PostgreSQL {server}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPU (load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} at the end); {n['sales_closing']:,} closings, {n['activities_activity']:,} activities; "
        f"facts: {n['performance_kpifact']:,} branch × month, {n['performance_branchdayfact']:,} branch × day, "
        f"{n['performance_mefact']:,} ME × month, {n['performance_regiondayfact']:,} region × day, "
        f"{n['performance_regionmonthfact']:,} region × month rows (estimates from pg_class). "
        f"{REPEAT} runs per case after {WARMUP} warm-ups; times in milliseconds.",
        "",
    ]
    if rebuild_s is not None:
        lines += [f"This run rebuilt the facts first: {rebuild_s:.1f} s (`performance_facts --rebuild`).", ""]
    lines += [
        "| Case | Children | Queries | View p50 | View p95 | Figures p50 | Same SQL p50 | Closings aggregate p50 "
        "| View / same SQL | View / closings aggregate | Goal (p95) | Met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        if r["view"] is None:
            view50 = view95 = f"answers {r['status']}"
            ratio_same = ratio_bare = met = "–"
        else:
            view50, view95 = f"{r['view'][0]:.1f}", f"**{r['view'][1]:.1f}**"
            ratio_same = f"{r['view'][0] / r['same'][0]:.1f}×"
            ratio_bare = f"{r['view'][0] / r['bare'][0]:.2f}×"
            met = "yes" if r["view"][1] < r["goal"] else "no"
        lines.append(
            f"| {r['label']} — {r['unit'].name} ({r['period']}), {r['user']} | {r['children']} | "
            f"{r['queries'] if r['queries'] is not None else '–'} | {view50} | {view95} | {r['orm'][0]:.1f} | "
            f"{r['same'][0]:.1f} | {r['bare'][0]:.1f} | {ratio_same} | {ratio_bare} | < {r['goal']:.0f} | {met} |"
        )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Dashboards: targets and achievement\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/performance.py measures PostgreSQL; set BENCH_DATABASE_URL to a postgres:// URL")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rebuild_s = None
    if not KpiFact.objects.exists():
        started = time.perf_counter()
        facts.rebuild()
        rebuild_s = time.perf_counter() - started
    facts.settle()
    # Vacuumed and analysed as autovacuum would keep them (it is off on this host).
    with connection.cursor() as cursor:
        for table in (
            "performance_kpifact",
            "performance_mefact",
            "performance_branchdayfact",
            "performance_regiondayfact",
            "performance_regionmonthfact",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    today = dt.datetime.now(JKT).date()
    month, year = Period.of(today), Period.of(today, "Y")
    root = OrgUnit.objects.get(kind=UnitKind.PUSAT)
    results = [measure(root, month, "Pusat, this month"), measure(root, year, "Pusat, this year")]
    for i, area in enumerate(pick_areas()):
        label = "Area with the most closings" if i == 0 else "Median area"
        results.append(measure(area, month, f"{label}, this month"))
    results.append(measure(pick_areas()[0], year, "Area with the most closings, this year"))
    section = render(results, rebuild_s)
    print(section)
    write_doc(section)
    print(f"\nwritten to {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
