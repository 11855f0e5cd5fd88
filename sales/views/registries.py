"""Channel-registry pages: individual agents, corporate/community agents, fleet
schemes, Club Point Reward memberships and PMP facilities — a list of each in
the user's scope and a form to add one.

Thin: ``sales.services`` writes; ``org.access`` decides who sees and does what.
One list view and one form view serve the five registries (``_list`` and
``_create``), each with a fixed number of queries per page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import DomainError
from org.access import (
    filter_owned_to_scope,
    get_institution_for_user,
    get_unit_for_user,
    scope_root,
    visible_institutions,
    visible_units,
)
from org.models import OrgUnit, UnitKind
from sales import services
from sales.forms_registries import FORMS, BranchChoiceForm
from sales.services import MANAGE, REGISTRIES

PAGE_SIZE = 25
# The institution picker of the form (a branch rarely has this many institutions).
PICKER_LIMIT = 500
VIEW = "sales.view"

# URL names of each registry's list and form, in the order of the tabs.
URLS: dict[str, tuple[str, str]] = {
    "agent": ("sales:agents", "sales:agent-create"),
    "corporate_agent": ("sales:corporate-agents", "sales:corporate-agent-create"),
    "fleet": ("sales:fleet", "sales:fleet-create"),
    "point_reward": ("sales:point-reward", "sales:point-reward-create"),
    "pmp": ("sales:pmp", "sales:pmp-create"),
}


def registry_rows(user: Any, kind: str) -> QuerySet[Any]:
    """The registry's entries in the user's scope, with their branch and
    institution joined (no query per row)."""
    reg = REGISTRIES[kind]
    qs = reg.model._default_manager.select_related("branch", reg.link)  # type: ignore[attr-defined]
    return filter_owned_to_scope(qs, user).order_by(*(reg.model._meta.ordering or []), "id")


def _pk(value: Any) -> int:
    """An id from the URL: ASCII digits within the bigint range, else 404."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Http404
    return int(text)


def _tabs(current: str) -> list[dict[str, Any]]:
    return [
        {"url": reverse(URLS[k][0]), "label": r.label_plural, "current": k == current} for k, r in REGISTRIES.items()
    ]


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Lists ----------------------------------------------------------------------------------------


def _list(request: HttpRequest, kind: str) -> HttpResponse:
    user = request.user
    if not user.has_perm(VIEW):
        raise PermissionDenied
    reg = REGISTRIES[kind]
    root = scope_root(user)
    page = Paginator(registry_rows(user, kind), PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.linked = getattr(row, reg.link)
        if kind == "point_reward":
            row.balance = row.points_earned - row.points_redeemed
    context = {
        "kind": kind,
        "registry": reg,
        "tabs": _tabs(kind),
        "page": page,
        "query": _query_without_page(request),
        "branch_scope": root is not None and root.kind == UnitKind.CABANG,
        "can_create": root is not None and user.has_perm(MANAGE, root),
        "create_url": reverse(URLS[kind][1]),
    }
    return render(request, "sales/registry_list.html", context)


# --- Forms ----------------------------------------------------------------------------------------


def _scoped_branches(user: Any) -> list[OrgUnit]:
    return list(visible_units(user).filter(kind=UnitKind.CABANG).only("id", "code", "name").order_by("code"))


def _create(request: HttpRequest, kind: str) -> HttpResponse:
    """``?institution=<id>`` fixes the institution (and so the branch); else
    the branch is the user's own, or chosen with ``?branch=<id>`` among the
    branches in scope, and the institution is picked among that branch's."""
    user = request.user
    reg = REGISTRIES[kind]
    inst = None
    branch: OrgUnit | None = None
    branches: list[OrgUnit] = []
    raw_inst = request.GET.get("institution")
    if raw_inst:
        inst = get_institution_for_user(user, _pk(raw_inst))
        branch = inst.branch
        if not user.has_perm(MANAGE, branch):
            raise PermissionDenied
    else:
        root = scope_root(user)
        if root is None or not user.has_perm(MANAGE, root):
            raise PermissionDenied
        if root.kind == UnitKind.CABANG:
            branch = root
        else:
            branches = _scoped_branches(user)
            raw_branch = request.GET.get("branch")
            if raw_branch:
                branch = get_unit_for_user(user, _pk(raw_branch), action=MANAGE)
                if branch.kind != UnitKind.CABANG:
                    raise Http404
    chooser = BranchChoiceForm(initial={"branch": branch.pk if branch else None}, branches=branches)

    form = None
    if branch is not None:
        institutions = None
        if inst is None:
            institutions = list(
                visible_institutions(user)
                .filter(branch=branch)
                .only("id", "name", "branch_id")
                .order_by("name", "id")[:PICKER_LIMIT]
            )
        form_class = FORMS[kind]
        if request.method == "POST":
            form = form_class(request.POST, institutions=institutions)
            if form.is_valid():
                data = dict(form.cleaned_data)
                chosen = inst
                if institutions is not None:
                    wanted = data.pop("institution", None)
                    chosen = next((i for i in institutions if i.pk == wanted), None)
                try:
                    services.registry_create(
                        actor=user,
                        kind=kind,
                        branch=branch if kind == "agent" else None,
                        institution=chosen,
                        **data,
                    )
                except DomainError as exc:
                    field = exc.field if exc.field in form.fields else None
                    if exc.field == reg.link and "institution" in form.fields:
                        field = "institution"
                    form.add_error(field, str(exc.message))
                else:
                    messages.success(request, _("%(what)s telah ditambahkan.") % {"what": reg.label})
                    return HttpResponseRedirect(reverse(URLS[kind][0]))
        else:
            form = form_class(institutions=institutions)

    context = {
        "kind": kind,
        "registry": reg,
        "inst": inst,
        "branch": branch,
        "branches": branches,
        "chooser": chooser,
        "form": form,
        "list_url": reverse(URLS[kind][0]),
        "no_institutions": form is not None
        and "institution" in form.fields
        and len(form.fields["institution"].choices) == 1,  # type: ignore[attr-defined]
    }
    return render(request, "sales/registry_form.html", context, status=400 if form is not None and form.errors else 200)


@login_required
def individual_agents(request: HttpRequest) -> HttpResponse:
    return _list(request, "agent")


@login_required
def individual_agent_create(request: HttpRequest) -> HttpResponse:
    return _create(request, "agent")


@login_required
def corporate_agents(request: HttpRequest) -> HttpResponse:
    return _list(request, "corporate_agent")


@login_required
def corporate_agent_create(request: HttpRequest) -> HttpResponse:
    return _create(request, "corporate_agent")


@login_required
def fleet_schemes(request: HttpRequest) -> HttpResponse:
    return _list(request, "fleet")


@login_required
def fleet_scheme_create(request: HttpRequest) -> HttpResponse:
    return _create(request, "fleet")


@login_required
def point_rewards(request: HttpRequest) -> HttpResponse:
    return _list(request, "point_reward")


@login_required
def point_reward_create(request: HttpRequest) -> HttpResponse:
    return _create(request, "point_reward")


@login_required
def pmp_facilities(request: HttpRequest) -> HttpResponse:
    return _list(request, "pmp")


@login_required
def pmp_facility_create(request: HttpRequest) -> HttpResponse:
    return _create(request, "pmp")
