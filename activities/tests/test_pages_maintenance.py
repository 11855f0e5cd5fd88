"""Maintenance-plan pages: the list with its overdue visits per role, the plan
form and its refusals, a plan with its visits, ending and reassigning it,
fixed query counts. Data is made through the services (activities.tests.factories)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities import schedule, selectors, services
from activities.models import Frequency, MaintenancePlan, MaintenanceVisit, PlanStatus, VisitStatus
from activities.tests import factories as f
from control.models import AuditEvent
from institutions.models import Stage
from org.models import OrgUnit

pytestmark = pytest.mark.django_db

LIST = "/aktivitas/maintenance/"
NEW = "/aktivitas/maintenance/baru/"


@pytest.fixture(autouse=True)
def _clean() -> None:
    f.clear_branch_work("C080101", "C080102", "C100101")


@pytest.fixture
def today() -> date:
    return timezone.localdate()


def _executed(me: str = "me.c080101.1", branch: str = "C080101", **extra: Any) -> Any:
    return f.institution_for(me, stage=Stage.EKSEKUSI, branch=branch, **extra)


def _weekly_with_two_overdue(inst: Any, today: date, **extra: Any) -> MaintenancePlan:
    """Weekly from three weeks ago, 7 days' grace: the visits of 21 and 14 days
    ago are overdue, the one of 7 days ago is still within its grace."""
    return f.plan(inst, starts_on=today - timedelta(days=21), today=today, frequency=Frequency.WEEKLY, **extra)


def _plan_elsewhere(code: str, name: str, today: date) -> MaintenancePlan:
    """A plan in another branch, for its own first ME (made by the system)."""
    branch = OrgUnit.objects.get(code=code)
    place = {"province_code": "32", "regency_code": "32.73"} if code.startswith("C10") else {}
    inst = f.institution_for(selectors.mes_of_branch(branch)[0], stage=Stage.EKSEKUSI, branch=code, name=name, **place)
    return services.plan_create(actor=None, institution=inst, starts_on=today, today=today)


def _page(client: Any, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, url
    return r.content.decode()


# --- The list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "sees"),
    [
        ("me.c080101.1", {"own"}),
        ("pinca.c080101", {"own", "other_me"}),
        ("sales.c080101.1", {"own", "other_me"}),
        ("kry.c080101", {"own", "other_me"}),
        ("dba.a0801", {"own", "other_me", "same_area"}),
        ("wil.w08", {"own", "other_me", "same_area"}),
        ("pusat", {"own", "other_me", "same_area", "other_region"}),
        ("auditor", {"own", "other_me", "same_area", "other_region"}),
    ],
)
def test_list_shows_the_plans_in_scope(client_for: Any, today: date, username: str, sees: set[str]) -> None:
    plans = {
        "own": f.plan(_executed(name="Koperasi Pegawai Kalideres"), starts_on=today, today=today),
        "other_me": f.plan(_executed("me.c080101.2", name="Yayasan Cahaya Kalideres"), starts_on=today, today=today),
        "same_area": _plan_elsewhere("C080102", "Paguyuban Ojek Cengkareng", today),
        "other_region": _plan_elsewhere("C100101", "Politeknik Kota Bandung", today),
    }
    c = client_for(username)
    page = _page(c, LIST)
    for key, plan in plans.items():
        assert (plan.institution.name in page) is (key in sees), key
    # An ME's list opens on their own plans, but the branch's others are in scope.
    readable = sees | ({"other_me"} if username.startswith("me.") else set())
    for key, plan in plans.items():
        assert c.get(f"{LIST}{plan.pk}/").status_code == (200 if key in readable else 404), key


def test_me_sees_own_plans_first_and_the_whole_branch_on_request(client_for: Any, today: date) -> None:
    mine = f.plan(_executed(name="Koperasi Pegawai Kalideres"), starts_on=today, today=today)
    theirs = f.plan(_executed("me.c080101.2", name="Yayasan Cahaya Kalideres"), starts_on=today, today=today)
    c = client_for("me.c080101.1")
    page = _page(c, LIST)
    assert mine.institution.name in page and theirs.institution.name not in page
    page = _page(c, LIST + "?semua=1")
    assert mine.institution.name in page and theirs.institution.name in page


def test_agent_gets_no_plans(client_for: Any, today: date) -> None:
    plan = f.plan(_executed(), starts_on=today, today=today)
    c = client_for("agen.c080101")
    assert c.get(LIST).status_code == 403
    assert c.get(f"{LIST}{plan.pk}/").status_code == 404


@pytest.mark.parametrize("username", ["me.c080101.1", "pinca.c080101"])
def test_overdue_visits_are_flagged_on_the_me_and_branch_head_pages(
    client_for: Any, today: date, username: str
) -> None:
    late = _weekly_with_two_overdue(_executed(name="Zeta Koperasi Terlambat"), today)
    fine = f.plan(_executed(name="Alfa Koperasi Tepat Waktu"), starts_on=today, today=today)
    overdue = list(late.visits.filter(status=VisitStatus.PLANNED, overdue_on__lte=today).order_by("due_on"))
    assert [v.due_on for v in overdue] == [today - timedelta(days=21), today - timedelta(days=14)]
    page = _page(client_for(username), LIST)
    assert "Kunjungan maintenance terlambat" in page
    flagged = page[page.index('id="terlambat"') : page.index("rencana aktif")]
    assert late.institution.name in flagged and fine.institution.name not in flagged
    # One line for the plan: how many are overdue, and since when.
    oldest = (today - timedelta(days=21)).strftime("%-d")
    assert "2 kunjungan terlambat" in flagged and "(21 hari)" in flagged and f"paling lama jadwal {oldest} " in flagged
    # The button records the latest overdue visit: that closes the earlier one as missed.
    assert f'{reverse("activities:log")}?visit={overdue[1].pk}"' in flagged
    assert f'?visit={overdue[0].pk}"' not in flagged
    # The plan with overdue visits comes first although its name sorts last.
    table = page[page.index("<table") :]
    assert table.index(late.institution.name) < table.index(fine.institution.name)
    assert "2 terlambat" in table


def test_a_branch_head_sees_the_overdue_visits_of_every_me(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed("me.c080101.2", name="Koperasi ME Kedua"), today)
    pinca = _page(client_for("pinca.c080101"), LIST)
    assert plan.institution.name in pinca[pinca.index('id="terlambat"') :]
    # The other ME's own page does not flag it; the ME responsible does.
    assert 'id="terlambat"' not in _page(client_for("me.c080101.1"), LIST)
    assert 'id="terlambat"' in _page(client_for("me.c080101.2"), LIST)


def test_wider_scopes_filter_by_branch_and_me(client_for: Any, today: date) -> None:
    a = f.plan(_executed(name="Koperasi Pegawai Kalideres"), starts_on=today, today=today)
    b = f.plan(_executed("me.c080101.2", name="Yayasan Cahaya Kalideres"), starts_on=today, today=today)
    c = client_for("dba.a0801")
    branch = a.branch_id
    page = _page(c, f"{LIST}?branch={branch}")
    assert a.institution.name in page and b.institution.name in page
    assert 'name="me"' in page  # a chosen branch offers its MEs
    page = _page(c, f"{LIST}?branch={branch}&me={a.me_id}")
    assert a.institution.name in page and b.institution.name not in page
    # Junk in the query string is ignored, not an error.
    assert _page(c, f"{LIST}?branch=abc&me=99999999999999999999999&page=x")


# --- One plan -----------------------------------------------------------------------------


def test_plan_page_flags_overdue_visits_and_links_the_activity_form(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed(), today)
    visits = list(plan.visits.filter(status=VisitStatus.PLANNED).order_by("due_on"))
    page = _page(client_for("me.c080101.1"), f"{LIST}{plan.pk}/")
    schedule_part = page[page.index('id="jadwal"') : page.index('id="riwayat"')]
    flags = [schedule.is_overdue(v.due_on, plan.grace_days, today) for v in visits]
    assert flags[:3] == [True, True, False]
    assert schedule_part.count("terlambat — ") == sum(flags) == 2
    for v in visits:
        assert f'{reverse("activities:log")}?visit={v.pk}"' in schedule_part
    # Each visit's own line: the two oldest flagged, the one of 7 days ago (within its grace) not.
    items = {v.pk: next(li for li in schedule_part.split("<li>") if f'?visit={v.pk}"' in li) for v in visits[:3]}
    assert "terlambat — 21 hari" in items[visits[0].pk] and "terlambat — 14 hari" in items[visits[1].pk]
    assert "terlambat" not in items[visits[2].pk]


def test_a_recorded_visit_links_its_activity(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed(), today)
    first = plan.visits.order_by("due_on").first()
    act = f.visit_done(first)
    first.refresh_from_db()
    assert first.status == VisitStatus.DONE
    page = _page(client_for("pinca.c080101"), f"{LIST}{plan.pk}/")
    history = page[page.index('id="riwayat"') :]
    assert reverse("activities:detail", args=[act.pk]) in history and "Dilaksanakan" in history
    schedule_part = page[page.index('id="jadwal"') : page.index('id="riwayat"')]
    assert f'?visit={first.pk}"' not in schedule_part
    assert schedule_part.count("terlambat — ") == 1


def test_readers_see_no_forms_or_buttons(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed(), today)
    for username in ("sales.c080101.1", "dba.a0801", "auditor", "me.c080101.2"):
        page = _page(client_for(username), f"{LIST}{plan.pk}/")
        assert "terlambat — " in page, username
        assert "Catat kunjungan" not in page, username
        assert reverse("activities:plan-end", args=[plan.pk]) not in page, username
        assert reverse("activities:plan-reassign", args=[plan.pk]) not in page, username


def test_the_me_may_end_but_not_reassign(client_for: Any, today: date) -> None:
    plan = f.plan(_executed(), starts_on=today, today=today)
    c = client_for("me.c080101.1")
    page = _page(c, f"{LIST}{plan.pk}/")
    assert reverse("activities:plan-end", args=[plan.pk]) in page
    assert reverse("activities:plan-reassign", args=[plan.pk]) not in page
    other = f.user("me.c080101.2")
    assert c.post(f"{LIST}{plan.pk}/alihkan/", {"me": other.pk}).status_code == 403
    plan.refresh_from_db()
    assert plan.me.username == "me.c080101.1"


def test_ending_a_plan_cancels_its_future_visits(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed(), today)
    future = set(plan.visits.filter(due_on__gte=today).values_list("pk", flat=True))
    assert len(future) > 5
    c = client_for("pinca.c080101")
    before = AuditEvent.objects.count()
    r = c.post(f"{LIST}{plan.pk}/akhiri/", {"reason": "Lembaga pindah ke cabang lain"}, follow=True)
    page = r.content.decode()
    assert "Rencana maintenance diakhiri" in page
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ENDED and plan.ends_on == today
    assert set(plan.visits.filter(status=VisitStatus.CANCELLED).values_list("pk", flat=True)) == future
    assert AuditEvent.objects.filter(action="maintenance.plan_end", object_id=str(plan.pk)).count() == 1
    assert AuditEvent.objects.count() == before + 1
    # On the page: the cancelled visits in the history, nothing left to record, no more forms.
    history = page[page.index('id="riwayat"') :]
    assert history.count("Dibatalkan") >= len(future)
    schedule_part = page[page.index('id="jadwal"') : page.index('id="riwayat"')]
    assert "Catat kunjungan" not in schedule_part
    assert reverse("activities:plan-end", args=[plan.pk]) not in page
    assert "Berakhir" in page and "Buat rencana baru" in page


def test_ending_needs_a_reason_and_happens_once(client_for: Any, today: date) -> None:
    plan = f.plan(_executed(), starts_on=today, today=today)
    c = client_for("me.c080101.1")
    before = AuditEvent.objects.count()
    page = c.post(f"{LIST}{plan.pk}/akhiri/", {"reason": "  "}, follow=True).content.decode()
    assert "Tuliskan alasannya." in page
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and AuditEvent.objects.count() == before
    page = c.post(f"{LIST}{plan.pk}/akhiri/", {"reason": "x", "ends_on": "bukan-tanggal"}, follow=True).content.decode()
    assert "tanggal" in page.lower()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    c.post(f"{LIST}{plan.pk}/akhiri/", {"reason": "Selesai"})
    page = c.post(f"{LIST}{plan.pk}/akhiri/", {"reason": "Lagi"}, follow=True).content.decode()
    assert "Rencana ini sudah berakhir." in page
    assert AuditEvent.objects.filter(action="maintenance.plan_end", object_id=str(plan.pk)).count() == 1


def test_the_branch_head_reassigns_a_plan_and_its_visits(client_for: Any, today: date) -> None:
    plan = _weekly_with_two_overdue(_executed(), today)
    other = f.user("me.c080101.2")
    c = client_for("pinca.c080101")
    page = _page(c, f"{LIST}{plan.pk}/")
    form = page[page.index(reverse("activities:plan-reassign", args=[plan.pk])) :]
    assert f'value="{other.pk}"' in form and f'value="{plan.me_id}"' not in form.split("</form>")[0]
    r = c.post(f"{LIST}{plan.pk}/alihkan/", {"me": other.pk}, follow=True)
    assert "dialihkan ke" in r.content.decode()
    plan.refresh_from_db()
    assert plan.me_id == other.pk
    assert not plan.visits.filter(status=VisitStatus.PLANNED).exclude(me=other).exists()
    assert AuditEvent.objects.filter(action="maintenance.plan_reassign", object_id=str(plan.pk)).exists()
    # The new ME's page now flags the overdue visits.
    assert plan.institution.name in _page(client_for("me.c080101.2"), LIST)


def test_reassign_refuses_someone_outside_the_branch(client_for: Any, today: date) -> None:
    plan = f.plan(_executed(), starts_on=today, today=today)
    outsider = selectors.mes_of_branch(OrgUnit.objects.get(code="C100101"))[0]
    page = (
        client_for("pinca.c080101").post(f"{LIST}{plan.pk}/alihkan/", {"me": outsider.pk}, follow=True).content.decode()
    )
    assert "Pilih ME dari cabang" in page
    plan.refresh_from_db()
    assert plan.me.username == "me.c080101.1"


# --- The form -----------------------------------------------------------------------------


def test_an_me_plans_for_an_executed_institution(client_for: Any, today: date) -> None:
    inst = _executed(name="Koperasi Karyawan Maju")
    c = client_for("me.c080101.1")
    page = _page(c, f"{NEW}?institution={inst.pk}")
    assert inst.name in page and "(Anda)" in page and 'name="me"' not in page
    assert 'name="grace_days"' in page and 'value="7"' in page
    r = c.post(
        f"{NEW}?institution={inst.pk}",
        {"frequency": "MONTHLY", "starts_on": today.isoformat(), "grace_days": "5", "notes": "Kunjungan rutin"},
    )
    plan = MaintenancePlan.objects.get(institution=inst)
    assert r.status_code == 302 and r["Location"] == reverse("activities:plan-detail", args=[plan.pk])
    assert plan.me.username == "me.c080101.1" and plan.grace_days == 5 and plan.created_by.username == "me.c080101.1"
    assert plan.visits.filter(status=VisitStatus.PLANNED).count() >= 4
    assert AuditEvent.objects.filter(action="maintenance.plan_create", object_id=str(plan.pk)).count() == 1


def test_the_branch_head_picks_the_institution_and_the_me(client_for: Any, today: date) -> None:
    ready = _executed(name="Koperasi Siap Dipelihara")
    maint = _executed("me.c080101.2", name="Yayasan Tahap Maintenance")
    f.set_stage(maint, Stage.MAINTENANCE)
    early = f.institution_for("me.c080101.1", name="Sekolah Masih Identifikasi")
    planned = _executed(name="Koperasi Sudah Berencana")
    f.plan(planned, starts_on=today, today=today)
    c = client_for("pinca.c080101")
    page = _page(c, NEW)
    picker = page[page.index('name="institution"') : page.index("</select>", page.index('name="institution"'))]
    assert ready.name in picker and maint.name in picker
    assert early.name not in picker and planned.name not in picker
    me_picker = page[page.index('name="me"') : page.index("</select>", page.index('name="me"'))]
    for username in ("me.c080101.1", "me.c080101.2"):
        assert f'value="{f.user(username).pk}"' in me_picker
    other = f.user("me.c080101.2")
    r = c.post(
        NEW,
        {
            "institution": ready.pk,
            "me": other.pk,
            "frequency": "BIWEEKLY",
            "starts_on": today.isoformat(),
            "grace_days": "7",
        },
    )
    assert r.status_code == 302
    plan = MaintenancePlan.objects.get(institution=ready)
    assert plan.me_id == other.pk and plan.frequency == Frequency.BIWEEKLY


def test_an_me_cannot_plan_for_another_mes_institution(client_for: Any) -> None:
    theirs = _executed("me.c080101.2")
    c = client_for("me.c080101.1")
    assert c.get(f"{NEW}?institution={theirs.pk}").status_code == 403
    assert c.post(f"{NEW}?institution={theirs.pk}", {"frequency": "MONTHLY"}).status_code == 403
    # The picker leaves it out too.
    assert theirs.name not in _page(c, NEW)


@pytest.mark.parametrize(("username", "status"), [("dba.a0801", 403), ("sales.c080101.1", 403), ("pusat", 403)])
def test_who_may_not_plan(client_for: Any, username: str, status: int) -> None:
    inst = _executed()
    c = client_for(username)
    assert c.get(NEW).status_code == status
    assert c.get(f"{NEW}?institution={inst.pk}").status_code == status


def test_out_of_scope_or_junk_institution_is_404(client_for: Any, today: date) -> None:
    other = _plan_elsewhere("C100101", "Politeknik Kota Bandung", today).institution
    c = client_for("pinca.c080101")
    for value in (other.pk, "abc", "99999999999999999999999", "-1"):
        assert c.get(f"{NEW}?institution={value}").status_code == 404, value


def test_refused_for_an_institution_not_executed_yet(client_for: Any, today: date) -> None:
    inst = f.institution_for("me.c080101.1", name="Koperasi Baru Dikenal")
    c = client_for("me.c080101.1")
    assert "masih di tahap Identifikasi" in _page(c, f"{NEW}?institution={inst.pk}")
    before = AuditEvent.objects.count()
    r = c.post(
        f"{NEW}?institution={inst.pk}", {"frequency": "MONTHLY", "starts_on": today.isoformat(), "grace_days": "7"}
    )
    assert r.status_code == 200
    assert "Rencana maintenance hanya untuk lembaga di tahap Eksekusi atau Maintenance" in r.content.decode()
    assert not MaintenancePlan.objects.filter(institution=inst).exists()
    assert not MaintenanceVisit.objects.filter(institution=inst).exists()
    assert AuditEvent.objects.count() == before


def test_refused_when_an_active_plan_exists(client_for: Any, today: date) -> None:
    inst = _executed()
    plan = f.plan(inst, starts_on=today, today=today)
    visits = plan.visits.count()
    c = client_for("pinca.c080101")
    page = _page(c, f"{NEW}?institution={inst.pk}")
    assert "sudah punya rencana maintenance yang aktif" in page
    assert reverse("activities:plan-detail", args=[plan.pk]) in page
    r = c.post(
        f"{NEW}?institution={inst.pk}",
        {"me": inst.me_id, "frequency": "WEEKLY", "starts_on": today.isoformat(), "grace_days": "7"},
    )
    assert r.status_code == 200 and "Lembaga ini sudah punya rencana maintenance yang aktif." in r.content.decode()
    assert MaintenancePlan.objects.filter(institution=inst).count() == 1
    assert MaintenanceVisit.objects.filter(institution=inst).count() == visits


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grace_days": "90"}, "lebih kecil dari atau sama dengan 60"),
        ({"starts_on": ""}, "Bidang ini harus diisi."),
        ({"ends_on": "2000-01-01"}, "Tanggal berakhir harus setelah tanggal mulai."),
        ({"frequency": "DAILY"}, "Masukkan pilihan yang valid."),
    ],
)
def test_bad_input_is_shown_and_nothing_is_written(
    client_for: Any, today: date, data: dict[str, str], message: str
) -> None:
    inst = _executed()
    post = {"frequency": "MONTHLY", "starts_on": today.isoformat(), "grace_days": "7", **data}
    r = client_for("me.c080101.1").post(f"{NEW}?institution={inst.pk}", post)
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not MaintenancePlan.objects.filter(institution=inst).exists()


# --- Query counts -----------------------------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries)


def _plans(n: int, today: date, start: int = 0) -> None:
    mes = ("me.c080101.1", "me.c080101.2")
    for i in range(start, start + n):
        inst = _executed(mes[i % 2], name=f"Koperasi Uji Beban Nomor {i:03d}")
        _weekly_with_two_overdue(inst, today)


@pytest.mark.parametrize("username", ["pinca.c080101", "me.c080101.1", "dba.a0801", "pusat"])
def test_list_query_count_does_not_grow(client_for: Any, today: date, username: str) -> None:
    c = client_for(username)
    _plans(5, today)
    small = _queries(c, LIST)
    _plans(25, today, start=5)
    assert _queries(c, LIST) == small


def test_plan_page_query_count_does_not_grow(client_for: Any, today: date) -> None:
    c = client_for("pinca.c080101")
    short = _weekly_with_two_overdue(_executed(), today)
    long = f.plan(_executed(), starts_on=today - timedelta(days=360), today=today, frequency=Frequency.WEEKLY)
    for v in long.visits.filter(due_on__lt=today - timedelta(days=30))[:20]:
        f.visit_done(v)
    assert _queries(c, f"{LIST}{short.pk}/") == _queries(c, f"{LIST}{long.pk}/")


def test_overdue_lines_are_capped_per_plan_with_exact_counts(client_for: Any, today: date) -> None:
    _plans(17, today)
    page = _page(client_for("pinca.c080101"), LIST)
    flagged = page[page.index('id="terlambat"') : page.index("rencana aktif")]
    assert flagged.count("<li>") == 15
    assert flagged.count("2 kunjungan terlambat") == 15
    assert '<span class="tag danger">34</span>' in flagged  # every overdue visit counted in the heading
    assert "Ditampilkan 15 rencana dengan kunjungan terlambat paling lama" in flagged
