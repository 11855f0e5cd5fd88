"""Spreadsheet import and export of institutions (docs/IMPORT.md).

An upload is checked as a file first (type, size, zip bomb, encoding, row
count, headers) and refused without a trace when it fails. Otherwise it becomes
an :class:`ImportJob`: its rows are validated (inline for small files, as a
background task with progress for large ones) into a per-row report, and
nothing is written until the user confirms. Writing re-checks every row and
inserts the valid new ones in one transaction with one audit event.

Validation never queries per row: branches, MEs, existing NPWPs and existing
names are loaded for the whole file in a few queries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from control import audit
from core import tasks
from core.errors import DomainError
from core.wilayah import provinces, regencies, short_regency_name
from institutions import scoring, validation
from institutions.models import (
    ImportJob,
    ImportStatus,
    Institution,
    InstitutionStatus,
    InstitutionType,
    Ownership,
    Sector,
)
from institutions.normalise import name_key
from institutions.selectors import InstitutionFilters, institution_list
from institutions.services import owner_ids
from org.access import active_assignment, visible_institutions
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind, User

PROGRESS_EVERY = 500
QUERY_CHUNK = 400
REPORT_MAX_ENTRIES = 50_000
REPORT_SHOWN = 50
EXAMPLE_PREFIX = "contoh:"


class ImportRefused(DomainError):
    """The file itself is refused: no job is written."""


class _Stopped(Exception):
    """The job was cancelled (or taken over) while a task worked on it."""


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


# --- Lookups of allowed values ------------------------------------------------------------------


def _choice_lookup(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Code or label, Indonesian or English, any case."""
    out: dict[str, str] = {}
    for value, label in choices:
        out[_norm(value)] = value
        for lang in ("id", "en"):
            with translation.override(lang):
                out.setdefault(_norm(str(label)), value)
    return out


def _place(text: str) -> str:
    t = _norm(text).replace(".", ". ")
    t = " ".join(t.split())
    for short, full in (("kab. ", "kabupaten "), ("kab ", "kabupaten "), ("kota adm. ", "kota administrasi ")):
        if t.startswith(short):
            t = full + t[len(short) :]
    return t


@dataclass
class _Places:
    province_by_name: dict[str, str]
    regency_full: dict[tuple[str, str], str]
    regency_short: dict[tuple[str, str], list[str]]

    @classmethod
    def load(cls) -> _Places:
        full: dict[tuple[str, str], str] = {}
        short: dict[tuple[str, str], list[str]] = {}
        for r in regencies():
            full[(r.parent_code, _place(r.name))] = r.code
            short.setdefault((r.parent_code, _place(short_regency_name(r.name))), []).append(r.code)
        by_name: dict[str, str] = {}
        for p in provinces():
            name = _place(p.name)
            by_name[name] = p.code
            # The short forms people write: "DKI Jakarta", "DI Yogyakarta".
            for long, abbr in (("daerah khusus ibukota ", "dki "), ("daerah istimewa ", "di ")):
                if name.startswith(long):
                    by_name[abbr + name[len(long) :]] = p.code
        return cls(by_name, full, short)

    def province(self, value: Any) -> str:
        text = _code(value)
        if re.fullmatch(r"\d{1,2}", text):
            return text.zfill(2)
        return self.province_by_name.get(_place(text), text)

    def regency(self, value: Any, province: str) -> tuple[str, str | None]:
        text = _code(value)
        if re.fullmatch(r"\d{2}\.?\d{2}", text):
            return f"{text[:2]}.{text[-2:]}", None
        key = (province, _place(text))
        if key in self.regency_full:
            return self.regency_full[key], None
        matches = self.regency_short.get(key, [])
        if len(matches) > 1:
            return text, _("Nama kabupaten/kota ini ada lebih dari satu di provinsi ini; tulis kodenya.")
        return (matches[0] if matches else text), None


# --- File checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inspected:
    kind: str  # "xlsx" or "csv"
    data: bytes
    sha256: str
    total_rows: int


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
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise ImportRefused(_("Berkas .xlsx ini rusak atau tidak bisa dibaca.")) from None
    try:
        if not wb.worksheets:
            raise ImportRefused(_("Berkas .xlsx ini tidak berisi lembar kerja."))
        yield from wb.worksheets[0].iter_rows(values_only=True)
    except ImportRefused:
        raise
    except Exception:
        raise ImportRefused(_("Berkas .xlsx ini rusak atau tidak bisa dibaca.")) from None
    finally:
        wb.close()


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
    for _line, _row in read_rows(kind, data):
        total += 1
        if total > settings.IMPORT_MAX_ROWS:
            raise ImportRefused(
                _("Berkas berisi lebih dari %(max)s baris data; bagi menjadi beberapa berkas.")
                % {"max": f"{settings.IMPORT_MAX_ROWS:,}".replace(",", ".")}
            )
    if total == 0:
        raise ImportRefused(_("Berkas tidak berisi baris data di bawah baris judul."))
    return Inspected(kind=kind, data=data, sha256=hashlib.sha256(data).hexdigest(), total_rows=total)


# --- Validating rows ------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    branch: OrgUnit | None = None
    me: Any = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def error(self, key: str, reason: Any, *, kind: str = "error") -> None:
        value = self.raw.get(key)
        self.problems.append(
            {"line": self.line, "column": HEADER[key], "value": _text(value)[:100], "reason": str(reason), "kind": kind}
        )

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def pair(self) -> tuple[str, str] | None:
        key = self.values.get("name_key")
        return (self.values["regency_code"], key) if key and self.values.get("regency_code") else None


@dataclass
class Outcome:
    total: int = 0
    valid: list[_Row] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)
    error_rows: int = 0
    existing_rows: int = 0
    rows: list[_Row] = field(default_factory=list)

    def add(self, row: _Row) -> None:
        if len(self.report) < REPORT_MAX_ENTRIES:
            self.report.extend(row.problems[: REPORT_MAX_ENTRIES - len(self.report)])


def _chunks(items: Iterable[Any], n: int = QUERY_CHUNK) -> Iterator[list[Any]]:
    items = sorted(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _existing(npwps: set[str], pairs: set[tuple[str, str]]) -> tuple[set[str], set[tuple[str, str]]]:
    """Which NPWPs (any institution: the column is unique) and which
    (regency, name key) pairs (live institutions) are already registered."""
    found_npwps: set[str] = set()
    for chunk in _chunks(npwps):
        found_npwps |= set(Institution.objects.filter(npwp__in=chunk).values_list("npwp", flat=True))  # type: ignore[arg-type]
    found_pairs: set[tuple[str, str]] = set()
    regencies_in_file = {r for r, _k in pairs}
    for chunk in _chunks({k for _r, k in pairs}):
        qs = Institution.objects.live().filter(name_key__in=chunk, regency_code__in=regencies_in_file)
        found_pairs |= {p for p in qs.values_list("regency_code", "name_key") if p in pairs}
    return found_npwps, found_pairs


def own_branch(assignment: RoleAssignment) -> OrgUnit | None:
    unit = assignment.unit
    if unit.kind == UnitKind.CABANG:
        return unit
    if unit.kind == UnitKind.UPC and assignment.role in (Role.ME, Role.PINCA):
        return unit.parent
    return None


class _Checker:
    """Validates the rows of one file for one importer."""

    def __init__(self, actor: Any, assignment: RoleAssignment) -> None:
        self.actor = actor
        self.assignment = assignment
        self.own = own_branch(assignment)
        self.places = _Places.load()
        self.types = _choice_lookup(InstitutionType.choices)
        self.sectors = _choice_lookup(Sector.choices)
        self.statuses = _choice_lookup(InstitutionStatus.choices)
        self._allowed: dict[int, bool] = {}
        # Sets, because ``Choices.values`` builds a new list on every call.
        self.type_codes = frozenset(InstitutionType.values)
        self.sector_codes = frozenset(Sector.values)
        self.status_codes = frozenset((InstitutionStatus.AKTIF, InstitutionStatus.TIDAK_AKTIF))

    # Pass 1: each row on its own, no database.
    def parse(self, row: _Row) -> None:
        raw, v = row.raw, row.values
        err = validation.check_name(raw.get("name"))
        if err:
            row.error("name", err)
        else:
            v["name"] = _text(raw["name"])
            v["name_key"] = name_key(v["name"])
        v["type"] = self.types.get(_norm(raw.get("type")), _text(raw.get("type")))
        sector, status = _text(raw.get("sector")), _text(raw.get("status"))
        v["sector"] = self.sectors.get(_norm(sector), sector) if sector else Sector.LAINNYA
        v["status"] = self.statuses.get(_norm(status), status) if status else InstitutionStatus.AKTIF
        if (
            v["type"] not in self.type_codes
            or v["sector"] not in self.sector_codes
            or v["status"] not in self.status_codes
        ):
            for key, msg in validation.check_choices(v).items():  # the shared messages
                if key == "type" and not raw.get("type"):
                    msg = _("Jenis lembaga wajib diisi.")
                row.error(key, msg)
        v["province_code"] = self.places.province(raw.get("province_code"))
        v["regency_code"], err = self.places.regency(raw.get("regency_code"), v["province_code"])
        if err:
            row.error("regency_code", err)
        else:
            for key, msg in validation.check_area(v["province_code"], v["regency_code"]).items():
                if not _text(raw.get(key)):
                    msg = _("Wajib diisi.")
                row.error(key, msg)
        la, lo, err = validation.check_coordinates(_coordinate(raw.get("latitude")), _coordinate(raw.get("longitude")))
        if err:
            row.error("latitude" if _text(raw.get("latitude")) else "longitude", err)
        v["latitude"], v["longitude"] = la, lo
        v["npwp"], err = validation.check_npwp(_npwp(raw.get("npwp")))
        if err:
            row.error("npwp", err)
        numbers = {
            "member_count": _number(raw.get("member_count")),
            "potential_value": _number(raw.get("potential_value")),
        }
        for key, msg in validation.check_numbers(numbers).items():
            row.error(key, msg)
        v.update(numbers)
        if isinstance(v["potential_value"], int):
            v["potential_value"] = Decimal(v["potential_value"])
        for key in ("address", "potential_basis"):
            v[key] = _text(raw.get(key))
            if len(v[key]) > 255:
                row.error(key, _("Paling panjang 255 karakter."))
        v["notes"] = str(raw.get("notes") or "").strip()
        v["branch_code"] = _text(raw.get("branch")).upper()
        v["me_username"] = _text(raw.get("me"))

    def allowed(self, branch: OrgUnit) -> bool:
        if branch.pk not in self._allowed:
            self._allowed[branch.pk] = bool(self.actor.has_perm("institutions.create_in", branch))
        return self._allowed[branch.pk]

    # Pass 2: branch, ME, permission, duplicates, what exists; preloaded for all rows.
    def resolve(self, rows: list[_Row], outcome: Outcome) -> None:
        codes = {r.values["branch_code"] for r in rows if r.values.get("branch_code")}
        branches = {
            b.code: b for b in OrgUnit.objects.filter(code__in=codes, kind=UnitKind.CABANG).select_related("parent")
        }
        if self.own is not None:
            self.own = OrgUnit.objects.select_related("parent").get(pk=self.own.pk)
        usernames = {r.values["me_username"] for r in rows if r.values.get("me_username")}
        users = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
        is_me = self.assignment.role == Role.ME
        people = [u.pk for u in users.values()] + ([self.actor.pk] if is_me else [])
        posted = set(
            Placement.objects.filter(valid_to__isnull=True, user_id__in=people).values_list("user_id", "branch_id")
        )
        candidates = [r for r in rows if r.pair or r.values.get("npwp")]
        npwps = {r.values["npwp"] for r in candidates if r.values.get("npwp")}
        existing_npwps, existing_pairs = _existing(npwps, {r.pair for r in candidates if r.pair})
        seen_npwp: dict[str, int] = {}
        seen_pair: dict[tuple[str, str], int] = {}
        for row in rows:
            v = row.values
            code = v.get("branch_code", "")
            branch: OrgUnit | None
            if is_me:
                branch = self.own
                if code and (self.own is None or code != self.own.code):
                    row.error(
                        "branch",
                        _("ME hanya mengimpor ke cabangnya sendiri; kosongkan kolom ini atau isi %(own)s.")
                        % {"own": self.own.code if self.own else "-"},
                    )
            elif code:
                branch = branches.get(code)
                if branch is None or not self.allowed(branch):
                    row.error("branch", _("Kode cabang tidak dikenal atau di luar wilayah kerja Anda."))
                    branch = None
            else:
                branch = self.own if self.assignment.role == Role.PINCA else None
                if branch is None:
                    row.error("branch", _("Kode cabang wajib diisi untuk peran Anda."))
            if branch is not None and not self.allowed(branch):
                row.error("branch", _("Anda tidak boleh menambah lembaga di cabang ini."))
                branch = None
            row.branch = branch
            username = v.get("me_username", "")
            if username:
                user = users.get(username)
                if user is None or branch is None or (user.pk, branch.pk) not in posted:
                    row.error("me", _("Username ME tidak dikenal atau tidak ditempatkan di cabang ini."))
                row.me = user
            elif is_me:
                row.me = self.actor  # as when an ME registers one by hand
                if branch is not None and (self.actor.pk, branch.pk) not in posted:
                    row.error("me", _("Anda tidak ditempatkan sebagai ME di cabang ini."))
            npwp, pair = v.get("npwp"), row.pair
            dup_line = (seen_npwp.get(npwp) if npwp else None) or (seen_pair.get(pair) if pair else None)
            if dup_line:
                column = "npwp" if npwp and npwp in seen_npwp else "name"
                row.error(column, _("Duplikat dalam berkas (baris %(line)s).") % {"line": dup_line})
            if npwp:
                seen_npwp.setdefault(npwp, row.line)
            if pair:
                seen_pair.setdefault(pair, row.line)
            if row.ok and npwp in existing_npwps:
                row.error("npwp", _("Sudah terdaftar (NPWP sama); dilewati."), kind="existing")
                outcome.existing_rows += 1
            elif row.ok and pair in existing_pairs:
                row.error("name", _("Sudah terdaftar (nama sama di kabupaten/kota ini); dilewati."), kind="existing")
                outcome.existing_rows += 1
            elif row.ok:
                outcome.valid.append(row)
            else:
                outcome.error_rows += 1
            outcome.add(row)


def _cache_name(job: ImportJob) -> str:
    return f"{job.file.name}.rows.json"


def _job_rows(job: ImportJob) -> Iterator[tuple[int, dict[str, Any]]]:
    """The job's data rows: from the parsed copy that validation left for the
    write step when there is one (parsing an .xlsx is most of the cost), else
    from the uploaded file."""
    storage, cache = job.file.storage, _cache_name(job)
    if storage.exists(cache):
        with storage.open(cache, "rb") as fh:
            cached = json.load(fh)
        yield from ((int(line), raw) for line, raw in cached)
        return
    with job.file.open("rb") as fh:
        data = fh.read()
    yield from read_rows("xlsx" if job.file.name.lower().endswith(".xlsx") else "csv", data)


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float) else _text(value)


def _save_cache(job: ImportJob, rows: list[_Row]) -> None:
    payload = json.dumps([[r.line, {k: _plain(v) for k, v in r.raw.items()}] for r in rows], separators=(",", ":"))
    _drop_cache(job)
    job.file.storage.save(_cache_name(job), ContentFile(payload.encode()))


def _drop_cache(job: ImportJob) -> None:
    if job.file.name and job.file.storage.exists(_cache_name(job)):
        job.file.storage.delete(_cache_name(job))


def check_file(
    job: ImportJob, actor: Any, assignment: RoleAssignment, progress: Callable[[int], None] | None = None
) -> Outcome:
    """Parse and validate the job's rows; ``progress(n)`` is called every
    PROGRESS_EVERY rows (it may raise to stop)."""
    checker = _Checker(actor, assignment)
    rows: list[_Row] = []
    for line, raw in _job_rows(job):
        row = _Row(line, raw)
        checker.parse(row)
        rows.append(row)
        if progress and len(rows) % PROGRESS_EVERY == 0:
            progress(len(rows))
    outcome = Outcome(total=len(rows), rows=rows)
    checker.resolve(rows, outcome)
    return outcome


# --- The job: upload, validate, confirm, write, cancel ------------------------------------------------


def _require_import(actor: Any) -> RoleAssignment:
    a = active_assignment(actor)
    if a is None or not actor.has_perm("institutions.import"):
        raise PermissionDenied
    return a


def _acting_assignment(job: ImportJob) -> tuple[Any, RoleAssignment]:
    """The importer, acting in the role the file was uploaded under."""
    actor = User.objects.get(pk=job.created_by_id)
    a = active_assignment(actor)
    if a is None or a.role != job.role or a.unit_id != job.unit_id:
        raise DomainError(
            _("Impor ini diunggah dengan peran %(role)s di %(unit)s; ganti ke peran itu untuk melanjutkan.")
            % {"role": Role(job.role).label, "unit": job.unit.name}
        )
    return actor, a


def _run(job: ImportJob, task: str, rows: int) -> None:
    if rows < settings.IMPORT_BACKGROUND_FROM_ROWS:
        from django.utils.module_loading import import_string

        import_string(task)(job.pk)
    else:
        tasks.enqueue(task, job.pk)


def import_upload(*, actor: Any, name: str, size: int, chunks: Iterable[bytes]) -> ImportJob:
    """Check the file and create its job; validation starts at once (inline
    below IMPORT_BACKGROUND_FROM_ROWS rows, else in the background)."""
    a = _require_import(actor)
    inspected = inspect_upload(name, size, chunks)
    job = ImportJob(
        created_by=actor,
        unit=a.unit,
        role=a.role,
        original_name=PurePath(name.replace("\\", "/")).name[:255],
        sha256=inspected.sha256,
        total_rows=inspected.total_rows,
    )
    # The stored name is ours: an uploaded name never becomes a path.
    job.file.save(f"{uuid.uuid4().hex}.{inspected.kind}", ContentFile(inspected.data), save=False)
    job.save()
    _run(job, "institutions.imports.import_validate", inspected.total_rows)
    job.refresh_from_db()
    return job


def _progress(job_pk: int, status: str) -> Callable[[int], None]:
    def report(n: int) -> None:
        if not ImportJob.objects.filter(pk=job_pk, status=status).update(processed_rows=n, updated_at=timezone.now()):
            raise _Stopped

    return report


def _fail(job_pk: int, status: str, message: Any) -> None:
    ImportJob.objects.filter(pk=job_pk, status=status).update(
        status=ImportStatus.FAILED, message=str(message)[:255], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _language(job: ImportJob) -> str:
    # The report is written in the importer's language (a background thread has none active).
    return job.created_by.language or translation.get_language() or settings.LANGUAGE_CODE


def import_validate(job_pk: int) -> None:
    """Task: validate a PENDING (or interrupted VALIDATING) job into its report.
    A job with nothing to write ends DONE at once."""
    claimed = ImportJob.objects.filter(pk=job_pk, status__in=[ImportStatus.PENDING, ImportStatus.VALIDATING]).update(
        status=ImportStatus.VALIDATING, processed_rows=0, updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by", "unit").get(pk=job_pk)
    with translation.override(_language(job)):
        try:
            actor, a = _acting_assignment(job)
            outcome = check_file(job, actor, a, _progress(job_pk, ImportStatus.VALIDATING))
        except _Stopped:
            return
        except DomainError as exc:
            _fail(job_pk, ImportStatus.VALIDATING, exc.message)
            return
        except Exception:
            _fail(job_pk, ImportStatus.VALIDATING, _("Pemeriksaan gagal karena kesalahan sistem."))
            raise
        done = not outcome.valid
        message = ""
        if done:
            message = (
                _("Tidak ada baris baru untuk ditulis: semua baris sudah terdaftar.")
                if not outcome.error_rows
                else _("Tidak ada baris yang bisa ditulis; perbaiki berkas lalu unggah lagi.")
            )
        finished = ImportJob.objects.filter(pk=job_pk, status=ImportStatus.VALIDATING).update(
            status=ImportStatus.DONE if done else ImportStatus.VALIDATED,
            total_rows=outcome.total,
            processed_rows=outcome.total,
            valid_rows=len(outcome.valid),
            error_rows=outcome.error_rows,
            existing_rows=outcome.existing_rows,
            report=outcome.report,
            message=message,
            finished_at=timezone.now() if done else None,
            updated_at=timezone.now(),
        )
        if finished and not done:
            _save_cache(job, outcome.rows)


def import_confirm(*, actor: Any, job: ImportJob) -> ImportJob:
    """Write the job's valid rows. Only a VALIDATED job is taken (the row is
    locked), so a double click or a retry writes nothing more."""
    _require_import(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.created_by_id != actor.pk:
            raise PermissionDenied
        if job.status != ImportStatus.VALIDATED:
            raise DomainError(_("Impor ini sudah diproses (%(status)s).") % {"status": job.get_status_display()})
        job.status, job.processed_rows = ImportStatus.WRITING, 0
        job.save(update_fields=["status", "processed_rows", "updated_at"])
    _run(job, "institutions.imports.import_write", job.valid_rows)
    job.refresh_from_db()
    return job


def import_cancel(*, actor: Any, job: ImportJob) -> ImportJob:
    _require_import(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.created_by_id != actor.pk:
            raise PermissionDenied
        if job.status not in (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.VALIDATED):
            raise DomainError(
                _("Impor ini tidak bisa dibatalkan lagi (%(status)s).") % {"status": job.get_status_display()}
            )
        job.status, job.finished_at = ImportStatus.CANCELLED, timezone.now()
        job.message = _("Dibatalkan; tidak ada yang ditulis.")
        job.save(update_fields=["status", "finished_at", "message", "updated_at"])
    _drop_cache(job)
    return job


def import_write(job_pk: int) -> None:
    """Task: re-check a WRITING job's rows and insert the valid new ones in one transaction."""
    job = ImportJob.objects.select_related("created_by", "unit").get(pk=job_pk)
    if job.status != ImportStatus.WRITING:
        return
    with translation.override(_language(job)):
        try:
            actor, a = _acting_assignment(job)
            outcome = check_file(job, actor, a, _progress(job_pk, ImportStatus.WRITING))
            _write(job_pk, actor, outcome)
        except _Stopped:
            return
        except DomainError as exc:
            _fail(job_pk, ImportStatus.WRITING, exc.message)
        except IntegrityError:
            _fail(job_pk, ImportStatus.WRITING, _("Data berubah saat menulis; tidak ada yang ditulis. Coba lagi."))
        except Exception:
            _fail(job_pk, ImportStatus.WRITING, _("Penulisan gagal karena kesalahan sistem; tidak ada yang ditulis."))
            raise
        finally:
            _drop_cache(job)  # the job has ended either way


@transaction.atomic
def _write(job_pk: int, actor: Any, outcome: Outcome) -> None:
    job = ImportJob.objects.select_for_update().get(pk=job_pk)
    if job.status != ImportStatus.WRITING:
        return
    rows = outcome.valid
    # Imports into the same branches queue here, so each one's re-check below
    # sees what the other wrote (SQLite's IMMEDIATE transactions already serialise).
    list(OrgUnit.objects.select_for_update().filter(pk__in={r.branch.pk for r in rows if r.branch}).order_by("pk"))
    npwps, pairs = _existing({r.values["npwp"] for r in rows if r.values["npwp"]}, {r.pair for r in rows if r.pair})
    fresh = [r for r in rows if r.values["npwp"] not in npwps and r.pair not in pairs]
    now = timezone.now()
    owners: dict[int, tuple[int, int]] = {}
    institutions = []
    # Ids rather than objects, and the score computed from the row: ten thousand
    # model instances are built here, and related-object setters are slow.
    for r in fresh:
        branch, v = r.branch, r.values
        assert branch is not None
        if branch.pk not in owners:
            owners[branch.pk] = owner_ids(branch)
        score = scoring.compute(
            member_count=v["member_count"],
            type=v["type"],
            potential_value=v["potential_value"],
            latitude=v["latitude"],
            longitude=v["longitude"],
            regency_code=v["regency_code"],
            branch=branch,
        )
        institutions.append(
            Institution(
                name=v["name"],
                name_key=v["name_key"],
                type=v["type"],
                sector=v["sector"],
                address=v["address"],
                province_code=v["province_code"],
                regency_code=v["regency_code"],
                latitude=v["latitude"],
                longitude=v["longitude"],
                npwp=v["npwp"],
                member_count=v["member_count"],
                potential_value=v["potential_value"],
                potential_basis=v["potential_basis"],
                status=v["status"],
                notes=v["notes"],
                branch_id=branch.pk,
                area_id=owners[branch.pk][0],
                region_id=owners[branch.pk][1],
                me_id=r.me.pk if r.me is not None else None,
                created_by_id=actor.pk,
                import_job_id=job.pk,
                score=score.total,
                distance_km=Decimal(str(score.distance_km)) if score.distance_km is not None else None,
            )
        )
    Institution.objects.bulk_create(institutions, batch_size=500)
    _open_ownerships(job.pk, now, actor.pk)
    ids = [i.pk for i in institutions]
    audit.record(
        actor=actor,
        action="institution.import",
        obj=job,
        after={
            "file": job.original_name,
            "sha256": job.sha256,
            "written": len(ids),
            "already_registered": outcome.existing_rows + len(rows) - len(fresh),
            "ids": ids if len(ids) <= 1000 else None,
            "id_min": min(ids) if ids else None,
            "id_max": max(ids) if ids else None,
            "ids_sha256": hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest(),
        },
    )
    job.status = ImportStatus.DONE
    job.total_rows = job.processed_rows = outcome.total
    job.valid_rows = len(rows)
    job.error_rows = outcome.error_rows
    job.existing_rows = outcome.existing_rows + len(rows) - len(fresh)
    job.written_rows = len(ids)
    job.report = outcome.report
    job.finished_at = now
    job.message = ""
    job.save()


def _open_ownerships(job_pk: int, valid_from: datetime, changed_by: int) -> None:
    """The first ownership row of every institution the job wrote, in one
    INSERT … SELECT (a third of the write time when built as ten thousand models)."""
    inst, own = Institution._meta, Ownership._meta
    qn = connection.ops.quote_name

    def col(meta: Any, name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        return qn(field.column)

    columns = ", ".join(
        col(own, f) for f in ("institution", "branch", "me", "valid_from", "valid_to", "changed_by", "reason")
    )
    select = ", ".join(col(inst, f) for f in ("id", "branch", "me"))
    job_column = col(inst, "import_job")
    sql = (
        f"INSERT INTO {qn(own.db_table)} ({columns}) "  # noqa: S608 - names from model metadata, values as parameters
        f"SELECT {select}, %s, NULL, %s, '' FROM {qn(inst.db_table)} WHERE {job_column} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(valid_from), changed_by, job_pk])


# --- What the pages show ---------------------------------------------------------------------------


def progress_of(job: ImportJob) -> int:
    """Percent for the bar. While writing, the visible part is the re-check
    (the insert is one transaction: no one can see it halfway)."""
    if job.status == ImportStatus.WRITING:
        return min(99, round(100 * job.processed_rows / max(job.total_rows, 1)))
    return job.progress_percent


def errors_of(job: ImportJob) -> list[dict[str, Any]]:
    return [p for p in job.report if p.get("kind", "error") == "error"]


def written_institutions(user: Any, job: ImportJob) -> QuerySet[Institution]:
    return visible_institutions(user).filter(import_job=job).select_related("branch").order_by("name", "id")


def _safe_cell(value: str) -> str:
    # A spreadsheet would run a value that starts like a formula (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(job: ImportJob) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([_("baris"), _("kolom"), _("nilai"), _("alasan")])
    for p in job.report:
        w.writerow([p["line"], p["column"], _safe_cell(p["value"]), _safe_cell(p["reason"])])
    if len(job.report) >= REPORT_MAX_ENTRIES:
        w.writerow(["", "", "", _("Laporan dipotong pada %(n)s masalah.") % {"n": REPORT_MAX_ENTRIES}])
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8


# --- Template and export -------------------------------------------------------------------------

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


def institutions_export(*, actor: Any, filters: InstitutionFilters) -> tuple[IO[bytes], int]:
    """The user's filtered list as .xlsx (a temporary file, rewound) and its row
    count. One audit event names the filters and the count."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if not actor.has_perm("institutions.export"):
        raise PermissionDenied
    qs = institution_list(actor, filters)
    count = qs.count()
    if count > settings.EXPORT_MAX_ROWS:
        raise DomainError(
            _("Daftar ini berisi %(n)s lembaga; ekspor paling banyak %(max)s. Persempit filternya.")
            % {"n": f"{count:,}".replace(",", "."), "max": f"{settings.EXPORT_MAX_ROWS:,}".replace(",", ".")}
        )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="institution.export",
            object_type="institutions.institution",
            after={"filters": asdict(filters), "rows": count},
        )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Lembaga")
    from openpyxl.utils import get_column_letter

    for i, c in enumerate([*COLUMNS, *EXPORT_EXTRA], start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width if isinstance(c, Column) else 16
    ws.append([c.header for c in COLUMNS] + list(EXPORT_EXTRA))
    types, sectors, statuses = dict(InstitutionType.choices), dict(Sector.choices), dict(InstitutionStatus.choices)
    tz = timezone.get_current_timezone()

    def text(value: str) -> Any:
        # Always a string, never a formula, whatever it starts with (and within Excel's cell limit).
        cell = WriteOnlyCell(ws, value=value[:32767])
        cell.data_type = "s"
        return cell

    for inst in qs.iterator(chunk_size=2000):
        me = inst.me
        ws.append(
            [
                text(inst.name),
                str(types.get(inst.type, inst.type)),
                str(sectors.get(inst.sector, inst.sector)),
                text(inst.province_code),
                text(inst.regency_code),
                text(inst.address),
                float(inst.latitude) if inst.latitude is not None else None,
                float(inst.longitude) if inst.longitude is not None else None,
                text(inst.npwp or ""),
                inst.member_count,
                int(inst.potential_value),
                text(inst.potential_basis),
                str(statuses.get(inst.status, inst.status)),
                text(inst.notes),
                text(inst.branch.code),
                text(me.username if me else ""),
                inst.score,
                text(inst.branch.name),
                text((me.get_full_name() or me.username) if me else ""),
                inst.updated_at.astimezone(tz).replace(tzinfo=None),
            ]
        )
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    wb.save(out)
    out.seek(0)
    return out, count
