"""Forms of the channel-registry pages.

They only parse what was typed; the rules (codes unique, the institution of
the branch, figures consistent) are ``sales.services``', whose messages the
views put on these fields. The institution choices are filled by the view from
the scoped institutions of the chosen branch.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_COUNT = 10**9 - 1
MAX_POINTS = 10**15 - 1


class BranchChoiceForm(forms.Form):
    """The branch a new entry belongs to, for users who see more than one."""

    branch = forms.TypedChoiceField(label=_("Cabang"), coerce=int, choices=())

    def __init__(self, *args: Any, branches: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [  # type: ignore[attr-defined]
            ("", _("— pilih cabang —")),
            *[(b.pk, f"{b.code} · {b.name}") for b in branches],
        ]


class _RegistryForm(forms.Form):
    """The institution picker (removed when the page fixes the institution)."""

    institution_label: Any = _("Lembaga")
    institution_required = True
    institution = forms.TypedChoiceField(coerce=int, choices=(), empty_value=None)

    def __init__(self, *args: Any, institutions: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if institutions is None:
            del self.fields["institution"]
            return
        field = self.fields["institution"]
        field.label = self.institution_label
        field.required = self.institution_required
        blank = _("— pilih lembaga —") if self.institution_required else _("— tanpa lembaga —")
        field.choices = [("", blank), *[(i.pk, i.name) for i in institutions]]  # type: ignore[attr-defined]
        # Fields in the order of the page: the institution first.
        self.order_fields(["institution"])


class IndividualAgentForm(_RegistryForm):
    institution_label = _("Lembaga yang dipantau (opsional)")
    institution_required = False
    code = forms.CharField(label=_("Kode agen"), max_length=32)
    name = forms.CharField(label=_("Nama agen"), max_length=120)


class CorporateAgentForm(_RegistryForm):
    code = forms.CharField(label=_("Kode agen"), max_length=32)


class FleetSchemeForm(_RegistryForm):
    institution_label = _("Lembaga operator armada")
    name = forms.CharField(label=_("Nama skema"), max_length=120)
    fleet_size = forms.IntegerField(label=_("Jumlah armada"), min_value=0, max_value=MAX_COUNT)
    vehicles_financed = forms.IntegerField(label=_("Kendaraan dibiayai"), min_value=0, max_value=MAX_COUNT, initial=0)


class PointRewardForm(_RegistryForm):
    member_code = forms.CharField(label=_("Nomor keanggotaan"), max_length=32)
    points_earned = forms.IntegerField(label=_("Poin diperoleh"), min_value=0, max_value=MAX_POINTS, initial=0)
    points_redeemed = forms.IntegerField(label=_("Poin ditukar"), min_value=0, max_value=MAX_POINTS, initial=0)


class PmpFacilityForm(_RegistryForm):
    institution_label = _("Lembaga peminjam")
    reference = forms.CharField(label=_("Nomor fasilitas"), max_length=32)
    ceiling = forms.DecimalField(
        label=_("Plafon (Rp)"), max_digits=18, decimal_places=0, min_value=1, help_text=_("Rupiah, tanpa titik.")
    )
    receivables_basis = forms.CharField(
        label=_("Dasar piutang"),
        max_length=255,
        required=False,
        help_text=_("Mis. piutang usaha anggota koperasi yang dijaminkan."),
    )


FORMS: dict[str, type[_RegistryForm]] = {
    "agent": IndividualAgentForm,
    "corporate_agent": CorporateAgentForm,
    "fleet": FleetSchemeForm,
    "point_reward": PointRewardForm,
    "pmp": PmpFacilityForm,
}
