"""The performance dashboards (Pusat, Wilayah, Area, Cabang), the ME scorecard
and the ME evaluation: real numbers from closings written through
``sales.ingest``, drill-down links, a fixed query count, the .xlsx export, and
who may evaluate (the branch's Pinca) and read (the DBA) an evaluation."""

from __future__ import annotations

import io
import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from org.models import OrgUnit, Placement, User
from performance import services
from performance.models import MeEvaluation
from performance.periods import Period
from sales import ingest

pytestmark = pytest.mark.django_db

BRANCH, OTHER_BRANCH, FAR_BRANCH = "C080101", "C080102", "C100101"
ME = "me.c080101.1"
PINCA = "pinca.c080101"
DBA = "dba.a0801"
# A month long before any demo data: the figures on screen are these tests' own.
DAY = date(2005, 6, 15)
PERIOD = "2005-06"
_serial = itertools.count(1)


def put(rows: list[dict[str, Any]]) -> None:
    out = ingest.ingest(actor=User.objects.get(username="admin"), source="MANUAL", rows=rows, via="api")
    assert not out.problems, out.problems


def closing(branch: str, amount: str, **over: Any) -> dict[str, Any]:
    row = {
        "external_id": f"DASH-{next(_serial)}",
        "closed_on": DAY.isoformat(),
        "branch": branch,
        "product": "GADAI_KCA",
        "amount": amount,
        "scheme": "BTOC",
        "channel": "DIGITAL",
        "initiator_kind": "DIGITAL",
    }
    return {**row, **over}


def me_closing(amount: str) -> dict[str, Any]:
    from institutions.models import Institution

    inst = Institution.objects.live().filter(branch__code=BRANCH, me__username=ME).order_by("id").first()
    assert inst is not None, "demo data: an institution of me.c080101.1"
    return closing(
        BRANCH,
        amount,
        product="TABUNGAN_EMAS",
        grams="0.5",
        scheme="BTOB",
        channel="BTOB_LAINNYA",
        initiator_kind="ME",
        initiator=ME,
        institution=str(inst.pk),
        new_customer="tidak",
    )


@pytest.fixture
def sales_2005() -> None:
    """C080101: 2.500.000 + an ME's 1.000.000; C080102: 700.000; C100101 (another Wilayah): 1.300.000."""
    put(
        [
            closing(BRANCH, "2500000"),
            me_closing("1000000"),
            closing(OTHER_BRANCH, "700000"),
            closing(FAR_BRANCH, "1300000"),
        ]
    )


def dashboard(client: Any, code: str, query: str = f"period={PERIOD}") -> Any:
    unit = OrgUnit.objects.get(code=code)
    return client.get(f"/kinerja/unit/{unit.pk}/?{query}")


# --- Home and menu --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "where"),
    [("pusat", "unit:PST"), ("wil.w08", "unit:W08"), (DBA, "unit:A0801"), (PINCA, "unit:C080101"), (ME, "me")],
)
def test_home_lands_on_the_right_dashboard(client_for: Any, username: str, where: str) -> None:
    r = client_for(username).get("/kinerja/")
    assert r.status_code == 302
    if where == "me":
        assert r["Location"] == f"/kinerja/me/{User.objects.get(username=ME).pk}/"
    else:
        code = where.split(":")[1]
        unit = OrgUnit.objects.get(code=code) if code != "PST" else OrgUnit.objects.get(parent__isnull=True)
        assert r["Location"] == f"/kinerja/unit/{unit.pk}/"


def test_home_refuses_roles_without_dashboards(client_for: Any) -> None:
    assert client_for("sales.c080101.1").get("/kinerja/").status_code == 403


@pytest.mark.parametrize(("username", "shown"), [(PINCA, True), (ME, True), ("sales.c080101.1", False)])
def test_menu_entry(client_for: Any, username: str, shown: bool) -> None:
    r = client_for(username).get("/")
    assert (b'href="/kinerja/"' in r.content) is shown


# --- Unit dashboards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "code", "amount", "child_link"),
    [
        ("pusat", None, "Rp 5.500.000", "W08"),
        ("wil.w08", "W08", "Rp 4.200.000", "A0801"),
        (DBA, "A0801", "Rp 4.200.000", BRANCH),
        (PINCA, BRANCH, "Rp 3.500.000", None),
    ],
)
def test_dashboard_shows_the_figures_and_drills_down(
    client_for: Any, sales_2005: None, username: str, code: str | None, amount: str, child_link: str | None
) -> None:
    c = client_for(username)
    unit = OrgUnit.objects.get(code=code) if code else OrgUnit.objects.get(parent__isnull=True)
    r = c.get(f"/kinerja/unit/{unit.pk}/?period={PERIOD}&kpi=closing_amount")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'title="{amount}"' in html, f"{amount} on the {unit.code} dashboard"
    # Every chart is an accessible SVG with a table beside it; the KPI formula is on hover.
    assert html.count('role="img"') >= 4
    assert "<title>" in html and "Lihat sebagai tabel" in html
    assert 'title="Jumlah nilai (Rp) closing menurut tanggal closing; per skema dan kanal."' in html
    assert f'href="/kinerja/unit/{unit.pk}/xlsx/?period={PERIOD}"' in html
    if child_link:
        child = OrgUnit.objects.get(code=child_link)
        assert f'href="/kinerja/unit/{child.pk}/' in html, "each child links to its own dashboard"


def test_area_dashboard_children_and_mix(client_for: Any, sales_2005: None) -> None:
    r = dashboard(client_for(DBA), "A0801")
    children = {row["code"]: row for row in r.context["children"]}
    assert children[BRANCH]["line"]["closing_amount"].shown == Decimal(3500000)
    assert children[OTHER_BRANCH]["line"]["closing_amount"].shown == Decimal(700000)
    mix = {(m["scheme"], m["channel"]): m for m in r.context["mix"]["rows"]}
    assert mix[("BtoC one to one", "Pegadaian Digital Service")]["amount"] == "Rp 3.200.000"
    assert mix[("BtoB one to many", "BtoB lainnya")]["amount"] == "Rp 1.000.000"
    # Breadcrumbs climb only as far as the DBA's scope.
    assert [u.code for u in r.context["crumbs"]] == []
    r = dashboard(client_for("wil.w08"), BRANCH)
    assert [u.code for u in r.context["crumbs"]] == ["W08", "A0801"]


def test_branch_dashboard_target_and_me_rows(client_for: Any, sales_2005: None, get_user: Any, unit: Any) -> None:
    services.targets_set(
        actor=get_user(DBA),
        kpi="closing_count",
        period=Period(date(2005, 6, 1), "M"),
        rows=[services.TargetRow(unit(BRANCH), None, Decimal(4))],
    )
    r = dashboard(client_for(PINCA), BRANCH)
    card = next(c for c in r.context["cards"] if c["kpi"].code == "closing_count")
    assert (card["raw"], card["target"], card["of_target"]) == (Decimal(2), "4", "50,0%")
    assert "50,0%" in r.content.decode()
    # The current month: the branch's MEs link to their scorecards, beside what no ME initiated.
    r = dashboard(client_for(PINCA), BRANCH, query="")
    html = r.content.decode()
    me = get_user(ME)
    assert f'href="/kinerja/me/{me.pk}/' in html
    assert "Tanpa ME" in html


def test_dashboard_junk_parameters_do_not_fail(client_for: Any) -> None:
    r = dashboard(client_for(DBA), "A0801", query="period=kemarin&as_of=2099-99-99&kpi=%3Cscript%3E")
    assert r.status_code == 200
    assert r.context["chosen"].code == "closing_amount"


def test_dashboard_refuses_a_unit_without_a_dashboard(client_for: Any) -> None:
    work_unit = OrgUnit.objects.get(code="UK-BK")
    assert client_for("pusat").get(f"/kinerja/unit/{work_unit.pk}/").status_code == 404


def _queries(client: Any, code: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert dashboard(client, code, query="period=2005").status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_children(client_for: Any, unit: Any) -> None:
    from org.models import UnitKind
    from org.services import unit_create

    c = client_for("pusat")
    _queries(c, "A0801")  # warm caches (content types, sessions)
    few = _queries(c, "A0801")
    area = unit("A0801")
    before = OrgUnit.objects.filter(parent=area, kind=UnitKind.CABANG, is_active=True).count()
    for i in range(3):
        unit_create(actor=None, parent=area, kind=UnitKind.CABANG, code=f"C0801Z{i}", name=f"Cabang Uji {i}")
    assert OrgUnit.objects.filter(parent=area, kind=UnitKind.CABANG, is_active=True).count() == before + 3
    many = _queries(c, "A0801")
    assert many == few


def test_branch_query_count_does_not_grow_with_mes(client_for: Any) -> None:
    c = client_for("pusat")
    counts = {}
    for code in (BRANCH, OTHER_BRANCH, BRANCH):
        counts[code] = _queries(c, code)
    mes = {code: Placement.objects.filter(branch__code=code, valid_to__isnull=True).count() for code in counts}
    assert counts[BRANCH] == counts[OTHER_BRANCH], mes


# --- Export ------------------------------------------------------------------------------------


def test_xlsx_holds_the_child_table_and_the_mix(client_for: Any, sales_2005: None) -> None:
    from openpyxl import load_workbook

    area = OrgUnit.objects.get(code="A0801")
    r = client_for(DBA).get(f"/kinerja/unit/{area.pk}/xlsx/?period={PERIOD}")
    assert r.status_code == 200
    assert r["Content-Disposition"] == f'attachment; filename="kinerja-A0801-{PERIOD}.xlsx"'
    wb = load_workbook(io.BytesIO(r.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    amounts = {row[0]: row[3] for row in rows[3:] if row[2] == "Nilai closing"}
    assert amounts["A0801"] == 4200000
    assert amounts[BRANCH] == 3500000
    assert amounts[OTHER_BRANCH] == 700000
    mix = {(row[0], row[1]): row[2] for row in wb.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert mix[("BTOC", "DIGITAL")] == 3200000


def test_xlsx_is_scoped(client_for: Any) -> None:
    far = OrgUnit.objects.get(code="A1001") if OrgUnit.objects.filter(code="A1001").exists() else None
    far = far or OrgUnit.objects.get(code=FAR_BRANCH)
    assert client_for(DBA).get(f"/kinerja/unit/{far.pk}/xlsx/").status_code == 404
    own = OrgUnit.objects.get(code=BRANCH)
    assert client_for(ME).get(f"/kinerja/unit/{own.pk}/xlsx/").status_code == 403


# --- ME scorecard and evaluation ----------------------------------------------------------------------


@pytest.mark.parametrize("username", [ME, PINCA, DBA, "wil.w08", "pusat", "auditor"])
def test_scorecard_shows_the_me_figures(client_for: Any, sales_2005: None, get_user: Any, username: str) -> None:
    me = get_user(ME)
    r = client_for(username).get(f"/kinerja/me/{me.pk}/?period={PERIOD}")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'title="Rp 1.000.000"' in html, "the ME's own closing"
    assert 'role="img"' in html
    # Only the branch's Pinca gets the evaluation form.
    assert ("Simpan evaluasi" in html) is (username == PINCA)


def test_scorecard_is_scoped(client_for: Any, get_user: Any) -> None:
    me = get_user(ME)
    assert client_for("pinca.c080102").get(f"/kinerja/me/{me.pk}/").status_code == 404
    assert client_for("me.c080101.2").get(f"/kinerja/me/{me.pk}/").status_code == 404
    assert client_for("sales.c080101.1").get(f"/kinerja/me/{me.pk}/").status_code == 404


def test_scorecard_tasks_completion_and_overdue(client_for: Any, get_user: Any) -> None:
    from performance.models import Task, TaskStatus

    me, pinca = get_user(ME), get_user(PINCA)
    today = timezone.localdate()
    done = services.task_assign(actor=pinca, me=me, objective="Audiensi Koperasi Uji", due_on=today)
    services.task_assign(actor=pinca, me=me, objective="Sosialisasi Sekolah Uji", due_on=today)
    Task.objects.filter(pk=done.pk).update(status=TaskStatus.DONE)
    late = services.task_assign(actor=pinca, me=me, objective="Tugas Lama Uji", due_on=today)
    Task.objects.filter(pk=late.pk).update(due_on=Period.of(today).start.replace(year=today.year - 1))
    r = client_for(PINCA).get(f"/kinerja/me/{me.pk}/")
    assert Task.objects.get(pk=late.pk) in r.context["overdue_tasks"]
    assert "Tugas Lama Uji" in r.content.decode()
    total, finished = r.context["tasks_total"], r.context["tasks_done"]
    assert finished >= 1 and total >= 2


def _post(client: Any, me: User, **over: Any) -> Any:
    data = {"period": Period.of(timezone.localdate()).code, "rating": "4", "notes": "Aktif menjangkau koperasi."}
    return client.post(f"/kinerja/me/{me.pk}/evaluasi/", {**data, **over})


def test_pinca_evaluates_and_the_dba_reads(client_for: Any, get_user: Any) -> None:
    me = get_user(ME)
    r = _post(client_for(PINCA), me)
    assert r.status_code == 302
    ev = MeEvaluation.objects.get(me=me, period_start=Period.of(timezone.localdate()).start)
    assert (ev.rating, ev.notes, ev.evaluated_by) == (4, "Aktif menjangkau koperasi.", get_user(PINCA))
    page = client_for(DBA).get(f"/kinerja/me/{me.pk}/").content.decode()
    assert "Aktif menjangkau koperasi." in page
    own = client_for(ME).get(f"/kinerja/me/{me.pk}/").content.decode()
    assert "Aktif menjangkau koperasi." in own
    # Saving again revises the same evaluation.
    assert _post(client_for(PINCA), me, rating="5").status_code == 302
    ev.refresh_from_db()
    assert ev.rating == 5 and MeEvaluation.objects.filter(me=me, period_start=ev.period_start).count() == 1


@pytest.mark.parametrize(("username", "status"), [(DBA, 403), (ME, 403), ("wil.w08", 403), ("pinca.c080102", 404)])
def test_evaluation_refused_for_others(client_for: Any, get_user: Any, username: str, status: int) -> None:
    me = get_user(ME)
    before = list(MeEvaluation.objects.filter(me=me).values())
    assert _post(client_for(username), me).status_code == status
    assert list(MeEvaluation.objects.filter(me=me).values()) == before


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"rating": "9"}, "Pilih penilaian 1 sampai 5."),
        ({"rating": ""}, "Pilih penilaian 1 sampai 5."),
        ({"period": "kemarin"}, "Periode tidak dikenal"),
        ({"period": "2099-01"}, "Periode ini belum dimulai."),
        ({"notes": "   "}, "Wajib diisi."),
    ],
)
def test_bad_evaluation_is_refused_with_a_message(
    client_for: Any, get_user: Any, over: dict[str, str], message: str
) -> None:
    me = get_user(ME)
    before = list(MeEvaluation.objects.filter(me=me).values())
    r = _post(client_for(PINCA), me, **over)
    assert r.status_code == 400
    assert message in r.content.decode()
    assert list(MeEvaluation.objects.filter(me=me).values()) == before


def test_evaluate_is_post_only(client_for: Any, get_user: Any) -> None:
    me = get_user(ME)
    assert client_for(PINCA).get(f"/kinerja/me/{me.pk}/evaluasi/").status_code == 405


@pytest.mark.parametrize(
    ("username", "code", "shown", "hidden"),
    [
        (DBA, "A0801", ["/kinerja/penempatan/", "/kinerja/target/"], ["/kinerja/tugas/"]),
        ("wil.w08", "A0801", ["/kinerja/penempatan/"], ["/kinerja/target/", "/kinerja/tugas/"]),
        (PINCA, BRANCH, ["/kinerja/target/", "/kinerja/tugas/"], ["/kinerja/penempatan/"]),
        (DBA, BRANCH, [], ["/kinerja/target/", "/kinerja/tugas/", "/kinerja/penempatan/"]),
        ("auditor", "A0801", ["/kinerja/penempatan/"], ["/kinerja/target/", "/kinerja/tugas/"]),
    ],
)
def test_dashboard_links_only_to_what_the_user_may_do(
    client_for: Any, username: str, code: str, shown: list[str], hidden: list[str]
) -> None:
    unit = OrgUnit.objects.get(code=code)
    body = client_for(username).get(f"/kinerja/unit/{unit.pk}/").content.decode()
    for href in shown:
        assert f'href="{href}' in body, href
    for href in hidden:
        assert f'href="{href}' not in body, href
