"""The daily summary equals a recount after random inserts and corrections; the
check finds a corrupted row and ``closings_summary --rebuild`` repairs it; a
branch moved to another area takes its closings and summary rows along."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F

from core.products import GOLD_PRODUCTS, Product
from org.models import OrgUnit
from org.services import unit_move
from sales.ingest import ingest, rebuild_summary, summary_differences
from sales.models import Closing, ClosingSummary
from sales.tests import rows as R

pytestmark = pytest.mark.django_db
# Concurrency is exercised on PostgreSQL (CI runs both): SQLite's shared in-memory test database cannot
# take concurrent writers. A marker, not pytest.skip() in the body, so that on SQLite the transactional
# fixture is never set up and its flush never empties the demo network other tests read.
ON_POSTGRESQL = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="concurrency is exercised on PostgreSQL (CI runs both)",
)

BRANCHES = ("C080101", "C080102", "C100101")
PRODUCTS = [p for p in Product.values if p != Product.PMP]


def python_recount() -> dict[tuple[Any, ...], tuple[int, Decimal, Decimal, int]]:
    """The closings counted in Python, independently of the SQL recount of summary_differences()."""
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0])
    for c in Closing.objects.all().iterator():
        t = out[(c.closed_on, c.branch_id, c.scheme, c.channel, c.product)]
        t[0] += 1
        t[1] += c.amount
        t[2] += c.grams or Decimal(0)
        t[3] += 1 if c.new_customer else 0
    return {k: (n, Decimal(a), Decimal(g).quantize(Decimal("0.0001")), new) for k, (n, a, g, new) in out.items()}


class RandomRows:
    """Random valid rows over several days, three branches (two areas, two regions) and every channel kind."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.by_branch: dict[str, dict[str, Any]] = {}
        for code in BRANCHES:
            inst = R.institution(code)
            R.fleet(inst)
            R.point_reward(inst)
            R.pmp(inst)
            self.by_branch[code] = {
                "inst": inst,
                "sales": R.sales_user(code).username,
                "employee": R.employee(code).username,
                "agent": R.individual_agent(branch_code=code).code,
                "corporate": R.corporate_agent(inst).code,
            }

    def make(self, external_id: str) -> dict[str, Any]:
        rng = self.rng
        code = rng.choice(BRANCHES)
        b = self.by_branch[code]
        product = rng.choice(PRODUCTS)
        values: dict[str, Any] = {
            "external_id": external_id,
            "closed_on": (R.yesterday() - timedelta(days=rng.randrange(6))).isoformat(),
            "branch": code,
            "amount": str(rng.randrange(0, 50_000_000)),
            "new_customer": rng.choice(["ya", "tidak"]),
            "customer_ref": str(rng.randrange(10**15, 10**16)),
        }
        kind = rng.randrange(9)
        if kind == 0:
            values |= {"channel": "SALES_TEAM", "initiator_kind": "SALES", "initiator": b["sales"]}
        elif kind == 1:
            values |= {"channel": "EGC_KARYAWAN", "initiator_kind": "EMPLOYEE", "initiator": b["employee"]}
        elif kind == 2:
            values |= {"channel": "DIGITAL", "initiator_kind": "DIGITAL", "initiator": ""}
        elif kind == 3:
            values |= {"channel": "AGEN_PERSEORANGAN", "initiator_kind": "AGENT", "initiator": "", "agent": b["agent"]}
        elif kind == 4:
            values |= {"channel": "BTOC_LAINNYA", "initiator_kind": "DIGITAL", "initiator": ""}
        else:
            btob = ["BTOB_LAINNYA", "FLEET", "POINT_REWARD", "PMP", "AGEN_BADAN_USAHA"][kind - 5]
            values |= {
                "scheme": "BTOB",
                "channel": btob,
                "institution": str(b["inst"].pk),
                "initiator_kind": "ME",
                "initiator": b["inst"].me.username,
            }
            if btob == "PMP":
                product = "PMP"
            if btob == "AGEN_BADAN_USAHA":
                values["agent"] = b["corporate"]
        values["product"] = product
        values["grams"] = str(Decimal(rng.randrange(1, 100_000)) / 1000) if product in GOLD_PRODUCTS else ""
        return R.row(**values)


def test_summary_equals_a_recount_after_random_inserts_and_corrections(get_user: Any) -> None:
    rng = random.Random(20260505)
    gen = RandomRows(rng)
    actor = get_user("pusat")
    ids: list[str] = []
    totals = {"inserted": 0, "corrected": 0, "unchanged": 0}
    for round_ in range(6):
        batch = [gen.make(f"RND-{round_}-{i:03d}") for i in range(rng.randrange(40, 80))]
        if ids:
            # Corrections: the same ids with every value drawn again (branch, day, channel, product may change) …
            batch += [gen.make(ext) for ext in rng.sample(ids, min(len(ids), 25))]
            # … an amount-only correction, and resends of rows as they are.
            c = Closing.objects.get(external_id=rng.choice(ids))
            batch += [{**_as_row(c), "amount": str(c.amount + 1)}]
        rng.shuffle(batch)
        seen: set[str] = set()
        batch = [r for r in batch if not (r["external_id"] in seen or seen.add(r["external_id"]))]  # type: ignore[func-returns-value]
        out = ingest(actor=actor, source=R.SOURCE, rows=batch)
        assert out.problems == [], out.problems[:3]
        for k in totals:
            totals[k] += getattr(out, k)
        ids += [r["external_id"] for r in batch if r["external_id"] not in ids]
        assert summary_differences() == [], f"round {round_}"
    assert totals["inserted"] == len(ids) >= 240
    assert totals["corrected"] >= 100
    assert Closing.objects.filter(external_id__startswith="RND-").count() == len(ids)
    assert R.summary_totals() == python_recount()
    # Some closings really moved between keys and branches.
    assert (
        Closing.objects.filter(external_id__startswith="RND-", revision__gt=1).values("branch").distinct().count() == 3
    )


def _as_row(c: Closing) -> dict[str, Any]:
    """A stored closing as the row that would resend it unchanged."""
    return R.row(
        external_id=c.external_id,
        closed_on=c.closed_on.isoformat(),
        branch=c.branch.code,
        upc=c.upc.code if c.upc else "",
        product=c.product,
        amount=str(c.amount),
        grams=str(c.grams) if c.grams is not None else "",
        new_customer="ya" if c.new_customer else "tidak",
        customer_ref=c.customer_ref[-4:],
        scheme=c.scheme,
        channel=c.channel,
        institution=str(c.institution_id or ""),
        cross_branch_rule=c.cross_branch_rule,
        initiator_kind=c.initiator_kind,
        initiator=c.initiator_user.username if c.initiator_user else "",
        agent=c.individual_agent.code if c.individual_agent else (c.corporate_agent.code if c.corporate_agent else ""),
        lead=str(c.lead_id or ""),
    )


def test_a_resent_stored_closing_is_unchanged(get_user: Any) -> None:
    actor = get_user("pusat")
    gen = RandomRows(random.Random(7))
    ingest(actor=actor, source=R.SOURCE, rows=[gen.make(f"SAME-{i}") for i in range(30)])
    rows = [_as_row(c) for c in Closing.objects.filter(external_id__startswith="SAME-")]
    out = ingest(actor=actor, source=R.SOURCE, rows=rows)
    assert (out.inserted, out.corrected, out.unchanged) == (0, 0, 30)


# --- The check and the rebuild ---------------------------------------------------------------------


@pytest.fixture
def some_closings(get_user: Any) -> None:
    gen = RandomRows(random.Random(11))
    ingest(actor=get_user("pusat"), source=R.SOURCE, rows=[gen.make(f"CHK-{i:03d}") for i in range(60)])
    assert summary_differences() == []


def check() -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("closings_summary", "--check", stdout=out)
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


@pytest.mark.usefixtures("some_closings")
@pytest.mark.parametrize("corruption", ["count", "amount", "grams", "new_customers", "area", "deleted", "extra"])
def test_check_finds_a_corrupted_summary_and_rebuild_repairs_it(corruption: str) -> None:
    ok, text = check()
    assert ok and "OK" in text
    row = ClosingSummary.objects.filter(branch__code="C080101", count__gt=0).order_by("day", "channel").first()
    assert row is not None
    key = (row.day, row.branch_id, row.scheme, row.channel, row.product)
    if corruption == "deleted":
        row.delete()
    elif corruption == "extra":
        key = (row.day - timedelta(days=400), row.branch_id, row.scheme, row.channel, row.product)
        ClosingSummary.objects.create(
            day=key[0], branch_id=row.branch_id, area_id=row.area_id, region_id=row.region_id,
            scheme=row.scheme, channel=row.channel, product=row.product, count=1,
        )  # fmt: skip
    elif corruption == "area":
        ClosingSummary.objects.filter(pk=row.pk).update(area=OrgUnit.objects.get(code="A0802"))
    elif corruption == "grams":
        ClosingSummary.objects.filter(pk=row.pk).update(grams=F("grams") + Decimal("0.0001"))
    else:
        ClosingSummary.objects.filter(pk=row.pk).update(**{corruption: F(corruption) + 1})
    differences = summary_differences()
    assert [d["key"] for d in differences] == [key]
    ok, text = check()
    assert not ok and "DIFFERS" in text and str(key[0]) in text

    out = StringIO()
    call_command("closings_summary", "--rebuild", stdout=out)
    assert "rebuilt" in out.getvalue()
    assert summary_differences() == []
    assert check()[0]
    assert R.summary_totals() == python_recount()


def test_check_exits_non_zero_from_the_command_line(some_closings: None) -> None:
    """CommandError is what makes ``manage.py`` exit 1; run_from_argv turns it into SystemExit."""
    from django.core.management import ManagementUtility

    ClosingSummary.objects.filter(pk=ClosingSummary.objects.order_by("id").values("id")[:1]).update(
        count=F("count") + 5
    )
    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "closings_summary", "--check"]).execute()
    assert exc.value.code == 1


def test_the_command_needs_one_of_check_or_rebuild() -> None:
    with pytest.raises(CommandError):
        call_command("closings_summary")


def test_rebuild_keeps_an_exact_summary_as_it_is(some_closings: None) -> None:
    before = R.summary_totals()
    assert rebuild_summary() >= len(before)
    assert R.summary_totals() == before


# --- A branch moved to another area ------------------------------------------------------------------


def test_a_moved_branch_takes_its_closings_and_summary_rows_to_the_new_area(get_user: Any) -> None:
    actor = get_user("pusat")
    batch = R.numbered("MOV", range(1, 21))
    ingest(actor=actor, source=R.SOURCE, rows=batch)
    branch, new_area = OrgUnit.objects.get(code="C080101"), OrgUnit.objects.get(code="A0802")
    old_area = branch.parent
    assert old_area is not None and old_area != new_area
    unit_move(actor=get_user("admin"), unit=branch, new_parent=new_area)

    closings = Closing.objects.filter(branch=branch)
    assert closings.exists()
    assert set(closings.values_list("area_id", "region_id").distinct()) == {(new_area.pk, new_area.parent_id)}
    rows = ClosingSummary.objects.filter(branch=branch)
    assert rows.exists()
    assert set(rows.values_list("area_id", "region_id").distinct()) == {(new_area.pk, new_area.parent_id)}
    assert not Closing.objects.filter(branch=branch, area=old_area).exists()
    assert summary_differences() == []
    # The area's figures are those of the branches it has now, history included.
    assert ClosingSummary.objects.filter(area=new_area, branch=branch, day=R.yesterday()).exists()
    # Resending the old batch after the move changes nothing; a new closing lands in the new area.
    again = ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert (again.inserted, again.corrected, again.unchanged) == (0, 0, 20)
    new = R.row()
    ingest(actor=actor, source=R.SOURCE, rows=[new])
    assert Closing.objects.get(external_id=new["external_id"]).area_id == new_area.pk
    assert summary_differences() == []


# --- A rebuild while batches are written (PostgreSQL) ----------------------------------------------------


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_rebuild_during_concurrent_batches_loses_nothing() -> None:
    """Batches and rebuilds at once: the summary still equals a recount
    (PostgreSQL only: SQLite's shared in-memory test database cannot take concurrent writers)."""
    if not OrgUnit.objects.filter(code="C080101").exists():  # flushed by an earlier transactional test
        call_command("demo_data", scale="small", seed=1, no_progress=True, verbosity=0)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def batches(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for j in range(8):
                # Each batch on new summary keys (its own day): the rebuild's recount must not race their inserts.
                day = (R.yesterday() - timedelta(days=1000 + 10 * i + j)).isoformat()
                ingest(actor=None, source=R.SOURCE, rows=R.numbered(f"RB{i}{j}", range(1, 81), closed_on=day))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def rebuilds() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(10):
                rebuild_summary()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=batches, args=(i,)) for i in range(3)] + [threading.Thread(target=rebuilds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert Closing.objects.filter(external_id__startswith="RB").count() == 3 * 8 * 80
    assert summary_differences() == []
