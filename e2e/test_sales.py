"""Browser journey through closings (issue 5's acceptance): on a phone, the branch head uploads a
closings file with one bad row, reads the report (the bad line and the rule it broke), opens the
branch's attribution page and sees the Sales Team bar and amount grow by what was uploaded. The
assertions are on what the user sees, plus the few database facts the journey promises."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.conftest import TIMEOUT_MS, login

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
BRANCH = "C080101"
PINCA = "pinca.c080101"
ME = "me.c080101.1"
BATCH_PAGE = re.compile(r"/penjualan/batch/(\d+)/$")


@pytest.fixture
def phone(browser: Any, live_server: Any, demo_network: None) -> Iterator[Any]:
    ctx = browser.new_context(base_url=live_server.url, locale="id-ID", viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


def closings_file(path: Path) -> tuple[Path, Decimal]:
    """Two good rows (a BtoC Sales Team closing and a BtoB one) and, between them on line 3, a BtoB
    row naming an ME who does not manage the institution (rule BTOB_ME)."""
    from institutions.models import Institution
    from sales.ingest import COLUMNS

    inst = Institution.objects.live().filter(branch__code=BRANCH, me__username=ME).order_by("id").first()
    assert inst is not None
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    sales_amount = Decimal(7_250_000)
    rows = [
        {
            "external_id": "E2E-BTOC-1",
            "closed_on": day,
            "branch": BRANCH,
            "product": "GADAI_KCA",
            "amount": str(sales_amount),
            "scheme": "BTOC",
            "channel": "SALES_TEAM",
            "initiator_kind": "SALES",
            "initiator": "sales.c080101.1",
            "new_customer": "ya",
            "customer_ref": "3171012345678901",
        },
        {
            "external_id": "E2E-BTOB-BAD",
            "closed_on": day,
            "branch": BRANCH,
            "product": "TABUNGAN_EMAS",
            "amount": "1000000",
            "grams": "0.5",
            "scheme": "BTOB",
            "channel": "BTOB_LAINNYA",
            "initiator_kind": "ME",
            "initiator": PINCA,
            "institution": str(inst.pk),
        },
        {
            "external_id": "E2E-BTOB-1",
            "closed_on": day,
            "branch": BRANCH,
            "product": "TABUNGAN_EMAS",
            "amount": "1000000",
            "grams": "0.5",
            "scheme": "BTOB",
            "channel": "BTOB_LAINNYA",
            "initiator_kind": "ME",
            "initiator": ME,
            "institution": str(inst.pk),
        },
    ]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(COLUMNS))
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in COLUMNS})
    path.write_text(out.getvalue(), encoding="utf-8")
    return path, sales_amount


def rupiah(text: str) -> Decimal:
    return Decimal(re.sub(r"\D", "", text) or 0)


def sales_team(page: Any) -> tuple[Decimal, Decimal]:
    """The Sales Team channel's amount in the table, and the value its chart bar carries."""
    cell = page.locator("table.attribution tr[data-channel=SALES_TEAM] td").nth(2)
    bar = page.locator('svg.chart g.bar-row[data-label="Sales Team"]')
    amount = cell.inner_text().splitlines()[0]  # the share (72,2%) is on the line below
    return rupiah(amount), Decimal(bar.get_attribute("data-value") or 0)


def test_branch_head_uploads_closings_and_sees_the_attribution_change(phone: Any, tmp_path: Path) -> None:
    from org.models import OrgUnit
    from sales.models import Closing

    page = phone
    path, sales_amount = closings_file(tmp_path / "closing-cabang.csv")
    branch = OrgUnit.objects.get(code=BRANCH)
    day = timezone.localdate() - timedelta(days=1)
    attribution = f"/penjualan/cabang/{branch.pk}/atribusi/?from={day.replace(day=1).isoformat()}&to={day.isoformat()}"
    login(page, PINCA)

    # Before: the branch's attribution over the month of the closings.
    page.goto(attribution)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Atribusi closing")
    before_amount, before_bar = sales_team(page)
    assert before_amount == before_bar

    # The upload, from the closings list.
    page.goto("/penjualan/")
    page.get_by_role("link", name="Unggah closing").click()
    expect(page.get_by_label("Sumber data")).to_have_value("MANUAL")
    page.get_by_label("Berkas .xlsx atau .csv").set_input_files(path)
    with page.expect_navigation():
        page.get_by_role("button", name="Unggah", exact=True).click()
    assert BATCH_PAGE.search(page.url)

    # The report: two rows in, the bad line 3 with its rule.
    stats = page.locator("#batch-stats")
    expect(stats.locator("div").filter(has_text="Baru ditulis").locator("dd")).to_have_text("2")
    expect(stats.locator("div").filter(has_text="Bermasalah").locator("dd")).to_have_text("1")
    problem = page.locator("table.batch-problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(0)).to_have_text("3")
    expect(problem.locator("td").nth(4)).to_have_text("BTOB_ME")
    expect(problem.locator("td").nth(3)).to_contain_text("bukan ME pengelola lembaga ini")
    expect(page.get_by_role("link", name="Unduh laporan (CSV)")).to_be_visible()
    assert set(Closing.objects.filter(external_id__startswith="E2E-").values_list("external_id", flat=True)) == {
        "E2E-BTOC-1",
        "E2E-BTOB-1",
    }
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert no_overflow, "the batch page scrolls sideways at 390 px"

    # The branch's attribution: from the report's link, then over the same period as before.
    with page.expect_navigation():
        page.locator("#batch-stats ~ p a", has_text=branch.name).first.click()
    expect(page.locator("svg.chart[role=img]")).to_be_visible()
    page.goto(attribution)
    after_amount, after_bar = sales_team(page)
    assert after_amount - before_amount == sales_amount
    assert after_bar - before_bar == sales_amount
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
