"""The ME placement recommendation (docs/PERFORMANCE-KPI.md, worked example)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from performance import placement
from performance.tests import factories as f

pytestmark = pytest.mark.django_db


def test_worked_example() -> None:
    # Branch weights 40/30/20/10 (institutions of score 10), 6 MEs placed 3/2/1/0.
    area, branches, mes = f.area_with_branches([[10] * 4, [10] * 3, [10] * 2, [10]], [3, 2, 1, 0])
    rec = placement.recommend(area)
    assert rec.weight_basis == "score"
    assert [line.branch for line in rec.lines] == branches
    assert [line.score for line in rec.lines] == [40, 30, 20, 10]
    assert [line.current for line in rec.lines] == [3, 2, 1, 0]
    # Exact quotas 2.4 / 1.8 / 1.2 / 0.6 → floors 2/1/1/0, the two left go to .8 and .6.
    assert [line.recommended for line in rec.lines] == [2, 2, 1, 1]
    assert [line.difference for line in rec.lines] == [-1, 0, 0, 1]
    assert sum(line.recommended for line in rec.lines) == rec.total_mes == 6
    # One move: from branch 1 the ME holding the fewest institutions (the first ME holds none), to branch 4.
    assert [(m.me, m.source, m.target) for m in rec.moves] == [(mes[0][0], branches[0], branches[3])]
    assert rec.moves[0].me_institutions == 0
    assert [line.load_now for line in rec.lines] == [Decimal("1.3"), Decimal("1.5"), Decimal("2.0"), None]
    assert [line.load_after for line in rec.lines] == [Decimal("2.0"), Decimal("1.5"), Decimal("2.0"), Decimal("1.0")]
    assert rec.basis()["method"] == placement.METHOD


def test_ties_go_to_the_earlier_branch() -> None:
    area, branches, mes = f.area_with_branches([[50], [50], [50]], [1, 1, 0], code="AX98")
    rec = placement.recommend(area)
    # 2 MEs over three equal weights: quotas .67 each, the earlier branches (by code) win the ties.
    assert [line.recommended for line in rec.lines] == [1, 1, 0]
    assert rec.moves == []


def test_all_zero_scores_fall_back_to_counts_then_equal() -> None:
    area, _b, _m = f.area_with_branches([[0, 0, 0], [0], []], [0, 2, 2], code="AX97")
    rec = placement.recommend(area)
    assert rec.weight_basis == "count"
    assert [line.recommended for line in rec.lines] == [3, 1, 0]
    assert len(rec.moves) == 3
    assert {m.target for m in rec.moves} == {rec.lines[0].branch, rec.lines[1].branch} or all(
        m.target == rec.lines[0].branch for m in rec.moves
    )
    empty, _b, _m = f.area_with_branches([[], [], []], [3, 0, 0], code="AX96")
    rec = placement.recommend(empty)
    assert rec.weight_basis == "equal"
    assert [line.recommended for line in rec.lines] == [1, 1, 1]
    assert [m.target.code for m in rec.moves] == ["AX96B2", "AX96B3"]


def test_refuses_a_non_area(unit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        placement.recommend(unit("C080101"))
