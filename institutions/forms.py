"""Forms of the registry pages. The filter form is shared by the list page,
the export and the API so the three read the same parameters the same way."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.wilayah import provinces, regencies
from institutions.models import InstitutionStatus, InstitutionType, LawfulBasis, Sector, Stage
from institutions.selectors import DEFAULT_SORT, InstitutionFilters

# Largest id a bigint column holds: bigger numbers are "not found", never an overflow.
MAX_ID = 2**63 - 1

SORT_CHOICES = [
    ("-score", _("Skor tertinggi")),
    ("score", _("Skor terendah")),
    ("name", _("Nama A–Z")),
    ("-name", _("Nama Z–A")),
    ("-value", _("Nilai potensi terbesar")),
    ("-members", _("Anggota terbanyak")),
    ("-updated", _("Terakhir diubah")),
]


def province_choices(blank: Any = "") -> list[tuple[str, Any]]:
    return [("", blank), *[(p.code, p.name) for p in provinces()]]


def regency_choices(province: str, blank: Any = "") -> list[tuple[str, Any]]:
    return [("", blank), *[(r.code, r.name) for r in regencies() if r.parent_code == province]]


class InstitutionFilterForm(forms.Form):
    q = forms.CharField(label=_("Cari nama atau NPWP"), required=False, max_length=100)
    type = forms.ChoiceField(
        label=_("Jenis"), required=False, choices=[("", _("Semua jenis")), *InstitutionType.choices]
    )
    province = forms.ChoiceField(label=_("Provinsi"), required=False, choices=())
    regency = forms.ChoiceField(label=_("Kabupaten/kota"), required=False, choices=())
    branch = forms.IntegerField(label=_("Cabang"), required=False, min_value=1, max_value=MAX_ID)
    me = forms.IntegerField(label=_("ME"), required=False, min_value=1, max_value=MAX_ID)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Semua status")), (InstitutionStatus.AKTIF, _("Aktif")), ("TIDAK_AKTIF", _("Tidak aktif"))],
    )
    stage = forms.ChoiceField(label=_("Tahap"), required=False, choices=[("", _("Semua tahap")), *Stage.choices])
    score_min = forms.IntegerField(label=_("Skor dari"), required=False, min_value=0, max_value=100)
    score_max = forms.IntegerField(label=_("Skor sampai"), required=False, min_value=0, max_value=100)
    sort = forms.ChoiceField(label=_("Urutkan"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = province_choices(_("Semua provinsi"))  # type: ignore[attr-defined]
        province = (self.data.get("province") or "") if self.is_bound else ""
        self.fields["regency"].choices = (  # type: ignore[attr-defined]
            regency_choices(province, _("Semua kabupaten/kota"))
            if province
            else [("", _("Semua kabupaten/kota")), *[(r.code, r.name) for r in regencies()]]
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lo, hi = data.get("score_min"), data.get("score_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("score_max", _("Skor sampai harus lebih besar atau sama dengan skor dari."))
        return data

    def filters(self) -> InstitutionFilters:
        """The valid part of the filters (an invalid value is dropped, and shown as an error)."""
        data = self.cleaned_data if self.is_bound else {}
        return InstitutionFilters(
            q=(data.get("q") or "").strip(),
            type=data.get("type") or "",
            province=data.get("province") or "",
            regency=data.get("regency") or "",
            branch=data.get("branch"),
            me=data.get("me"),
            status=data.get("status") or "",
            stage=data.get("stage") or "",
            score_min=data.get("score_min"),
            score_max=data.get("score_max"),
            sort=data.get("sort") or DEFAULT_SORT,
        )


def bound_filter_form(params: Any) -> InstitutionFilterForm:
    form = InstitutionFilterForm(params or None)
    if form.is_bound:
        form.is_valid()
    return form


class InstitutionForm(forms.Form):
    """Create/edit. The service validates again; this form gives per-field messages."""

    name = forms.CharField(label=_("Nama lembaga"), max_length=200)
    type = forms.ChoiceField(label=_("Jenis lembaga"), choices=[("", "—"), *InstitutionType.choices])
    sector = forms.ChoiceField(label=_("Sektor"), choices=Sector.choices, initial=Sector.LAINNYA)
    parent = forms.IntegerField(
        label=_("Lembaga induk (id)"),
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Untuk kantor daerah dari BUMN nasional atau instansi vertikal."),
    )
    province_code = forms.ChoiceField(label=_("Provinsi"), choices=())
    regency_code = forms.ChoiceField(label=_("Kabupaten/kota"), choices=())
    address = forms.CharField(label=_("Alamat"), required=False, max_length=255)
    latitude = forms.DecimalField(label=_("Lintang"), required=False, max_digits=9, decimal_places=6)
    longitude = forms.DecimalField(label=_("Bujur"), required=False, max_digits=9, decimal_places=6)
    npwp = forms.CharField(
        label=_("NPWP"), required=False, max_length=24, help_text=_("15 atau 16 digit, contoh 01.234.567.8-901.000.")
    )
    member_count = forms.IntegerField(label=_("Jumlah pegawai/anggota"), min_value=0, max_value=10_000_000, initial=0)
    potential_value = forms.DecimalField(
        label=_("Estimasi nilai potensi (Rp)"), min_value=0, max_digits=18, decimal_places=0, initial=0
    )
    potential_basis = forms.CharField(label=_("Dasar estimasi"), required=False, max_length=255)
    status = forms.ChoiceField(
        label=_("Status"), choices=[(InstitutionStatus.AKTIF, _("Aktif")), ("TIDAK_AKTIF", _("Tidak aktif"))]
    )
    notes = forms.CharField(label=_("Catatan"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    confirm_distinct = forms.BooleanField(
        label=_("Saya sudah memeriksa: ini lembaga yang berbeda dari yang mirip di atas."), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["province_code"].choices = province_choices("—")  # type: ignore[attr-defined]
        province = self.data.get("province_code") if self.is_bound else self.initial.get("province_code", "")
        self.fields["regency_code"].choices = regency_choices(province or "", "—")  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    branch = forms.IntegerField(label=_("Cabang pengelola"), required=False, min_value=1, max_value=MAX_ID)
    me = forms.IntegerField(label=_("Marketing Executive"), required=False, min_value=1, max_value=MAX_ID)
    reason = forms.CharField(label=_("Alasan"), required=False, max_length=255)


class MergeForm(forms.Form):
    survivor = forms.IntegerField(
        label=_("Id lembaga tujuan (yang dipertahankan)"),
        min_value=1,
        help_text=_("Lembaga ini akan digabung ke sana."),
    )
    reason = forms.CharField(label=_("Alasan"), max_length=255)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Nama"), max_length=120)
    position = forms.CharField(label=_("Jabatan"), required=False, max_length=120)
    phone = forms.CharField(label=_("Telepon"), required=False, max_length=32)
    email = forms.EmailField(label=_("Email"), required=False)
    purpose = forms.CharField(
        label=_("Tujuan pemrosesan"),
        max_length=255,
        initial=_("Koordinasi kerja sama dan kegiatan dengan lembaga"),
        help_text=_("UU PDP: untuk apa data orang ini disimpan."),
    )
    lawful_basis = forms.ChoiceField(
        label=_("Dasar pemrosesan"), choices=[("", "—"), *LawfulBasis.choices], help_text=_("UU PDP Pasal 20.")
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Dasar/alasan"), max_length=255)
