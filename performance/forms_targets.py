"""Forms of the KPI and target pages: the KPI and period picker, the KPI
setting, and the target upload."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from performance.distribution import METHODS
from performance.kpis import KPI_BY_CODE, KPI_CHOICES
from performance.models import SumCheck
from performance.periods import Period, PeriodKind, parse_period

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
DEFAULT_KPI = "closing_amount"  # the KPI most targets are about


def period_choices(today: dt.date | None = None, *, current: Period | None = None) -> list[tuple[Any, Any]]:
    """Grouped choices for a period picker: last year, this year and next year
    (year, quarters, months), plus ``current`` when it falls outside."""
    today = today or timezone.localdate()
    groups: list[tuple[Any, Any]] = []
    seen: set[str] = set()
    for year in (today.year, today.year + 1, today.year - 1):
        options = []
        year_period = Period(dt.date(year, 1, 1), PeriodKind.YEAR)
        for p in [year_period, *(Period(dt.date(year, q * 3 + 1, 1), PeriodKind.QUARTER) for q in range(4))]:
            options.append((p.code, p.label()))
        options += [(m.code, m.label()) for m in year_period.children()]
        seen.update(code for code, _label in options)
        groups.append((str(year), options))
    if current is not None and current.code not in seen:
        groups.append((_("Lainnya"), [(current.code, current.label())]))
    return groups


class TargetPickForm(forms.Form):
    """The KPI and period of a target page (in the URL)."""

    kpi = forms.ChoiceField(label=_("KPI"), choices=KPI_CHOICES)
    period = forms.CharField(label=_("Periode"), max_length=10)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        data = data.copy() if data is not None else {}
        data.setdefault("kpi", DEFAULT_KPI)  # closing_amount: the KPI most targets are about
        if not data.get("period"):
            data["period"] = Period.of(timezone.localdate()).code
        super().__init__(data, **kwargs)
        current = parse_period(data.get("period"))
        self.fields["period"].widget = forms.Select(choices=period_choices(current=current))

    def clean_period(self) -> Period:
        period = parse_period(self.cleaned_data["period"])
        if period is None:
            raise forms.ValidationError(_("Periode tidak dikenal; tulis 2026-11, 2026-Q4, atau 2026."))
        return period

    def picked(self) -> tuple[str, Period]:
        """The KPI and period asked for; the defaults when the URL holds nonsense."""
        if self.is_valid():
            return self.cleaned_data["kpi"], self.cleaned_data["period"]
        kpi = self.data.get("kpi")
        period = parse_period(self.data.get("period")) or Period.of(timezone.localdate())
        return (kpi if kpi in KPI_BY_CODE else DEFAULT_KPI), period


class KpiSettingForm(forms.Form):
    kpi = forms.ChoiceField(choices=KPI_CHOICES)
    sum_check = forms.ChoiceField(label=_("Cek jumlah target anak"), choices=SumCheck.choices)


class DistributeForm(forms.Form):
    method = forms.ChoiceField(label=_("Cara membagi"), choices=list(METHODS.items()), initial="potential")


class TargetUploadForm(forms.Form):
    file = forms.FileField(label=_("Berkas .xlsx"))
