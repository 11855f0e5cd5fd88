"""Checks on institution values shared by the service, the forms, the API and
the importer, so every door says the same thing in the same words."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.utils.translation import gettext as _

from core.wilayah import provinces, regencies
from institutions.models import InstitutionStatus, InstitutionType, Sector
from institutions.normalise import npwp_digits, npwp_is_valid

MAX_MEMBERS = 10_000_000
MAX_VALUE = Decimal("999999999999999999")


@cache
def province_names() -> dict[str, str]:
    return {p.code: p.name for p in provinces()}


@cache
def regency_names() -> dict[str, str]:
    return {r.code: r.name for r in regencies()}


@cache
def regency_province() -> dict[str, str]:
    return {r.code: r.parent_code for r in regencies()}


def check_npwp(value: Any) -> tuple[str | None, str | None]:
    """(digits or None, error)."""
    text = str(value or "").strip()
    if not text:
        return None, None
    if not npwp_is_valid(text):
        return None, _("NPWP harus 15 atau 16 digit angka (titik dan tanda hubung boleh).")
    return npwp_digits(text), None


def check_area(province_code: str, regency_code: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if province_code not in province_names():
        errors["province_code"] = _("Provinsi tidak dikenal.")
    if regency_code not in regency_names():
        errors["regency_code"] = _("Kabupaten/kota tidak dikenal.")
    elif province_code in province_names() and regency_province()[regency_code] != province_code:
        errors["regency_code"] = _("Kabupaten/kota ini tidak berada di provinsi yang dipilih.")
    return errors


def check_coordinates(lat: Any, lon: Any) -> tuple[Decimal | None, Decimal | None, str | None]:
    if lat in (None, "") and lon in (None, ""):
        return None, None, None
    try:
        la, lo = Decimal(str(lat)), Decimal(str(lon))
    except (InvalidOperation, ValueError):
        return None, None, _("Koordinat harus berupa angka desimal (lintang dan bujur).")
    if not (la.is_finite() and lo.is_finite()):
        return None, None, _("Koordinat harus berupa angka desimal (lintang dan bujur).")
    # Indonesia and its waters, with a margin.
    if not (Decimal(-12) <= la <= Decimal(7) and Decimal(94) <= lo <= Decimal(142)):
        return None, None, _("Koordinat berada di luar wilayah Indonesia.")
    return la.quantize(Decimal("0.000001")), lo.quantize(Decimal("0.000001")), None


def check_choices(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values.get("type") not in InstitutionType.values:
        errors["type"] = _("Jenis lembaga tidak dikenal.")
    if values.get("sector", Sector.LAINNYA) not in Sector.values:
        errors["sector"] = _("Sektor tidak dikenal.")
    if values.get("status", InstitutionStatus.AKTIF) not in (InstitutionStatus.AKTIF, InstitutionStatus.TIDAK_AKTIF):
        errors["status"] = _("Status harus aktif atau tidak aktif.")
    return errors


def check_numbers(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    members = values.get("member_count", 0)
    if not isinstance(members, int) or members < 0 or members > MAX_MEMBERS:
        errors["member_count"] = _("Jumlah pegawai/anggota harus bilangan bulat 0 sampai 10.000.000.")
    value = values.get("potential_value", 0)
    finite = not isinstance(value, Decimal) or value.is_finite()
    if not finite or not isinstance(value, Decimal | int) or value < 0 or value > MAX_VALUE or value != int(value):
        errors["potential_value"] = _("Estimasi nilai potensi harus rupiah utuh, tidak negatif.")
    return errors


def check_name(name: Any) -> str | None:
    from institutions.normalise import name_key

    text = str(name or "").strip()
    if len(text) < 3:
        return _("Nama lembaga wajib diisi (minimal 3 karakter).")
    if len(text) > 200:
        return _("Nama lembaga paling panjang 200 karakter.")
    if not name_key(text):
        return _("Nama lembaga harus memuat huruf atau angka selain bentuk badan usaha.")
    return None
