"""REST endpoints of the institution registry: list/create/retrieve/update and
an institution's contacts.

Thin by design (DESIGN.md §4): the list reads ``selectors.institution_list``
with the same filter form as the list page; fetches by id go through
``get_institution_for_user`` (404 out of scope, 403 forbidden action); writes
go through ``services``. Ids in a request body (branch, ME, parent) are
resolved only inside the caller's scope, so an id outside it answers the same
400 as an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import Pagination
from institutions import pipeline, selectors, services
from institutions.forms import SORT_CHOICES, bound_filter_form
from institutions.models import (
    Contact,
    Institution,
    InstitutionStatus,
    InstitutionType,
    LawfulBasis,
    Sector,
    Stage,
    StageChange,
)
from institutions.validation import province_names, regency_names
from org.access import get_institution_for_user, visible_institutions
from org.models import OrgUnit

WRITABLE_STATUSES = [(s.value, s.label) for s in (InstitutionStatus.AKTIF, InstitutionStatus.TIDAK_AKTIF)]


# --- Output ---------------------------------------------------------------------------------


# Largest id a bigint column holds: bigger numbers are "not found", never an overflow.
MAX_ID = 2**63 - 1


class BranchRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, user: Any) -> str:
        return user.get_full_name() or user.get_username()


class InstitutionSerializer(serializers.ModelSerializer):
    """An institution as every endpoint returns it. Reads only what
    ``institution_list`` joins (branch, ME), so a page costs no query per row."""

    type_label = serializers.CharField(source="get_type_display", read_only=True)
    sector_label = serializers.CharField(source="get_sector_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    parent: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    province_name = serializers.SerializerMethodField()
    regency_name = serializers.SerializerMethodField()
    branch = BranchRefSerializer(read_only=True)
    me = PersonRefSerializer(read_only=True, allow_null=True)
    potential_value = serializers.DecimalField(
        max_digits=18, decimal_places=0, read_only=True, help_text=gettext_lazy("Rupiah, sebagai teks angka.")
    )

    class Meta:
        model = Institution
        fields = [
            "id",
            "name",
            "type",
            "type_label",
            "sector",
            "sector_label",
            "parent",
            "address",
            "province_code",
            "province_name",
            "regency_code",
            "regency_name",
            "latitude",
            "longitude",
            "npwp",
            "member_count",
            "potential_value",
            "potential_basis",
            "branch",
            "me",
            "status",
            "status_label",
            "notes",
            "score",
            "distance_km",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_province_name(self, inst: Institution) -> str:
        return province_names().get(inst.province_code, "")

    @extend_schema_field(OpenApiTypes.STR)
    def get_regency_name(self, inst: Institution) -> str:
        return regency_names().get(inst.regency_code, "")


class ContactSerializer(serializers.ModelSerializer):
    """A contact as the API shows it: an erased person is only "(dihapus)";
    a restricted one keeps name and position but not phone or email."""

    name = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    lawful_basis_label = serializers.CharField(source="get_lawful_basis_display", read_only=True)
    restricted = serializers.BooleanField(source="is_restricted", read_only=True)
    erased = serializers.BooleanField(source="is_erased", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "position",
            "phone",
            "email",
            "purpose",
            "lawful_basis",
            "lawful_basis_label",
            "restricted",
            "erased",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, c: Contact) -> str:
        return _("(dihapus)") if c.is_erased else c.name

    @extend_schema_field(OpenApiTypes.STR)
    def get_position(self, c: Contact) -> str:
        return "" if c.is_erased else c.position

    @extend_schema_field({"type": "string", "nullable": True})
    def get_phone(self, c: Contact) -> str | None:
        return None if c.is_erased or c.is_restricted else c.phone

    @extend_schema_field({"type": "string", "nullable": True})
    def get_email(self, c: Contact) -> str | None:
        return None if c.is_erased or c.is_restricted else c.email


@extend_schema_field(OpenApiTypes.STR)
class CodeField(serializers.ChoiceField):
    """A choice code in a response, documented as a plain string beside its
    ``*_label``. The request serializers carry the enums: one choice set per
    field name keeps the generated enum names unambiguous."""


class StageChangeSerializer(serializers.ModelSerializer):
    """One move through the engagement pipeline: from where to where, who, when,
    and the evidence the rule accepted."""

    serializer_choice_field = CodeField

    institution: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    from_stage_label = serializers.CharField(source="get_from_stage_display", read_only=True)
    to_stage_label = serializers.CharField(source="get_to_stage_display", read_only=True)
    by = PersonRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StageChange
        fields = [
            "id",
            "institution",
            "from_stage",
            "from_stage_label",
            "to_stage",
            "to_stage_label",
            "at",
            "by",
            "note",
            "evidence",
        ]
        read_only_fields = fields


# --- Input ----------------------------------------------------------------------------------


class InstitutionWriteSerializer(serializers.Serializer):
    """The body of a create or update. Only parses and resolves ids within the
    caller's scope; the domain rules (codes, NPWP, duplicates…) are the
    service's, so the API says what the pages say."""

    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(
        choices=InstitutionType.choices, error_messages={"invalid_choice": gettext_lazy("Jenis lembaga tidak dikenal.")}
    )
    sector = serializers.ChoiceField(
        choices=Sector.choices, required=False, error_messages={"invalid_choice": gettext_lazy("Sektor tidak dikenal.")}
    )
    # Annotated: ``parent`` is also a Field attribute (the enclosing serializer).
    parent: Any = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text=gettext_lazy("Id lembaga induk.")
    )
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    province_code = serializers.CharField(max_length=2, help_text=gettext_lazy("Kode provinsi Kemendagri, mis. 31."))
    regency_code = serializers.CharField(max_length=5, help_text=gettext_lazy("Kode kabupaten/kota, mis. 31.71."))
    latitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    longitude = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    npwp = serializers.CharField(max_length=24, required=False, allow_null=True, allow_blank=True)
    member_count = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    potential_value = serializers.DecimalField(
        max_digits=18,
        decimal_places=0,
        min_value=0,
        required=False,
        help_text=gettext_lazy("Rupiah (angka atau teks angka)."),
    )
    potential_basis = serializers.CharField(max_length=255, required=False, allow_blank=True)
    branch = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Id cabang pengelola; boleh kosong bagi ME (cabangnya sendiri)."),
    )
    me = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Id Marketing Executive."),
    )
    status = serializers.ChoiceField(
        choices=WRITABLE_STATUSES,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Status harus aktif atau tidak aktif.")},
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    confirm_distinct = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("Sudah diperiksa: bukan lembaga yang sama dengan yang mirip."),
    )
    reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text=gettext_lazy("Alasan; wajib saat pindah cabang.")
    )

    def _user(self) -> Any:
        return self.context["request"].user

    def validate_branch(self, value: int | None) -> OrgUnit | None:
        if value is None:
            if self.instance is not None:
                raise ValidationError(_("Pilih cabang pengelola."))
            return None
        branch = selectors.scoped_branches(self._user()).filter(pk=value).select_related("parent").first()
        if branch is None:
            raise ValidationError(_("Cabang tidak ditemukan."))
        return branch

    def validate_me(self, value: int | None) -> Any:
        if value is None:
            return None
        me = selectors.scoped_mes(self._user()).filter(pk=value).first()
        if me is None:
            raise ValidationError(_("Marketing Executive tidak ditemukan."))
        return me

    def validate_parent(self, value: int | None) -> Institution | None:
        if value is None:
            return None
        if self.instance is not None and value == self.instance.parent_id:
            return self.instance.parent  # unchanged: it may lie outside the caller's scope
        parent = visible_institutions(self._user()).select_related("branch").filter(pk=value).first()
        if parent is None:
            raise ValidationError(_("Lembaga induk tidak ditemukan."))
        return parent


class ContactCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    position = serializers.CharField(max_length=120, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    purpose = serializers.CharField(max_length=255, help_text=gettext_lazy("Tujuan pemrosesan data pribadi (UU PDP)."))
    lawful_basis = serializers.ChoiceField(
        choices=LawfulBasis.choices,
        help_text=gettext_lazy("Dasar pemrosesan data pribadi (UU PDP Pasal 20)."),
        error_messages={"invalid_choice": gettext_lazy("Pilih dasar pemrosesan data pribadi (UU PDP).")},
    )


class StageMoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(
        choices=Stage.choices, error_messages={"invalid_choice": gettext_lazy("Tahap tidak dikenal.")}
    )
    note = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Catatan; wajib untuk tidak berminat dan saat diaktifkan kembali."),
    )


# --- Views ----------------------------------------------------------------------------------

FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description=gettext_lazy("Kata nama lembaga, atau awalan NPWP (angka).")),
    OpenApiParameter("type", str, enum=InstitutionType.values, description=gettext_lazy("Jenis lembaga.")),
    OpenApiParameter("province", str, description=gettext_lazy("Kode provinsi, mis. 31.")),
    OpenApiParameter("regency", str, description=gettext_lazy("Kode kabupaten/kota, mis. 31.71.")),
    OpenApiParameter("branch", int, description=gettext_lazy("Id cabang pengelola.")),
    OpenApiParameter("me", int, description=gettext_lazy("Id Marketing Executive.")),
    OpenApiParameter("status", str, enum=[InstitutionStatus.AKTIF, InstitutionStatus.TIDAK_AKTIF]),
    OpenApiParameter("score_min", int, description=gettext_lazy("Skor potensi minimal (0–100).")),
    OpenApiParameter("score_max", int, description=gettext_lazy("Skor potensi maksimal (0–100).")),
    OpenApiParameter(
        "sort", str, enum=[k for k, _label in SORT_CHOICES], description=gettext_lazy("Urutan; bawaan -score.")
    ),
]

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description=gettext_lazy("Nomor halaman.")),
    OpenApiParameter("page_size", int, description=gettext_lazy("Baris per halaman (maks. 500).")),
]

PaginatedContactSerializer = inline_serializer(
    "PaginatedContactList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": ContactSerializer(many=True),
    },
)


def _pop_owner(data: dict[str, Any]) -> tuple[OrgUnit | None, bool, Any, str]:
    """Take branch, ME (whether sent, and its value) and reason out of the
    facts: a change of owner is ``institution_reassign``, not an update."""
    has_me = "me" in data
    return data.pop("branch", None), has_me, data.pop("me", None), data.pop("reason", "") or ""


class InstitutionPagination(Pagination):
    """Pages of up to 500 for those who may export the list; others (Agen) read
    it a page of 50 at most, as on screen — the API is no side door to a bulk copy."""

    def get_page_size(self, request: Any) -> int | None:
        size = super().get_page_size(request)
        if size and not request.user.has_perm("institutions.export"):
            return min(size, NON_EXPORT_PAGE_MAX)
        return size


NON_EXPORT_PAGE_MAX = 50


@extend_schema_view(
    list=extend_schema(parameters=FILTER_PARAMETERS, summary=gettext_lazy("Daftar lembaga dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu lembaga")),
    create=extend_schema(
        request=InstitutionWriteSerializer,
        responses={
            201: InstitutionSerializer,
            400: OpenApiResponse(
                description=gettext_lazy("Isian tidak sah, NPWP terpakai, atau nama mirip (possible_duplicates).")
            ),
            403: OpenApiResponse(description=gettext_lazy("Peran tidak boleh mendaftarkan lembaga.")),
        },
        summary=gettext_lazy("Daftarkan lembaga"),
    ),
    update=extend_schema(request=InstitutionWriteSerializer, responses={200: InstitutionSerializer}),
    partial_update=extend_schema(request=InstitutionWriteSerializer, responses={200: InstitutionSerializer}),
)
class InstitutionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Institutions (potensi kelembagaan) in the caller's scope. No delete: an
    institution is deactivated (status) or merged (on the page)."""

    serializer_class = InstitutionSerializer
    pagination_class = InstitutionPagination
    # The rows always come from the scoped selector; this only names the model for the schema.
    queryset = Institution.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Institution.objects.none()
        form = bound_filter_form(self.request.query_params)
        if form.is_bound and not form.is_valid():
            raise ValidationError(
                {("non_field_errors" if k == "__all__" else k): [str(m) for m in v] for k, v in form.errors.items()}
            )
        return selectors.institution_list(self.request.user, form.filters())

    def get_object(self) -> Institution:
        return get_institution_for_user(self.request.user, self.kwargs["pk"])

    def paginate_queryset(self, queryset: Any) -> Any:
        """Page the ids without joins, then load those rows (see selectors.page_rows)."""
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True))
        if ids is None:
            return None
        return selectors.page_rows(queryset, list(ids))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        # The role first: a body is not even read for someone who may not register.
        if not user.has_perm("institutions.create"):
            raise PermissionDenied
        body = InstitutionWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        confirm = bool(data.pop("confirm_distinct", False))
        branch, _has_me, me, _reason = _pop_owner(data)
        inst = services.institution_create(actor=user, branch=branch, me=me, confirm_distinct=confirm, **data)
        return Response(InstitutionSerializer(inst).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        partial = kwargs.pop("partial", False)
        inst = get_institution_for_user(user, kwargs["pk"], action="institutions.change")
        body = InstitutionWriteSerializer(
            inst, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        confirm = bool(data.pop("confirm_distinct", False))
        branch, has_me, me, reason = _pop_owner(data)
        # Facts and owner change together or not at all.
        with transaction.atomic():
            if data:
                inst = services.institution_update(actor=user, institution=inst, confirm_distinct=confirm, **data)
            if branch is not None and branch.pk != inst.branch_id:
                services.institution_reassign(actor=user, institution=inst, branch=branch, me=me, reason=reason)
            elif has_me and (me.pk if me is not None else None) != inst.me_id:
                services.institution_reassign(actor=user, institution=inst, me=me, clear_me=me is None, reason=reason)
        return Response(InstitutionSerializer(get_institution_for_user(user, inst.pk)).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    @extend_schema(
        methods=["GET"],
        parameters=PAGE_PARAMETERS,
        responses={200: PaginatedContactSerializer},
        operation_id="v1_institutions_contacts_list",
        description=gettext_lazy(
            "Kontak lembaga. Nama kontak yang dihapus tampil sebagai (dihapus); telepon dan email kontak yang "
            "dibatasi atau dihapus bernilai null. Pembacaan dari luar cabang pemilik dicatat (UU PDP)."
        ),
        summary=gettext_lazy("Kontak lembaga (dicatat bila dibaca dari luar cabang pemilik)"),
    )
    @extend_schema(
        methods=["POST"],
        request=ContactCreateSerializer,
        responses={201: ContactSerializer},
        description=gettext_lazy("Tambah kontak; tujuan dan dasar pemrosesan data pribadi wajib diisi (UU PDP)."),
        summary=gettext_lazy("Tambah kontak lembaga"),
    )
    @action(detail=True, methods=["get", "post"], url_path="contacts", serializer_class=ContactSerializer)
    def contacts(self, request: Request, pk: str | None = None) -> Response:
        user = request.user
        if request.method == "POST":
            inst = get_institution_for_user(user, pk, action="institutions.manage_contacts")
            body = ContactCreateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            contact = services.contact_create(actor=user, institution=inst, **body.validated_data)
            return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)
        inst = get_institution_for_user(user, pk, action="institutions.view_contacts")
        page = self.paginate_queryset(selectors.contacts_of(inst))
        assert page is not None  # the project pagination is always on
        # UU PDP: reading personal data from outside the owning branch is logged, per contact shown.
        services.contact_reads_log(actor=user, contacts=list(page), channel="api")
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    @extend_schema(
        request=StageMoveSerializer,
        responses={
            200: StageChangeSerializer,
            400: OpenApiResponse(
                description=gettext_lazy(
                    "Perpindahan tidak diizinkan atau buktinya belum ada (pesan menyebut yang kurang)."
                )
            ),
            403: OpenApiResponse(description=gettext_lazy("Peran tidak boleh memindahkan tahap lembaga ini.")),
        },
        summary=gettext_lazy("Pindahkan lembaga ke tahap pipeline berikutnya"),
        description=gettext_lazy(
            "Setiap tahap butuh buktinya (mis. Audiensi: audiensi selesai yang dihadiri Pemimpin Cabang); "
            "tanpa bukti ditolak dengan pesan yang menyebut apa yang belum ada."
        ),
    )
    @action(detail=True, methods=["post"], url_path="stage")
    def stage(self, request: Request, pk: str | None = None) -> Response:
        user = request.user
        inst = get_institution_for_user(user, pk, action="institutions.move_stage")
        body = StageMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = pipeline.stage_move(
            actor=user,
            institution=inst,
            to_stage=body.validated_data["to_stage"],
            note=body.validated_data.get("note", ""),
        )
        return Response(StageChangeSerializer(change).data)
