"""The import template: the same columns as .xlsx (with an example row,
drop-downs and a "Petunjuk" sheet of instructions and allowed values) or .csv."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from core.wilayah import provinces, regencies
from institutions.imports.files import COLUMNS, _mb, template_header
from institutions.models import InstitutionStatus, InstitutionType, Sector

EXAMPLE = {
    "name": "Contoh: SMA Negeri 3 Bandung",
    "type": "Sekolah",
    "sector": "Pendidikan",
    "province_code": "32",
    "regency_code": "32.73",
    "address": "Jl. Belitung No. 8",
    "latitude": -6.908,
    "longitude": 107.613,
    "npwp": "",
    "member_count": 1200,
    "potential_value": 500000000,
    "potential_basis": "120 guru dan pegawai x rata-rata gadai",
    "status": "Aktif",
    "notes": "Baris contoh: baris yang namanya diawali 'Contoh:' dilewati saat impor.",
    "branch": "",
    "me": "",
}


def template_csv() -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([template_header(c) for c in COLUMNS])
    w.writerow([EXAMPLE[c.key] for c in COLUMNS])
    return "\ufeff" + out.getvalue()


def _instructions(ws: Any) -> dict[str, str]:
    """Fill the "Petunjuk" sheet; returns the ranges of the allowed labels for drop-downs."""
    from openpyxl.styles import Font

    bold = Font(bold=True)
    lines = [
        _("Petunjuk pengisian templat impor lembaga"),
        _("Isi satu lembaga per baris di lembar pertama, mulai baris 2. Kolom bertanda * wajib diisi."),
        _("Jenis, Sektor dan Status: tulis kode atau labelnya (huruf besar/kecil sama saja)."),
        _("Kode provinsi dan kabupaten/kota: lihat daftar di bawah. Nama kabupaten/kota tak ambigu juga diterima."),
        _("Kode cabang: diisi Pinca (kosong = cabang sendiri), DBA, Wilayah, Pusat. Baris ME masuk ke cabang ME itu."),
        _("Username ME: boleh kosong; bila diisi, ME itu harus ditempatkan di cabang tersebut."),
        _("NPWP yang sudah terdaftar, atau nama sama di kabupaten/kota yang sama: baris dilewati, bukan kesalahan."),
        _("Baris yang nama lembaganya diawali 'Contoh:' dilewati."),
        _("Batas: %(size)s per berkas, %(rows)s baris data.")
        % {"size": _mb(settings.IMPORT_MAX_UPLOAD_BYTES), "rows": f"{settings.IMPORT_MAX_ROWS:,}".replace(",", ".")},
    ]
    for line in lines:
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=13)
    ranges: dict[str, str] = {}
    for title, key, choices in (
        (_("Jenis"), "type", InstitutionType.choices),
        (_("Sektor"), "sector", Sector.choices),
        (_("Status"), "status", [c for c in InstitutionStatus.choices if c[0] != InstitutionStatus.DIGABUNG]),
    ):
        ws.append([])
        ws.append([title, _("Kode"), _("Label")])
        for cell in ws[ws.max_row]:
            cell.font = bold
        first = ws.max_row + 1
        for value, label in choices:
            ws.append(["", value, str(label)])
        ranges[key] = f"Petunjuk!$C${first}:$C${ws.max_row}"
    ws.append([])
    ws.append([_("Provinsi"), _("Kode provinsi"), _("Nama")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for p in provinces():
        ws.append(["", p.code, p.name])
    ws.append([])
    ws.append([_("Kabupaten/kota"), _("Kode kabupaten/kota"), _("Nama"), _("Kode provinsi")])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for r in regencies():
        ws.append(["", r.code, r.name, r.parent_code])
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 40
    ws.column_dimensions["D"].width = 14
    return ranges


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Lembaga"
    ws.append([template_header(c) for c in COLUMNS])
    ws.append([EXAMPLE[c.key] for c in COLUMNS])
    head_fill = PatternFill("solid", fgColor="E3F8EF")
    for i, c in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = c.width
        ws[f"{letter}1"].font = Font(bold=True)
        ws[f"{letter}1"].fill = head_fill
        ws[f"{letter}2"].font = Font(italic=True, color="616E7C")
        if c.text:
            for row in range(2, 1002):
                ws[f"{letter}{row}"].number_format = "@"
    ws.freeze_panes = "A2"
    ranges = _instructions(wb.create_sheet("Petunjuk"))
    for key, ref in ranges.items():
        col = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        dv = DataValidation(type="list", formula1=ref, allow_blank=True, showErrorMessage=False)
        dv.add(f"{col}2:{col}{settings.IMPORT_MAX_ROWS + 1}")
        ws.add_data_validation(dv)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
