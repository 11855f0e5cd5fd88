"""Forms of the dashboard pages: the ME evaluation (period, rating 1–5, notes).

The form only shapes the input; ``services.evaluation_save`` decides (permission,
range, a period not yet started) and its ``DomainError`` lands on the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from performance.models import MeEvaluation
from performance.periods import Period, parse_period

RATING_CHOICES = [
    (1, _("1 · Kurang")),
    (2, _("2 · Perlu perbaikan")),
    (3, _("3 · Cukup")),
    (4, _("4 · Baik")),
    (5, _("5 · Sangat baik")),
]


class EvaluationForm(forms.Form):
    period = forms.CharField(
        label=_("Periode"),
        max_length=10,
        help_text=_("Bulan (2026-11), triwulan (2026-Q4) atau tahun (2026)."),
    )
    rating = forms.TypedChoiceField(
        label=_("Penilaian"),
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Pilih penilaian 1 sampai 5."),
            "invalid_choice": _("Pilih penilaian 1 sampai 5."),
        },
    )
    notes = forms.CharField(
        label=_("Catatan"),
        max_length=MeEvaluation._meta.get_field("notes").max_length or 4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Wajib diisi.")},
    )

    def clean_period(self) -> Period:
        period = parse_period(self.cleaned_data["period"])
        if period is None:
            raise forms.ValidationError(_("Periode tidak dikenal: tulis 2026-11, 2026-Q4 atau 2026."))
        return period

    def initial_from(self, period: Period, current: Any = None) -> None:
        """Start from the period on screen, and the ME's evaluation of it if one exists."""
        self.initial["period"] = period.code
        if current is not None:
            self.initial["rating"] = current.rating
            self.initial["notes"] = current.notes
