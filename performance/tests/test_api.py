"""The performance REST API: targets (set top-down, scoped reads, the sum
check), achievement (the same numbers as ``achievement.for_unit``; children add
up for additive KPIs), placements (list, recommendation, apply), ME tasks and
evaluations: allowed and refused per role, out of scope is 404 (or the 400 of a
missing id in a body), bad input is a 400 with its message and writes nothing,
and every list costs the same number of queries for 5 or 50 rows.

Test data is made with the services (``performance.services``) on the small
demo network.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from org.models import OrgUnit, Placement, UnitKind, User
from performance import achievement, facts, placement, services
from performance.kpis import KPI_BY_CODE, KPIS
from performance.models import KpiFact, MeEvaluation, PlacementDecision, Target, Task, TaskStatus
from performance.periods import Period, add_months

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_slate(db: Any) -> None:
    """The demo loads targets, tasks and evaluations: these tests start without
    them, so every count they assert is their own (rolled back afterwards)."""
    Target.objects.all().delete()
    Task.objects.all().delete()
    MeEvaluation.objects.all().delete()


TARGETS = "/api/v1/targets/"
ACHIEVEMENT = "/api/v1/achievement/"
PLACEMENTS = "/api/v1/placements/"
RECOMMENDATION = "/api/v1/placements/recommendation/"
APPLY = "/api/v1/placements/apply/"
TASKS = "/api/v1/tasks/"
EVALUATIONS = "/api/v1/evaluations/"


def _u(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _this_month() -> Period:
    return Period.of(timezone.localdate())


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def _patch(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.patch(url, body, content_type="application/json")


def _queries(c: Client, url: str, params: dict[str, Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        r = c.get(url, params)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries), r.json()


def _same_cost(c: Client, url: str, params: dict[str, Any], at_least: int = 50) -> None:
    few, small = _queries(c, url, {**params, "page_size": 5})
    many, large = _queries(c, url, {**params, "page_size": at_least})
    assert len(small["results"]) == 5 and len(large["results"]) == at_least
    assert few == many, f"{url}: {few} queries for 5 rows, {many} for {at_least}"


# --- Targets ------------------------------------------------------------------------------------


def _set(kpi: str, period: Period, rows: list[tuple[OrgUnit, User | None, int]]) -> None:
    services.targets_set(
        actor=None,
        kpi=kpi,
        period=period,
        rows=[services.TargetRow(unit=u, me=m, value=Decimal(v)) for u, m, v in rows],
    )


def test_dba_sets_branch_targets_and_reads_them_back(client_for: Any) -> None:
    period = _this_month()
    c = client_for("dba.a0801")
    body = {
        "kpi": "leads",
        "period": period.code,
        "rows": [{"unit": _u("C080101").pk, "value": 30}, {"unit": _u("C080102").pk, "value": "20"}],
    }
    r = _post(c, TARGETS, body)
    assert r.status_code == 200, r.content
    # The area has no target of its own yet: the children are written with a warning.
    assert any("A0801" in w or _u("A0801").name in w for w in r.json()["warnings"])
    got = {t.unit.code: t.value for t in Target.objects.filter(kpi="leads", period_start=period.start, me__isnull=True)}
    assert got == {"C080101": Decimal(30), "C080102": Decimal(20)}

    page = c.get(TARGETS, {"period": period.code, "kpi": "leads"}).json()
    assert page["count"] == 2
    assert {(row["unit"]["code"], row["value"]) for row in page["results"]} == {
        ("C080101", "30.00"),
        ("C080102", "20.00"),
    }
    # A null value removes a target.
    r = _post(c, TARGETS, {"kpi": "leads", "period": period.code, "rows": [{"unit": _u("C080102").pk, "value": None}]})
    assert r.status_code == 200
    assert not Target.objects.filter(kpi="leads", unit__code="C080102", period_start=period.start).exists()


def test_target_lists_are_scoped_and_an_me_sees_only_their_own() -> None:
    period = _this_month()
    me1, me2 = _user("me.c080101.1"), _user("me.c080101.2")
    _set("leads", period, [(_u("C080101"), None, 10), (_u("C080201"), None, 7), (_u("C100101"), None, 5)])
    _set("leads", period, [(_u("C080101"), me1, 6), (_u("C080101"), me2, 4)])

    def codes(username: str) -> set[tuple[str, str | None]]:
        c = Client()
        c.force_login(_user(username))
        r = c.get(TARGETS, {"period": period.code, "kpi": "leads"})
        assert r.status_code == 200
        return {(row["unit"]["code"], row["me"]["username"] if row["me"] else None) for row in r.json()["results"]}

    assert codes("pinca.c080101") == {("C080101", None), ("C080101", "me.c080101.1"), ("C080101", "me.c080101.2")}
    assert codes("dba.a0802") == {("C080201", None)}
    assert codes("wil.w08") == {
        ("C080101", None),
        ("C080201", None),
        ("C080101", "me.c080101.1"),
        ("C080101", "me.c080101.2"),
    }
    assert codes("me.c080101.1") == {("C080101", "me.c080101.1")}
    assert codes("sales.c080101.1") == set()
    assert len(codes("pusat")) == 5


def test_pinca_sets_me_targets_but_not_the_branch_target(client_for: Any) -> None:
    period = _this_month()
    pinca = client_for("pinca.c080101")
    me1 = _user("me.c080101.1")
    r = _post(
        pinca,
        TARGETS,
        {"kpi": "leads", "period": period.code, "rows": [{"unit": _u("C080101").pk, "me": me1.pk, "value": 3}]},
    )
    assert r.status_code == 200, r.content
    assert Target.objects.get(kpi="leads", me=me1, period_start=period.start).value == 3

    # The branch's own target is the DBA's to set: 403, nothing written.
    r = _post(pinca, TARGETS, {"kpi": "leads", "period": period.code, "rows": [{"unit": _u("C080101").pk, "value": 9}]})
    assert r.status_code == 403
    # An ME of another branch is not visible to this branch head: the 400 of a missing id.
    other = _user("me.c080102.1")
    r = _post(
        pinca,
        TARGETS,
        {"kpi": "leads", "period": period.code, "rows": [{"unit": _u("C080102").pk, "me": other.pk, "value": 3}]},
    )
    assert r.status_code == 400
    assert "tidak ditemukan" in r.content.decode()
    # An ME reads no performance: refused before the body is read.
    r = _post(client_for("me.c080101.1"), TARGETS, {})
    assert r.status_code == 403
    assert Target.objects.filter(kpi="leads", period_start=period.start).count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kpi": "leads", "period": "2026-13", "rows": [{"unit": "C", "value": 1}]}, "Periode tidak sah"),
        ({"kpi": "nope", "period": "2026-11", "rows": []}, "KPI tidak dikenal"),
        ({"kpi": "leads", "period": "2026-11", "rows": [{"value": 1}]}, "unit"),
        ({"kpi": "leads", "period": "2026-11", "rows": [{"unit": "BRANCH", "value": -5}]}, "tidak boleh negatif"),
        ({"kpi": "leads", "period": "2026-11", "rows": [{"unit": "BRANCH", "value": "2,5"}]}, "bilangan bulat"),
        ({"kpi": "leads", "period": "2026-11", "rows": [{"unit": "OTHER", "value": 1}]}, "tidak ditemukan"),
    ],
)
def test_bad_target_bodies_answer_400_and_write_nothing(client_for: Any, body: dict[str, Any], message: str) -> None:
    for row in body["rows"]:
        if row.get("unit") == "BRANCH":
            row["unit"] = _u("C080101").pk
        elif row.get("unit") == "OTHER":
            row["unit"] = _u("C080201").pk
    r = _post(client_for("dba.a0801"), TARGETS, body)
    assert r.status_code == 400, r.content
    assert message in r.content.decode()
    assert not Target.objects.exists()


def test_a_refused_sum_is_a_400_with_its_message_and_nothing_written(client_for: Any) -> None:
    period = _this_month()
    # closing_amount refuses children that do not add up to their parent.
    assert services.sum_check_of("closing_amount") == "REFUSE"
    _set("closing_amount", period, [(_u("A0801"), None, 1_000_000)])
    r = _post(
        client_for("dba.a0801"),
        TARGETS,
        {"kpi": "closing_amount", "period": period.code, "rows": [{"unit": _u("C080101").pk, "value": "600.000"}]},
    )
    assert r.status_code == 400
    data = r.json()
    assert data["code"] == "sum" and "tidak sama" in data["value"][0]
    assert not Target.objects.filter(kpi="closing_amount", unit__code="C080101").exists()


def test_target_list_costs_the_same_for_5_or_50_rows(client_for: Any) -> None:
    period = _this_month()
    units = list(OrgUnit.objects.filter(kind__in=[UnitKind.CABANG, UnitKind.AREA]).order_by("code"))
    codes = [k.code for k in KPIS if not k.is_ratio][:5]
    for code in codes:
        _set(code, period, [(u, None, 10) for u in units])
    mes = [p.user for p in Placement.objects.filter(valid_to__isnull=True, branch__code="C080101")]
    _set("leads", period, [(_u("C080101"), m, 5) for m in mes])
    _same_cost(client_for("pusat"), TARGETS, {"period": period.code})
    bad = client_for("pusat").get(TARGETS, {"period": "kemarin"})
    assert bad.status_code == 400 and "Periode tidak sah" in bad.content.decode()


# --- Achievement --------------------------------------------------------------------------------


@pytest.fixture
def with_facts(db: Any) -> None:
    if not KpiFact.objects.exists():
        facts.rebuild()


def _period_with_data() -> Period:
    """The last whole month (the demo's closings reach it)."""
    return Period.of(add_months(timezone.localdate().replace(day=1), -1))


def test_area_achievement_equals_for_unit_and_children_add_up(client_for: Any, with_facts: Any) -> None:
    period = _period_with_data()
    area = _u("A0801")
    _set("leads", period, [(area, None, 100)])
    r = client_for("dba.a0801").get(ACHIEVEMENT, {"unit": area.pk, "period": period.code, "children": 1})
    assert r.status_code == 200, r.content
    data = r.json()
    expected = achievement.for_unit(area, period)
    assert data["unit"]["code"] == "A0801" and data["period"] == period.code and data["child_kind"] == "CABANG"
    assert data["as_of"] == expected.as_of.isoformat()
    assert data["own"] == {code: fig.as_dict() for code, fig in expected.own.figures.items()}
    assert [ch["code"] for ch in data["children"]] == [line.key.code for line in expected.children]
    for ch, line in zip(data["children"], expected.children, strict=True):
        assert ch["figures"] == {code: fig.as_dict() for code, fig in line.figures.items()}
    assert data["own"]["leads"]["target"] == "100.00"
    assert Decimal(data["own"]["closing_amount"]["value"]) > 0, "the demo has closings last month"
    for kpi in KPIS:
        if kpi.additive:
            total = sum(Decimal(ch["figures"][kpi.code]["value"]) for ch in data["children"])
            assert total == Decimal(data["own"][kpi.code]["value"]), kpi.code


def test_branch_achievement_splits_into_mes_and_unattributed(client_for: Any, with_facts: Any) -> None:
    period = _period_with_data()
    branch = _u("C080101")
    r = client_for("pinca.c080101").get(
        ACHIEVEMENT, {"unit": branch.pk, "period": period.code, "kpi": "closing_amount,leads", "children": "1"}
    )
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["kpis"] == ["closing_amount", "leads"] and set(data["own"]) == {"closing_amount", "leads"}
    assert data["child_kind"] == "ME"
    assert {ch["username"] for ch in data["children"]} >= {"me.c080101.1", "me.c080101.2"}
    for code in data["kpis"]:
        parts = sum(Decimal(ch["figures"][code]["value"]) for ch in data["children"])
        parts += Decimal(data["unattributed"][code]["value"])
        assert parts == Decimal(data["own"][code]["value"]), code
    # Without children=1 the rows below are left out.
    plain = client_for("pinca.c080101").get(ACHIEVEMENT, {"unit": branch.pk, "period": period.code}).json()
    assert plain["children"] is None and plain["own"] == {
        c: f.as_dict() for c, f in achievement.for_unit(branch, period).own.figures.items()
    }


def test_me_achievement_and_as_of(client_for: Any, with_facts: Any) -> None:
    period = _period_with_data()
    me = _user("me.c080101.1")
    as_of = period.start + dt.timedelta(days=9)
    r = client_for("me.c080101.1").get(ACHIEVEMENT, {"me": me.pk, "period": period.code, "as_of": as_of.isoformat()})
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["me"]["username"] == "me.c080101.1" and data["unit"] is None and data["as_of"] == as_of.isoformat()
    line = achievement.for_me(me, period, as_of)
    assert data["own"] == {code: fig.as_dict() for code, fig in line.figures.items()}
    # The branch head reads their ME; the head of another branch does not see them.
    assert client_for("pinca.c080101").get(ACHIEVEMENT, {"me": me.pk}).status_code == 200
    assert client_for("pinca.c080102").get(ACHIEVEMENT, {"me": me.pk}).status_code == 404


@pytest.mark.parametrize(
    ("username", "unit", "status"),
    [
        ("dba.a0801", "A0802", 404),  # DBA of another area
        ("pinca.c080102", "C080101", 404),  # Pinca of another branch
        ("me.c080101.1", "C080101", 403),  # an ME reads no unit's performance
        ("sales.c080101.1", "C080101", 403),
        ("wil.w08", "A0802", 200),
        ("mitra.pms", "PST", 200),
    ],
)
def test_unit_achievement_per_role(client_for: Any, username: str, unit: str, status: int) -> None:
    r = client_for(username).get(ACHIEVEMENT, {"unit": _u(unit).pk, "kpi": "leads"})
    assert r.status_code == status, r.content


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"unit": "A0801", "period": "2026-13"}, "Periode tidak sah"),
        ({"unit": "A0801", "kpi": "leads,omzet"}, "KPI tidak dikenal: omzet"),
        ({"unit": "A0801", "as_of": "2026-02-30"}, "Tanggal acuan tidak sah"),
        ({"unit": "A0801", "period": "2026-11", "as_of": "2026-10-31"}, "harus di dalam periode"),
        ({}, "Pilih satu: unit atau me"),
        ({"unit": "U08010101"}, "Capaian hanya untuk"),
    ],
)
def test_bad_achievement_queries_answer_400(client_for: Any, params: dict[str, str], message: str) -> None:
    if "unit" in params:
        params = {**params, "unit": str(_u(params["unit"]).pk)}
    r = client_for("dba.a0801").get(ACHIEVEMENT, params)
    assert r.status_code == 400, r.content
    assert message in r.content.decode()


# --- Placements ---------------------------------------------------------------------------------


def test_placement_lists_are_scoped_and_for_the_dba_and_above(client_for: Any) -> None:
    dba = client_for("dba.a0801")
    page = dba.get(PLACEMENTS).json()
    assert page["count"] == 6
    assert {row["branch"]["code"][:5] for row in page["results"]} == {"C0801"}
    area = _u("A0801")
    assert dba.get(PLACEMENTS, {"area": area.pk}).json()["count"] == 6
    assert dba.get(PLACEMENTS, {"area": _u("A0802").pk}).status_code == 404
    assert dba.get(PLACEMENTS, {"area": _u("C080101").pk}).status_code == 400
    assert client_for("pinca.c080101").get(PLACEMENTS).status_code == 403
    assert client_for("me.c080101.1").get(PLACEMENTS).status_code == 403
    assert client_for("wil.w08").get(PLACEMENTS, {"area": _u("A0802").pk}).json()["count"] == 6
    _same_cost(client_for("pusat"), PLACEMENTS, {}, at_least=20)


def test_recommendation_is_the_placement_module_s(client_for: Any) -> None:
    area = _u("A0801")
    r = client_for("dba.a0801").get(RECOMMENDATION, {"area": area.pk})
    assert r.status_code == 200, r.content
    data = r.json()
    rec = placement.recommend(area)
    assert data["method"] == placement.METHOD and data["weight_basis"] == rec.weight_basis
    assert [(x["branch"]["code"], x["current"], x["recommended"], x["difference"]) for x in data["lines"]] == [
        (line.branch.code, line.current, line.recommended, line.difference) for line in rec.lines
    ]
    assert [(m["me"]["id"], m["target"]["code"]) for m in data["moves"]] == [
        (m.me.pk, m.target.code) for m in rec.moves
    ]
    assert client_for("dba.a0802").get(RECOMMENDATION, {"area": area.pk}).status_code == 404
    assert client_for("pinca.c080101").get(RECOMMENDATION, {"area": area.pk}).status_code == 403
    r = client_for("dba.a0801").get(RECOMMENDATION)
    assert r.status_code == 400 and "area" in r.json()


def test_dba_applies_a_move_and_others_are_refused(client_for: Any) -> None:
    area, target = _u("A0801"), _u("C080102")
    me = _user("me.c080101.2")
    body = {"area": area.pk, "moves": [{"me": me.pk, "branch": target.pk}]}
    # Another area's DBA: the area is not theirs to see (the 400 of a missing id); nothing written.
    r = _post(client_for("dba.a0802"), APPLY, body)
    assert r.status_code == 400 and "tidak ditemukan" in r.content.decode()
    assert _post(client_for("auditor"), APPLY, body).status_code == 403
    assert _post(client_for("pinca.c080101"), APPLY, body).status_code == 403
    # A Wilayah may place only with a reason.
    r = _post(client_for("wil.w08"), APPLY, body)
    assert r.status_code == 400 and "alasan" in r.content.decode()
    assert not PlacementDecision.objects.exists()
    assert Placement.objects.get(user=me, valid_to__isnull=True).branch.code == "C080101"

    r = _post(client_for("dba.a0801"), APPLY, body)
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["moves"][0]["to"] == "C080102" and data["area"]["code"] == "A0801"
    decision = PlacementDecision.objects.get(pk=data["decision"])
    assert decision.area == area and decision.decided_by == _user("dba.a0801")
    assert Placement.objects.get(user=me, valid_to__isnull=True).branch == target


@pytest.mark.parametrize(
    ("moves", "message"),
    [
        ([], "moves"),
        ([{"me": 999_999_999, "branch": "C080102"}], "tidak ditemukan"),
        ([{"me": "me.c080101.2", "branch": "C080101"}], "sudah ditempatkan"),
        ([{"me": "me.c080101.2", "branch": "C080102"}, {"me": "me.c080101.2", "branch": "C080103"}], "dua kali"),
    ],
)
def test_bad_placement_bodies_answer_400_and_write_nothing(
    client_for: Any, moves: list[dict[str, Any]], message: str
) -> None:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("me."):
            return _user(value).pk
        if isinstance(value, str):
            return _u(value).pk
        return value

    body = {"area": _u("A0801").pk, "moves": [{k: resolve(v) for k, v in m.items()} for m in moves]}
    before = Placement.objects.count()
    r = _post(client_for("dba.a0801"), APPLY, body)
    assert r.status_code == 400, r.content
    assert message in r.content.decode()
    assert Placement.objects.count() == before and not PlacementDecision.objects.exists()


# --- Tasks --------------------------------------------------------------------------------------


def _task_body(me: str = "me.c080101.1", **extra: Any) -> dict[str, Any]:
    return {
        "me": _user(me).pk,
        "objective": "Audiensi dengan kepala sekolah",
        "due_on": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
        "kpi": "audiences_held",
        **extra,
    }


def test_pinca_assigns_and_the_me_updates(client_for: Any) -> None:
    pinca, me = client_for("pinca.c080101"), client_for("me.c080101.1")
    r = _post(pinca, TASKS, _task_body())
    assert r.status_code == 201, r.content
    task_id = r.json()["id"]
    assert r.json()["me"]["username"] == "me.c080101.1" and r.json()["status"] == "OPEN"
    assert [t["id"] for t in me.get(TASKS).json()["results"]] == [task_id]
    assert client_for("me.c080101.2").get(TASKS).json()["count"] == 0
    assert client_for("me.c080101.2").get(f"{TASKS}{task_id}/").status_code == 404

    r = _patch(me, f"{TASKS}{task_id}/", {"status": "IN_PROGRESS", "progress_note": "Janji temu Kamis"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "IN_PROGRESS" and r.json()["progress_note"] == "Janji temu Kamis"
    # Only the branch head cancels.
    assert _patch(me, f"{TASKS}{task_id}/", {"status": "CANCELLED"}).status_code == 403
    assert _patch(client_for("dba.a0801"), f"{TASKS}{task_id}/", {"status": "DONE"}).status_code == 403
    assert _patch(client_for("pinca.c080102"), f"{TASKS}{task_id}/", {"status": "DONE"}).status_code == 404
    r = _patch(pinca, f"{TASKS}{task_id}/", {"status": "CANCELLED"})
    assert r.status_code == 200 and Task.objects.get(pk=task_id).status == TaskStatus.CANCELLED
    # The levels above read it; another branch's head does not.
    assert client_for("dba.a0801").get(f"{TASKS}{task_id}/").status_code == 200
    assert client_for("pinca.c080102").get(f"{TASKS}{task_id}/").status_code == 404
    assert client_for("dba.a0802").get(f"{TASKS}{task_id}/").status_code == 404
    assert client_for("sales.c080101.1").get(TASKS).status_code == 403


@pytest.mark.parametrize(
    ("username", "me", "status"),
    [
        ("pinca.c080102", "me.c080101.1", 400),  # an ME of another branch: not visible
        ("dba.a0801", "me.c080101.1", 403),
        ("wil.w08", "me.c080101.1", 403),
        ("me.c080101.1", "me.c080101.1", 403),
    ],
)
def test_only_the_branch_head_assigns(client_for: Any, username: str, me: str, status: int) -> None:
    r = _post(client_for(username), TASKS, _task_body(me))
    assert r.status_code == status, r.content
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"due_on": "2020-01-01"}, "Tenggat tidak boleh sebelum hari ini"),
        ({"due_on": "besok"}, "due_on"),
        ({"objective": ""}, "objective"),
        ({"kpi": "omzet"}, "KPI tidak dikenal"),
        ({"institution": 999_999_999}, "Lembaga tidak ditemukan"),
    ],
)
def test_bad_task_bodies_answer_400_and_write_nothing(client_for: Any, extra: dict[str, Any], message: str) -> None:
    r = _post(client_for("pinca.c080101"), TASKS, _task_body(**extra))
    assert r.status_code == 400, r.content
    assert message in r.content.decode()
    assert not Task.objects.exists()


def test_bad_task_updates_answer_400(client_for: Any) -> None:
    task = services.task_assign(
        actor=None, me=_user("me.c080101.1"), objective="Uji", due_on=timezone.localdate() + dt.timedelta(days=3)
    )
    me = client_for("me.c080101.1")
    for body, message in (({}, "Tidak ada yang diubah"), ({"status": "SELESAI"}, "Status tidak dikenal")):
        r = _patch(me, f"{TASKS}{task.pk}/", body)
        assert r.status_code == 400 and message in r.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_task_list_costs_the_same_for_5_or_50_rows(client_for: Any) -> None:
    due = timezone.localdate() + dt.timedelta(days=3)
    inst = None
    from institutions.models import Institution

    inst = Institution.objects.live().filter(branch__code="C080101").first()
    for i in range(30):
        for me in ("me.c080101.1", "me.c080101.2"):
            services.task_assign(actor=None, me=_user(me), objective=f"Tugas {i}", due_on=due, institution=inst)
    _same_cost(client_for("pinca.c080101"), TASKS, {})
    page = client_for("pinca.c080101").get(TASKS, {"me": _user("me.c080101.2").pk, "open": "1"}).json()
    assert page["count"] == 30


# --- Evaluations --------------------------------------------------------------------------------


def test_pinca_evaluates_and_the_dba_reads(client_for: Any) -> None:
    period = Period.of(add_months(timezone.localdate().replace(day=1), -1))
    me = _user("me.c080101.1")
    body = {"me": me.pk, "period": period.code, "rating": 4, "notes": "Target prospek tercapai."}
    r = _post(client_for("pinca.c080101"), EVALUATIONS, body)
    assert r.status_code == 201, r.content
    assert r.json()["rating"] == 4 and r.json()["period"] == period.code
    r = _post(client_for("pinca.c080101"), EVALUATIONS, {**body, "rating": 5})
    assert r.status_code == 200 and MeEvaluation.objects.get(me=me).rating == 5

    def ids(username: str) -> list[int]:
        r = client_for(username).get(EVALUATIONS)
        assert r.status_code == 200
        return [row["me"]["id"] for row in r.json()["results"]]

    assert ids("dba.a0801") == [me.pk]
    assert ids("me.c080101.1") == [me.pk]
    assert ids("me.c080101.2") == []
    assert ids("dba.a0802") == []
    assert ids("pinca.c080102") == []


@pytest.mark.parametrize(
    ("username", "body", "status", "message"),
    [
        ("dba.a0801", {}, 403, ""),
        ("me.c080101.1", {}, 403, ""),
        ("pinca.c080102", {}, 400, "tidak ditemukan"),
        ("pinca.c080101", {"rating": 6}, 400, "Pilih penilaian 1 sampai 5"),
        ("pinca.c080101", {"period": "2026-13"}, 400, "Periode tidak sah"),
        ("pinca.c080101", {"period": "2099-01"}, 400, "belum dimulai"),
        ("pinca.c080101", {"notes": ""}, 400, "notes"),
    ],
)
def test_evaluation_writes_refused_or_bad(
    client_for: Any, username: str, body: dict[str, Any], status: int, message: str
) -> None:
    full = {"me": _user("me.c080101.1").pk, "period": _this_month().code, "rating": 3, "notes": "Cukup.", **body}
    r = _post(client_for(username), EVALUATIONS, full)
    assert r.status_code == status, r.content
    assert message in r.content.decode()
    assert not MeEvaluation.objects.exists()


def test_evaluation_list_costs_the_same_for_5_or_50_rows(client_for: Any) -> None:
    mes = [p.user for p in Placement.objects.filter(valid_to__isnull=True).select_related("user")]
    first = add_months(timezone.localdate().replace(day=1), -3)
    for i in range(3):
        for me in mes:
            services.evaluation_save(actor=None, me=me, period=Period.of(add_months(first, i)), rating=3, notes="Ok")
    assert len(mes) * 3 >= 50
    _same_cost(client_for("pusat"), EVALUATIONS, {})


# --- Schema -------------------------------------------------------------------------------------


def test_schema_documents_the_endpoints(client_for: Any) -> None:
    r = client_for("admin").get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in (
        "/api/v1/targets/:",
        "/api/v1/achievement/:",
        "/api/v1/placements/:",
        "/api/v1/placements/recommendation/:",
        "/api/v1/placements/apply/:",
        "/api/v1/tasks/:",
        "/api/v1/tasks/{id}/:",
        "/api/v1/evaluations/:",
    ):
        assert path in text
    for name in ("of_target", "unattributed", "weight_basis", "progress_note", "rating_label"):
        assert name in text
    assert all(k.code in KPI_BY_CODE for k in KPIS)
