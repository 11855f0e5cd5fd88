"""REST endpoints of sales: closings (list, one, and the batch intake from the
core systems) and the five channel registries (list and create).

Thin by design (DESIGN.md §4): lists read through ``filter_owned_to_scope``;
the batch goes whole to ``sales.ingest.ingest`` (no per-row work here);
registry entries are written by ``sales.services.registry_create``. Ids in a
body are resolved only inside the caller's scope, so an id outside it answers
the same 400 as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from activities.api.serializers import InstitutionRefSerializer
from core.api import Pagination
from core.products import Product
from institutions.api import MAX_ID, BranchRefSerializer, CodeField, PersonRefSerializer
from org.access import filter_owned_to_scope, scope_root, visible_institutions, visible_units
from org.models import UnitKind
from sales import services
from sales.ingest import ingest, max_rows
from sales.models import (
    Channel,
    Closing,
    CorporateAgent,
    FleetScheme,
    IndividualAgent,
    PmpFacility,
    PointRewardMembership,
    Scheme,
    Source,
)
from sales.services import MANAGE

VIEW = "sales.view"
INGEST = "sales.ingest"
# Problems returned in the answer; all of them are kept on the batch (its report).
PROBLEMS_SHOWN = 300


def _refuse_unless(user: Any, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


# --- Closings -------------------------------------------------------------------------------------


class ClosingSerializer(serializers.ModelSerializer):
    """A closing as the API returns it: the customer only masked; reads only
    what the list joins (branch, institution, initiator)."""

    serializer_choice_field = CodeField

    scheme_label = serializers.CharField(source="get_scheme_display", read_only=True)
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    product_label = serializers.CharField(source="get_product_display", read_only=True)
    branch = BranchRefSerializer(read_only=True)
    institution = InstitutionRefSerializer(read_only=True, allow_null=True)
    initiator_user = PersonRefSerializer(read_only=True, allow_null=True)
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=0, read_only=True, help_text=gettext_lazy("Rupiah, sebagai teks angka.")
    )
    grams = serializers.DecimalField(max_digits=12, decimal_places=4, read_only=True, allow_null=True)

    class Meta:
        model = Closing
        fields = [
            "id",
            "source",
            "external_id",
            "closed_on",
            "branch",
            "area_id",
            "region_id",
            "upc_id",
            "product",
            "product_label",
            "amount",
            "grams",
            "new_customer",
            "customer_ref",
            "scheme",
            "scheme_label",
            "channel",
            "channel_label",
            "institution",
            "cross_branch_rule",
            "initiator_kind",
            "initiator_user",
            "individual_agent_id",
            "corporate_agent_id",
            "lead_id",
            "revision",
            "batch_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ClosingFilterSerializer(serializers.Serializer):
    """``from``/``to`` are Asia/Jakarta dates, half-open: from <= day < to."""

    branch = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    institution = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    scheme = serializers.ChoiceField(
        choices=Scheme.choices, required=False, error_messages={"invalid_choice": gettext_lazy("Skema tidak dikenal.")}
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, error_messages={"invalid_choice": gettext_lazy("Kanal tidak dikenal.")}
    )
    product = serializers.ChoiceField(
        choices=Product.choices,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Produk tidak dikenal.")},
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is a Python keyword: added here rather than as an attribute.
        fields["from"] = serializers.DateField(required=False)
        fields["to"] = serializers.DateField(required=False)
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        start, end = data.get("from"), data.get("to")
        if start and end and end <= start:
            raise ValidationError({"to": [_("Tanggal akhir harus setelah tanggal awal (rentang setengah terbuka).")]})
        return data


CLOSING_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description=gettext_lazy("Tanggal awal (Asia/Jakarta), termasuk.")),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description=gettext_lazy("Tanggal akhir (Asia/Jakarta), tidak termasuk.")
    ),
    OpenApiParameter("branch", int, description=gettext_lazy("Id cabang penutup.")),
    OpenApiParameter("institution", int, description=gettext_lazy("Id lembaga.")),
    OpenApiParameter("scheme", str, enum=Scheme.values),
    OpenApiParameter("channel", str, enum=Channel.values),
    OpenApiParameter("product", str, enum=Product.values),
]


def visible_closings(user: Any) -> QuerySet[Closing]:
    """Closings in the user's scope (none for who may not read sales)."""
    if not user.has_perm(VIEW):
        return Closing.objects.none()
    return filter_owned_to_scope(Closing.objects.all(), user)


@extend_schema_view(
    list=extend_schema(parameters=CLOSING_PARAMETERS, summary=gettext_lazy("Daftar closing dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu closing")),
)
class ClosingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Closings in the caller's scope, newest first. Not for Agen (403 on the list)."""

    serializer_class = ClosingSerializer
    pagination_class = Pagination
    queryset = Closing.objects.none()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A role that reads no sales is refused the list; its fetches by id are 404 (nothing is visible).
        _refuse_unless(request.user, VIEW)
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Closing.objects.none()
        qs = visible_closings(self.request.user).select_related("branch", "institution", "initiator_user")
        if self.action == "list":
            f = ClosingFilterSerializer(data=self.request.query_params)
            f.is_valid(raise_exception=True)
            data = f.validated_data
            if "from" in data:
                qs = qs.filter(closed_on__gte=data["from"])
            if "to" in data:
                qs = qs.filter(closed_on__lt=data["to"])
            for key in ("scheme", "channel", "product"):
                if key in data:
                    qs = qs.filter(**{key: data[key]})
            if "branch" in data:
                qs = qs.filter(branch_id=data["branch"])
            if "institution" in data:
                qs = qs.filter(institution_id=data["institution"])
        return qs.order_by("-closed_on", "-id")

    def get_object(self) -> Closing:
        from django.http import Http404

        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (Closing.DoesNotExist, TypeError, ValueError, OverflowError):
            raise Http404 from None


# --- The batch ------------------------------------------------------------------------------------


class BatchRowSerializer(serializers.Serializer):
    """One row (documentation only: rows are checked by the ingestion, which
    reports each problem with its line, column and rule)."""

    external_id = serializers.CharField(help_text=gettext_lazy("Id transaksi, unik per sumber."))
    closed_on = serializers.DateField(help_text=gettext_lazy("Tanggal closing (Asia/Jakarta)."))
    branch = serializers.CharField(help_text=gettext_lazy("Kode cabang penutup, mis. C080101."))
    upc = serializers.CharField(required=False)
    product = serializers.ChoiceField(choices=Product.choices)
    amount = serializers.CharField(help_text=gettext_lazy("Rupiah bulat, sebagai teks angka."))
    grams = serializers.CharField(required=False, help_text=gettext_lazy("Wajib untuk produk emas."))
    new_customer = serializers.CharField(required=False, help_text=gettext_lazy("ya/tidak"))
    customer_ref = serializers.CharField(required=False, help_text=gettext_lazy("Disimpan tersamar."))
    scheme = serializers.ChoiceField(choices=Scheme.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    institution = serializers.IntegerField(required=False)
    cross_branch_rule = serializers.CharField(required=False)
    initiator_kind = serializers.CharField()
    initiator = serializers.CharField(required=False, help_text=gettext_lazy("Nama pengguna inisiator."))
    agent = serializers.CharField(required=False, help_text=gettext_lazy("Kode agen."))
    lead = serializers.IntegerField(required=False)


class BatchRequestSerializer(serializers.Serializer):
    # Annotated: ``source`` is also a Field attribute.
    source: Any = serializers.ChoiceField(choices=Source.choices)
    rows = BatchRowSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField()
    value = serializers.CharField()
    reason = serializers.CharField()
    rule = serializers.CharField()


BatchResultSerializer = inline_serializer(
    "ClosingBatchResult",
    {
        "batch": serializers.IntegerField(),
        "inserted": serializers.IntegerField(),
        "corrected": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": serializers.IntegerField(help_text=gettext_lazy("Baris yang ditolak.")),
        "problems_total": serializers.IntegerField(),
        "problems": ProblemSerializer(many=True),
    },
)


def _batch_body(data: Any) -> tuple[str, list[Any]]:
    """The source and rows of a body, or a 400 that says what is wrong."""
    if not isinstance(data, dict):
        raise ValidationError({"detail": _('Badan permintaan harus objek JSON {"source": …, "rows": […]}.')})
    source = data.get("source")
    if not isinstance(source, str) or source not in Source.values:
        raise ValidationError(
            {"source": [_("Sumber tidak dikenal; pilih salah satu: %(names)s.") % {"names": ", ".join(Source.values)}]}
        )
    rows = data.get("rows")
    if not isinstance(rows, list):
        raise ValidationError({"rows": [_("rows harus berupa daftar baris.")]})
    if len(rows) > max_rows():
        raise ValidationError({"rows": [_("Paling banyak %(n)s baris per batch.") % {"n": max_rows()}]})
    return source, rows


class ClosingBatchView(APIView):
    """``POST /api/v1/closings/batch``: the whole batch goes to ``ingest``."""

    @extend_schema(
        request=BatchRequestSerializer,
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(
                description=gettext_lazy(
                    "Badan permintaan tidak sah (bukan daftar, terlalu banyak baris, sumber tidak dikenal)."
                )
            ),
            403: OpenApiResponse(description=gettext_lazy("Peran tidak boleh mengirim closing.")),
        },
        summary=gettext_lazy("Kirim satu batch closing dari sistem inti"),
        description=gettext_lazy(
            "Idempoten per (sumber, id transaksi): batch yang dikirim ulang tidak menambah apa pun; "
            "id yang sama dengan nilai berubah dicatat sebagai koreksi. Baris yang salah ditolak dengan "
            "baris, kolom dan alasannya; baris yang benar tetap disimpan."
        ),
        operation_id="v1_closings_batch",
    )
    def post(self, request: Request) -> Response:
        user = request.user
        # The role first: the body is not even parsed for someone who may not send closings.
        _refuse_unless(user, INGEST)
        source, rows = _batch_body(request.data)
        out = ingest(actor=user, source=source, rows=rows, via="api")
        assert out.batch is not None  # source and size were checked above
        return Response(
            {
                "batch": out.batch.pk,
                "inserted": out.inserted,
                "corrected": out.corrected,
                "unchanged": out.unchanged,
                "errors": out.error_rows,
                "problems_total": len(out.problems),
                "problems": out.problems[:PROBLEMS_SHOWN],
            },
            status=status.HTTP_200_OK,
        )


@extend_schema_view(post=extend_schema(exclude=True))
class ClosingBatchNoSlashView(ClosingBatchView):
    """The same endpoint without its trailing slash (integrations call both)."""


# --- Registries -----------------------------------------------------------------------------------


class _RegistryReadSerializer(serializers.ModelSerializer):
    branch = BranchRefSerializer(read_only=True)


class IndividualAgentSerializer(_RegistryReadSerializer):
    institution = InstitutionRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = IndividualAgent
        fields = ["id", "code", "name", "institution", "branch", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class CorporateAgentSerializer(_RegistryReadSerializer):
    institution = InstitutionRefSerializer(read_only=True)

    class Meta:
        model = CorporateAgent
        fields = ["id", "code", "institution", "branch", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class FleetSchemeSerializer(_RegistryReadSerializer):
    operator = InstitutionRefSerializer(read_only=True)

    class Meta:
        model = FleetScheme
        fields = [
            "id",
            "name",
            "operator",
            "fleet_size",
            "vehicles_financed",
            "branch",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PointRewardSerializer(_RegistryReadSerializer):
    institution = InstitutionRefSerializer(read_only=True)
    points_balance = serializers.SerializerMethodField()

    class Meta:
        model = PointRewardMembership
        fields = [
            "id",
            "member_code",
            "institution",
            "points_earned",
            "points_redeemed",
            "points_balance",
            "branch",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_points_balance(self, m: PointRewardMembership) -> int:
        return int(m.points_earned - m.points_redeemed)


class PmpFacilitySerializer(_RegistryReadSerializer):
    borrower = InstitutionRefSerializer(read_only=True)
    ceiling = serializers.DecimalField(
        max_digits=18, decimal_places=0, read_only=True, help_text=gettext_lazy("Rupiah, sebagai teks angka.")
    )

    class Meta:
        model = PmpFacility
        fields = [
            "id",
            "reference",
            "borrower",
            "ceiling",
            "receivables_basis",
            "branch",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _inst_field(help_text: Any, *, required: bool = True) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=required, allow_null=not required, help_text=help_text
    )


class _RegistryWrite(serializers.Serializer):
    """Parses and resolves ids inside the caller's scope; the rules are the service's."""

    link = "institution"

    def _user(self) -> Any:
        return self.context["request"].user

    def _institution(self, value: int | None) -> Any:
        if value is None:
            return None
        inst = visible_institutions(self._user()).select_related("branch__parent").filter(pk=value).first()
        if inst is None:
            raise ValidationError(_("Lembaga tidak ditemukan."))
        return inst


class IndividualAgentWrite(_RegistryWrite):
    branch = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Id cabang agen; bawaan cabang Anda."),
    )
    institution = _inst_field(gettext_lazy("Id lembaga yang dipantau (opsional)."), required=False)
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=120)

    def validate_branch(self, value: int | None) -> Any:
        if value is None:
            return None
        branch = visible_units(self._user()).filter(pk=value, kind=UnitKind.CABANG).select_related("parent").first()
        if branch is None:
            raise ValidationError(_("Cabang tidak ditemukan."))
        return branch

    def validate_institution(self, value: int | None) -> Any:
        return self._institution(value)


class CorporateAgentWrite(_RegistryWrite):
    institution = _inst_field(gettext_lazy("Id lembaga."))
    code = serializers.CharField(max_length=32)

    def validate_institution(self, value: int | None) -> Any:
        return self._institution(value)


class FleetSchemeWrite(_RegistryWrite):
    link = "operator"
    operator = _inst_field(gettext_lazy("Id lembaga operator armada."))
    name = serializers.CharField(max_length=120)
    fleet_size = serializers.IntegerField(min_value=0, max_value=10**9 - 1)
    vehicles_financed = serializers.IntegerField(min_value=0, max_value=10**9 - 1, required=False, default=0)

    def validate_operator(self, value: int | None) -> Any:
        return self._institution(value)


class PointRewardWrite(_RegistryWrite):
    institution = _inst_field(gettext_lazy("Id lembaga."))
    member_code = serializers.CharField(max_length=32)
    points_earned = serializers.IntegerField(min_value=0, max_value=10**15 - 1, required=False, default=0)
    points_redeemed = serializers.IntegerField(min_value=0, max_value=10**15 - 1, required=False, default=0)

    def validate_institution(self, value: int | None) -> Any:
        return self._institution(value)


class PmpFacilityWrite(_RegistryWrite):
    link = "borrower"
    borrower = _inst_field(gettext_lazy("Id lembaga peminjam."))
    reference = serializers.CharField(max_length=32)
    ceiling = serializers.DecimalField(
        max_digits=18, decimal_places=0, help_text=gettext_lazy("Plafon, rupiah (angka atau teks angka).")
    )
    receivables_basis = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_borrower(self, value: int | None) -> Any:
        return self._institution(value)


BAD_INPUT = OpenApiResponse(
    description=gettext_lazy("Isian tidak sah, kode terpakai, atau id di luar cakupan (sama dengan tidak ada).")
)
REFUSED = OpenApiResponse(description=gettext_lazy("Peran tidak boleh mengelola registri kanal."))


class _RegistryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """One registry in the caller's scope: list (not for Agen) and create
    (Pinca, DBA, Wilayah, Pusat, Admin, within their scope)."""

    kind = ""
    write_serializer: Any = None
    pagination_class = Pagination

    def get_queryset(self) -> Any:
        reg = services.REGISTRIES[self.kind]
        if getattr(self, "swagger_fake_view", False):
            return reg.model._default_manager.none()  # type: ignore[attr-defined]
        _refuse_unless(self.request.user, VIEW)
        qs = reg.model._default_manager.select_related("branch", reg.link)  # type: ignore[attr-defined]
        return filter_owned_to_scope(qs, self.request.user).order_by(*(reg.model._meta.ordering or []), "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        root = scope_root(user)
        # The role first: a body is not even read for someone who may not manage registries.
        if root is None or not user.has_perm(MANAGE, root):
            raise PermissionDenied
        body = self.write_serializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        reg = services.REGISTRIES[self.kind]
        inst = data.pop(reg.link, None)
        branch = data.pop("branch", None)
        if self.kind == "agent" and branch is None:
            branch = inst.branch if inst is not None else (root if root.kind == UnitKind.CABANG else None)
        obj = services.registry_create(actor=user, kind=self.kind, branch=branch, institution=inst, **data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


def _registry_schema(write: Any, read: Any, what: Any) -> Any:
    return extend_schema_view(
        list=extend_schema(summary=what),
        create=extend_schema(request=write, responses={201: read, 400: BAD_INPUT, 403: REFUSED}),
    )


@_registry_schema(IndividualAgentWrite, IndividualAgentSerializer, gettext_lazy("Agen perseorangan dalam cakupan"))
class IndividualAgentViewSet(_RegistryViewSet):
    kind = "agent"
    serializer_class = IndividualAgentSerializer
    write_serializer = IndividualAgentWrite
    queryset = IndividualAgent.objects.none()


@_registry_schema(
    CorporateAgentWrite, CorporateAgentSerializer, gettext_lazy("Agen badan usaha/komunitas dalam cakupan")
)
class CorporateAgentViewSet(_RegistryViewSet):
    kind = "corporate_agent"
    serializer_class = CorporateAgentSerializer
    write_serializer = CorporateAgentWrite
    queryset = CorporateAgent.objects.none()


@_registry_schema(FleetSchemeWrite, FleetSchemeSerializer, gettext_lazy("Skema fleet dalam cakupan"))
class FleetSchemeViewSet(_RegistryViewSet):
    kind = "fleet"
    serializer_class = FleetSchemeSerializer
    write_serializer = FleetSchemeWrite
    queryset = FleetScheme.objects.none()


@_registry_schema(PointRewardWrite, PointRewardSerializer, gettext_lazy("Keanggotaan Club Point Reward dalam cakupan"))
class PointRewardViewSet(_RegistryViewSet):
    kind = "point_reward"
    serializer_class = PointRewardSerializer
    write_serializer = PointRewardWrite
    queryset = PointRewardMembership.objects.none()


@_registry_schema(PmpFacilityWrite, PmpFacilitySerializer, gettext_lazy("Fasilitas PMP dalam cakupan"))
class PmpFacilityViewSet(_RegistryViewSet):
    kind = "pmp"
    serializer_class = PmpFacilitySerializer
    write_serializer = PmpFacilityWrite
    queryset = PmpFacility.objects.none()
