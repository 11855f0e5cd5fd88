"""The uploaded file: its columns, reading cell values, and every check on the
file itself (type, size, zip bomb, encoding, row count, headers) before a job
exists. A file that fails is refused with :class:`ImportRefused`."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import DomainError

EXAMPLE_PREFIX = "contoh:"


class ImportRefused(DomainError):
    """The file itself is refused: no job is written."""


# --- The columns ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # a fixed data format: the same in every UI language
    required: bool = False
    width: int = 16
    text: bool = False  # stored as text in the template (codes keep their leading zeros)


COLUMNS: tuple[Column, ...] = (
    Column("name", "Nama lembaga", True, 36),
    Column("type", "Jenis", True, 22),
    Column("sector", "Sektor", width=22),
    Column("province_code", "Kode provinsi", True, 14, text=True),
    Column("regency_code", "Kode kabupaten/kota", True, 20, text=True),
    Column("address", "Alamat", width=36),
    Column("latitude", "Lintang", width=12),
    Column("longitude", "Bujur", width=12),
    Column("npwp", "NPWP", width=24, text=True),
    Column("member_count", "Jumlah pegawai/anggota", width=22),
    Column("potential_value", "Estimasi nilai potensi (Rp)", width=26),
    Column("potential_basis", "Dasar estimasi", width=30),
    Column("status", "Status", width=14),
    Column("notes", "Catatan", width=30),
    Column("branch", "Kode cabang", width=14, text=True),
    Column("me", "Username ME", width=20, text=True),
)
HEADER = {c.key: c.header for c in COLUMNS}
EXPORT_EXTRA = ("Skor", "Cabang", "ME", "Diubah")


def template_header(column: Column) -> str:
    return column.header + ("*" if column.required else "")


def _norm(text: Any) -> str:
    return " ".join(str(text or "").replace("*", " ").replace("_", " ").split()).casefold()


# --- Reading cell values -------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return " ".join(str(value).split())


def _code(value: Any) -> str:
    """A code typed into a spreadsheet: numbers lose nothing ('32.10' stays '32.10')."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return _text(value)


_THOUSANDS_DOT = re.compile(r"-?\d{1,3}(\.\d{3})+")
_THOUSANDS_COMMA = re.compile(r"-?\d{1,3}(,\d{3})+")


def _number(value: Any) -> int | Decimal | None:
    """Whole numbers as Indonesians and spreadsheets write them: 1250, '1.250',
    '1,250', 'Rp 1.500.000'. Anything else is returned as a Decimal (the shared
    check then refuses fractions) or None when it is not a number at all."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(str(value))
    text = re.sub(r"(?i)^rp\.?", "", str(value).strip()).replace(" ", "")
    if not text:
        return 0
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if _THOUSANDS_DOT.fullmatch(text):
        return int(text.replace(".", ""))
    if _THOUSANDS_COMMA.fullmatch(text):
        return int(text.replace(",", ""))
    try:
        return Decimal(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    except InvalidOperation:
        return None


def _coordinate(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    return value


def _npwp(value: Any) -> str:
    # A 15-digit NPWP typed as a number loses its leading zero.
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = str(int(value))
        return digits.zfill(15) if len(digits) == 14 else digits
    return _text(value)


# --- File checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inspected:
    kind: str  # "xlsx" or "csv"
    data: bytes
    sha256: str
    total_rows: int
    # The rows as read for counting, kept so validation does not parse the file again.
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def _check_zip(data: bytes) -> None:
    not_xlsx = ImportRefused(_("Berkas ini bukan berkas spreadsheet .xlsx yang sah."))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise not_xlsx from None
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise not_xlsx
    # Declared sizes only, never extracted: zipfile stops reading a member at its
    # declared size, so these numbers bound what openpyxl can inflate later.
    unzipped = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unzipped > settings.IMPORT_MAX_UNZIPPED_BYTES or unzipped > settings.IMPORT_MAX_ZIP_RATIO * max(packed, 1):
        raise ImportRefused(
            _("Berkas .xlsx ini mengembang terlalu besar saat dibuka (kemungkinan zip bomb) dan ditolak.")
        )


def _decode_csv(data: bytes) -> str:
    if b"\x00" in data:
        raise ImportRefused(_("Berkas .csv ini berisi karakter NUL; ini bukan berkas teks CSV."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportRefused(_("Berkas .csv ini tidak bisa dibaca sebagai teks UTF-8 atau Windows-1252.")) from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    """The first worksheet's rows, read with calamine (a Rust reader, about ten
    times faster than openpyxl here; openpyxl still writes the template and the
    export). Formula cells give their saved values; empty cells are None. The
    zip-bomb guard has run before this."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise ImportRefused(_("Berkas .xlsx ini tidak berisi lembar kerja."))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except ImportRefused:
        raise
    except (CalamineError, ValueError, OSError, IndexError):
        raise ImportRefused(_("Berkas .xlsx ini rusak atau tidak bisa dibaca.")) from None
    for row in rows:
        yield tuple(None if v == "" else v for v in row)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode_csv(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error:
        raise ImportRefused(_("Berkas .csv ini tidak bisa diurai (tanda kutip atau pemisah kolom rusak).")) from None


def _blank(row: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def read_rows(kind: str, data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {column key: raw value}) of every non-blank data row; the header
    is line 1. Raises :class:`ImportRefused` on a bad header or file."""
    rows = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    header = next(rows, None)
    if header is None or _blank(header):
        raise ImportRefused(_("Baris pertama berkas harus berisi judul kolom templat."))
    wanted = {_norm(c.header): c.key for c in COLUMNS}
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = wanted.get(_norm(cell))
        if key and key not in index:
            index[key] = i
    missing = [template_header(c) for c in COLUMNS if c.required and c.key not in index]
    if missing:
        raise ImportRefused(
            _("Kolom wajib tidak ada di baris judul: %(cols)s. Pakai templat impor.") % {"cols": ", ".join(missing)}
        )
    for line, row in enumerate(rows, start=2):
        if _blank(row):
            continue
        values = {key: (row[i] if i < len(row) else None) for key, i in index.items()}
        if _text(values.get("name")).casefold().startswith(EXAMPLE_PREFIX):
            continue  # the template's example row
        yield line, values


def inspect_upload(name: str, size: int, chunks: Iterable[bytes]) -> Inspected:
    """Every check on the file itself, before any job exists."""
    suffix = PurePath(name or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ImportRefused(_("Hanya berkas .xlsx atau .csv yang bisa diimpor."))
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ImportRefused(_("Berkas terlalu besar: paling besar %(limit)s.") % {"limit": _mb(limit)})
    data = b"".join(chunks)
    if len(data) > limit:
        raise ImportRefused(_("Berkas terlalu besar: paling besar %(limit)s.") % {"limit": _mb(limit)})
    if not data:
        raise ImportRefused(_("Berkas kosong."))
    kind = suffix[1:]
    if kind == "xlsx":
        _check_zip(data)
    total = 0
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, row in read_rows(kind, data):
        total += 1
        rows.append((line, row))
        if total > settings.IMPORT_MAX_ROWS:
            raise ImportRefused(
                _("Berkas berisi lebih dari %(max)s baris data; bagi menjadi beberapa berkas.")
                % {"max": f"{settings.IMPORT_MAX_ROWS:,}".replace(",", ".")}
            )
    if total == 0:
        raise ImportRefused(_("Berkas tidak berisi baris data di bawah baris judul."))
    return Inspected(kind=kind, data=data, sha256=hashlib.sha256(data).hexdigest(), total_rows=total, rows=rows)
