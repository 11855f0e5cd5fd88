"""Splitting a parent's target among its children."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from org.models import OrgUnit
from performance import distribution
from performance.distribution import largest_remainder
from performance.periods import Period, PeriodKind


def test_largest_remainder_adds_up_exactly() -> None:
    rng = random.Random(6)
    for _i in range(2000):
        n = rng.randrange(1, 12)
        weights = [rng.choice([0, 0, 1, 3, 7, rng.randrange(10**6)]) for _j in range(n)]
        total = rng.choice([0, 1, 5, rng.randrange(10**4), rng.randrange(10**15)])
        parts = largest_remainder(total, weights)
        assert sum(parts) == total
        assert all(p >= 0 and p == p.to_integral_value() for p in parts)
        if any(weights):
            exact = [Decimal(total) * w / sum(weights) for w in weights]
            assert all(abs(p - e) < 1 for p, e in zip(parts, exact, strict=True))
            assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


def test_largest_remainder_worked_example_and_ties() -> None:
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]  # tie: the earlier child
    assert largest_remainder(10, [5, 3, 2]) == [5, 3, 2]
    assert largest_remainder(7, [40, 30, 20, 10]) == [3, 2, 1, 1]  # 2.8/2.1/1.4/.7
    assert largest_remainder(5, [0, 0]) == [3, 2]  # all-zero weights: equal
    assert largest_remainder(5, []) == []
    assert largest_remainder(Decimal("10.5"), [1, 1]) == [Decimal("5.5"), Decimal(5)]
    with pytest.raises(ValueError):
        largest_remainder(5, [1, -1])


@pytest.mark.django_db
def test_methods_on_a_small_example() -> None:
    from performance.tests import factories as f

    area, branches, _m = f.area_with_branches([[30, 30], [20], [0]], [1, 1, 1], code="AX95")
    period = Period.of(timezone.localdate(), PeriodKind.YEAR)
    kw: dict[str, Any] = {"kpi": "closing_count", "period": period, "children": branches, "parent": area}
    assert distribution.distribute("equal", total=Decimal(10), **kw) == [4, 3, 3]
    assert distribution.distribute("potential", total=Decimal(10), **kw) == [8, 2, 0]  # weights 60/20/0
    # A ratio KPI is copied, not split.
    ratio = dict(kw, kpi="lead_conversion")
    assert distribution.distribute("potential", total=Decimal("85.5"), **ratio) == [Decimal("85.5")] * 3


@pytest.mark.django_db
def test_last_year_follows_last_years_share() -> None:
    from performance import achievement
    from performance.tests import factories as f

    f.build_facts()
    area = OrgUnit.objects.get(code="A0801")
    children = list(OrgUnit.objects.filter(parent=area, is_active=True).order_by("code"))
    period = Period.of(timezone.localdate(), PeriodKind.YEAR)
    last = achievement.for_unit(area, period.previous_year(), codes=("closing_count",))
    shares = [line.figures["closing_count"].value for line in last.children]
    assert sum(shares) > 0
    got = distribution.distribute(
        "last_year", kpi="closing_count", period=period, total=Decimal(1000), children=children, parent=area
    )
    assert got == largest_remainder(1000, shares)
    assert sum(got) == 1000
