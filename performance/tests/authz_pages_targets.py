"""Authorisation-matrix entries for the KPI and target pages (collected by
tests/test_authz_matrix.py). The rules come from org/access.py:

* ``performance.view``: Pusat, Wilayah, DBA, Pinca, Auditor, Admin and Mitra
  read KPIs and targets (list, home, export, the import page); everyone else 403;
* ``performance.manage_kpi``: Pusat and Admin change a KPI's sum check;
* the target form of a unit edits its children: Pusat on the Pusat unit (the
  Wilayah), a Wilayah on its region (its areas), the DBA on its area (its
  branches), the branch head on the branch (its MEs). The in-scope case opens
  the user's own unit (the Pusat unit for the head-office roles); another
  role in scope gets 403, a unit outside the scope 404.
"""

from __future__ import annotations

from typing import Any

from tests.authz import Endpoint

READERS = {"PUSAT", "WILAYAH", "DBA", "PINCA", "AUDITOR", "ADMIN", "MITRA"}
KPI_MANAGERS = {"PUSAT", "ADMIN"}
TARGET_SETTERS = {"PUSAT", "WILAYAH", "DBA", "PINCA"}
PERIOD = "2030-07"  # beyond the demo's targets


def readers(role: str, in_scope: bool) -> int:
    return 200 if role in READERS else 403


def readers_no_file(role: str, in_scope: bool) -> int:
    return 400 if role in READERS else 403


def kpi_managers(role: str, in_scope: bool) -> int:
    return 302 if role in KPI_MANAGERS else 403


def setters(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in TARGET_SETTERS else 403


def setters_save(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in TARGET_SETTERS else 403


def _unit(c: dict[str, Any]) -> Any:
    """The case's target unit; a head-office unit stands for the Pusat unit (whose page sets the Wilayah)."""
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    if target.kind == UnitKind.UNIT_KERJA:
        return OrgUnit.objects.get(pk=target.parent_id)
    return target


def _rows(c: dict[str, Any]) -> dict[str, Any]:
    """Blank rows for every child: a valid save that writes nothing."""
    from org.models import OrgUnit, UnitKind
    from performance.selectors import current_mes

    unit = _unit(c)
    children: list[Any] = (
        current_mes(unit)
        if unit.kind == UnitKind.CABANG
        else list(OrgUnit.objects.filter(parent=unit).exclude(kind=UnitKind.UNIT_KERJA))
    )
    return {"kpi": "closing_count", "period": PERIOD, "action": "save", **{f"v{ch.pk}": "" for ch in children}}


ENDPOINTS: list[Endpoint] = [
    Endpoint("performance:kpis", "GET", lambda c: "/kinerja/kpi/", readers),
    Endpoint(
        "performance:kpis",
        "POST",
        lambda c: "/kinerja/kpi/",
        kpi_managers,
        data=lambda c: {"kpi": "leads", "sum_check": "REFUSE"},
    ),
    Endpoint("performance:targets", "GET", lambda c: f"/kinerja/target/?kpi=closing_count&period={PERIOD}", readers),
    Endpoint(
        "performance:target-edit",
        "GET",
        lambda c: f"/kinerja/target/{_unit(c).pk}/?kpi=closing_count&period={PERIOD}",
        setters,
        uses_object=True,
    ),
    Endpoint(
        "performance:target-edit",
        "POST",
        lambda c: f"/kinerja/target/{_unit(c).pk}/",
        setters_save,
        data=_rows,
        uses_object=True,
    ),
    Endpoint("performance:target-export", "GET", lambda c: f"/kinerja/target/ekspor/?period={PERIOD}", readers),
    Endpoint("performance:target-import", "GET", lambda c: "/kinerja/target/impor/", readers),
    # No file: a reader is told to choose one (400), nothing is written.
    Endpoint("performance:target-import", "POST", lambda c: "/kinerja/target/impor/", readers_no_file),
]
