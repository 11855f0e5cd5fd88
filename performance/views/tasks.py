"""ME tasks (pembagian tugas): the list of tasks the user may see with the
overdue ones first, the branch head's form to give one of the branch's MEs a
task, and a task's page where the ME (or the branch head) updates it. Thin:
``performance.services`` writes, selectors read, the access policy decides
(out of scope 404, refused 403)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from org.access import get_task_for_user, get_unit_for_user, scope_root, visible_institutions
from org.models import OrgUnit, UnitKind, User
from performance import selectors, services
from performance.forms_work import ALL, OPEN, TaskFilterForm, TaskForm, TaskUpdateForm
from performance.kpis import KPI_BY_CODE
from performance.models import OPEN_TASK_STATUSES, Task, TaskStatus

TASKS_PER_PAGE = 50
ME_FILTER_LIMIT = 300


def _name(u: User) -> str:
    return u.get_full_name() or u.get_username()


def _own_branch(user: Any) -> OrgUnit | None:
    root = scope_root(user)
    return root if root is not None and root.kind == UnitKind.CABANG else None


def _error_field(form: Any, field: str | None) -> str | None:
    return field if field in form.fields else None


# --- The list -------------------------------------------------------------------------------


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """Tasks in scope (an ME: their own), overdue ones first, 50 a page. Fixed query count."""
    user = request.user
    if not user.has_perm("performance.view_task", scope_root(user)):
        raise PermissionDenied
    today = timezone.localdate()
    base = selectors.tasks_for(user)
    me_rows = list(
        User.objects.filter(pk__in=base.order_by().values("me_id"))
        .only("id", "first_name", "last_name", "username")
        .order_by("first_name", "last_name", "id")[:ME_FILTER_LIMIT]
    )
    form = TaskFilterForm(request.GET or None, me_choices=[(u.pk, _name(u)) for u in me_rows])
    status, me_id = form.value("status"), form.value("me")
    qs = base
    if me_id:
        qs = qs.filter(me_id=me_id)
    overdue_count = qs.filter(status__in=list(OPEN_TASK_STATUSES), due_on__lt=today).count()
    if status == OPEN:
        qs = qs.filter(status__in=list(OPEN_TASK_STATUSES))
    elif status != ALL:
        qs = qs.filter(status=status)
    qs = qs.annotate(
        late=Case(
            When(status__in=list(OPEN_TASK_STATUSES), due_on__lt=today, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("late", "due_on", "id")
    page = Paginator(qs, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    own_branch = _own_branch(user)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "performance/task_list.html",
        {
            "form": form,
            "page": page,
            "status": status,
            "me_id": me_id,
            "show_me_filter": len(me_rows) > 1 or me_id,
            "overdue_count": overdue_count,
            "today": today,
            "can_assign": own_branch is not None and user.has_perm("performance.assign_task", own_branch),
            "own_branch": own_branch,
            "query": query.urlencode(),
            "active_filters": status != OPEN or bool(me_id),
        },
    )


# --- A new task -----------------------------------------------------------------------------


def _assign_branch(request: HttpRequest) -> OrgUnit:
    """The branch the task is for: ``?cabang=`` (out of scope 404) or the user's own;
    403 unless the user may give tasks there (its branch head)."""
    raw = request.POST.get("cabang") or request.GET.get("cabang")
    if raw:
        branch = get_unit_for_user(request.user, raw)
    else:
        own = _own_branch(request.user)
        if own is None:
            raise PermissionDenied
        branch = own
    if not request.user.has_perm("performance.assign_task", branch):
        raise PermissionDenied
    return branch


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    """The branch head gives one of the branch's MEs a task (an institution of
    the branch, an objective, a due date, the KPI it serves)."""
    branch = _assign_branch(request)
    mes = selectors.current_mes(branch)
    institutions = list(
        visible_institutions(request.user).filter(branch=branch).order_by("name", "id").values_list("id", "name")
    )
    kwargs = {"me_choices": [(u.pk, _name(u)) for u in mes], "institution_choices": institutions}
    if request.method != "POST":
        initial: dict[str, Any] = {}
        for key, field in (("me", "me"), ("lembaga", "institution"), ("kpi", "kpi")):
            if request.GET.get(key):
                initial[field] = request.GET[key]
        form = TaskForm(initial=initial, **kwargs)
        return render(request, "performance/task_form.html", {"form": form, "branch": branch})
    form = TaskForm(request.POST, **kwargs)
    if form.is_valid():
        data = form.cleaned_data
        me = next(u for u in mes if u.pk == data["me"])
        inst = None
        if data["institution"]:
            inst = visible_institutions(request.user).filter(pk=data["institution"], branch=branch).first()
        try:
            task = services.task_assign(
                actor=request.user,
                me=me,
                objective=data["objective"],
                due_on=data["due_on"],
                institution=inst,
                kpi=data["kpi"] or "",
            )
        except DomainError as e:
            form.add_error(_error_field(form, e.field), str(e.message))
        else:
            messages.success(request, _("Tugas diberikan kepada %(me)s.") % {"me": _name(me)})
            return redirect("performance:task", pk=task.pk)
    return render(request, "performance/task_form.html", {"form": form, "branch": branch}, status=400)


# --- A task ---------------------------------------------------------------------------------


def _status_choices(task: Task, user: Any) -> list[tuple[str, str]]:
    """The current status and where it may move; the task's own ME does not
    cancel it (the service refuses that too)."""
    allowed = {TaskStatus(task.status), *services.TASK_FLOW[TaskStatus(task.status)]}
    if task.me_id == user.pk:
        allowed = {s for s in allowed if s != TaskStatus.CANCELLED or task.status == TaskStatus.CANCELLED}
    return [(s.value, str(s.label)) for s in TaskStatus if s in allowed]


@login_required
@require_http_methods(["GET", "POST"])
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A task and, for its ME or the branch head, the form to update it."""
    task = get_task_for_user(request.user, pk)
    can_update = request.user.has_perm("performance.update_task", task)
    if request.method == "POST" and not can_update:
        raise PermissionDenied
    choices = _status_choices(task, request.user)
    status = 200
    if request.method == "POST":
        form = TaskUpdateForm(request.POST, status_choices=choices)
        if form.is_valid():
            try:
                services.task_update(
                    actor=request.user,
                    task=task,
                    status=form.cleaned_data["status"],
                    progress_note=form.cleaned_data["progress_note"],
                )
            except DomainError as e:
                form.add_error(_error_field(form, e.field), str(e.message))
            else:
                messages.success(request, _("Tugas diperbarui."))
                return redirect("performance:task", pk=task.pk)
        status = 400
    else:
        form = TaskUpdateForm(
            initial={"status": task.status, "progress_note": task.progress_note}, status_choices=choices
        )
    return render(
        request,
        "performance/task_detail.html",
        {
            "task": task,
            "form": form if can_update else None,
            "kpi": KPI_BY_CODE.get(task.kpi),
            "overdue": task.is_overdue(timezone.localdate()),
        },
        status=status,
    )
