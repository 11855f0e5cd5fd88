"""Registry pages: list, detail, create/edit, reassignment, merge, contacts,
a branch's ranking and the potential per unit. Thin: services write,
selectors read, the access policy decides."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from institutions import scoring, selectors, services
from institutions.forms import (
    ContactForm,
    InstitutionForm,
    MergeForm,
    ReasonForm,
    ReassignForm,
    bound_filter_form,
    regency_choices,
)
from institutions.models import Contact, Institution, Stage
from institutions.validation import province_names, regency_names
from org.access import (
    active_assignment,
    get_institution_for_user,
    get_unit_for_user,
    reads_as_owner,
    scope_root,
    visible_institutions,
)
from org.models import UnitKind

PAGE_SIZES = (25, 50, 100)
INSTITUTION_FORM_FIELDS = (
    "name",
    "type",
    "sector",
    "province_code",
    "regency_code",
    "address",
    "latitude",
    "longitude",
    "npwp",
    "member_count",
    "potential_value",
    "potential_basis",
    "status",
    "notes",
)


def _id_param(value: str | None) -> int | None:
    """An id from a query string: ASCII digits within the bigint range, else None."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _page_of(qs: Any, size: int, number: Any) -> Any:
    """A page of ``qs``: ids paged first, then those rows with their joins."""
    page = Paginator(qs.values_list("pk", flat=True), size).get_page(number)
    page.object_list = selectors.page_rows(qs, list(page.object_list))
    return page


def _small_scope(user: Any) -> bool:
    """Whether pickers of people fit on a phone: a branch or an area."""
    root = scope_root(user)
    return root is not None and root.kind in (UnitKind.CABANG, UnitKind.AREA)


@login_required
def institution_list(request: HttpRequest) -> HttpResponse:
    form = bound_filter_form(request.GET)
    filters = form.filters()
    qs = selectors.institution_list(request.user, filters)
    page = _page_of(qs, _page_size(request), request.GET.get("page"))
    branches = list(selectors.scoped_branches(request.user).only("id", "name", "code"))
    chosen = next((b for b in branches if b.pk == filters.branch), None) if filters.branch else None
    if chosen is not None:
        mes = list(selectors.mes_of_branch(chosen))
    elif _small_scope(request.user):
        mes = list(selectors.scoped_mes(request.user))
    else:
        mes = []
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": _query_without_page(request),
        "branches": branches if len(branches) > 1 else [],
        "mes": mes,
        "regency_names": regency_names(),
        # Only the chosen province's regencies (500+ options would weigh on every page view).
        "regency_options": regency_choices(filters.province)[1:]
        if filters.province
        else [(filters.regency, regency_names()[filters.regency])]
        if filters.regency
        else [],
        "page_sizes": PAGE_SIZES,
        "page_size": _page_size(request),
        "can_create": request.user.has_perm("institutions.create"),
        "can_import": request.user.has_perm("institutions.import"),
        "can_export": request.user.has_perm("institutions.export"),
        "own_branch": scope_root(request.user) if _is_branch_scope(request.user) else None,
        "active_filters": bool(request.GET.dict().keys() - {"page", "sort", "page_size"}),
    }
    return render(request, "institutions/institution_list.html", context)


def _is_branch_scope(user: Any) -> bool:
    root = scope_root(user)
    return root is not None and root.kind == UnitKind.CABANG


def _contact_view(user: Any, inst: Institution, contacts: list[Contact]) -> list[dict[str, Any]]:
    """How each contact shows: in full to the owning branch, masked (with a
    logged "show") to others, never for restricted or erased contacts."""
    owner = reads_as_owner(user, inst)
    rows = []
    for c in contacts:
        shown = owner and not c.is_restricted and not c.is_erased
        rows.append({"c": c, "shown": shown, "masked_phone": _mask(c.phone), "masked_email": _mask_email(c.email)})
    return rows


def _mask(value: str) -> str:
    """Enough to tell two numbers apart, not enough to call: the last 2 digits."""
    digits = "".join(c for c in value if c.isdigit())
    return ("•" * 6 + digits[-2:]) if digits else ""


def _mask_email(value: str) -> str:
    if "@" not in value:
        return ""
    return "•••@" + value.split("@", 1)[1]


@login_required
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        inst = get_institution_for_user(request.user, pk)
    except Http404:
        survivor = selectors.merged_survivor(request.user, pk)
        if survivor is None:
            raise
        messages.info(request, _("Lembaga itu sudah digabung ke %(name)s.") % {"name": survivor.name})
        return HttpResponseRedirect(reverse("institutions:detail", args=[survivor.pk]))
    data = selectors.institution_detail(request.user, inst)
    user = request.user
    can_contacts = user.has_perm("institutions.view_contacts", inst)
    context = {
        "inst": inst,
        **data,
        "contact_rows": _contact_view(user, inst, data["contacts"]) if can_contacts else None,
        "contact_count": len(data["contacts"]),
        "score": scoring.for_institution(inst),
        "province_name": province_names().get(inst.province_code, inst.province_code),
        "regency_name": regency_names().get(inst.regency_code, inst.regency_code),
        "timeline": selectors.timeline(inst, [c.pk for c in data["contacts"]], user=user),
        "can_edit": user.has_perm("institutions.change", inst),
        "can_reassign": user.has_perm("institutions.reassign_me", inst)
        or user.has_perm("institutions.move_branch", inst),
        "can_merge": user.has_perm("institutions.merge", inst),
        "can_manage_contacts": user.has_perm("institutions.manage_contacts", inst),
        "parent_visible": inst.parent is not None and visible_institutions(user).filter(pk=inst.parent_id).exists(),
        **_engagement(user, inst),
    }
    return render(request, "institutions/institution_detail.html", context)


def _engagement(user: Any, inst: Institution) -> dict[str, Any]:
    """The pipeline stage with its history and possible moves, and the ME's work
    on the institution (activities app)."""
    from activities import selectors as work
    from institutions import pipeline

    can_move = user.has_perm("institutions.move_stage", inst)
    return {
        "stage_history": pipeline.stage_history(inst),
        "stage_targets": [
            (t, Stage(t).label, str(pipeline.rule_for(inst.stage, t).requirement))
            for t in pipeline.allowed_targets(inst.stage)
        ]
        if can_move
        else [],
        "work": work.institution_activity(user, inst) if user.has_perm("activities.view", inst) else None,
        "can_log": user.has_perm("activities.create_for", inst),
        "can_plan": user.has_perm("activities.plan_maintenance", inst) and inst.stage in ("EKSEKUSI", "MAINTENANCE"),
        "can_add_lead": user.has_perm("activities.create_lead", inst),
        "closings": _closings(user, inst),
    }


def _closings(user: Any, inst: Institution) -> dict[str, Any] | None:
    """The institution's recent closings and totals (sales app), for who reads closings."""
    if not user.has_perm("sales.view"):
        return None
    from sales import selectors as sales

    return sales.institution_closings(user, inst)


def _form_values(form: InstitutionForm) -> dict[str, Any]:
    data = {k: form.cleaned_data.get(k) for k in INSTITUTION_FORM_FIELDS}
    data["npwp"] = data["npwp"] or None
    data["member_count"] = data["member_count"] or 0
    data["potential_value"] = data["potential_value"] or 0
    return data


def _resolve_parent(user: Any, form: InstitutionForm, current: Institution | None = None) -> Institution | None:
    pid = form.cleaned_data.get("parent")
    if not pid:
        return None
    if current is not None and pid == current.parent_id:
        return current.parent  # unchanged (it may lie outside the editor's scope)
    parent = visible_institutions(user).filter(pk=pid).first()
    if parent is None:
        raise DomainError(_("Lembaga induk tidak ditemukan dalam cakupan Anda."), field="parent")
    return parent


def _parent_choice(user: Any, form: InstitutionForm, inst: Institution | None) -> dict[str, Any] | None:
    """The parent shown as chosen in the picker: the submitted or current one,
    named when the user may see it."""
    raw = form.data.get("parent") if form.is_bound else form.initial.get("parent")
    pid = _id_param(str(raw)) if raw else None
    if pid is None:
        return None
    visible = visible_institutions(user).select_related("branch").filter(pk=pid).first()
    if visible is not None:
        return {"pk": pid, "label": f"{visible.name} · {visible.branch.name}"}
    if inst is not None and pid == inst.parent_id:
        return {"pk": pid, "label": _("(lembaga induk di luar cakupan Anda)")}
    return None


def _show_domain_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


@login_required
def institution_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("institutions.create"):
        raise PermissionDenied
    branches = list(selectors.scoped_branches(user))
    a = active_assignment(user)
    own_branch = a.unit if a is not None and a.unit.kind == UnitKind.CABANG else None
    similar: list[Institution] = []
    if request.method == "POST":
        form = InstitutionForm(request.POST)
        branch = own_branch
        if own_branch is None:
            try:
                branch = next((b for b in branches if b.pk == int(request.POST.get("branch", "0"))), None)
            except ValueError:
                branch = None
            if branch is None:
                form.add_error(None, _("Pilih cabang pengelola."))
        if form.is_valid():
            try:
                inst = services.institution_create(
                    actor=user,
                    branch=branch,
                    parent=_resolve_parent(user, form),
                    confirm_distinct=form.cleaned_data["confirm_distinct"],
                    **_form_values(form),
                )
            except services.PossibleDuplicate as exc:
                similar = exc.matches
                _show_domain_error(form, exc)
            except DomainError as exc:
                _show_domain_error(form, exc)
            else:
                messages.success(request, _("Lembaga %(name)s telah didaftarkan.") % {"name": inst.name})
                return HttpResponseRedirect(reverse("institutions:detail", args=[inst.pk]))
    else:
        form = InstitutionForm(initial={"province_code": "", "status": "AKTIF"})
    return render(
        request,
        "institutions/institution_form.html",
        {
            "form": form,
            "similar": _similar_rows(user, similar),
            "branches": branches if own_branch is None else [],
            "chosen_branch": request.POST.get("branch", ""),
            "own_branch": own_branch,
            "inst": None,
            "parent_choice": _parent_choice(user, form, None),
        },
    )


@login_required
def institution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    inst = get_institution_for_user(request.user, pk, action="institutions.change")
    similar: list[Institution] = []
    if request.method == "POST":
        form = InstitutionForm(request.POST)
        if form.is_valid():
            try:
                services.institution_update(
                    actor=request.user,
                    institution=inst,
                    parent=_resolve_parent(request.user, form, current=inst),
                    confirm_distinct=form.cleaned_data["confirm_distinct"],
                    **_form_values(form),
                )
            except services.PossibleDuplicate as exc:
                similar = exc.matches
                _show_domain_error(form, exc)
            except DomainError as exc:
                _show_domain_error(form, exc)
            else:
                messages.success(request, _("Perubahan disimpan."))
                return HttpResponseRedirect(reverse("institutions:detail", args=[inst.pk]))
    else:
        initial = {k: getattr(inst, k) for k in INSTITUTION_FORM_FIELDS}
        initial["npwp"] = inst.npwp or ""
        initial["parent"] = inst.parent_id
        form = InstitutionForm(initial=initial)
    return render(
        request,
        "institutions/institution_form.html",
        {
            "form": form,
            "similar": _similar_rows(request.user, similar),
            "inst": inst,
            "branches": [],
            "parent_choice": _parent_choice(request.user, form, inst),
        },
    )


def _similar_rows(user: Any, matches: list[Institution]) -> list[dict[str, Any]]:
    """Similar institutions: linked when the user may open them, else named with
    their branch only (the user typed the name; nothing else is shown)."""
    if not matches:
        return []
    visible = set(visible_institutions(user).filter(pk__in=[m.pk for m in matches]).values_list("pk", flat=True))
    return [{"inst": m, "linkable": m.pk in visible} for m in matches]


@login_required
def similar_check(request: HttpRequest) -> HttpResponse:
    """htmx: similar names in the chosen regency while the form is being typed."""
    if not request.user.has_perm("institutions.create"):
        raise PermissionDenied
    name = request.GET.get("name", "")[:200]
    regency = request.GET.get("regency_code", "")[:5]
    matches: list[Institution] = []
    if len(name.strip()) >= 3 and regency in regency_names():
        matches = services.find_similar(
            name=name, regency_code=regency, exclude_pk=_id_param(request.GET.get("exclude"))
        )
    return render(request, "institutions/partials/_similar.html", {"similar": _similar_rows(request.user, matches)})


@login_required
def parent_lookup(request: HttpRequest) -> HttpResponse:
    """htmx: institutions in the user's scope whose name matches, as <option>s
    for the parent picker (at most 20)."""
    q = request.GET.get("parent_q", "")[:100]
    rows = selectors.parent_lookup(request.user, q, exclude=_id_param(request.GET.get("exclude")))
    choices = [("", _("— tanpa induk —")), *[(str(i.pk), f"{i.name} · {i.branch.name}") for i in rows]]
    return render(request, "institutions/partials/_options.html", {"choices": choices})


@login_required
def regency_options(request: HttpRequest) -> HttpResponse:
    """htmx: the <option>s of the regencies of a province."""
    province = request.GET.get("province") or request.GET.get("province_code") or ""
    blank = request.GET.get("blank") or "—"
    choices = (
        regency_choices(province, blank)
        if province in province_names()
        else [("", blank), *[(code, name) for code, name in regency_names().items()]]
    )
    return render(request, "institutions/partials/_options.html", {"choices": choices})


@login_required
def institution_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    inst = get_institution_for_user(user, pk)
    can_move = user.has_perm("institutions.move_branch", inst)
    if not (can_move or user.has_perm("institutions.reassign_me", inst)):
        raise PermissionDenied
    branches = list(selectors.scoped_branches(user)) if can_move else []
    mes = list(selectors.mes_of_branch(inst.branch))
    form = ReassignForm(request.POST or None, initial={"branch": inst.branch_id, "me": inst.me_id})
    if request.method == "POST" and form.is_valid():
        branch_id = form.cleaned_data.get("branch") or inst.branch_id
        me_id = form.cleaned_data.get("me")
        new_branch = next((b for b in branches if b.pk == branch_id), None) if branch_id != inst.branch_id else None
        if branch_id != inst.branch_id and new_branch is None:
            form.add_error("branch", _("Cabang tidak ditemukan dalam cakupan Anda."))
        else:
            me = None
            if me_id:
                me = selectors.scoped_mes(user).filter(pk=me_id).first()
            if new_branch is not None and me is not None and not services.me_is_posted(me, new_branch):
                # The ME list shows the current branch's MEs: a branch move starts without one.
                me = None
            try:
                services.institution_reassign(
                    actor=user,
                    institution=inst,
                    branch=new_branch,
                    me=me,
                    clear_me=me is None,
                    reason=form.cleaned_data.get("reason") or "",
                )
            except DomainError as exc:
                _show_domain_error(form, exc)
            else:
                messages.success(request, _("Pengelola lembaga telah diganti."))
                return HttpResponseRedirect(reverse("institutions:detail", args=[inst.pk]))
    return render(
        request,
        "institutions/institution_reassign.html",
        {"inst": inst, "form": form, "branches": branches, "mes": mes, "can_move": can_move},
    )


@login_required
def institution_merge(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    dup = get_institution_for_user(user, pk, action="institutions.merge")
    candidates = _similar_rows(
        user, services.find_similar(name=dup.name, regency_code=dup.regency_code, exclude_pk=dup.pk)
    )
    candidates = [c for c in candidates if c["linkable"]]
    data = None
    if request.method == "POST":
        data = request.POST.copy()
        other = data.get("survivor_other")
        if other:
            data["survivor"] = str(other)
    form = MergeForm(data)
    if request.method == "POST" and form.is_valid():
        survivor = visible_institutions(user).filter(pk=form.cleaned_data["survivor"]).first()
        if survivor is None:
            form.add_error("survivor", _("Lembaga tujuan tidak ditemukan dalam cakupan Anda."))
        elif not user.has_perm("institutions.merge", survivor):
            raise PermissionDenied
        else:
            try:
                services.institution_merge(
                    actor=user, duplicate=dup, survivor=survivor, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                _show_domain_error(form, exc)
            else:
                messages.success(
                    request,
                    _("%(dup)s telah digabung ke %(surv)s.") % {"dup": dup.name, "surv": survivor.name},
                )
                return HttpResponseRedirect(reverse("institutions:detail", args=[survivor.pk]))
    return render(request, "institutions/institution_merge.html", {"inst": dup, "form": form, "candidates": candidates})


# --- Contacts ---------------------------------------------------------------------------


def _contact_of(inst: Institution, cid: int) -> Contact:
    return get_object_or_404(Contact, pk=cid, institution=inst)


@login_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    inst = get_institution_for_user(request.user, pk, action="institutions.manage_contacts")
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_create(actor=request.user, institution=inst, **form.cleaned_data)
        except DomainError as exc:
            _show_domain_error(form, exc)
        else:
            messages.success(request, _("Kontak ditambahkan."))
            return HttpResponseRedirect(reverse("institutions:detail", args=[inst.pk]) + "#kontak")
    return render(request, "institutions/contact_form.html", {"inst": inst, "form": form})


@login_required
@require_POST
def contact_reveal(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    """Show a contact's phone/email to a reader outside the owning branch; the read is logged."""
    inst = get_institution_for_user(request.user, pk, action="institutions.view_contacts")
    contact = _contact_of(inst, cid)
    if contact.is_erased or contact.is_restricted:
        raise Http404
    services.contact_reads_log(actor=request.user, contacts=[contact], channel="web")
    row = {"c": contact, "shown": True}
    return render(request, "institutions/partials/_contact_values.html", {"row": row, "inst": inst})


def _contact_action(request: HttpRequest, pk: int, cid: int, action: str) -> HttpResponse:
    inst = get_institution_for_user(request.user, pk, action="institutions.manage_contacts")
    contact = _contact_of(inst, cid)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tuliskan dasar/alasan permintaan."))
    else:
        try:
            if action == "erase":
                services.contact_erase(actor=request.user, contact=contact, reason=form.cleaned_data["reason"])
                messages.success(request, _("Data pribadi kontak telah dihapus."))
            else:
                restrict = request.POST.get("restrict", "1") == "1"
                services.contact_restrict(
                    actor=request.user, contact=contact, restrict=restrict, reason=form.cleaned_data["reason"]
                )
                messages.success(
                    request, _("Pemrosesan data kontak dibatasi.") if restrict else _("Pembatasan dicabut.")
                )
        except DomainError as exc:
            messages.error(request, str(exc.message))
    return HttpResponseRedirect(reverse("institutions:detail", args=[inst.pk]) + "#kontak")


@login_required
@require_POST
def contact_restrict(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    return _contact_action(request, pk, cid, "restrict")


@login_required
@require_POST
def contact_erase(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    return _contact_action(request, pk, cid, "erase")


# --- Potential ---------------------------------------------------------------------------


@login_required
def branch_ranking(request: HttpRequest, unit_pk: int) -> HttpResponse:
    branch = get_unit_for_user(request.user, unit_pk)
    if branch.kind != UnitKind.CABANG:
        raise Http404
    qs = selectors.branch_ranking(request.user, branch)
    page = _page_of(qs, 50, request.GET.get("page"))
    rows = selectors.potential_by_unit(request.user, level="branch", unit_id=branch.pk)
    totals = rows[0] if rows else None
    return render(
        request,
        "institutions/branch_ranking.html",
        {"branch": branch, "page": page, "query": "", "totals": totals, "regency_names": regency_names()},
    )


LEVEL_BELOW = {UnitKind.PUSAT: "region", UnitKind.WILAYAH: "area", UnitKind.AREA: "branch"}


@login_required
def potential(request: HttpRequest) -> HttpResponse:
    """Aggregate potential per unit one level below the user's scope (per region
    for Pusat, per area for a Wilayah, per branch for a DBA); ``?level=`` picks
    another level."""
    root = scope_root(request.user)
    if root is None:
        raise PermissionDenied
    if root.kind == UnitKind.CABANG:
        return HttpResponseRedirect(reverse("institutions:branch", args=[root.pk]))
    default = LEVEL_BELOW.get(root.kind, "region")  # type: ignore[call-overload]
    level = request.GET.get("level", default)
    allowed = {"region": ["region", "area", "branch"], "area": ["area", "branch"], "branch": ["branch"]}[default]
    if level not in allowed:
        level = default
    rows = selectors.potential_by_unit(request.user, level=level)
    totals = {
        "institutions": sum(r["institutions"] for r in rows),
        "score_total": sum(r["score_total"] for r in rows),
        "value_total": sum(r["value_total"] for r in rows),
        "unassigned": sum(r["unassigned"] for r in rows),
    }
    return render(
        request,
        "institutions/potential.html",
        {"rows": rows, "level": level, "levels": allowed, "totals": totals, "root": root},
    )


@login_required
def personal_data_reads(request: HttpRequest) -> HttpResponse:
    """Auditors read who looked at contacts' phone/email from outside the owning branch."""
    if not request.user.has_perm("institutions.view_access_log"):
        raise PermissionDenied
    username = request.GET.get("user", "").strip()[:150]
    inst = request.GET.get("institution", "")
    qs = selectors.personal_data_reads(request.user, username=username, institution=_id_param(inst))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "institutions/personal_data_reads.html",
        {"page": page, "query": _query_without_page(request), "username": username, "institution": inst},
    )
