"""The placement page of an area: the recommendation beside the current
placement, applying it only through a confirmation step, by the area's DBA
(Wilayah/Pusat with a reason); everyone else 404/403; one audited decision."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from control.models import AuditEvent
from org.models import Placement
from performance.models import PlacementDecision
from performance.placement import recommend

pytestmark = pytest.mark.django_db


def _url(area: Any, apply: bool = False) -> str:
    return f"/kinerja/penempatan/{area.pk}/" + ("terapkan/" if apply else "")


def _form(area: Any, **extra: Any) -> dict[str, Any]:
    rec = recommend(area)
    assert rec.moves, "the small demo recommends a move in A0801"
    data = {"moves": [m.me.pk for m in rec.moves], "valid_from": timezone.localdate().isoformat(), "reason": ""}
    data.update(extra)
    return data


def test_page_shows_the_recommendation(client_for: Any, unit: Any) -> None:
    area = unit("A0801")
    rec = recommend(area)
    response = client_for("dba.a0801").get(_url(area))
    body = response.content.decode()
    assert response.status_code == 200
    for line in rec.lines:
        assert line.branch.name in body
        for me in line.mes:
            assert (me.get_full_name() or me.username) in body
    move = rec.moves[0]
    assert f"{move.me.get_full_name() or move.me.username}: {move.source.name} → {move.target.name}" in body
    assert "Lanjut ke konfirmasi" in body and "proportional-score-v1" in body
    assert "Riwayat penempatan" in body


def test_applying_requires_the_confirmation_step(client_for: Any, unit: Any) -> None:
    area = unit("A0801")
    move = recommend(area).moves[0]
    c = client_for("dba.a0801")
    open_before = Placement.objects.get(user=move.me, valid_to__isnull=True)
    step1 = c.post(_url(area, apply=True), _form(area))
    body = step1.content.decode()
    assert step1.status_code == 200 and "Ya, terapkan" in body and "Batal" in body
    assert f"{move.source.name} → {move.target.name}" in body
    assert Placement.objects.get(user=move.me, valid_to__isnull=True) == open_before
    assert not PlacementDecision.objects.filter(area=area).exists()
    assert not AuditEvent.objects.filter(action="performance.placement_apply").exists()


def test_dba_of_the_area_applies(client_for: Any, unit: Any, get_user: Any) -> None:
    area = unit("A0801")
    move = recommend(area).moves[0]
    c = client_for("dba.a0801")
    response = c.post(_url(area, apply=True), _form(area, confirm="1"))
    assert response.status_code == 302 and response["Location"] == _url(area)
    placed = Placement.objects.get(user=move.me, valid_to__isnull=True)
    assert placed.branch == move.target and placed.valid_from == timezone.localdate()
    decision = PlacementDecision.objects.get(area=area)
    assert decision.decided_by == get_user("dba.a0801") and decision.method == "proportional-score-v1"
    assert [m["me"] for m in decision.moves] == [move.me.username]
    assert AuditEvent.objects.filter(action="performance.placement_apply", object_id=str(decision.pk)).count() == 1
    page = c.get(response["Location"]).content.decode()
    assert "Penempatan diterapkan" in page and move.me.username in page


@pytest.mark.parametrize(
    ("username", "get_status", "post_status"),
    [
        ("dba.a0802", 404, 404),  # another area
        ("pinca.c080101", 404, 404),  # a branch head sees no area
        ("me.c080101.1", 404, 404),
        ("auditor", 200, 403),  # reads, never applies
    ],
)
def test_others_are_refused(client_for: Any, unit: Any, username: str, get_status: int, post_status: int) -> None:
    area = unit("A0801")
    c = client_for(username)
    assert c.get(_url(area)).status_code == get_status
    assert c.post(_url(area, apply=True), _form(area, confirm="1")).status_code == post_status
    assert not PlacementDecision.objects.filter(area=area).exists()


def test_a_branch_is_not_an_area(client_for: Any, unit: Any) -> None:
    assert client_for("dba.a0801").get(_url(unit("C080101"))).status_code == 404
    assert client_for("pinca.c080101").get(_url(unit("C080101"))).status_code == 404


def test_wilayah_needs_a_reason(client_for: Any, unit: Any) -> None:
    area = unit("A0801")
    c = client_for("wil.w08")
    for data in (_form(area), _form(area, confirm="1")):
        response = c.post(_url(area, apply=True), data)
        assert response.status_code == 400
        assert "memerlukan alasan" in response.content.decode()
    assert not PlacementDecision.objects.filter(area=area).exists()
    ok = c.post(_url(area, apply=True), _form(area, reason="Cabang baru dibuka", confirm="1"))
    assert ok.status_code == 302
    assert PlacementDecision.objects.get(area=area).reason == "Cabang baru dibuka"


def test_a_move_no_longer_recommended_is_refused(client_for: Any, unit: Any, get_user: Any) -> None:
    area = unit("A0801")
    stay = get_user("me.c080101.1")  # not among the recommended moves
    assert stay.pk not in [m.me.pk for m in recommend(area).moves]
    response = client_for("dba.a0801").post(_url(area, apply=True), _form(area, moves=[stay.pk], confirm="1"))
    assert response.status_code == 400
    assert "tidak lagi direkomendasikan" in response.content.decode()
    assert not PlacementDecision.objects.filter(area=area).exists()
    empty = client_for("dba.a0801").post(_url(area, apply=True), _form(area, moves=[], confirm="1"))
    assert empty.status_code == 400
