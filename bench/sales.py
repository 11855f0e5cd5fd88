"""Benchmarks of closings at national scale (`make bench`): batch ingestion and
the branch attribution page, on 5 million demo closings.

``bench/run.py`` runs this after the activities benchmarks; ``python
bench/sales.py`` runs it alone (same database, BENCH_DATABASE_URL). When the
database holds the national network but not the closings demo yet, it is
loaded first (``demo_data --scale national``, idempotent) and timed.

Ingestion: BATCHES batches of 10,000 new closings (real attributions: copies of
demo closings spread over the whole network, with the bench's own external ids
under source MANUAL, which the demo never uses), each sent as
``POST /api/v1/closings/batch`` by the ``admin`` user through the test
``Client``; then the first batch is sent again (nothing may be inserted). Held
against the same rows (other ids) written with bare SQL on the same
connection: ``INSERT … ON CONFLICT (source, external_id) DO NOTHING`` plus the
summary upsert (``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE``). One
batch through ``sales.ingest.ingest()`` is profiled (parsing and reference
lookups, INSERT, summary upsert, audit). Every closing the bench wrote is
deleted afterwards and the summary of the branches it touched recounted, so the
demo stays as loaded.

Attribution page: ``GET /penjualan/cabang/<id>/atribusi/?from=&to=`` (one year)
for a few branches as their branch head, against the bare ``GROUP BY`` over
``sales_closingsummary`` and over ``sales_closing``.

An endpoint not written yet (404/501) is measured on its Python/SQL side only
and the section says so. Results are printed and written into
docs/PERFORMANCE.md between the ``bench:sales`` markers.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    import run  # noqa: F401 - points Django at the benchmark database and sets it up

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from registry import signed_in  # noqa: E402

from control.models import AuditEvent  # noqa: E402
from org.models import OrgUnit, Role, RoleAssignment, UnitKind, User  # noqa: E402
from sales import ingest as ingest_module  # noqa: E402
from sales.models import Closing, ClosingRevision, IngestBatch, Source  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:sales:start -->", "<!-- bench:sales:end -->"
REPEAT = int(os.environ.get("BENCH_REPEAT", "50"))
WARMUP = 3
BATCHES = int(os.environ.get("BENCH_SALES_BATCHES", "5"))
BATCH_ROWS = 10_000
GOAL_ROWS_PER_S = 5_000
NATIONAL_CLOSINGS = 4_900_000  # below this the closings demo is not loaded
SOURCE = Source.MANUAL
PREFIX = "BENCH-"
JKT = ZoneInfo("Asia/Jakarta")
BATCH_URL = "/api/v1/closings/batch"
PAGE_URL = "/penjualan/cabang/{pk}/atribusi/"

SUMMARY_SQL = """
SELECT scheme, channel, SUM(count), SUM(amount), SUM(new_customers) FROM sales_closingsummary
WHERE branch_id = %s AND day BETWEEN %s AND %s GROUP BY scheme, channel ORDER BY scheme, channel
"""
CLOSING_SQL = """
SELECT scheme, channel, COUNT(*), SUM(amount), SUM(CASE WHEN new_customer THEN 1 ELSE 0 END) FROM sales_closing
WHERE branch_id = %s AND closed_on BETWEEN %s AND %s GROUP BY scheme, channel ORDER BY scheme, channel
"""
BARE_INSERT_COLUMNS = ingest_module.INSERT_COLUMNS
SUMMARY_UPSERT = """
INSERT INTO sales_closingsummary
    (day, branch_id, area_id, region_id, scheme, channel, product, count, amount, grams, new_customers)
SELECT closed_on, branch_id, area_id, region_id, scheme, channel, product, COUNT(*), SUM(amount),
       COALESCE(SUM(grams), 0), SUM(CASE WHEN new_customer THEN 1 ELSE 0 END)
FROM sales_closing WHERE batch_id = %s
GROUP BY closed_on, branch_id, area_id, region_id, scheme, channel, product
ORDER BY closed_on, branch_id, scheme, channel, product
ON CONFLICT (day, branch_id, scheme, channel, product) DO UPDATE SET
    count = sales_closingsummary.count + excluded.count, amount = sales_closingsummary.amount + excluded.amount,
    grams = sales_closingsummary.grams + excluded.grams,
    new_customers = sales_closingsummary.new_customers + excluded.new_customers
"""


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


# --- Rows -----------------------------------------------------------------------------------


def sample_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` demo closings from all over the network, as rows a core system sends
    (their attribution is the demo's; the bench gives them new ids)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM sales_closing")
        top = cursor.fetchone()[0] or 0
    rng = random.Random(seed)
    ids = sorted(rng.sample(range(1, top + 1), min(top, n * 2)))
    closings = list(
        Closing.objects.filter(id__in=ids)
        .exclude(source=SOURCE)
        .select_related("branch", "upc", "initiator_user", "individual_agent", "corporate_agent")
        .order_by("id")[:n]
    )
    rows = []
    for c in closings:
        agent = c.individual_agent or c.corporate_agent
        rows.append(
            {
                "external_id": "",
                "closed_on": c.closed_on.isoformat(),
                "branch": c.branch.code,
                "upc": c.upc.code if c.upc else "",
                "product": c.product,
                "amount": str(c.amount),
                "grams": "" if c.grams is None else str(c.grams),
                "new_customer": "ya" if c.new_customer else "tidak",
                "customer_ref": "3174" + str(rng.randrange(10**11, 10**12)),
                "scheme": c.scheme,
                "channel": c.channel,
                "institution": str(c.institution_id or ""),
                "cross_branch_rule": c.cross_branch_rule,
                "initiator_kind": c.initiator_kind,
                "initiator": c.initiator_user.username if c.initiator_user else "",
                "agent": agent.code if agent else "",
                "lead": "",
            }
        )
    return rows


def with_ids(rows: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    return [r | {"external_id": f"{PREFIX}{tag}-{i:06d}"} for i, r in enumerate(rows)]


# --- Ingestion ------------------------------------------------------------------------------


def post_batch(client: Any, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any], float]:
    body = json.dumps({"source": SOURCE, "rows": rows})
    started = time.perf_counter()
    response = client.post(BATCH_URL, data=body, content_type="application/json")
    elapsed = time.perf_counter() - started
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    return response.status_code, payload, elapsed


def direct_batch(admin: User, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any], float]:
    started = time.perf_counter()
    out = ingest_module.ingest(actor=admin, source=SOURCE, rows=rows, via="api")
    elapsed = time.perf_counter() - started
    return 200, {"inserted": out.inserted, "unchanged": out.unchanged, "errors": out.error_rows}, elapsed


def bare_batch(admin: User, rows: list[dict[str, Any]]) -> float:
    """The same rows with their references already resolved (what ingest writes),
    written with bare SQL: the INSERT and the summary upsert, in one transaction."""
    valid, problems = ingest_module.check_rows(rows, actor=None)
    assert not problems, problems[:3]
    valid.sort(key=lambda r: r.values["external_id"])
    table = "sales_closing"
    cols = ", ".join(f'"{c}"' for c in BARE_INSERT_COLUMNS)
    batch = IngestBatch.objects.create(source=SOURCE, via="bench", created_by=admin, total_rows=len(rows))
    now = dt.datetime.now(dt.UTC)
    params_all = []
    for r in valid:
        v = r.values
        params_all.append([SOURCE, v["external_id"], *(v[c] for c in ingest_module.STORED), 1, batch.pk, now, now])
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(0, len(params_all), 1000):
            chunk = params_all[i : i + 1000]
            marks = ", ".join(["(" + ", ".join(["%s"] * len(BARE_INSERT_COLUMNS)) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {marks} "  # noqa: S608 - our table
                'ON CONFLICT ("source", "external_id") DO NOTHING',
                [p for row in chunk for p in row],
            )
        cursor.execute(SUMMARY_UPSERT, [batch.pk])
    return time.perf_counter() - started


@contextmanager
def stage_clock() -> Iterator[dict[str, float]]:
    """Time the stages of ``ingest()`` by wrapping the functions it calls."""
    spent: dict[str, float] = {}
    wrapped = {
        "check_rows": "parse and check rows (references, _parse, attribution)",
        "_insert_new": "INSERT … ON CONFLICT DO NOTHING RETURNING",
        "apply_summary": "summary upsert",
    }
    originals = {name: getattr(ingest_module, name) for name in wrapped}
    original_record = ingest_module.audit.record

    def timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        return call

    for name, label in wrapped.items():
        setattr(ingest_module, name, timed(label, originals[name]))
    ingest_module.audit.record = timed("audit event", original_record)
    try:
        yield spent
    finally:
        for name, fn in originals.items():
            setattr(ingest_module, name, fn)
        ingest_module.audit.record = original_record


def measure_ingest(admin: User, sample: list[dict[str, Any]]) -> dict[str, Any]:
    batches = [with_ids(sample[i * BATCH_ROWS : (i + 1) * BATCH_ROWS], f"api{i}") for i in range(BATCHES)]
    batches = [b for b in batches if len(b) == BATCH_ROWS]
    with signed_in(admin) as client:
        status, _payload, _ = post_batch(client, batches[0][:10])  # does the endpoint answer?
        api = status not in (404, 405, 501)
        if api and status != 200:
            raise SystemExit(f"{BATCH_URL} answered {status}: {_payload}")
        send = (lambda rows: post_batch(client, rows)) if api else (lambda rows: direct_batch(admin, rows))
        runs = []
        for rows in batches:
            status, payload, seconds = send(rows)
            assert status == 200 and payload["inserted"] == len(rows) - (10 if rows is batches[0] else 0), payload
            runs.append(seconds)
            print(f"  batch of {len(rows)}: {seconds:.2f} s", file=sys.stderr)
        status, payload, resent = send(batches[0])
        assert status == 200 and payload["inserted"] == 0 and payload["unchanged"] == len(batches[0]), payload
    bare = []
    for i in range(len(batches)):
        bare.append(bare_batch(admin, with_ids(sample[i * BATCH_ROWS : (i + 1) * BATCH_ROWS], f"sql{i}")))
    # Where the time goes: one more batch through ingest(), stage by stage, then under the profiler.
    with stage_clock() as spent:
        _, _, total = direct_batch(admin, with_ids(sample[:BATCH_ROWS], "stages"))
    profiler = cProfile.Profile()
    profiler.enable()
    direct_batch(admin, with_ids(sample[:BATCH_ROWS], "profile"))
    profiler.disable()
    out = StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    n_rows = sum(len(b) for b in batches)
    return {
        "api": api,
        "batches": runs,
        "rows": n_rows,
        "rate": n_rows / sum(runs),
        "resent": resent,
        "bare": bare,
        "bare_rate": n_rows / sum(bare),
        "stages": spent,
        "stages_total": total,
        "profile": out.getvalue(),
    }


def clean_up() -> dict[str, int]:
    """Delete what the bench wrote and recount the summary of the branches it touched."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT branch_id FROM sales_closing WHERE source = %s AND external_id LIKE %s",
            [SOURCE, PREFIX + "%"],
        )
        branches = [r[0] for r in cursor.fetchall()]
        ClosingRevision.objects.filter(closing__source=SOURCE, closing__external_id__startswith=PREFIX).delete()
        deleted = Closing.objects.filter(source=SOURCE, external_id__startswith=PREFIX).delete()[0]
        IngestBatch.objects.filter(source=SOURCE, closings__isnull=True).delete()
        cursor.execute("DELETE FROM sales_closingsummary WHERE branch_id = ANY(%s)", [branches])
        cursor.execute(
            "INSERT INTO sales_closingsummary "
            "(day, branch_id, area_id, region_id, scheme, channel, product, count, amount, grams, new_customers) "
            + ingest_module.RECOUNT_SQL.replace("FROM sales_closing", "FROM sales_closing WHERE branch_id = ANY(%s)"),
            [branches],
        )
        # The check of ingest.summary_differences(), limited to those branches.
        cursor.execute(
            "SELECT COUNT(*) FROM ((SELECT day, branch_id, scheme, channel, product, count, amount, grams, "
            "new_customers FROM sales_closingsummary WHERE branch_id = ANY(%s)) "
            "EXCEPT ("
            + ingest_module.RECOUNT_SQL.replace(
                "SELECT closed_on, branch_id, area_id, region_id,", "SELECT closed_on, branch_id,"
            )
            .replace("FROM sales_closing", "FROM sales_closing WHERE branch_id = ANY(%s)")
            .replace("GROUP BY closed_on, branch_id, area_id, region_id,", "GROUP BY closed_on, branch_id,")
            + ")) d",
            [branches, branches],
        )
        differences = cursor.fetchone()[0]
    return {"deleted": deleted, "branches": len(branches), "differences": differences}


# --- The attribution page ---------------------------------------------------------------------


def timed_sql(sql: str, params: list[Any]) -> tuple[float, list[tuple[Any, ...]]]:
    with connection.cursor() as cursor:
        t = time.perf_counter_ns()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        return (time.perf_counter_ns() - t) / 1e6, rows


def pick_branches(n: int = 4) -> list[tuple[OrgUnit, User]]:
    """The branches with the most, the median and the fewest closings (and one more), with their heads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT branch_id, SUM(count) FROM sales_closingsummary GROUP BY branch_id ORDER BY 2 DESC, 1")
        ranked = [r[0] for r in cursor.fetchall()]
    if not ranked:
        return []
    picks = list(dict.fromkeys([ranked[0], ranked[1], ranked[len(ranked) // 2], ranked[-1]]))[:n]
    out = []
    for pk in picks:
        head = (
            RoleAssignment.objects.active()
            .filter(unit_id=pk, role=Role.PINCA, user__is_active=True)
            .select_related("user", "unit")
            .order_by("user_id")
            .first()
        )
        if head is not None:
            out.append((head.unit, head.user))
    return out


def measure_page(branch: OrgUnit, user: User, start: dt.date, end: dt.date) -> dict[str, Any]:
    url = PAGE_URL.format(pk=branch.pk) + f"?from={start.isoformat()}&to={end.isoformat()}"
    params = [branch.pk, start, end]
    result: dict[str, Any] = {"branch": branch.code, "page": None, "queries": None}
    with signed_in(user) as client:
        status = client.get(url).status_code
        if status == 200:
            settings.DEBUG = True
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            settings.DEBUG = False
            result["queries"] = len(captured)
        result["status"] = status
        page, summary, closings = [], [], []
        for i in range(WARMUP + REPEAT):
            if status == 200:
                t = time.perf_counter_ns()
                response = client.get(url)
                ms = (time.perf_counter_ns() - t) / 1e6
                assert response.status_code == 200
                if i >= WARMUP:
                    page.append(ms)
            ms, s_rows = timed_sql(SUMMARY_SQL, params)
            if i >= WARMUP:
                summary.append(ms)
            ms, c_rows = timed_sql(CLOSING_SQL, params)
            if i >= WARMUP:
                closings.append(ms)
    assert [r[:3] for r in s_rows] == [r[:3] for r in c_rows], "summary and closings disagree"
    result |= {
        "rows": len(s_rows),
        "closings": sum(r[2] for r in c_rows),
        "summary": (statistics.median(summary), pct(summary, 95)),
        "bare_closing": (statistics.median(closings), pct(closings, 95)),
    }
    if page:
        result["page"] = (statistics.median(page), pct(page, 95))
    return result


# --- Running and writing -------------------------------------------------------------------------


def ensure_loaded() -> float | None:
    if Closing.objects.count() >= NATIONAL_CLOSINGS:
        return None
    started = time.perf_counter()
    call_command("demo_data", scale="national", seed=1)
    return time.perf_counter() - started


def load_record() -> dict[str, Any] | None:
    event = AuditEvent.objects.filter(action="demo.load", object_type="sales.demo").order_by("-seq").first()
    return event.after if event else None


def counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in ("sales_closing", "sales_closingsummary"):
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])  # noqa: F541
            out[table] = int(cursor.fetchone()[0])
        cursor.execute("SELECT COUNT(*) FROM org_orgunit WHERE kind = %s", [UnitKind.CABANG])
        out["branches"] = cursor.fetchone()[0]
    return out


def render(ing: dict[str, Any], cleanup: dict[str, int], pages: list[dict[str, Any]], load_s: float | None) -> str:
    record = load_record() or {}
    n = counts()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    lines = [
        f"Run {dt.datetime.now(JKT):%Y-%m-%d %H:%M} (Jakarta) on PostgreSQL {server}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPU; {n['sales_closing']:,} closings, "
        f"{n['sales_closingsummary']:,} summary rows, {n['branches']} branches (estimates from pg_class).",
        "",
    ]
    if record:
        lines.append(
            f"Closings demo (`demo_data --scale national`, `sales/demo.py`): {record.get('closings', 0):,} closings "
            f"and {record.get('summary_rows', 0):,} summary rows in {record.get('seconds')} s (building, COPY, "
            "indexes and keys, summary; COMMIT and ANALYZE follow) — goal under 10 minutes."
        )
        lines.append("")
    if load_s is not None:
        lines += [f"This run loaded the closings demo first: {load_s:.1f} s end to end.", ""]
    via = (
        f"`POST {BATCH_URL}` through the test `Client` (admin, JSON, {BATCH_ROWS:,} rows a batch)"
        if ing["api"]
        else f"`sales.ingest.ingest()` called directly ({BATCH_URL} did not answer yet)"
    )
    ok = "meets" if ing["rate"] >= GOAL_ROWS_PER_S else "misses"
    bare_s = sum(ing["bare"])
    lines += [
        "### Batch ingestion",
        "",
        f"{len(ing['batches'])} batches of new closings via {via}: **{ing['rate']:,.0f} rows/s** "
        f"({ok} the goal of {GOAL_ROWS_PER_S:,} rows/s); per batch "
        + ", ".join(f"{s:.2f} s" for s in ing["batches"])
        + f". The first batch sent again: {ing['resent']:.2f} s, nothing inserted.",
        "",
        f"Bare SQL, same rows (references already resolved), same connection: INSERT … ON CONFLICT DO NOTHING in "
        f"1,000-row statements plus the summary upsert (INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE): "
        f"{ing['bare_rate']:,.0f} rows/s ({bare_s / len(ing['bare']):.2f} s a batch). "
        f"Ratio ingestion/bare: **{ing['rate'] and ing['bare_rate'] / ing['rate']:.1f}×**.",
        "",
        f"Where one batch's {ing['stages_total']:.2f} s go in `ingest()` (called directly):",
        "",
        "| stage | s | share |",
        "|---|---:|---:|",
    ]
    total = ing["stages_total"]
    rest = total - sum(ing["stages"].values())
    for label, s in [
        *sorted(ing["stages"].items(), key=lambda kv: -kv[1]),
        ("the rest (batch row, sort, digest)", rest),
    ]:
        lines.append(f"| {label} | {s:.2f} | {100 * s / total:.0f} % |")
    lines += [
        "",
        "<details><summary>Profile of one batch through ingest() (top functions by own time)</summary>",
        "",
        "```",
        *[line for line in ing["profile"].strip().splitlines() if line.strip()][:28],
        "```",
        "</details>",
        "",
        f"Afterwards the bench deleted its {cleanup['deleted']:,} closings and recounted the summary of the "
        f"{cleanup['branches']} branches they touched: {cleanup['differences']} differences against a recount.",
        "",
        "### Branch attribution page",
        "",
        "One year (`?from=&to=`), as the branch head; bare SQL = the scheme × channel `GROUP BY` over "
        "`sales_closingsummary` and over `sales_closing` (p50 / p95 in ms, "
        f"{REPEAT} repeats after {WARMUP} warm-ups).",
        "",
        "| branch | closings | page p50/p95 | queries | summary SQL p50/p95 | closings SQL p50/p95 "
        "| page / summary SQL |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in pages:
        page = f"{p['page'][0]:.1f} / {p['page'][1]:.1f}" if p["page"] else f"answers {p['status']}"
        ratio = f"{p['page'][0] / p['summary'][0]:.1f}×" if p["page"] else "–"
        lines.append(
            f"| {p['branch']} | {p['closings']:,} | {page} | {p['queries'] if p['queries'] is not None else '–'} | "
            f"{p['summary'][0]:.2f} / {p['summary'][1]:.2f} | {p['bare_closing'][0]:.1f} / {p['bare_closing'][1]:.1f} "
            f"| {ratio} |"
        )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Closings: ingestion and attribution\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/sales.py measures PostgreSQL; set BENCH_DATABASE_URL to a postgres:// URL")
    load_s = ensure_loaded()
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    admin = User.objects.get(username="admin")
    clean_up()  # what an interrupted earlier run left
    sample = sample_rows(BATCHES * BATCH_ROWS)
    try:
        ing = measure_ingest(admin, sample)
    finally:
        cleanup = clean_up()
    yesterday = dt.datetime.now(JKT).date() - dt.timedelta(days=1)
    start = yesterday - dt.timedelta(days=364)
    pages = [measure_page(branch, user, start, yesterday) for branch, user in pick_branches()]
    section = render(ing, cleanup, pages, load_s)
    print(section)
    write_doc(section)
    print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
