"""Events and leads: the events list, the leads list, the lead form (two leads
at one event in a row; a double submit records one), a lead's page with its
hand-off, status and erase, and the conversion table. Thin: services write,
selectors read, the access policy decides (out of scope 404, refused 403)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activities import privacy, selectors, services
from activities.forms_leads import (
    DEFAULT_PURPOSE,
    STATUS_FILTER_OPEN,
    ConversionForm,
    LeadAssignForm,
    LeadEraseForm,
    LeadFilterForm,
    LeadForm,
    LeadRestrictForm,
    LeadStatusForm,
)
from activities.models import Activity, Lead, LeadStatus, ParticipantRole
from activities.selectors import LeadFilters
from core.errors import DomainError
from core.products import Product
from institutions.models import Institution, LawfulBasis
from institutions.selectors import scoped_branches
from org.access import (
    active_role,
    get_activity_for_user,
    get_institution_for_user,
    get_lead_for_user,
    scope_root,
)
from org.models import OrgUnit, Role, UnitKind, User

EVENTS_PER_PAGE = 20
LEADS_PER_PAGE = 30


def _id(value: Any) -> int | None:
    """An id from a query string: ASCII digits within the bigint range, else None."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _name(u: User | None) -> str:
    return (u.get_full_name() or u.get_username()) if u is not None else ""


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _own_branch(user: Any) -> OrgUnit | None:
    root = scope_root(user)
    return root if root is not None and root.kind == UnitKind.CABANG else None


def _branches(user: Any) -> list[OrgUnit]:
    """The branches a user may filter by (one query; none to pick from in a branch scope)."""
    return list(scoped_branches(user).only("id", "name", "code"))


def _product_labels(values: list[str]) -> list[str]:
    return [str(Product(p).label) for p in values if p in Product.values]


# --- Personal data on the lead pages -----------------------------------------------------------


def _person(user: Any, lead: Lead) -> dict[str, Any]:
    """How a lead's person shows: in full to the lead's own branch, masked to the
    other readers, not at all once restricted, erased or anonymised."""
    shown = privacy.shows_person(user, lead)
    return {
        "shown": shown,
        "hidden": lead.personal_data_hidden,
        "name": privacy.lead_name(user, lead),
        "phone": privacy.lead_phone(user, lead) or "",
        "email": privacy.lead_email(user, lead) or "",
        "notes": privacy.lead_notes(user, lead) or "",
        "tel": "".join(c for c in lead.phone if c.isdigit() or c == "+") if shown else "",
    }


# --- Events ------------------------------------------------------------------------------------


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    """Events (sosialisasi, literasi, open booth): upcoming or past, with their
    support team, products, leads collected and closings. Fixed query count."""
    user = request.user
    if not user.has_perm("activities.view", scope_root(user)):
        raise PermissionDenied
    when = "past" if request.GET.get("when") == "past" else "upcoming"
    branches = _branches(user)
    branch_id = _id(request.GET.get("branch"))
    branch = next((b for b in branches if b.pk == branch_id), None) if branch_id else None
    qs = selectors.events(user, upcoming=when == "upcoming", branch=branch.pk if branch else None)
    page = Paginator(qs, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "e": e,
            "products": _product_labels(e.products),
            "team": [
                {"name": _name(p.user), "role": p.get_role_display(), "sales": p.role == ParticipantRole.SALES}
                for p in e.participant_rows.all()
            ],
        }
        for e in page.object_list
    ]
    base = {k: v for k, v in (("branch", branch.pk if branch else None),) if v}
    return render(
        request,
        "activities/event_list.html",
        {
            "page": page,
            "rows": rows,
            "when": when,
            "query": _query_without_page(request),
            "branches": branches if len(branches) > 1 else [],
            "branch": branch,
            "tab_upcoming": "?" + urlencode({**base, "when": "upcoming"}),
            "tab_past": "?" + urlencode({**base, "when": "past"}),
            "can_plan": user.has_perm("activities.create"),
            "can_view_leads": user.has_perm("activities.view_leads"),
            "plan_url": reverse("activities:log") + "?kind=SOSIALISASI&status=PLANNED",
            "today": timezone.localdate(),
        },
    )


# --- Leads list --------------------------------------------------------------------------------


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """Leads in scope with their filters in the URL; a sales member lands on
    the leads handed to them. Fixed query count."""
    user = request.user
    if not user.has_perm("activities.view_leads"):
        raise PermissionDenied
    for_sales = active_role(user) == Role.SALES
    data = request.GET.copy()
    if "assigned" not in data:
        data["assigned"] = "me" if for_sales else "all"
    form = LeadFilterForm(data, for_sales=for_sales)
    status = form.value("status") or ""
    assigned = form.value("assigned") or "all"
    branches = _branches(user)
    branch_id = form.value("branch")
    institution_id = form.value("institution")
    activity_id = form.value("activity")
    filters = LeadFilters(
        status=status if status in LeadStatus.values else "",
        open_only=status == STATUS_FILTER_OPEN,
        institution=institution_id,
        source_activity=activity_id,
        assigned_to=user.pk if assigned == "me" and for_sales else None,
        unassigned=assigned == "none",
        branch=branch_id,
    )
    page = Paginator(selectors.lead_list(user, filters), LEADS_PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {"l": lead, "p": _person(user, lead), "overdue": bool(lead.is_open and lead.due_on and lead.due_on < today)}
        for lead in page.object_list
    ]
    institution = _visible_or_none(get_institution_for_user, user, institution_id)
    activity = _visible_or_none(get_activity_for_user, user, activity_id)
    can_add = (
        user.has_perm("activities.create_lead", institution)
        if institution is not None
        else user.has_perm("activities.create")
    )
    add_query = {k: v for k, v in (("institution", institution_id), ("activity", activity_id)) if v}
    return render(
        request,
        "activities/lead_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": _query_without_page(request),
            "for_sales": for_sales,
            "status": status,
            "assigned": assigned,
            "branches": branches if len(branches) > 1 else [],
            "branch_id": branch_id,
            "institution": institution,
            "activity": activity,
            "institution_id": institution_id or "",
            "activity_id": activity_id or "",
            "can_add": can_add,
            "add_url": reverse("activities:lead-create") + ("?" + urlencode(add_query) if add_query else ""),
            "active_filters": bool(request.GET.dict().keys() - {"page"}),
        },
    )


def _visible_or_none(getter: Any, user: Any, pk: int | None) -> Any:
    """The object a filter names, for its heading; None when absent or out of scope
    (the filter still applies, so nothing out of scope is listed)."""
    if pk is None:
        return None
    try:
        return getter(user, pk)
    except Http404:
        return None


# --- The lead form -----------------------------------------------------------------------------


def _me_choices(user: Any, branch: OrgUnit | None) -> tuple[list[tuple[int, str]] | None, list[User]]:
    """A branch head records a lead for one of the branch's MEs (default: the
    institution's); an ME records their own."""
    if active_role(user) == Role.ME or branch is None:
        return None, []
    mes = selectors.mes_of_branch(branch)
    return [(u.pk, _name(u)) for u in mes], mes


def _create_url(inst: Institution | None, activity: Activity | None) -> str:
    query = {k: v.pk for k, v in (("institution", inst), ("activity", activity)) if v is not None}
    return reverse("activities:lead-create") + ("?" + urlencode(query) if query else "")


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    """``?institution=`` and ``?activity=`` fix where the lead was collected;
    without them the institution is picked from a search. "Simpan & tambah
    lagi" keeps both for the next lead; a repeated ``client_id`` creates nothing."""
    user = request.user
    activity: Activity | None = None
    act_id = _id(request.GET.get("activity"))
    if act_id:
        activity = get_activity_for_user(user, act_id)
    inst_id = _id(request.GET.get("institution")) or (activity.institution_id if activity is not None else None)
    fixed: Institution | None = None
    if inst_id:
        fixed = get_institution_for_user(user, inst_id, action="activities.create_lead")
    elif not user.has_perm("activities.create"):
        raise PermissionDenied
    source_error = None
    if activity is not None and fixed is not None and activity.institution_id != fixed.pk:
        source_error = _("Aktivitas sumber bukan dari lembaga ini; prospek dicatat tanpa sumber acara.")
        activity = None
    branch = fixed.branch if fixed is not None else _own_branch(user)
    me_choices, mes = _me_choices(user, branch)
    event_products = list(activity.products) if activity is not None else []

    picked: Institution | None = None
    status = 200
    if request.method == "POST":
        picked_id = _id(request.POST.get("institution")) if fixed is None else None
        if picked_id:
            # Picked from the search, which lists only where the user may record.
            picked = get_institution_for_user(user, picked_id, action="activities.create_lead")
        form = LeadForm(request.POST, me_choices=me_choices, event_products=event_products)
        if form.is_valid():
            d = form.cleaned_data
            inst = fixed or picked
            me = next((u for u in mes if u.pk == d.get("me")), None) if d.get("me") else None
            if inst is None:
                form.add_error(None, _("Pilih lembaga tempat prospek dikumpulkan."))
            elif d.get("me") and me is None:
                form.add_error("me", _("Pilih ME cabang ini."))
            else:
                try:
                    lead, created = services.lead_create(
                        actor=user,
                        institution=inst,
                        source_activity=activity,
                        name=d["name"],
                        phone=d["phone"],
                        email=d["email"],
                        product=d["product"],
                        purpose=d["purpose"],
                        lawful_basis=d["lawful_basis"],
                        due_on=d["due_on"],
                        notes=d["notes"],
                        me=me,
                        client_id=d["client_id"],
                    )
                except DomainError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
                else:
                    if created:
                        # The product, not the person: messages travel in a cookie.
                        messages.success(
                            request, _("Prospek tersimpan: %(product)s.") % {"product": lead.get_product_display()}
                        )
                    else:
                        messages.info(request, _("Prospek ini sudah tersimpan sebelumnya; tidak dicatat dua kali."))
                    if request.POST.get("next") == "more":
                        return HttpResponseRedirect(_create_url(inst, activity if lead.source_activity_id else None))
                    return HttpResponseRedirect(reverse("activities:lead-detail", args=[lead.pk]))
        status = 400
    else:
        initial: dict[str, Any] = {
            "client_id": uuid.uuid4(),
            "purpose": DEFAULT_PURPOSE,
            "lawful_basis": LawfulBasis.PERSETUJUAN,
        }
        if activity is not None and len(activity.products) == 1:
            initial["product"] = activity.products[0]
        form = LeadForm(initial=initial, me_choices=me_choices, event_products=event_products)
        if source_error:
            status = 400
    return render(
        request,
        "activities/lead_form.html",
        {
            "form": form,
            "inst": fixed,
            "picked": picked,
            "activity": activity,
            "source_error": source_error,
            "action": _create_url(fixed, activity),
            "event_products": _product_labels(activity.products) if activity is not None else [],
        },
        status=status,
    )


# --- A lead ------------------------------------------------------------------------------------


def _sales_choices(lead: Lead) -> list[tuple[int, str]]:
    return [(u.pk, _name(u)) for u in selectors.sales_of_branch(lead.branch_id)]


def _detail(
    request: HttpRequest,
    lead: Lead,
    *,
    assign_form: LeadAssignForm | None = None,
    status_form: LeadStatusForm | None = None,
    erase_form: LeadEraseForm | None = None,
    restrict_form: LeadRestrictForm | None = None,
    failed: Any = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    can_update = user.has_perm("activities.update_lead", lead)
    can_assign = lead.is_open and user.has_perm("activities.assign_lead", lead)
    can_erase = lead.erased_at is None and lead.anonymised_at is None and user.has_perm("activities.erase_lead", lead)
    nexts = [(s, LeadStatus(s).label) for s in services.lead_transitions(lead.status)] if can_update else []
    if can_assign and assign_form is None:
        assign_form = LeadAssignForm(
            initial={"assigned_to": lead.assigned_to_id, "due_on": lead.due_on}, sales_choices=_sales_choices(lead)
        )
    return render(
        request,
        "activities/lead_detail.html",
        {
            "lead": lead,
            "person": _person(user, lead),
            "overdue": bool(lead.is_open and lead.due_on and lead.due_on < today),
            "can_update": can_update,
            "next_statuses": [(s, label) for s, label in nexts if s != LeadStatus.TIDAK_TERTARIK],
            "can_refuse": any(s == LeadStatus.TIDAK_TERTARIK for s, _label in nexts),
            "status_form": status_form or LeadStatusForm(),
            "can_assign": can_assign,
            "assign_form": assign_form,
            "can_erase": can_erase,
            "erase_form": erase_form or LeadEraseForm(),
            "restrict_form": restrict_form or LeadRestrictForm(),
            "failed": failed,
            "source": lead.source_activity,
            "closings": _lead_closings(user, lead),
        },
        status=status,
    )


def _lead_closings(user: Any, lead: Lead) -> list[Any] | None:
    """The closings this lead turned into (sales app), for who reads closings."""
    if not user.has_perm("sales.view"):
        return None
    from sales.selectors import lead_closings

    return lead_closings(user, lead)


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_lead_for_user(request.user, pk))


def _field_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


@login_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the lead to a sales team member of its branch (with a due date)."""
    lead = get_lead_for_user(request.user, pk, action="activities.assign_lead")
    sales = selectors.sales_of_branch(lead.branch_id)
    form = LeadAssignForm(request.POST, sales_choices=[(u.pk, _name(u)) for u in sales])
    if form.is_valid():
        assignee = next((u for u in sales if u.pk == form.cleaned_data["assigned_to"]), None)
        try:
            services.lead_assign(actor=request.user, lead=lead, assignee=assignee, due_on=form.cleaned_data["due_on"])
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(request, _("Prospek diserahkan kepada %(name)s.") % {"name": _name(assignee)})
            return redirect("activities:lead-detail", pk=lead.pk)
    return _detail(request, lead, assign_form=form, failed=form, status=400)


@login_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the lead along baru → dihubungi → tertarik → closing, or out to
    tidak tertarik (with the reason)."""
    lead = get_lead_for_user(request.user, pk, action="activities.update_lead")
    form = LeadStatusForm(request.POST)
    if form.is_valid():
        try:
            services.lead_set_status(
                actor=request.user, lead=lead, status=form.cleaned_data["status"], note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(request, _("Status prospek menjadi %(s)s.") % {"s": lead.get_status_display()})
            return redirect("activities:lead-detail", pk=lead.pk)
    return _detail(request, lead, status_form=form, failed=form, status=400)


@login_required
@require_POST
def lead_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the person on a data subject's request (UU PDP); the lead keeps counting."""
    lead = get_lead_for_user(request.user, pk, action="activities.erase_lead")
    form = LeadEraseForm(request.POST)
    if form.is_valid():
        try:
            services.lead_erase(actor=request.user, lead=lead, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(request, _("Data pribadi prospek telah dihapus; angka konversi tetap dihitung."))
            return redirect("activities:lead-detail", pk=lead.pk)
    return _detail(request, lead, erase_form=form, failed=form, status=400)


@login_required
@require_POST
def lead_restrict(request: HttpRequest, pk: int) -> HttpResponse:
    """Restrict (or lift the restriction on) the processing of the person (UU PDP)."""
    lead = get_lead_for_user(request.user, pk, action="activities.erase_lead")
    form = LeadRestrictForm(request.POST)
    lift = request.POST.get("lift") == "1"
    if form.is_valid():
        try:
            services.lead_restrict(actor=request.user, lead=lead, reason=form.cleaned_data["reason"], lift=lift)
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(
                request,
                _("Pembatasan dicabut.")
                if lift
                else _("Pemrosesan data pribadi prospek ini dibatasi: telepon, email dan catatan disembunyikan."),
            )
            return redirect("activities:lead-detail", pk=lead.pk)
    return _detail(request, lead, restrict_form=form, failed=form, status=400)


# --- Conversion --------------------------------------------------------------------------------


@login_required
def conversion(request: HttpRequest) -> HttpResponse:
    """Lead conversion per institution, event, ME or branch (``?by=``), for
    leads collected in ``?from=`` … ``?to=`` (both days included)."""
    user = request.user
    if not user.has_perm("activities.view_leads"):
        raise PermissionDenied
    form = ConversionForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    own_branch = _own_branch(user) is not None
    default_by = "institution" if own_branch else "branch"
    by = data.get("by") or default_by
    start: date | None = data.get("start")
    end: date | None = data.get("end")
    rows = selectors.conversion(user, by, start=start, end=end + timedelta(days=1) if end else None)
    link_param = {"institution": "institution", "event": "activity", "branch": "branch"}.get(by)
    for r in rows:
        if not r["label"]:
            r["label"] = _("Acara #%(id)s") % {"id": r["id"]} if by == "event" else "—"
        r["url"] = (
            (reverse("activities:leads") + "?" + urlencode({link_param: r["id"], "assigned": "all"}))
            if link_param and r["id"]
            else ""
        )
    totals = {k: sum(r[k] for r in rows) for k in ("total", "won", "lost", "open")}
    totals["rate"] = round(100 * totals["won"] / totals["total"], 1) if totals["total"] else 0.0
    period = {k: v for k, v in (("from", request.GET.get("from", "")), ("to", request.GET.get("to", ""))) if v}
    return render(
        request,
        "activities/conversion.html",
        {
            "form": form,
            "rows": rows,
            "totals": totals,
            "by": by,
            "tabs": [
                (key, label, "?" + urlencode({"by": key, **period}))
                for key, label in form.fields["by"].choices  # type: ignore[attr-defined]
                if key != "branch" or not own_branch or by == "branch"
            ],
            "start": start,
            "end": end,
            "limited": len(rows) >= 100,
        },
    )
