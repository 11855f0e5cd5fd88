"""Closings pages: the list with its filters and totals, a closing's page, the
upload of a closings file with its batch report, and a branch's attribution
(scheme × channel) with a chart. Thin: ``sales.ingest`` writes, selectors read,
the access policy decides (out of scope 404, refused 403)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.products import Product
from institutions.selectors import scoped_branches
from org.access import active_assignment, get_unit_for_user, scope_root
from org.models import OrgUnit, UnitKind
from sales import charts, ingest, selectors
from sales.forms import EXAMPLE_PREFIX, ClosingFilterForm, PeriodForm, UploadForm, read_upload, this_month
from sales.models import CHANNELS_OF, Channel, InitiatorKind, Scheme

CLOSINGS_PER_PAGE = 25
PROBLEMS_SHOWN = 200


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _own_branch(user: Any) -> OrgUnit | None:
    """The branch the user works in (a UPC role: its branch), if any."""
    root = scope_root(user)
    return root if root is not None and root.kind == UnitKind.CABANG else None


# --- The list ---------------------------------------------------------------------------------------


@login_required
@require_GET
def closing_list(request: HttpRequest) -> HttpResponse:
    """Closings in scope with their filters in the URL (this month by default),
    the totals of the filtered set and 25 a page. Fixed query count."""
    user = request.user
    _require(request, "sales.view")
    form = ClosingFilterForm(request.GET)
    start, end = form.period()
    branches = list(scoped_branches(user).only("id", "name", "code")) if _own_branch(user) is None else []
    filters = selectors.ClosingFilters(
        start=start,
        end=end + timedelta(days=1),
        branch=form.value("branch"),
        scheme=form.value("scheme") or "",
        channel=form.value("channel") or "",
        product=form.value("product") or "",
        institution=form.value("institution"),
        initiator=(form.value("initiator") or "").strip(),
    )
    qs = selectors.closing_list(user, filters)
    sums = selectors.totals(qs)
    sums["amount_short"] = charts.rupiah_short(sums["amount"])
    paginator = Paginator(qs, CLOSINGS_PER_PAGE)
    paginator.count = sums["count"]  # type: ignore[misc]  # the totals query counted them already
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "sales/closing_list.html",
        {
            "form": form,
            "page": page,
            "totals": sums,
            "start": start,
            "end": end,
            "query": _query_without_page(request),
            "branches": branches if len(branches) > 1 else [],
            "branch_id": filters.branch,
            "filters": filters,
            "initiator_kinds": InitiatorKind.choices,
            "can_upload": user.has_perm("sales.ingest"),
            "own_branch": _own_branch(user),
            "active_filters": bool(request.GET.dict().keys() - {"page"}),
        },
    )


# --- One closing ------------------------------------------------------------------------------------


def _field_label(key: str) -> str:
    """A stored column (``amount``, ``branch_id``) as its field's label (``nilai (Rp)``)."""
    from django.core.exceptions import FieldDoesNotExist

    from sales.models import Closing

    try:
        field: Any = Closing._meta.get_field(key.removesuffix("_id"))
    except FieldDoesNotExist:  # an old revision may name a column that is gone
        return key
    return str(getattr(field, "verbose_name", key))


@login_required
@require_GET
def closing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    closing = selectors.get_closing_for_user(user, pk)
    lead = closing.lead
    return render(
        request,
        "sales/closing_detail.html",
        {
            "c": closing,
            "lead_visible": lead is not None and user.has_perm("activities.view_lead", lead),
            "institution_visible": closing.institution is not None
            and user.has_perm("institutions.view", closing.institution),
            "revisions": [
                {
                    "r": r,
                    "changes": [
                        (_field_label(k), v, r.after.get(k)) for k, v in r.before.items() if v != r.after.get(k)
                    ],
                }
                for r in closing.revisions.order_by("-revision")
            ],
        },
    )


# --- Upload and batches -----------------------------------------------------------------------------


def _limits() -> dict[str, Any]:
    from django.conf import settings

    return {"max_mb": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024), "max_rows": ingest.max_rows()}


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Take in a closings file now (one batch, at most SALES_BATCH_MAX_ROWS
    rows): the valid rows are written, the others reported. A bad file is
    refused whole."""
    from django.conf import settings

    _require(request, "sales.ingest")
    error = ""
    if request.method == "POST":
        form = UploadForm(request.POST)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        too_big = length > settings.IMPORT_MAX_UPLOAD_BYTES + 64 * 1024
        file = None if too_big else request.FILES.get("file")
        if too_big:
            error = _("Berkas terlalu besar: paling besar %(limit)s MB.") % {"limit": _limits()["max_mb"]}
        elif file is None:
            error = _("Pilih berkas .xlsx atau .csv untuk diunggah.")
        elif form.is_valid():
            try:
                rows, first_line = read_upload(file.name or "", file.size or 0, file.chunks())
            except DomainError as exc:
                error = str(exc.message)
            else:
                outcome = ingest.ingest(
                    actor=request.user,
                    source=form.cleaned_data["source"],
                    rows=rows,
                    via="upload",
                    original_name=file.name or "",
                    first_line=first_line,
                )
                if outcome.batch is not None:
                    return HttpResponseRedirect(reverse("sales:batch", args=[outcome.batch.pk]))
                error = "; ".join(str(p["reason"]) for p in outcome.problems)
        else:
            error = _("Pilih sumber data dari daftar.")
    else:
        form = UploadForm()
    batches = list(selectors.batches_for(request.user).filter(created_by_id=request.user.pk)[:10])
    return render(
        request,
        "sales/upload.html",
        {"form": form, "error": error, "batches": batches, **_limits()},
        status=400 if error else 200,
    )


TEMPLATE_EXAMPLE = {
    "external_id": EXAMPLE_PREFIX + "TRX-0001",
    "closed_on": "2026-01-31",
    "branch": "C080101",
    "upc": "",
    "product": Product.GADAI_KCA,
    "amount": "5000000",
    "grams": "",
    "new_customer": "ya",
    "customer_ref": "3171XXXXXXXX1234",
    "scheme": Scheme.BTOC,
    "channel": Channel.SALES_TEAM,
    "institution": "",
    "cross_branch_rule": "",
    "initiator_kind": InitiatorKind.SALES,
    "initiator": "sales.c080101.1",
    "agent": "",
    "lead": "",
}


@login_required
@require_GET
def upload_template(request: HttpRequest) -> HttpResponse:
    """The header row (``sales.ingest.COLUMNS``) and one example row, which the
    upload skips (its id starts with ``contoh:``)."""
    _require(request, "sales.ingest")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ingest.COLUMNS)
    writer.writerow([TEMPLATE_EXAMPLE.get(c, "") for c in ingest.COLUMNS])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="templat-closing.csv"'
    return response


def _attribution_links(user: Any, batch: Any) -> list[dict[str, Any]]:
    """The branches to look at after a batch (the uploader's own branch and the
    ones it wrote to), each linked to its attribution over this month or, when
    the batch's days lie outside it, a period that holds them too."""
    branches = selectors.batch_branches(user, batch)
    own = _own_branch(user)
    if own is not None and own.pk not in {b.pk for b in branches}:
        branches.insert(0, own)
    first, last = this_month()
    days = selectors.batch_days(batch)
    if days["first"] and days["last"]:
        first, last = min(first, days["first"]), max(last, days["last"])
    query = "?" + urlencode({"from": first.isoformat(), "to": last.isoformat()})
    return [{"unit": b, "url": reverse("sales:attribution", args=[b.pk]) + query} for b in branches]


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.get_batch_for_user(request.user, pk)
    problems = list(batch.report or [])
    return render(
        request,
        "sales/batch_detail.html",
        {
            "batch": batch,
            "problems": problems[:PROBLEMS_SHOWN],
            "problem_count": len(problems),
            "branches": _attribution_links(request.user, batch),
            "can_upload": request.user.has_perm("sales.ingest"),
        },
    )


def _safe_cell(value: Any) -> str:
    # A spreadsheet would run a value that starts like a formula (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def batch_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Every refused row of a batch: line, column, value, reason, rule."""
    batch = selectors.get_batch_for_user(request.user, pk)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([_("baris"), _("kolom"), _("nilai"), _("alasan"), _("aturan")])
    for p in batch.report or []:
        w.writerow(
            [
                p.get("line", ""),
                p.get("column", ""),
                _safe_cell(p.get("value")),
                _safe_cell(p.get("reason")),
                p.get("rule", ""),
            ]
        )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="laporan-batch-{batch.pk}.csv"'
    return response


# --- A branch's attribution -------------------------------------------------------------------------


def _pct(part: Decimal | int, whole: Decimal | int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal(0)


@login_required
@require_GET
def attribution(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """Scheme × channel for one branch and period: count, amount, new customers,
    share of the amount, and the bars of amount by channel grouped by scheme.
    Reads ``ClosingSummary`` only (one GROUP BY)."""
    user = request.user
    branch = get_unit_for_user(user, unit_pk)
    if branch.kind != UnitKind.CABANG:
        raise Http404
    _require(request, "sales.view")
    form = PeriodForm(request.GET)
    start, end = form.period()
    found = {
        (r["scheme"], r["channel"]): r
        for r in selectors.branch_attribution(user, branch, start, end + timedelta(days=1))
    }
    total_amount = sum((r["amount"] for r in found.values()), Decimal(0))
    schemes = []
    groups = []
    for scheme in Scheme:
        rows = []
        for channel in CHANNELS_OF[scheme]:
            r = found.get((scheme.value, channel), {"count": 0, "amount": Decimal(0), "new_customers": 0})
            rows.append(
                {
                    "channel": channel,
                    "label": Channel(channel).label,
                    "count": r["count"],
                    "amount": r["amount"],
                    "new_customers": r["new_customers"],
                    "share": _pct(r["amount"], total_amount),
                    "url": reverse("sales:closings")
                    + "?"
                    + urlencode(
                        {
                            "from": start.isoformat(),
                            "to": end.isoformat(),
                            "branch": branch.pk,
                            "scheme": scheme.value,
                            "channel": channel,
                        }
                    ),
                }
            )
        sub = {k: sum(r[k] for r in rows) for k in ("count", "new_customers")}
        sub_amount = sum((r["amount"] for r in rows), Decimal(0))
        schemes.append(
            {
                "scheme": scheme.value,
                "label": scheme.label,
                "rows": rows,
                "count": sub["count"],
                "amount": sub_amount,
                "new_customers": sub["new_customers"],
                "share": _pct(sub_amount, total_amount),
            }
        )
        groups.append(
            charts.Group(
                label=str(scheme.label),
                bars=[
                    charts.Bar(label=str(r["label"]), value=r["amount"], shown=charts.rupiah_short(r["amount"]))
                    for r in rows
                ],
            )
        )
    title = _("Nilai closing per kanal, %(branch)s, %(start)s – %(end)s") % {
        "branch": branch.name,
        "start": start.strftime("%d-%m-%Y"),
        "end": end.strftime("%d-%m-%Y"),
    }
    return render(
        request,
        "sales/attribution.html",
        {
            "branch": branch,
            "form": form,
            "start": start,
            "end": end,
            "schemes": schemes,
            "total": {
                "count": sum(s["count"] for s in schemes),
                "amount": total_amount,
                "amount_short": charts.rupiah_short(total_amount),
                "new_customers": sum(s["new_customers"] for s in schemes),
            },
            "chart": charts.grouped_bar_chart(groups, title=title, chart_id="chart-kanal"),
            "chart_title": title,
            "list_url": reverse("sales:closings")
            + "?"
            + urlencode({"from": start.isoformat(), "to": end.isoformat(), "branch": branch.pk}),
            "today": timezone.localdate(),
            "own": active_assignment(user) is not None and _own_branch(user) == branch,
        },
    )
