"""Forms of the ME's work pages: the task list's filters, a new task, a task's
update, and the placement form. They only parse what was typed; the rules
(who may assign, which ME, which institution, the placement reason) are the
services', whose messages the views put on these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from performance.kpis import KPI_CHOICES
from performance.models import TaskStatus

OPEN = "open"
ALL = "all"


class TaskFilterForm(forms.Form):
    """``?status=`` (open by default, ``all``, or one status) and ``?me=``."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Belum selesai")), (ALL, _("Semua status")), *TaskStatus.choices],
    )
    me = forms.TypedChoiceField(label=_("ME"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, me_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["me"].choices = [("", _("Semua ME")), *(me_choices or [])]  # type: ignore[attr-defined]

    def value(self, name: str) -> Any:
        """The cleaned value, or the default when the field is missing or wrong."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data.get(name) or (OPEN if name == "status" else None)
        return OPEN if name == "status" else None


class TaskForm(forms.Form):
    me = forms.TypedChoiceField(label=_("Marketing Executive"), coerce=int)
    institution = forms.TypedChoiceField(
        label=_("Lembaga"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Opsional: lembaga cabang ini yang menjadi sasaran tugas."),
    )
    objective = forms.CharField(
        label=_("Tujuan"),
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("mis. Jadwalkan audiensi dengan kepala sekolah")}),
    )
    due_on = forms.DateField(label=_("Tenggat"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kpi = forms.ChoiceField(label=_("KPI yang didukung"), required=False)

    def __init__(
        self,
        *args: Any,
        me_choices: list[tuple[int, str]],
        institution_choices: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["me"].choices = [("", _("Pilih ME")), *me_choices]  # type: ignore[attr-defined]
        self.fields["institution"].choices = [("", _("Tanpa lembaga tertentu")), *institution_choices]  # type: ignore[attr-defined]
        self.fields["kpi"].choices = [("", _("Tidak ada KPI khusus")), *KPI_CHOICES]  # type: ignore[attr-defined]


class TaskUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=TaskStatus.choices)
    progress_note = forms.CharField(
        label=_("Catatan perkembangan"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, status_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if status_choices is not None:
            self.fields["status"].choices = status_choices  # type: ignore[attr-defined]


class PlacementForm(forms.Form):
    """The recommended moves to apply (one checkbox per ME), from when, and why.
    ``confirm`` is set only by the confirmation step's "Ya, terapkan"."""

    moves = forms.TypedMultipleChoiceField(
        label=_("Perpindahan yang diterapkan"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    valid_from = forms.DateField(
        label=_("Berlaku mulai"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=_("Alasan"),
        required=False,
        max_length=255,
        help_text=_("Wajib bila diterapkan oleh Kantor Wilayah atau Pusat."),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, move_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("valid_from", timezone.localdate())
        kwargs["initial"].setdefault("moves", [pk for pk, _label in move_choices])
        super().__init__(*args, **kwargs)
        self.fields["moves"].choices = move_choices  # type: ignore[attr-defined]
        self.fields["moves"].error_messages["invalid_choice"] = _(
            "Perpindahan ini tidak lagi direkomendasikan; muat ulang halaman."
        )
