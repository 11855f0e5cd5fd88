"""The activity form (log a visit, plan an event, complete a planned one).

It only parses what was typed; the rules (who, which institution, evidence,
check-in) are the service's, whose messages the view puts on these fields.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import ActivityKind, ActivityStatus
from core.dates import validate_business_day
from core.products import Product

KIND_HINTS = {
    ActivityKind.KOMUNIKASI_AWAL: _("Kontak pertama untuk mengatur audiensi"),
    ActivityKind.KOMUNIKASI_LANJUTAN: _("Tindak lanjut menuju kerja sama"),
    ActivityKind.AUDIENSI: _("Pertemuan Pemimpin Cabang dengan pimpinan lembaga"),
    ActivityKind.SOSIALISASI: _("Acara: sosialisasi produk"),
    ActivityKind.LITERASI: _("Acara: literasi keuangan"),
    ActivityKind.OPEN_BOOTH: _("Acara: stan produk di lembaga"),
    ActivityKind.KUNJUNGAN_MAINTENANCE: _("Kunjungan rutin lembaga yang sudah berjalan"),
    ActivityKind.LAINNYA: _("Kegiatan lain"),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, (list, tuple)):
            return [f for f in data if f]
        return [data] if data else []


def _now_local() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class _ActivityFields(forms.Form):
    """What both the new-activity form and the edit form ask: when, where, who
    else, what came of it, the event's facts, evidence and the check-in."""

    day = forms.DateField(
        validators=[validate_business_day],
        label=_("Tanggal"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time = forms.TimeField(label=_("Jam"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    place = forms.CharField(label=_("Tempat"), max_length=200, required=False)
    title = forms.CharField(label=_("Judul acara"), max_length=200, required=False)
    participants = forms.TypedMultipleChoiceField(
        label=_("Ikut hadir / tim pendukung"),
        coerce=int,
        required=False,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
    )
    outcome = forms.CharField(
        label=_("Hasil"), required=False, widget=forms.Textarea(attrs={"rows": 3, "maxlength": 4000}), max_length=4000
    )
    next_step = forms.CharField(label=_("Langkah berikutnya"), max_length=255, required=False)
    next_step_date = forms.DateField(
        validators=[validate_business_day],
        label=_("Tanggal langkah berikutnya"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    attendance = forms.IntegerField(label=_("Jumlah peserta"), required=False, min_value=0, max_value=1_000_000)
    products = forms.MultipleChoiceField(
        label=_("Produk yang dibawa"), required=False, choices=Product.choices, widget=forms.CheckboxSelectMultiple
    )
    evidence = MultipleFileField(label=_("Foto / dokumen bukti"))
    checkin_latitude = forms.DecimalField(required=False, widget=forms.HiddenInput, max_digits=9, decimal_places=6)
    checkin_longitude = forms.DecimalField(required=False, widget=forms.HiddenInput, max_digits=10, decimal_places=6)
    checkin_accuracy_m = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0, max_value=100_000)

    def __init__(self, *args: Any, participant_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["participants"].choices = participant_choices or []  # type: ignore[attr-defined]
        if not participant_choices:
            del self.fields["participants"]

    def starts_at(self) -> datetime:
        d = self.cleaned_data["day"]
        t: time = self.cleaned_data["time"]
        return timezone.make_aware(datetime.combine(d, t))


class ActivityForm(_ActivityFields):
    kind = forms.ChoiceField(label=_("Jenis aktivitas"), choices=ActivityKind.choices, widget=forms.RadioSelect)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(ActivityStatus.DONE, _("Sudah dilakukan")), (ActivityStatus.PLANNED, _("Rencana"))],
        widget=forms.RadioSelect,
        initial=ActivityStatus.DONE,
    )
    institution = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    me = forms.TypedChoiceField(label=_("Marketing Executive"), coerce=int, required=False, choices=[])
    contact = forms.TypedChoiceField(label=_("Kontak yang ditemui"), coerce=int, required=False, choices=[])
    visit = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        me_choices: list[tuple[int, str]] | None = None,
        contact_choices: list[tuple[int, str]] | None = None,
        participant_choices: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, participant_choices=participant_choices, **kwargs)
        if me_choices is None:
            del self.fields["me"]
        else:
            self.fields["me"].choices = [("", "—")] + me_choices  # type: ignore[attr-defined]
        if contact_choices:
            self.fields["contact"].choices = [("", "—")] + contact_choices  # type: ignore[attr-defined]
        else:
            del self.fields["contact"]
        now = _now_local()
        self.fields["day"].initial = now.date()
        self.fields["time"].initial = now.time()


class ActivityEditForm(_ActivityFields):
    """Complete, cancel or correct an activity."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            ("", _("Tetap")),
            (ActivityStatus.DONE, _("Selesai dilaksanakan")),
            (ActivityStatus.CANCELLED, _("Dibatalkan")),
        ],
        required=False,
        widget=forms.RadioSelect,
    )
    evidence = MultipleFileField(label=_("Tambah foto / dokumen bukti"))


class EvidenceForm(forms.Form):
    evidence = MultipleFileField(label=_("Foto / dokumen bukti"))


class StageMoveForm(forms.Form):
    to_stage = forms.CharField(max_length=16)
    note = forms.CharField(max_length=500, required=False)
