"""ME placement (kedudukan ME) for an area: the recommendation beside the
current placement, the area's placement history, and applying the
recommended moves in two steps (choose, then confirm). Only the confirmed
POST writes, through ``performance.services.placement_apply``; the access
policy decides who sees (404 out of scope) and who applies (403)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from org.access import get_unit_for_user
from org.models import OrgUnit, Placement, UnitKind, User
from performance import placement, services
from performance.forms_work import PlacementForm
from performance.models import PlacementDecision

HISTORY_ROWS = 30
DECISION_ROWS = 10
DOCS_SECTION = "docs/PERFORMANCE-KPI.md#penempatan-me"


def _name(u: User) -> str:
    return u.get_full_name() or u.get_username()


def _area(request: HttpRequest, area_pk: int, action: str) -> OrgUnit:
    """The area in scope (404 otherwise, and for a unit that is not an area), then
    403 unless ``action`` is allowed on it."""
    unit = get_unit_for_user(request.user, area_pk)
    if unit.kind != UnitKind.AREA:
        raise Http404
    if not request.user.has_perm(action, unit):
        raise PermissionDenied
    return unit


def _move_choices(rec: placement.Recommendation) -> list[tuple[int, str]]:
    return [(m.me.pk, f"{_name(m.me)}: {m.source.name} → {m.target.name}") for m in rec.moves]


def _page_context(request: HttpRequest, area: OrgUnit, rec: placement.Recommendation, form: Any) -> dict[str, Any]:
    history = list(
        Placement.objects.filter(branch__parent=area)
        .select_related("user", "branch", "decided_by")
        .order_by("-valid_from", "-id")[:HISTORY_ROWS]
    )
    decisions = list(PlacementDecision.objects.filter(area=area).select_related("decided_by")[:DECISION_ROWS])
    names = {b.code: b.name for b in (line.branch for line in rec.lines)}
    return {
        "area": area,
        "rec": rec,
        "form": form,
        "history": history,
        "decisions": decisions,
        "branch_names": names,
        "method": placement.METHOD,
        "docs_section": DOCS_SECTION,
    }


@login_required
@require_GET
def placement_page(request: HttpRequest, area_pk: int) -> HttpResponse:
    """The recommendation per branch (potential, institutions, MEs now,
    recommended, difference, load now/after), the proposed moves, the method,
    the history; for who may apply, the form of step 1."""
    area = _area(request, area_pk, "performance.view_placement")
    rec = placement.recommend(area)
    form = None
    if rec.moves and request.user.has_perm("performance.apply_placement", area):
        form = PlacementForm(move_choices=_move_choices(rec))
    return render(request, "performance/placement.html", _page_context(request, area, rec, form))


class _DryRun(Exception):
    """Rolls back the trial run of the step before the confirmation."""


@login_required
@require_POST
def placement_apply(request: HttpRequest, area_pk: int) -> HttpResponse:
    """Step 1 (no ``confirm``): check the chosen moves against a fresh
    recommendation and the service's rules in a trial run that is rolled
    back, then show exactly what will change. Step 2 (``confirm``): apply."""
    area = _area(request, area_pk, "performance.apply_placement")
    rec = placement.recommend(area)
    form = PlacementForm(request.POST, move_choices=_move_choices(rec))
    if form.is_valid():
        data = form.cleaned_data
        chosen = [m for m in rec.moves if m.me.pk in set(data["moves"])]
        kwargs = {
            "actor": request.user,
            "area": area,
            "moves": [(m.me, m.target) for m in chosen],
            "valid_from": data["valid_from"],
            "reason": data["reason"],
            "basis": rec.basis(),
            "method": placement.METHOD,
        }
        try:
            if data["confirm"]:
                services.placement_apply(**kwargs)
            else:
                with transaction.atomic():
                    services.placement_apply(**kwargs)
                    raise _DryRun
        except _DryRun:
            return render(
                request,
                "performance/placement_confirm.html",
                {"area": area, "moves": chosen, "data": data, "form": form},
            )
        except DomainError as e:
            field = e.field if e.field in form.fields else None
            form.add_error(field, str(e.message))
        else:
            names = ", ".join(f"{_name(m.me)} ({m.source.name} → {m.target.name})" for m in chosen)
            messages.success(request, _("Penempatan diterapkan: %(moves)s.") % {"moves": names})
            return redirect("performance:placement", area_pk=area.pk)
    return render(request, "performance/placement.html", _page_context(request, area, rec, form), status=400)
