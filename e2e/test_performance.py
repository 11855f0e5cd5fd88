"""Browser journey through performance (issue 6's acceptance): the DBA opens "Kinerja" (the area's
dashboard, then a branch's), applies the recommended ME placement in two steps (choose, confirm), the
head of the branch that receives the ME gives them a task, and the ME, on a phone, finds the task
in "Hari ini". The assertions are on what each user sees, plus the database facts the journey
promises (the ME's open placement, the decision, the task).

Full-page screenshots of the key steps go to ``screenshots/`` (git-ignored), named
``journey-performance-*.png``, for looking at them after a run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from e2e.conftest import TIMEOUT_MS, login, logout, path_is

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
TASK_PAGE = re.compile(r"/kinerja/tugas/(\d+)/")
OBJECTIVE = "Jadwalkan audiensi perkenalan dengan kepala sekolah binaan baru"
KPI_LABEL = "Audiensi terlaksana"


@pytest.fixture
def phone(browser: Any, live_server: Any, demo_network: None) -> Iterator[Any]:
    """A page in a phone-sized, touch-enabled context."""
    ctx = browser.new_context(base_url=live_server.url, locale="id-ID", viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"journey-performance-{name}.png"), full_page=True)


def name_of(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def nav(page: Any, label: str) -> None:
    with page.expect_navigation():
        page.locator("nav.mainnav").get_by_role("link", name=label, exact=True).click()


def recommended_move() -> tuple[Any, Any, Any, Any]:
    """The first area of the small demo (by code) whose recommendation moves an ME: (area, me, source, target)."""
    from org.models import OrgUnit, UnitKind
    from performance.placement import recommend

    for area in OrgUnit.objects.filter(kind=UnitKind.AREA).order_by("code"):
        moves = recommend(area).moves
        if moves:
            m = moves[0]
            return area, m.me, m.source, m.target
    pytest.fail("the small demo should recommend at least one ME move in some area")


def test_dba_places_an_me_the_branch_head_gives_a_task_and_the_me_sees_it(page: Any, phone: Any) -> None:
    from org.access import current_branch_of
    from org.models import Placement
    from performance.models import PlacementDecision, Task

    area, me, source, target = recommended_move()
    dba = f"dba.{area.code.lower()}"
    pinca = f"pinca.{target.code.lower()}"
    move_text = f"{source.name} → {target.name}"
    decisions_before = PlacementDecision.objects.filter(area=area).count()

    # 1. The DBA: "Kinerja" lands on the area's dashboard; a branch in the child table opens its own.
    login(page, dba)
    nav(page, "Kinerja")
    assert urlsplit(page.url).path == f"/kinerja/unit/{area.pk}/"
    expect(page.get_by_role("heading", level=1)).to_contain_text(area.name)
    cards = page.locator("ul.dash-cards > li.dash-card")
    expect(cards.first).to_be_visible()
    expect(cards.first.locator(".dash-figure")).to_have_text(re.compile(r"\d"))
    matrix = page.locator("table.dash-matrix")
    expect(matrix.locator("tbody th[scope=row] a")).to_have_count(area.children.filter(is_active=True).count())
    shot(page, "1-area-dashboard")
    with page.expect_navigation():
        matrix.locator("tbody th[scope=row]").get_by_role("link", name=target.name, exact=True).click()
    assert urlsplit(page.url).path == f"/kinerja/unit/{target.pk}/"
    expect(page.get_by_role("heading", level=1)).to_contain_text(target.name)
    expect(page.locator("nav.crumbs").get_by_role("link", name=area.name)).to_be_visible()
    shot(page, "2-branch-dashboard")

    # 2. The area's placement: tick the recommended move, confirm, applied.
    page.goto(f"/kinerja/penempatan/{area.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Penempatan ME")
    box = page.get_by_role("checkbox", name=f"{name_of(me)}: {move_text}")
    box.check()
    expect(box).to_be_checked()
    page.get_by_label("Alasan").fill("Penyesuaian beban sesuai rekomendasi")
    shot(page, "3-placement")
    with page.expect_navigation():
        page.get_by_role("button", name="Lanjut ke konfirmasi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Terapkan penempatan ini?")
    listed = page.locator("#confirmation ul.agenda > li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(name_of(me))
    expect(listed).to_contain_text(move_text)
    # Nothing is written before the confirmation.
    assert current_branch_of(me) == source
    assert PlacementDecision.objects.filter(area=area).count() == decisions_before
    shot(page, "4-placement-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Ya, terapkan").click()
    page.wait_for_url(path_is(f"/kinerja/penempatan/{area.pk}/"))
    expect(page.locator("ul.messages")).to_contain_text("Penempatan diterapkan")
    expect(page.locator("ul.messages")).to_contain_text(name_of(me))
    shot(page, "5-placement-applied")

    open_placement = Placement.objects.get(user=me, valid_to__isnull=True)
    assert open_placement.branch_id == target.pk
    assert open_placement.valid_from == timezone.localdate()
    decision = PlacementDecision.objects.filter(area=area).latest("id")
    assert PlacementDecision.objects.filter(area=area).count() == decisions_before + 1
    assert [(m["me"], m["from"], m["to"]) for m in decision.moves] == [(me.username, source.code, target.code)]
    logout(page)

    # 3. The head of the receiving branch gives the newly placed ME a task.
    login(page, pinca)
    page.goto("/kinerja/tugas/")
    with page.expect_navigation():
        page.get_by_role("link", name="Tugas baru", exact=True).click()
    assert urlsplit(page.url).path == "/kinerja/tugas/baru/"
    page.get_by_label("Marketing Executive").select_option(label=name_of(me))
    page.get_by_label("Tujuan").fill(OBJECTIVE)
    due = timezone.localdate() + timedelta(days=7)
    page.get_by_label("Tenggat").fill(due.isoformat())
    page.get_by_label("KPI yang didukung").select_option(label=KPI_LABEL)
    shot(page, "6-task-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Berikan tugas").click()
    assert TASK_PAGE.fullmatch(urlsplit(page.url).path), f"not on a task page: {page.url}"
    expect(page.locator("ul.messages")).to_contain_text(name_of(me))
    task = Task.objects.get(objective=OBJECTIVE)
    assert (task.me_id, task.branch_id, task.due_on, task.kpi) == (me.pk, target.pk, due, "audiences_held")
    page.goto("/kinerja/tugas/")
    row = page.locator("table.tasks tbody tr").filter(has_text=OBJECTIVE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(name_of(me))
    expect(row).to_contain_text(due.strftime("%d-%m-%Y"))
    shot(page, "7-task-list")

    # 4. The ME, on a phone: the task is in "Hari ini".
    login(phone, me.username)
    nav(phone, "Hari ini")
    assert urlsplit(phone.url).path == "/aktivitas/hari-ini/"
    tasks = phone.locator("section#tasks")
    expect(tasks.get_by_role("heading", level=2)).to_contain_text("Tugas")
    item = tasks.locator("ul.agenda > li").filter(has_text=OBJECTIVE)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(KPI_LABEL)
    expect(item.get_by_role("link", name=OBJECTIVE)).to_have_attribute("href", f"/kinerja/tugas/{task.pk}/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "Hari ini scrolls sideways at 390 px"
    )
    shot(phone, "8-me-today-390")
