"""Forms of the closings pages: the list's filters and the attribution period
(every value in the URL, ``?from=&to=``), and the upload."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import validate_business_day
from core.products import Product
from sales.models import Channel, Scheme, Source

MAX_ID = 2**63 - 1


def this_month() -> tuple[date, date]:
    """The first and the last day of the current month (Asia/Jakarta)."""
    today = timezone.localdate()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - timedelta(days=1)


class PeriodForm(forms.Form):
    """``?from=`` … ``?to=`` (both days included); this month when absent."""

    start = forms.DateField(
        validators=[validate_business_day],
        label=_("Dari tanggal"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        validators=[validate_business_day],
        label=_("Sampai tanggal"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    URL_NAMES = {"start": "from", "end": "to"}

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # The URL says ?from=&to= (shorter to share); the fields are start/end.
        if data is not None:
            data = {field: data.get(self.URL_NAMES.get(field, field), "") for field in self.base_fields}
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start and end and start > end:
            self.add_error("end", _("Tanggal akhir harus sama dengan atau sesudah tanggal awal."))
        return data

    def period(self) -> tuple[date, date]:
        """(first day, last day) of the chosen period; this month for what is missing or invalid."""
        first, last = this_month()
        if not self.is_bound or not self.is_valid():
            return first, last
        start = self.cleaned_data.get("start") or first
        end = self.cleaned_data.get("end") or max(last, start)
        return start, end

    def value(self, name: str) -> Any:
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name)


class ClosingFilterForm(PeriodForm):
    branch = forms.IntegerField(label=_("Cabang"), required=False, min_value=1, max_value=MAX_ID)
    scheme = forms.ChoiceField(label=_("Skema"), required=False, choices=[("", _("Semua skema")), *Scheme.choices])
    channel = forms.ChoiceField(label=_("Kanal"), required=False, choices=[("", _("Semua kanal")), *Channel.choices])
    product = forms.ChoiceField(label=_("Produk"), required=False, choices=[("", _("Semua produk")), *Product.choices])
    institution = forms.IntegerField(label=_("Lembaga (id)"), required=False, min_value=1, max_value=MAX_ID)
    initiator = forms.CharField(
        label=_("Inisiator"),
        required=False,
        max_length=150,
        help_text=_("Nama pengguna, atau jenis: SALES, EMPLOYEE, DIGITAL, AGENT, ME."),
    )


class UploadForm(forms.Form):
    source = forms.ChoiceField(label=_("Sumber data"), choices=Source.choices, initial=Source.MANUAL)


# --- Reading an uploaded closings file --------------------------------------------------------------

EXAMPLE_PREFIX = "contoh:"  # the template's example row (its external_id) is never taken in


def _header_key(cell: Any) -> str:
    return "_".join(str(cell or "").replace("*", " ").split()).casefold()


def read_upload(name: str, size: int, chunks: Any) -> tuple[list[dict[str, Any]], int]:
    """The data rows of an uploaded .csv/.xlsx as ``{column: text}`` and the
    line of the first one (the header is line 1), with the same checks and
    limits as the institution import (``institutions/imports/files.py``: type,
    size, zip bomb, encoding) plus this batch's row limit. Raises
    :class:`ImportRefused` (nothing is written) when the file itself is bad."""
    from pathlib import PurePath

    from django.conf import settings
    from django.utils.translation import gettext as _t

    from institutions.imports.files import ImportRefused, _blank, _check_zip, _csv_rows, _text, _xlsx_rows
    from sales.ingest import COLUMNS, REQUIRED, max_rows

    suffix = PurePath(name or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ImportRefused(_t("Hanya berkas .xlsx atau .csv yang bisa diunggah."))
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    too_big = _t("Berkas terlalu besar: paling besar %(limit)s MB.") % {"limit": limit // (1024 * 1024)}
    if size > limit:
        raise ImportRefused(too_big)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ImportRefused(too_big)
    if not data:
        raise ImportRefused(_t("Berkas kosong."))
    lines: Iterator[Sequence[Any]]
    if suffix == ".xlsx":
        _check_zip(data)
        lines = _xlsx_rows(data)
    else:
        lines = _csv_rows(data)
    header = next(lines, None)
    if header is None or _blank(header):
        raise ImportRefused(_t("Baris pertama berkas harus berisi judul kolom templat."))
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _header_key(cell)
        if key in COLUMNS and key not in index:
            index[key] = i
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise ImportRefused(
            _t("Kolom wajib tidak ada di baris judul: %(cols)s. Pakai templat unggah.") % {"cols": ", ".join(missing)}
        )
    rows: list[dict[str, Any]] = []
    first_line = 2
    for line, row in enumerate(lines, start=2):
        values = {key: _text(row[i]) if i < len(row) else "" for key, i in index.items()}
        skip = _blank(row) or values.get("external_id", "").casefold().startswith(EXAMPLE_PREFIX)
        if skip and not rows:
            first_line = line + 1  # leading blank or example rows: the data starts below them
            continue
        # Inside the data a row keeps its place, so every reported line is the file's own line;
        # an empty one there is reported (a required column is missing).
        rows.append({} if skip else values)
        if len(rows) > max_rows():
            raise ImportRefused(
                _t("Berkas berisi lebih dari %(max)s baris data; bagi menjadi beberapa berkas.")
                % {"max": f"{max_rows():,}".replace(",", ".")}
            )
    while rows and not rows[-1]:
        rows.pop()  # trailing empty rows
    if not rows:
        raise ImportRefused(_t("Berkas tidak berisi baris data di bawah baris judul."))
    return rows, first_line
