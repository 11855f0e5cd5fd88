"""The ME placement recommendation for an area (kedudukan ME).

Method ("proportional-score-v1", worked example in docs/PERFORMANCE-KPI.md):

1. Each branch of the area weighs the potential in its reach: the sum of the
   potential scores (0–100) of its live institutions. When every branch weighs
   0, the institution counts are used; when there are none either, all weigh 1.
2. The area's MEs placed now (N) are shared out in proportion to the weights by
   the largest-remainder method: branch b gets floor(N × w_b / Σw), and the MEs
   left over go one each to the largest fractional remainders.
3. The difference (recommended − current) tells where MEs are missing or in
   surplus. Moves take MEs from surplus branches, starting with the ME holding
   the fewest institutions (least work to hand over; then the lower id), and
   send them to the branches missing the most (then the higher weight, then code).
4. Load = institutions per ME, now and after the moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from org.models import OrgUnit, Placement, UnitKind, User
from performance.distribution import largest_remainder

METHOD = "proportional-score-v1"


@dataclass
class BranchLine:
    branch: OrgUnit
    score: int
    institutions: int
    mes: list[User] = field(default_factory=list)
    recommended: int = 0

    @property
    def current(self) -> int:
        return len(self.mes)

    @property
    def difference(self) -> int:
        return self.recommended - self.current

    @property
    def load_now(self) -> Decimal | None:
        return (Decimal(self.institutions) / self.current).quantize(Decimal("0.1")) if self.current else None

    @property
    def load_after(self) -> Decimal | None:
        return (Decimal(self.institutions) / self.recommended).quantize(Decimal("0.1")) if self.recommended else None


@dataclass
class Move:
    me: User
    source: OrgUnit
    target: OrgUnit
    me_institutions: int = 0


@dataclass
class Recommendation:
    area: OrgUnit
    lines: list[BranchLine]
    moves: list[Move]
    weight_basis: str  # "score", "count" or "equal"

    @property
    def total_mes(self) -> int:
        return sum(line.current for line in self.lines)

    def basis(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "weight": self.weight_basis,
            "branches": {
                line.branch.code: {
                    "score": line.score,
                    "institutions": line.institutions,
                    "current": line.current,
                    "recommended": line.recommended,
                }
                for line in self.lines
            },
        }


def recommend(area: OrgUnit) -> Recommendation:
    """Recommendation for the area's branches (a fixed number of queries)."""
    from institutions.models import Institution, InstitutionStatus

    if area.kind != UnitKind.AREA:
        raise ValueError("placement is decided per area")
    branches = list(OrgUnit.objects.filter(parent=area, kind=UnitKind.CABANG, is_active=True).order_by("code"))
    ids = [b.pk for b in branches]
    live = Institution.objects.filter(branch_id__in=ids).exclude(status=InstitutionStatus.DIGABUNG)
    potential = {
        r["branch_id"]: (r["s"] or 0, r["n"]) for r in live.values("branch_id").annotate(s=Sum("score"), n=Count("id"))
    }
    placements = (
        Placement.objects.filter(valid_to__isnull=True, branch_id__in=ids).select_related("user").order_by("user_id")
    )
    held = {
        r["me_id"]: r["n"]
        for r in live.filter(me__isnull=False).values("me_id").annotate(n=Count("id", filter=Q(branch_id__in=ids)))
    }
    lines = {b.pk: BranchLine(b, *potential.get(b.pk, (0, 0))) for b in branches}
    for p in placements:
        lines[p.branch_id].mes.append(p.user)
    ordered = list(lines.values())
    total = sum(line.current for line in ordered)
    basis = "score"
    w = [Decimal(line.score) for line in ordered]
    if not any(w):
        basis = "count"
        w = [Decimal(line.institutions) for line in ordered]
        if not any(w):
            basis = "equal"
            w = [Decimal(1)] * len(ordered)
    for line, share in zip(ordered, largest_remainder(total, w), strict=True):
        line.recommended = int(share)
    moves: list[Move] = []
    leaving: list[tuple[User, BranchLine]] = []
    for line in ordered:
        if line.difference < 0:
            candidates = sorted(line.mes, key=lambda u: (held.get(u.pk, 0), u.pk))
            leaving.extend((u, line) for u in candidates[: -line.difference])
    needing = sorted(
        (line for line in ordered if line.difference > 0), key=lambda x: (-x.difference, -x.score, x.branch.code)
    )
    queue = iter(leaving)
    for line in needing:
        for _i in range(line.difference):
            me, source = next(queue)
            moves.append(Move(me, source.branch, line.branch, held.get(me.pk, 0)))
    return Recommendation(area, ordered, moves, basis)
