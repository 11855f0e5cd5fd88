"""Request bodies and query filters of the activities API. Ids in a body are
resolved inside the caller's scope: outside it, the same 400 as a missing id."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from activities.models import (
    EVENT_KINDS,
    Activity,
    ActivityKind,
    ActivityStatus,
    Frequency,
    LeadStatus,
    MaintenanceVisit,
    PlanStatus,
)
from core.dates import validate_business_day
from core.products import Product
from institutions.api import MAX_ID, CodeField
from institutions.models import Contact, Institution, LawfulBasis
from institutions.selectors import scoped_mes
from org.access import (
    filter_to_scope,
    visible_activities,
    visible_institutions,
    visible_visits,
)
from org.models import RoleAssignment, User

EVENT_KIND_CHOICES = [(k.value, k.label) for k in ActivityKind if k in EVENT_KINDS]


def _choice(choices: Any, message: Any, **kw: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices, error_messages={"invalid_choice": message}, **kw)


def _id_field(help_text: Any, **kw: Any) -> serializers.IntegerField:
    kw.setdefault("required", False)
    kw.setdefault("allow_null", True)
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=help_text, **kw)


# --- Input: ids resolved inside the caller's scope -------------------------------------------------


class ScopedInput(serializers.Serializer):
    """Resolves the ids a body may carry, each only among what the caller sees."""

    def _user(self) -> Any:
        return self.context["request"].user

    def _in_scope(self, qs: QuerySet[Any], value: int | None, message: str) -> Any:
        if value is None:
            return None
        obj = qs.filter(pk=value).first()
        if obj is None:
            raise ValidationError(message)
        return obj

    def validate_institution(self, value: int | None) -> Institution | None:
        qs = visible_institutions(self._user()).select_related("branch__parent", "me")
        return self._in_scope(qs, value, _("Lembaga tidak ditemukan."))

    def validate_me(self, value: int | None) -> Any:
        return self._in_scope(scoped_mes(self._user()), value, _("Marketing Executive tidak ditemukan."))

    def validate_contact(self, value: int | None) -> Contact | None:
        qs = Contact.objects.filter(
            institution__in=visible_institutions(self._user()).values("pk"), erased_at__isnull=True
        )
        return self._in_scope(qs, value, _("Kontak tidak ditemukan."))

    def validate_visit(self, value: int | None) -> MaintenanceVisit | None:
        return self._in_scope(visible_visits(self._user()), value, _("Jadwal kunjungan tidak ditemukan."))

    def validate_source_activity(self, value: int | None) -> Activity | None:
        return self._in_scope(visible_activities(self._user()), value, _("Aktivitas sumber tidak ditemukan."))

    def _people(self, ids: list[int], message: str) -> list[User]:
        """Users with an active role in a unit in the caller's scope; any other id is unknown."""
        ids = list(dict.fromkeys(ids))
        known = set(
            filter_to_scope(RoleAssignment.objects.active(), self._user())
            .filter(user_id__in=ids)
            .values_list("user_id", flat=True)
        )
        if len(known) != len(ids):
            raise ValidationError(message)
        by_id = User.objects.in_bulk(ids)
        return [by_id[i] for i in ids]

    def validate_participants(self, value: list[int] | None) -> list[User] | None:
        if value is None:
            return None
        return self._people(value, _("Peserta tidak ditemukan."))

    def validate_assigned_to(self, value: int | None) -> Any:
        if value is None:
            return None
        return self._people([value], _("Petugas penjualan tidak ditemukan."))[0]


PARTICIPANTS_HELP = gettext_lazy("Id pengguna: Pemimpin Cabang, tim penjualan atau ME cabang ini.")
PRODUCTS_HELP = format_lazy("{}: {}.", gettext_lazy("Kode produk untuk acara"), ", ".join(Product.values))


class ActivityWriteSerializer(ScopedInput):
    """The body of a new activity (JSON, or multipart with ``evidence`` files).
    A retry with the same ``client_id`` returns the activity already recorded
    (200) and creates nothing."""

    client_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("UUID dibuat oleh klien; kirim ulang dengan UUID yang sama tidak membuat data baru."),
        error_messages={"invalid": gettext_lazy("client_id bukan UUID.")},
    )
    # A plain string in the schema: "kind" already names the org units' enum.
    kind = CodeField(
        choices=ActivityKind.choices,
        error_messages={"invalid_choice": gettext_lazy("Jenis aktivitas tidak dikenal.")},
        help_text=format_lazy(
            "{}: {}.",
            gettext_lazy("Jenis; acara adalah SOSIALISASI, LITERASI, OPEN_BOOTH"),
            ", ".join(ActivityKind.values),
        ),
    )
    status = _choice(
        [(s.value, s.label) for s in (ActivityStatus.PLANNED, ActivityStatus.DONE)],
        gettext_lazy("Aktivitas baru direncanakan atau sudah selesai."),
        required=False,
        default=ActivityStatus.PLANNED,
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    institution = _id_field(gettext_lazy("Id lembaga; wajib kecuali jenis Lainnya."))
    contact = _id_field(gettext_lazy("Id kontak lembaga yang ditemui."))
    me = _id_field(gettext_lazy("Id Marketing Executive; bagi ME selalu dirinya sendiri."))
    participants = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, help_text=PARTICIPANTS_HELP
    )
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True, help_text=gettext_lazy("Wajib bila selesai."))
    next_step = serializers.CharField(max_length=255, required=False, allow_blank=True)
    next_step_date = serializers.DateField(validators=[validate_business_day], required=False, allow_null=True)
    attendance = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, allow_null=True)
    products = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, help_text=PRODUCTS_HELP
    )
    checkin_latitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    checkin_longitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    checkin_accuracy_m = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Akurasi lokasi (meter)."),
    )
    visit = _id_field(gettext_lazy("Id jadwal kunjungan maintenance yang dilaksanakan."))
    evidence = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        write_only=True,
        help_text=gettext_lazy("Foto (JPEG, PNG, WebP, HEIC) atau PDF; hanya multipart."),
    )


class ActivityUpdateSerializer(ScopedInput):
    """What a PATCH may change: the facts, the outcome, and the status (a planned
    activity is completed or cancelled; done and cancelled ones keep theirs)."""

    status = _choice(
        [(s.value, s.label) for s in (ActivityStatus.DONE, ActivityStatus.CANCELLED)],
        gettext_lazy("Status menjadi selesai atau dibatalkan."),
        required=False,
    )
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    contact = _id_field(gettext_lazy("Id kontak lembaga yang ditemui."))
    participants = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, help_text=PARTICIPANTS_HELP
    )
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True)
    next_step = serializers.CharField(max_length=255, required=False, allow_blank=True)
    next_step_date = serializers.DateField(validators=[validate_business_day], required=False, allow_null=True)
    attendance = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, allow_null=True)
    products = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, help_text=PRODUCTS_HELP
    )
    checkin_latitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    checkin_longitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    checkin_accuracy_m = serializers.IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if (data.get("checkin_latitude") is None) != (data.get("checkin_longitude") is None):
            raise ValidationError({"checkin_latitude": [_("Lokasi check-in tidak lengkap.")]})
        return data


class EvidenceUploadSerializer(serializers.Serializer):
    evidence = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        help_text=gettext_lazy("Satu atau beberapa berkas: foto (JPEG, PNG, WebP, HEIC) atau PDF."),
    )


class PlanWriteSerializer(ScopedInput):
    institution = _id_field(
        gettext_lazy("Id lembaga di tahap Eksekusi atau Maintenance."), required=True, allow_null=False
    )
    me = _id_field(gettext_lazy("Id ME penanggung jawab; bagi ME selalu dirinya sendiri."))
    frequency = _choice(
        Frequency.choices, gettext_lazy("Frekuensi tidak dikenal."), required=False, default=Frequency.MONTHLY
    )
    starts_on = serializers.DateField(
        validators=[validate_business_day],
    )
    ends_on = serializers.DateField(validators=[validate_business_day], required=False, allow_null=True)
    grace_days = serializers.IntegerField(min_value=0, max_value=60, required=False, default=7)
    notes = serializers.CharField(max_length=255, required=False, allow_blank=True)


class PlanEndSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text=gettext_lazy("Alasan rencana diakhiri."))
    ends_on = serializers.DateField(
        validators=[validate_business_day],
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Kunjungan mulai tanggal ini dibatalkan; bawaan hari ini."),
    )


class LeadWriteSerializer(ScopedInput):
    client_id = serializers.UUIDField(
        required=False, allow_null=True, error_messages={"invalid": gettext_lazy("client_id bukan UUID.")}
    )
    institution = _id_field(gettext_lazy("Id lembaga asal prospek."), required=True, allow_null=False)
    source_activity = _id_field(gettext_lazy("Id aktivitas/acara tempat prospek dikumpulkan."))
    me = _id_field(gettext_lazy("Id ME yang mengumpulkan; bagi ME selalu dirinya sendiri."))
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    product = _choice(Product.choices, gettext_lazy("Pilih produk yang diminati."))
    purpose = serializers.CharField(max_length=255, help_text=gettext_lazy("Tujuan pemrosesan data pribadi (UU PDP)."))
    lawful_basis = _choice(LawfulBasis.choices, gettext_lazy("Pilih dasar pemrosesan data pribadi (UU PDP)."))
    due_on = serializers.DateField(validators=[validate_business_day], required=False, allow_null=True)
    notes = serializers.CharField(max_length=255, required=False, allow_blank=True)


class LeadUpdateSerializer(ScopedInput):
    """A status change (with its note) and/or a hand-off to a sales team member
    of the branch (with a due date)."""

    status = _choice(LeadStatus.choices, gettext_lazy("Status prospek tidak dikenal."), required=False)
    note = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text=gettext_lazy("Wajib bila tidak tertarik.")
    )
    assigned_to = _id_field(gettext_lazy("Id anggota tim penjualan cabang."), allow_null=False)
    due_on = serializers.DateField(
        validators=[validate_business_day],
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Tenggat tindak lanjut; dikirim bersama assigned_to."),
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "assigned_to" not in data and "due_on" in data:
            raise ValidationError({"due_on": [_("Tenggat diubah bersama petugas penjualan (assigned_to).")]})
        if "assigned_to" not in data and "status" not in data:
            raise ValidationError({"detail": _("Kirim status dan/atau assigned_to.")})
        return data


# --- Query filters ------------------------------------------------------------------------------


class ActivityFilterSerializer(serializers.Serializer):
    """``from``/``to`` are Asia/Jakarta dates, half-open: from <= day < to."""

    me = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    branch = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    institution = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    kind = _choice(ActivityKind.choices, gettext_lazy("Jenis aktivitas tidak dikenal."), required=False)
    status = _choice(ActivityStatus.choices, gettext_lazy("Status tidak dikenal."), required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is a Python keyword: added here rather than as an attribute.
        fields["from"] = serializers.DateField(validators=[validate_business_day], required=False)
        fields["to"] = serializers.DateField(validators=[validate_business_day], required=False)
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        start, end = data.get("from"), data.get("to")
        if start and end and end <= start:
            raise ValidationError({"to": [_("Tanggal akhir harus setelah tanggal awal (rentang setengah terbuka).")]})
        return data


class EventFilterSerializer(ActivityFilterSerializer):
    kind = _choice(
        EVENT_KIND_CHOICES, gettext_lazy("Acara adalah sosialisasi, literasi atau open booth."), required=False
    )


class PlanFilterSerializer(serializers.Serializer):
    me = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    branch = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    institution = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    status = _choice(PlanStatus.choices, gettext_lazy("Status tidak dikenal."), required=False)


class LeadFilterSerializer(serializers.Serializer):
    status = _choice(LeadStatus.choices, gettext_lazy("Status prospek tidak dikenal."), required=False)
    institution = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    source_activity = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    assigned_to = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    open = serializers.BooleanField(required=False, default=False)


def parse_filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    f = serializer_class(data=request.query_params)
    f.is_valid(raise_exception=True)
    return dict(f.validated_data)


def _id_param(name: str, text: Any) -> OpenApiParameter:
    return OpenApiParameter(name, int, description=text)


ACTIVITY_FILTERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description=gettext_lazy("Tanggal awal (Asia/Jakarta), termasuk.")),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description=gettext_lazy("Tanggal akhir (Asia/Jakarta), tidak termasuk.")
    ),
    _id_param("me", gettext_lazy("Id Marketing Executive.")),
    _id_param("branch", gettext_lazy("Id cabang.")),
    _id_param("institution", gettext_lazy("Id lembaga.")),
    OpenApiParameter("status", str, enum=ActivityStatus.values),
]
ACTIVITY_PARAMETERS = [*ACTIVITY_FILTERS, OpenApiParameter("kind", str, enum=ActivityKind.values)]
EVENT_PARAMETERS = [*ACTIVITY_FILTERS, OpenApiParameter("kind", str, enum=sorted(str(k) for k in EVENT_KINDS))]
PLAN_PARAMETERS = [
    _id_param("me", gettext_lazy("Id ME penanggung jawab.")),
    _id_param("branch", gettext_lazy("Id cabang.")),
    _id_param("institution", gettext_lazy("Id lembaga.")),
    OpenApiParameter("status", str, enum=PlanStatus.values),
]
LEAD_PARAMETERS = [
    OpenApiParameter("status", str, enum=LeadStatus.values),
    _id_param("institution", gettext_lazy("Id lembaga.")),
    _id_param("source_activity", gettext_lazy("Id aktivitas/acara sumber.")),
    _id_param("assigned_to", gettext_lazy("Id petugas penjualan.")),
    OpenApiParameter("open", bool, description=gettext_lazy("Hanya prospek yang masih terbuka.")),
]
