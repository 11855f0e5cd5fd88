"""Forms of the events and leads pages.

They only parse what was typed; the rules (who may record, contact needed,
product, lawful basis, hand-off to the branch's sales team, allowed status
moves) are the services', whose messages the views put on these fields.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from activities.models import LeadStatus
from core.dates import validate_business_day
from core.products import Product
from institutions.models import LawfulBasis

MAX_ID = 2**63 - 1
DEFAULT_PURPOSE = _("Menghubungi calon nasabah untuk menindaklanjuti minatnya pada produk yang dipilih")


class LeadForm(forms.Form):
    """A lead collected at an institution or an event (personal data under UU PDP)."""

    name = forms.CharField(label=_("Nama calon nasabah"), max_length=120, required=False)
    phone = forms.CharField(
        label=_("Telepon / WhatsApp"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"type": "email", "inputmode": "email", "autocomplete": "off"}),
    )
    # Plain text with a select: an unknown value reaches the service, whose message is shown.
    product = forms.CharField(
        label=_("Produk diminati"),
        max_length=16,
        required=False,
        widget=forms.Select(choices=[("", _("— pilih produk —")), *Product.choices]),
    )
    purpose = forms.CharField(
        label=_("Tujuan pemrosesan data pribadi"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 255}),
        help_text=_("Disampaikan kepada calon nasabah saat datanya dicatat."),
    )
    lawful_basis = forms.CharField(
        label=_("Dasar pemrosesan"),
        max_length=20,
        required=False,
        widget=forms.Select(choices=LawfulBasis.choices),
    )
    due_on = forms.DateField(
        validators=[validate_business_day],
        label=_("Tenggat tindak lanjut"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    notes = forms.CharField(label=_("Catatan"), max_length=255, required=False)
    me = forms.TypedChoiceField(label=_("Dikumpulkan oleh (ME)"), coerce=int, required=False, choices=[])
    # Picked from the institution search (radio inputs); a fixed institution comes in the URL.
    institution = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        me_choices: list[tuple[int, str]] | None = None,
        event_products: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if event_products:
            # The products the event brought come first: most leads there ask about them.
            ours = [(p, label) for p, label in Product.choices if p in event_products]
            others = [(p, label) for p, label in Product.choices if p not in event_products]
            self.fields["product"].widget.choices = [  # type: ignore[attr-defined]
                ("", _("— pilih produk —")),
                (_("Produk acara ini"), ours),
                (_("Produk lain"), others),
            ]
        if me_choices is None:
            del self.fields["me"]
        else:
            self.fields["me"].choices = [("", _("ME pengelola lembaga"))] + me_choices  # type: ignore[attr-defined]


class LeadAssignForm(forms.Form):
    # An id from the select; one that is not the branch's sales team gets the service's message.
    assigned_to = forms.IntegerField(label=_("Serahkan kepada"), required=False, min_value=1, max_value=MAX_ID)
    due_on = forms.DateField(
        validators=[validate_business_day],
        label=_("Tenggat tindak lanjut"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, sales_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].widget = forms.Select(
            choices=[("", _("— pilih tim penjualan —")), *(sales_choices or [])]
        )


class LeadStatusForm(forms.Form):
    status = forms.CharField(max_length=16, required=False)
    note = forms.CharField(
        label=_("Alasan tidak tertarik"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 255}),
    )


class LeadRestrictForm(forms.Form):
    reason = forms.CharField(
        label=_("Dasar permintaan"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("mis. nomor surat/tiket permintaan (tanpa nama orang)")}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "restrict_%s")
        super().__init__(*args, **kwargs)


class LeadEraseForm(forms.Form):
    reason = forms.CharField(
        label=_("Dasar permintaan penghapusan"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("mis. nomor surat/tiket permintaan (tanpa nama orang)")}),
    )


STATUS_FILTER_OPEN = "open"
ASSIGNED_CHOICES = ("all", "none", "me")


class LeadFilterForm(forms.Form):
    """The lead list's filters (every value is in the URL)."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Semua status")), (STATUS_FILTER_OPEN, _("Masih berjalan")), *LeadStatus.choices],
    )
    assigned = forms.ChoiceField(
        label=_("Penanganan"),
        required=False,
        choices=[
            ("all", _("Semua")),
            ("none", _("Belum diserahkan")),
            ("me", _("Diserahkan ke saya")),
        ],
    )
    institution = forms.IntegerField(label=_("Lembaga"), required=False, min_value=1, max_value=MAX_ID)
    activity = forms.IntegerField(label=_("Acara/aktivitas"), required=False, min_value=1, max_value=MAX_ID)
    branch = forms.IntegerField(label=_("Cabang"), required=False, min_value=1, max_value=MAX_ID)

    def __init__(self, *args: Any, for_sales: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not for_sales:
            field: Any = self.fields["assigned"]
            field.choices = [c for c in field.choices if c[0] != "me"]

    def value(self, name: str) -> Any:
        """The cleaned value of a filter; None when absent or invalid (the error shows on the form)."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name)


class ConversionForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[
            ("institution", _("Lembaga")),
            ("event", _("Acara")),
            ("me", _("ME")),
            ("branch", _("Cabang")),
        ],
    )
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

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # The URL says ?from=&to= (shorter to share); the fields are start/end.
        if data is not None:
            data = {"by": data.get("by", ""), "start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start and end and start > end:
            self.add_error("end", _("Tanggal akhir harus sama dengan atau sesudah tanggal awal."))
        return data
