"""Reads of the org tree that users see, always through the access policy."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from org.access import filter_to_scope, unit_in_scope, visible_units
from org.models import OrgUnit, RoleAssignment, UnitKind


def _active_q(prefix: str = "") -> Q:
    day = timezone.localdate()
    return Q(**{f"{prefix}valid_from__lte": day}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gt": day})
    )


def with_counts(qs: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate each unit with its direct children, the people posted to it and
    the people in its whole subtree — correlated subqueries, so one query for
    the whole list whatever its length."""
    people_here = (
        RoleAssignment.objects.filter(_active_q(), unit=OuterRef("pk"))
        .order_by()
        .values("unit")
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    people_subtree = (
        RoleAssignment.objects.filter(_active_q(), unit__path__startswith=OuterRef("path"))
        .order_by()
        .annotate(g=Value(1))
        .values("g")
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    children = (
        OrgUnit.objects.filter(parent=OuterRef("pk"))
        .order_by()
        .annotate(g=Value(1))
        .values("g")
        .annotate(n=Count("id"))
        .values("n")
    )
    return qs.annotate(
        people_count=Coalesce(Subquery(people_here, output_field=IntegerField()), 0),
        subtree_people_count=Coalesce(Subquery(people_subtree, output_field=IntegerField()), 0),
        children_count=Coalesce(Subquery(children, output_field=IntegerField()), 0),
    )


def unit_children(user: Any, unit: OrgUnit) -> QuerySet[OrgUnit]:
    return with_counts(visible_units(user).filter(parent=unit)).order_by("kind", "code")


def tree_roots(user: Any) -> QuerySet[OrgUnit]:
    """The top of what the user sees: the units whose parent they cannot see."""
    from org.access import scope_path

    path = scope_path(user)
    if path is None:
        return OrgUnit.objects.none()
    if path == "":
        return with_counts(OrgUnit.objects.filter(parent__isnull=True))
    return with_counts(OrgUnit.objects.filter(path=path))


def unit_ancestors(user: Any, unit: OrgUnit) -> list[dict[str, Any]]:
    """Breadcrumbs: every ancestor by its name, linkable only when in scope (one query)."""
    codes = unit.path_codes[:-1]
    by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    crumbs = []
    for code in codes:
        u = by_code.get(code)
        if u is not None:
            crumbs.append({"unit": u, "linkable": unit_in_scope(user, u)})
    return crumbs


def unit_people(user: Any, unit: OrgUnit) -> QuerySet[RoleAssignment]:
    return (
        filter_to_scope(RoleAssignment.objects.filter(_active_q(), unit=unit), user)
        .select_related("user")
        .order_by("role", "user__last_name", "user__first_name")
    )


def scope_kind_counts(user: Any) -> dict[str, int]:
    rows = visible_units(user).values("kind").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(UnitKind.values, 0)
    for row in rows:
        counts[row["kind"]] = row["n"]
    return counts


def org_units_for_api(user: Any, *, kind: str | None = None, parent: int | None = None) -> QuerySet[OrgUnit]:
    qs = visible_units(user).select_related("parent")
    if kind:
        qs = qs.filter(kind=kind)
    if parent:
        qs = qs.filter(parent_id=parent)
    return qs.order_by("path")
