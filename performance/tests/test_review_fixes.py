"""Regressions found in review: records that follow a moved branch, figures that
follow an institution to a branch with no facts yet in that month, an as-of date
out of range, an evaluation revised from another branch, a placement dated in the
future, and names that look like formulas in the spreadsheets."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from core.errors import DomainError
from institutions.models import Institution, Stage, StageChange
from institutions.services import institution_reassign
from org import access
from org.models import OrgUnit, Placement, UnitKind
from org.services import unit_create, unit_move
from performance import facts, services
from performance.models import KpiDirty, MeEvaluation, Task
from performance.periods import Period
from performance.tests import factories as f

pytestmark = pytest.mark.django_db


def test_tasks_and_evaluations_follow_a_branch_to_its_new_area(get_user: Any) -> None:
    branch = OrgUnit.objects.get(code="C080101")
    me = Placement.objects.filter(branch=branch, valid_to__isnull=True).first().user  # type: ignore[union-attr]
    pinca = get_user("pinca.c080101")
    task = services.task_assign(
        actor=pinca, me=me, objective="Kunjungi lembaga", due_on=timezone.localdate() + dt.timedelta(days=3)
    )
    last_month = Period.of(timezone.localdate()).previous()
    MeEvaluation.objects.filter(me=me).delete()
    evaluation = services.evaluation_save(actor=pinca, me=me, period=last_month, rating=4, notes="Baik")
    old_dba, new_dba = get_user("dba.a0801"), get_user("dba.a1001")
    assert access.visible_tasks(old_dba).filter(pk=task.pk).exists()
    unit_move(actor=get_user("admin"), unit=branch, new_parent=OrgUnit.objects.get(code="A1001"))
    for user in (old_dba, new_dba):
        access.forget_active_assignment(user)
    assert not access.visible_tasks(old_dba).filter(pk=task.pk).exists()
    assert access.visible_tasks(new_dba).filter(pk=task.pk).exists()
    assert not access.visible_evaluations(old_dba).filter(pk=evaluation.pk).exists()
    assert access.visible_evaluations(new_dba).filter(pk=evaluation.pk).exists()
    assert Task.objects.get(pk=task.pk).area.code == "A1001"


def test_an_institution_moved_to_a_new_branch_takes_its_past_figures(get_user: Any) -> None:
    f.build_facts()
    area = OrgUnit.objects.get(code="A0801")
    fresh = unit_create(actor=get_user("admin"), kind=UnitKind.CABANG, code="C0801ZZ", name="Cabang Baru", parent=area)
    inst = Institution.objects.live().filter(branch__code="C080101").order_by("id").first()
    assert inst is not None
    months_ago = timezone.now() - dt.timedelta(days=150)
    StageChange.objects.create(institution=inst, from_stage=Stage.KERJA_SAMA, to_stage=Stage.EKSEKUSI, at=months_ago)
    facts.settle()
    assert facts.differences() == []
    institution_reassign(actor=get_user("dba.a0801"), institution=inst, branch=fresh, reason="Pindah wilayah kerja")
    facts.settle()
    assert facts.differences() == []
    assert not KpiDirty.objects.exists()


@pytest.mark.parametrize("as_of", ["0001-01-01", "1999-12-31", "2101-01-01"])
def test_achievement_api_refuses_an_as_of_out_of_range(client_for: Any, as_of: str) -> None:
    root = OrgUnit.objects.get(kind=UnitKind.PUSAT)
    response = client_for("pusat").get(f"/api/v1/achievement/?unit={root.pk}&as_of={as_of}")
    assert response.status_code == 400
    assert "as_of" in response.json()


def test_achievement_api_reads_the_month_of_an_as_of_date_without_a_period(client_for: Any) -> None:
    root = OrgUnit.objects.get(kind=UnitKind.PUSAT)
    response = client_for("pusat").get(f"/api/v1/achievement/?unit={root.pk}&as_of=2026-03-15")
    assert response.status_code == 200
    body = response.json()
    assert body["period"] in ("2026-03", {"code": "2026-03"}) or "2026-03" in str(body["period"])


def test_an_evaluation_written_at_the_earlier_branch_is_not_revised_at_the_new_one(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    last_month = Period.of(timezone.localdate()).previous()
    MeEvaluation.objects.filter(me=me).delete()
    services.evaluation_save(actor=get_user("pinca.c080101"), me=me, period=last_month, rating=3, notes="Cukup")
    services.placement_apply(
        actor=get_user("dba.a0801"),
        area=OrgUnit.objects.get(code="A0801"),
        moves=[(me, OrgUnit.objects.get(code="C080102"))],
    )
    with pytest.raises(DomainError):
        services.evaluation_save(actor=get_user("pinca.c080102"), me=me, period=last_month, rating=5, notes="Ubah")
    assert MeEvaluation.objects.get(me=me, period_start=last_month.start).rating == 3


def test_a_placement_cannot_start_in_the_future(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    with pytest.raises(DomainError):
        services.placement_apply(
            actor=get_user("dba.a0801"),
            area=OrgUnit.objects.get(code="A0801"),
            moves=[(me, OrgUnit.objects.get(code="C080102"))],
            valid_from=timezone.localdate() + dt.timedelta(days=7),
        )
    assert Placement.objects.get(user=me, valid_to__isnull=True).branch.code == "C080101"


def test_exports_write_names_as_text_never_formulas(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    branch = OrgUnit.objects.filter(parent=area, kind=UnitKind.CABANG).order_by("code").first()
    assert branch is not None
    OrgUnit.objects.filter(pk=branch.pk).update(name='=HYPERLINK("http://x","klik")')
    response = client_for("dba.a0801").get(f"/kinerja/unit/{area.pk}/xlsx/")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=HYPER")]
    assert cells and all(c.data_type == "s" for c in cells)
