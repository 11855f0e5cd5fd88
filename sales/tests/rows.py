"""Small helpers for tests of closings: valid BtoC/BtoB rows (the dicts
``sales.ingest.ingest`` takes, keyed by ``COLUMNS``) and channel-registry
objects written straight to the test database.

Every row builder returns a row that passes every attribution rule as it is;
a test changes one value (keyword overrides) to break exactly one rule.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from institutions.models import Institution
from org.models import OrgUnit, Role, RoleAssignment, User
from sales.models import (
    ClosingSummary,
    CorporateAgent,
    FleetScheme,
    IndividualAgent,
    PmpFacility,
    PointRewardMembership,
    Source,
)

SOURCE = Source.CORE_GADAI
_serial = itertools.count(1)


def yesterday() -> date:
    return timezone.localdate() - timedelta(days=1)


def branch(code: str) -> OrgUnit:
    return OrgUnit.objects.select_related("parent").get(code=code)


def owned(branch_unit: OrgUnit) -> dict[str, Any]:
    """branch/area/region of a record owned by ``branch_unit`` (OwnedByBranch)."""
    area = branch_unit.parent
    assert area is not None
    return {"branch": branch_unit, "area_id": area.pk, "region_id": area.parent_id}


def user_with_role(branch_code: str, role: str) -> User:
    """A user with an active posting of ``role`` at the branch (demo data)."""
    ra = (
        RoleAssignment.objects.active()
        .filter(unit__code=branch_code, role=role, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    assert ra is not None, f"no {role} at {branch_code} in the demo data"
    return ra.user


def sales_user(branch_code: str = "C080101") -> User:
    return user_with_role(branch_code, Role.SALES)


def employee(branch_code: str = "C080101") -> User:
    return user_with_role(branch_code, Role.KARYAWAN)


def institution(branch_code: str = "C080101", *, skip: int = 0) -> Institution:
    """A live institution of the branch with its ME (a BtoB closing needs one) and
    no channel registry entry yet (demo data may have given some institutions one)."""
    return (
        Institution.objects.live()
        .filter(
            branch__code=branch_code,
            me__isnull=False,
            me__is_active=True,
            fleet_schemes__isnull=True,
            point_reward__isnull=True,
            pmp__isnull=True,
            corporate_agents__isnull=True,
            individual_agents__isnull=True,
        )
        .select_related("me", "branch")
        .distinct()
        .order_by("pk")[skip]
    )


def row(**values: Any) -> dict[str, Any]:
    """A valid BtoC row: sales team of C080101, Gadai KCA, Rp 1.500.000, yesterday."""
    base: dict[str, Any] = {
        "external_id": f"T{next(_serial):07d}",
        "closed_on": yesterday().isoformat(),
        "branch": "C080101",
        "upc": "",
        "product": "GADAI_KCA",
        "amount": "1500000",
        "grams": "",
        "new_customer": "ya",
        "customer_ref": "3201234567890123",
        "scheme": "BTOC",
        "channel": "SALES_TEAM",
        "institution": "",
        "cross_branch_rule": "",
        "initiator_kind": "SALES",
        "initiator": "sales.c080101.1",
        "agent": "",
        "lead": "",
    }
    base.update(values)
    return base


def btoc_row(**values: Any) -> dict[str, Any]:
    return row(**values)


def btob_row(inst: Institution, **values: Any) -> dict[str, Any]:
    """A valid BtoB row (BTOB_LAINNYA) at the institution's branch, initiated by its ME."""
    base = {
        "scheme": "BTOB",
        "channel": "BTOB_LAINNYA",
        "branch": inst.branch.code,
        "institution": str(inst.pk),
        "initiator_kind": "ME",
        "initiator": inst.me.username if inst.me else "",
    }
    base.update(values)
    return row(**base)


def numbered(prefix: str, numbers: range, **values: Any) -> list[dict[str, Any]]:
    """Rows ``<prefix>-0001`` … for every number (the same numbers give the same rows)."""
    return [row(external_id=f"{prefix}-{n:04d}", amount=str(1000 * n), **values) for n in numbers]


# --- Registry objects ------------------------------------------------------------------------


def individual_agent(
    inst: Institution | None = None, *, branch_code: str = "C080101", code: str = ""
) -> IndividualAgent:
    return IndividualAgent.objects.create(
        code=code or f"AP{next(_serial):06d}",
        name="Agen Uji",
        institution=inst,
        **owned(branch(inst.branch.code if inst else branch_code)),
    )


def corporate_agent(inst: Institution, *, code: str = "") -> CorporateAgent:
    return CorporateAgent.objects.create(
        code=code or f"AB{next(_serial):06d}", institution=inst, **owned(branch(inst.branch.code))
    )


def fleet(inst: Institution) -> FleetScheme:
    return FleetScheme.objects.create(
        operator=inst, name="Armada Uji", fleet_size=10, vehicles_financed=3, **owned(branch(inst.branch.code))
    )


def point_reward(inst: Institution) -> PointRewardMembership:
    return PointRewardMembership.objects.create(
        institution=inst, member_code=f"CPR{next(_serial):06d}", points_earned=100, **owned(branch(inst.branch.code))
    )


def pmp(inst: Institution) -> PmpFacility:
    return PmpFacility.objects.create(
        borrower=inst,
        reference=f"PMP{next(_serial):06d}",
        ceiling=Decimal(500_000_000),
        **owned(branch(inst.branch.code)),
    )


def summary_totals() -> dict[tuple[Any, ...], tuple[int, Decimal, Decimal, int]]:
    """The kept summary as {key: (count, amount, grams, new customers)}, zero rows left out."""
    return {
        (s.day, s.branch_id, s.scheme, s.channel, s.product): (
            s.count,
            Decimal(s.amount),
            Decimal(s.grams).quantize(Decimal("0.0001")),
            s.new_customers,
        )
        for s in ClosingSummary.objects.all()
        if s.count or s.amount or s.grams or s.new_customers
    }
