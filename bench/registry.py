"""Benchmarks of the institution registry at national scale (`make bench`):
the list page and the list API as a request pays them, and the spreadsheet
import of 10,000 rows.

``bench/run.py`` runs this after the org benchmarks; ``python bench/registry.py``
runs it alone (same database, BENCH_DATABASE_URL). The national demo data must
be loaded (``demo_data --scale national``: 200,000 institutions).

List: each case is one URL for one user. Every repeat (BENCH_REPEAT, default
50, after a few warm-up runs) times, on the same connection, in turn:

* the whole request through the test ``Client`` (session, middleware, view,
  template) — the figure held against the goal;
* the ORM part of it: ``selectors.institution_list`` paged as the view pages
  it (the scope root, the count, the page's ids, then those rows with joins);
* the SQL: exactly the statements that ORM part sent, replayed through a plain
  cursor. Ratios are against it.

Import: a generated file of 10,000 new institutions in the branches of Area
A0801, imported by its DBA: upload (file checks), validation, confirmation and
the write, each timed; then the same file again (nothing new to write), and the
same rows as .csv. Each run happens inside a transaction that is rolled back,
with uploads stored in a temporary MEDIA_ROOT, so the benchmark database keeps
the clean national demo (only id sequences advance).

The results are printed and written into docs/PERFORMANCE.md between the
``bench:institutions`` markers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __name__ == "__main__":
    import run  # noqa: F401 - points Django at the benchmark database and sets it up

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.template import Context, Template  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from plans import explain_indexes  # noqa: E402

from control.models import AuditChainHead, AuditEvent  # noqa: E402
from core.wilayah import districts_by_regency  # noqa: E402
from institutions import imports, selectors  # noqa: E402
from institutions.forms import InstitutionFilterForm, bound_filter_form  # noqa: E402
from institutions.models import ImportJob, ImportStatus, Institution, Ownership  # noqa: E402
from institutions.normalise import name_key  # noqa: E402
from org import access  # noqa: E402
from org.models import OrgUnit, Placement, User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- bench:institutions:start -->", "<!-- bench:institutions:end -->"
REPEAT = int(os.environ.get("BENCH_REPEAT", "50"))
WARMUP = 5
IMPORT_REPEAT = int(os.environ.get("BENCH_IMPORT_REPEAT", "3"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
GOAL_LIST_P95_MS = 150.0
GOAL_IMPORT_ROWS_S = 2000.0
LIST_URL = "/lembaga/"
API_URL = "/api/v1/institutions/"
TRIGRAM_INDEX = "inst_name_key_trgm"
IMPORT_USER = "dba.a0801"
IMPORT_AREA = "A0801"


def pct(values: list[float], q: int) -> float:
    """The q-th percentile of timings in seconds, in milliseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


# --- Requests as a signed-in user ---------------------------------------------------------


@contextmanager
def signed_in(user: User) -> Iterator[Client]:
    """A test client with a session for ``user``, made without the login
    signals (no last_login update, no access-log row); the session row is
    deleted afterwards so the database stays as it was."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    try:
        yield client
    finally:
        session.delete()


@dataclass
class Statement:
    sql: str
    params: Any

    @property
    def role(self) -> str:
        head = self.sql.lstrip()[:40].upper()
        if head.startswith("SELECT COUNT(*)"):
            return "count"
        if "institutions_institution" in self.sql.split(" FROM ", 1)[-1][:40] and " LIMIT " in self.sql:
            return "page"
        return "other"


class SqlClock:
    """An execute wrapper: keeps the statements sent and the time spent in the database."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements: list[Statement] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements.append(Statement(sql, params))


def replay(statement: Statement) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        return list(cursor.fetchall())


# --- List cases --------------------------------------------------------------------------------


@dataclass
class ListCase:
    label: str
    username: str
    params: dict[str, str]
    api: bool = False

    @property
    def url(self) -> str:
        base = API_URL if self.api else LIST_URL
        return base + ("?" + urlencode(self.params) if self.params else "")

    @property
    def page_size(self) -> int:
        return int(self.params.get("page_size", 50 if self.api else 25))

    @property
    def page_number(self) -> int:
        return int(self.params.get("page", 1))


SEARCH = {"type": "SEKOLAH", "q": "negeri"}
LIST_CASES = [
    ListCase("Pusat — default sort, page 1", "pusat", {}),
    ListCase("Pusat — type SEKOLAH + q=negeri, page 1", "pusat", SEARCH),
    ListCase("Pusat — q=kodim (selective search), page 1", "pusat", {"q": "kodim"}),
    ListCase("Pusat — no filter, page 400 (offset 9,975)", "pusat", {"page": "400"}),
    ListCase("Pusat — province 32 + q=negeri, page 200", "pusat", {"province": "32", "q": "negeri", "page": "200"}),
    ListCase("Wilayah VIII — default sort, page 1", "wil.w08", {}),
    ListCase("Wilayah VIII — type SEKOLAH + q=negeri, page 1", "wil.w08", SEARCH),
    ListCase("Wilayah VIII — no filter, page 400", "wil.w08", {"page": "400"}),
    ListCase("Wilayah VIII — type SEKOLAH + q=negeri, page 150", "wil.w08", {**SEARCH, "page": "150"}),
    ListCase("DBA A0801 — default sort, page 1", "dba.a0801", {}),
    ListCase("DBA A0801 — type SEKOLAH + q=negeri, page 1", "dba.a0801", SEARCH),
    ListCase("DBA A0801 — no filter, page 200", "dba.a0801", {"page": "200"}),
    ListCase("DBA A0801 — type SEKOLAH + q=negeri, page 60", "dba.a0801", {**SEARCH, "page": "60"}),
    ListCase("API, Pusat — type SEKOLAH + q=negeri, page 1 (50 rows)", "pusat", SEARCH, api=True),
]


def case_filters(case: ListCase) -> selectors.InstitutionFilters:
    """The filters as the view reads them from the query string."""
    return bound_filter_form(QueryDict(urlencode(case.params))).filters()


def orm_page(user: User, filters: selectors.InstitutionFilters, case: ListCase) -> tuple[int, list[int]]:
    """What the view (or the API's paginator) asks of the ORM: the count, the
    page's ids (no joins), then those rows with their branch and ME."""
    qs = selectors.institution_list(user, filters)
    page = Paginator(qs.values_list("pk", flat=True), case.page_size).get_page(case.page_number)
    rows = selectors.page_rows(qs, list(page.object_list))
    return page.paginator.count, [inst.pk for inst in rows]


def explain_analyze(statement: Statement) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params)
        return [row[0] for row in cursor.fetchall()]


def measure_list(case: ListCase) -> dict[str, Any]:
    user = User.objects.get(username=case.username)
    orm_user = User.objects.get(pk=user.pk)
    access.active_assignment(orm_user)  # resolved once per request by the page, as in bench/run.py
    filters = case_filters(case)
    with signed_in(user) as client:
        response = client.get(case.url)
        if response.status_code != 200:
            raise SystemExit(f"{case.label}: {case.url} answered {response.status_code}")
        body = response.content.decode()
        view_clock = SqlClock()
        with connection.execute_wrapper(view_clock):
            client.get(case.url)
        view_queries = len(view_clock.statements)
        orm_clock = SqlClock()
        with connection.execute_wrapper(orm_clock):
            count, ids = orm_page(orm_user, filters, case)
        statements = orm_clock.statements
        roles = [s.role for s in statements]
        if roles.count("count") != 1 or roles.count("page") != 1:
            raise SystemExit(f"{case.label}: expected one count and one page query, got {roles}")
        by_role = {s.role: s for s in statements if s.role != "other"}
        if replay(by_role["count"])[0][0] != count or [r[0] for r in replay(by_role["page"])] != ids:
            raise SystemExit(f"{case.label}: the replayed SQL disagrees with the ORM")
        if case.api and json.loads(body)["count"] != count:
            raise SystemExit(f"{case.label}: the API count disagrees with the ORM")
        view_s: list[float] = []
        view_sql_s: list[float] = []
        orm_s: list[float] = []
        sql_s: list[float] = []
        part_s: dict[str, list[float]] = {"count": [], "page": []}
        for i in range(WARMUP + REPEAT):
            clock = SqlClock()
            t0 = time.perf_counter()
            with connection.execute_wrapper(clock):
                client.get(case.url)
            t1 = time.perf_counter()
            orm_page(orm_user, filters, case)
            t2 = time.perf_counter()
            parts = {}
            for statement in statements:
                s0 = time.perf_counter()
                replay(statement)
                parts[statement.role] = time.perf_counter() - s0
            t3 = time.perf_counter()
            if i >= WARMUP:
                view_s.append(t1 - t0)
                view_sql_s.append(clock.seconds)
                orm_s.append(t2 - t1)
                sql_s.append(t3 - t2)
                for role in part_s:
                    part_s[role].append(parts[role])
    indexes = {
        role: sorted(explain_indexes(by_role[role].sql, list(by_role[role].params))) for role in ("count", "page")
    }
    result = {
        "label": case.label,
        "url": case.url,
        "count": count,
        "rows": len(ids),
        "queries": view_queries,
        "orm_queries": len(statements),
        "options": body.count("<option"),
        "view_p50": p50(view_s),
        "view_p95": pct(view_s, 95),
        "view_sql_p50": p50(view_sql_s),
        "orm_p50": p50(orm_s),
        "orm_p95": pct(orm_s, 95),
        "sql_p50": p50(sql_s),
        "sql_p95": pct(sql_s, 95),
        "count_p50": p50(part_s["count"]),
        "page_p50": p50(part_s["page"]),
        "indexes": indexes,
        "statements": by_role,
    }
    result["view_ratio"] = result["view_p50"] / result["sql_p50"]
    result["orm_ratio"] = result["orm_p50"] / result["sql_p50"]
    result["meets"] = result["view_p95"] < GOAL_LIST_P95_MS
    return result


# --- Where a page's Python time goes ----------------------------------------------------------------

BRANCH_OPTIONS = Template(
    '{% for b in branches %}<option value="{{ b.pk }}" {% if b.pk == filters.branch %}selected{% endif %}>'
    "{{ b.name }}</option>{% endfor %}"
)
FORM_FIELDS = ("type", "regency", "status", "score_min", "score_max", "sort")


def render_costs() -> list[tuple[str, int | None, float]]:
    """p50 of building the filter form and rendering its pickers as the list
    template does, for Pusat: what every list page pays before its rows."""
    pusat = User.objects.get(username="pusat")
    branches = list(selectors.scoped_branches(pusat).only("id", "name", "code"))
    filters = selectors.InstitutionFilters()
    form = InstitutionFilterForm()
    others = [f for f in FORM_FIELDS if f != "regency"]
    jobs: list[tuple[str, int | None, Callable[[], Any]]] = [
        ("Building the filter form (its fields and their choices are copied per form)", None, InstitutionFilterForm),
        (
            "Regency `<select>` (form widget; every regency when no province is chosen)",
            len(form.fields["regency"].choices),  # type: ignore[attr-defined]
            lambda: str(form["regency"]),
        ),
        (
            "The other filter widgets (type, status, scores, sort)",
            sum(len(getattr(form.fields[f], "choices", [])) for f in others),
            lambda: "".join(str(form[f]) for f in others),
        ),
        (
            "Branch `<select>` for Pusat (template loop)",
            len(branches),
            lambda: BRANCH_OPTIONS.render(Context({"branches": branches, "filters": filters})),
        ),
    ]
    out = []
    for label, options, job in jobs:
        timings = []
        for i in range(WARMUP + REPEAT):
            t0 = time.perf_counter()
            job()
            if i >= WARMUP:
                timings.append(time.perf_counter() - t0)
        out.append((label, options, p50(timings)))
    return out


# --- Import -----------------------------------------------------------------------------------------

KINDS = [
    ("Sekolah", "Pendidikan", 0.30),
    ("Koperasi", "Keuangan", 0.15),
    ("Perusahaan swasta", "Perdagangan", 0.15),
    ("Instansi pemerintah (ASN)", "Pemerintahan", 0.10),
    ("Pesantren", "Sosial dan keagamaan", 0.08),
    ("Komunitas", "Lainnya", 0.08),
    ("Pengelola armada", "Transportasi dan logistik", 0.07),
    ("Asosiasi", "Lainnya", 0.07),
]
SCHOOLS = ("SD Negeri", "SD Swasta", "SMP Negeri", "SMP Islam", "SMA Negeri", "SMK Negeri", "SMA Kristen", "MI")
OFFICES = ("Kantor Kelurahan", "Puskesmas Kelurahan", "Kantor Kecamatan", "UPT Dinas Pendidikan", "Kantor KUA")
PESANTREN = ("Al Hikmah", "Darul Ulum", "Nurul Huda", "Al Ikhlas", "Baitul Quran", "Miftahul Jannah", "Al Falah")
HOBBIES = ("Pesepeda", "Pelari", "Fotografi", "Ojek Daring", "Pedagang Pasar", "Ibu PKK", "Pemuda Masjid")
ASSOCIATIONS = ("Asosiasi Pedagang", "Ikatan Guru", "Himpunan Pengusaha", "Paguyuban Warga", "Persatuan Sopir")


def make_name(type_: str, rng: random.Random, fake: Any, district: str, number: int) -> str:
    """A name the way institutions of the type are named in Jakarta."""
    if type_ == "Sekolah":
        return f"{rng.choice(SCHOOLS)} {district} {number:02d}"
    if type_ == "Koperasi":
        return f"Koperasi Karyawan {fake.last_name()} {fake.last_name()}"
    if type_ == "Perusahaan swasta":
        return str(fake.company())
    if type_ == "Instansi pemerintah (ASN)":
        return f"{rng.choice(OFFICES)} {district} {number}"
    if type_ == "Pesantren":
        return f"Pondok Pesantren {rng.choice(PESANTREN)} {district} {number}"
    if type_ == "Komunitas":
        return f"Komunitas {rng.choice(HOBBIES)} {district} {number}"
    if type_ == "Pengelola armada":
        return f"PO {fake.last_name()} {fake.last_name()} Transport"
    return f"{rng.choice(ASSOCIATIONS)} {fake.last_name()} {district}"


def import_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` new, valid institutions in the branches of Area A0801 (Jakarta
    Pusat), with names, NPWPs and ME usernames as a DBA's file would have them;
    none is already registered (same name in the regency, or same NPWP)."""
    from faker import Faker

    rng = random.Random(seed)
    fake = Faker("id_ID")
    fake.seed_instance(seed)
    area = OrgUnit.objects.get(code=IMPORT_AREA)
    branches = list(OrgUnit.objects.filter(parent=area, kind="CABANG").order_by("code"))
    regency = branches[0].regency_code
    province = regency[:2]
    districts = [d.name for d in districts_by_regency()[regency]]
    mes: dict[str, list[str]] = {}
    for code, username in Placement.objects.filter(valid_to__isnull=True, branch__in=branches).values_list(
        "branch__code", "user__username"
    ):
        mes.setdefault(code, []).append(username)
    taken = set(Institution.objects.filter(regency_code=regency).values_list("name_key", flat=True))
    taken_npwp = set(Institution.objects.filter(npwp__startswith="98").values_list("npwp", flat=True))
    weights = [w for _t, _s, w in KINDS]
    rows = []
    while len(rows) < n:
        type_, sector, _w = rng.choices(KINDS, weights)[0]
        district = rng.choice(districts)
        number = rng.randint(1, 199)
        name = make_name(type_, rng, fake, district, number)
        key = name_key(name)
        if not key or key in taken:
            continue
        taken.add(key)
        branch = branches[len(rows) % len(branches)]
        npwp = ""
        if rng.random() < 0.6:
            while not npwp or npwp in taken_npwp:
                npwp = "98" + "".join(rng.choice("0123456789") for _ in range(13))
            taken_npwp.add(npwp)
            npwp = f"{npwp[:2]}.{npwp[2:5]}.{npwp[5:8]}.{npwp[8]}-{npwp[9:12]}.{npwp[12:]}"
        members = int(rng.lognormvariate(4.5, 1.0)) + 5
        coords = rng.random() < 0.7
        rows.append(
            {
                "name": name,
                "type": type_,
                "sector": sector,
                "province_code": province,
                "regency_code": regency,
                "address": fake.street_address(),
                "latitude": round(-6.18 + rng.uniform(-0.03, 0.03), 6) if coords else "",
                "longitude": round(106.83 + rng.uniform(-0.03, 0.03), 6) if coords else "",
                "npwp": npwp,
                "member_count": members,
                "potential_value": members * rng.choice((5, 8, 10, 12, 15)) * 1_000_000,
                "potential_basis": f"{members} anggota x rata-rata pinjaman",
                "status": "Aktif" if rng.random() < 0.9 else "Tidak aktif",
                "notes": "",
                "branch": branch.code,
                "me": rng.choice(mes[branch.code]) if branch.code in mes and rng.random() < 0.5 else "",
            }
        )
    return rows


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """The rows as a spreadsheet program saves them: a normal workbook, which
    declares its sheet's dimension (a write-only one does not, and openpyxl then
    reads the whole sheet once more just to size it)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Lembaga"
    ws.append([imports.template_header(c) for c in imports.COLUMNS])
    for r in rows:
        ws.append([r[c.key] for c in imports.COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([imports.template_header(c) for c in imports.COLUMNS])
    for r in rows:
        w.writerow([r[c.key] for c in imports.COLUMNS])
    return ("\ufeff" + out.getvalue()).encode()


class _RolledBack(Exception):
    pass


def rolled_back(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a transaction and roll it back, returning what it returned."""
    try:
        with transaction.atomic():
            result = work()
            raise _RolledBack(result)
    except _RolledBack as done:
        return done.args[0]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def drive(actor: User, name: str, data: bytes, expect_new: int) -> dict[str, Any]:
    """Upload, validate, confirm and write one file, timing each step. The
    background steps are left queued (TASKS_MODE=thread queues them on commit,
    which never comes) and run here by hand, as the worker would."""
    with override_settings(TASKS_MODE="thread"):
        job, upload_s = timed(lambda: imports.import_upload(actor=actor, name=name, size=len(data), chunks=[data]))
    if job.status != ImportStatus.PENDING:
        raise SystemExit(f"{name}: expected a queued validation, the job is {job.status} ({job.message})")
    _none, validate_s = timed(lambda: imports.import_validate(job.pk))
    job.refresh_from_db()
    out = {"rows": job.total_rows, "upload": upload_s, "validate": validate_s, "confirm": 0.0, "write": 0.0}
    if expect_new == 0:
        if job.status != ImportStatus.DONE or job.valid_rows or job.existing_rows != job.total_rows:
            raise SystemExit(f"{name}: the re-run should find every row registered: {job.status} {job.message}")
        out["written"] = 0
        return out
    if job.status != ImportStatus.VALIDATED or job.valid_rows != expect_new or job.error_rows:
        raise SystemExit(f"{name}: {job.status}, {job.valid_rows} valid, {job.error_rows} errors: {job.report[:3]}")
    with override_settings(TASKS_MODE="thread"):
        job, out["confirm"] = timed(lambda: imports.import_confirm(actor=actor, job=job))
    _none, out["write"] = timed(lambda: imports.import_write(job.pk))
    job.refresh_from_db()
    if job.status != ImportStatus.DONE or job.written_rows != expect_new:
        raise SystemExit(f"{name}: the write ended {job.status} with {job.written_rows} rows: {job.message}")
    out["written"] = job.written_rows
    return out


def footprint() -> tuple[int, ...]:
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
    return (
        Institution.objects.count(),
        Ownership.objects.count(),
        ImportJob.objects.count(),
        AuditEvent.objects.count(),
        head or 0,
    )


def measure_import() -> dict[str, Any]:
    actor = User.objects.get(username=IMPORT_USER)
    access.active_assignment(actor)
    rows = import_rows(IMPORT_ROWS)
    xlsx, csv_data = as_xlsx(rows), as_csv(rows)
    before = footprint()
    runs: dict[str, list[dict[str, Any]]] = {"xlsx": [], "again": [], "csv": []}
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        for _ in range(IMPORT_REPEAT):

            def first_and_again() -> tuple[dict[str, Any], dict[str, Any]]:
                first = drive(actor, "lembaga-a0801.xlsx", xlsx, len(rows))
                return first, drive(actor, "lembaga-a0801.xlsx", xlsx, 0)

            first, again = rolled_back(first_and_again)
            runs["xlsx"].append(first)
            runs["again"].append(again)
            runs["csv"].append(rolled_back(lambda: drive(actor, "lembaga-a0801.csv", csv_data, len(rows))))
            print("  import run done", file=sys.stderr)
    after = footprint()
    if after != before:
        raise SystemExit(f"the import benchmark left rows behind: {before} -> {after}")
    return {"rows": len(rows), "xlsx_bytes": len(xlsx), "csv_bytes": len(csv_data), "runs": runs}


# --- Report -----------------------------------------------------------------------------------------


def fmt_ms(v: float) -> str:
    return f"{v:.1f}"


def plan_block(lines: list[str]) -> list[str]:
    return ["```text", *lines, "```"]


def render(
    lists: list[dict[str, Any]],
    costs: list[tuple[str, int | None, float]],
    plans: dict[str, list[str]],
    imp: dict[str, Any],
) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    load = os.getloadavg()
    met = sum(1 for r in lists if r["meets"])
    lines = [
        f"Measured {timezone.localdate().isoformat()} (Jakarta date) by `make bench` (`bench/registry.py`): "
        f"PostgreSQL {server}, Python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end); "
        f"{Institution.objects.count():,} institutions. {REPEAT} runs per case after {WARMUP} warm-up runs; "
        "times in milliseconds.",
        "",
        "### List page and API",
        "",
        "- *View*: the whole request through the test `Client` (session, middleware, view, template).",
        "  The goal is on its p95.",
        "- *ORM*: `institution_list` paged as the view pages it (scope root, count, the page's ids, then those rows).",
        "- *SQL*: the statements the ORM part sent, replayed through a plain cursor.",
        "  Ratios are p50 / SQL p50.",
        "",
        f"| Case | Matches | View p50 | View p95 | ORM p50 | ORM p95 | SQL p50 | SQL p95 | View/SQL | ORM/SQL "
        f"| p95 < {GOAL_LIST_P95_MS:.0f} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in lists:
        lines.append(
            f"| {r['label']} | {r['count']:,} | {fmt_ms(r['view_p50'])} | **{fmt_ms(r['view_p95'])}** | "
            f"{fmt_ms(r['orm_p50'])} | {fmt_ms(r['orm_p95'])} | {fmt_ms(r['sql_p50'])} | {fmt_ms(r['sql_p95'])} | "
            f"{r['view_ratio']:.1f}× | {r['orm_ratio']:.2f}× | {'yes' if r['meets'] else '**no**'} |"
        )
    lines += [
        "",
        f"{met} of {len(lists)} cases meet the goal.",
        "",
        "Where the request time goes (p50): the request's own queries (session, user, role, branches, "
        "permissions, count, page), the rest of the request (Python: middleware, view, template), "
        "and the two statements of the list. *Options* counts the `<option>` elements the page renders.",
        "",
        "| Case | Queries | Request SQL | Rest of request | Count SQL | Page SQL | Options | Indexes (count / page) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in lists:
        idx = " / ".join(", ".join(f"`{i}`" for i in r["indexes"][k]) or "seq scan" for k in ("count", "page"))
        lines.append(
            f"| {r['label']} | {r['queries']} | {fmt_ms(r['view_sql_p50'])} | "
            f"{fmt_ms(r['view_p50'] - r['view_sql_p50'])} | {fmt_ms(r['count_p50'])} | {fmt_ms(r['page_p50'])} | "
            f"{r['options']:,} | {idx} |"
        )
    lines += [
        "",
        "Building the filter form and rendering its pickers on their own (p50, Pusat):",
        "",
        "| Piece | Options | p50 |",
        "|---|---:|---:|",
    ]
    for label, options, ms in costs:
        lines.append(f"| {label} | {'—' if options is None else f'{options:,}'} | {fmt_ms(ms)} |")
    lines += ["", "### Plans of the search (Pusat, type SEKOLAH + q=negeri)", ""]
    for title, plan in plans.items():
        lines += [f"{title}:", "", *plan_block(plan), ""]
    runs = imp["runs"]

    def med(kind: str, step: str) -> float:
        return statistics.median(run[step] for run in runs[kind])

    lines += [
        "### Import of 10,000 rows",
        "",
        f"{imp['rows']:,} new institutions for the ten branches of Area {IMPORT_AREA} (Jakarta Pusat), imported "
        f"by `{IMPORT_USER}`: realistic names, 60% with an NPWP, half with an ME username, "
        f"file {imp['xlsx_bytes'] / 1024:.0f} KB as .xlsx and {imp['csv_bytes'] / 1024:.0f} KB as .csv. "
        f"Median of {IMPORT_REPEAT} runs, in seconds; each run in a transaction that is rolled back.",
        "",
        "| File | Upload + checks | Validate | Confirm | Write | Total | Written | Write rows/s | Total rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (
        ("xlsx", ".xlsx, first import"),
        ("again", ".xlsx again (all rows registered)"),
        ("csv", ".csv, first import"),
    ):
        steps = {s: med(kind, s) for s in ("upload", "validate", "confirm", "write")}
        total = statistics.median(sum(run[s] for s in steps) for run in runs[kind])
        written = runs[kind][0]["written"]
        write_rate = f"{written / steps['write']:,.0f}" if written else "—"
        lines.append(
            f"| {label} | {steps['upload']:.2f} | {steps['validate']:.2f} | {steps['confirm']:.3f} | "
            f"{steps['write']:.2f} | {total:.2f} | {written:,} | {write_rate} | "
            f"{runs[kind][0]['rows'] / total:,.0f} |"
        )
    first = runs["xlsx"][0]["rows"]
    verdicts = []
    for kind, label in (("xlsx", ".xlsx"), ("csv", ".csv")):
        write_rate = first / med(kind, "write")
        total_rate = first / statistics.median(
            sum(run[s] for s in ("upload", "validate", "confirm", "write")) for run in runs[kind]
        )
        verdicts.append(
            f"{label}: write {write_rate:,.0f} rows/s ({'meets' if write_rate > GOAL_IMPORT_ROWS_S else 'misses'} "
            f"the goal), whole import {total_rate:,.0f} rows/s "
            f"({'meets' if total_rate > GOAL_IMPORT_ROWS_S else 'misses'} it)"
        )
    lines += ["", f"Goal: above {GOAL_IMPORT_ROWS_S:,.0f} rows/s. " + "; ".join(verdicts) + "."]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Institution registry\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def vacuum() -> None:
    """Set the visibility map and the statistics, as autovacuum would on a live
    server (it is off on the benchmark host): without it the counts cannot use
    index-only scans. Changes no data."""
    with connection.cursor() as cursor:
        for table in ("institutions_institution", "institutions_ownership", "institutions_contact"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def main() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("bench/registry.py measures PostgreSQL; set BENCH_DATABASE_URL to a postgres:// URL")
    if Institution.objects.count() < 100_000:
        raise SystemExit("load the national demo first: manage.py demo_data --scale national --seed 1")
    settings.DEBUG = False  # no query log while measuring
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    vacuum()
    lists = []
    for case in LIST_CASES:
        lists.append(measure_list(case))
        r = lists[-1]
        print(
            f"  {case.label}: view p95 {r['view_p95']:.1f} ms, ORM p95 {r['orm_p95']:.1f}, SQL p95 {r['sql_p95']:.1f}",
            file=sys.stderr,
        )
    search = next(r for r in lists if r["label"] == LIST_CASES[1].label)
    plans = {
        "Count (`EXPLAIN (ANALYZE, BUFFERS)`)": explain_analyze(search["statements"]["count"]),
        "Page 1": explain_analyze(search["statements"]["page"]),
    }
    for r in lists:
        if not r["meets"]:
            print(f"\nSlow: {r['label']} ({r['url']})", file=sys.stderr)
            for role in ("count", "page"):
                print("\n".join(explain_analyze(r["statements"][role])), file=sys.stderr)
    costs = render_costs()
    imp = measure_import()
    section = render(lists, costs, plans, imp)
    print(section)
    write_doc(section)
    print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    run.prepare()  # migrate; load the national demo into an empty database
    main()
