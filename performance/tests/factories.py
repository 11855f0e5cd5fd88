"""Test data for the performance module, and an independent recount of every KPI
straight from the source rows (plain Python loops, not ``kpis.compute``).

The tests run on the small demo network (2 Wilayah, 4 Areas, 12 branches); the
helpers here add seeded random rows on top of it and build the monthly facts.
Other test modules may import these helpers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone

from activities.models import (
    EVENT_KINDS,
    Activity,
    ActivityKind,
    ActivityStatus,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    VisitStatus,
)
from institutions.models import Institution, Stage, StageChange
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind, User
from performance import facts
from performance.kpis import KPIS, jakarta
from sales.models import Closing, InitiatorKind

CODES = tuple(k.code for k in KPIS)
_serial = itertools.count(1)

# A recount: {(branch id, me id or None, kpi): [value, base]}; me None is the branch total.
Recount = dict[tuple[int, int | None, str], list[Any]]


def branches() -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(kind=UnitKind.CABANG, is_active=True).order_by("code"))


def pusat() -> OrgUnit:
    unit = OrgUnit.objects.filter(kind=UnitKind.PUSAT).order_by("id").first()
    assert unit is not None
    return unit


def mes_of(branch: OrgUnit) -> list[User]:
    """MEs placed at the branch now."""
    ids = Placement.objects.filter(branch=branch, valid_to__isnull=True).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("pk"))


def user_with_role(unit_code: str, role: str) -> User:
    ra = (
        RoleAssignment.objects.active()
        .filter(unit__code=unit_code, role=role, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    assert ra is not None, f"no {role} at {unit_code}"
    return ra.user


def owned(branch: OrgUnit) -> dict[str, Any]:
    area = branch.parent
    assert area is not None
    return {"branch_id": branch.pk, "area_id": area.pk, "region_id": area.parent_id}


def build_facts() -> None:
    """The demo loader leaves facts to a rebuild (as after any bulk load)."""
    facts.rebuild()


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=jakarta())


# --- Random rows ------------------------------------------------------------------------


def _random_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def add_random_rows(rng: random.Random, *, first: dt.date, last: dt.date, per_branch: int = 6) -> None:
    """Activities of every kind and status, leads of every status, maintenance
    visits done/missed/planned (overdue or not), stage changes to Eksekusi and
    Kerja sama, in every branch, by its MEs (and some with no ME), written through
    the ORM (the model signals mark the facts dirty)."""
    for branch in branches():
        mes = mes_of(branch)
        insts = list(Institution.objects.filter(branch=branch).order_by("pk")[:20])
        if not insts:
            continue
        for _i in range(per_branch):
            inst = rng.choice(insts)
            me = rng.choice(mes) if mes else None
            day = _random_day(rng, first, last)
            kind = rng.choice(list(ActivityKind))
            Activity.objects.create(
                **owned(branch),
                kind=kind,
                status=rng.choice(list(ActivityStatus)),
                starts_at=moment(day),
                day=day,
                me=me or inst.me or user_with_role(branch.code, Role.PINCA),
                institution=inst,
            )
            if inst.me_id is not None:
                Lead.objects.create(
                    **owned(branch),
                    institution=inst,
                    me_id=inst.me_id,
                    name="Prospek Uji",
                    product="TABUNGAN_EMAS",
                    purpose="Uji",
                    lawful_basis="PERSETUJUAN",
                    status=rng.choice(list(LeadStatus)),
                    # Around Jakarta midnight on purpose: the month and the as-of day are Jakarta dates.
                    created_at=moment(day, rng.choice([0, 6, 23])),
                )
            StageChange.objects.create(
                institution=inst,
                from_stage=Stage.AUDIENSI,
                to_stage=rng.choice([Stage.EKSEKUSI, Stage.KERJA_SAMA, Stage.AUDIENSI]),
                at=moment(day, rng.choice([0, 12, 23])),
            )
        plan = MaintenancePlan.objects.filter(branch=branch).first()
        if plan is not None:
            for _i in range(per_branch):
                due = _random_day(rng, first, last)
                if MaintenanceVisit.objects.filter(plan=plan, due_on=due).exists():
                    continue
                MaintenanceVisit.objects.create(
                    **owned(branch),
                    plan=plan,
                    institution_id=plan.institution_id,
                    me_id=plan.me_id,
                    due_on=due,
                    overdue_on=due + dt.timedelta(days=rng.choice([0, 7, 30])),
                    status=rng.choice(list(VisitStatus)),
                )


# --- The independent recount -------------------------------------------------------------


def _local_day(value: dt.datetime) -> dt.date:
    return timezone.localtime(value, jakarta()).date()


def recount(start: dt.date, end: dt.date, as_of: dt.date, *, live_from: dt.date | None = None) -> Recount:
    """Every KPI per (branch, None) and per (branch, ME), by loops over the source rows.

    A planned visit counts as due once overdue: by today in the whole months
    (kept as facts, refreshed daily), by ``as_of`` in the month counted live
    (from ``live_from``, when the as-of date cuts a past month)."""
    last = min(end, as_of + dt.timedelta(days=1))
    today = timezone.localdate()
    out: Recount = defaultdict(lambda: [Decimal(0), 0])

    def add(branch_id: int, me_id: int | None, code: str, value: Any, base: int = 0) -> None:
        for who in (None, me_id) if me_id is not None else (None,):
            cell = out[(branch_id, who, code)]
            cell[0] += Decimal(value)
            cell[1] += base

    for sc in StageChange.objects.select_related("institution"):
        if sc.to_stage not in (Stage.EKSEKUSI, Stage.KERJA_SAMA) or not start <= _local_day(sc.at) < last:
            continue
        code = "institutions_executed" if sc.to_stage == Stage.EKSEKUSI else "agreements_signed"
        add(sc.institution.branch_id, sc.institution.me_id, code, 1)
    for a in Activity.objects.all():
        if a.status != ActivityStatus.DONE or not start <= a.day < last:
            continue
        if a.kind == ActivityKind.AUDIENSI:
            add(a.branch_id, a.me_id, "audiences_held", 1)
        elif a.kind in EVENT_KINDS:
            add(a.branch_id, a.me_id, "events_held", 1)
    for lead in Lead.objects.all():
        if start <= _local_day(lead.created_at) < last:
            add(lead.branch_id, lead.me_id, "leads", 1)
            add(lead.branch_id, lead.me_id, "lead_conversion", int(lead.status == LeadStatus.CLOSING), 1)
    for v in MaintenanceVisit.objects.all():
        if not start <= v.due_on < last:
            continue
        due = v.status in (VisitStatus.DONE, VisitStatus.MISSED) or (
            v.status == VisitStatus.PLANNED
            and v.overdue_on <= (as_of if live_from is not None and v.due_on >= live_from else today)
        )
        if due:
            add(v.branch_id, v.me_id, "maintenance_compliance", int(v.status == VisitStatus.DONE), 1)
    for c in Closing.objects.all():
        if not start <= c.closed_on < last:
            continue
        me_id = c.initiator_user_id if c.initiator_kind == InitiatorKind.ME else None
        add(c.branch_id, me_id, "closing_amount", c.amount)
        add(c.branch_id, me_id, "closing_count", 1)
        add(c.branch_id, me_id, "new_customers", int(c.new_customer))
    return out


def total(rc: Recount, branch_ids: set[int], code: str) -> tuple[Decimal, int]:
    value, base = Decimal(0), 0
    for (b, me, kpi), (v, n) in rc.items():
        if me is None and kpi == code and b in branch_ids:
            value += v
            base += n
    return value, base


def branch_ids_under(unit: OrgUnit) -> set[int]:
    return set(OrgUnit.objects.filter(kind=UnitKind.CABANG, path__startswith=unit.path).values_list("pk", flat=True))


def next_id(prefix: str = "PF") -> str:
    return f"{prefix}{next(_serial):07d}"


# --- A small area for the placement worked example -----------------------------------------


def area_with_branches(
    scores: list[list[int]], mes: list[int], *, code: str = "AX99", region: str = "W08"
) -> tuple[OrgUnit, list[OrgUnit], list[list[User]]]:
    """A new area under ``region`` with one branch per entry of ``scores`` (the
    potential scores of its live institutions) and ``mes[i]`` MEs placed at branch i.
    Each ME holds as many institutions as its position in the branch (0, 1, 2 …)."""
    from institutions.tests.factories import make_institution
    from org.services import unit_create

    admin = User.objects.get(username="admin")
    area = unit_create(
        actor=admin, kind=UnitKind.AREA, code=code, name=f"Area {code}", parent=OrgUnit.objects.get(code=region)
    )
    units, people = [], []
    for i, branch_scores in enumerate(scores):
        branch = unit_create(
            actor=admin, kind=UnitKind.CABANG, code=f"{code}B{i + 1}", name=f"Cabang {i + 1}", parent=area
        )
        units.append(branch)
        placed = []
        for j in range(mes[i]):
            me = User.objects.create(username=f"me.{code.lower()}.{i + 1}.{j + 1}", first_name=f"ME {i + 1}.{j + 1}")
            RoleAssignment.objects.create(user=me, role=Role.ME, unit=branch, valid_from=dt.date(2025, 1, 1))
            Placement.objects.create(user=me, branch=branch, valid_from=dt.date(2025, 1, 1))
            placed.append(me)
        people.append(placed)
        for k, score in enumerate(branch_scores):
            inst = make_institution(branch=branch)
            holder = placed[k % len(placed)] if placed and k % max(len(placed), 1) else None
            Institution.objects.filter(pk=inst.pk).update(score=score, me=holder)
    return area, units, people
