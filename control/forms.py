from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Pelaku"), required=False, max_length=150)
    action = forms.CharField(label=_("Aksi"), required=False, max_length=64, help_text=_("Awalan, mis. org.role"))
    object_type = forms.CharField(label=_("Jenis objek"), required=False, max_length=64)
    object_id = forms.CharField(label=_("Id objek"), required=False, max_length=64)
    unit = forms.CharField(label=_("Kode unit"), required=False, max_length=20)
    date_from = forms.DateField(label=_("Dari tanggal"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Sampai tanggal"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError(_("Tanggal akhir tidak boleh sebelum tanggal awal."))
        return data

    def filters(self) -> dict[str, Any]:
        """Jakarta calendar dates become a half-open UTC instant range."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        out: dict[str, Any] = {k: data.get(k) or "" for k in ("actor", "action", "object_type", "object_id", "unit")}
        if data.get("date_from"):
            out["date_from"] = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz)
        if data.get("date_to"):
            out["date_to"] = dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return out
