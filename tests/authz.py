"""Shared pieces of the authorisation matrix: the demo user of each role and
the ``Endpoint`` shape every module uses to list its endpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# One demo user per role, the unit they act in, and a unit outside their scope
# (None for the roles that see the whole network).
ROLES: dict[str, tuple[str, str, str | None]] = {
    "ADMIN": ("admin", "PST", None),
    "PUSAT": ("pusat", "UK-BK", None),
    "AUDITOR": ("auditor", "UK-SPI", None),
    "MITRA": ("mitra.pms", "UK-PMS", None),
    "WILAYAH": ("wil.w08", "W08", "W10"),
    "DBA": ("dba.a0801", "A0801", "A0802"),
    "PINCA": ("pinca.c080101", "C080101", "C080102"),
    "ME": ("me.c080101.1", "C080101", "C100101"),
    "SALES": ("sales.c080101.1", "C080101", "C080201"),
    "KARYAWAN": ("kry.c080101", "C080101", "C100201"),
    "AGEN": ("agen.c080101", "C080101", "C080103"),
}
SEES_AUDIT = {"ADMIN", "AUDITOR"}
MOVES_UNITS = {"ADMIN"}


@dataclass(frozen=True)
class Endpoint:
    name: str  # URL name, namespaced
    method: str
    path: Callable[[dict[str, Any]], str]
    expect: Callable[[str, bool], int]  # (role, in_scope) -> status
    data: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    anonymous: int = 302
    uses_object: bool = False
    json: bool = False


def ok(role: str, in_scope: bool) -> int:
    return 200


def scoped_ok(role: str, in_scope: bool) -> int:
    return 200 if in_scope else 404


def redirect(role: str, in_scope: bool) -> int:
    return 302


def audit_only(role: str, in_scope: bool) -> int:
    return 200 if role in SEES_AUDIT else 403


def move_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in MOVES_UNITS else 403
