"""Maintenance-plan pages: the plans of the scope with their overdue visits,
the plan form, a plan with its visits, ending and reassigning a plan.

Thin: ``activities.services`` writes, ``activities.selectors`` and
``org.access`` read and decide who sees and does what.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activities import schedule, selectors, services
from activities.forms_maintenance import PlanEndForm, PlanFilterForm, PlanForm, PlanReassignForm
from activities.models import MaintenancePlan, PlanStatus, VisitStatus
from core.errors import DomainError
from org.access import (
    active_role,
    get_institution_for_user,
    get_plan_for_user,
    scope_root,
    visible_institutions,
    visible_units,
)
from org.models import OrgUnit, Role, UnitKind

PAGE_SIZE = 25
# The overdue visits on top of the list, one line per plan (its oldest visit):
# read at most OVERDUE_READ of them (oldest first), show at most OVERDUE_PLANS plans.
OVERDUE_READ = 200
OVERDUE_PLANS = 15
# The plan page shows every overdue visit and the next few; later ones fold away.
UPCOMING_SHOWN = 3
HISTORY_SHOWN = 24
# The plan form's institution picker (a branch rarely has this many executed institutions).
PICKER_LIMIT = 500


def _pk(value: Any) -> int:
    """An id from the URL: ASCII digits within the bigint range, else 404."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Http404
    return int(text)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _show_domain_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        for e in errors:
            return str(e)
    return _("Isian tidak valid.")


# --- The list ---------------------------------------------------------------------------


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    """Active plans of the scope, those with overdue visits first, and above
    them the overdue visits themselves. A fixed number of queries per page."""
    user = request.user
    root = scope_root(user)
    # Anyone who may see the ME's work in their scope (not an agent).
    if root is None or not user.has_perm("activities.view", root):
        raise PermissionDenied
    today = timezone.localdate()
    filters = PlanFilterForm(request.GET)
    branch_scope = root.kind == UnitKind.CABANG
    branches: list[OrgUnit] = []
    chosen: OrgUnit | None = None
    if branch_scope:
        chosen = root
    else:
        branches = list(visible_units(user).filter(kind=UnitKind.CABANG).only("id", "name", "code").order_by("name"))
        wanted = filters.value("branch")
        chosen = next((b for b in branches if b.pk == wanted), None) if wanted else None
    mes = selectors.mes_of_branch(chosen) if chosen is not None else []
    me_id = filters.value("me")
    # An ME's page opens on their own plans; "semua" shows the whole branch.
    is_me = active_role(user) == Role.ME
    mine = is_me and not filters.value("semua") and me_id in (None, user.pk)
    if mine:
        me_id = user.pk
    branch_id = chosen.pk if chosen is not None and not branch_scope else None

    plans = selectors.plans(user, branch=branch_id, me=me_id).annotate(
        # The next visit not yet overdue (overdue ones are counted apart).
        # TODO(selectors): belongs in selectors.plans; annotated here until it is.
        next_due=Min("visits__due_on", filter=Q(visits__status=VisitStatus.PLANNED, visits__overdue_on__gt=today))
    )
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))

    overdue_qs = selectors.overdue_visits(user, today, me=me_id, branch=branch_id).select_related(
        "institution__branch", "branch"
    )
    overdue = _overdue_by_plan(user, overdue_qs, today)
    context = {
        "page": page,
        "query": _query_without_page(request),
        "today": today,
        "overdue": overdue,
        "overdue_total": overdue_qs.count(),
        "overdue_more_plans": len(overdue) == OVERDUE_PLANS,
        "branches": branches,
        "chosen_branch": chosen,
        "branch_scope": branch_scope,
        "mes": mes,
        "me_id": me_id,
        "is_me": is_me,
        "mine": mine,
        "active_filters": bool(branch_id or (me_id and not mine)),
        "can_create": user.has_perm("activities.create"),
    }
    return render(request, "activities/plan_list.html", context)


def _overdue_by_plan(user: Any, overdue_qs: Any, today: date) -> list[dict[str, Any]]:
    """One line per plan, oldest first: its oldest overdue visit (the one to
    record first) and how many of its visits are overdue. Two queries."""
    plans: dict[int, dict[str, Any]] = {}
    for v in overdue_qs[:OVERDUE_READ]:
        if v.plan_id not in plans and len(plans) < OVERDUE_PLANS:
            plans[v.plan_id] = {
                "visit": v,
                "latest": v,
                "count": 1,
                "days_late": (today - v.due_on).days,
                "can_log": user.has_perm("activities.log_visit", v),
            }
        elif v.plan_id in plans:
            # Recording the latest overdue visit closes the earlier ones as missed.
            plans[v.plan_id]["latest"] = v
    if plans:
        counts = overdue_qs.filter(plan_id__in=list(plans)).order_by().values("plan_id").annotate(n=Count("id"))
        for row in counts:
            plans[row["plan_id"]]["count"] = row["n"]
    return list(plans.values())


# --- The form ---------------------------------------------------------------------------


def _plannable(user: Any) -> list[Any]:
    """Institutions in scope the user may plan for: executed, without an active plan."""
    rows = (
        visible_institutions(user)
        .filter(stage__in=services.PLANNABLE_STAGES)
        .exclude(maintenance_plans__status=PlanStatus.ACTIVE)
        .select_related("branch")
        .order_by("name", "id")[:PICKER_LIMIT]
    )
    return [i for i in rows if user.has_perm("activities.plan_maintenance", i)]


@login_required
def plan_create(request: HttpRequest) -> HttpResponse:
    """``?institution=<id>`` fixes the institution (from its page); without it
    the form offers the executed institutions the user may plan for."""
    user = request.user
    raw = request.GET.get("institution")
    inst = None
    if raw:
        inst = get_institution_for_user(user, _pk(raw), action="activities.plan_maintenance")
    elif not user.has_perm("activities.create"):
        raise PermissionDenied
    institutions = None if inst is not None else _plannable(user)
    is_me = active_role(user) == Role.ME
    branch = inst.branch if inst is not None else scope_root(user)
    mes = None if is_me or branch is None else selectors.mes_of_branch(branch)

    if request.method == "POST":
        form = PlanForm(request.POST, institutions=institutions, mes=mes)
        if form.is_valid():
            data = form.cleaned_data
            target = inst or next(i for i in institutions or [] if i.pk == data["institution"])
            me = next((m for m in mes if m.pk == data["me"]), None) if mes is not None else None
            try:
                plan = services.plan_create(
                    actor=user,
                    institution=target,
                    me=me,
                    frequency=data["frequency"],
                    starts_on=data["starts_on"],
                    grace_days=data["grace_days"],
                    ends_on=data["ends_on"],
                    notes=data["notes"],
                )
            except DomainError as exc:
                _show_domain_error(form, exc)
            else:
                messages.success(request, _("Rencana maintenance untuk %(name)s telah dibuat.") % {"name": target.name})
                return HttpResponseRedirect(reverse("activities:plan-detail", args=[plan.pk]))
    else:
        initial: dict[str, Any] = {}
        if inst is not None and inst.me_id and mes is not None and any(m.pk == inst.me_id for m in mes):
            initial["me"] = inst.me_id
        form = PlanForm(initial=initial, institutions=institutions, mes=mes)

    context = {
        "form": form,
        "inst": inst,
        "is_me": is_me,
        # Said before the form is filled in, so nobody types it all for a refusal.
        "not_executed": inst is not None and inst.stage not in services.PLANNABLE_STAGES,
        "active_plan": selectors.plans(user).filter(institution=inst).first() if inst is not None else None,
    }
    return render(request, "activities/plan_form.html", context)


# --- One plan ---------------------------------------------------------------------------


def _can_reassign(user: Any, plan: MaintenancePlan) -> bool:
    return bool(user.has_perm("activities.reassign_plan", plan))


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = get_plan_for_user(user, pk)
    today = timezone.localdate()
    planned = list(plan.visits.filter(status=VisitStatus.PLANNED).select_related("activity").order_by("due_on", "id"))
    history = list(
        plan.visits.exclude(status=VisitStatus.PLANNED)
        .select_related("activity")
        .order_by("-due_on", "-id")[:HISTORY_SHOWN]
    )
    counts = plan.visits.aggregate(
        done=Count("id", filter=Q(status=VisitStatus.DONE)),
        cancelled=Count("id", filter=Q(status=VisitStatus.CANCELLED)),
    )
    can_log = plan.status == PlanStatus.ACTIVE and user.has_perm("activities.log_visit", plan)
    rows = [
        {
            "visit": v,
            "overdue": schedule.is_overdue(v.due_on, plan.grace_days, today),
            "days_late": (today - v.due_on).days,
            "activity": getattr(v, "activity", None),
        }
        for v in planned
    ]
    overdue_count = sum(1 for r in rows if r["overdue"])
    shown = overdue_count + UPCOMING_SHOWN
    active = plan.status == PlanStatus.ACTIVE
    can_change = active and user.has_perm("activities.change_plan", plan)
    can_reassign = can_change and _can_reassign(user, plan)
    context = {
        "plan": plan,
        "today": today,
        "planned": rows[:shown],
        "later": rows[shown:],
        "overdue_count": overdue_count,
        "history": [{"visit": v, "activity": getattr(v, "activity", None)} for v in history],
        "history_more": counts["done"] + counts["cancelled"] - len(history),
        "done_count": counts["done"],
        "can_log": can_log,
        "can_change": can_change,
        "can_reassign": can_reassign,
        "end_form": PlanEndForm() if can_change else None,
        "reassign_form": PlanReassignForm(mes=[m for m in selectors.mes_of_branch(plan.branch) if m.pk != plan.me_id])
        if can_reassign
        else None,
        "can_plan_again": not active and user.has_perm("activities.plan_maintenance", plan.institution),
    }
    return render(request, "activities/plan_detail.html", context)


@login_required
@require_POST
def plan_end(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_plan_for_user(request.user, pk, action="activities.change_plan")
    form = PlanEndForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        ends_on: date | None = form.cleaned_data["ends_on"]
        try:
            services.plan_end(actor=request.user, plan=plan, ends_on=ends_on, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Rencana maintenance diakhiri; kunjungan terjadwal sesudahnya dibatalkan."))
    return HttpResponseRedirect(reverse("activities:plan-detail", args=[plan.pk]))


@login_required
@require_POST
def plan_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    plan = get_plan_for_user(user, pk, action="activities.change_plan")
    if not _can_reassign(user, plan):
        raise PermissionDenied
    mes = selectors.mes_of_branch(plan.branch)
    form = PlanReassignForm(request.POST, mes=mes)
    if not form.is_valid():
        messages.error(request, _("Pilih ME dari cabang %(branch)s.") % {"branch": plan.branch.name})
    else:
        me = next(m for m in mes if m.pk == form.cleaned_data["me"])
        try:
            services.plan_reassign(actor=user, plan=plan, me=me)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _("Rencana dan kunjungan terjadwalnya dialihkan ke %(me)s.")
                % {"me": me.get_full_name() or me.username},
            )
    return HttpResponseRedirect(reverse("activities:plan-detail", args=[plan.pk]))
