"""Closings and where they came from: BtoC one-to-one and BtoB one-to-many
schemes, their channels, the channel registries (agents, fleet schemes, point
reward memberships, PMP facilities), ingestion batches and the daily summary
kept exact for roll-ups.

Every closing carries its branch, area and region ids (denormalised, kept by
the services and ``org.services.unit_move``); ``ClosingSummary`` holds one row
per day × branch × scheme × channel × product, updated in the same
transaction as every insert and correction (``sales/ingest.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from activities.models import OwnedByBranch
from core.models import TimeStampedModel
from core.products import Product
from org.models import OrgUnit


class Scheme(models.TextChoices):
    BTOC = "BTOC", _("BtoC one to one")
    BTOB = "BTOB", _("BtoB one to many")


class Channel(models.TextChoices):
    # BtoC: initiated by branch organs, closed at the branch.
    SALES_TEAM = "SALES_TEAM", _("Sales Team")
    EGC_KARYAWAN = "EGC_KARYAWAN", _("EGC Karyawan")
    DIGITAL = "DIGITAL", _("Pegadaian Digital Service")
    AGEN_PERSEORANGAN = "AGEN_PERSEORANGAN", _("Agen Perseorangan")
    BTOC_LAINNYA = "BTOC_LAINNYA", _("BtoC lainnya")
    # BtoB: initiated by the Marketing Executive, closed at the branch.
    AGEN_BADAN_USAHA = "AGEN_BADAN_USAHA", _("Agen badan usaha dan komunitas")
    FLEET = "FLEET", _("Fleet")
    POINT_REWARD = "POINT_REWARD", _("Club Point Reward")
    PMP = "PMP", _("PMP (Pinjaman Modal Produktif)")
    BTOB_LAINNYA = "BTOB_LAINNYA", _("BtoB lainnya")


CHANNELS_OF: dict[str, tuple[str, ...]] = {
    Scheme.BTOC: (
        Channel.SALES_TEAM,
        Channel.EGC_KARYAWAN,
        Channel.DIGITAL,
        Channel.AGEN_PERSEORANGAN,
        Channel.BTOC_LAINNYA,
    ),
    Scheme.BTOB: (
        Channel.AGEN_BADAN_USAHA,
        Channel.FLEET,
        Channel.POINT_REWARD,
        Channel.PMP,
        Channel.BTOB_LAINNYA,
    ),
}


class InitiatorKind(models.TextChoices):
    SALES = "SALES", _("Tim penjualan")
    EMPLOYEE = "EMPLOYEE", _("Karyawan (EGC)")
    DIGITAL = "DIGITAL", _("Kanal digital")
    AGENT = "AGENT", _("Agen perseorangan")
    ME = "ME", _("Marketing Executive")


class Source(models.TextChoices):
    """Core systems closings come from; an external id is unique within its source."""

    CORE_GADAI = "CORE_GADAI", _("Sistem inti gadai")
    CORE_EMAS = "CORE_EMAS", _("Sistem inti emas")
    CORE_PEMBIAYAAN = "CORE_PEMBIAYAAN", _("Sistem inti pembiayaan")
    DIGITAL = "DIGITAL", _("Pegadaian Digital Service")
    MANUAL = "MANUAL", _("Unggahan cabang")


# --- Channel registries -------------------------------------------------------------------


class IndividualAgent(OwnedByBranch):
    """Agen Perseorangan: an individual agent, tracking an institution."""

    code = models.CharField(_("kode agen"), max_length=32, unique=True)
    name = models.CharField(_("nama"), max_length=120)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_profiles"
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("lembaga yang dipantau"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="individual_agents",
    )
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("agen perseorangan")
        verbose_name_plural = _("agen perseorangan")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CorporateAgent(OwnedByBranch):
    """Agen Badan Usaha/Komunitas, linked to an institution."""

    code = models.CharField(_("kode agen"), max_length=32, unique=True)
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("lembaga"), on_delete=models.PROTECT, related_name="corporate_agents"
    )
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("agen badan usaha/komunitas")
        verbose_name_plural = _("agen badan usaha/komunitas")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class FleetScheme(OwnedByBranch):
    operator = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("lembaga operator armada"),
        on_delete=models.PROTECT,
        related_name="fleet_schemes",
    )
    name = models.CharField(_("nama skema"), max_length=120)
    fleet_size = models.PositiveIntegerField(_("jumlah armada"), default=0)
    vehicles_financed = models.PositiveIntegerField(_("kendaraan dibiayai"), default=0)
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("skema fleet")
        verbose_name_plural = _("skema fleet")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vehicles_financed__lte=models.F("fleet_size")), name="sales_fleet_financed_le_size"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointRewardMembership(OwnedByBranch):
    institution = models.OneToOneField(
        "institutions.Institution",
        verbose_name=_("lembaga"),
        on_delete=models.PROTECT,
        related_name="point_reward",
    )
    member_code = models.CharField(_("nomor keanggotaan"), max_length=32, unique=True)
    points_earned = models.PositiveBigIntegerField(_("poin diperoleh"), default=0)
    points_redeemed = models.PositiveBigIntegerField(_("poin ditukar"), default=0)
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("keanggotaan Club Point Reward")
        verbose_name_plural = _("keanggotaan Club Point Reward")
        ordering = ["member_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_redeemed__lte=models.F("points_earned")), name="sales_points_redeemed_le_earned"
            ),
        ]

    def __str__(self) -> str:
        return self.member_code


class PmpFacility(OwnedByBranch):
    """PMP (Pinjaman Modal Produktif): a productive-capital facility to an institution."""

    borrower = models.ForeignKey(
        "institutions.Institution", verbose_name=_("lembaga peminjam"), on_delete=models.PROTECT, related_name="pmp"
    )
    reference = models.CharField(_("nomor fasilitas"), max_length=32, unique=True)
    ceiling = models.DecimalField(_("plafon (Rp)"), max_digits=18, decimal_places=0)
    receivables_basis = models.CharField(_("dasar piutang"), max_length=255, blank=True, default="")
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("fasilitas PMP")
        verbose_name_plural = _("fasilitas PMP")
        ordering = ["reference"]
        constraints = [models.CheckConstraint(condition=Q(ceiling__gt=0), name="sales_pmp_ceiling_positive")]

    def __str__(self) -> str:
        return self.reference


# --- Closings -------------------------------------------------------------------------------


class CrossBranchRule(models.TextChoices):
    """Documented reasons a closing may name an institution of another branch."""

    NASIONAL = "NASIONAL", _("Lembaga nasional: anggotanya bertransaksi di cabang mana pun")
    DIGITAL = "DIGITAL", _("Kanal digital: nasabah dilayani cabang terdekat")


class IngestBatch(TimeStampedModel):
    """One batch of closings from a core system (API) or a branch upload."""

    source = models.CharField(max_length=20, choices=Source.choices)
    via = models.CharField(max_length=8)  # "api" or "upload"
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    original_name = models.CharField(max_length=255, blank=True, default="")
    total_rows = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    corrected = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)
    digest = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("batch closing")
        verbose_name_plural = _("batch closing")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.created_at:%Y-%m-%d %H:%M}"


class Closing(OwnedByBranch):
    """One sale, attributed: scheme and channel, the institution it came from,
    who initiated it, the lead it came from."""

    source = models.CharField(_("sumber"), max_length=20, choices=Source.choices)
    external_id = models.CharField(_("id transaksi"), max_length=64)
    closed_on = models.DateField(_("tanggal closing"))
    upc = models.ForeignKey(
        OrgUnit, verbose_name=_("UPC"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.CharField(_("produk"), max_length=16, choices=Product.choices)
    amount = models.DecimalField(_("nilai (Rp)"), max_digits=18, decimal_places=0)
    grams = models.DecimalField(_("gram"), max_digits=12, decimal_places=4, null=True, blank=True)
    new_customer = models.BooleanField(_("nasabah baru"), default=False)
    customer_ref = models.CharField(_("referensi nasabah (tersamar)"), max_length=32, blank=True, default="")
    scheme = models.CharField(_("skema"), max_length=4, choices=Scheme.choices)
    channel = models.CharField(_("kanal"), max_length=20, choices=Channel.choices)
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("lembaga"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closings",
    )
    cross_branch_rule = models.CharField(
        _("aturan lintas cabang"), max_length=12, choices=CrossBranchRule.choices, blank=True, default=""
    )
    initiator_kind = models.CharField(_("inisiator"), max_length=10, choices=InitiatorKind.choices)
    initiator_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="closings_initiated"
    )
    individual_agent = models.ForeignKey(
        IndividualAgent, null=True, blank=True, on_delete=models.PROTECT, related_name="closings"
    )
    corporate_agent = models.ForeignKey(
        CorporateAgent, null=True, blank=True, on_delete=models.PROTECT, related_name="closings"
    )
    lead = models.ForeignKey(
        "activities.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="closings"
    )
    revision = models.PositiveIntegerField(default=1)
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="closings")

    class Meta:
        verbose_name = _("closing")
        verbose_name_plural = _("closing")
        ordering = ["-closed_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="sales_closing_source_external"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_closing_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["branch", "closed_on"], name="sales_closing_branch_day"),
            models.Index(fields=["area", "closed_on"], name="sales_closing_area_day"),
            models.Index(fields=["region", "closed_on"], name="sales_closing_region_day"),
            models.Index(fields=["institution", "closed_on"], name="sales_closing_inst_day"),
            models.Index(fields=["closed_on"], name="sales_closing_day"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class ClosingRevision(models.Model):
    """A correction of a closing (same source and id, changed values): what it was."""

    closing = models.ForeignKey(Closing, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    before = models.JSONField()
    after = models.JSONField()
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["closing_id", "revision"]
        constraints = [models.UniqueConstraint(fields=["closing", "revision"], name="sales_revision_once")]

    def __str__(self) -> str:
        return f"{self.closing_id} r{self.revision}"


class ClosingSummary(models.Model):
    """Closings per day × branch × scheme × channel × product, kept exact by the
    ingestion in the same transaction (increments), rebuilt and checked by
    ``manage.py closings_summary --rebuild/--check``."""

    day = models.DateField()
    branch = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    scheme = models.CharField(max_length=4, choices=Scheme.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    product = models.CharField(max_length=16, choices=Product.choices)
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=0, default=0)
    grams = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    new_customers = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "branch", "scheme", "channel", "product"], name="sales_summary_key"),
        ]
        indexes = [
            models.Index(fields=["branch", "day"], name="sales_summary_branch_day"),
            models.Index(fields=["area", "day"], name="sales_summary_area_day"),
            models.Index(fields=["region", "day"], name="sales_summary_region_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.branch_id} {self.scheme}/{self.channel}/{self.product}"
