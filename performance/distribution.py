"""Splitting a parent's target among its children (the distribution helper)
and the proportional allocation the placement recommendation uses.

Both use the largest-remainder method (Hamilton): each child gets the whole
part of its exact share, and the units left over go, one each, to the
children with the largest fractional remainders (ties: the earlier child in
the given order). The parts therefore always add up to the total exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _

from performance.kpis import KPI_BY_CODE
from performance.periods import Period

METHODS = {
    "equal": _("Rata"),
    "potential": _("Menurut potensi (skor lembaga)"),
    "last_year": _("Menurut porsi tahun lalu"),
}


def largest_remainder(
    total: Decimal | int, weights: Sequence[Decimal | int], *, step: Decimal = Decimal(1)
) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` into multiples of ``step`` that add up to ``total``.
    All-zero weights split equally."""
    total = Decimal(total)
    n = len(weights)
    if n == 0:
        return []
    w = [Decimal(x) for x in weights]
    if any(x < 0 for x in w):
        raise ValueError("negative weight")
    if sum(w) == 0:
        w = [Decimal(1)] * n
    units = (total / step).to_integral_value(rounding=ROUND_FLOOR)
    whole_sum = sum(w)
    exact = [units * x / whole_sum for x in w]
    parts = [e.to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    left = int(units - sum(parts))
    order = sorted(range(n), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    out = [p * step for p in parts]
    # A total that is not a multiple of the step: the rest goes to the first largest share.
    rest = total - sum(out)
    if rest:
        out[order[0] if order else 0] += rest
    return out


def weights(method: str, *, kpi: str, period: Period, children: Sequence[Any], parent: Any) -> list[Decimal]:
    """Each child's weight for ``method``: 1 each (equal); the sum of its live
    institutions' potential scores (potential); its achievement of the KPI in
    the same period last year (last_year)."""
    from institutions.models import Institution, InstitutionStatus
    from org.models import OrgUnit, UnitKind
    from performance import achievement

    if method == "equal":
        return [Decimal(1)] * len(children)
    if method == "potential":
        live = Institution.objects.exclude(status=InstitutionStatus.DIGABUNG)
        if children and isinstance(children[0], OrgUnit):
            column = achievement.LEVEL_COLUMN[children[0].kind]  # type: ignore[index]
            rows = live.filter(**{f"{column}__in": [c.pk for c in children]}).values(column)
            sums = {r[column]: r["s"] or 0 for r in rows.annotate(s=Sum("score")).order_by()}
        else:
            rows = live.filter(me__in=[c.pk for c in children], branch=parent).values("me")
            sums = {r["me"]: r["s"] or 0 for r in rows.annotate(s=Sum("score"), n=Count("id")).order_by()}
        return [Decimal(sums.get(c.pk, 0)) for c in children]
    if method == "last_year":
        last = period.previous_year()
        if parent.kind == UnitKind.CABANG:
            result = achievement.for_unit(parent, last, last.last_day, codes=(kpi,))
        else:
            result = achievement.for_unit(parent, last, last.last_day, codes=(kpi,))
        by_key = {getattr(line.key, "pk", None): line.figures[kpi].value for line in result.children}
        return [Decimal(by_key.get(c.pk, 0)) for c in children]
    raise ValueError(method)


def distribute(
    method: str, *, kpi: str, period: Period, total: Decimal, children: Sequence[Any], parent: Any
) -> list[Decimal]:
    """The children's targets proposed by ``method`` for a parent target ``total``.
    A ratio KPI (a percentage) is not split: each child gets the parent's figure."""
    if KPI_BY_CODE[kpi].is_ratio:
        return [Decimal(total)] * len(children)
    w = weights(method, kpi=kpi, period=period, children=children, parent=parent)
    return largest_remainder(total, w)


def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
