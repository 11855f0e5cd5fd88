"""The access policy: the one place that decides who sees and does what.

Visibility follows the org tree. A user acts through one *active* role
assignment (chosen in the header). What they see is the subtree of a *scope
root*:

* Pusat, Auditor, Admin, Mitra unit — the whole network;
* Wilayah — its region; DBA — its area;
* Pinca, ME, Sales, Karyawan, Agen — their branch (a UPC role sees its branch).

Reads: every selector filters through :func:`scope_path` /
:func:`filter_to_scope`; a fetch by id goes through a ``get_<obj>_for_user``
helper which answers 404 outside the scope. Actions are ``rules`` permissions
declared at the bottom of this module and asked with ``user.has_perm(action,
obj)``; a visible object with a forbidden action answers 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from org.models import PATH_SEPARATOR, OrgUnit, Role, RoleAssignment, UnitKind

if TYPE_CHECKING:
    from org.models import User

M = TypeVar("M", bound=Model)

ALL_SEEING_ROLES = frozenset({Role.PUSAT, Role.AUDITOR, Role.ADMIN, Role.MITRA})
BRANCH_ROLES = frozenset({Role.PINCA, Role.ME, Role.SALES, Role.KARYAWAN, Role.AGEN})

_CACHE_ATTR = "_sinergi_active_assignment"
_ROOT_CACHE_ATTR = "_sinergi_scope_root"


# --- The active role ----------------------------------------------------------------


def active_assignments(user: Any) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.active().filter(user=user).select_related("unit").order_by("valid_from", "id")


def active_assignment(user: Any) -> RoleAssignment | None:
    """The role the user acts in now: the remembered one if still valid, else
    their first valid one. Cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, _CACHE_ATTR, False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    chosen = None
    if user.current_assignment_id:
        chosen = active_assignments(user).filter(pk=user.current_assignment_id).first()
    if chosen is None:
        chosen = active_assignments(user).first()
    setattr(user, _CACHE_ATTR, chosen)
    return chosen


def forget_active_assignment(user: Any) -> None:
    for attr in (_CACHE_ATTR, _ROOT_CACHE_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def active_role(user: Any) -> str | None:
    a = active_assignment(user)
    return a.role if a else None


def active_unit(user: Any) -> OrgUnit | None:
    a = active_assignment(user)
    return a.unit if a else None


# --- Scope ------------------------------------------------------------------------


def scope_path(user: Any) -> str | None:
    """Path prefix of the subtree the user may see: ``""`` for all, ``None`` for nothing."""
    a = active_assignment(user)
    if a is None:
        return None
    if a.role in ALL_SEEING_ROLES:
        return ""
    unit = a.unit
    if a.role in BRANCH_ROLES and unit.kind == UnitKind.UPC:
        # A UPC belongs to its branch: the branch is the scope.
        return PATH_SEPARATOR.join(unit.path_codes[:-1]) + PATH_SEPARATOR
    return unit.path


def scope_root(user: Any) -> OrgUnit | None:
    """The highest unit the user sees (the Pusat root for the all-seeing roles).
    Cached on the user object for the request, beside the active assignment."""
    path = scope_path(user)
    if path is None:
        return None
    cached = getattr(user, _ROOT_CACHE_ATTR, None)
    if cached is not None and cached[0] == path:
        return cached[1]  # type: ignore[no-any-return]
    if path == "":
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("id").first()
    else:
        root = OrgUnit.objects.filter(path=path).first()
    if user is not None and getattr(user, "is_authenticated", False):
        setattr(user, _ROOT_CACHE_ATTR, (path, root))
    return root


def filter_to_scope(qs: QuerySet[M], user: Any, *, path_field: str = "unit__path") -> QuerySet[M]:
    """Restrict any queryset whose rows belong to a unit to the user's subtree."""
    path = scope_path(user)
    if path is None:
        return qs.none()
    if path == "":
        return qs
    return qs.filter(**{f"{path_field}__startswith": path})


def visible_units(user: Any) -> QuerySet[OrgUnit]:
    return filter_to_scope(OrgUnit.objects.all(), user, path_field="path")


def unit_in_scope(user: Any, unit: OrgUnit | None) -> bool:
    path = scope_path(user)
    return unit is not None and path is not None and unit.path.startswith(path)


def get_unit_for_user(user: Any, pk: Any, *, action: str | None = None) -> OrgUnit:
    """404 when the unit is outside the user's scope; 403 when ``action`` is given
    and not allowed on it."""
    try:
        unit = visible_units(user).select_related("parent").get(pk=int(pk))
    except (OrgUnit.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
    if action and not user.has_perm(action, unit):
        raise PermissionDenied
    return unit


def visible_people_assignments(user: Any) -> QuerySet[RoleAssignment]:
    return filter_to_scope(RoleAssignment.objects.all(), user)


# --- Records owned by a branch (institutions, and later activities, closings…) -------------


def filter_owned_to_scope(
    qs: QuerySet[M], user: Any, *, branch: str = "branch", area: str = "area", region: str = "region"
) -> QuerySet[M]:
    """Scope rows that carry their branch, area and region ids (denormalised) by
    one indexed equality on the id of the user's scope root, not a path join."""
    root = scope_root(user)
    path = scope_path(user)
    if path is None or root is None:
        return qs.none()
    if path == "":
        return qs
    field = {UnitKind.CABANG: branch, UnitKind.AREA: area, UnitKind.WILAYAH: region}.get(root.kind)  # type: ignore[call-overload]
    if field is None:
        return qs.filter(**{f"{branch}__path__startswith": path})
    return qs.filter(**{f"{field}_id": root.pk})


def visible_institutions(user: Any) -> QuerySet[Any]:
    from institutions.models import Institution

    return filter_owned_to_scope(Institution.objects.live(), user)


def get_institution_for_user(user: Any, pk: Any, *, action: str | None = None, queryset: Any = None) -> Any:
    """404 outside the scope (or merged away); 403 when ``action`` is not allowed."""
    from institutions.models import Institution

    qs = queryset if queryset is not None else visible_institutions(user)
    try:
        inst = qs.select_related("branch", "area", "region", "me", "parent").get(pk=int(pk))
    except (Institution.DoesNotExist, TypeError, ValueError):
        raise Http404 from None
    if action and not user.has_perm(action, inst):
        raise PermissionDenied
    return inst


def reads_as_owner(user: Any, inst: Any) -> bool:
    """The user works in the institution's own branch: reading its contacts'
    personal data is their daily work and is not logged individually."""
    a = active_assignment(user)
    return a is not None and a.role in BRANCH_ROLES and scope_path(user) == inst.branch.path


# --- The ME's work: activities, maintenance plans and visits, leads --------------------


def visible_activities(user: Any) -> QuerySet[Any]:
    from activities.models import Activity

    if active_role(user) == Role.AGEN:
        return Activity.objects.none()
    return filter_owned_to_scope(Activity.objects.all(), user)


def get_activity_for_user(user: Any, pk: Any, *, action: str | None = None) -> Any:
    from activities.models import Activity

    try:
        act = visible_activities(user).select_related("branch", "me", "institution", "contact", "visit").get(pk=int(pk))
    except (Activity.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None
    if action and not user.has_perm(action, act):
        raise PermissionDenied
    return act


def visible_plans(user: Any) -> QuerySet[Any]:
    from activities.models import MaintenancePlan

    if active_role(user) == Role.AGEN:
        return MaintenancePlan.objects.none()
    return filter_owned_to_scope(MaintenancePlan.objects.all(), user)


def get_plan_for_user(user: Any, pk: Any, *, action: str | None = None) -> Any:
    from activities.models import MaintenancePlan

    try:
        plan = visible_plans(user).select_related("branch", "me", "institution").get(pk=int(pk))
    except (MaintenancePlan.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None
    if action and not user.has_perm(action, plan):
        raise PermissionDenied
    return plan


def visible_visits(user: Any) -> QuerySet[Any]:
    from activities.models import MaintenanceVisit

    if active_role(user) == Role.AGEN:
        return MaintenanceVisit.objects.none()
    return filter_owned_to_scope(MaintenanceVisit.objects.all(), user)


LEAD_READERS_EXCLUDED = (Role.AGEN, Role.KARYAWAN, Role.MITRA)


def visible_leads(user: Any) -> QuerySet[Any]:
    """Leads are personal data: not for Agen, Karyawan or Mitra."""
    from activities.models import Lead

    if active_role(user) in LEAD_READERS_EXCLUDED:
        return Lead.objects.none()
    return filter_owned_to_scope(Lead.objects.all(), user)


def get_lead_for_user(user: Any, pk: Any, *, action: str | None = None) -> Any:
    from activities.models import Lead

    try:
        lead = (
            filter_owned_to_scope(Lead.objects.all(), user)
            .select_related("branch", "me", "institution", "assigned_to", "source_activity")
            .get(pk=int(pk))
        )
    except (Lead.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None
    # In scope but not a reader of personal data: forbidden, not hidden.
    if not user.has_perm("activities.view_lead", lead):
        raise PermissionDenied
    if action and not user.has_perm(action, lead):
        raise PermissionDenied
    return lead


def lead_reads_as_owner(user: Any, lead: Any) -> bool:
    """Whether the user works in the lead's own branch (sees its person unmasked).
    No query: the active assignment is cached and the lead carries its branch id."""
    a = active_assignment(user)
    if a is None or a.role not in BRANCH_ROLES:
        return False
    branch_id = a.unit.parent_id if a.unit.kind == UnitKind.UPC else a.unit_id
    return bool(branch_id == lead.branch_id)


# --- Closings' ingestion batches -------------------------------------------------------


BATCH_READERS = (Role.ADMIN, Role.AUDITOR)


def visible_batches(user: Any) -> QuerySet[Any]:
    """A batch's report is its sender's (Admin and Auditor read every batch)."""
    from sales.models import IngestBatch

    qs = IngestBatch.objects.all()
    if active_role(user) in BATCH_READERS:
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(created_by=user)


# --- Performance: tasks, evaluations, placement decisions, MEs ------------------------

# Who reads performance (dashboards, targets, achievement) of the units in their scope.
PERFORMANCE_READERS = (
    Role.PUSAT,
    Role.WILAYAH,
    Role.DBA,
    Role.PINCA,
    Role.AUDITOR,
    Role.ADMIN,
    Role.MITRA,
)
TASK_READERS_EXCLUDED = (Role.AGEN, Role.KARYAWAN, Role.SALES, Role.MITRA)


def _about_mes(qs: QuerySet[M], user: Any) -> QuerySet[M]:
    """Records about an ME (tasks, evaluations): those of the branches in scope,
    for the branch head and above; an ME's own only; nothing for the other roles."""
    role = active_role(user)
    if role is None or role in TASK_READERS_EXCLUDED:
        return qs.none()
    qs = filter_owned_to_scope(qs, user)
    return qs.filter(me=user) if role == Role.ME else qs


def visible_tasks(user: Any) -> QuerySet[Any]:
    """Tasks of the branches in scope; an ME sees only the tasks given to them."""
    from performance.models import Task

    return _about_mes(Task.objects.all(), user)


def get_task_for_user(user: Any, pk: Any, *, action: str | None = None) -> Any:
    from performance.models import Task

    try:
        task = visible_tasks(user).select_related("branch", "me", "institution", "assigned_by").get(pk=int(pk))
    except (Task.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None
    if action and not user.has_perm(action, task):
        raise PermissionDenied
    return task


def visible_evaluations(user: Any) -> QuerySet[Any]:
    """ME evaluations: the branch head who writes them, the levels above in scope
    (the DBA reads them), the auditor; an ME reads their own."""
    from performance.models import MeEvaluation

    return _about_mes(MeEvaluation.objects.all(), user)


def visible_targets(user: Any) -> QuerySet[Any]:
    """Targets of the units in the user's scope; who does not read performance
    (an ME) sees only the targets set for themselves."""
    from performance.models import Target

    qs = filter_to_scope(Target.objects.all(), user)
    if active_role(user) not in PERFORMANCE_READERS:
        qs = qs.filter(me=user)
    return qs


def current_branch_of(me: Any) -> OrgUnit | None:
    """The branch an ME is placed at now (their open posting)."""
    from org.models import Placement

    placement = Placement.objects.filter(user=me, valid_to__isnull=True).select_related("branch").first()
    return placement.branch if placement else None


def visible_mes(user: Any) -> QuerySet[Any]:
    """The MEs whose scorecards the user may open: placed now at a branch in
    scope (an ME: only themselves)."""
    from org.models import Placement, User

    role = active_role(user)
    if role is None or role in TASK_READERS_EXCLUDED:
        return User.objects.none()
    if role == Role.ME:
        return User.objects.filter(pk=user.pk)
    path = scope_path(user)
    if path is None:
        return User.objects.none()
    placed = Placement.objects.filter(valid_to__isnull=True, branch__path__startswith=path)
    return User.objects.filter(pk__in=placed.values("user_id"))


def get_me_for_user(user: Any, pk: Any) -> Any:
    from org.models import User

    try:
        return visible_mes(user).get(pk=int(pk))
    except (User.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None


# --- Rules (actions) -------------------------------------------------------------------


def role_is(*roles: str) -> Any:
    wanted = frozenset(roles)

    @rules.predicate(name=f"role_is_{'_'.join(sorted(wanted))}")
    def _pred(user: User) -> bool:
        return active_role(user) in wanted

    return _pred


@rules.predicate
def object_in_scope(user: User, obj: Any) -> bool:
    if obj is None:
        return False
    unit = obj if isinstance(obj, OrgUnit) else getattr(obj, "unit", None)
    return unit_in_scope(user, unit)


@rules.predicate
def branch_in_own_area(user: User, branch: Any) -> bool:
    a = active_assignment(user)
    return (
        a is not None
        and a.role == Role.DBA
        and isinstance(branch, OrgUnit)
        and branch.kind == UnitKind.CABANG
        and branch.path.startswith(a.unit.path)
    )


@rules.predicate
def is_assigned_me(user: User, obj: Any) -> bool:
    return obj is not None and getattr(obj, "me_id", None) == user.pk


@rules.predicate
def me_records_here(user: User, obj: Any) -> bool:
    """An ME records work on an institution assigned to them, or (no institution)
    in their own branch."""
    if isinstance(obj, OrgUnit):
        return scope_path(user) == obj.path
    return obj is not None and getattr(obj, "me_id", None) == user.pk


@rules.predicate
def is_assigned_sales(user: User, obj: Any) -> bool:
    return obj is not None and getattr(obj, "assigned_to_id", None) == user.pk


@rules.predicate
def branch_is_own(user: User, obj: Any) -> bool:
    """``obj`` (a branch, or a record owned by one) is the branch the user works in."""
    unit = obj if isinstance(obj, OrgUnit) else getattr(obj, "unit", None)
    return unit is not None and scope_path(user) == unit.path


has_any_role = rules.predicate(lambda user: active_assignment(user) is not None, name="has_any_role")

rules.add_perm("org.view_unit", object_in_scope)
rules.add_perm("org.view_people", object_in_scope & ~role_is(Role.AGEN))
rules.add_perm("org.move_unit", role_is(Role.ADMIN))
rules.add_perm("org.assign_role", role_is(Role.ADMIN))
# ME placement: the DBA of the branch's area; Wilayah/Pusat only in exceptional
# cases (the service then requires a reason).
rules.add_perm("org.place_me", branch_in_own_area | (role_is(Role.WILAYAH, Role.PUSAT) & object_in_scope))
# Institutions (potensi kelembagaan). Writers: the ME on what is assigned to them
# (and new ones in their own branch), the Pinca on their branch, DBA/Wilayah/Pusat
# within their scope. A rule with an object also requires that object in scope.
INSTITUTION_MANAGERS = (Role.PINCA, Role.DBA, Role.WILAYAH, Role.PUSAT)
_manager = role_is(*INSTITUTION_MANAGERS)
_me = role_is(Role.ME)
rules.add_perm("institutions.view", object_in_scope)
rules.add_perm("institutions.create", _manager | _me)
rules.add_perm("institutions.create_in", object_in_scope & (_manager | (_me & branch_is_own)))
rules.add_perm("institutions.change", object_in_scope & (_manager | (_me & is_assigned_me)))
rules.add_perm("institutions.reassign_me", object_in_scope & _manager)
rules.add_perm("institutions.move_branch", object_in_scope & role_is(Role.DBA, Role.WILAYAH, Role.PUSAT))
rules.add_perm("institutions.merge", object_in_scope & _manager)
rules.add_perm("institutions.view_contacts", object_in_scope & ~role_is(Role.AGEN, Role.KARYAWAN, Role.MITRA))
rules.add_perm("institutions.manage_contacts", object_in_scope & (_manager | (_me & is_assigned_me)))
rules.add_perm("institutions.import", _manager | _me)
rules.add_perm("institutions.export", has_any_role & ~role_is(Role.AGEN))
rules.add_perm("institutions.view_access_log", role_is(Role.AUDITOR, Role.ADMIN))
rules.add_perm("institutions.move_stage", object_in_scope & (_manager | (_me & is_assigned_me)))
# The ME's work (activities app). The ME records their own work on the institutions
# assigned to them; the Pinca records and oversees everything in the branch.
_pinca = role_is(Role.PINCA)
_own_branch_pinca = _pinca & branch_is_own
rules.add_perm("activities.view", object_in_scope & ~role_is(Role.AGEN))
rules.add_perm("activities.view_any", has_any_role & ~role_is(Role.AGEN))
rules.add_perm("activities.see_today", role_is(Role.ME, Role.SALES, Role.PINCA))
rules.add_perm("activities.create", _pinca | _me)
# ``obj`` is the institution the activity is about (or the branch, for one without).
rules.add_perm("activities.create_for", object_in_scope & (_own_branch_pinca | (_me & me_records_here)))
rules.add_perm("activities.change", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
# Daily view of every ME's work in a branch, and the branch's board: the branch head and above.
MONITORS = (Role.PINCA, Role.DBA, Role.WILAYAH, Role.PUSAT, Role.AUDITOR, Role.ADMIN, Role.MITRA)
rules.add_perm("activities.monitor", object_in_scope & role_is(*MONITORS))
rules.add_perm("activities.plan_maintenance", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
rules.add_perm("activities.change_plan", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
rules.add_perm("activities.reassign_plan", object_in_scope & _own_branch_pinca)
# A scheduled maintenance visit is recorded by the plan's ME (even when the
# institution's own ME is someone else) or the branch head.
rules.add_perm("activities.log_visit", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
rules.add_perm("activities.view_lead", object_in_scope & ~role_is(*LEAD_READERS_EXCLUDED))
rules.add_perm("activities.view_leads", has_any_role & ~role_is(*LEAD_READERS_EXCLUDED))
rules.add_perm("activities.create_lead", object_in_scope & (_own_branch_pinca | (_me & me_records_here)))
rules.add_perm("activities.assign_lead", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
rules.add_perm(
    "activities.update_lead",
    object_in_scope & (_own_branch_pinca | (_me & is_assigned_me) | (role_is(Role.SALES) & is_assigned_sales)),
)
rules.add_perm("activities.erase_lead", object_in_scope & (_own_branch_pinca | (_me & is_assigned_me)))
# Sales (closings): core systems' batches come through an integration account
# (Admin) or Pusat; a branch head, DBA or Wilayah may upload their own units'
# closings (each row's branch must be in their scope).
rules.add_perm("sales.ingest", role_is(Role.ADMIN, Role.PUSAT, Role.WILAYAH, Role.DBA, Role.PINCA))
rules.add_perm("sales.view", has_any_role & ~role_is(Role.AGEN))
# Channel registries (agents, fleet, point reward, PMP): the branch head and above, in scope.
rules.add_perm(
    "sales.manage_registry", object_in_scope & role_is(Role.PINCA, Role.DBA, Role.WILAYAH, Role.PUSAT, Role.ADMIN)
)


# Performance (DESIGN.md §2): targets are set top-down, each level for the one
# below it (Pusat for Pusat and the Wilayah, a Wilayah for its areas, the DBA for
# the area's branches, the branch head for the branch's MEs); only the branch head
# gives tasks to and evaluates the branch's MEs; only the area's DBA places its
# MEs (Wilayah/Pusat in exceptional cases, with a reason).
@rules.predicate
def sets_unit_target(user: User, unit: Any) -> bool:
    if not isinstance(unit, OrgUnit) or not unit_in_scope(user, unit):
        return False
    role = active_role(user)
    if unit.kind in (UnitKind.PUSAT, UnitKind.WILAYAH):
        return role == Role.PUSAT
    if unit.kind == UnitKind.AREA:
        return role == Role.WILAYAH
    if unit.kind == UnitKind.CABANG:
        return role == Role.DBA
    return False


@rules.predicate
def area_is_own(user: User, area: Any) -> bool:
    a = active_assignment(user)
    return a is not None and isinstance(area, OrgUnit) and area.kind == UnitKind.AREA and a.unit_id == area.pk


@rules.predicate
def is_own_record(user: User, obj: Any) -> bool:
    return obj is not None and getattr(obj, "me_id", None) == user.pk


rules.add_perm("performance.view", has_any_role & role_is(*PERFORMANCE_READERS))
rules.add_perm("performance.view_unit", object_in_scope & role_is(*PERFORMANCE_READERS))
rules.add_perm("performance.set_unit_target", sets_unit_target)
rules.add_perm("performance.set_me_target", _own_branch_pinca)
rules.add_perm("performance.manage_kpi", role_is(Role.PUSAT, Role.ADMIN))
rules.add_perm("performance.assign_task", _own_branch_pinca)
rules.add_perm("performance.view_task", object_in_scope & ~role_is(*TASK_READERS_EXCLUDED))
rules.add_perm("performance.update_task", object_in_scope & (_own_branch_pinca | (_me & is_own_record)))
rules.add_perm("performance.evaluate_me", _own_branch_pinca)
rules.add_perm(
    "performance.view_placement",
    object_in_scope & role_is(Role.DBA, Role.WILAYAH, Role.PUSAT, Role.AUDITOR, Role.ADMIN),
)
rules.add_perm(
    "performance.apply_placement",
    (role_is(Role.DBA) & area_is_own) | (role_is(Role.WILAYAH, Role.PUSAT) & object_in_scope),
)
rules.add_perm("control.view_audit", role_is(Role.AUDITOR, Role.ADMIN))
rules.add_perm("core.use_app", has_any_role)
# Only who integrates or oversees sees the API docs in the menu (the docs stay reachable).
rules.add_perm("core.see_api_docs", role_is(Role.ADMIN, Role.PUSAT, Role.AUDITOR))
