"""Demo data for the performance module: the monthly facts, this year's,
quarter's and month's targets, the branch heads' tasks for their MEs and last
month's evaluations.

Runs last in ``demo_data`` (after the closings). In order:

* facts: ``performance.facts.rebuild()`` (the bulk loaders write with COPY or
  ``executemany`` and bypass the signals that mark facts dirty). Skipped when
  facts exist and no other demo loader has added rows since this loader last
  ran (their ``demo.load`` audit events say so).
* targets, for every KPI, for the current year (Y), quarter (Q) and month (M),
  top-down: Pusat's own target is last year's achievement of the same period
  times a seeded growth (5–15 %; a ratio KPI: a few points up, at most 100),
  or this year's run rate when last year has no data. It is split to the
  Wilayah and Area offices by their share last year (by potential where they
  have none), to the branches by potential (the sum of their live
  institutions' scores) and to each branch's current MEs equally, by the
  largest-remainder method of ``performance.distribution``: the children of
  every parent add up to it exactly (a ratio KPI is copied down). The weights
  are read in bulk (one GROUP BY per period) with the same definitions as
  ``distribution.weights``, so ``distribution.distribute`` proposes the same
  figures (the tests check it). Written with ``bulk_create``; a KPI and period
  that already has any target is left alone.
* tasks: the branch head (Pinca) gives each current ME a few tasks (small: 4–5,
  national: 2): open, in progress, done, overdue, many about an institution of
  the branch and a KPI. A branch that already has tasks is left alone.
* evaluations: last month's evaluation by the branch head for about half the
  MEs of each branch (rating 3–5, a short note). An ME already evaluated for
  that month, or a branch with such evaluations, is left alone.

Deterministic for a seed and a load day (dates are relative to "today" in
Jakarta); one audit event for the load names its rows by digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from control import audit
from control.models import AuditEvent
from institutions.models import Institution
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind
from performance import distribution, facts
from performance.kpis import KPI_BY_CODE, KPIS
from performance.models import KpiFact, MeEvaluation, MeFact, Target, Task, TaskStatus
from performance.periods import Period, PeriodKind, add_months, month_start

OBJECT_TYPE = "performance.demo"
GROWTH = (0.05, 0.15)  # Pusat's target over last year's achievement
RATIO_POINTS = (1.0, 5.0)  # a ratio KPI's target: last year's percentage plus this many points
TASKS_PER_ME = {"small": (4, 5), "national": (2, 2)}
BATCH = 2000

# (objective, KPI it supports, about an institution)
TASK_TEMPLATES: list[tuple[str, str, bool]] = [
    ("Jadwalkan audiensi dengan pimpinan {inst}", "audiences_held", True),
    ("Selesaikan penandatanganan PKS dengan {inst}", "agreements_signed", True),
    ("Adakan sosialisasi produk gadai dan emas di {inst}", "events_held", True),
    ("Kumpulkan prospek nasabah dari anggota {inst}", "leads", True),
    ("Lakukan kunjungan maintenance ke {inst}", "maintenance_compliance", True),
    ("Mulai eksekusi kerja sama dengan {inst}", "institutions_executed", True),
    ("Tawarkan Tabungan Emas kepada karyawan {inst}", "new_customers", True),
    ("Tindak lanjuti prospek yang belum dihubungi minggu ini", "lead_conversion", False),
    ("Dorong closing pembiayaan melalui lembaga binaan", "closing_amount", False),
    ("Tambah jumlah closing dari kanal BtoB", "closing_count", False),
    ("Perbarui data kontak lembaga binaan", "", False),
    ("Siapkan laporan kegiatan mingguan untuk Pinca", "", False),
]
PROGRESS_NOTES = [
    "Sudah menghubungi PIC, menunggu jadwal pertemuan.",
    "Proposal sudah dikirim, menunggu tanggapan.",
    "Sebagian data sudah terkumpul.",
    "Pertemuan pertama sudah dilakukan, perlu tindak lanjut.",
]
DONE_NOTES = [
    "Selesai sesuai rencana.",
    "Sudah dilaksanakan; hasilnya dicatat di aktivitas.",
    "Selesai; tindak lanjut dijadwalkan bulan depan.",
    "Selesai, PIC lembaga menyambut baik.",
]
EVALUATION_NOTES = {
    5: [
        "Kinerja sangat baik: kunjungan dan closing bulan lalu melampaui target. Bagikan praktik baiknya ke rekan ME.",
        "Sangat baik. Lembaga binaan aktif dan prospek ditindaklanjuti tepat waktu. Pertahankan.",
    ],
    4: [
        "Kinerja baik dan konsisten. Tingkatkan tindak lanjut prospek agar konversi naik.",
        "Baik. Jadwal maintenance terjaga; perbanyak audiensi dengan lembaga baru.",
        "Baik, target kegiatan tercapai. Fokuskan bulan ini pada closing BtoB.",
    ],
    3: [
        "Cukup. Beberapa kunjungan maintenance terlewat; perbaiki perencanaan mingguan.",
        "Cukup. Prospek banyak tetapi konversi rendah; diskusikan kendalanya dengan Pinca.",
        "Cukup. Laporan kegiatan sering terlambat; catat aktivitas di hari yang sama.",
    ],
}
RATINGS = ([3, 4, 5], [3, 5, 2])  # values, weights


@dataclass
class Unit:
    id: int
    code: str
    kind: str
    parent: int | None
    children: list[int] = field(default_factory=list)


@dataclass
class Me:
    id: int
    username: str


class _Loader:
    def __init__(
        self, *, scale: str, seed: int, progress: Callable[[str, int], Any], now: dt.datetime | None = None
    ) -> None:
        self.scale, self.seed, self.progress = scale, seed, progress
        self.now = now or timezone.now()
        self.today = self.now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
        self.periods = [Period.of(self.today, k) for k in (PeriodKind.YEAR, PeriodKind.QUARTER, PeriodKind.MONTH)]
        self.evaluated = Period.of(self.today).previous()
        self.postgres = connection.vendor == "postgresql"
        self.started = time.monotonic()
        self.created = {"fact_rows": 0, "targets": 0, "tasks": 0, "evaluations": 0}
        self.digest = hashlib.sha256()
        self.methods: dict[str, set[str]] = defaultdict(set)

    # -- reading the network --------------------------------------------------------------

    def network(self) -> None:
        rows = (
            OrgUnit.objects.filter(
                kind__in=[UnitKind.PUSAT, UnitKind.WILAYAH, UnitKind.AREA, UnitKind.CABANG], is_active=True
            )
            .values_list("id", "code", "kind", "parent_id")
            .order_by("code")
        )
        self.units = {pk: Unit(pk, code, kind, parent) for pk, code, kind, parent in rows}
        child_kind = {UnitKind.PUSAT: UnitKind.WILAYAH, UnitKind.WILAYAH: UnitKind.AREA, UnitKind.AREA: UnitKind.CABANG}
        for u in self.units.values():  # in code order, as achievement.for_unit lists them
            parent = self.units.get(u.parent) if u.parent else None
            if parent is not None and child_kind.get(parent.kind) == u.kind:  # type: ignore[call-overload]
                parent.children.append(u.id)
        self.root = next(
            (u for u in self.units.values() if u.kind == UnitKind.PUSAT and u.parent is None and u.children), None
        )
        self.branches = [u for u in self.units.values() if u.kind == UnitKind.CABANG and self.area_region(u)]
        self.mes: dict[int, list[Me]] = defaultdict(list)
        for branch, user, username in (
            Placement.objects.filter(valid_to__isnull=True, branch_id__in=[b.id for b in self.branches])
            .values_list("branch_id", "user_id", "user__username")
            .order_by("branch_id", "user__first_name", "user__last_name", "user_id")  # as selectors.current_mes
        ):
            self.mes[branch].append(Me(user, username))
        # Who sets what: Pusat (Pusat's and the regions' targets), the region (its areas'),
        # the DBA (its branches'), the branch head (its MEs', tasks, evaluations).
        self.holder: dict[tuple[str, int | None], int] = {}
        for role, unit, user in (
            RoleAssignment.objects.active(self.today)
            .filter(role__in=[Role.PUSAT, Role.WILAYAH, Role.DBA, Role.PINCA], user__is_active=True)
            .values_list("role", "unit_id", "user_id")
            .order_by("user__username", "id")
        ):
            self.holder.setdefault((role, unit), user)
            self.holder.setdefault((role, None), user)

    def area_region(self, branch: Unit) -> tuple[int, int] | None:
        area = self.units.get(branch.parent) if branch.parent else None
        if area is None or area.kind != UnitKind.AREA or area.parent not in self.units:
            return None
        return area.id, area.parent  # type: ignore[return-value]

    # -- facts ----------------------------------------------------------------------------

    def facts(self) -> None:
        """Rebuild when there are no facts yet or another demo loader added rows since our last load."""
        mine = (
            AuditEvent.objects.filter(action="demo.load", object_type=OBJECT_TYPE)
            .order_by("-seq")
            .values_list("seq", flat=True)
            .first()
        )
        others = AuditEvent.objects.filter(action="demo.load").exclude(object_type=OBJECT_TYPE)
        if mine is not None:
            others = others.filter(seq__gt=mine)
        if KpiFact.objects.exists() and not others.exists():
            facts.settle(self.today)
            return
        started = time.monotonic()
        self.created["fact_rows"] = facts.rebuild(today=self.today)
        self.fact_seconds = round(time.monotonic() - started, 1)
        if self.scale == "national":
            sys.stderr.write(
                f"performance: facts rebuilt ({self.created['fact_rows']:,} rows) in {self.fact_seconds:.1f}s\n"
            )

    fact_seconds: float | None = None

    # -- targets --------------------------------------------------------------------------

    def sums(self, first: dt.date, end: dt.date) -> dict[tuple[int, int, str], tuple[Decimal, int]]:
        """{(region id, area id, kpi): (value, base)} of the facts of the months in [first, end)."""
        out: dict[tuple[int, int, str], tuple[Decimal, int]] = {}
        for r in (
            KpiFact.objects.filter(month__gte=first, month__lt=end)
            .values("region_id", "area_id", "kpi")
            .annotate(v=Sum("value"), b=Sum("base"))
            .order_by()
        ):
            out[(r["region_id"], r["area_id"], r["kpi"])] = (Decimal(r["v"] or 0), int(r["b"] or 0))
        return out

    def potential(self) -> dict[int, Decimal]:
        """Each unit's potential: the sum of its live institutions' scores (as ``distribution.weights``)."""
        out: dict[int, Decimal] = defaultdict(Decimal)
        for branch, area, region, score in (
            Institution.objects.live()
            .values("branch_id", "area_id", "region_id")
            .annotate(s=Sum("score"))
            .values_list("branch_id", "area_id", "region_id", "s")
            .order_by()
        ):
            for pk in (branch, area, region):
                out[pk] += Decimal(score or 0)
        return out

    def national(self, code: str, last: dict[tuple[int, int, str], tuple[Decimal, int]], period: Period) -> Decimal:
        """Pusat's own target: last year's achievement (else this year's run rate) with growth."""
        kpi = KPI_BY_CODE[code]
        value = sum((v for (_r, _a, k), (v, _b) in last.items() if k == code), Decimal(0))
        base = sum(b for (_r, _a, k), (_v, b) in last.items() if k == code)
        if not (base if kpi.is_ratio else value):
            this_month = month_start(self.today)
            first = dt.date(self.today.year, 1, 1)
            if first >= this_month:
                first = add_months(this_month, -3)
            months = (this_month.year - first.year) * 12 + this_month.month - first.month
            run = self.sums(first, this_month)
            value = sum((v for (_r, _a, k), (v, _b) in run.items() if k == code), Decimal(0))
            base = sum(b for (_r, _a, k), (_v, b) in run.items() if k == code)
            value = value * period.months / months
            base = base * period.months // months
        rng = random.Random(f"{self.seed}:performance:growth:{code}")
        growth, points = rng.uniform(*GROWTH), rng.uniform(*RATIO_POINTS)
        if kpi.is_ratio:
            if not base:
                return Decimal(0)
            pct = Decimal(value) * 100 / Decimal(base) + Decimal(f"{points:.1f}")
            return min(Decimal(100), pct).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        total = value * Decimal(1 + growth)
        step = Decimal(1_000_000) if kpi.unit == "rupiah" and total >= 100_000_000 else Decimal(1)
        return max((total / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step, Decimal(1 if value else 0))

    def split(self, code: str, total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
        """As ``distribution.distribute`` does with the given weights: a ratio KPI is copied."""
        if KPI_BY_CODE[code].is_ratio:
            return [total] * len(weights)
        return distribution.largest_remainder(total, weights)

    def targets(self) -> list[Target]:
        if self.root is None:
            return []
        facts.settle(self.today)
        existing = set(
            Target.objects.filter(
                period_kind__in=[p.kind for p in self.periods], period_start__in=[p.start for p in self.periods]
            )
            .values_list("kpi", "period_kind", "period_start")
            .distinct()
        )
        todo = [(p, k.code) for p in self.periods for k in KPIS if (k.code, p.kind, p.start) not in existing]
        if not todo:
            return []
        potential = self.potential()
        pusat = self.holder.get((Role.PUSAT, None))
        rows: list[Target] = []
        units = self.units
        # Top-down: Pusat, then each region, then each area (each splits its own target).
        regions = self.root.children
        parents = [self.root.id, *regions, *(a for r in regions for a in units[r].children)]
        for period in self.periods:
            codes = [c for p, c in todo if p == period]
            if not codes:
                continue
            last_period = period.previous_year()
            last = self.sums(last_period.start, last_period.end)
            by_region: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
            by_area: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
            for (region, area, code), (value, _base) in last.items():
                by_region[(region, code)] += value
                by_area[(region, area, code)] += value
            for code in codes:
                target_of: dict[int, Decimal] = {self.root.id: self.national(code, last, period)}
                rows.append(self.target(code, period, self.root, None, target_of[self.root.id], pusat))
                for parent_id in parents:
                    parent = units[parent_id]
                    children = [units[c] for c in parent.children]
                    if not children:
                        continue
                    if parent.kind == UnitKind.AREA:
                        method, weights = "potential", [potential.get(c.id, Decimal(0)) for c in children]
                    else:
                        if parent.kind == UnitKind.PUSAT:
                            weights = [by_region.get((c.id, code), Decimal(0)) for c in children]
                        else:
                            weights = [by_area.get((parent.id, c.id, code), Decimal(0)) for c in children]
                        method = "last_year"
                        if not sum(weights):
                            method, weights = "potential", [potential.get(c.id, Decimal(0)) for c in children]
                    self.methods[children[0].kind].add(method)
                    setter = self.setter(parent)
                    for child, part in zip(children, self.split(code, target_of[parent.id], weights), strict=True):
                        target_of[child.id] = part
                        rows.append(self.target(code, period, child, None, part, setter))
                for branch in self.branches:
                    mes = self.mes.get(branch.id, [])
                    if not mes or branch.id not in target_of:
                        continue
                    parts = distribution.distribute(
                        "equal", kpi=code, period=period, total=target_of[branch.id], children=mes, parent=branch
                    )
                    pinca = self.holder.get((Role.PINCA, branch.id))
                    for me, part in zip(mes, parts, strict=True):
                        rows.append(self.target(code, period, branch, me, part, pinca))
        for i in range(0, len(rows), BATCH):
            Target.objects.bulk_create(rows[i : i + BATCH])
        self.created["targets"] = len(rows)
        return rows

    def setter(self, parent: Unit) -> int | None:
        """Who sets the targets of the parent's children."""
        if parent.kind == UnitKind.PUSAT:
            return self.holder.get((Role.PUSAT, None))
        if parent.kind == UnitKind.WILAYAH:
            return self.holder.get((Role.WILAYAH, parent.id))
        return self.holder.get((Role.DBA, parent.id))

    def target(self, code: str, period: Period, unit: Unit, me: Me | None, value: Decimal, by: int | None) -> Target:
        self.digest.update(f"T {code} {period.code} {unit.code} {me.username if me else '-'} {value}\n".encode())
        return Target(
            kpi=code,
            period_kind=period.kind,
            period_start=period.start,
            unit_id=unit.id,
            me_id=me.id if me else None,
            value=value,
            set_by_id=by,
        )

    # -- tasks and evaluations -----------------------------------------------------------

    def institutions(self, branch_ids: list[int]) -> dict[int, list[tuple[int, int | None, str]]]:
        out: dict[int, list[tuple[int, int | None, str]]] = defaultdict(list)
        for pk, branch, me, name in (
            Institution.objects.live()
            .filter(branch_id__in=branch_ids)
            .values_list("id", "branch_id", "me_id", "name")
            .order_by("id")
        ):
            out[branch].append((pk, me, name))
        return out

    def tasks(self) -> None:
        with_tasks = set(Task.objects.values_list("branch_id", flat=True).distinct())
        todo = [b for b in self.branches if b.id not in with_tasks and self.mes.get(b.id)]
        todo = [b for b in todo if (Role.PINCA, b.id) in self.holder]
        insts = self.institutions([b.id for b in todo])
        low, high = TASKS_PER_ME.get(self.scale, TASKS_PER_ME["small"])
        rows: list[Task] = []
        for b in todo:
            rng = random.Random(f"{self.seed}:performance:tasks:{b.code}")
            area, region = self.area_region(b)  # type: ignore[misc]
            pinca = self.holder[(Role.PINCA, b.id)]
            for me in self.mes[b.id]:
                own = [i for i in insts.get(b.id, []) if i[1] == me.id] or insts.get(b.id, [])
                if high >= 4:  # the small demo: one of each, and sometimes one more
                    kinds = ["open", "progress", "done", "overdue"] + (["open"] if rng.random() < 0.5 else [])
                else:
                    kinds = rng.choices(["open", "progress", "done", "overdue"], weights=[3, 3, 3, 2], k=low)
                for kind in kinds:
                    template, kpi, about = rng.choice(
                        TASK_TEMPLATES if own else [t for t in TASK_TEMPLATES if not t[2]]
                    )
                    inst = rng.choice(own) if about else None
                    objective = template.format(inst=inst[2] if inst else "")[:255]
                    status, note, done_on = TaskStatus.OPEN, "", None
                    if kind == "open":
                        due = self.today + dt.timedelta(days=rng.randint(2, 30))
                    elif kind == "progress":
                        due = self.today + dt.timedelta(days=rng.randint(1, 21))
                        status, note = TaskStatus.IN_PROGRESS, rng.choice(PROGRESS_NOTES)
                    elif kind == "done":
                        due = self.today - dt.timedelta(days=rng.randint(0, 40))
                        done_on = min(self.today, due + dt.timedelta(days=rng.randint(-5, 1)))
                        status, note = TaskStatus.DONE, rng.choice(DONE_NOTES)
                    else:  # overdue: still open past its due date
                        due = self.today - dt.timedelta(days=rng.randint(1, 14))
                        if rng.random() < 0.5:
                            status, note = TaskStatus.IN_PROGRESS, rng.choice(PROGRESS_NOTES)
                    rows.append(
                        Task(
                            branch_id=b.id,
                            area_id=area,
                            region_id=region,
                            me_id=me.id,
                            institution_id=inst[0] if inst else None,
                            objective=objective,
                            kpi=kpi,
                            due_on=due,
                            status=status,
                            progress_note=note,
                            done_on=done_on,
                            assigned_by_id=pinca,
                        )
                    )
                    self.digest.update(f"K {b.code} {me.username} {objective} {due} {status}\n".encode())
        for i in range(0, len(rows), BATCH):
            Task.objects.bulk_create(rows[i : i + BATCH])
        self.created["tasks"] = len(rows)

    def evaluations(self) -> None:
        period = self.evaluated
        done = set(
            MeEvaluation.objects.filter(period_kind=period.kind, period_start=period.start).values_list(
                "branch_id", "me_id"
            )
        )
        evaluated_branches = {b for b, _m in done}
        evaluated_mes = {m for _b, m in done}
        rows: list[MeEvaluation] = []
        for b in self.branches:
            pinca = self.holder.get((Role.PINCA, b.id))
            mes = [m for m in self.mes.get(b.id, []) if m.id not in evaluated_mes]
            if b.id in evaluated_branches or pinca is None or not mes:
                continue
            rng = random.Random(f"{self.seed}:performance:evaluations:{b.code}")
            area, region = self.area_region(b)  # type: ignore[misc]
            picked = sorted(rng.sample(range(len(mes)), (len(mes) + 1) // 2))
            for i in picked:
                rating = rng.choices(*RATINGS)[0]
                notes = rng.choice(EVALUATION_NOTES[rating])
                rows.append(
                    MeEvaluation(
                        branch_id=b.id,
                        area_id=area,
                        region_id=region,
                        me_id=mes[i].id,
                        period_kind=period.kind,
                        period_start=period.start,
                        rating=rating,
                        notes=notes,
                        evaluated_by_id=pinca,
                    )
                )
                self.digest.update(f"E {b.code} {mes[i].username} {period.code} {rating}\n".encode())
        for i in range(0, len(rows), BATCH):
            MeEvaluation.objects.bulk_create(rows[i : i + BATCH])
        self.created["evaluations"] = len(rows)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        self.network()
        if self.root is None or not self.branches:
            return self.created
        tick = self.progress("kinerja", 4)
        with transaction.atomic():
            self.facts()
            tick(1)
            self.targets()
            tick(1)
            self.tasks()
            tick(1)
            self.evaluations()
            tick(1)
            if any(self.created.values()):
                audit.record(
                    actor=None,
                    action="demo.load",
                    object_type=OBJECT_TYPE,
                    object_id=f"{self.scale}:{self.seed}",
                    after=self.created
                    | {
                        "today": self.today.isoformat(),
                        "periods": [p.code for p in self.periods],
                        "evaluated": self.evaluated.code,
                        "methods": {k: sorted(v) for k, v in sorted(self.methods.items())},
                        "fact_seconds": self.fact_seconds,
                        "seconds": round(time.monotonic() - self.started, 1),
                        "digest": self.digest.hexdigest(),
                    },
                )
        if self.postgres and any(self.created.values()):
            from performance.models import BranchDayFact, RegionDayFact, RegionMonthFact

            tables = [KpiFact, MeFact, BranchDayFact, RegionDayFact, RegionMonthFact, Target, Task, MeEvaluation]
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables))
        return self.created


def load(
    *, scale: str, seed: int, progress: Callable[[str, int], Any], now: dt.datetime | None = None
) -> dict[str, int]:
    """Facts, targets, tasks and evaluations for the demo network (what is missing of them)."""
    return _Loader(scale=scale, seed=seed, progress=progress, now=now).run()
