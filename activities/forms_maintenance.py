"""Forms of the maintenance-plan pages.

They only parse what was typed; who may plan, which institution and which ME
are the service's rules, whose messages the views put on these fields. The
institution and ME choices are filled by the view from the scoped selectors.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import Frequency
from core.dates import validate_business_day

# Largest id a bigint column holds: bigger numbers are "not found", never an overflow.
MAX_ID = 2**63 - 1


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class PlanForm(forms.Form):
    institution = forms.TypedChoiceField(label=_("Lembaga"), coerce=int, choices=())
    me = forms.TypedChoiceField(label=_("ME penanggung jawab"), coerce=int, choices=(), required=False)
    frequency = forms.ChoiceField(label=_("Frekuensi"), choices=Frequency.choices, initial=Frequency.MONTHLY)
    starts_on = forms.DateField(
        validators=[validate_business_day],
        label=_("Kunjungan pertama"),
        widget=DateInput(),
        help_text=_("Jadwal berikutnya dihitung dari tanggal ini."),
    )
    grace_days = forms.IntegerField(
        label=_("Toleransi (hari)"),
        min_value=0,
        max_value=60,
        initial=7,
        help_text=_("Kunjungan dianggap terlambat sesudah jadwal ditambah toleransi ini."),
    )
    ends_on = forms.DateField(
        validators=[validate_business_day], label=_("Berakhir (opsional)"), widget=DateInput(), required=False
    )
    notes = forms.CharField(label=_("Catatan"), max_length=255, required=False)

    def __init__(
        self,
        *args: Any,
        institutions: list[Any] | None = None,
        mes: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("starts_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        if institutions is None:
            # The institution is fixed by the page (``?institution=``): nothing to choose.
            del self.fields["institution"]
        else:
            self.fields["institution"].choices = [  # type: ignore[attr-defined]
                ("", _("— pilih lembaga —")),
                *[(i.pk, f"{i.name} · {i.get_stage_display()}") for i in institutions],
            ]
        if mes is None:
            # An ME plans their own visits: the service names them.
            del self.fields["me"]
        else:
            self.fields["me"].choices = [("", _("— pilih ME —")), *[(m.pk, _user_label(m)) for m in mes]]  # type: ignore[attr-defined]
            self.fields["me"].required = True


class PlanEndForm(forms.Form):
    # Required by the service, whose message ("Tuliskan alasannya.") is the one shown.
    reason = forms.CharField(label=_("Alasan"), max_length=255, required=False)
    ends_on = forms.DateField(
        validators=[validate_business_day],
        label=_("Berakhir mulai"),
        widget=DateInput(),
        required=False,
        help_text=_("Kosongkan untuk hari ini. Kunjungan terjadwal sejak tanggal ini dibatalkan."),
    )


class PlanReassignForm(forms.Form):
    me = forms.TypedChoiceField(label=_("ME baru"), coerce=int, choices=())

    def __init__(self, *args: Any, mes: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["me"].choices = [("", _("— pilih ME —")), *[(m.pk, _user_label(m)) for m in mes]]  # type: ignore[attr-defined]


class PlanFilterForm(forms.Form):
    """The list's filters, read from the query string (bad values are ignored)."""

    branch = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    me = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    semua = forms.BooleanField(required=False)

    def value(self, name: str) -> Any:
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None
