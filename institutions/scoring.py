"""The potential score of an institution (0–100) and why it is what it is.

The formula is documented in docs/POTENTIAL_SCORE.md and shown on the
institution page; change both together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.geo import haversine_km

# Points available per component (they add up to 100).
SIZE_POINTS = 30
TYPE_POINTS = 20
VALUE_POINTS = 35
DISTANCE_POINTS = 15

# Size and value count on a log scale between a floor (no points) and a ceiling
# (full points): 10 → 10,000 employees/members; Rp 10 juta → Rp 50 miliar.
SIZE_FLOOR, SIZE_FULL_AT = 10, 10_000
VALUE_FLOOR, VALUE_FULL_AT = 10_000_000, 50_000_000_000
# Full distance points up to NEAR_KM, none from FAR_KM, linear in between.
NEAR_KM = 5.0
FAR_KM = 50.0
# Without coordinates: the same regency as the branch counts as this many km, the
# same province as this many, elsewhere as FAR_KM.
SAME_REGENCY_KM = 10.0
SAME_PROVINCE_KM = 35.0

# How readily members of each type become customers (payroll access, group
# decisions, reachable through one leadership): 0–1 of TYPE_POINTS.
TYPE_WEIGHT: dict[str, float] = {
    "BUMN_BUMD": 1.0,
    "INSTANSI": 0.9,
    "TNI_POLRI": 0.9,
    "SWASTA": 0.8,
    "PERGURUAN_TINGGI": 0.7,
    "ARMADA": 0.7,
    "KOPERASI": 0.6,
    "SEKOLAH": 0.5,
    "PESANTREN": 0.5,
    "ASOSIASI": 0.5,
    "KOMUNITAS": 0.4,
    "BUMDES": 0.4,
}


@dataclass(frozen=True)
class ScorePart:
    label: Any
    points: float
    out_of: int
    basis: Any


@dataclass(frozen=True)
class Score:
    total: int
    distance_km: float | None
    distance_estimated: bool
    parts: list[ScorePart]


def _log_share(value: float, floor: float, full_at: float) -> float:
    if value <= floor:
        return 0.0
    return min(1.0, math.log10(value / floor) / math.log10(full_at / floor))


def distance_to_branch(
    *,
    latitude: Decimal | float | None,
    longitude: Decimal | float | None,
    regency_code: str,
    branch_latitude: Decimal | float | None,
    branch_longitude: Decimal | float | None,
    branch_regency_code: str,
) -> tuple[float, bool]:
    """(km, estimated): the great-circle distance when both ends have
    coordinates, else an estimate from the regency/province codes."""
    if None not in (latitude, longitude, branch_latitude, branch_longitude):
        km = haversine_km(float(latitude), float(longitude), float(branch_latitude), float(branch_longitude))  # type: ignore[arg-type]
        return round(km, 1), False
    if branch_regency_code and regency_code == branch_regency_code:
        return SAME_REGENCY_KM, True
    if branch_regency_code and regency_code[:2] == branch_regency_code[:2]:
        return SAME_PROVINCE_KM, True
    return FAR_KM, True


def compute(
    *,
    member_count: int,
    type: str,
    potential_value: Decimal | int | float,
    latitude: Decimal | float | None,
    longitude: Decimal | float | None,
    regency_code: str,
    branch: Any,
) -> Score:
    km, estimated = distance_to_branch(
        latitude=latitude,
        longitude=longitude,
        regency_code=regency_code,
        branch_latitude=getattr(branch, "latitude", None),
        branch_longitude=getattr(branch, "longitude", None),
        branch_regency_code=getattr(branch, "regency_code", "") or "",
    )
    size = SIZE_POINTS * _log_share(member_count or 0, SIZE_FLOOR, SIZE_FULL_AT)
    kind = TYPE_POINTS * TYPE_WEIGHT.get(type, 0.4)
    value = VALUE_POINTS * _log_share(float(potential_value or 0), VALUE_FLOOR, VALUE_FULL_AT)
    if km <= NEAR_KM:
        near = 1.0
    elif km >= FAR_KM:
        near = 0.0
    else:
        near = (FAR_KM - km) / (FAR_KM - NEAR_KM)
    distance = DISTANCE_POINTS * near
    parts = [
        ScorePart(_("Ukuran (pegawai/anggota)"), round(size, 1), SIZE_POINTS, member_count or 0),
        ScorePart(_("Jenis lembaga"), round(kind, 1), TYPE_POINTS, TYPE_WEIGHT.get(type, 0.4)),
        ScorePart(_("Estimasi nilai potensi"), round(value, 1), VALUE_POINTS, potential_value or 0),
        ScorePart(_("Jarak ke cabang"), round(distance, 1), DISTANCE_POINTS, km),
    ]
    total = max(0, min(100, round(size + kind + value + distance)))
    return Score(total=total, distance_km=km if not estimated else None, distance_estimated=estimated, parts=parts)


def for_institution(inst: Any) -> Score:
    return compute(
        member_count=inst.member_count,
        type=inst.type,
        potential_value=inst.potential_value,
        latitude=inst.latitude,
        longitude=inst.longitude,
        regency_code=inst.regency_code,
        branch=inst.branch,
    )
