"""REST endpoints of performance: targets, achievement (by unit, period and
KPI, with children), ME placements (postings, the recommendation, applying
moves), ME tasks and ME evaluations.

Thin like the pages: who may do what is decided in ``org.access`` (rules asked
with ``user.has_perm``, ``get_*_for_user`` for objects named in the query or
the URL: 404 outside the scope, 403 for a forbidden action); reads go through
``performance.selectors`` / ``performance.achievement`` / ``performance.placement``
and every write through ``performance.services`` (a ``DomainError`` is a 400
with its message, via ``core.api.exception_handler``). Ids in a request body
are resolved inside the caller's scope: outside it, the same 400 as an id that
does not exist (the convention of the other APIs).

A role that may never do an action is refused (403) before its body is read:
the rule is asked with the caller's scope root as its object (the same rule the
service asks with the real object afterwards).

Every list is paginated (``core.api.Pagination``) and costs a fixed number of
queries whatever its length (asserted in ``performance/tests/test_api.py``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination
from org import access
from org.models import OrgUnit, Placement, UnitKind, User
from performance import achievement, placement, selectors, services
from performance.achievement import CHILD_KIND, Figure, Line
from performance.models import MeEvaluation, Target, Task, TaskStatus
from performance.periods import Period, PeriodKind
from performance.serializers import (
    PERIOD_HELP,
    AchievementFilterSerializer,
    AchievementSerializer,
    AreaParamSerializer,
    EvaluationFilterSerializer,
    EvaluationSerializer,
    EvaluationWriteSerializer,
    PlacementApplySerializer,
    PlacementDecisionSerializer,
    PlacementFilterSerializer,
    PlacementSerializer,
    RecommendationSerializer,
    TargetFilterSerializer,
    TargetSerializer,
    TargetWriteSerializer,
    TaskFilterSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TaskWriteSerializer,
)

VIEW = "performance.view"
VIEW_UNIT = "performance.view_unit"
VIEW_TASK = "performance.view_task"
ASSIGN_TASK = "performance.assign_task"
UPDATE_TASK = "performance.update_task"
EVALUATE = "performance.evaluate_me"
VIEW_PLACEMENT = "performance.view_placement"
APPLY_PLACEMENT = "performance.apply_placement"

BAD_INPUT = OpenApiResponse(
    description=gettext_lazy("Isian tidak sah, atau id di luar cakupan (sama dengan tidak ada).")
)
REFUSED = OpenApiResponse(description=gettext_lazy("Peran tidak boleh melakukan ini."))
NOT_FOUND = OpenApiResponse(description=gettext_lazy("Di luar cakupan Anda (sama dengan tidak ada)."))


def _refuse_unless(user: Any, perm: str, *, on_root: bool = True) -> None:
    """403 unless the rule allows the action at all (asked on the caller's scope root)."""
    obj = access.scope_root(user) if on_root else None
    if obj is None and on_root:
        raise PermissionDenied
    if not user.has_perm(perm, obj):
        raise PermissionDenied


def _filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    f = serializer_class(data=request.query_params)
    f.is_valid(raise_exception=True)
    return dict(f.validated_data)


def _unit_ref(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name, "kind": unit.kind}


def _branch_ref(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name}


def _me_ref(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.get_full_name() or user.username}


def _int_param(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise Http404 from None


# --- Targets ------------------------------------------------------------------------------------


TARGET_PARAMETERS = [
    OpenApiParameter("period", str, description=PERIOD_HELP),
    OpenApiParameter("kpi", str, description=gettext_lazy("Kode KPI.")),
    OpenApiParameter("unit", int, description=gettext_lazy("Id unit (target unit dan target ME di cabang itu).")),
    OpenApiParameter("me", int, description=gettext_lazy("Id Marketing Executive.")),
]
TargetResult = inline_serializer(
    "TargetSetResult",
    {"warnings": serializers.ListField(child=serializers.CharField())},
)


@extend_schema_view(
    list=extend_schema(parameters=TARGET_PARAMETERS, summary=gettext_lazy("Target dalam cakupan")),
    create=extend_schema(
        request=TargetWriteSerializer,
        responses={200: TargetResult, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Tetapkan target satu KPI untuk satu periode"),
        description=gettext_lazy(
            "Dari atas ke bawah: Pusat untuk Pusat dan Wilayah, Wilayah untuk Area, DBA untuk cabang, "
            "Pemimpin Cabang untuk ME-nya. Nilai null menghapus target. Bila jumlah target anak tidak sama "
            "dengan target induk, KPI yang diatur 'tolak' menolak seluruh isian (400, kode sum); yang lain "
            "mengembalikan peringatan."
        ),
    ),
)
class TargetViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TargetSerializer
    pagination_class = Pagination
    queryset = Target.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Target.objects.none()
        qs = access.visible_targets(self.request.user).select_related("unit", "me")
        f = _filters(TargetFilterSerializer, self.request)
        if "period" in f:
            qs = qs.filter(period_kind=f["period"].kind, period_start=f["period"].start)
        if "kpi" in f:
            qs = qs.filter(kpi=f["kpi"])
        if "unit" in f:
            qs = qs.filter(unit_id=f["unit"])
        if "me" in f:
            qs = qs.filter(me_id=f["me"])
        return qs.order_by("-period_start", "kpi", "unit__path", "me_id", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        # Who reads no performance sets no target: refused before the body is read.
        _refuse_unless(user, VIEW, on_root=False)
        body = TargetWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kpi = data["kpi"]
        rows = [
            services.TargetRow(
                unit=r["unit"],
                me=r["me"],
                value=services.parse_value(r["value"], kpi=kpi, field=f"rows[{i}].value"),
            )
            for i, r in enumerate(data["rows"])
        ]
        warnings = services.targets_set(actor=user, kpi=kpi, period=data["period"], rows=rows, note=data["note"])
        return Response({"warnings": [str(w) for w in warnings]}, status=status.HTTP_200_OK)


# --- Achievement --------------------------------------------------------------------------------


ACHIEVEMENT_PARAMETERS = [
    OpenApiParameter("unit", int, description=gettext_lazy("Id unit (Pusat, Wilayah, Area, Cabang); atau me.")),
    OpenApiParameter("me", int, description=gettext_lazy("Id Marketing Executive; atau unit.")),
    OpenApiParameter("period", str, description=PERIOD_HELP),
    OpenApiParameter("kpi", str, description=gettext_lazy("Kode KPI dipisah koma; bawaan semua.")),
    OpenApiParameter("as_of", OpenApiTypes.DATE, description=gettext_lazy("Tanggal acuan; bawaan hari ini.")),
    OpenApiParameter("children", bool, description=gettext_lazy("Sertakan baris anak (unit di bawahnya atau ME).")),
]


def _figures(line: Line) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fig: Figure
    for code, fig in line.figures.items():
        out[code] = fig.as_dict()
    return out


def _child(line: Line) -> dict[str, Any]:
    key = line.key
    if isinstance(key, OrgUnit):
        ref: dict[str, Any] = {"id": key.pk, "code": key.code, "name": key.name}
    else:
        ref = _me_ref(key)
    return {**ref, "figures": _figures(line)}


class AchievementView(APIView):
    """``GET /api/v1/achievement/``: one unit's (or one ME's) KPI figures in a period."""

    @extend_schema(
        parameters=ACHIEVEMENT_PARAMETERS,
        responses={200: AchievementSerializer, 400: BAD_INPUT, 403: REFUSED, 404: NOT_FOUND},
        summary=gettext_lazy("Capaian KPI satu unit atau satu ME"),
        description=gettext_lazy(
            "Nilai, target, persen target, tahun lalu, pertumbuhan dan peringkat di antara rekan, per KPI, "
            "pada tanggal acuan. Dengan children=1: satu baris per unit anak (cabang: per ME, ditambah "
            "yang tidak diinisiasi ME)."
        ),
        operation_id="v1_achievement",
    )
    def get(self, request: Request) -> Response:
        user = request.user
        f = _filters(AchievementFilterSerializer, request)
        period: Period = f.get("period") or Period.of(timezone.localdate(), PeriodKind.MONTH)
        codes = tuple(f.get("kpi") or achievement.ALL)
        as_of = f.get("as_of")
        if "me" in f:
            me = access.get_me_for_user(user, f["me"])
            line = achievement.for_me(me, period, as_of, codes)
            body = {
                "unit": None,
                "me": me,
                "period": period.code,
                "as_of": achievement.effective_as_of(period, as_of),
                "kpis": list(codes),
                "own": _figures(line),
                "child_kind": None,
                "children": None,
                "unattributed": None,
            }
            return Response(AchievementSerializer(body).data)
        unit = access.get_unit_for_user(user, f["unit"], action=VIEW_UNIT)
        if unit.kind not in CHILD_KIND and unit.kind != UnitKind.CABANG:
            raise ValidationError({"unit": [_("Capaian hanya untuk Pusat, Wilayah, Area atau Cabang.")]})
        result = achievement.for_unit(unit, period, as_of, codes)
        body = {
            "unit": _unit_ref(unit),
            "me": None,
            "period": period.code,
            "as_of": result.as_of,
            "kpis": list(codes),
            "own": _figures(result.own),
            "child_kind": result.child_kind,
            "children": [_child(line) for line in result.children] if f["children"] else None,
            "unattributed": _figures(result.unattributed) if result.unattributed is not None else None,
        }
        return Response(AchievementSerializer(body).data)


# --- Placements ---------------------------------------------------------------------------------


def _area_for(user: Any, pk: Any) -> OrgUnit:
    """The area named in the query: 404 outside the scope, 403 without the placement rule."""
    area = access.get_unit_for_user(user, _int_param(pk), action=VIEW_PLACEMENT)
    if area.kind != UnitKind.AREA:
        raise ValidationError({"area": [_("Penempatan diputuskan per Kantor Area.")]})
    return area


def _recommendation(rec: placement.Recommendation) -> dict[str, Any]:
    return {
        "area": _unit_ref(rec.area),
        "method": placement.METHOD,
        "weight_basis": rec.weight_basis,
        "total_mes": rec.total_mes,
        "lines": [
            {
                "branch": _branch_ref(line.branch),
                "score": line.score,
                "institutions": line.institutions,
                "current": line.current,
                "recommended": line.recommended,
                "difference": line.difference,
                "load_now": line.load_now,
                "load_after": line.load_after,
                "mes": line.mes,
            }
            for line in rec.lines
        ],
        "moves": [
            {
                "me": m.me,
                "source": _branch_ref(m.source),
                "target": _branch_ref(m.target),
                "me_institutions": m.me_institutions,
            }
            for m in rec.moves
        ],
    }


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("area", int, description=gettext_lazy("Id Kantor Area.")),
            OpenApiParameter("current", bool, description=gettext_lazy("Hanya penempatan yang berlaku (bawaan ya).")),
        ],
        responses={200: PlacementSerializer(many=True), 403: REFUSED, 404: NOT_FOUND},
        summary=gettext_lazy("Penempatan ME di cabang dalam cakupan"),
    )
)
class PlacementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """ME postings (kedudukan) of the branches in scope: the DBA and above."""

    serializer_class = PlacementSerializer
    pagination_class = Pagination
    queryset = Placement.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Placement.objects.none()
        user = self.request.user
        _refuse_unless(user, VIEW_PLACEMENT)
        f = _filters(PlacementFilterSerializer, self.request)
        qs = access.filter_to_scope(Placement.objects.all(), user, path_field="branch__path")
        if "area" in f:
            qs = qs.filter(branch__parent=_area_for(user, f["area"]))
        if f["current"]:
            qs = qs.filter(valid_to__isnull=True)
        return qs.select_related("user", "branch", "decided_by").order_by("branch__code", "user_id", "-valid_from")

    @extend_schema(
        parameters=[OpenApiParameter("area", int, required=True, description=gettext_lazy("Id Kantor Area."))],
        responses={200: RecommendationSerializer, 400: BAD_INPUT, 403: REFUSED, 404: NOT_FOUND},
        summary=gettext_lazy("Rekomendasi penempatan ME di satu area"),
        description=gettext_lazy(
            "Alokasi proporsional terhadap potensi cabang (jumlah skor lembaga) dengan metode sisa terbesar; "
            "perpindahan dari cabang yang kelebihan ke yang kekurangan."
        ),
    )
    @action(detail=False, methods=["get"], url_path="recommendation", pagination_class=None)
    def recommendation(self, request: Request) -> Response:
        user = request.user
        _refuse_unless(user, VIEW_PLACEMENT)
        area = _area_for(user, _filters(AreaParamSerializer, request)["area"])
        return Response(RecommendationSerializer(_recommendation(placement.recommend(area))).data)

    @extend_schema(
        request=PlacementApplySerializer,
        responses={201: PlacementDecisionSerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Terapkan perpindahan ME di satu area (satu keputusan tercatat)"),
        description=gettext_lazy(
            "Hanya DBA area itu; Wilayah/Pusat dalam keadaan khusus dengan alasan. Setiap ME mendapat "
            "penempatan bertanggal baru."
        ),
    )
    @action(detail=False, methods=["post"], url_path="apply")
    def apply(self, request: Request) -> Response:
        user = request.user
        # Who may not even see placements is refused before the body is read.
        _refuse_unless(user, VIEW_PLACEMENT)
        body = PlacementApplySerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        area: OrgUnit = data["area"]
        if not user.has_perm(APPLY_PLACEMENT, area):
            raise PermissionDenied
        moves = data["moves"]
        rec = placement.recommend(area)
        recommended = {(m.me.pk, m.target.pk) for m in rec.moves}
        method = placement.METHOD if {(me.pk, b.pk) for me, b in moves} <= recommended else "manual"
        decision = services.placement_apply(
            actor=user,
            area=area,
            moves=moves,
            valid_from=data.get("valid_from"),
            reason=data["reason"],
            basis=rec.basis(),
            method=method,
        )
        out = {
            "decision": decision.pk,
            "area": _unit_ref(area),
            "valid_from": decision.valid_from,
            "method": decision.method,
            "moves": decision.moves,
        }
        return Response(PlacementDecisionSerializer(out).data, status=status.HTTP_201_CREATED)


# --- Tasks --------------------------------------------------------------------------------------


TASK_PARAMETERS = [
    OpenApiParameter("me", int, description=gettext_lazy("Id Marketing Executive.")),
    OpenApiParameter("branch", int, description=gettext_lazy("Id cabang.")),
    OpenApiParameter("status", str, enum=TaskStatus.values),
    OpenApiParameter("open", bool, description=gettext_lazy("Hanya tugas yang masih terbuka.")),
    OpenApiParameter("overdue", bool, description=gettext_lazy("Hanya tugas terbuka yang lewat tenggat.")),
]


@extend_schema_view(
    list=extend_schema(parameters=TASK_PARAMETERS, summary=gettext_lazy("Tugas ME dalam cakupan")),
    retrieve=extend_schema(summary=gettext_lazy("Satu tugas ME")),
    create=extend_schema(
        request=TaskWriteSerializer,
        responses={201: TaskSerializer, 400: BAD_INPUT, 403: REFUSED},
        summary=gettext_lazy("Beri tugas kepada ME cabang (Pemimpin Cabang)"),
    ),
    partial_update=extend_schema(
        request=TaskUpdateSerializer,
        responses={200: TaskSerializer, 400: BAD_INPUT, 403: REFUSED, 404: NOT_FOUND},
        summary=gettext_lazy("Perbarui status dan catatan tugas"),
    ),
)
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks from the branch head to the branch's MEs (an ME sees their own)."""

    serializer_class = TaskSerializer
    pagination_class = Pagination
    queryset = Task.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        user = self.request.user
        if self.action != "list":
            return selectors.tasks_for(user)
        f = _filters(TaskFilterSerializer, self.request)
        qs = selectors.tasks_for(user, open_only=f["open"] or f["overdue"])
        if f["overdue"]:
            qs = qs.filter(due_on__lt=timezone.localdate())
        if "me" in f:
            qs = qs.filter(me_id=f["me"])
        if "branch" in f:
            qs = qs.filter(branch_id=f["branch"])
        if "status" in f:
            qs = qs.filter(status=f["status"])
        return qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A role that reads no tasks is refused the list; its fetches by id are 404.
        _refuse_unless(request.user, VIEW_TASK)
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Any:
        return access.get_task_for_user(self.request.user, self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        # Only a branch head gives tasks (to their own branch's MEs): refused before the body is read.
        _refuse_unless(user, ASSIGN_TASK)
        body = TaskWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        task = services.task_assign(actor=user, **body.validated_data)
        task = access.get_task_for_user(user, task.pk)
        return Response(self.get_serializer(task).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        task = access.get_task_for_user(user, kwargs["pk"], action=UPDATE_TASK)
        body = TaskUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.task_update(
            actor=user,
            task=task,
            status=data.get("status", task.status),
            progress_note=data.get("progress_note", task.progress_note),
        )
        return Response(self.get_serializer(access.get_task_for_user(user, task.pk)).data)


# --- Evaluations --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("me", int, description=gettext_lazy("Id Marketing Executive.")),
            OpenApiParameter("branch", int, description=gettext_lazy("Id cabang.")),
            OpenApiParameter("period", str, description=PERIOD_HELP),
        ],
        summary=gettext_lazy("Evaluasi ME dalam cakupan"),
    ),
    create=extend_schema(
        request=EvaluationWriteSerializer,
        responses={
            201: EvaluationSerializer,
            200: OpenApiResponse(
                EvaluationSerializer, description=gettext_lazy("Evaluasi periode itu sudah ada: direvisi.")
            ),
            400: BAD_INPUT,
            403: REFUSED,
        },
        summary=gettext_lazy("Tulis evaluasi ME untuk satu periode (Pemimpin Cabang)"),
    ),
)
class EvaluationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The branch head's periodic ME evaluations; the levels above read them, an ME reads their own."""

    serializer_class = EvaluationSerializer
    pagination_class = Pagination
    queryset = MeEvaluation.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return MeEvaluation.objects.none()
        f = _filters(EvaluationFilterSerializer, self.request)
        qs = selectors.evaluations_for(self.request.user)
        if "me" in f:
            qs = qs.filter(me_id=f["me"])
        if "branch" in f:
            qs = qs.filter(branch_id=f["branch"])
        if "period" in f:
            qs = qs.filter(period_kind=f["period"].kind, period_start=f["period"].start)
        return qs.order_by("-period_start", "me_id", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        _refuse_unless(user, EVALUATE)
        body = EvaluationWriteSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        period: Period = data["period"]
        existed = MeEvaluation.objects.filter(
            me=data["me"], period_kind=period.kind, period_start=period.start
        ).exists()
        saved = services.evaluation_save(
            actor=user, me=data["me"], period=period, rating=data["rating"], notes=data["notes"]
        )
        saved = selectors.evaluations_for(user).get(pk=saved.pk)
        return Response(
            self.get_serializer(saved).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )
