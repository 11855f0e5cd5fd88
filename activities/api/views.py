"""Viewsets of the activities API (see the package docstring)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from activities import selectors, services
from activities.api.inputs import (
    ACTIVITY_PARAMETERS,
    EVENT_PARAMETERS,
    LEAD_PARAMETERS,
    PLAN_PARAMETERS,
    ActivityFilterSerializer,
    ActivityUpdateSerializer,
    ActivityWriteSerializer,
    EventFilterSerializer,
    EvidenceUploadSerializer,
    LeadFilterSerializer,
    LeadUpdateSerializer,
    LeadWriteSerializer,
    PlanEndSerializer,
    PlanFilterSerializer,
    PlanWriteSerializer,
    parse_filters,
)
from activities.api.serializers import (
    ActivitySerializer,
    EventSerializer,
    EvidenceSerializer,
    LeadSerializer,
    PlanSerializer,
)
from activities.models import (
    EVENT_KINDS,
    Activity,
    Evidence,
    Lead,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
)
from core.api import Pagination
from org.access import (
    get_activity_for_user,
    get_lead_for_user,
    get_plan_for_user,
    visible_activities,
)

# Who records the ME's work at all (activities, events, plans, leads): the ME and the
# branch head. Asked before a body is read; the rule on the object follows in the service.
RECORDS_WORK = "activities.create"


def _activity_rows(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    """Everything an activity row shows, in a fixed number of queries."""
    # prefetch_related(None): the events selector already prefetches the team; set both here once.
    return (
        qs.select_related("me", "institution", "branch")
        .prefetch_related(None)
        .prefetch_related(
            Prefetch(
                "participant_rows", queryset=Participant.objects.select_related("user").order_by("role", "user_id")
            ),
            Prefetch("evidence", queryset=Evidence.objects.order_by("created_at", "id")),
        )
    )


def _refuse_unless_records_work(user: Any) -> None:
    # The role first: a body is not even read for someone who may not record.
    if not user.has_perm(RECORDS_WORK):
        raise PermissionDenied


BAD_INPUT = OpenApiResponse(
    description=gettext_lazy("Isian tidak sah, atau id di luar cakupan (sama dengan tidak ada).")
)
REFUSED = OpenApiResponse(description=gettext_lazy("Peran tidak boleh melakukan ini."))


class _ActivityBase(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Activities in the caller's scope (events narrow them to the event kinds)."""

    serializer_class: Any = ActivitySerializer
    # Events accept only the event kinds (checked after parsing, with its own message).
    only_kinds: frozenset[str] | None = None
    filter_serializer: Any = ActivityFilterSerializer
    pagination_class = Pagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    # Rows always come from the scoped policy; this only names the model for the schema.
    queryset = Activity.objects.none()

    def scoped(self) -> QuerySet[Activity]:
        return visible_activities(self.request.user)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Activity.objects.none()
        qs = self.scoped()
        if self.action == "list":
            f = parse_filters(self.filter_serializer, self.request)
            if "from" in f:
                qs = qs.filter(day__gte=f["from"])
            if "to" in f:
                qs = qs.filter(day__lt=f["to"])
            for key in ("me", "branch", "institution"):
                if key in f:
                    qs = qs.filter(**{f"{key}_id": f[key]})
            for key in ("kind", "status"):
                if key in f:
                    qs = qs.filter(**{key: f[key]})
        return _activity_rows(qs).order_by("-starts_at", "-id")

    def _load(self, pk: Any) -> Activity:
        act = self.get_queryset().filter(pk=pk).first()
        if act is None:
            raise Http404
        return act

    def get_object(self) -> Activity:
        act = get_activity_for_user(self.request.user, self.kwargs["pk"])
        return self._load(act.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _refuse_unless_records_work(user)
        body = ActivityWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if self.only_kinds is not None and data["kind"] not in self.only_kinds:
            raise ValidationError({"kind": [_("Acara adalah sosialisasi, literasi atau open booth.")]})
        act, created = services.activity_create(actor=user, **data)
        return Response(
            self.get_serializer(self._load(act.pk)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


CREATE_RESPONSES = {
    200: OpenApiResponse(
        description=gettext_lazy("client_id sudah dipakai klien ini: aktivitas yang sama, tidak dibuat lagi.")
    ),
    400: BAD_INPUT,
    403: REFUSED,
}


@extend_schema_view(
    list=extend_schema(parameters=ACTIVITY_PARAMETERS, summary=gettext_lazy("Aktivitas dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu aktivitas")),
    create=extend_schema(
        request={
            "application/json": ActivityWriteSerializer,
            "multipart/form-data": ActivityWriteSerializer,
        },
        responses={201: ActivitySerializer, **CREATE_RESPONSES},
        summary=gettext_lazy("Catat aktivitas (idempoten dengan client_id)"),
    ),
    partial_update=extend_schema(
        request=ActivityUpdateSerializer,
        responses={200: ActivitySerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Ubah, selesaikan atau batalkan aktivitas"),
    ),
)
class ActivityViewSet(_ActivityBase):
    """The ME's activities. No delete: an activity is cancelled (status)."""

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        act = get_activity_for_user(user, kwargs["pk"], action="activities.change")
        body = ActivityUpdateSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if not data:
            raise ValidationError({"detail": _("Tidak ada yang diubah.")})
        services.activity_update(actor=user, activity=act, **data)
        return Response(self.get_serializer(self._load(act.pk)).data)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer(many=True), 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Tambah bukti foto/dokumen"),
        description=gettext_lazy("Jenis berkas dikenali dari isinya, bukan dari namanya; ukuran dan jumlah dibatasi."),
    )
    @action(detail=True, methods=["post"], url_path="evidence", parser_classes=[MultiPartParser, FormParser])
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        user = request.user
        act = get_activity_for_user(user, pk, action="activities.change")
        saved = services.evidence_add(actor=user, activity=act, files=request.FILES.getlist("evidence"))
        return Response(EvidenceSerializer(saved, many=True).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(parameters=EVENT_PARAMETERS, summary=gettext_lazy("Acara dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu acara")),
    create=extend_schema(
        request={"application/json": ActivityWriteSerializer, "multipart/form-data": ActivityWriteSerializer},
        responses={201: EventSerializer, **CREATE_RESPONSES},
        summary=gettext_lazy("Rencanakan acara dengan tim penjualan pendukung"),
    ),
)
class EventViewSet(_ActivityBase):
    """Events: sosialisasi, literasi and open booth, with the sales team
    supporting them and the leads they collected. Changed, completed and given
    evidence through ``/activities/{id}/``."""

    serializer_class = EventSerializer
    only_kinds = EVENT_KINDS
    filter_serializer = EventFilterSerializer

    def scoped(self) -> QuerySet[Activity]:
        return selectors.events(self.request.user)

    def get_object(self) -> Activity:
        act = get_activity_for_user(self.request.user, self.kwargs["pk"])
        if act.kind not in EVENT_KINDS:
            raise Http404
        return self._load(act.pk)


def _plan_rows(qs: QuerySet[MaintenancePlan]) -> QuerySet[MaintenancePlan]:
    return qs.prefetch_related(Prefetch("visits", queryset=MaintenanceVisit.objects.order_by("due_on", "id")))


@extend_schema_view(
    list=extend_schema(parameters=PLAN_PARAMETERS, summary=gettext_lazy("Rencana maintenance dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu rencana maintenance dengan jadwal kunjungannya")),
    create=extend_schema(
        request=PlanWriteSerializer,
        responses={201: PlanSerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Buat rencana maintenance (kunjungan dibuat ke depan)"),
    ),
)
class MaintenancePlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Maintenance plans of executed institutions, each with its planned visits
    (``is_overdue`` computed for today)."""

    serializer_class = PlanSerializer
    pagination_class = Pagination
    queryset = MaintenancePlan.objects.none()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return MaintenancePlan.objects.none()
        user = self.request.user
        if self.action != "list":
            return _plan_rows(selectors.plans(user, active_only=False))
        f = parse_filters(PlanFilterSerializer, self.request)
        qs = selectors.plans(user, active_only=False, branch=f.get("branch"), me=f.get("me"))
        if "institution" in f:
            qs = qs.filter(institution_id=f["institution"])
        if "status" in f:
            qs = qs.filter(status=f["status"])
        return _plan_rows(qs)

    def _load(self, pk: Any) -> MaintenancePlan:
        plan = self.get_queryset().filter(pk=pk).first()
        if plan is None:
            raise Http404
        return plan

    def get_object(self) -> MaintenancePlan:
        return self._load(get_plan_for_user(self.request.user, self.kwargs["pk"]).pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _refuse_unless_records_work(user)
        body = PlanWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        plan = services.plan_create(actor=user, **body.validated_data)
        return Response(self.get_serializer(self._load(plan.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PlanEndSerializer,
        responses={200: PlanSerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Akhiri rencana maintenance"),
        description=gettext_lazy(
            "Kunjungan terjadwal mulai tanggal berakhir dibatalkan; yang sudah dilaksanakan tetap."
        ),
    )
    @action(detail=True, methods=["post"], url_path="end")
    def end(self, request: Request, pk: str | None = None) -> Response:
        user = request.user
        plan = get_plan_for_user(user, pk, action="activities.change_plan")
        body = PlanEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.plan_end(actor=user, plan=plan, **body.validated_data)
        return Response(self.get_serializer(self._load(plan.pk)).data)


@extend_schema_view(
    list=extend_schema(
        parameters=LEAD_PARAMETERS,
        summary=gettext_lazy("Prospek dalam cakupan"),
        description=gettext_lazy(
            "Kosong bagi Agen, Karyawan dan Mitra unit kerja. Telepon dan email tampil utuh hanya bagi cabang pemilik."
        ),
    ),
    retrieve=extend_schema(summary=gettext_lazy("Satu prospek")),
    create=extend_schema(
        request=LeadWriteSerializer,
        responses={201: LeadSerializer, **CREATE_RESPONSES},
        summary=gettext_lazy("Catat prospek (idempoten dengan client_id)"),
    ),
    partial_update=extend_schema(
        request=LeadUpdateSerializer,
        responses={200: LeadSerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Ubah status prospek dan/atau serahkan ke tim penjualan"),
    ),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads (prospek nasabah): personal data, not for Agen, Karyawan or Mitra."""

    serializer_class = LeadSerializer
    pagination_class = Pagination
    queryset = Lead.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        if self.action != "list":
            return selectors.lead_list(self.request.user)
        f = parse_filters(LeadFilterSerializer, self.request)
        return selectors.lead_list(
            self.request.user,
            selectors.LeadFilters(
                status=f.get("status", ""),
                institution=f.get("institution"),
                source_activity=f.get("source_activity"),
                assigned_to=f.get("assigned_to"),
                open_only=f.get("open", False),
            ),
        )

    def get_object(self) -> Lead:
        return get_lead_for_user(self.request.user, self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _refuse_unless_records_work(user)
        body = LeadWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        lead, created = services.lead_create(actor=user, **body.validated_data)
        return Response(
            self.get_serializer(get_lead_for_user(user, lead.pk)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        lead = get_lead_for_user(user, kwargs["pk"])
        # The permission before the body: who may not touch the lead learns nothing from a 400.
        if "assigned_to" in request.data and not user.has_perm("activities.assign_lead", lead):
            raise PermissionDenied
        if "status" in request.data and not user.has_perm("activities.update_lead", lead):
            raise PermissionDenied
        body = LeadUpdateSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # A hand-off and a status change go together or not at all.
        with transaction.atomic():
            if "assigned_to" in data:
                lead = services.lead_assign(
                    actor=user, lead=lead, assignee=data["assigned_to"], due_on=data.get("due_on")
                )
            if "status" in data:
                lead = services.lead_set_status(actor=user, lead=lead, status=data["status"], note=data.get("note", ""))
        return Response(self.get_serializer(get_lead_for_user(user, lead.pk)).data)
