"""Reads of the org tree that users see, always through the access policy."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Count, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from org.access import filter_to_scope, unit_in_scope, visible_units
from org.models import PATH_SEPARATOR, OrgUnit, RoleAssignment, UnitKind


def _active_q(prefix: str = "") -> Q:
    day = timezone.localdate()
    return Q(**{f"{prefix}valid_from__lte": day}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gt": day})
    )


class PathWithin(Func):
    """``PathWithin(path, root_path)``: the path lies in the subtree whose path is
    ``root_path`` (a prefix of it), where ``root_path`` is a column (``OuterRef``).

    ``path__startswith=OuterRef(...)`` becomes ``LIKE <column> || '%'``, which no
    index can serve, so a correlated subtree count scanned the whole unit table
    once per row. On PostgreSQL this is a byte-wise range instead,
    ``path ~>=~ root AND path ~<~ root-with-its-last-"/"-bumped``, which the
    ``varchar_pattern_ops`` path index serves; elsewhere a plain prefix compare."""

    arity = 2
    output_field = BooleanField()

    def _sides(self, compiler: Any, connection: Any) -> tuple[str, list[Any], str, list[Any]]:
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        rhs, rhs_params = compiler.compile(self.source_expressions[1])
        return lhs, list(lhs_params), rhs, list(rhs_params)

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        lhs, lp, rhs, rp = self._sides(compiler, connection)
        return f"SUBSTR({lhs}, 1, LENGTH({rhs})) = {rhs}", [*lp, *rp, *rp]

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        lhs, lp, rhs, rp = self._sides(compiler, connection)
        # Paths end with the separator, so "under root" = [root, root[:-1] + next char).
        after_separator = chr(ord(PATH_SEPARATOR) + 1)
        return f"({lhs} ~>=~ {rhs} AND {lhs} ~<~ (LEFT({rhs}, -1) || %s))", [*lp, *rp, *lp, *rp, after_separator]


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
        RoleAssignment.objects.filter(_active_q(), PathWithin("unit__path", OuterRef("path")))
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
