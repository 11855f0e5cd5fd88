"""Shapes of the performance API (``performance/api.py``): responses, request
bodies and query filters. Ids in a body are resolved only inside the caller's
scope (``org.access``), so an id outside it answers the same 400 as one that
does not exist."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from activities.api.serializers import InstitutionRefSerializer
from core.dates import in_range
from institutions.api import MAX_ID, BranchRefSerializer, CodeField, PersonRefSerializer
from org.access import visible_institutions, visible_mes, visible_units
from org.models import OrgUnit, Placement, UnitKind
from performance.kpis import KPI_BY_CODE, KPI_CHOICES
from performance.models import MeEvaluation, Target, Task, TaskStatus
from performance.periods import Period, parse_period

PERIOD_HELP = gettext_lazy("Periode: 2026-11 (bulan), 2026-Q4 (triwulan) atau 2026 (tahun).")


# --- Fields -------------------------------------------------------------------------------------


class PeriodField(serializers.CharField):
    """A period code parsed to a ``Period``; anything else is a clear 400."""

    default_error_messages = {"period": gettext_lazy("Periode tidak sah; tulis 2026-11, 2026-Q4 atau 2026.")}

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("help_text", PERIOD_HELP)
        super().__init__(**kw)

    def to_internal_value(self, data: Any) -> Period:  # type: ignore[override]
        period = parse_period(super().to_internal_value(data))
        if period is None:
            self.fail("period")
        assert period is not None
        return period

    def to_representation(self, value: Any) -> str:
        return value.code if isinstance(value, Period) else str(value)


def kpi_field(**kw: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=KPI_CHOICES, error_messages={"invalid_choice": gettext_lazy("KPI tidak dikenal.")}, **kw
    )


def id_field(help_text: Any, **kw: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=help_text, **kw)


class UnitRefSerializer(BranchRefSerializer):
    kind = serializers.CharField()


class MeRefSerializer(PersonRefSerializer):
    username = serializers.CharField()


class ScopedInput(serializers.Serializer):
    """Resolves ids of a body among what the caller sees."""

    def _user(self) -> Any:
        return self.context["request"].user

    def _me(self, value: int | None) -> Any:
        if value is None:
            return None
        me = visible_mes(self._user()).filter(pk=value).first()
        if me is None:
            raise ValidationError(_("Marketing Executive tidak ditemukan."))
        return me

    def _unit(self, value: int | None, *, kind: str | None = None, message: str = "") -> OrgUnit | None:
        if value is None:
            return None
        qs = visible_units(self._user()).select_related("parent")
        if kind is not None:
            qs = qs.filter(kind=kind)
        unit = qs.filter(pk=value).first()
        if unit is None:
            raise ValidationError(message or _("Unit tidak ditemukan."))
        return unit


# --- Targets ------------------------------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    serializer_choice_field = CodeField

    kpi_label = serializers.CharField(source="get_kpi_display", read_only=True)
    period = serializers.SerializerMethodField()
    unit = UnitRefSerializer(read_only=True)
    me = MeRefSerializer(read_only=True, allow_null=True)
    value = serializers.DecimalField(max_digits=24, decimal_places=2, read_only=True)

    class Meta:
        model = Target
        fields = [
            "id",
            "kpi",
            "kpi_label",
            "period",
            "period_kind",
            "period_start",
            "unit",
            "me",
            "value",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_period(self, t: Target) -> str:
        return t.period.code


class TargetFilterSerializer(serializers.Serializer):
    period = PeriodField(required=False)
    kpi = kpi_field(required=False)
    unit = id_field(gettext_lazy("Id unit (target unit dan target ME di cabang itu)."), required=False)
    me = id_field(gettext_lazy("Id Marketing Executive."), required=False)


class TargetRowInput(serializers.Serializer):
    unit = id_field(gettext_lazy("Id unit; untuk target ME: cabang ME itu."))
    me = id_field(gettext_lazy("Id Marketing Executive (kosong: target unit)."), required=False, allow_null=True)
    value = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        help_text=gettext_lazy("Angka (teks atau bilangan JSON); null atau kosong menghapus target."),
    )


class TargetWriteSerializer(ScopedInput):
    kpi = kpi_field()
    period = PeriodField()
    rows = TargetRowInput(many=True, allow_empty=False)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(rows) > 5000:
            raise ValidationError(_("Paling banyak %(n)s baris.") % {"n": 5000})
        units = {
            u.pk: u
            for u in visible_units(self._user()).select_related("parent").filter(pk__in={r["unit"] for r in rows})
        }
        me_ids = {r["me"] for r in rows if r.get("me")}
        mes = {m.pk: m for m in visible_mes(self._user()).filter(pk__in=me_ids)} if me_ids else {}
        out = []
        for row in rows:
            unit = units.get(row["unit"])
            if unit is None:
                raise ValidationError(_("Unit %(id)s tidak ditemukan.") % {"id": row["unit"]})
            me = None
            if row.get("me"):
                me = mes.get(row["me"])
                if me is None:
                    raise ValidationError(_("Marketing Executive %(id)s tidak ditemukan.") % {"id": row["me"]})
            out.append({"unit": unit, "me": me, "value": row.get("value")})
        return out


# --- Achievement --------------------------------------------------------------------------------


class FigureSerializer(serializers.Serializer):
    """One KPI's figure (decimals as text; a ratio KPI in percent)."""

    kpi = serializers.CharField()
    value = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("Nilai yang ditampilkan (persen untuk rasio).")
    )
    numerator = serializers.CharField(allow_null=True)
    base = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Penyebut KPI rasio."))
    target = serializers.CharField(allow_null=True)
    of_target = serializers.CharField(allow_null=True, help_text=gettext_lazy("Persen dari target."))
    last_year = serializers.CharField(allow_null=True)
    growth = serializers.CharField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    peers = serializers.IntegerField()


class AchievementChildSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(required=False, help_text=gettext_lazy("Kode unit (anak berupa unit)."))
    username = serializers.CharField(required=False, help_text=gettext_lazy("Nama pengguna (anak berupa ME)."))
    name = serializers.CharField()
    figures = serializers.DictField(child=FigureSerializer())


class AchievementSerializer(serializers.Serializer):
    unit = UnitRefSerializer(allow_null=True)
    me = MeRefSerializer(allow_null=True)
    period = serializers.CharField()
    as_of = serializers.DateField()
    kpis = serializers.ListField(child=serializers.CharField())
    own = serializers.DictField(child=FigureSerializer())
    child_kind = serializers.CharField(allow_null=True, help_text=gettext_lazy("WILAYAH, AREA, CABANG atau ME."))
    children = AchievementChildSerializer(many=True, allow_null=True)
    unattributed = serializers.DictField(
        child=FigureSerializer(), allow_null=True, help_text=gettext_lazy("Cabang: yang tidak diinisiasi ME.")
    )


class AchievementFilterSerializer(serializers.Serializer):
    unit = id_field(gettext_lazy("Id unit (Pusat, Wilayah, Area, Cabang)."), required=False)
    me = id_field(gettext_lazy("Id Marketing Executive."), required=False)
    period = PeriodField(required=False)
    kpi = serializers.CharField(required=False, help_text=gettext_lazy("Kode KPI dipisah koma; bawaan semua."))
    as_of = serializers.DateField(
        required=False, error_messages={"invalid": gettext_lazy("Tanggal acuan tidak sah; tulis YYYY-MM-DD.")}
    )
    children = serializers.BooleanField(required=False, default=False)

    def validate_kpi(self, value: str) -> list[str]:
        codes = [c.strip() for c in value.split(",") if c.strip()]
        unknown = [c for c in codes if c not in KPI_BY_CODE]
        if unknown:
            raise ValidationError(_("KPI tidak dikenal: %(codes)s.") % {"codes": ", ".join(unknown)})
        return list(dict.fromkeys(codes))

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("unit" in data) == ("me" in data):
            raise ValidationError({"detail": _("Pilih satu: unit atau me.")})
        period, as_of = data.get("period"), data.get("as_of")
        if as_of is not None and not in_range(as_of):
            raise ValidationError({"as_of": [_("Tanggal acuan di luar rentang 2000–2100.")]})
        if period is None and as_of is not None:
            # Without a period, the period is the month of the as-of date.
            period = data["period"] = Period.of(as_of)
        if period is not None and as_of is not None and not period.contains(as_of):
            raise ValidationError({"as_of": [_("Tanggal acuan harus di dalam periode.")]})
        return data


# --- Placements ---------------------------------------------------------------------------------


class PlacementSerializer(serializers.ModelSerializer):
    me = MeRefSerializer(source="user", read_only=True)
    branch = BranchRefSerializer(read_only=True)
    area_id = serializers.IntegerField(source="branch.parent_id", read_only=True, allow_null=True)
    decided_by = PersonRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Placement
        fields = ["id", "me", "branch", "area_id", "valid_from", "valid_to", "decided_by", "reason"]
        read_only_fields = fields


class PlacementFilterSerializer(serializers.Serializer):
    area = id_field(gettext_lazy("Id Kantor Area."), required=False)
    current = serializers.BooleanField(required=False, default=True)


class AreaParamSerializer(serializers.Serializer):
    area = id_field(gettext_lazy("Id Kantor Area."))


class BranchLineSerializer(serializers.Serializer):
    branch = BranchRefSerializer()
    score = serializers.IntegerField()
    institutions = serializers.IntegerField()
    current = serializers.IntegerField()
    recommended = serializers.IntegerField()
    difference = serializers.IntegerField()
    load_now = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    load_after = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    mes = MeRefSerializer(many=True)


class MoveSerializer(serializers.Serializer):
    me = MeRefSerializer()
    source: Any = BranchRefSerializer()  # annotated: "source" is also a Field attribute
    target = BranchRefSerializer()
    me_institutions = serializers.IntegerField()


class RecommendationSerializer(serializers.Serializer):
    area = UnitRefSerializer()
    method = serializers.CharField()
    weight_basis = serializers.CharField(help_text=gettext_lazy("score, count atau equal."))
    total_mes = serializers.IntegerField()
    lines = BranchLineSerializer(many=True)
    moves = MoveSerializer(many=True)


class MoveInput(serializers.Serializer):
    me = id_field(gettext_lazy("Id ME yang dipindahkan."))
    branch = id_field(gettext_lazy("Id cabang tujuan."))


class PlacementApplySerializer(ScopedInput):
    area = id_field(gettext_lazy("Id Kantor Area."))
    moves = MoveInput(many=True, allow_empty=False)
    valid_from = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("Wajib bila Wilayah/Pusat yang menempatkan."),
    )

    def validate_area(self, value: int) -> OrgUnit:
        area = self._unit(value, kind=UnitKind.AREA, message=_("Kantor Area tidak ditemukan."))
        assert area is not None
        return area

    def validate_moves(self, moves: list[dict[str, Any]]) -> list[tuple[Any, OrgUnit]]:
        if len(moves) > 500:
            raise ValidationError(_("Paling banyak %(n)s perpindahan.") % {"n": 500})
        user = self._user()
        mes = {m.pk: m for m in visible_mes(user).filter(pk__in={m["me"] for m in moves})}
        branches = {
            b.pk: b for b in visible_units(user).filter(kind=UnitKind.CABANG, pk__in={m["branch"] for m in moves})
        }
        out = []
        for move in moves:
            me, branch = mes.get(move["me"]), branches.get(move["branch"])
            if me is None:
                raise ValidationError(_("Marketing Executive %(id)s tidak ditemukan.") % {"id": move["me"]})
            if branch is None:
                raise ValidationError(_("Cabang %(id)s tidak ditemukan.") % {"id": move["branch"]})
            out.append((me, branch))
        return out


class PlacementDecisionSerializer(serializers.Serializer):
    decision = serializers.IntegerField()
    area = UnitRefSerializer()
    valid_from = serializers.DateField()
    method = serializers.CharField()
    moves = serializers.ListField(child=serializers.DictField(), help_text=gettext_lazy("[{me, from, to, placement}]"))


# --- Tasks --------------------------------------------------------------------------------------


class TaskSerializer(serializers.ModelSerializer):
    serializer_choice_field = CodeField

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    kpi_label = serializers.CharField(source="get_kpi_display", read_only=True)
    me = MeRefSerializer(read_only=True)
    branch = BranchRefSerializer(read_only=True)
    institution = InstitutionRefSerializer(read_only=True, allow_null=True)
    assigned_by = PersonRefSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "me",
            "branch",
            "area_id",
            "region_id",
            "institution",
            "objective",
            "kpi",
            "kpi_label",
            "due_on",
            "status",
            "status_label",
            "is_overdue",
            "progress_note",
            "done_on",
            "assigned_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, task: Task) -> bool:
        return task.is_overdue(self.context["today"])


class TaskFilterSerializer(serializers.Serializer):
    me = id_field(gettext_lazy("Id Marketing Executive."), required=False)
    branch = id_field(gettext_lazy("Id cabang."), required=False)
    status = serializers.ChoiceField(
        choices=TaskStatus.choices,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Status tidak dikenal.")},
    )
    open = serializers.BooleanField(required=False, default=False)
    overdue = serializers.BooleanField(required=False, default=False)


class TaskWriteSerializer(ScopedInput):
    me = id_field(gettext_lazy("Id ME cabang Anda."))
    objective = serializers.CharField(max_length=255)
    due_on = serializers.DateField()
    institution = id_field(gettext_lazy("Id lembaga cabang ini (opsional)."), required=False, allow_null=True)
    kpi = kpi_field(required=False, allow_blank=True, default="")

    def validate_me(self, value: int) -> Any:
        return self._me(value)

    def validate_institution(self, value: int | None) -> Any:
        if value is None:
            return None
        inst = visible_institutions(self._user()).filter(pk=value).first()
        if inst is None:
            raise ValidationError(_("Lembaga tidak ditemukan."))
        return inst


class TaskUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=TaskStatus.choices,
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Status tidak dikenal.")},
    )
    progress_note = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data:
            raise ValidationError({"detail": _("Tidak ada yang diubah.")})
        return data


# --- Evaluations --------------------------------------------------------------------------------


class EvaluationSerializer(serializers.ModelSerializer):
    serializer_choice_field = CodeField

    me = MeRefSerializer(read_only=True)
    branch = BranchRefSerializer(read_only=True)
    period = serializers.SerializerMethodField()
    rating_label = serializers.CharField(source="get_rating_display", read_only=True)
    evaluated_by = PersonRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MeEvaluation
        fields = [
            "id",
            "me",
            "branch",
            "period",
            "period_kind",
            "period_start",
            "rating",
            "rating_label",
            "notes",
            "evaluated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_period(self, e: MeEvaluation) -> str:
        return e.period.code


class EvaluationFilterSerializer(serializers.Serializer):
    me = id_field(gettext_lazy("Id Marketing Executive."), required=False)
    branch = id_field(gettext_lazy("Id cabang."), required=False)
    period = PeriodField(required=False)


class EvaluationWriteSerializer(ScopedInput):
    me = id_field(gettext_lazy("Id ME cabang Anda."))
    period = PeriodField()
    rating = serializers.IntegerField(
        min_value=1,
        max_value=5,
        error_messages={
            "min_value": gettext_lazy("Pilih penilaian 1 sampai 5."),
            "max_value": gettext_lazy("Pilih penilaian 1 sampai 5."),
            "invalid": gettext_lazy("Pilih penilaian 1 sampai 5."),
        },
    )
    notes = serializers.CharField(max_length=4000)

    def validate_me(self, value: int) -> Any:
        return self._me(value)
