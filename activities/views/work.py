"""The ME's day and records: "Hari ini", the activity form (log a visit in
under a minute from a phone; a retry after a dropped network creates nothing
twice), an activity's page, its evidence. Thin: services write, selectors
read, the access policy decides."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activities import selectors, services
from activities.forms import KIND_HINTS, ActivityEditForm, ActivityForm, EvidenceForm
from activities.models import EVENT_KINDS, ActivityKind, ActivityStatus, VisitStatus
from core.dates import day_param
from core.errors import DomainError
from core.products import Product
from institutions.models import Institution
from org.access import (
    active_role,
    get_activity_for_user,
    get_institution_for_user,
    scope_root,
    visible_institutions,
    visible_visits,
)
from org.models import OrgUnit, Role, UnitKind, User

EVENT_KIND_VALUES = " ".join(sorted(str(k) for k in EVENT_KINDS))


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _day_param(request: HttpRequest) -> date:
    return day_param(request.GET.get("tanggal"), timezone.localdate())


FIELD_ALIASES = {"starts_at": "time", "ends_at": "time", "checkin_accuracy_m": None, "checkin_latitude": None}


def _error_field(form: Any, field: str | None) -> str | None:
    """The form field a service error belongs to (None: shown above the form)."""
    field = FIELD_ALIASES.get(field or "", field)
    return field if field in form.fields else None


def _name(u: User) -> str:
    return u.get_full_name() or u.get_username()


def _own_branch(user: Any) -> OrgUnit | None:
    root = scope_root(user)
    return root if root is not None and root.kind == UnitKind.CABANG else None


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """ME (and sales member): today's agenda, overdue visits, leads waiting,
    one tap to log a visit. A branch head's "today" is the branch's day;
    other roles look at calendars."""
    role = active_role(request.user)
    if role == Role.PINCA:
        branch = _own_branch(request.user)
        if branch is not None:
            return redirect("activities:branch-day", unit_pk=branch.pk)
    if role not in (Role.ME, Role.SALES):
        return redirect("activities:calendar")
    day = _day_param(request)
    data = selectors.today_for(request.user, day)
    return render(
        request,
        "activities/today.html",
        {
            "t": data,
            "is_today": day == timezone.localdate(),
            "prev_day": day.fromordinal(day.toordinal() - 1),
            "next_day": day.fromordinal(day.toordinal() + 1),
            "can_log": request.user.has_perm("activities.create"),
            "role": role,
            "user_branch_id": getattr(_own_branch(request.user), "pk", None),
            "tasks": _open_tasks(request.user) if role == Role.ME else None,
        },
    )


TASKS_ON_TODAY = 20


def _open_tasks(user: Any) -> list[Any]:
    """The ME's open tasks from the branch head, overdue first (one query)."""
    from django.db.models import Case, IntegerField, Value, When

    from performance.models import OPEN_TASK_STATUSES
    from performance.selectors import tasks_for

    late = When(status__in=list(OPEN_TASK_STATUSES), due_on__lt=timezone.localdate(), then=Value(0))
    qs = tasks_for(user, me=user, open_only=True).annotate(
        late=Case(late, default=Value(1), output_field=IntegerField())
    )
    return list(qs.order_by("late", "due_on", "id")[:TASKS_ON_TODAY])


# --- The activity form ----------------------------------------------------------------------


def _me_choices(user: Any, branch: OrgUnit | None) -> list[tuple[int, str]] | None:
    """A branch head records for one of the branch's MEs; an ME records for themself."""
    if active_role(user) == Role.ME or branch is None:
        return None
    return [(u.pk, _name(u)) for u in selectors.mes_of_branch(branch)]


def _participant_choices(user: Any, branch: OrgUnit | None) -> list[tuple[int, str]]:
    if branch is None:
        return []
    labels: dict[str, str] = {Role.PINCA: _("Pemimpin Cabang"), Role.SALES: _("Tim penjualan"), Role.ME: _("ME")}
    return [
        (u.pk, f"{_name(u)} · {labels.get(role, role)}")
        for u, role in selectors.staff_of_branch(branch.pk)
        if u.pk != user.pk
    ]


def _contact_choices(user: Any, inst: Institution | None) -> list[tuple[int, str]]:
    if inst is None or not user.has_perm("institutions.view_contacts", inst):
        return []
    return [
        (c.pk, f"{c.name}{' · ' + c.position if c.position else ''}")
        for c in inst.contacts.filter(erased_at__isnull=True).order_by("name", "id")[:50]
    ]


def _form_context(request: HttpRequest, form: ActivityForm, inst: Institution | None, visit: Any) -> dict[str, Any]:
    return {
        "form": form,
        "inst": inst,
        "visit": visit,
        "event_kinds": EVENT_KIND_VALUES,
        "kind_hints": {str(k): str(v) for k, v in KIND_HINTS.items()},
        "kinds": [(k.value, k.label, KIND_HINTS[k]) for k in ActivityKind],
    }


@login_required
def activity_log(request: HttpRequest) -> HttpResponse:
    """Log a visit or plan an activity/event. ``?institution=``, ``?kind=``,
    ``?status=`` and ``?visit=`` preset the form (the "Catat" buttons)."""
    if not request.user.has_perm("activities.create"):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    visit = None
    visit_id = _id(source.get("visit"))
    if visit_id:
        visit = (
            visible_visits(request.user)
            .select_related("institution", "plan")
            .filter(pk=visit_id, status=VisitStatus.PLANNED)
            .first()
        )
        if visit is None:
            raise Http404
    inst: Institution | None = None
    inst_id = visit.institution_id if visit else _id(source.get("institution"))
    if inst_id:
        # The ME of a scheduled visit records it even when the institution's ME is another.
        if visit is not None and not request.user.has_perm("activities.log_visit", visit):
            raise PermissionDenied
        inst = get_institution_for_user(request.user, inst_id, action=None if visit else "activities.create_for")
    branch = inst.branch if inst else _own_branch(request.user)
    kwargs = {
        "me_choices": _me_choices(request.user, branch),
        "contact_choices": _contact_choices(request.user, inst),
        "participant_choices": _participant_choices(request.user, branch),
    }
    if request.method != "POST":
        initial: dict[str, Any] = {"client_id": uuid.uuid4(), "status": ActivityStatus.DONE}
        kind = request.GET.get("kind", "")
        if kind in ActivityKind.values:
            initial["kind"] = kind
        if request.GET.get("status") in (ActivityStatus.PLANNED, ActivityStatus.DONE):
            initial["status"] = request.GET["status"]
        if inst is not None:
            initial["institution"] = inst.pk
            initial["place"] = inst.name
            if inst.me_id and kwargs["me_choices"] is not None:
                initial["me"] = inst.me_id
        if visit is not None:
            initial.update(
                {"kind": ActivityKind.KUNJUNGAN_MAINTENANCE, "visit": visit.pk, "status": ActivityStatus.DONE}
            )
            if kwargs["me_choices"] is not None:
                initial["me"] = visit.me_id
        form = ActivityForm(initial=initial, **kwargs)
        return render(request, "activities/activity_form.html", _form_context(request, form, inst, visit))

    form = ActivityForm(request.POST, request.FILES, **kwargs)
    if form.is_valid():
        data = form.cleaned_data
        me = None
        if data.get("me"):
            me = next((u for u in selectors.mes_of_branch(branch) if u.pk == data["me"]), None) if branch else None
            if me is None:
                form.add_error("me", _("Pilih ME cabang ini."))
        contact = None
        if data.get("contact") and inst is not None:
            contact = inst.contacts.filter(pk=data["contact"], erased_at__isnull=True).first()
        if inst is None and data["kind"] != ActivityKind.LAINNYA and data.get("institution"):
            form.add_error("institution", _("Lembaga tidak ditemukan."))
        if not form.errors:
            try:
                activity, created = services.activity_create(
                    actor=request.user,
                    kind=data["kind"],
                    status=data["status"],
                    starts_at=form.starts_at(),
                    institution=inst,
                    me=me,
                    contact=contact,
                    place=data["place"],
                    title=data["title"],
                    outcome=data["outcome"],
                    next_step=data["next_step"],
                    next_step_date=data["next_step_date"],
                    attendance=data["attendance"],
                    products=data["products"],
                    participants=data.get("participants") or [],
                    checkin_latitude=data["checkin_latitude"],
                    checkin_longitude=data["checkin_longitude"],
                    checkin_accuracy_m=data["checkin_accuracy_m"],
                    visit=visit,
                    evidence=data["evidence"],
                    client_id=data["client_id"],
                )
            except DomainError as e:
                form.add_error(_error_field(form, e.field), str(e.message))
            else:
                if created:
                    messages.success(request, _("Aktivitas tersimpan."))
                else:
                    messages.info(request, _("Aktivitas ini sudah tersimpan sebelumnya; tidak dicatat dua kali."))
                return _saved(request, reverse("activities:detail", args=[activity.pk]))
    context = _form_context(request, form, inst, visit)
    return render(request, "activities/activity_form.html", context, status=400)


def _saved(request: HttpRequest, url: str) -> HttpResponse:
    """After a save: a redirect, or for the form's script (fetch) the address to
    go to — a redirect followed by fetch would use up the message out of sight."""
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204, headers={"X-Location": url})
    return HttpResponseRedirect(url)


@login_required
def institution_lookup(request: HttpRequest) -> HttpResponse:
    """Institutions the user may record work on, by name (an htmx fragment of radio inputs)."""
    from institutions.normalise import search_terms

    terms = search_terms(request.GET.get("q") or request.GET.get("inst_q") or "")[:4]
    field = request.GET.get("name", "institution")
    if field not in ("institution",):
        field = "institution"
    qs = visible_institutions(request.user)
    if active_role(request.user) == Role.ME:
        qs = qs.filter(me=request.user)
    rows: list[Institution] = []
    if terms:
        for t in terms:
            qs = qs.filter(name_key__contains=t)
        rows = list(qs.select_related("branch", "me").order_by("-score", "id")[:40])
        rows = [i for i in rows if request.user.has_perm("activities.create_for", i)][:20]
    return render(
        request, "activities/partials/institution_options.html", {"rows": rows, "field": field, "searched": bool(terms)}
    )


# --- An activity --------------------------------------------------------------------------


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    act = get_activity_for_user(request.user, pk)
    participants = list(act.participant_rows.select_related("user").order_by("role", "user_id"))
    evidence = list(act.evidence.all())
    leads = (
        list(act.leads.select_related("assigned_to").order_by("-created_at", "-id")[:50])
        if request.user.has_perm("activities.view_lead", act)
        else []
    )
    can_change = request.user.has_perm("activities.change", act)
    show_contact = act.contact is not None and request.user.has_perm("institutions.view_contacts", act.institution)
    return render(
        request,
        "activities/activity_detail.html",
        {
            "act": act,
            "participants": participants,
            "evidence": evidence,
            "leads": leads,
            "can_change": can_change,
            "can_add_lead": act.institution is not None
            and request.user.has_perm("activities.create_lead", act.institution),
            "show_contact": show_contact,
            "evidence_form": EvidenceForm() if can_change else None,
            "is_event": act.kind in EVENT_KINDS,
            "product_labels": [Product(p).label for p in act.products if p in Product.values],
        },
    )


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    act = get_activity_for_user(request.user, pk, action="activities.change")
    choices = _participant_choices(request.user, act.branch)
    if request.method != "POST":
        local = timezone.localtime(act.starts_at)
        form = ActivityEditForm(
            initial={
                "status": ActivityStatus.DONE
                if act.status == ActivityStatus.PLANNED and request.GET.get("selesai")
                else "",
                "day": local.date(),
                "time": local.time().replace(second=0, microsecond=0),
                "place": act.place,
                "title": act.title,
                "participants": list(act.participant_rows.values_list("user_id", flat=True)),
                "outcome": act.outcome,
                "next_step": act.next_step,
                "next_step_date": act.next_step_date,
                "attendance": act.attendance,
                "products": act.products,
            },
            participant_choices=choices,
        )
        return render(
            request, "activities/activity_edit.html", {"act": act, "form": form, "event_kinds": EVENT_KIND_VALUES}
        )
    form = ActivityEditForm(request.POST, request.FILES, participant_choices=choices)
    if form.is_valid():
        d = form.cleaned_data
        changes = {
            "starts_at": form.starts_at(),
            "place": d["place"],
            "title": d["title"],
            "outcome": d["outcome"],
            "next_step": d["next_step"],
            "next_step_date": d["next_step_date"],
        }
        if act.kind in EVENT_KINDS:
            changes["attendance"] = d["attendance"]
            changes["products"] = d["products"]
        try:
            services.activity_update(
                actor=request.user,
                activity=act,
                status=d["status"] or None,
                participants=d.get("participants") if "participants" in form.fields else None,
                checkin_latitude=d["checkin_latitude"],
                checkin_longitude=d["checkin_longitude"],
                checkin_accuracy_m=d["checkin_accuracy_m"],
                evidence=d["evidence"],
                **changes,
            )
        except DomainError as e:
            form.add_error(_error_field(form, e.field), str(e.message))
        else:
            messages.success(request, _("Aktivitas diperbarui."))
            return _saved(request, reverse("activities:detail", args=[act.pk]))
    return render(
        request,
        "activities/activity_edit.html",
        {"act": act, "form": form, "event_kinds": EVENT_KIND_VALUES},
        status=400,
    )


@require_POST
@login_required
def evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    act = get_activity_for_user(request.user, pk, action="activities.change")
    form = EvidenceForm(request.POST, request.FILES)
    files = form.cleaned_data["evidence"] if form.is_valid() else []
    try:
        stored = services.evidence_add(actor=request.user, activity=act, files=files)
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("%(n)s berkas bukti ditambahkan.") % {"n": len(stored)})
    return redirect("activities:detail", pk=act.pk)


@login_required
def evidence_file(request: HttpRequest, pk: int, eid: int) -> FileResponse:
    """An evidence file, read through the storage API after the scope check
    (never a public media URL)."""
    act = get_activity_for_user(request.user, pk)
    ev = act.evidence.filter(pk=eid).first()
    if ev is None:
        raise Http404
    try:
        handle = ev.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=ev.content_type)
    disposition = "inline" if ev.is_image or ev.content_type == "application/pdf" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="evidence-{ev.pk}{_ext(ev.file.name)}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _ext(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot != -1 else ""
