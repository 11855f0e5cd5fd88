"""Roll-up: every level's figure of every KPI equals the sum of the level below
and an independent recount from the source rows (demo network plus seeded
random rows of every kind and status, closings through ``sales.ingest``)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from org.models import OrgUnit, UnitKind
from performance import achievement
from performance.periods import Period, PeriodKind
from performance.tests import factories as f
from sales.ingest import ingest
from sales.tests import rows as sales_rows

pytestmark = pytest.mark.django_db


def _closings(rng: random.Random, first: dt.date, last: dt.date) -> None:
    """BtoC rows of several channels and ME-initiated BtoB rows, in several branches."""
    batch = []
    for code in ("C080101", "C080102", "C100101"):
        for _i in range(4):
            day = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
            batch.append(
                sales_rows.row(
                    branch=code,
                    initiator=sales_rows.sales_user(code).username,
                    closed_on=day.isoformat(),
                    amount=str(rng.randrange(1, 50) * 100_000),
                    new_customer=rng.choice(["ya", "tidak"]),
                    customer_ref=f"32012345678{rng.randrange(10**5):05d}",
                )
            )
        for skip in range(2):
            inst = sales_rows.institution(code, skip=skip)
            day = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
            batch.append(
                sales_rows.btob_row(inst, closed_on=day.isoformat(), amount=str(rng.randrange(1, 90) * 250_000))
            )
    out = ingest(actor=None, source=sales_rows.SOURCE, rows=batch)
    assert not out.problems, out.problems


def _pair(fig: Any) -> tuple[Decimal, int]:
    return Decimal(fig.value), fig.base


def _check(unit: OrgUnit, period: Period, as_of: dt.date | None, rc: f.Recount) -> tuple[dict[str, Any], int]:
    """Check one unit's achievement against its children and the recount; return its own figures."""
    ach = achievement.for_unit(unit, period, as_of)
    own = {c: _pair(ach.own.figures[c]) for c in f.CODES}
    ids = f.branch_ids_under(unit) if unit.kind != UnitKind.CABANG else {unit.pk}
    for code in f.CODES:
        assert own[code] == f.total(rc, ids, code), (unit.code, period.code, code)
        children = list(ach.children) + ([ach.unattributed] if ach.unattributed is not None else [])
        summed = (
            sum((Decimal(x.figures[code].value) for x in children), Decimal(0)),
            sum(x.figures[code].base for x in children),
        )
        assert summed == own[code], (unit.code, period.code, code, "children")
    if unit.kind == UnitKind.CABANG:
        for line in ach.children:
            for code in f.CODES:
                cell = rc.get((unit.pk, line.key.pk, code), [Decimal(0), 0])
                assert _pair(line.figures[code]) == (cell[0], cell[1]), (unit.code, line.key.username, code)
    return own, len(ach.children)


@pytest.fixture
def network() -> dict[str, Any]:
    today = timezone.localdate()
    rng = random.Random(6)
    first = dt.date(today.year - 1, 12, 1)
    f.add_random_rows(rng, first=first, last=today, per_branch=8)
    _closings(rng, first, today - dt.timedelta(days=1))
    f.build_facts()
    # Some writes after the rebuild: the facts settle on read.
    f.add_random_rows(random.Random(7), first=first, last=today, per_branch=2)
    return {"today": today}


def _periods(today: dt.date) -> list[tuple[Period, dt.date | None]]:
    last_month = Period.of(today.replace(day=1) - dt.timedelta(days=1))
    quarter = Period.of(today, PeriodKind.QUARTER).previous()
    return [
        (last_month, None),
        (quarter, None),
        (Period.of(today, PeriodKind.YEAR), None),
        # The live path: as of the middle of a past month.
        (last_month, last_month.start + dt.timedelta(days=14)),
        (Period.of(today, PeriodKind.YEAR), last_month.start + dt.timedelta(days=14)),
    ]


def test_rollup_equals_sum_of_leaves_and_a_recount(network: dict[str, Any]) -> None:
    today = network["today"]
    root = f.pusat()
    for period, as_of in _periods(today):
        used = achievement.effective_as_of(period, as_of)
        live = used < today and used < period.last_day
        rc = f.recount(
            period.start, period.end, used, live_from=max(used.replace(day=1), period.start) if live else None
        )
        assert any(rc[k][0] for k in rc), "the data must count something"
        top, _n = _check(root, period, as_of, rc)
        regions = list(OrgUnit.objects.filter(parent=root, kind=UnitKind.WILAYAH, is_active=True))
        areas = list(OrgUnit.objects.filter(parent__in=regions, kind=UnitKind.AREA, is_active=True))
        branches = list(OrgUnit.objects.filter(parent__in=areas, kind=UnitKind.CABANG, is_active=True))
        assert len(regions) >= 2 and len(areas) >= 4 and len(branches) >= 8
        for level in (regions, areas, branches):
            sums = {c: (Decimal(0), 0) for c in f.CODES}
            for unit in level:
                own, _n = _check(unit, period, as_of, rc)
                for c in f.CODES:
                    sums[c] = (sums[c][0] + own[c][0], sums[c][1] + own[c][1])
            assert sums == top, (period.code, level[0].kind)


def test_rollup_counts_every_kpi_somewhere(network: dict[str, Any]) -> None:
    """The random data reaches every KPI (else the roll-up test would prove little)."""
    today = network["today"]
    year = Period.of(today, PeriodKind.YEAR)
    ach = achievement.for_unit(f.pusat(), year)
    for code in f.CODES:
        assert ach.own.figures[code].value > 0, code
    # ME attribution reaches the MEs of some branch for every KPI.
    attributed = {c: Decimal(0) for c in f.CODES}
    for branch in f.branches():
        for line in achievement.for_unit(branch, year).children:
            for c in f.CODES:
                attributed[c] += line.figures[c].value
    for code in f.CODES:
        assert attributed[code] > 0, code
