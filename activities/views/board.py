"""Calendars (per ME and per branch), the branch head's daily view and the
pipeline board with its stage moves (htmx). Thin: services write, selectors
read, the access policy decides."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activities import selectors
from core.dates import day_param
from core.errors import DomainError
from institutions import pipeline as stages
from institutions.models import Stage
from org.access import active_role, get_institution_for_user, get_unit_for_user, scope_root
from org.models import OrgUnit, Role, UnitKind, User


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _date(value: str | None, default: date) -> date:
    return day_param(value, default)


def _branch(user: Any, pk: Any, action: str) -> OrgUnit:
    unit = get_unit_for_user(user, pk)
    if unit.kind != UnitKind.CABANG:
        raise Http404
    if not user.has_perm(action, unit):
        raise PermissionDenied
    return unit


def _scoped_branches(user: Any) -> list[OrgUnit]:
    from institutions.selectors import scoped_branches

    return list(scoped_branches(user).only("id", "name", "code"))


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    """Week or month, for one ME or one branch. An ME sees their own by default;
    branch staff their branch; wider roles pick a branch."""
    if not request.user.has_perm("activities.view", scope_root(request.user)):
        raise PermissionDenied
    view = "month" if request.GET.get("view") == "month" else "week"
    day = _date(request.GET.get("date"), timezone.localdate())
    role = active_role(request.user)
    root = scope_root(request.user)
    branch: OrgUnit | None = None
    branch_id = _id(request.GET.get("branch"))
    if branch_id:
        branch = _branch(request.user, branch_id, "activities.view")
    elif root is not None and root.kind == UnitKind.CABANG:
        branch = root
    me_id = _id(request.GET.get("me"))
    if me_id is None and role == Role.ME and "branch" not in request.GET:
        me_id = request.user.pk
    mes = selectors.mes_of_branch(branch) if branch else []
    me: User | None = None
    if me_id is not None:
        me = (
            request.user
            if me_id == request.user.pk and role == Role.ME
            else next((u for u in mes if u.pk == me_id), None)
        )
        if me is None:
            raise Http404
    days = (
        selectors.calendar_days(request.user, view, day, me=me.pk if me else None, branch=branch.pk if branch else None)
        if (branch or me)
        else []
    )
    if view == "month":
        prev_day = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
        next_day = (day.replace(day=28) + timedelta(days=5)).replace(day=1)
    else:
        prev_day, next_day = day - timedelta(days=7), day + timedelta(days=7)
    branches = _scoped_branches(request.user) if root is not None and root.kind != UnitKind.CABANG else []
    return render(
        request,
        "activities/calendar.html",
        {
            "view": view,
            "day": day,
            "today": timezone.localdate(),
            "days": days,
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
            "branch": branch,
            "branches": branches,
            "me": me,
            "mes": mes,
            "prev_day": prev_day,
            "next_day": next_day,
            "total": sum(len(d["activities"]) for d in days),
            "can_monitor": branch is not None and request.user.has_perm("activities.monitor", branch),
        },
    )


@login_required
def branch_day(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """The branch head's daily view of every ME's activity."""
    branch = _branch(request.user, unit_pk, "activities.monitor")
    day = _date(request.GET.get("tanggal"), timezone.localdate())
    data = selectors.branch_day(request.user, branch, day)
    from performance.selectors import overdue_tasks

    return render(
        request,
        "activities/branch_day.html",
        {
            "branch": branch,
            "d": data,
            # The branch's ME tasks past their due date (pembagian tugas), as the ME sees them on "Hari ini".
            "overdue_tasks": list(overdue_tasks(request.user, branch=branch)[:50]),
            "is_today": day == timezone.localdate(),
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "can_log": request.user.has_perm("activities.create_for", branch),
        },
    )


def _board_context(request: HttpRequest, branch: OrgUnit, me_id: int | None) -> dict[str, Any]:
    columns = selectors.pipeline_board(request.user, branch, me=me_id)
    for col in columns:
        for inst in col["cards"]:
            inst.branch = branch  # every card is of this branch: the policy reads it without a query
            inst.can_move = request.user.has_perm("institutions.move_stage", inst)
            inst.targets = [(t, Stage(t).label, _hint(inst.stage, t)) for t in stages.allowed_targets(inst.stage)]
    return {
        "branch": branch,
        "columns": columns,
        "mes": selectors.mes_of_branch(branch),
        "me_id": me_id,
        "total": sum(c["count"] for c in columns),
    }


def _hint(current: str, target: str) -> str:
    return str(stages.rule_for(current, target).requirement)


@login_required
def pipeline(request: HttpRequest, unit_pk: int) -> HttpResponse:
    branch = _branch(request.user, unit_pk, "activities.view")
    me_id = _id(request.GET.get("me"))
    context = _board_context(request, branch, me_id)
    return render(request, "activities/pipeline.html", context)


@require_POST
@login_required
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an institution to another stage (board card or institution page).
    htmx: answers the refreshed board, or the card with the missing evidence."""
    inst = get_institution_for_user(request.user, pk, action="institutions.move_stage")
    target = request.POST.get("to_stage", "")
    note = request.POST.get("note", "")
    try:
        stages.stage_move(actor=request.user, institution=inst, to_stage=target, note=note)
    except DomainError as e:
        error = str(e.message)
        if request.headers.get("HX-Request") == "true":
            inst.can_move = True
            inst.targets = [(t, Stage(t).label, _hint(inst.stage, t)) for t in stages.allowed_targets(inst.stage)]
            response = render(
                request,
                "activities/partials/pipeline_card.html",
                {"inst": inst, "error": error, "chosen": target, "note": note},
                status=200,
            )
            response["HX-Retarget"] = f"#card-{inst.pk}"
            response["HX-Reswap"] = "outerHTML"
            return response
        messages.error(request, error)
    else:
        label = Stage(target).label
        if request.headers.get("HX-Request") == "true":
            context = _board_context(request, inst.branch, _id(request.POST.get("me")))
            context["moved"] = _("%(name)s pindah ke %(stage)s.") % {"name": inst.name, "stage": label}
            return render(request, "activities/partials/pipeline_board.html", context)
        messages.success(request, _("Tahap lembaga menjadi %(stage)s.") % {"stage": label})
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect(reverse("institutions:detail", args=[inst.pk]) + "#tahap")
