"""Browsing the org tree."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from org import selectors, services
from org.access import get_unit_for_user
from org.forms import UnitMoveForm


@login_required
def unit_tree(request: HttpRequest) -> HttpResponse:
    roots = list(selectors.tree_roots(request.user))
    return render(request, "org/unit_tree.html", {"roots": roots})


@login_required
def unit_children(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, pk)
    children = list(selectors.unit_children(request.user, unit))
    return render(request, "org/partials/_unit_children.html", {"children": children, "parent": unit})


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, pk)
    can_see_people = request.user.has_perm("org.view_people", unit)
    context = {
        "unit": unit,
        "crumbs": selectors.unit_ancestors(request.user, unit),
        "children": list(selectors.unit_children(request.user, unit)),
        "people": list(selectors.unit_people(request.user, unit)) if can_see_people else None,
        "counts": selectors.with_counts(type(unit).objects.filter(pk=unit.pk)).get(),
        "move_form": UnitMoveForm(unit=unit) if request.user.has_perm("org.move_unit", unit) else None,
    }
    return render(request, "org/unit_detail.html", context)


@login_required
@require_POST
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, pk, action="org.move_unit")
    form = UnitMoveForm(request.POST, unit=unit)
    if form.is_valid():
        try:
            services.unit_move(actor=request.user, unit=unit, new_parent=form.cleaned_data["new_parent"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Unit %(name)s telah dipindahkan.") % {"name": unit.name})
    else:
        messages.error(request, _("Pilih induk baru yang sah."))
    return HttpResponseRedirect(reverse("org:unit-detail", args=[unit.pk]))
