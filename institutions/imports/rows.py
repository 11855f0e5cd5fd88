"""Validating the rows of one file for one importer into an :class:`Outcome`
(valid rows, per-row report, counts).

Validation never queries per row: branches, MEs, existing NPWPs and the names
of the live institutions in the file's kabupaten/kota are loaded for the whole
file in a few queries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.utils import translation
from django.utils.translation import gettext as _

from core.wilayah import provinces, regencies, short_regency_name
from institutions import validation
from institutions.imports.files import (
    HEADER,
    _code,
    _coordinate,
    _norm,
    _npwp,
    _number,
    _text,
    read_rows,
)
from institutions.imports.similar import Registered, SimilarNames
from institutions.models import ImportJob, Institution, InstitutionStatus, InstitutionType, Sector
from institutions.normalise import name_key
from org.access import visible_institutions
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind, User

PROGRESS_EVERY = 500
QUERY_CHUNK = 400
REPORT_MAX_ENTRIES = 50_000


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


# --- Validating rows ------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    branch: OrgUnit | None = None
    me: Any = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    # A valid row with a similar name: the live institutions, else an earlier line.
    similar: list[Registered] = field(default_factory=list)
    similar_line: int | None = None

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
    warned: list[_Row] = field(default_factory=list)  # valid rows with a similar name

    def add(self, row: _Row) -> None:
        if len(self.report) < REPORT_MAX_ENTRIES:
            self.report.extend(row.problems[: REPORT_MAX_ENTRIES - len(self.report)])

    def add_warnings(self, warnings: list[dict[str, Any]]) -> None:
        """Put the warnings among the problems, in line order. A full report
        keeps the warnings first: their rows are written, so the user must see them."""
        warnings = warnings[:REPORT_MAX_ENTRIES]
        problems = self.report[: max(REPORT_MAX_ENTRIES - len(warnings), 0)]
        self.report = sorted(problems + warnings, key=lambda p: p["line"])  # stable: a row's problems keep their order


def _chunks(items: Iterable[Any], n: int = QUERY_CHUNK) -> Iterator[list[Any]]:
    items = sorted(items)
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _existing_npwps(npwps: set[str]) -> set[str]:
    """Which NPWPs are already registered (to any institution: the column is unique)."""
    found: set[str] = set()
    for chunk in _chunks(npwps):
        found |= set(Institution.objects.filter(npwp__in=chunk).values_list("npwp", flat=True))  # type: ignore[arg-type]
    return found


def _existing(npwps: set[str], pairs: set[tuple[str, str]]) -> tuple[set[str], set[tuple[str, str]]]:
    """Which NPWPs (any institution: the column is unique) and which
    (regency, name key) pairs (live institutions) are already registered."""
    found_npwps = _existing_npwps(npwps)
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

    def __init__(self, actor: Any, assignment: RoleAssignment, *, similar: bool = True, existing: bool = True) -> None:
        self.actor = actor
        self.assignment = assignment
        self.similar = similar
        self.existing = existing
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
        pairs = {r.pair for r in rows if r.pair}
        if self.existing:
            existing_npwps = _existing_npwps({r.values["npwp"] for r in rows if r.values.get("npwp")})
            names = SimilarNames(pairs, chunk=QUERY_CHUNK) if self.similar else None
            existing_pairs = names.taken if names else _existing(set(), pairs)[1]
        else:
            # The caller checks what is registered itself, under its lock (the write).
            names = None
            existing_npwps, existing_pairs = set(), set()
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
            # A valid row (still ok here) is compared with the live institutions and the earlier rows.
            if names is not None and pair:
                row.similar, row.similar_line = names.row(*pair, row.line, check=row.ok)
                if row.similar or row.similar_line:
                    outcome.warned.append(row)
            outcome.add(row)
        if names is not None:
            lines = {r.line: r.values["name"] for r in rows if r.pair}
            outcome.add_warnings(self.warning_entries(outcome.warned, lines))

    def warning_entries(self, rows: list[_Row], names: dict[int, str]) -> list[dict[str, Any]]:
        """The report entries of the rows with a similar name. As in the
        registration form, an institution the importer may open is named and
        linked; any other only by its branch (the check is nationwide, the
        details are not)."""
        matched = {m for r in rows for m in r.similar}
        branches: dict[int, str] = {}
        for chunk in _chunks({m.branch_id for m in matched}):
            branches.update(OrgUnit.objects.filter(pk__in=chunk).values_list("pk", "name"))
        visible: set[int] = set()
        for chunk in _chunks({r.values["regency_code"] for r in rows if r.similar}):
            qs = visible_institutions(self.actor).filter(regency_code__in=chunk)
            visible |= set(qs.values_list("pk", flat=True))
        out = []
        for row in rows:
            similar: list[dict[str, Any]]
            if row.similar:
                similar = [
                    {"id": m.pk, "name": m.name, "branch": branches.get(m.branch_id, "")}
                    if m.pk in visible
                    else {"id": None, "name": None, "branch": branches.get(m.branch_id, "")}
                    for m in row.similar
                ]
                parts = [f"{s['name']} ({s['branch']})" for s in similar if s["id"]]
                for branch in sorted({s["branch"] for s in similar if not s["id"]}):
                    parts.append(_("lembaga di %(branch)s") % {"branch": branch})
                reason = _(
                    "Nama mirip dengan lembaga yang sudah terdaftar di kabupaten/kota ini: %(names)s. "
                    "Baris ini tetap sah dan ikut ditulis; periksa dulu apakah lembaganya sama."
                ) % {"names": "; ".join(parts)}
            else:
                assert row.similar_line is not None
                similar = [{"line": row.similar_line, "name": names.get(row.similar_line, "")}]
                reason = _(
                    "Nama mirip dengan baris %(line)s dalam berkas ini (%(name)s). "
                    "Baris ini tetap sah dan ikut ditulis; periksa dulu apakah lembaganya sama."
                ) % {"line": row.similar_line, "name": similar[0]["name"]}
            out.append(
                {
                    "line": row.line,
                    "column": HEADER["name"],
                    "value": _text(row.raw.get("name"))[:100],
                    "reason": reason,
                    "kind": "warning",
                    "similar": similar,
                }
            )
        return out


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
    _save_raw_cache(job, [(r.line, r.raw) for r in rows])


def _save_raw_cache(job: ImportJob, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Keep the parsed rows beside the file: the upload leaves them for the
    validation, the validation for the write (an .xlsx is parsed once)."""
    payload = json.dumps([[line, {k: _plain(v) for k, v in raw.items()}] for line, raw in rows], separators=(",", ":"))
    _drop_cache(job)
    job.file.storage.save(_cache_name(job), ContentFile(payload.encode()))


def _drop_cache(job: ImportJob) -> None:
    if job.file.name and job.file.storage.exists(_cache_name(job)):
        job.file.storage.delete(_cache_name(job))


def check_file(
    job: ImportJob,
    actor: Any,
    assignment: RoleAssignment,
    progress: Callable[[int], None] | None = None,
    *,
    similar: bool = True,
    existing: bool = True,
) -> Outcome:
    """Parse and validate the job's rows; ``progress(n)`` is called every
    PROGRESS_EVERY rows (it may raise to stop). ``similar``: also look for
    similar names (warnings); the write's re-check keeps the validation's.
    ``existing=False``: leave "already registered" to the caller (the write
    checks it once, under its lock)."""
    checker = _Checker(actor, assignment, similar=similar and existing, existing=existing)
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
