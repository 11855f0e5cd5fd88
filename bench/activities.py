"""Benchmarks of the ME's work at national scale (`make bench`): the ME's
"Hari ini" page and the branch calendar (week and month) with 2 million
activities.

``bench/run.py`` runs this after the registry benchmarks; ``python
bench/activities.py`` runs it alone (same database, BENCH_DATABASE_URL). When
the database holds the national network but not this module's demo yet, it is
loaded first (``demo_data --scale national``, idempotent) and timed.

Each case is one URL for one user, on one Jakarta working day (BENCH_DAY, or
today, or the Friday before a weekend; the clock is moved there with
time-machine so the pages and the selectors see the same "today"). Every
repeat (BENCH_REPEAT, default 50, after a few warm-up runs) times, on the same
connection, in turn:

* the whole request through the test ``Client`` (session, middleware, view,
  template) — the figure held against the goal (p95 under 150 ms);
* the ORM part of it: the selector the page shows (``selectors.today_for``,
  ``selectors.calendar_days``);
* the statements that selector sent, replayed through a plain cursor;
* the bare SQL: hand-written SELECTs that fetch the same rows (checked: same
  ids in the same order). Ratios are against it.

A page that is not written yet answers 501: its case is measured on the
selector and SQL only, and the section says so. The results are printed and
written into docs/PERFORMANCE.md between the ``bench:activities`` markers.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    import run  # noqa: F401 - points Django at the benchmark database and sets it up

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from plans import explain_indexes  # noqa: E402
from registry import SqlClock, Statement, p50, pct, replay, signed_in  # noqa: E402

from activities import selectors  # noqa: E402
from activities.models import OPEN_LEAD_STATUSES, Activity, Lead, MaintenanceVisit, VisitStatus  # noqa: E402
from control.models import AuditEvent  # noqa: E402
from org import access  # noqa: E402
from org.models import OrgUnit, Role, RoleAssignment, User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:activities:start -->", "<!-- bench:activities:end -->"
REPEAT = int(os.environ.get("BENCH_REPEAT", "50"))
WARMUP = 5
GOAL_P95_MS = 150.0
NATIONAL_ACTIVITIES = 1_900_000  # below this the module's national demo is not loaded
JKT = ZoneInfo("Asia/Jakarta")
TODAY_URL = "/aktivitas/hari-ini/"
CALENDAR_URL = "/aktivitas/kalender/"
OPEN = tuple(str(s) for s in OPEN_LEAD_STATUSES)

# --- The bare SQL, written by hand: the same rows with the same joins, nothing else. ---------

AGENDA_SQL = """
SELECT a.*, u.*, i.*, b.* FROM activities_activity a
JOIN org_user u ON u.id = a.me_id
LEFT JOIN institutions_institution i ON i.id = a.institution_id
JOIN org_orgunit b ON b.id = a.branch_id
WHERE a.branch_id = %s AND a.day = %s
  AND (a.me_id = %s OR EXISTS (SELECT 1 FROM activities_participant p WHERE p.activity_id = a.id AND p.user_id = %s))
ORDER BY a.starts_at, a.id
"""
PARTICIPANTS_SQL = """
SELECT p.*, u.* FROM activities_participant p JOIN org_user u ON u.id = p.user_id
WHERE p.activity_id = ANY(%s) ORDER BY p.role, p.user_id
"""
VISITS_SQL = """
SELECT v.*, i.*, u.* FROM activities_maintenancevisit v
JOIN institutions_institution i ON i.id = v.institution_id
JOIN org_user u ON u.id = v.me_id
WHERE v.branch_id = %s AND v.status = 'PLANNED' AND {condition}
ORDER BY v.due_on, v.id
"""
LEADS_SQL = """
SELECT l.*, i.*, s.*, m.* FROM activities_lead l
JOIN institutions_institution i ON i.id = l.institution_id
LEFT JOIN org_user s ON s.id = l.assigned_to_id
JOIN org_user m ON m.id = l.me_id
WHERE l.branch_id = %s AND l.me_id = %s AND l.status = ANY(%s)
ORDER BY l.due_on ASC NULLS LAST, l.created_at DESC, l.id DESC LIMIT %s
"""
LEADS_COUNT_SQL = "SELECT COUNT(*) FROM activities_lead WHERE branch_id = %s AND me_id = %s AND status = ANY(%s)"
CALENDAR_SQL = """
SELECT a.*, u.*, i.*, b.* FROM activities_activity a
JOIN org_user u ON u.id = a.me_id
LEFT JOIN institutions_institution i ON i.id = a.institution_id
JOIN org_orgunit b ON b.id = a.branch_id
WHERE a.branch_id = %s AND a.day >= %s AND a.day < %s
ORDER BY a.starts_at, a.id
"""


def bench_day() -> dt.date:
    """The Jakarta working day the pages are opened on."""
    if os.environ.get("BENCH_DAY"):
        return dt.date.fromisoformat(os.environ["BENCH_DAY"])
    day = timezone.localdate()
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


@dataclass
class Case:
    label: str
    username: str
    url: str
    orm: Callable[[User], Any]  # the selector call the page shows
    orm_ids: Callable[[Any], list[Any]]  # the ids (and counts) it returned, in order
    bare: Callable[[], list[Statement]]  # the hand-written statements
    bare_ids: Callable[[list[list[tuple[Any, ...]]]], list[Any]]
    rows: Callable[[list[Any]], int]  # the rows the page lists (from the ids)


def today_case(label: str, me: User, day: dt.date) -> Case:
    branch = access.scope_root(me)
    assert branch is not None
    limit = 20
    # Due and still within their grace period (due by today, not overdue yet).
    visits_due = VISITS_SQL.replace("{condition}", "v.me_id = %s AND v.due_on <= %s AND v.overdue_on > %s")
    overdue = VISITS_SQL.replace("{condition}", "v.me_id = %s AND v.overdue_on <= %s") + f" LIMIT {limit}"

    def orm(user: User) -> Any:
        return selectors.today_for(user, day, limit=limit)

    def orm_ids(t: Any) -> list[Any]:
        return [
            [a.pk for a in t.agenda],
            sorted(p.pk for a in t.agenda for p in a.participant_rows.all()),
            [v.pk for v in t.due_visits],
            [v.pk for v in t.overdue],
            [lead.pk for lead in t.leads],
            t.leads_total,
        ]

    def bare() -> list[Statement]:
        agenda = [r[0] for r in replay(Statement(AGENDA_SQL, [branch.pk, day, me.pk, me.pk]))]
        return [
            Statement(AGENDA_SQL, [branch.pk, day, me.pk, me.pk]),
            Statement(PARTICIPANTS_SQL, [agenda]),
            Statement(visits_due, [branch.pk, me.pk, day, day]),
            Statement(overdue, [branch.pk, me.pk, day]),
            Statement(LEADS_SQL, [branch.pk, me.pk, list(OPEN), limit]),
            Statement(LEADS_COUNT_SQL, [branch.pk, me.pk, list(OPEN)]),
        ]

    def bare_ids(results: list[list[tuple[Any, ...]]]) -> list[Any]:
        ids = [[r[0] for r in rows] for rows in results[:5]] + [results[5][0][0]]
        ids[1].sort()  # participants: the page groups them per activity
        return ids

    def rows(ids: list[Any]) -> int:
        agenda, _participants, due, overdue, leads, _total = ids
        return len(agenda) + len(due) + len(overdue) + len(leads)

    return Case(label, me.username, TODAY_URL, orm, orm_ids, bare, bare_ids, rows)


def calendar_case(label: str, pinca: User, branch: OrgUnit, view: str, day: dt.date) -> Case:
    start, end = selectors.calendar_range(view, day)
    visits = VISITS_SQL.replace("{condition}", "v.due_on >= %s AND v.due_on < %s")

    def orm(user: User) -> Any:
        return selectors.calendar_days(user, view, day, branch=branch.pk)

    def orm_ids(days: Any) -> list[Any]:
        return [[a.pk for d in days for a in d["activities"]], [v.pk for d in days for v in d["visits"]]]

    def bare() -> list[Statement]:
        return [Statement(CALENDAR_SQL, [branch.pk, start, end]), Statement(visits, [branch.pk, start, end])]

    def bare_ids(results: list[list[tuple[Any, ...]]]) -> list[Any]:
        # The grid groups by day; ordered by start (or due date), the rows already are.
        return [[r[0] for r in rows] for rows in results]

    url = f"{CALENDAR_URL}?branch={branch.pk}&view={view}"
    return Case(label, pinca.username, url, orm, orm_ids, bare, bare_ids, lambda ids: len(ids[0]) + len(ids[1]))


def pick_cases(day: dt.date) -> list[Case]:
    """me.c080101.1 and pinca.c080101 (the demo's showcase); the MEs with the
    most activities that day, the most overdue visits and the most open leads;
    the branch with the fullest month and a typical (median) one."""
    cases: list[Case] = []
    first = User.objects.get(username="me.c080101.1")
    mes = [("me.c080101.1", first)]
    busiest = Activity.objects.filter(day=day).values("me_id").annotate(n=Count("id")).order_by("-n", "me_id").first()
    overdue = (
        MaintenanceVisit.objects.filter(status=VisitStatus.PLANNED, overdue_on__lte=day)
        .values("me_id")
        .annotate(n=Count("id"))
        .order_by("-n", "me_id")
        .first()
    )
    leads = Lead.objects.filter(status__in=OPEN).values("me_id").annotate(n=Count("id")).order_by("-n", "me_id").first()
    for why, row in (("most activities today", busiest), ("most overdue visits", overdue), ("most open leads", leads)):
        if row:
            user = User.objects.get(pk=row["me_id"])
            mes.append((f"{user.username} ({why}: {row['n']})", user))
    seen: set[int] = set()
    for label, user in mes:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        cases.append(today_case(f"Hari ini — {label}", user, day))
    start, end = selectors.calendar_range("month", day)
    by_size = list(
        Activity.objects.filter(day__gte=start, day__lt=end)
        .values("branch_id")
        .annotate(n=Count("id"))
        .order_by("-n", "branch_id")
    )
    branches = [OrgUnit.objects.get(code="C080101")]
    if by_size:
        # The branch with the fullest month, and a typical one (the median).
        for row in (by_size[0], by_size[len(by_size) // 2]):
            if row["branch_id"] not in {b.pk for b in branches}:
                branches.append(OrgUnit.objects.get(pk=row["branch_id"]))
    for branch in branches:
        head = (
            RoleAssignment.objects.active(day)
            .filter(unit=branch, role=Role.PINCA)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        assert head is not None, branch.code
        for view in ("week", "month"):
            cases.append(
                calendar_case(
                    f"Kalender {view} — {branch.name} ({branch.code}), {head.user.username}",
                    head.user,
                    branch,
                    view,
                    day,
                )
            )
    return cases


# --- Measuring --------------------------------------------------------------------------------


def measure(case: Case) -> dict[str, Any]:
    user = User.objects.get(username=case.username)
    orm_user = User.objects.get(pk=user.pk)
    access.active_assignment(orm_user)  # resolved once per request by the page, as in bench/run.py
    orm_clock = SqlClock()
    with connection.execute_wrapper(orm_clock):
        result = case.orm(orm_user)
    statements = orm_clock.statements
    ids = case.orm_ids(result)
    bare = case.bare()
    bare_rows = [replay(s) for s in bare]
    if case.bare_ids(bare_rows) != ids:
        raise SystemExit(f"{case.label}: the bare SQL and the selector disagree\n{case.bare_ids(bare_rows)}\n{ids}")
    rows = case.rows(ids)
    with signed_in(user) as client:
        status = client.get(case.url).status_code
        if status not in (200, 501):
            raise SystemExit(f"{case.label}: {case.url} answered {status}")
        page = status == 200
        view_clock = SqlClock()
        if page:
            with connection.execute_wrapper(view_clock):
                client.get(case.url)
        view_s: list[float] = []
        view_sql_s: list[float] = []
        orm_s: list[float] = []
        own_s: list[float] = []
        sql_s: list[float] = []
        for i in range(WARMUP + REPEAT):
            clock = SqlClock()
            t0 = time.perf_counter()
            if page:
                with connection.execute_wrapper(clock):
                    client.get(case.url)
            t1 = time.perf_counter()
            case.orm(orm_user)
            t2 = time.perf_counter()
            for statement in statements:
                replay(statement)
            t3 = time.perf_counter()
            for statement in bare:
                replay(statement)
            t4 = time.perf_counter()
            if i >= WARMUP:
                view_s.append(t1 - t0)
                view_sql_s.append(clock.seconds)
                orm_s.append(t2 - t1)
                own_s.append(t3 - t2)
                sql_s.append(t4 - t3)
    out: dict[str, Any] = {
        "label": case.label,
        "url": case.url,
        "page": page,
        "rows": rows,
        "queries": len(view_clock.statements) if page else None,
        "view_statements": view_clock.statements,
        "orm_queries": len(statements),
        "orm_p50": p50(orm_s),
        "orm_p95": pct(orm_s, 95),
        "own_p50": p50(own_s),
        "sql_p50": p50(sql_s),
        "sql_p95": pct(sql_s, 95),
        "bare": bare,
        "indexes": sorted({i for s in bare for i in explain_indexes(s.sql, list(s.params))}),
    }
    if page:
        out.update(view_p50=p50(view_s), view_p95=pct(view_s, 95), view_sql_p50=p50(view_sql_s))
        out["meets"] = out["view_p95"] < GOAL_P95_MS
    else:
        out["meets"] = None
    out["orm_ratio"] = out["orm_p50"] / out["sql_p50"]
    out["view_ratio"] = out["view_p50"] / out["sql_p50"] if page else None
    return out


def explain_analyze(statement: Statement) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
        return [row[0] for row in cursor.fetchall()]


def slowest_statements(result: dict[str, Any], n: int = 3) -> list[tuple[float, Statement]]:
    """The page's statements that took longest (one run each, timed)."""
    timed = []
    for s in result["view_statements"]:
        t0 = time.perf_counter()
        replay(s)
        timed.append(((time.perf_counter() - t0) * 1000, s))
    return sorted(timed, key=lambda x: -x[0])[:n]


# --- The data -------------------------------------------------------------------------------


def ensure_loaded() -> float | None:
    """Load this module's national demo when the database has the network but
    not the activities yet; returns the time it took, or None."""
    if Activity.objects.count() >= NATIONAL_ACTIVITIES:
        return None
    started = time.perf_counter()
    call_command("demo_data", scale="national", seed=1)
    return time.perf_counter() - started


def load_record() -> dict[str, Any] | None:
    event = (
        AuditEvent.objects.filter(action="demo.load", object_type="activities.demo", object_id__startswith="national:")
        .order_by("seq")
        .first()
    )
    if event is None:
        return None
    return {"at": timezone.localtime(event.created_at), **(event.after or {})}


def counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in (
            "activities_activity",
            "activities_participant",
            "activities_maintenanceplan",
            "activities_maintenancevisit",
            "activities_lead",
            "institutions_stagechange",
        ):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def vacuum() -> None:
    """The visibility map and the statistics, as autovacuum would keep them on a
    live server (it lags behind a bulk load). Changes no data."""
    with connection.cursor() as cursor:
        for table in counts():
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# --- Report --------------------------------------------------------------------------------


def fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def render(
    results: list[dict[str, Any]],
    day: dt.date,
    plans: dict[str, list[str]],
    loaded_s: float | None,
    load_start: tuple[float, float, float],
) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    load = os.getloadavg()
    rows = counts()
    pages = [r for r in results if r["page"]]
    lines = [
        f"Measured {timezone.localdate().isoformat()} (Jakarta date) by `make bench` (`bench/activities.py`): "
        f"PostgreSQL {server}, Python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(load average {load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f} at the start, "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end); "
        f"{rows['activities_activity']:,} activities. Pages opened on {day.isoformat()} ({day:%A}, the working day "
        f"measured); {REPEAT} runs per case after {WARMUP} warm-up runs; times in milliseconds.",
        "",
        "- *View*: the whole request through the test `Client` (session, middleware, view, template).",
        f"  The goal is on its p95: under {GOAL_P95_MS:.0f} ms.",
        "- *ORM*: the selector the page shows (`today_for`, `calendar_days`) with its prefetches.",
        "- *Own SQL*: the statements the selector sent, replayed through a plain cursor.",
        "- *Bare SQL*: hand-written SELECTs fetching the same rows with the same joins (same ids, same order).",
        "  Ratios are p50 / bare SQL p50. *Queries*: statements the whole request sends.",
        "",
        f"| Case | Rows | Queries | View p50 | View p95 | ORM p50 | ORM p95 | Own SQL p50 | Bare SQL p50 "
        f"| Bare SQL p95 | View/SQL | ORM/SQL | p95 < {GOAL_P95_MS:.0f} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        verdict = "—" if r["meets"] is None else ("yes" if r["meets"] else "**no**")
        view_ratio = "—" if r["view_ratio"] is None else f"{r['view_ratio']:.1f}×"
        lines.append(
            f"| {r['label']} | {r['rows']:,} | {r['queries'] if r['queries'] is not None else '—'} | "
            f"{fmt(r.get('view_p50'))} | **{fmt(r.get('view_p95'))}** | {fmt(r['orm_p50'])} | {fmt(r['orm_p95'])} | "
            f"{fmt(r['own_p50'])} | {fmt(r['sql_p50'])} | {fmt(r['sql_p95'])} | {view_ratio} | "
            f"{r['orm_ratio']:.1f}× | {verdict} |"
        )
    lines.append("")
    if len(pages) < len(results):
        missing = sorted({r["url"].split("?")[0] for r in results if not r["page"]})
        lines.append(
            f"Not written yet (answered 501): {', '.join(f'`{u}`' for u in missing)}; those cases are measured on "
            "their selector and SQL only."
        )
    if pages:
        met = sum(1 for r in pages if r["meets"])
        lines.append(f"{met} of {len(pages)} page cases meet the goal.")
    lines += [
        "",
        "Where a request's time goes (p50): its own queries, the rest (Python: middleware, view, template); "
        "indexes in the plans of the bare SQL.",
        "",
        "| Case | Request SQL | Rest of request | Indexes |",
        "|---|---:|---:|---|",
    ]
    for r in results:
        rest = r["view_p50"] - r["view_sql_p50"] if r["page"] else None
        lines.append(
            f"| {r['label']} | {fmt(r.get('view_sql_p50'))} | {fmt(rest)} | "
            f"{', '.join(f'`{i}`' for i in r['indexes']) or 'seq scan'} |"
        )
    lines += [""]
    for title, plan in plans.items():
        lines += [f"{title}:", "", "```text", *plan, "```", ""]
    lines.append("Data: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + ".")
    record = load_record()
    if loaded_s is not None:
        lines.append(f"This run loaded the module's national demo first: {loaded_s:.1f} s.")
    elif record and "seconds" in record:
        lines.append(
            f"The module's national demo (`demo_data --scale national`, activities loader) was loaded on "
            f"{record['at']:%Y-%m-%d} for the day {record['today']}: {record['seconds']:.0f} s to build, write "
            "and index its rows (its COMMIT and ANALYZE follow; the command's whole time is above)."
        )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## The ME's day and the branch calendar\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/activities.py measures PostgreSQL; set BENCH_DATABASE_URL to a postgres:// URL")
    loaded_s = ensure_loaded()
    if loaded_s is not None:
        print(f"activities demo loaded in {loaded_s:.1f} s")
    settings.DEBUG = False  # no query log while measuring
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    vacuum()
    load_start = os.getloadavg()
    day = bench_day()
    results = []
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=JKT), tick=True):
        for case in pick_cases(day):
            r = measure(case)
            results.append(r)
            view = f"view p95 {r['view_p95']:.1f} ms, " if r["page"] else "page not written (501), "
            print(f"  {case.label}: {view}ORM p95 {r['orm_p95']:.1f}, bare SQL p95 {r['sql_p95']:.1f}", file=sys.stderr)
        for r in results:
            if r["meets"] is False:
                print(f"\nSlow: {r['label']} ({r['url']}): its slowest statements", file=sys.stderr)
                for ms, s in slowest_statements(r):
                    print(f"-- {ms:.1f} ms\n{s.sql}\n" + "\n".join(explain_analyze(s)), file=sys.stderr)
        month = max((r for r in results if "month" in r["label"]), key=lambda r: r["rows"])
        today = max((r for r in results if r["label"].startswith("Hari ini")), key=lambda r: r["rows"])
        plans = {
            f"Plan of the bare calendar query, {month['label']} (`EXPLAIN (ANALYZE, BUFFERS)`)": explain_analyze(
                month["bare"][0]
            ),
            f"Plan of the bare agenda query, {today['label']}": explain_analyze(today["bare"][0]),
        }
    section = render(results, day, plans, loaded_s, load_start)
    print(section)
    write_doc(section)
    print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    run.prepare()  # migrate; load the national demo into an empty database
    main()
