"""Test data built through the real services (permissions and audit included)."""

from __future__ import annotations

import itertools
from typing import Any

from institutions import services
from institutions.models import Institution
from org.models import OrgUnit

_seq = itertools.count(1)

# Regency of each demo branch family used in tests (Jakarta Pusat / Kota Bandung).
REGENCY = {"31": "31.71", "32": "32.73"}


def make_institution(
    *, branch: str | OrgUnit = "C080101", name: str | None = None, actor: Any = None, **extra: Any
) -> Institution:
    unit = branch if isinstance(branch, OrgUnit) else OrgUnit.objects.get(code=branch)
    n = next(_seq)
    values: dict[str, Any] = {
        "name": name or f"Koperasi Uji Coba Nomor {n} Sejahtera",
        "type": "KOPERASI",
        "province_code": "31",
        "regency_code": "31.71",
        "member_count": 250,
        "potential_value": 500_000_000,
        "confirm_distinct": True,
    }
    values.update(extra)
    return services.institution_create(actor=actor, branch=unit, **values)
