"""The institution registry (potensi kelembagaan), its contacts and imports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from org.models import OrgUnit


class InstitutionType(models.TextChoices):
    """DESIGN.md §3."""

    BUMN_BUMD = "BUMN_BUMD", _("BUMN/BUMD")
    INSTANSI = "INSTANSI", _("Instansi pemerintah (ASN)")
    TNI_POLRI = "TNI_POLRI", _("TNI/Polri")
    SEKOLAH = "SEKOLAH", _("Sekolah")
    PERGURUAN_TINGGI = "PERGURUAN_TINGGI", _("Perguruan tinggi")
    PESANTREN = "PESANTREN", _("Pesantren")
    KOPERASI = "KOPERASI", _("Koperasi")
    KOMUNITAS = "KOMUNITAS", _("Komunitas")
    ASOSIASI = "ASOSIASI", _("Asosiasi")
    BUMDES = "BUMDES", _("BUMDes")
    SWASTA = "SWASTA", _("Perusahaan swasta")
    ARMADA = "ARMADA", _("Pengelola armada")


class Sector(models.TextChoices):
    PEMERINTAHAN = "PEMERINTAHAN", _("Pemerintahan")
    PERTAHANAN = "PERTAHANAN", _("Pertahanan dan keamanan")
    PENDIDIKAN = "PENDIDIKAN", _("Pendidikan")
    KESEHATAN = "KESEHATAN", _("Kesehatan")
    KEUANGAN = "KEUANGAN", _("Jasa keuangan")
    ENERGI = "ENERGI", _("Energi dan pertambangan")
    INDUSTRI = "INDUSTRI", _("Industri pengolahan")
    PERDAGANGAN = "PERDAGANGAN", _("Perdagangan")
    TRANSPORTASI = "TRANSPORTASI", _("Transportasi dan logistik")
    PERTANIAN = "PERTANIAN", _("Pertanian dan perikanan")
    KONSTRUKSI = "KONSTRUKSI", _("Konstruksi dan properti")
    TELEKOMUNIKASI = "TELEKOMUNIKASI", _("Telekomunikasi")
    SOSIAL = "SOSIAL", _("Sosial dan keagamaan")
    LAINNYA = "LAINNYA", _("Lainnya")


class InstitutionStatus(models.TextChoices):
    AKTIF = "AKTIF", _("Aktif")
    TIDAK_AKTIF = "TIDAK_AKTIF", _("Tidak aktif")
    DIGABUNG = "DIGABUNG", _("Digabung ke lembaga lain")


class Stage(models.TextChoices):
    """Where the engagement with an institution stands (the ME's pipeline)."""

    IDENTIFIKASI = "IDENTIFIKASI", _("Identifikasi")
    KOMUNIKASI_AWAL = "KOMUNIKASI_AWAL", _("Komunikasi awal")
    AUDIENSI = "AUDIENSI", _("Audiensi")
    KERJA_SAMA = "KERJA_SAMA", _("Kerja sama")
    EKSEKUSI = "EKSEKUSI", _("Eksekusi")
    MAINTENANCE = "MAINTENANCE", _("Maintenance")
    TIDAK_BERMINAT = "TIDAK_BERMINAT", _("Tidak berminat")
    DORMAN = "DORMAN", _("Dorman")


class InstitutionQuerySet(models.QuerySet["Institution"]):
    def live(self) -> InstitutionQuerySet:
        """Every institution except those merged into another."""
        return self.exclude(status=InstitutionStatus.DIGABUNG)


class Institution(TimeStampedModel):
    """An institution whose members or employees are potential customers.

    Owned by its coverage branch; ``area`` and ``region`` are the branch's
    ancestors, kept by the services so roll-ups are one GROUP BY.
    ``name_key`` is the normalised name used for duplicate detection and search.
    """

    name = models.CharField(_("nama lembaga"), max_length=200)
    name_key = models.CharField(max_length=200, editable=False, db_index=True)
    type = models.CharField(_("jenis lembaga"), max_length=20, choices=InstitutionType.choices)
    sector = models.CharField(_("sektor"), max_length=20, choices=Sector.choices, default=Sector.LAINNYA)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("lembaga induk"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    address = models.CharField(_("alamat"), max_length=255, blank=True, default="")
    province_code = models.CharField(_("provinsi"), max_length=2)
    regency_code = models.CharField(_("kabupaten/kota"), max_length=5)
    latitude = models.DecimalField(_("lintang"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("bujur"), max_digits=9, decimal_places=6, null=True, blank=True)
    npwp = models.CharField(_("NPWP"), max_length=16, null=True, blank=True, unique=True)
    member_count = models.PositiveIntegerField(_("jumlah pegawai/anggota"), default=0)
    potential_value = models.DecimalField(_("estimasi nilai potensi (Rp)"), max_digits=18, decimal_places=0, default=0)
    potential_basis = models.CharField(_("dasar estimasi"), max_length=255, blank=True, default="")
    branch = models.ForeignKey(
        OrgUnit, verbose_name=_("cabang pengelola"), on_delete=models.PROTECT, related_name="institutions"
    )
    area = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    region = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", editable=False)
    me = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Marketing Executive"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="institutions",
    )
    status = models.CharField(_("status"), max_length=12, choices=InstitutionStatus.choices, default="AKTIF")
    notes = models.TextField(_("catatan"), blank=True, default="")
    score = models.PositiveSmallIntegerField(_("skor potensi"), default=0, editable=False)
    # The engagement pipeline (institutions/pipeline.py moves it, with evidence).
    stage = models.CharField(
        _("tahap"),
        max_length=16,
        choices=Stage.choices,
        default=Stage.IDENTIFIKASI,
        db_default=Stage.IDENTIFIKASI,
        editable=False,
    )
    stage_since = models.DateTimeField(_("di tahap ini sejak"), null=True, blank=True, editable=False)
    distance_km = models.DecimalField(
        _("jarak ke cabang (km)"), max_digits=7, decimal_places=1, null=True, blank=True, editable=False
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="institutions", editable=False
    )

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        verbose_name = _("lembaga")
        verbose_name_plural = _("lembaga")
        ordering = ["name", "id"]
        # Lists show live rows (not merged away) by score within a scope or a
        # filter: partial indexes on exactly that, so page 1 and deep pages read
        # the index in order instead of sorting (measured in docs/PERFORMANCE.md).
        indexes = [
            models.Index(fields=["-score", "id"], name="inst_live_score", condition=~Q(status="DIGABUNG")),
            # The pipeline funnel of a dashboard: live institutions per stage (index-only).
            models.Index(
                fields=["stage", "region", "area", "branch"], name="inst_live_stage", condition=~Q(status="DIGABUNG")
            ),
            models.Index(
                fields=["branch", "-score", "id"], name="inst_live_branch_score", condition=~Q(status="DIGABUNG")
            ),
            models.Index(fields=["area", "-score", "id"], name="inst_live_area_score", condition=~Q(status="DIGABUNG")),
            models.Index(
                fields=["region", "-score", "id"], name="inst_live_region_score", condition=~Q(status="DIGABUNG")
            ),
            models.Index(fields=["type", "-score", "id"], name="inst_live_type_score", condition=~Q(status="DIGABUNG")),
            models.Index(
                fields=["province_code", "-score", "id"],
                name="inst_live_province_score",
                condition=~Q(status="DIGABUNG"),
            ),
            models.Index(fields=["regency_code", "name_key"], name="inst_regency_namekey"),
            models.Index(fields=["me", "status"], name="inst_me_status"),
            models.Index(fields=["branch", "stage"], name="inst_branch_stage"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="inst_score_0_100"),
            models.CheckConstraint(condition=Q(potential_value__gte=0), name="inst_value_not_negative"),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(status="DIGABUNG"), name="inst_merged_has_status"
            ),
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="inst_not_merged_into_itself"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self) -> OrgUnit:
        """The owning unit, as the access policy asks of every owned record."""
        return self.branch


class Ownership(models.Model):
    """History of who owned an institution: branch and ME, from ``valid_from`` to
    ``valid_to`` (instants, half-open). The open row is the current owner."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="ownerships")
    branch = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    me = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("alasan"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("riwayat kepemilikan")
        verbose_name_plural = _("riwayat kepemilikan")
        ordering = ["institution_id", "valid_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=Q(valid_to__isnull=True), name="inst_one_open_ownership"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} @ {self.branch_id} ({self.valid_from:%Y-%m-%d}–)"


class StageChange(models.Model):
    """One move of an institution through the pipeline: who, when, from where to
    where, and the evidence the rule accepted. Time in a stage is the gap to the
    next move (or to now)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("catatan"), max_length=500, blank=True, default="")
    evidence = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("perpindahan tahap")
        verbose_name_plural = _("perpindahan tahap")
        ordering = ["institution_id", "at", "id"]
        indexes = [
            models.Index(fields=["institution", "at"], name="inst_stage_change_at"),
            # Performance counts moves into a stage by date across institutions.
            models.Index(fields=["at"], name="inst_stage_change_when"),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id}: {self.from_stage} → {self.to_stage}"


class LawfulBasis(models.TextChoices):
    """Dasar pemrosesan data pribadi (UU PDP No. 27/2022, Pasal 20)."""

    PERSETUJUAN = "PERSETUJUAN", _("Persetujuan subjek data")
    KONTRAK = "KONTRAK", _("Pelaksanaan perjanjian")
    KEWAJIBAN_HUKUM = "KEWAJIBAN_HUKUM", _("Kewajiban hukum")
    KEPENTINGAN_VITAL = "KEPENTINGAN_VITAL", _("Kepentingan vital subjek data")
    TUGAS_PUBLIK = "TUGAS_PUBLIK", _("Pelaksanaan tugas/kepentingan umum")
    KEPENTINGAN_SAH = "KEPENTINGAN_SAH", _("Kepentingan yang sah")


class Contact(TimeStampedModel):
    """A person at an institution. Personal data under UU PDP: purpose and
    lawful basis are recorded at capture; it may be restricted or erased."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("nama"), max_length=120)
    position = models.CharField(_("jabatan"), max_length=120, blank=True, default="")
    phone = models.CharField(_("telepon"), max_length=32, blank=True, default="")
    email = models.EmailField(_("email"), blank=True, default="")
    purpose = models.CharField(_("tujuan pemrosesan"), max_length=255)
    lawful_basis = models.CharField(_("dasar pemrosesan"), max_length=20, choices=LawfulBasis.choices)
    restricted_at = models.DateTimeField(_("dibatasi sejak"), null=True, blank=True)
    erased_at = models.DateTimeField(_("dihapus pada"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("kontak")
        verbose_name_plural = _("kontak")
        ordering = ["institution_id", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_restricted(self) -> bool:
        return self.restricted_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class PersonalDataAccess(models.Model):
    """Who read a contact's phone/email from outside the owning branch (UU PDP access log)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12, blank=True, default="")
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="access_log")
    fields = models.CharField(max_length=64)
    channel = models.CharField(max_length=8)  # "web" or "api"

    class Meta:
        verbose_name = _("akses data pribadi")
        verbose_name_plural = _("akses data pribadi")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.contact_id} ({self.channel})"


class ImportStatus(models.TextChoices):
    PENDING = "PENDING", _("Menunggu")
    VALIDATING = "VALIDATING", _("Memeriksa")
    VALIDATED = "VALIDATED", _("Siap ditulis")
    WRITING = "WRITING", _("Menulis")
    DONE = "DONE", _("Selesai")
    CANCELLED = "CANCELLED", _("Dibatalkan")
    FAILED = "FAILED", _("Gagal")


class ImportJob(TimeStampedModel):
    """One uploaded spreadsheet: checked first, written only when the user
    confirms. ``report`` holds the per-row problems (line, column, reason)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    existing_rows = models.PositiveIntegerField(default=0)
    written_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=255, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("impor lembaga")
        verbose_name_plural = _("impor lembaga")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0 if self.status in (ImportStatus.PENDING, ImportStatus.VALIDATING) else 100
        if self.status == ImportStatus.WRITING:
            return min(100, round(100 * self.written_rows / max(self.valid_rows, 1)))
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.WRITING)
