"""Taking closings in from the core systems: a batch of rows (an uploaded file or
``POST /api/v1/closings/batch``) is checked row by row, then written in one
transaction that keeps ``ClosingSummary`` exact.

How nothing is counted twice and nothing valid is lost (DESIGN.md §5):

* new rows go in with ``INSERT … ON CONFLICT (source, external_id) DO NOTHING
  RETURNING``: only the rows really inserted add to the summary. A resent batch,
  a retry after a crash, or two overlapping batches at the same moment (batches
  write one after the other: an advisory lock on PostgreSQL, the IMMEDIATE
  transaction on SQLite) insert each closing once;
* a row whose (source, external id) exists is compared with what is stored
  (locked ``FOR UPDATE``): the same values are "unchanged"; changed values are a
  correction — the row is updated, its revision and the old values kept in
  ``ClosingRevision``, and the summary gets the difference (the old key minus,
  the new key plus);
* summary deltas go in with ``INSERT … ON CONFLICT DO UPDATE SET count =
  count + excluded.count …`` in a fixed key order, inside the same transaction;
* rows and summary keys are written in key order, a second guard against
  batches waiting on each other in a circle.

Invalid rows are reported (line, column, value, reason, rule) and skip; the
valid ones of the same batch are written. One audit event per batch names its
rows by a digest.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Lead
from control import audit
from core import figures
from core.dates import in_range
from core.notify import in_language
from core.products import Product
from institutions.models import Institution
from org.access import unit_in_scope
from org.models import OrgUnit, Role, RoleAssignment, User
from sales.attribution import ClosingFacts, violations
from sales.models import (
    Channel,
    Closing,
    ClosingRevision,
    ClosingSummary,
    CorporateAgent,
    CrossBranchRule,
    FleetScheme,
    IndividualAgent,
    IngestBatch,
    InitiatorKind,
    PmpFacility,
    PointRewardMembership,
    Scheme,
    Source,
)

COLUMNS = (
    "external_id",
    "closed_on",
    "branch",
    "upc",
    "product",
    "amount",
    "grams",
    "new_customer",
    "customer_ref",
    "scheme",
    "channel",
    "institution",
    "cross_branch_rule",
    "initiator_kind",
    "initiator",
    "agent",
    "lead",
)
REQUIRED = ("external_id", "closed_on", "branch", "product", "amount", "scheme", "channel", "initiator_kind")
# What a correction may change (and what is compared to tell one).
STORED = (
    "closed_on",
    "branch_id",
    "area_id",
    "region_id",
    "upc_id",
    "product",
    "amount",
    "grams",
    "new_customer",
    "customer_ref",
    "scheme",
    "channel",
    "institution_id",
    "cross_branch_rule",
    "initiator_kind",
    "initiator_user_id",
    "individual_agent_id",
    "corporate_agent_id",
    "lead_id",
)
# The choices as sets, built once (``Choices.values`` builds a new list on every use).
PRODUCTS = frozenset(Product.values)
SCHEMES = frozenset(Scheme.values)
CHANNELS = frozenset(Channel.values)
INITIATOR_KINDS = frozenset(InitiatorKind.values)
CROSS_BRANCH_RULES = frozenset(CrossBranchRule.values)
# A single closing above Rp 100 trillion is junk (and would overflow the summary's totals).
MAX_AMOUNT = Decimal(10) ** 14
TRUE_WORDS = {"1", "true", "ya", "y", "yes", "baru"}
FALSE_WORDS = {"0", "false", "tidak", "t", "no", "n", "lama", ""}


def max_rows() -> int:
    return int(getattr(settings, "SALES_BATCH_MAX_ROWS", 10_000))


def mask_customer(ref: str) -> str:
    """Never the full id: its last 4 characters behind a mask."""
    ref = "".join(ref.split())
    if not ref:
        return ""
    return "****" + ref[-4:]


@dataclass
class Outcome:
    batch: IngestBatch | None = None
    inserted: int = 0
    corrected: int = 0
    unchanged: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_rows(self) -> int:
        return len({p["line"] for p in self.problems})


@dataclass
class _Row:
    line: int
    values: dict[str, Any]


class _Refs:
    """Every reference of a batch resolved in a few queries."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        rows = [r for r in rows if isinstance(r, dict)]  # the others are reported by check_rows

        def codes(key: str) -> set[str]:
            return {str(r.get(key) or "").strip() for r in rows if str(r.get(key) or "").strip()}

        def ids(key: str) -> set[int]:
            out = set()
            for r in rows:
                text = str(r.get(key) or "").strip()
                if _is_id(text):
                    out.add(int(text))
            return out

        unit_codes = codes("branch") | codes("upc")
        self.units = {u.code: u for u in OrgUnit.objects.filter(code__in=unit_codes).select_related("parent")}
        self.users = {u.username: u for u in User.objects.filter(username__in=codes("initiator"), is_active=True)}
        agent_codes = codes("agent")
        self.individual = {a.code: a for a in IndividualAgent.objects.filter(code__in=agent_codes, is_active=True)}
        self.corporate = {a.code: a for a in CorporateAgent.objects.filter(code__in=agent_codes, is_active=True)}
        inst_ids = ids("institution")
        self.institutions = {i.pk: i for i in Institution.objects.live().filter(pk__in=inst_ids)}
        self.leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids("lead"))}
        self.fleet = set(
            FleetScheme.objects.filter(operator_id__in=inst_ids, is_active=True).values_list("operator_id", flat=True)
        )
        self.points = set(
            PointRewardMembership.objects.filter(institution_id__in=inst_ids, is_active=True).values_list(
                "institution_id", flat=True
            )
        )
        self.pmp = set(
            PmpFacility.objects.filter(borrower_id__in=inst_ids, is_active=True).values_list("borrower_id", flat=True)
        )
        branch_ids = [u.pk for u in self.units.values()]
        # Every role a user holds in each branch (one may be ME and sales at once).
        self.roles: dict[tuple[int, int], set[str]] = defaultdict(set)
        for user_id, unit_id, role in (
            RoleAssignment.objects.active()
            .filter(unit_id__in=branch_ids, user__in=list(self.users.values()))
            .values_list("user_id", "unit_id", "role")
        ):
            if role in (Role.SALES, Role.ME, Role.PINCA, Role.KARYAWAN):
                self.roles[(user_id, unit_id)].add(role)


_REPORTED = object()  # a row already refused (its line kept)


def _unusable(value: Any) -> bool:
    """Text no database should store: a NUL byte, or a lone surrogate (not UTF-8)."""
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _role_for(kind: str, roles: set[str]) -> str:
    """The initiator's role in the closing branch that the rules should see: the
    one the initiator kind asks for when the user holds it."""
    if kind == InitiatorKind.SALES and Role.SALES in roles:
        return str(Role.SALES)
    if kind == InitiatorKind.ME and Role.ME in roles:
        return str(Role.ME)
    return str(sorted(roles)[0]) if roles else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _is_id(text: str) -> bool:
    # isdigit() alone lets "²" through, which int() refuses.
    return text.isascii() and text.isdigit() and len(text) <= 18


def _parse(line: int, raw: dict[str, Any], refs: _Refs, actor: Any) -> tuple[dict[str, Any] | None, list[dict]]:
    """One row: its stored values, or the problems that refuse it."""
    problems: list[dict[str, Any]] = []

    def bad(column: str, reason: str, rule: str = "") -> None:
        problems.append(
            {"line": line, "column": column, "value": _text(raw.get(column))[:80], "reason": reason, "rule": rule}
        )

    for col in REQUIRED:
        if not _text(raw.get(col)):
            bad(col, _("Wajib diisi."))
    if problems:
        return None, problems
    v: dict[str, Any] = {"external_id": _text(raw["external_id"])}
    if len(v["external_id"]) > 64:  # cut, two ids could become one
        bad("external_id", _("Id transaksi paling panjang 64 karakter."))
    try:
        v["closed_on"] = date.fromisoformat(_text(raw["closed_on"])[:10])
        if not in_range(v["closed_on"]) or v["closed_on"] > timezone.localdate():
            bad("closed_on", _("Tanggal closing tidak boleh di masa depan atau di luar 2000–2100."))
    except ValueError:
        bad("closed_on", _("Tanggal harus berformat TTTT-BB-HH."))
    branch = refs.units.get(_text(raw["branch"]))
    if branch is None:
        bad("branch", _("Kode cabang tidak dikenal."))
    elif actor is not None and not unit_in_scope(actor, branch):
        bad("branch", _("Cabang di luar cakupan Anda."))
    upc = None
    if _text(raw.get("upc")):
        upc = refs.units.get(_text(raw["upc"]))
        if upc is None:
            bad("upc", _("Kode UPC tidak dikenal."))
    product = _text(raw["product"]).upper()
    if product not in PRODUCTS:
        bad("product", _("Produk tidak dikenal."))
    try:
        amount = Decimal(_text(raw["amount"]).replace(",", ""))
        if amount < 0 or amount >= MAX_AMOUNT or amount != amount.to_integral_value():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        bad("amount", _("Nilai harus rupiah bulat, tidak negatif."))
        amount = Decimal(0)
    grams = None
    if _text(raw.get("grams")):
        try:
            grams = Decimal(_text(raw["grams"]).replace(",", ".")).quantize(Decimal("0.0001"))
            if grams < 0 or grams >= Decimal(10) ** 8:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            bad("grams", _("Gram tidak valid."))
            grams = None
    new_word = _text(raw.get("new_customer")).lower()
    if new_word not in TRUE_WORDS | FALSE_WORDS:
        bad("new_customer", _("Isi ya/tidak."))
    scheme = _text(raw["scheme"]).upper()
    if scheme not in SCHEMES:
        bad("scheme", _("Skema harus BTOC atau BTOB."))
    channel = _text(raw["channel"]).upper()
    if channel not in CHANNELS:
        bad("channel", _("Kanal tidak dikenal."))
    kind = _text(raw["initiator_kind"]).upper()
    if kind not in INITIATOR_KINDS:
        bad("initiator_kind", _("Jenis inisiator tidak dikenal."))
    rule = _text(raw.get("cross_branch_rule")).upper()
    if rule and rule not in CROSS_BRANCH_RULES:
        bad("cross_branch_rule", _("Aturan lintas cabang tidak dikenal."))
    institution = None
    if _text(raw.get("institution")):
        text = _text(raw["institution"])
        institution = refs.institutions.get(int(text)) if _is_id(text) else None
        if institution is None:
            bad("institution", _("Lembaga tidak dikenal."))
    user = None
    if _text(raw.get("initiator")):
        user = refs.users.get(_text(raw["initiator"]))
        if user is None:
            bad("initiator", _("Pengguna inisiator tidak dikenal."))
    individual = corporate = None
    if _text(raw.get("agent")):
        code = _text(raw["agent"])
        individual, corporate = refs.individual.get(code), refs.corporate.get(code)
        if individual is None and corporate is None:
            bad("agent", _("Kode agen tidak dikenal."))
    lead = None
    if _text(raw.get("lead")):
        text = _text(raw["lead"])
        lead = refs.leads.get(int(text)) if _is_id(text) else None
        if lead is None:
            bad("lead", _("Prospek tidak dikenal."))
    if problems:
        return None, problems
    assert branch is not None
    facts = ClosingFacts(
        scheme=scheme,
        channel=channel,
        product=product,
        amount=amount,
        grams=grams,
        branch=branch,
        upc=upc,
        institution=institution,
        cross_branch_rule=rule,
        initiator_kind=kind,
        initiator_user=user,
        initiator_role=_role_for(kind, refs.roles.get((user.pk, branch.pk), set()) if user else set()),
        individual_agent=individual,
        corporate_agent=corporate,
        lead=lead,
        has_fleet=institution is not None and institution.pk in refs.fleet,
        has_point_reward=institution is not None and institution.pk in refs.points,
        has_pmp=institution is not None and institution.pk in refs.pmp,
    )
    for rule_name, message in violations(facts):
        bad("scheme", _("Aturan %(rule)s: %(message)s") % {"rule": rule_name, "message": message}, rule_name)
    if problems:
        return None, problems
    area = branch.parent
    assert area is not None
    v.update(
        {
            "closed_on": v["closed_on"],
            "branch_id": branch.pk,
            "area_id": area.pk,
            "region_id": area.parent_id,
            "upc_id": upc.pk if upc else None,
            "product": product,
            "amount": amount,
            "grams": grams,
            "new_customer": new_word in TRUE_WORDS,
            "customer_ref": mask_customer(_text(raw.get("customer_ref"))),
            "scheme": scheme,
            "channel": channel,
            "institution_id": institution.pk if institution else None,
            "cross_branch_rule": rule,
            "initiator_kind": kind,
            "initiator_user_id": user.pk if user else None,
            "individual_agent_id": individual.pk if individual else None,
            "corporate_agent_id": corporate.pk if corporate else None,
            "lead_id": lead.pk if lead else None,
        }
    )
    return v, []


def check_rows(rows: list[dict[str, Any]], *, actor: Any, first_line: int = 2) -> tuple[list[_Row], list[dict]]:
    """Parse and check every row; (valid rows, problems). A key twice in one batch is refused the second time."""
    problems: list[dict[str, Any]] = []
    clean: list[Any] = []
    for i, raw in enumerate(rows):
        if isinstance(raw, dict) and any(_unusable(v) for v in raw.values()):
            problems.append(
                {
                    "line": first_line + i,
                    "column": next((str(k) for k, v in raw.items() if _unusable(v)), ""),
                    "value": "",
                    "reason": _("Teks mengandung karakter yang tidak sah."),
                    "rule": "",
                }
            )
            clean.append(_REPORTED)  # keeps the line numbers; skipped below
        else:
            clean.append(raw)
    rows = clean
    refs = _Refs([r for r in rows if isinstance(r, dict)])
    valid: list[_Row] = []
    seen: set[str] = set()
    for i, raw in enumerate(rows):
        line = first_line + i
        if raw is _REPORTED:
            continue  # reported above
        if not isinstance(raw, dict):
            problems.append({"line": line, "column": "", "value": "", "reason": _("Baris bukan objek."), "rule": ""})
            continue
        values, errs = _parse(line, raw, refs, actor)
        if errs:
            problems.extend(errs)
            continue
        assert values is not None
        if values["external_id"] in seen:
            problems.append(
                {
                    "line": line,
                    "column": "external_id",
                    "value": values["external_id"],
                    "reason": _("Id transaksi ini muncul lebih dari sekali dalam batch."),
                    "rule": "",
                }
            )
            continue
        seen.add(values["external_id"])
        valid.append(_Row(line, values))
    return valid, problems


# --- Writing ---------------------------------------------------------------------------------------

INSERT_COLUMNS = ("source", "external_id", *STORED, "revision", "batch_id", "created_at", "updated_at")
SUMMARY_KEY = ("day", "branch_id", "scheme", "channel", "product")
CHUNK = 500
# The advisory lock every closings batch takes on PostgreSQL (an arbitrary, fixed number).
INGEST_LOCK = 5_170_201


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    return (values["closed_on"], values["branch_id"], values["scheme"], values["channel"], values["product"])


def _add(deltas: dict[tuple[Any, ...], list[Any]], values: dict[str, Any], sign: int) -> None:
    key = _key(values)
    d = deltas.setdefault(key, [values["area_id"], values["region_id"], 0, Decimal(0), Decimal(0), 0])
    d[0], d[1] = values["area_id"], values["region_id"]
    d[2] += sign
    d[3] += sign * values["amount"]
    d[4] += sign * (values["grams"] or Decimal(0))
    d[5] += sign * (1 if values["new_customer"] else 0)


# PostgreSQL types of the inserted columns, for the array form of the insert.
PG_TYPES = {
    "source": "text",
    "external_id": "text",
    "closed_on": "date",
    "branch_id": "bigint",
    "area_id": "bigint",
    "region_id": "bigint",
    "upc_id": "bigint",
    "product": "text",
    "amount": "numeric",
    "grams": "numeric",
    "new_customer": "boolean",
    "customer_ref": "text",
    "scheme": "text",
    "channel": "text",
    "institution_id": "bigint",
    "cross_branch_rule": "text",
    "initiator_kind": "text",
    "initiator_user_id": "bigint",
    "individual_agent_id": "bigint",
    "corporate_agent_id": "bigint",
    "lead_id": "bigint",
    "revision": "integer",
    "batch_id": "bigint",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}


def _insert_new_pg(rows: list[_Row], source: str, batch_id: int, now: Any) -> set[str]:
    """PostgreSQL: one statement whose values are one array per column
    (``unnest``): no per-value placeholders for the driver to expand."""
    table = connection.ops.quote_name(Closing._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in INSERT_COLUMNS)
    arrays: list[list[Any]] = [[] for _c in INSERT_COLUMNS]
    for r in rows:
        v = r.values
        for i, value in enumerate((source, v["external_id"], *(v[c] for c in STORED), 1, batch_id, now, now)):
            arrays[i].append(value)
    unnest = ", ".join(f"%s::{PG_TYPES[c]}[]" for c in INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({unnest}) "  # noqa: S608 - names quoted, values bound
            f'ON CONFLICT ("source", "external_id") DO NOTHING RETURNING "external_id"',
            arrays,
        )
        return {row[0] for row in cursor.fetchall()}


def _insert_new(rows: list[_Row], source: str, batch_id: int, now: Any) -> set[str]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the external ids really inserted."""
    if connection.vendor == "postgresql":
        return _insert_new_pg(rows, source, batch_id, now)
    table = connection.ops.quote_name(Closing._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in INSERT_COLUMNS)
    inserted: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"] * len(chunk))
            params: list[Any] = []
            stamp = connection.ops.adapt_datetimefield_value(now)
            for r in chunk:
                v = r.values
                params.extend([source, v["external_id"], *(_db(c, v[c]) for c in STORED), 1, batch_id, stamp, stamp])
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {placeholders} "  # noqa: S608 - names quoted, values bound
                f'ON CONFLICT ("source", "external_id") DO NOTHING RETURNING "external_id"',
                params,
            )
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def apply_summary(deltas: dict[tuple[Any, ...], list[Any]]) -> None:
    """Add the deltas to the summary, in key order, with one upsert per chunk."""
    items = sorted((k, d) for k, d in deltas.items() if any(d[2:]))
    if not items:
        return
    table = connection.ops.quote_name(ClosingSummary._meta.db_table)
    cols = (
        "day",
        "branch_id",
        "area_id",
        "region_id",
        "scheme",
        "channel",
        "product",
        "count",
        "amount",
        "grams",
        "new_customers",
    )
    quoted = ", ".join(connection.ops.quote_name(c) for c in cols)
    adds = ", ".join(f'"{c}" = {table}."{c}" + excluded."{c}"' for c in ("count", "amount", "grams", "new_customers"))
    conflict = (
        f'ON CONFLICT ("day", "branch_id", "scheme", "channel", "product") DO UPDATE SET {adds}, '
        f'"area_id" = excluded."area_id", "region_id" = excluded."region_id"'
    )
    if connection.vendor == "postgresql":
        # One statement, one array per column (rows already in key order).
        arrays: list[list[Any]] = [[] for _c in cols]
        for (day, branch_id, scheme, channel, product), (area_id, region_id, n, amount, grams, new) in items:
            for i, value in enumerate(
                (day, branch_id, area_id, region_id, scheme, channel, product, n, amount, grams, new)
            ):
                arrays[i].append(value)
        types = ("date", "bigint", "bigint", "bigint", "text", "text", "text", "bigint", "numeric", "numeric", "bigint")
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({quoted}) SELECT * FROM unnest({unnest}) {conflict}",  # noqa: S608 - quoted
                arrays,
            )
        return
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(cols)) + ")"] * len(chunk))
            params: list[Any] = []
            ops = connection.ops
            for (day, branch_id, scheme, channel, product), (area_id, region_id, n, amount, grams, new) in chunk:
                params.extend(
                    [
                        ops.adapt_datefield_value(day),
                        branch_id,
                        area_id,
                        region_id,
                        scheme,
                        channel,
                        product,
                        n,
                        ops.adapt_decimalfield_value(amount, 20, 0),
                        ops.adapt_decimalfield_value(grams, 16, 4),
                        new,
                    ]
                )
            cursor.execute(
                f"INSERT INTO {table} ({quoted}) VALUES {placeholders} {conflict}",  # noqa: S608 - names quoted
                params,
            )


def _db(column: str, value: Any) -> Any:
    """A stored value as the database driver wants it (dates, decimals)."""
    ops = connection.ops
    if column == "closed_on":
        return ops.adapt_datefield_value(value)
    if column == "amount":
        return ops.adapt_decimalfield_value(value, 18, 0)
    if column == "grams":
        return None if value is None else ops.adapt_decimalfield_value(value, 12, 4)
    return value


def _as_json(values: dict[str, Any]) -> dict[str, Any]:
    return audit.to_json({k: values[k] for k in STORED})  # type: ignore[no-any-return]


def ingest(
    *,
    actor: Any,
    source: str,
    rows: list[dict[str, Any]],
    via: str = "api",
    original_name: str = "",
    first_line: int = 2,
) -> Outcome:
    """Check and write one batch. Valid rows are written even when others are refused."""
    if actor is not None and not actor.has_perm("sales.ingest"):
        raise PermissionDenied
    if source not in Source.values:
        return Outcome(
            problems=[
                {"line": 0, "column": "source", "value": source, "reason": _("Sumber tidak dikenal."), "rule": ""}
            ]
        )
    if len(rows) > max_rows():
        return Outcome(
            problems=[
                {
                    "line": 0,
                    "column": "",
                    "value": str(len(rows)),
                    "reason": _("Paling banyak %(n)s baris per batch.") % {"n": max_rows()},
                    "rule": "",
                }
            ]
        )
    # The report is read by who sent the batch: written in their language.
    with in_language(actor) if actor is not None else nullcontext():
        valid, problems = check_rows(rows, actor=actor, first_line=first_line)
    out = Outcome(problems=problems)
    valid.sort(key=lambda r: r.values["external_id"])  # one order for every batch: no deadlock between two
    digest = hashlib.sha256("\n".join(f"{source}:{r.values['external_id']}" for r in valid).encode()).hexdigest()
    assignment = None
    if actor is not None:
        from org.access import active_assignment

        assignment = active_assignment(actor)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Batches write one after the other: closings and summary rows are
            # shared between them, and two writers taking row locks in the two
            # tables could wait on each other in a circle (a deadlock, measured
            # under 4 concurrent batches). SQLite's IMMEDIATE transactions
            # already serialise writers.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])
        batch = IngestBatch.objects.create(
            source=source,
            via=via,
            created_by=actor,
            unit=assignment.unit if assignment else None,
            original_name=original_name[:255],
            total_rows=len(rows),
            digest=digest,
        )
        now = timezone.now()
        inserted = _insert_new(valid, source, batch.pk, now) if valid else set()
        deltas: dict[tuple[Any, ...], list[Any]] = {}
        rest = [r for r in valid if r.values["external_id"] not in inserted]
        for r in valid:
            if r.values["external_id"] in inserted:
                _add(deltas, r.values, +1)
        out.inserted = len(inserted)
        if rest:
            existing = {
                c.external_id: c
                for c in Closing.objects.select_for_update()
                .filter(source=source, external_id__in=[r.values["external_id"] for r in rest])
                .select_related("branch")
                .order_by("id")
            }
            revisions = []
            for r in rest:
                current = existing[r.values["external_id"]]
                if actor is not None and not unit_in_scope(actor, current.branch):
                    # Another branch's closing: not the sender's to correct (nor to move).
                    with in_language(actor):
                        reason = _("Closing dengan id ini milik cabang di luar cakupan Anda.")
                    out.problems.append(
                        {
                            "line": r.line,
                            "column": "external_id",
                            "value": r.values["external_id"],
                            "reason": reason,
                            "rule": "",
                        }
                    )
                    continue
                old = {k: getattr(current, k) for k in STORED}
                if all(_same(old[k], r.values[k]) for k in STORED):
                    out.unchanged += 1
                    continue
                _add(deltas, old, -1)
                _add(deltas, r.values, +1)
                current.revision += 1
                for k in STORED:
                    setattr(current, k, r.values[k])
                current.batch_id = batch.pk
                current.save(update_fields=[*STORED, "revision", "batch", "updated_at"])
                revisions.append(
                    ClosingRevision(
                        closing=current,
                        revision=current.revision,
                        before=audit.to_json(old),
                        after=_as_json(r.values),
                        batch=batch,
                    )
                )
                out.corrected += 1
            ClosingRevision.objects.bulk_create(revisions)
        apply_summary(deltas)
        figures.changed(pairs={(k[1], k[0]) for k in deltas})
        batch.inserted, batch.corrected, batch.unchanged = out.inserted, out.corrected, out.unchanged
        batch.error_rows = out.error_rows
        batch.report = out.problems[:5000]
        batch.save(update_fields=["inserted", "corrected", "unchanged", "error_rows", "report", "updated_at"])
        audit.record(
            actor=actor,
            action="closing.batch",
            obj=batch,
            after={
                "source": source,
                "rows": len(rows),
                "inserted": out.inserted,
                "corrected": out.corrected,
                "unchanged": out.unchanged,
                "errors": out.error_rows,
                "digest": digest,
            },
        )
    out.batch = batch
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None and b is None) or (a is not None and b is not None and Decimal(a) == Decimal(b))
    return bool(a == b)


# --- Summary: rebuild and check ---------------------------------------------------------------------


RECOUNT_SQL = """
SELECT closed_on, branch_id, area_id, region_id, scheme, channel, product,
       COUNT(*), SUM(amount), COALESCE(SUM(grams), 0),
       SUM(CASE WHEN new_customer THEN 1 ELSE 0 END)
FROM sales_closing
GROUP BY closed_on, branch_id, area_id, region_id, scheme, channel, product
"""


@transaction.atomic
def rebuild_summary() -> int:
    """Recount the summary from the closings. On PostgreSQL the closings are
    locked against writes (SHARE) first: a batch still being written finishes
    before the recount reads, a new one waits until the rebuild commits, so no
    increment is lost or counted twice."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {Closing._meta.db_table} IN SHARE MODE")  # noqa: S608 - our table name
        cursor.execute(f"DELETE FROM {ClosingSummary._meta.db_table}")  # noqa: S608 - our table name
        cursor.execute(
            f"INSERT INTO {ClosingSummary._meta.db_table} "  # noqa: S608 - our table name
            "(day, branch_id, area_id, region_id, scheme, channel, product, count, amount, grams, new_customers) "
            + RECOUNT_SQL
        )
        n = cursor.rowcount
        audit.record(
            actor=None,
            action="closing.summary_rebuild",
            object_type="sales.closingsummary",
            object_id="all",
            after={"rows": n},
        )
    return int(n)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal(1))


def _gram(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


def summary_differences(limit: int = 20) -> list[dict[str, Any]]:
    """Where the kept summary and a recount disagree (empty: they agree). Rows
    whose every figure is zero (all their closings corrected away) count as absent."""
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT_SQL)
        recount = {
            (_day(r[0]), r[1], r[4], r[5], r[6]): (int(r[7]), _money(r[8]), _gram(r[9]), int(r[10]), r[2], r[3])
            for r in cursor.fetchall()
        }
    kept = {
        (s.day, s.branch_id, s.scheme, s.channel, s.product): (
            s.count,
            _money(s.amount),
            _gram(s.grams),
            s.new_customers,
            s.area_id,
            s.region_id,
        )
        for s in ClosingSummary.objects.all().iterator(chunk_size=5000)
        if s.count or s.amount or s.grams or s.new_customers
    }
    out = []
    for key in sorted(set(recount) | set(kept), key=str):
        if recount.get(key) != kept.get(key):
            out.append({"key": key, "recount": recount.get(key), "summary": kept.get(key)})
            if len(out) >= limit:
                break
    return out
