"""The KPIs, defined once: their label, their formula (shown on hover), their
unit, and the one source query that counts them.

Every KPI is counted by a GROUP BY over rows that carry their branch, area and
region ids. ``compute`` serves both the monthly facts (grouped by branch and
month, or by ME and month) and the live path for an as-of date that cuts a
month in two (grouped by the child level of the unit on screen).

Dates: a period is a half-open range of Asia/Jakarta dates ``[start, end)``;
instants (a lead's creation, a stage change) are compared with the UTC instants
of those Jakarta midnights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import TruncDate, TruncMonth
from django.utils.translation import gettext_lazy as _


class Unit:
    COUNT = "count"
    RUPIAH = "rupiah"
    PERCENT = "percent"


@dataclass(frozen=True)
class Kpi:
    code: str
    label: Any
    formula: Any  # shown on hover and in docs/PERFORMANCE-KPI.md
    unit: str
    family: str
    additive: bool = True  # a ratio KPI is not: its targets are copied down, not split
    split: bool = False  # by scheme and channel (closings)
    default_sum_check: str = "WARN"
    short: Any = ""

    @property
    def is_ratio(self) -> bool:
        return self.unit == Unit.PERCENT


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "institutions_executed",
        _("Lembaga tereksekusi"),
        _("Jumlah perpindahan tahap lembaga ke Eksekusi dalam periode, di cabang pengelola lembaga."),
        Unit.COUNT,
        "stage",
        short=_("Eksekusi"),
    ),
    Kpi(
        "agreements_signed",
        _("Kerja sama ditandatangani"),
        _("Jumlah perpindahan tahap lembaga ke Kerja sama (MoU/PKS ditandatangani) dalam periode."),
        Unit.COUNT,
        "stage",
        short=_("Kerja sama"),
    ),
    Kpi(
        "audiences_held",
        _("Audiensi terlaksana"),
        _("Jumlah aktivitas berjenis Audiensi yang berstatus Selesai, menurut tanggal aktivitas."),
        Unit.COUNT,
        "activity",
        short=_("Audiensi"),
    ),
    Kpi(
        "events_held",
        _("Acara terlaksana"),
        _("Jumlah acara (Sosialisasi, Literasi keuangan, Open booth) berstatus Selesai, menurut tanggal acara."),
        Unit.COUNT,
        "activity",
        short=_("Acara"),
    ),
    Kpi(
        "leads",
        _("Prospek"),
        _("Jumlah prospek nasabah yang dicatat dalam periode (menurut waktu pencatatan)."),
        Unit.COUNT,
        "lead",
        short=_("Prospek"),
    ),
    Kpi(
        "lead_conversion",
        _("Konversi prospek"),
        _(
            "Prospek yang dicatat dalam periode dan kini berstatus Closing, "
            "dibagi semua prospek yang dicatat dalam periode."
        ),
        Unit.PERCENT,
        "lead",
        additive=False,
        short=_("Konversi"),
    ),
    Kpi(
        "maintenance_compliance",
        _("Kepatuhan kunjungan maintenance"),
        _(
            "Kunjungan terjadwal dalam periode yang dilaksanakan, dibagi kunjungan terjadwal dalam periode yang "
            "sudah dilaksanakan, terlewat, atau melewati tenggang waktunya pada tanggal acuan."
        ),
        Unit.PERCENT,
        "visit",
        additive=False,
        short=_("Kepatuhan"),
    ),
    Kpi(
        "new_customers",
        _("Nasabah baru"),
        _("Jumlah closing dari nasabah baru, menurut tanggal closing; per skema dan kanal."),
        Unit.COUNT,
        "closing",
        split=True,
        short=_("Nasabah baru"),
    ),
    Kpi(
        "closing_amount",
        _("Nilai closing"),
        _("Jumlah nilai (Rp) closing menurut tanggal closing; per skema dan kanal."),
        Unit.RUPIAH,
        "closing",
        split=True,
        default_sum_check="REFUSE",
        short=_("Nilai closing"),
    ),
    Kpi(
        "closing_count",
        _("Jumlah closing"),
        _("Jumlah transaksi closing menurut tanggal closing; per skema dan kanal."),
        Unit.COUNT,
        "closing",
        split=True,
        short=_("Closing"),
    ),
)
KPI_BY_CODE = {k.code: k for k in KPIS}
KPI_CHOICES = [(k.code, k.label) for k in KPIS]
FAMILIES = ("stage", "activity", "lead", "visit", "closing")


def get(code: str) -> Kpi:
    return KPI_BY_CODE[code]


def percent(value: Decimal | int, base: int) -> Decimal | None:
    """A ratio KPI's value in percent (one decimal), ``None`` when nothing was due."""
    if not base:
        return None
    return (Decimal(value) * 100 / Decimal(base)).quantize(Decimal("0.1"))


# --- Source queries ------------------------------------------------------------------


def jakarta() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def instant(day: dt.date) -> dt.datetime:
    """The UTC instant of a Jakarta midnight."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=jakarta())


@dataclass
class Row:
    """One grouped result: ``key`` holds the values of the ``by`` dimensions in order."""

    key: tuple[Any, ...]
    kpi: str
    value: Decimal
    base: int = 0
    scheme: str = ""
    channel: str = ""


@dataclass
class _Spec:
    kpis: list[str]
    by: tuple[str, ...]
    where: dict[str, Any] = field(default_factory=dict)


def _apply(qs: Any, fields: dict[str, str], where: dict[str, Any]) -> Any:
    """Filter by logical dimensions: ``{"branch": id, "area__in": [...], ...}``."""
    lookups = {}
    for name, value in where.items():
        dim, _sep, op = name.partition("__")
        lookups[fields[dim] + (f"__{op}" if op else "")] = value
    return qs.filter(**lookups)


def _values(qs: Any, fields: dict[str, str], by: tuple[str, ...], month_of: Any) -> tuple[Any, list[str]]:
    """Group by the logical dimensions; ``month`` and ``day`` are the Jakarta month / date of the row's date."""
    names = []
    annotations = {}
    for dim in by:
        if dim == "month":
            annotations["g_month"] = month_of
            names.append("g_month")
        elif dim == "day":
            date_field = month_of.source_expressions[0].name
            is_instant = getattr(month_of, "tzinfo", None) is not None
            annotations["g_day"] = TruncDate(date_field, tzinfo=jakarta()) if is_instant else F(date_field)
            names.append("g_day")
        else:
            annotations[f"g_{dim}"] = F(fields[dim])
            names.append(f"g_{dim}")
    if not names:  # one total: a constant is left out of GROUP BY
        return qs.annotate(g_all=Value(1)).values("g_all"), []
    return qs.annotate(**annotations).values(*names), names


def _month_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(jakarta()).date() if v.tzinfo else v.date()
    return v


def _key(row: dict[str, Any], names: list[str]) -> tuple[Any, ...]:
    return tuple(_month_value(row[n]) if n == "g_month" else row[n] for n in names)


def _stage(spec: _Spec, start: dt.date, end: dt.date, as_of: dt.date) -> Iterable[Row]:
    from institutions.models import Stage, StageChange

    fields = {
        "branch": "institution__branch_id",
        "area": "institution__area_id",
        "region": "institution__region_id",
        "me": "institution__me_id",
    }
    qs = StageChange.objects.filter(at__gte=instant(start), at__lt=instant(min(end, as_of + dt.timedelta(days=1))))
    qs = qs.filter(to_stage__in=[Stage.EKSEKUSI, Stage.KERJA_SAMA])
    if "me" in spec.by:
        qs = qs.filter(institution__me__isnull=False)
    qs = _apply(qs, fields, spec.where)
    qs, names = _values(qs, fields, spec.by, TruncMonth("at", tzinfo=jakarta()))
    rows = qs.annotate(
        executed=Count("id", filter=Q(to_stage=Stage.EKSEKUSI)),
        signed=Count("id", filter=Q(to_stage=Stage.KERJA_SAMA)),
    ).order_by()
    for r in rows:
        key = _key(r, names)
        if "institutions_executed" in spec.kpis and r["executed"]:
            yield Row(key, "institutions_executed", Decimal(r["executed"]))
        if "agreements_signed" in spec.kpis and r["signed"]:
            yield Row(key, "agreements_signed", Decimal(r["signed"]))


def _activity(spec: _Spec, start: dt.date, end: dt.date, as_of: dt.date) -> Iterable[Row]:
    from activities.models import EVENT_KINDS, Activity, ActivityKind, ActivityStatus

    fields = {"branch": "branch_id", "area": "area_id", "region": "region_id", "me": "me_id"}
    qs = Activity.objects.filter(
        day__gte=start,
        day__lt=min(end, as_of + dt.timedelta(days=1)),
        status=ActivityStatus.DONE,
        kind__in=[ActivityKind.AUDIENSI, *EVENT_KINDS],
    )
    qs = _apply(qs, fields, spec.where)
    qs, names = _values(qs, fields, spec.by, TruncMonth("day"))
    rows = qs.annotate(
        audiences=Count("id", filter=Q(kind=ActivityKind.AUDIENSI)),
        events=Count("id", filter=Q(kind__in=list(EVENT_KINDS))),
    ).order_by()
    for r in rows:
        key = _key(r, names)
        if "audiences_held" in spec.kpis and r["audiences"]:
            yield Row(key, "audiences_held", Decimal(r["audiences"]))
        if "events_held" in spec.kpis and r["events"]:
            yield Row(key, "events_held", Decimal(r["events"]))


def _lead(spec: _Spec, start: dt.date, end: dt.date, as_of: dt.date) -> Iterable[Row]:
    from activities.models import Lead, LeadStatus

    fields = {"branch": "branch_id", "area": "area_id", "region": "region_id", "me": "me_id"}
    qs = Lead.objects.filter(
        created_at__gte=instant(start), created_at__lt=instant(min(end, as_of + dt.timedelta(days=1)))
    )
    qs = _apply(qs, fields, spec.where)
    qs, names = _values(qs, fields, spec.by, TruncMonth("created_at", tzinfo=jakarta()))
    rows = qs.annotate(n=Count("id"), won=Count("id", filter=Q(status=LeadStatus.CLOSING))).order_by()
    for r in rows:
        key = _key(r, names)
        if "leads" in spec.kpis and r["n"]:
            yield Row(key, "leads", Decimal(r["n"]))
        if "lead_conversion" in spec.kpis and r["n"]:
            yield Row(key, "lead_conversion", Decimal(r["won"]), base=r["n"])


def _visit(spec: _Spec, start: dt.date, end: dt.date, as_of: dt.date) -> Iterable[Row]:
    from activities.models import MaintenanceVisit, VisitStatus

    fields = {"branch": "branch_id", "area": "area_id", "region": "region_id", "me": "me_id"}
    due = Q(status__in=[VisitStatus.DONE, VisitStatus.MISSED]) | Q(status=VisitStatus.PLANNED, overdue_on__lte=as_of)
    qs = MaintenanceVisit.objects.filter(due_on__gte=start, due_on__lt=min(end, as_of + dt.timedelta(days=1)))
    qs = _apply(qs.filter(due), fields, spec.where)
    qs, names = _values(qs, fields, spec.by, TruncMonth("due_on"))
    rows = qs.annotate(n=Count("id"), done=Count("id", filter=Q(status=VisitStatus.DONE))).order_by()
    for r in rows:
        if "maintenance_compliance" in spec.kpis and r["n"]:
            yield Row(_key(r, names), "maintenance_compliance", Decimal(r["done"]), base=r["n"])


def _closing(spec: _Spec, start: dt.date, end: dt.date, as_of: dt.date) -> Iterable[Row]:
    from sales.models import Closing, ClosingSummary, InitiatorKind

    last = min(end, as_of + dt.timedelta(days=1))
    if "me" in spec.by or any(k.startswith("me") for k in spec.where):
        # Per ME: the closings the ME initiated (BtoB), straight from the closings.
        fields = {"branch": "branch_id", "area": "area_id", "region": "region_id", "me": "initiator_user_id"}
        qs = Closing.objects.filter(
            closed_on__gte=start, closed_on__lt=last, initiator_kind=InitiatorKind.ME, initiator_user__isnull=False
        )
        qs = _apply(qs, fields, spec.where)
        qs, names = _values(qs, fields, spec.by, TruncMonth("closed_on"))
        rows = qs.annotate(
            amount=Sum("amount"), count=Count("id"), new=Count("id", filter=Q(new_customer=True))
        ).order_by()
        split: list[str] = []
    else:
        fields = {"branch": "branch_id", "area": "area_id", "region": "region_id"}
        summary: Any = ClosingSummary.objects.filter(day__gte=start, day__lt=last)
        qs = _apply(summary, fields, spec.where)
        qs, names = _values(qs, fields, spec.by, TruncMonth("day"))
        split = ["scheme", "channel"]
        rows = (
            qs.values(*names, *split)
            .annotate(amount=Sum("amount"), count=Sum("count"), new=Sum("new_customers"))
            .order_by()
        )
    for r in rows:
        key = _key(r, names)
        scheme, channel = (r["scheme"], r["channel"]) if split else ("", "")
        for code, column in (("closing_amount", "amount"), ("closing_count", "count"), ("new_customers", "new")):
            if code in spec.kpis and r[column]:
                yield Row(key, code, Decimal(r[column]), scheme=scheme, channel=channel)


_SOURCES = {"stage": _stage, "activity": _activity, "lead": _lead, "visit": _visit, "closing": _closing}


def compute(
    codes: Iterable[str],
    *,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    by: tuple[str, ...],
    where: dict[str, Any] | None = None,
) -> list[Row]:
    """Every asked KPI over ``[start, min(end, as_of + 1 day))`` grouped by ``by``
    (any of ``branch``, ``area``, ``region``, ``me``, ``month``) and filtered by
    ``where`` on the same dimensions. One query per source family."""
    codes = list(codes)
    out: list[Row] = []
    if start >= min(end, as_of + dt.timedelta(days=1)):
        return out
    for family in FAMILIES:
        wanted = [c for c in codes if KPI_BY_CODE[c].family == family]
        if wanted:
            out.extend(_SOURCES[family](_Spec(wanted, by, dict(where or {})), start, end, as_of))
    return out
