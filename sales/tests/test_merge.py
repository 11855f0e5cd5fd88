"""Merging duplicate institutions when both hold a Club Point Reward membership."""

from __future__ import annotations

from typing import Any

import pytest

from institutions.models import Institution
from institutions.services import institution_merge
from sales.models import PointRewardMembership

pytestmark = pytest.mark.django_db


def _member(inst: Institution, code: str, earned: int, redeemed: int) -> PointRewardMembership:
    PointRewardMembership.objects.filter(institution=inst).delete()
    return PointRewardMembership.objects.create(
        institution=inst,
        member_code=code,
        points_earned=earned,
        points_redeemed=redeemed,
        branch_id=inst.branch_id,
        area_id=inst.area_id,
        region_id=inst.region_id,
    )


def test_points_are_folded_into_the_survivor(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    dup, surv = list(Institution.objects.live().filter(me=me).order_by("id")[:2])
    _member(dup, "CPR-TEST-1", 300, 100)
    _member(surv, "CPR-TEST-2", 1000, 250)
    institution_merge(actor=get_user("pinca.c080101"), duplicate=dup, survivor=surv, reason="Duplikat")
    kept = PointRewardMembership.objects.get(institution=surv)
    assert (kept.points_earned, kept.points_redeemed) == (1300, 350)
    assert not PointRewardMembership.objects.filter(member_code="CPR-TEST-1").exists()
