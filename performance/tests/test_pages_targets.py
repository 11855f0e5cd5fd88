"""The KPI and target pages: who sets whose targets (allowed and refused per
role), the sum check (warn or refuse), the distribution helper, bad input, and
the KPI setting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from control.models import AuditEvent
from org.models import OrgUnit, UnitKind
from performance import selectors
from performance.models import KpiSetting, Target
from performance.periods import Period, PeriodKind, parse_period

pytestmark = pytest.mark.django_db

PERIOD = "2030-07"  # beyond the demo's targets
P = Period(dt.date(2030, 7, 1), PeriodKind.MONTH)
assert parse_period(PERIOD) == P


def _root() -> OrgUnit:
    return OrgUnit.objects.get(parent__isnull=True)


# Who sets the children's targets of which unit (the unit's page).
SETTERS = {
    "PUSAT": ("pusat", lambda: _root()),
    "WILAYAH": ("wil.w08", lambda: OrgUnit.objects.get(code="W08")),
    "DBA": ("dba.a0801", lambda: OrgUnit.objects.get(code="A0801")),
    "PINCA": ("pinca.c080101", lambda: OrgUnit.objects.get(code="C080101")),
}
OTHERS = {
    "ADMIN": "admin",
    "AUDITOR": "auditor",
    "MITRA": "mitra.pms",
    "ME": "me.c080101.1",
    "SALES": "sales.c080101.1",
    "KARYAWAN": "kry.c080101",
    "AGEN": "agen.c080101",
}


def _children(unit: OrgUnit) -> list[Any]:
    if unit.kind == UnitKind.CABANG:
        return selectors.current_mes(unit)
    kind = {UnitKind.PUSAT: UnitKind.WILAYAH, UnitKind.WILAYAH: UnitKind.AREA, UnitKind.AREA: UnitKind.CABANG}
    return list(OrgUnit.objects.filter(parent=unit, kind=kind[UnitKind(unit.kind)]).order_by("code"))


def _stored(unit: OrgUnit, kpi: str = "closing_count") -> dict[int, Decimal]:
    qs = Target.objects.filter(kpi=kpi, period_kind=P.kind, period_start=P.start)
    if unit.kind == UnitKind.CABANG:
        return {t.me_id: t.value for t in qs.filter(unit=unit, me__isnull=False)}  # type: ignore[misc]
    return {t.unit_id: t.value for t in qs.filter(unit__parent=unit, me__isnull=True)}


def _set_parent(unit: OrgUnit, value: int, kpi: str = "closing_count") -> None:
    Target.objects.update_or_create(
        kpi=kpi, period_kind=P.kind, period_start=P.start, unit=unit, me=None, defaults={"value": value}
    )


def _url(unit: OrgUnit, kpi: str = "closing_count") -> str:
    return f"/kinerja/target/{unit.pk}/?kpi={kpi}&period={PERIOD}"


def _post(client: Any, unit: OrgUnit, values: dict[str, Any], *, kpi: str = "closing_count", **extra: Any) -> Any:
    data = {"kpi": kpi, "period": PERIOD, "action": "save", **values, **extra}
    return client.post(f"/kinerja/target/{unit.pk}/", data)


@pytest.mark.parametrize("role", list(SETTERS))
def test_each_level_sets_its_childrens_targets(role: str, client_for: Any) -> None:
    username, get_unit = SETTERS[role]
    unit = get_unit()
    children = _children(unit)
    assert children, "the demo has children under every setter's unit"
    c = client_for(username)
    page = c.get(_url(unit))
    assert page.status_code == 200
    for child in children:
        assert f'name="v{child.pk}"'.encode() in page.content
    values = {f"v{child.pk}": f"{(i + 1) * 1000:,}".replace(",", ".") for i, child in enumerate(children)}
    response = _post(c, unit, values)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = _stored(unit)
    assert stored == {child.pk: Decimal((i + 1) * 1000) for i, child in enumerate(children)}
    assert AuditEvent.objects.filter(action="performance.targets_set", object_id=f"closing_count:{PERIOD}").exists()


@pytest.mark.parametrize("role", list(OTHERS))
@pytest.mark.parametrize("setter", list(SETTERS))
def test_every_other_role_is_refused(role: str, setter: str, client_for: Any) -> None:
    """A role that does not set these children's targets gets 403 (in scope) or 404 (outside);
    nothing is written."""
    unit = SETTERS[setter][1]()
    c = client_for(OTHERS[role])
    children = _children(unit)
    response = _post(c, unit, {f"v{child.pk}": "5" for child in children})
    assert response.status_code in (403, 404)
    if role in ("ADMIN", "AUDITOR", "MITRA") or setter == "PINCA":  # these see the unit: forbidden, not hidden
        assert response.status_code == 403
    assert c.get(_url(unit)).status_code == response.status_code
    assert _stored(unit) == {}


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("wil.w08", None),  # a Wilayah does not set the Wilayah level (Pusat's page)
        ("dba.a0801", "W08"),  # nor does a DBA set areas
        ("pinca.c080101", "A0801"),
        ("wil.w08", "A0801"),  # a Wilayah sets areas, not branches
        ("pusat", "W08"),  # Pusat sets Wilayah, not areas
    ],
)
def test_levels_do_not_skip(user: str, code: str | None, client_for: Any) -> None:
    unit = OrgUnit.objects.get(code=code) if code else _root()
    c = client_for(user)
    assert c.get(_url(unit)).status_code in (403, 404)
    assert _post(c, unit, {f"v{ch.pk}": "5" for ch in _children(unit)}).status_code in (403, 404)
    assert _stored(unit) == {}


def test_pusat_sets_its_own_national_target(client_for: Any) -> None:
    root = _root()
    values = {f"v{ch.pk}": "500" for ch in _children(root)}
    total = 500 * len(values)
    response = _post(client_for("pusat"), root, {**values, "own": f"{total}"})
    assert response.status_code == 302
    own = Target.objects.get(kpi="closing_count", period_start=P.start, period_kind=P.kind, unit=root, me=None)
    assert own.value == total


def test_the_parents_target_is_read_only_below_pusat(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    _set_parent(area, 9000)
    page = client_for("dba.a0801").get(_url(area))
    assert b'name="own"' not in page.content
    assert b"9.000" in page.content
    # A posted "own" is ignored: the DBA cannot change the area's target.
    branches = _children(area)
    _post(client_for("dba.a0801"), area, {f"v{b.pk}": "1" for b in branches}, own="1")
    assert Target.objects.get(unit=area, kpi="closing_count", period_start=P.start, me=None).value == 9000


def test_sum_check_warns_and_saves(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    _set_parent(area, 100)
    KpiSetting.objects.update_or_create(kpi="closing_count", defaults={"sum_check": "WARN"})
    branches = _children(area)
    c = client_for("dba.a0801")
    response = _post(c, area, {f"v{b.pk}": "1" for b in branches}, follow=False)
    assert response.status_code == 302
    assert _stored(area) == {b.pk: Decimal(1) for b in branches}
    page = c.get(response["Location"])
    assert "tidak sama dengan targetnya" in page.content.decode()


def test_sum_check_refuses_and_writes_nothing(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    _set_parent(area, 100)
    KpiSetting.objects.update_or_create(kpi="closing_count", defaults={"sum_check": "REFUSE"})
    branches = _children(area)
    events = AuditEvent.objects.count()
    c = client_for("dba.a0801")
    response = _post(c, area, {f"v{b.pk}": "1" for b in branches})
    assert response.status_code == 400
    assert "tidak sama dengan targetnya" in response.content.decode()
    assert "Tidak ada yang disimpan" in response.content.decode()
    assert _stored(area) == {}
    assert AuditEvent.objects.count() == events
    # Adding up exactly is accepted.
    parts = [100 // len(branches)] * len(branches)
    parts[0] += 100 - sum(parts)
    ok = _post(c, area, {f"v{b.pk}": str(p) for b, p in zip(branches, parts, strict=True)})
    assert ok.status_code == 302
    assert sum(_stored(area).values()) == 100


@pytest.mark.parametrize("method", ["equal", "potential", "last_year"])
@pytest.mark.parametrize("setter", ["WILAYAH", "DBA", "PINCA"])
def test_distribution_prefills_rows_that_add_up(method: str, setter: str, client_for: Any) -> None:
    username, get_unit = SETTERS[setter]
    unit = get_unit()
    _set_parent(unit, 1_000_003, kpi="closing_amount")
    c = client_for(username)
    response = c.post(
        f"/kinerja/target/{unit.pk}/",
        {"kpi": "closing_amount", "period": PERIOD, "action": "distribute", "method": method},
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows
    values = [Decimal(r.value.replace(".", "")) for r in rows]
    assert sum(values) == 1_000_003
    assert f'value="{rows[0].value}"'.encode() in response.content
    assert _stored(unit, "closing_amount") == {}  # nothing is written by "Bagi"
    if method == "equal":
        assert max(values) - min(values) <= 1


def test_distribution_of_pusat_uses_the_typed_national_target(client_for: Any) -> None:
    root = _root()
    response = client_for("pusat").post(
        f"/kinerja/target/{root.pk}/",
        {"kpi": "closing_count", "period": PERIOD, "action": "distribute", "method": "equal", "own": "1.001"},
    )
    assert response.status_code == 200
    assert sum(Decimal(r.value.replace(".", "")) for r in response.context["rows"]) == 1001


def test_distribution_without_a_parent_target_says_so(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    response = client_for("dba.a0801").post(
        f"/kinerja/target/{area.pk}/",
        {"kpi": "closing_count", "period": PERIOD, "action": "distribute", "method": "equal"},
    )
    assert response.status_code == 400
    assert "isi dulu target induknya" in response.content.decode()


def test_a_ratio_kpi_is_copied_down_not_split(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    _set_parent(area, 80, kpi="lead_conversion")
    response = client_for("dba.a0801").post(
        f"/kinerja/target/{area.pk}/",
        {"kpi": "lead_conversion", "period": PERIOD, "action": "distribute", "method": "equal"},
    )
    assert {r.value for r in response.context["rows"]} == {"80"}


@pytest.mark.parametrize(
    ("kpi", "raw", "message"),
    [
        ("closing_count", "sepuluh", "harus berupa angka"),
        ("closing_count", "-5", "tidak boleh negatif"),
        ("closing_count", "2,5", "bilangan bulat"),
        ("lead_conversion", "120", "paling tinggi 100"),
    ],
)
def test_bad_input_shows_a_message_and_writes_nothing(kpi: str, raw: str, message: str, client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    branches = _children(area)
    values = {f"v{b.pk}": "10" for b in branches}
    values[f"v{branches[0].pk}"] = raw
    response = _post(client_for("dba.a0801"), area, values, kpi=kpi)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'aria-invalid="true"' in body
    assert f'value="{raw}"' in body  # what was typed stays in the form
    assert _stored(area, kpi) == {}


def test_indonesian_numbers_are_accepted(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    branches = _children(area)
    values = {f"v{b.pk}": "" for b in branches}
    values[f"v{branches[0].pk}"] = "1.500.000"
    assert _post(client_for("dba.a0801"), area, values, kpi="closing_amount").status_code == 302
    assert _stored(area, "closing_amount") == {branches[0].pk: Decimal(1_500_000)}


def test_target_home_lists_the_units_the_user_sets(client_for: Any, django_assert_max_num_queries: Any) -> None:
    c = client_for("wil.w08")
    with django_assert_max_num_queries(12):
        page = c.get(f"/kinerja/target/?kpi=closing_count&period={PERIOD}")
    assert page.status_code == 200
    body = page.content.decode()
    for area in _children(OrgUnit.objects.get(code="W08")):
        assert area.name in body
    w08 = OrgUnit.objects.get(code="W08")
    assert f"/kinerja/target/{w08.pk}/" in body
    # Pusat: Pusat itself and the Wilayah; Pinca: the branch's MEs.
    body = client_for("pusat").get("/kinerja/target/").content.decode()
    assert _root().name in body and "W08" in body
    pinca = client_for("pinca.c080101").get("/kinerja/target/").content.decode()
    for me in _children(OrgUnit.objects.get(code="C080101")):
        assert me.username in pinca
    # A reader who sets nothing sees the explanation, not a form.
    assert "tidak menetapkan target" in client_for("auditor").get("/kinerja/target/").content.decode()
    assert client_for("me.c080101.1").get("/kinerja/target/").status_code == 403


def test_target_home_query_count_does_not_grow(client_for: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_for("dba.a0801")
    area = OrgUnit.objects.get(code="A0801")
    with CaptureQueriesContext(connection) as few:
        c.get(f"/kinerja/target/?kpi=closing_count&period={PERIOD}")
    for b in _children(area):
        _set_parent(b, 7)
    with CaptureQueriesContext(connection) as many:
        c.get(f"/kinerja/target/?kpi=closing_count&period={PERIOD}")
    assert len(many) == len(few)


def test_kpi_list_and_setting(client_for: Any) -> None:
    page = client_for("wil.w08").get("/kinerja/kpi/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Nilai closing" in body and "Jumlah nilai (Rp) closing" in body
    assert 'name="sum_check"' not in body  # read-only for a Wilayah
    assert client_for("wil.w08").post("/kinerja/kpi/", {"kpi": "leads", "sum_check": "REFUSE"}).status_code == 403
    assert not KpiSetting.objects.filter(kpi="leads").exists()
    c = client_for("pusat")
    assert 'name="sum_check"' in c.get("/kinerja/kpi/").content.decode()
    assert c.post("/kinerja/kpi/", {"kpi": "leads", "sum_check": "REFUSE"}).status_code == 302
    assert KpiSetting.objects.get(kpi="leads").sum_check == "REFUSE"
    assert c.post("/kinerja/kpi/", {"kpi": "leads", "sum_check": "MAYBE"}).status_code == 400
    assert KpiSetting.objects.get(kpi="leads").sum_check == "REFUSE"
    assert client_for("me.c080101.1").get("/kinerja/kpi/").status_code == 403


def test_an_unknown_period_falls_back_without_error(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    assert client_for("dba.a0801").get(f"/kinerja/target/{area.pk}/?kpi=nope&period=zzz").status_code == 200
