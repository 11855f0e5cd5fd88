"""Benchmarks of the org-tree reads the pages use, each against the bare SQL
that computes the same result (`make bench`).

Runs on PostgreSQL at national scale: the database named by BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/sinergi_bench) is created, migrated
and loaded with ``demo_data --scale national --seed 1`` when it is empty (the
load is timed). Each read then runs N times (BENCH_REPEAT, default 200),
alternating with the statement the ORM sent and with its bare SQL on the same
connection; the table of p50/p95 and the ratio ORM/SQL is printed and
written into docs/PERFORMANCE.md between the ``bench:org`` markers. Then
``bench/registry.py`` measures the institution registry and
``bench/activities.py`` the ME's day and the branch calendar, and
``bench/sales.py`` closings ingestion and the attribution page, and
``bench/performance.py`` the Pusat and Area dashboards (their own sections).

The ORM side is what a page pays after its request has resolved the user's
active role (cached on the user object): building the query, the round trip,
and turning rows into objects. Query logging (DEBUG) is switched off while
measuring, as in production.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sinergi_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
WARMUP = 20
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:org:start -->", "<!-- bench:org:end -->"
PATH_INDEXES = {"org_unit_path_prefix", "org_orgunit_path_ab649c61_like"}


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


ensure_database(BENCH_URL)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sinergi.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from plans import explain_indexes  # noqa: E402

from org import access, selectors  # noqa: E402
from org.models import OrgUnit, User  # noqa: E402


@dataclass
class Case:
    name: str
    orm: Callable[[], Any]
    sql: str
    params: list[Any]
    shape: Callable[[Any], Any]  # ORM result -> comparable with the SQL rows


def prepare() -> float | None:
    """Migrate and load the national network when the database is empty.
    Returns the load time in seconds, or None when data was already there."""
    call_command("migrate", verbosity=0, interactive=False)
    if OrgUnit.objects.exists():
        return None
    started = time.perf_counter()
    call_command("demo_data", scale="national", seed=1)
    return time.perf_counter() - started


def bare(sql: str, params: list[Any] | None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def pct(values: list[int], q: int) -> float:
    """The q-th percentile of nanosecond timings, in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] / 1e6


def orm_sql(case: Case) -> str:
    """The one statement the ORM sends for ``case``, exactly as sent."""
    with CaptureQueriesContext(connection) as captured:
        case.orm()
    if len(captured) != 1:
        raise SystemExit(f"{case.name}: expected one query, the ORM ran {len(captured)}")
    return str(captured[0]["sql"])


def measure(case: Case) -> dict[str, Any]:
    orm_result = case.shape(case.orm())
    sql_result = bare(case.sql, case.params)
    if orm_result != sql_result:
        raise SystemExit(f"{case.name}: ORM and bare SQL disagree\nORM {orm_result[:5]}\nSQL {sql_result[:5]}")
    statement = orm_sql(case)
    orm_ns: list[int] = []
    own_ns: list[int] = []
    sql_ns: list[int] = []
    for i in range(WARMUP + REPEAT):
        t0 = time.perf_counter_ns()
        case.orm()
        t1 = time.perf_counter_ns()
        bare(statement, None)
        t2 = time.perf_counter_ns()
        bare(case.sql, case.params)
        t3 = time.perf_counter_ns()
        if i >= WARMUP:
            orm_ns.append(t1 - t0)
            own_ns.append(t2 - t1)
            sql_ns.append(t3 - t2)
    orm_p50, sql_p50 = pct(orm_ns, 50), pct(sql_ns, 50)
    return {
        "name": case.name,
        "rows": len(sql_result),
        "orm_p50": orm_p50,
        "orm_p95": pct(orm_ns, 95),
        "own_p50": pct(own_ns, 50),
        "sql_p50": sql_p50,
        "sql_p95": pct(sql_ns, 95),
        "ratio": orm_p50 / sql_p50,
    }


def compare_shapes() -> list[dict[str, Any]]:
    """Bare SQL only: the subtree people count of each child of a unit, with the
    prefix as ``LIKE parent.path || '%'`` (what ``path__startswith=OuterRef``
    compiles to; no index can serve it) against the byte-wise range that
    ``org.selectors.PathWithin`` sends on PostgreSQL."""
    day = timezone.localdate()
    out = []
    for code in ("PST", "W08", "A0801"):
        unit = OrgUnit.objects.get(code=code)
        timings: dict[str, list[int]] = {"like": [], "range": []}
        results = {}
        for shape, condition in (("like", SUBTREE_LIKE), ("range", SUBTREE_RANGE)):
            sql = SUBTREE_SQL.replace("{condition}", condition)
            results[shape] = bare(sql, [day, day, unit.id])
            for i in range(WARMUP + REPEAT):
                t0 = time.perf_counter_ns()
                bare(sql, [day, day, unit.id])
                if i >= WARMUP:
                    timings[shape].append(time.perf_counter_ns() - t0)
        if results["like"] != results["range"]:
            raise SystemExit(f"subtree counts under {code}: LIKE and range disagree")
        like, rng = pct(timings["like"], 50), pct(timings["range"], 50)
        out.append({"unit": f"{unit.name} ({code})", "rows": len(results["like"]), "like": like, "range": rng})
    return out


# The bare SQL, written by hand: what the database is asked when nobody builds
# the query for it. Each ACTIVE takes today's Jakarta date twice (half-open validity).
ACTIVE = "ra.valid_from <= %s AND (ra.valid_to IS NULL OR ra.valid_to > %s)"
UNIT_COLUMNS = (
    "o.id, o.created_at, o.updated_at, o.kind, o.code, o.name, o.parent_id, o.path, o.depth, o.function, o.city, "
    "o.is_active"
)
CHILDREN_SQL = f"""
SELECT {UNIT_COLUMNS},
  COALESCE((SELECT COUNT(DISTINCT ra.user_id) FROM org_roleassignment ra
            WHERE ra.unit_id = o.id AND {ACTIVE}), 0) AS people_count,
  COALESCE((SELECT COUNT(DISTINCT ra.user_id) FROM org_roleassignment ra
            JOIN org_orgunit s ON s.id = ra.unit_id
            WHERE {ACTIVE} AND s.path ~>=~ o.path AND s.path ~<~ (left(o.path, -1) || '0')), 0)
    AS subtree_people_count,
  (SELECT COUNT(*) FROM org_orgunit c WHERE c.parent_id = o.id) AS children_count
FROM org_orgunit o
WHERE o.parent_id = %s{{scope}}
ORDER BY o.kind, o.code
"""

SUBTREE_LIKE = "s.path LIKE o.path || '%%'"
SUBTREE_RANGE = "s.path ~>=~ o.path AND s.path ~<~ (left(o.path, -1) || '0')"
SUBTREE_SQL = f"""
SELECT o.id,
  (SELECT COUNT(DISTINCT ra.user_id) FROM org_roleassignment ra
   JOIN org_orgunit s ON s.id = ra.unit_id WHERE {ACTIVE} AND {{condition}})
FROM org_orgunit o WHERE o.parent_id = %s ORDER BY o.id
"""


def children_case(name: str, user: User, unit: OrgUnit, scope: str) -> Case:
    day = timezone.localdate()

    def shape(units: Any) -> list[tuple[Any, ...]]:
        return [
            (
                u.id,
                u.created_at,
                u.updated_at,
                u.kind,
                u.code,
                u.name,
                u.parent_id,
                u.path,
                u.depth,
                u.function,
                u.city,
                u.is_active,
                u.people_count,
                u.subtree_people_count,
                u.children_count,
            )
            for u in units
        ]

    # The whole network needs no scope condition; a subtree adds its prefix.
    sql = CHILDREN_SQL.replace("{scope}", " AND o.path LIKE %s" if scope else "")
    params = [day, day, day, day, unit.id] + ([scope + "%"] if scope else [])
    return Case(name, lambda: list(selectors.unit_children(user, unit)), sql, params, shape)


def cases() -> tuple[list[Case], dict[str, Any]]:
    admin = User.objects.get(username="admin")
    wilayah = User.objects.get(username="wil.w08")
    branch = User.objects.get(username="pinca.c080101")
    for user in (admin, wilayah, branch):
        access.active_assignment(user)  # resolved once per request by the page
    root = OrgUnit.objects.get(parent__isnull=True)
    w08 = OrgUnit.objects.get(code="W08")
    w_path, b_path = access.scope_path(wilayah), access.scope_path(branch)
    prefix_sql = "SELECT COUNT(*) FROM org_orgunit WHERE path LIKE %s"
    found = [
        children_case("`unit_children` — Pusat root as Admin (12 Wilayah + 6 Unit Kerja)", admin, root, ""),
        children_case("`unit_children` — Wilayah VIII as its Wilayah user (5 Area)", wilayah, w08, w_path or ""),
        Case(
            "`visible_units().count()` — Wilayah VIII user (subtree prefix)",
            lambda: access.visible_units(wilayah).count(),
            prefix_sql,
            [(w_path or "") + "%"],
            lambda n: [(n,)],
        ),
        Case(
            "`visible_units().count()` — Pinca C080101 (branch + its UPC)",
            lambda: access.visible_units(branch).count(),
            prefix_sql,
            [(b_path or "") + "%"],
            lambda n: [(n,)],
        ),
        Case(
            "`scope_kind_counts` — Admin (whole network)",
            lambda: selectors.scope_kind_counts(admin),
            "SELECT kind, COUNT(*) FROM org_orgunit GROUP BY kind ORDER BY kind",
            [],
            lambda counts: sorted((k, n) for k, n in counts.items() if n),
        ),
    ]
    plan_sql, plan_params = access.visible_units(wilayah).values("id").query.sql_with_params()
    info = {
        "prefix_indexes": sorted(explain_indexes(plan_sql, list(plan_params))),
        "children_indexes": sorted(explain_indexes(found[0].sql, found[0].params)),
    }
    return found, info


def counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in ("org_orgunit", "org_user", "org_roleassignment", "org_placement", "control_auditevent"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def render(
    results: list[dict[str, Any]], shapes: list[dict[str, Any]], info: dict[str, Any], load_s: float | None
) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    rows = counts()
    lines = [
        f"Measured {timezone.localdate().isoformat()} (Jakarta date) by `make bench` (`bench/run.py`): "
        f"PostgreSQL {server}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {REPEAT} runs per read after {WARMUP} warm-up "
        "runs; each ORM run is followed by its own SQL replayed and by the bare SQL, on the same connection. "
        "Times in milliseconds; "
        "ratio = ORM p50 / bare SQL p50.",
        "",
        "| Read | Rows | ORM p50 | ORM p95 | ORM's own SQL p50 | Bare SQL p50 | Bare SQL p95 | Ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['rows']} | {r['orm_p50']:.2f} | {r['orm_p95']:.2f} | {r['own_p50']:.2f} | "
            f"{r['sql_p50']:.2f} | {r['sql_p95']:.2f} | {r['ratio']:.2f}× |"
        )
    lines += [
        "",
        "*ORM's own SQL* is the statement the ORM sent, replayed through a bare cursor: "
        "ORM − own SQL is the Python side (building the query, making objects); own SQL − bare SQL is the query shape.",
        "",
        "Subtree people count of each child (bare SQL, p50 ms): the prefix as `LIKE parent.path || '%'` "
        "(not indexable, a scan of all units per child) against the byte-wise range on the path index "
        "that `org.selectors.PathWithin` sends on PostgreSQL.",
        "",
        "| Children of | Rows | `LIKE` prefix | Range | Speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in shapes:
        lines.append(
            f"| {r['unit']} | {r['rows']} | {r['like']:.2f} | {r['range']:.2f} | {r['like'] / r['range']:.1f}× |"
        )
    lines += [
        "",
        "Data: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + ".",
        "Subtree prefix query plan uses index: "
        + (", ".join(f"`{i}`" for i in info["prefix_indexes"]) or "none")
        + "; children-with-counts plan uses: "
        + ", ".join(f"`{i}`" for i in info["children_indexes"])
        + ".",
    ]
    if load_s is not None:
        lines.append(f"This run loaded the national demo data first: {load_s:.1f} s.")
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Org tree reads\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/run.py measures PostgreSQL; set BENCH_DATABASE_URL to a postgres:// URL")
    load_s = prepare()
    if load_s is not None:
        print(f"national demo data loaded in {load_s:.1f} s")
    settings.DEBUG = False  # no query log while measuring
    found, info = cases()
    if not set(info["prefix_indexes"]) & PATH_INDEXES:
        print(f"WARNING: the subtree prefix query does not use a path index: {info['prefix_indexes']}")
    results = []
    for case in found:
        results.append(measure(case))
        print(f"  {case.name}: done", file=sys.stderr)
    shapes = compare_shapes()
    section = render(results, shapes, info, load_s)
    print(section)
    write_doc(section)
    print(f"\nwritten to {DOC.relative_to(ROOT)}")
    # The institution registry next (list page, API, import): bench/registry.py.
    import registry

    registry.main()
    # Then the ME's day and the branch calendar: bench/activities.py.
    activities_bench().main()
    # Then closings: batch ingestion and the branch attribution page: bench/sales.py.
    activities_bench("sales").main()
    # Then the dashboards (Pusat and Area): bench/performance.py.
    activities_bench("performance").main()


def activities_bench(name: str = "activities") -> Any:
    """bench/<name>.py as a module, loaded by its path: imported by name,
    ``activities`` (or ``sales``) is the Django app."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
