"""The org tree, the people in it and the roles they hold."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

PATH_SEPARATOR = "/"


class UnitKind(models.TextChoices):
    PUSAT = "PUSAT", _("Kantor Pusat")
    UNIT_KERJA = "UNIT_KERJA", _("Unit Kerja Kantor Pusat")
    WILAYAH = "WILAYAH", _("Kantor Wilayah")
    AREA = "AREA", _("Kantor Area")
    CABANG = "CABANG", _("Kantor Cabang")
    UPC = "UPC", _("Unit Pelayanan Cabang")


# Which kind of unit may sit under which: the shape of the network.
ALLOWED_PARENT_KINDS: dict[str, set[str]] = {
    UnitKind.PUSAT: set(),
    UnitKind.UNIT_KERJA: {UnitKind.PUSAT},
    UnitKind.WILAYAH: {UnitKind.PUSAT},
    UnitKind.AREA: {UnitKind.WILAYAH},
    UnitKind.CABANG: {UnitKind.AREA},
    UnitKind.UPC: {UnitKind.CABANG},
}


class WorkUnitFunction(models.TextChoices):
    """Head-office working units (Unit Kerja) named by the guideline."""

    BISNIS_KELEMBAGAAN = "BISNIS_KELEMBAGAAN", _("Bisnis kelembagaan")
    PEMASARAN = "PEMASARAN", _("Pemasaran")
    PENJUALAN = "PENJUALAN", _("Penjualan")
    JARINGAN_OPERASIONAL = "JARINGAN_OPERASIONAL", _("Jaringan operasional")
    PRODUK = "PRODUK", _("Produk")
    PENGENDALIAN_INTERNAL = "PENGENDALIAN_INTERNAL", _("Pengendalian internal")


class OrgUnit(TimeStampedModel):
    """A unit of the network. ``path`` is the chain of codes from the root, each
    followed by ``/``, so a subtree is one indexed prefix query
    (``path LIKE 'PST/W08/%'``). Services keep it consistent on move."""

    kind = models.CharField(_("jenis"), max_length=12, choices=UnitKind.choices)
    code = models.CharField(_("kode"), max_length=20, unique=True)
    name = models.CharField(_("nama"), max_length=120)
    parent = models.ForeignKey(
        "self", verbose_name=_("induk"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    function = models.CharField(_("fungsi"), max_length=24, choices=WorkUnitFunction.choices, blank=True, default="")
    city = models.CharField(_("kota/kabupaten"), max_length=80, blank=True, default="")
    # Where the office is: the regency code of core/data/wilayah and its
    # coordinates, used for an institution's distance to its branch.
    regency_code = models.CharField(_("kode kabupaten/kota"), max_length=5, blank=True, default="")
    latitude = models.DecimalField(_("lintang"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("bujur"), max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(_("aktif"), default=True)

    class Meta:
        verbose_name = _("unit organisasi")
        verbose_name_plural = _("unit organisasi")
        ordering = ["path"]
        indexes = [
            # No extra index on path: for a unique CharField Django already adds a
            # varchar_pattern_ops index on PostgreSQL (…_like), which serves prefix queries.
            models.Index(fields=["kind", "parent"], name="org_unit_kind_parent"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(code__contains=PATH_SEPARATOR), name="org_unit_code_no_slash"),
            models.CheckConstraint(
                condition=Q(kind=UnitKind.PUSAT, parent__isnull=True)
                | (~Q(kind=UnitKind.PUSAT) & Q(parent__isnull=False)),
                name="org_unit_only_pusat_is_root",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def is_descendant_of(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)

    @property
    def path_codes(self) -> list[str]:
        return [c for c in self.path.split(PATH_SEPARATOR) if c]


class User(AbstractUser):
    """A person who logs in. Roles live in ``RoleAssignment``; the one in use is
    remembered in ``current_assignment`` (chosen in the header)."""

    current_assignment = models.ForeignKey(
        "RoleAssignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(_("bahasa"), max_length=8, blank=True, default="")
    phone = models.CharField(_("telepon"), max_length=32, blank=True, default="")
    employee_number = models.CharField(_("NIK pegawai"), max_length=32, blank=True, default="")
    is_demo = models.BooleanField(default=False, help_text="Created by demo_data; has the demo password.")

    class Meta:
        verbose_name = _("pengguna")
        verbose_name_plural = _("pengguna")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Role(models.TextChoices):
    PUSAT = "PUSAT", _("Staf Bisnis Kelembagaan Pusat")
    WILAYAH = "WILAYAH", _("Staf Kelembagaan Wilayah")
    DBA = "DBA", _("Deputy Bisnis Area")
    PINCA = "PINCA", _("Pemimpin Cabang")
    ME = "ME", _("Marketing Executive")
    SALES = "SALES", _("Tim Penjualan")
    KARYAWAN = "KARYAWAN", _("Karyawan")
    AGEN = "AGEN", _("Agen")
    MITRA = "MITRA", _("Mitra unit kerja")
    AUDITOR = "AUDITOR", _("Auditor (pengendalian internal)")
    ADMIN = "ADMIN", _("Admin")


# Where each role lives in the tree (DESIGN.md §2).
ROLE_UNIT_KINDS: dict[str, set[str]] = {
    Role.PUSAT: {UnitKind.PUSAT, UnitKind.UNIT_KERJA},
    Role.WILAYAH: {UnitKind.WILAYAH},
    Role.DBA: {UnitKind.AREA},
    Role.PINCA: {UnitKind.CABANG},
    Role.ME: {UnitKind.CABANG},
    Role.SALES: {UnitKind.CABANG},
    Role.KARYAWAN: {UnitKind.CABANG, UnitKind.UPC},
    Role.AGEN: {UnitKind.CABANG},
    Role.MITRA: {UnitKind.UNIT_KERJA},
    Role.AUDITOR: {UnitKind.PUSAT, UnitKind.UNIT_KERJA},
    Role.ADMIN: {UnitKind.PUSAT},
}


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self, on: object = None) -> RoleAssignmentQuerySet:
        """Assignments valid on a Jakarta calendar date (half-open: from <= d < to)."""
        day = on or timezone.localdate()
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day), valid_from__lte=day)


class RoleAssignment(TimeStampedModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("peran"), max_length=12, choices=Role.choices)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateField(_("berlaku mulai"))
    valid_to = models.DateField(_("berlaku sampai"), null=True, blank=True, help_text=_("Tidak termasuk tanggal ini."))

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("penugasan peran")
        verbose_name_plural = _("penugasan peran")
        ordering = ["user_id", "valid_from", "id"]
        indexes = [models.Index(fields=["unit", "role"], name="org_assign_unit_role")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="org_assign_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} — {self.unit.name}"

    def is_active_on(self, day: object) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to > day)  # type: ignore[operator]


class Placement(TimeStampedModel):
    """A dated posting of a Marketing Executive to a branch (kedudukan).

    An ME belongs to one branch at a time; earlier postings stay as history.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="placements")
    branch = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="placements")
    valid_from = models.DateField(_("berlaku mulai"))
    valid_to = models.DateField(_("berlaku sampai"), null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("alasan"), max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("penempatan ME")
        verbose_name_plural = _("penempatan ME")
        ordering = ["user_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(valid_to__isnull=True), name="org_placement_one_open_per_me"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="org_placement_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.branch.code} ({self.valid_from}–{self.valid_to or ''})"
