"""KPI and target pages: the KPI list (with the sum-check setting Pusat
changes), the target home (which units the user sets targets for), the target
form of a unit's children with the distribution helper, and the .xlsx export
and import of targets. Thin: the access policy decides (out of scope 404,
forbidden 403), ``performance.services`` writes, selectors read."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from org import access
from org.models import OrgUnit, UnitKind
from performance import distribution, selectors, services
from performance.forms_targets import (
    MAX_IMPORT_ROWS,
    MAX_UPLOAD_BYTES,
    KpiSettingForm,
    TargetPickForm,
    TargetUploadForm,
    period_choices,
)
from performance.kpis import KPI_BY_CODE, KPIS, Kpi, Unit
from performance.models import KpiSetting, SumCheck, Target
from performance.periods import Period
from performance.xlsx import XLSX_TYPE, FileRefused, read_targets, targets_xlsx

ERRORS_SHOWN = 200
CHILD_KINDS = (UnitKind.WILAYAH, UnitKind.AREA, UnitKind.CABANG)
CHILD_KIND = {UnitKind.PUSAT: UnitKind.WILAYAH, UnitKind.WILAYAH: UnitKind.AREA, UnitKind.AREA: UnitKind.CABANG}


def _require(request: HttpRequest, perm: str, obj: Any = None) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


def fmt_value(value: Decimal | None, kpi: Kpi) -> str:
    """A target as a person types it: ``1.500.000``, ``85,5``; blank for none."""
    if value is None:
        return ""
    if kpi.is_ratio:
        text = f"{Decimal(value).quantize(Decimal('0.1')):f}".replace(".", ",")
        return text.removesuffix(",0")
    return f"{int(value):,}".replace(",", ".")


def _units(kpi: Kpi) -> dict[str, str]:
    """How a figure of the KPI is written: ``Rp 1.500.000``, ``85,5%``."""
    return {
        "unit_prefix": "Rp " if kpi.unit == Unit.RUPIAH else "",
        "unit_suffix": "%" if kpi.unit == Unit.PERCENT else "",
        "unit_name": {Unit.RUPIAH: "Rp", Unit.PERCENT: "%"}.get(kpi.unit, ""),
    }


# --- KPIs -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def kpi_list(request: HttpRequest) -> HttpResponse:
    """Every KPI with its formula, unit, split and the sum-check setting; Pusat and Admin change the setting."""
    _require(request, "performance.view")
    can_manage = request.user.has_perm("performance.manage_kpi")
    status = 200
    if request.method == "POST":
        _require(request, "performance.manage_kpi")
        form = KpiSettingForm(request.POST)
        if form.is_valid():
            try:
                services.kpi_setting_set(
                    actor=request.user, kpi=form.cleaned_data["kpi"], sum_check=form.cleaned_data["sum_check"]
                )
            except DomainError as exc:
                messages.error(request, str(exc.message))
                status = 400
            else:
                messages.success(
                    request,
                    _("Pengaturan %(kpi)s disimpan.") % {"kpi": KPI_BY_CODE[form.cleaned_data["kpi"]].label},
                )
                return HttpResponseRedirect(reverse("performance:kpis"))
        else:
            messages.error(request, _("Pilihan tidak sah."))
            status = 400
    stored = dict(KpiSetting.objects.values_list("kpi", "sum_check"))
    settings = {k.code: stored.get(k.code, k.default_sum_check) for k in KPIS}
    rows = [
        {
            "kpi": k,
            "sum_check": settings[k.code],
            "sum_check_label": SumCheck(settings[k.code]).label,
            "unit_label": {Unit.COUNT: _("jumlah"), Unit.RUPIAH: _("rupiah"), Unit.PERCENT: _("persen")}[k.unit],
        }
        for k in KPIS
    ]
    return render(
        request,
        "performance/kpis.html",
        {"rows": rows, "can_manage": can_manage, "choices": SumCheck.choices},
        status=status,
    )


# --- Who sets targets for whom ----------------------------------------------------------------------


def _children(unit: OrgUnit) -> list[Any]:
    """The units (or, for a branch, the MEs placed there now) whose targets are set on ``unit``'s page."""
    if unit.kind == UnitKind.CABANG:
        return selectors.current_mes(unit)
    kind = CHILD_KIND.get(unit.kind)  # type: ignore[call-overload]
    if kind is None:
        return []
    return list(OrgUnit.objects.filter(parent=unit, kind=kind).order_by("code"))


def _may_set_children(user: Any, unit: OrgUnit, children: list[Any]) -> bool:
    if unit.kind == UnitKind.CABANG:
        return bool(user.has_perm("performance.set_me_target", unit))
    kind = CHILD_KIND.get(unit.kind)  # type: ignore[call-overload]
    if kind is None:
        return False
    # Every child is of one kind under one parent: the rule answers the same for each.
    probe = children[0] if children else OrgUnit(kind=kind, parent=unit, path=unit.path + "~/")
    return bool(user.has_perm("performance.set_unit_target", probe))


def _own_editable(user: Any, unit: OrgUnit) -> bool:
    """Pusat sets the national target on Pusat's own page."""
    return unit.kind == UnitKind.PUSAT and bool(user.has_perm("performance.set_unit_target", unit))


def _query(kpi: str, period: Period) -> str:
    return urlencode({"kpi": kpi, "period": period.code})


@login_required
@require_GET
def target_home(request: HttpRequest) -> HttpResponse:
    """The units (or MEs) whose targets the user sets, with their targets for the
    chosen KPI and period, and the way to the form."""
    _require(request, "performance.view")
    user = request.user
    pick = TargetPickForm(request.GET)
    kpi_code, period = pick.picked()
    kpi = KPI_BY_CODE[kpi_code]
    root = access.scope_root(user)
    parent: OrgUnit | None = None
    rows: list[dict[str, Any]] = []
    own_value = ""
    if root is not None and root.kind in (UnitKind.PUSAT, *CHILD_KINDS):
        children = _children(root)
        if _may_set_children(user, root, children):
            parent = root
            is_me = root.kind == UnitKind.CABANG
            units: list[OrgUnit] = [] if is_me else list(children)
            if _own_editable(user, root):
                units.insert(0, root)
            targets = selectors.targets_in(user, period, kpi_code, units=[*units, root], mes=children if is_me else [])
            own = targets.get(("unit", root.pk))
            own_value = fmt_value(own.value if own else None, kpi)
            listed: list[Any] = children if is_me else units
            for child in listed:
                t = targets.get(("me" if is_me else "unit", child.pk))
                rows.append(
                    {
                        "name": child.get_full_name() or child.username if is_me else child.name,
                        "code": child.username if is_me else child.code,
                        "value": fmt_value(t.value if t else None, kpi),
                        "is_parent": not is_me and child.pk == root.pk,
                    }
                )
    return render(
        request,
        "performance/targets.html",
        {
            "pick": pick,
            "kpi": kpi,
            "kpis": KPIS,
            "period": period,
            "periods": period_choices(current=period),
            "parent": parent,
            "rows": rows,
            "own_value": own_value,
            "query": _query(kpi_code, period),
            **_units(kpi),
        },
    )


# --- The target form ----------------------------------------------------------------------------------


@dataclass
class FormRow:
    key: str
    name: str
    code: str
    obj: Any
    value: str = ""
    error: str = ""
    stored: str = ""


@dataclass
class Sheet:
    rows: list[FormRow]
    own: FormRow
    errors: list[str] = field(default_factory=list)


def _stored(user: Any, unit: OrgUnit, children: list[Any], kpi: str, period: Period) -> dict[tuple[str, int], Target]:
    if unit.kind == UnitKind.CABANG:
        return selectors.targets_in(user, period, kpi, units=[unit], mes=children)
    return selectors.targets_in(user, period, kpi, units=[unit, *children])


def _sum(rows: list[FormRow], kpi: Kpi) -> Decimal | None:
    total = Decimal(0)
    for r in rows:
        if not r.value or r.error:
            continue
        try:
            v = services.parse_value(r.value, kpi=kpi.code)
        except DomainError:
            continue
        total += v or 0
    return total


@login_required
@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """The targets of a unit's children (a branch: its MEs) for one KPI and period,
    all at once, with the parent's target and the sum beside them. "Bagi" fills
    the rows from the parent's target by the chosen method; "Simpan" writes."""
    user = request.user
    unit = access.get_unit_for_user(user, unit_pk)
    if unit.kind not in (UnitKind.PUSAT, *CHILD_KINDS):
        raise Http404
    children = _children(unit)
    if not _may_set_children(user, unit, children):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    pick = TargetPickForm(source)
    kpi_code, period = pick.picked()
    kpi = KPI_BY_CODE[kpi_code]
    is_branch = unit.kind == UnitKind.CABANG
    own_editable = _own_editable(user, unit)
    stored = _stored(user, unit, children, kpi_code, period)
    own_target = stored.get(("unit", unit.pk))
    rows = []
    for child in children:
        t = stored.get(("me" if is_branch else "unit", child.pk))
        rows.append(
            FormRow(
                key=f"v{child.pk}",
                name=(child.get_full_name() or child.username) if is_branch else child.name,
                code=child.username if is_branch else child.code,
                obj=child,
                value=fmt_value(t.value if t else None, kpi),
                stored=fmt_value(t.value if t else None, kpi),
            )
        )
    own = FormRow(
        key="own",
        name=unit.name,
        code=unit.code,
        obj=unit,
        value=fmt_value(own_target.value if own_target else None, kpi),
        stored=fmt_value(own_target.value if own_target else None, kpi),
    )
    method = str(source.get("method") or "")
    if method not in distribution.METHODS:
        method = "potential"
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        for r in rows:
            r.value = str(request.POST.get(r.key, "")).strip()[:40]
        if own_editable:
            own.value = str(request.POST.get("own", "")).strip()[:40]
        action = request.POST.get("action")
        if action == "distribute":
            status = _distribute(kpi, period, unit, own, rows, method, errors)
        elif action == "save":
            outcome = _save(request, kpi, period, unit, own if own_editable else None, rows, errors)
            if outcome is not None:
                return outcome
            status = 400
        else:
            errors.append(_("Pilih Bagi atau Simpan."))
            status = 400
    total = _sum(rows, kpi)
    own_parsed = None
    with contextlib.suppress(DomainError):
        own_parsed = services.parse_value(own.value, kpi=kpi_code)
    difference = (total - own_parsed) if (total is not None and own_parsed is not None) else None
    return render(
        request,
        "performance/target_edit.html",
        {
            "unit": unit,
            "pick": pick,
            "kpi": kpi,
            "kpis": KPIS,
            "period": period,
            "periods": period_choices(current=period),
            "rows": rows,
            "own": own,
            "own_editable": own_editable,
            "is_branch": is_branch,
            "methods": list(distribution.METHODS.items()),
            "method": method,
            "errors": errors,
            "total": fmt_value(total, kpi) if total is not None else "",
            "difference": difference,
            "difference_text": fmt_value(abs(difference), kpi) if difference else "",
            "sum_check": SumCheck(services.sum_check_of(kpi_code)).label,
            **_units(kpi),
            "query": _query(kpi_code, period),
            "child_label": _("ME") if is_branch else OrgUnit(kind=CHILD_KIND[UnitKind(unit.kind)]).get_kind_display(),
        },
        status=status,
    )


def _distribute(
    kpi: Kpi, period: Period, unit: OrgUnit, own: FormRow, rows: list[FormRow], method: str, errors: list[str]
) -> int:
    """Prefill the rows from the parent's target; nothing is written."""
    try:
        total = services.parse_value(own.value, kpi=kpi.code, field="own")
    except DomainError as exc:
        own.error = str(exc.message)
        errors.append(str(exc.message))
        return 400
    if total is None:
        errors.append(_("Target %(unit)s belum ada: isi dulu target induknya.") % {"unit": unit.name})
        return 400
    if not rows:
        errors.append(_("Tidak ada yang bisa dibagi."))
        return 400
    parts = distribution.distribute(
        method, kpi=kpi.code, period=period, total=total, children=[r.obj for r in rows], parent=unit
    )
    for r, part in zip(rows, parts, strict=True):
        r.value = fmt_value(part, kpi)
        r.error = ""
    return 200


def _save(
    request: HttpRequest,
    kpi: Kpi,
    period: Period,
    unit: OrgUnit,
    own: FormRow | None,
    rows: list[FormRow],
    errors: list[str],
) -> HttpResponse | None:
    """Write the rows (and Pusat's own target); a redirect when done, ``None`` to show the errors."""
    is_branch = unit.kind == UnitKind.CABANG
    out: list[services.TargetRow] = []
    for r in [own, *rows] if own is not None else rows:
        try:
            value = services.parse_value(r.value, kpi=kpi.code)
        except DomainError as exc:
            r.error = str(exc.message)
            errors.append(f"{r.name}: {exc.message}")
            continue
        if r is own or not is_branch:
            out.append(services.TargetRow(unit=r.obj, me=None, value=value))
        else:
            out.append(services.TargetRow(unit=unit, me=r.obj, value=value))
    if errors:
        return None
    try:
        warnings = services.targets_set(actor=request.user, kpi=kpi.code, period=period, rows=out)
    except DomainError as exc:
        errors.append(str(exc.message))
        return None
    messages.success(request, _("Target %(kpi)s %(period)s disimpan.") % {"kpi": kpi.label, "period": period.label()})
    for w in warnings:
        messages.warning(request, w)
    return HttpResponseRedirect(reverse("performance:target-edit", args=[unit.pk]) + "?" + _query(kpi.code, period))


# --- Export and import ---------------------------------------------------------------------------------


@login_required
@require_GET
def target_export(request: HttpRequest) -> HttpResponse:
    """The targets the user can read for a period (one KPI or all), in the import's layout."""
    _require(request, "performance.view")
    pick = TargetPickForm(request.GET)
    _kpi, period = pick.picked()
    kpi_code = request.GET.get("kpi", "")
    qs = (
        access.visible_targets(request.user)
        .filter(period_kind=period.kind, period_start=period.start)
        .select_related("unit", "me")
    )
    if kpi_code:
        if kpi_code not in KPI_BY_CODE:
            raise Http404
        qs = qs.filter(kpi=kpi_code)
    qs = qs.order_by("kpi", "unit__path", "me__username")
    response = HttpResponse(targets_xlsx(qs.iterator(chunk_size=2000)), content_type=XLSX_TYPE)
    name = f"target-{period.code}{'-' + kpi_code if kpi_code else ''}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def target_import(request: HttpRequest) -> HttpResponse:
    """Upload targets in the export's layout: every row is checked first, and
    with any error nothing is written; else all are written together."""
    _require(request, "performance.view")
    form = TargetUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {
        "form": form,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_rows": MAX_IMPORT_ROWS,
        "columns": ("kpi", "period", "unit_code", "unit_name", "me_username", "me_name", "value"),
        "kpis": KPIS,
        "export_query": _query("", Period.of(timezone.localdate())).replace("kpi=&", ""),
    }
    if request.method == "GET":
        return render(request, "performance/target_import.html", context)
    upload = request.FILES.get("file")
    if upload is None:
        context["error"] = _("Pilih berkas .xlsx untuk diimpor.")
        return render(request, "performance/target_import.html", context, status=400)
    try:
        lines = read_targets(
            upload.name or "",
            upload.size or 0,
            upload.chunks(),
            limit=MAX_UPLOAD_BYTES,
            max_rows=MAX_IMPORT_ROWS,
        )
    except FileRefused as exc:
        context["error"] = str(exc)
        return render(request, "performance/target_import.html", context, status=400)
    outcome = services.targets_import(actor=request.user, rows=lines)
    if outcome.errors:
        context["line_errors"] = outcome.errors[:ERRORS_SHOWN]
        context["more_errors"] = max(0, len(outcome.errors) - ERRORS_SHOWN)
        return render(request, "performance/target_import.html", context, status=400)
    if outcome.changed:
        messages.success(
            request,
            _("Impor selesai: %(changed)d target diubah, %(same)d tetap.")
            % {"changed": outcome.changed, "same": outcome.unchanged},
        )
    else:
        messages.info(request, _("Tidak ada yang berubah: semua %(n)d target sudah sama.") % {"n": outcome.unchanged})
    for w in outcome.warnings:
        messages.warning(request, w)
    return HttpResponseRedirect(reverse("performance:target-import"))
