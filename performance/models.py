"""Targets, monthly KPI facts, ME tasks and evaluations, placement decisions.

KPIs themselves are defined once in code (``performance/kpis.py``); what can
change per KPI (whether children's targets must add up to the parent's) is a
``KpiSetting`` row. Achievement is read from ``KpiFact`` (month × branch, with
the area and region ids beside it, split by scheme and channel where the KPI
has that split) and ``MeFact`` (month × ME): a roll-up to any level is one
GROUP BY. Facts are recomputed from the source tables for the (branch, month)
pairs a write marked in ``KpiDirty`` (``performance/facts.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import OwnedByBranch
from core.models import TimeStampedModel
from org.models import OrgUnit
from performance.kpis import KPI_CHOICES
from performance.periods import Period, PeriodKind


class SumCheck(models.TextChoices):
    WARN = "WARN", _("Peringatkan")
    REFUSE = "REFUSE", _("Tolak")


class KpiSetting(TimeStampedModel):
    """What Pusat may change about a KPI: how the sum of children's targets is checked."""

    kpi = models.CharField(_("KPI"), max_length=32, choices=KPI_CHOICES, unique=True)
    sum_check = models.CharField(_("cek jumlah target anak"), max_length=8, choices=SumCheck.choices)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("pengaturan KPI")
        verbose_name_plural = _("pengaturan KPI")

    def __str__(self) -> str:
        return f"{self.kpi}: {self.sum_check}"


class Target(TimeStampedModel):
    """A unit's (or an ME's) target for one KPI in one period. An ME's target
    carries the ME's branch as ``unit`` (the scope it is read in)."""

    kpi = models.CharField(_("KPI"), max_length=32, choices=KPI_CHOICES)
    period_kind = models.CharField(_("jenis periode"), max_length=1, choices=PeriodKind.choices)
    period_start = models.DateField(_("awal periode"))
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="targets")
    me = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Marketing Executive"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    value = models.DecimalField(_("target"), max_digits=24, decimal_places=2)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("target")
        ordering = ["period_start", "kpi", "unit_id", "me_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "period_kind", "period_start", "unit"],
                condition=Q(me__isnull=True),
                name="perf_target_unit_once",
            ),
            models.UniqueConstraint(
                fields=["kpi", "period_kind", "period_start", "me"],
                condition=Q(me__isnull=False),
                name="perf_target_me_once",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="perf_target_not_negative"),
        ]
        indexes = [models.Index(fields=["period_kind", "period_start", "kpi"], name="perf_target_period")]

    def __str__(self) -> str:
        return f"{self.kpi} {self.period} {self.unit_id}/{self.me_id}: {self.value}"

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_kind)


class KpiFact(models.Model):
    """One KPI's value for one branch in one month (scheme and channel are
    blank for KPIs without that split). ``base`` is the denominator of a ratio KPI."""

    month = models.DateField()
    branch = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=32, choices=KPI_CHOICES)
    scheme = models.CharField(max_length=4, blank=True, default="")
    channel = models.CharField(max_length=20, blank=True, default="")
    value = models.DecimalField(max_digits=28, decimal_places=0, default=0)
    base = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["branch", "month", "kpi", "scheme", "channel"], name="perf_fact_key"),
        ]
        indexes = [
            models.Index(fields=["month", "region"], name="perf_fact_month_region"),
            models.Index(fields=["area", "kpi", "month"], name="perf_fact_area_kpi_month"),
            models.Index(fields=["region", "kpi", "month"], name="perf_fact_region_kpi_month"),
            # The national mix and leaderboard read one KPI's rows of a period, index-only (PostgreSQL).
            models.Index(
                fields=["kpi", "month"], include=["branch", "scheme", "channel", "value"], name="perf_fact_kpi_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.branch_id} {self.kpi} {self.scheme}/{self.channel}: {self.value}"


class BranchDayFact(models.Model):
    """One KPI's value for one branch on one day (all schemes and channels
    together): what an as-of date that cuts a month in two reads, for a
    Wilayah, an Area or a branch (the same period last year, most of all)."""

    day = models.DateField()
    branch = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=32, choices=KPI_CHOICES)
    value = models.DecimalField(max_digits=28, decimal_places=0, default=0)
    base = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "day", "kpi"], name="perf_branchday_key")]
        indexes = [
            models.Index(fields=["area", "day"], name="perf_branchday_area"),
            models.Index(fields=["region", "day"], name="perf_branchday_region"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.branch_id} {self.kpi}: {self.value}"


class RegionDayFact(models.Model):
    """One KPI's value for one region on one day (all schemes and channels
    together): what the Pusat dashboard reads, so that any period and any as-of
    date sums a few thousand rows. Recomputed with the branch facts of the region."""

    day = models.DateField()
    region = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=32, choices=KPI_CHOICES)
    value = models.DecimalField(max_digits=28, decimal_places=0, default=0)
    base = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "day", "kpi"], name="perf_regionday_key"),
        ]
        indexes = [models.Index(fields=["day", "kpi"], name="perf_regionday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.region_id} {self.kpi}: {self.value}"


class RegionMonthFact(models.Model):
    """The month totals of ``RegionDayFact``: a Pusat year (or a trend) sums a
    few hundred rows."""

    month = models.DateField()
    region = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=32, choices=KPI_CHOICES)
    value = models.DecimalField(max_digits=28, decimal_places=0, default=0)
    base = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region", "month", "kpi"], name="perf_regionmonth_key")]
        indexes = [models.Index(fields=["month", "kpi"], name="perf_regionmonth_month")]

    def __str__(self) -> str:
        return f"{self.month} {self.region_id} {self.kpi}: {self.value}"


class MeFact(models.Model):
    """One KPI's value for one ME (in the branch that owned the records) in one month."""

    month = models.DateField()
    branch = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    me = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=32, choices=KPI_CHOICES)
    value = models.DecimalField(max_digits=28, decimal_places=0, default=0)
    base = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "month", "me", "kpi"], name="perf_mefact_key")]
        indexes = [models.Index(fields=["me", "month"], name="perf_mefact_me_month")]

    def __str__(self) -> str:
        return f"{self.month} {self.me_id}@{self.branch_id} {self.kpi}: {self.value}"


class KpiDirty(models.Model):
    """A (branch, month) whose facts must be recomputed before they are read."""

    branch = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["branch", "month"], name="perf_dirty_once")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.month}"


class TaskStatus(models.TextChoices):
    OPEN = "OPEN", _("Baru")
    IN_PROGRESS = "IN_PROGRESS", _("Dikerjakan")
    DONE = "DONE", _("Selesai")
    CANCELLED = "CANCELLED", _("Dibatalkan")


OPEN_TASK_STATUSES = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})


class Task(OwnedByBranch):
    """A task from the branch head to one of the branch's Marketing Executives (pembagian tugas)."""

    me = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Marketing Executive"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("lembaga"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    objective = models.CharField(_("tujuan"), max_length=255)
    kpi = models.CharField(_("KPI yang didukung"), max_length=32, choices=KPI_CHOICES, blank=True, default="")
    due_on = models.DateField(_("tenggat"))
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    progress_note = models.CharField(_("catatan perkembangan"), max_length=500, blank=True, default="")
    done_on = models.DateField(_("tanggal selesai"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("tugas ME")
        verbose_name_plural = _("tugas ME")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["me", "status", "due_on"], name="perf_task_me_due"),
            models.Index(fields=["branch", "status", "due_on"], name="perf_task_branch_due"),
        ]

    def __str__(self) -> str:
        return self.objective

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES

    def is_overdue(self, today: object) -> bool:
        return self.is_open and self.due_on < today  # type: ignore[operator]


class Rating(models.IntegerChoices):
    R1 = 1, _("1 — Kurang sekali")
    R2 = 2, _("2 — Kurang")
    R3 = 3, _("3 — Cukup")
    R4 = 4, _("4 — Baik")
    R5 = 5, _("5 — Sangat baik")


class MeEvaluation(OwnedByBranch):
    """The branch head's periodic evaluation of an ME (rating and notes); the DBA reads it."""

    me = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evaluations")
    period_kind = models.CharField(_("jenis periode"), max_length=1, choices=PeriodKind.choices)
    period_start = models.DateField(_("awal periode"))
    rating = models.PositiveSmallIntegerField(_("penilaian"), choices=Rating.choices)
    notes = models.TextField(_("catatan"), max_length=4000)
    evaluated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("evaluasi ME")
        verbose_name_plural = _("evaluasi ME")
        ordering = ["-period_start", "me_id"]
        constraints = [
            models.UniqueConstraint(fields=["me", "period_kind", "period_start"], name="perf_eval_once"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="perf_eval_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.me_id} {self.period_kind}{self.period_start}: {self.rating}"

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_kind)


class PlacementDecision(TimeStampedModel):
    """One audited decision applying (part of) a placement recommendation for an
    area: the moves it made, the method and the figures it was based on."""

    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    valid_from = models.DateField(_("berlaku mulai"))
    reason = models.CharField(_("alasan"), max_length=255, blank=True, default="")
    method = models.CharField(max_length=64)
    basis = models.JSONField(default=dict)  # per branch: score, institutions, current, recommended
    moves = models.JSONField(default=list)  # [{me, from, to, placement}]

    class Meta:
        verbose_name = _("keputusan penempatan ME")
        verbose_name_plural = _("keputusan penempatan ME")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.area_id} {self.valid_from} ({len(self.moves)})"

    @property
    def unit(self) -> OrgUnit:
        return self.area
