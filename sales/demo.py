"""Demo data for closings and their attribution: the channel registries of each
branch and three years of closings up to yesterday (Jakarta), with the daily
summary built from them.

Runs after ``activities.demo.load`` (it links closings to the demo leads that
reached CLOSING). Per branch, in branch-code order, from its own random
stream:

* registries: individual agents (the branch's AGEN user is the first; most
  track an institution of the branch), corporate/community agents for some
  partner KOMUNITAS/KOPERASI/ASOSIASI institutions, fleet schemes for partner
  ARMADA institutions, Club Point Reward memberships and PMP facilities for a
  few partners. A partner is a live, active institution of the branch with an
  active ME, furthest along the pipeline first;
* closings on days drawn with the year's rhythm (weekdays over weekends, the
  weeks before Eid al-Fitr and Eid al-Adha and December up, the Eid holidays
  and New Year down, school fees in July, growth year on year), a gadai-heavy
  product mix with grams for gold, mostly BtoC sales team and digital, BtoB
  through the partners with their ME as initiator and the registries for the
  agent, fleet, point reward and PMP channels; a few name an institution of
  another branch under the documented NASIONAL or DIGITAL rule. Every CLOSING
  lead of the branch gets its closing (same institution and product).

Every closing keeps ``sales.attribution``'s rules (tests check a sample through
``sales.ingest.check_rows``). Deterministic for a seed and a load day.
Idempotent: a branch that already has closings is left alone. Written with COPY
on PostgreSQL (into an empty table: keys and indexes dropped and built once
after, as ``activities.demo`` does) and ``executemany`` elsewhere; the summary is
one ``INSERT … SELECT … GROUP BY`` over the loaded branches; one audit event for
the whole load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from activities.models import Lead, LeadStatus
from control import audit
from core.products import GOLD_PRODUCTS, Product
from institutions import demo as institutions_demo
from institutions.models import Institution, InstitutionStatus, InstitutionType, Stage
from org import demo as org_demo
from org.models import OrgUnit, Role, RoleAssignment, UnitKind
from sales.ingest import mask_customer
from sales.models import (
    Channel,
    Closing,
    ClosingSummary,
    CorporateAgent,
    CrossBranchRule,
    FleetScheme,
    IndividualAgent,
    InitiatorKind,
    PmpFacility,
    PointRewardMembership,
    Scheme,
    Source,
)

JKT = ZoneInfo("Asia/Jakarta")
NULL = "\\N"  # COPY text format
TOTALS = {"small": 6_000, "national": 5_000_000}
HISTORY_YEARS = 3
FLUSH_AT = 200_000  # closings held before they are written
P = Product
C = Channel

# --- The year's rhythm ---------------------------------------------------------------------

EID_AL_FITR = [dt.date(2022, 5, 2), dt.date(2023, 4, 22), dt.date(2024, 4, 10), dt.date(2025, 3, 31),
               dt.date(2026, 3, 20), dt.date(2027, 3, 10), dt.date(2028, 2, 27), dt.date(2029, 2, 14)]  # fmt: skip
EID_AL_ADHA = [dt.date(2022, 7, 10), dt.date(2023, 6, 29), dt.date(2024, 6, 17), dt.date(2025, 6, 6),
               dt.date(2026, 5, 27), dt.date(2027, 5, 16), dt.date(2028, 5, 5), dt.date(2029, 4, 24)]  # fmt: skip
WEEKDAY = (1.05, 1.0, 1.0, 1.0, 0.95, 0.5, 0.15)
MONTH = {1: 0.85, 2: 0.95, 7: 1.15, 8: 1.05, 11: 1.05, 12: 1.3}
GROWTH_PER_YEAR = 0.14


def day_weight(d: dt.date, first: dt.date) -> float:
    """How busy a day is, relative to an ordinary Tuesday at the start of the history."""
    w = WEEKDAY[d.weekday()] * MONTH.get(d.month, 1.0)
    if (d.month, d.day) in ((1, 1), (8, 17), (12, 25)):
        w *= 0.2
    for eid in EID_AL_FITR:
        delta = (d - eid).days
        if -21 <= delta <= -1:  # Ramadan's last weeks: cash for Lebaran, gold bought
            w *= 1.7 if delta >= -10 else 1.4
        elif 0 <= delta <= 3:  # cuti bersama: offices mostly closed
            w *= 0.15
        elif 4 <= delta <= 10:
            w *= 0.9
    for eid in EID_AL_ADHA:
        if -10 <= (d - eid).days <= -1:  # qurban
            w *= 1.2
    return w * (1 + GROWTH_PER_YEAR * (d - first).days / 365.25)


# --- Products and amounts ------------------------------------------------------------------

# median amount (Rp) and spread of each product
AMOUNT: dict[str, tuple[float, float]] = {
    P.GADAI_KCA: (3_500_000, 0.9),
    P.TABUNGAN_EMAS: (400_000, 1.0),
    P.CICIL_EMAS: (12_000_000, 0.8),
    P.KRASIDA: (25_000_000, 0.7),
    P.KREASI: (40_000_000, 0.7),
    P.ARRUM: (30_000_000, 0.6),
    P.ARRUM_HAJI: (25_000_000, 0.2),
    P.AMANAH: (90_000_000, 0.6),
    P.GADAI_EFEK: (50_000_000, 1.0),
    P.PMP: (150_000_000, 0.7),
}
CICIL_GRAMS = [(1, 10), (2, 14), (3, 12), (5, 22), (10, 20), (25, 12), (50, 6), (100, 4)]
MIX: dict[str, list[tuple[str, float]]] = {
    "btoc": [
        (P.GADAI_KCA, 50),
        (P.TABUNGAN_EMAS, 16),
        (P.CICIL_EMAS, 8),
        (P.KRASIDA, 7),
        (P.KREASI, 6),
        (P.AMANAH, 5),
        (P.ARRUM, 3),
        (P.ARRUM_HAJI, 4),
        (P.GADAI_EFEK, 1),
    ],  # fmt: skip
    "digital": [(P.TABUNGAN_EMAS, 45), (P.GADAI_KCA, 35), (P.CICIL_EMAS, 15), (P.ARRUM_HAJI, 5)],
    "btob": [
        (P.GADAI_KCA, 35),
        (P.TABUNGAN_EMAS, 20),
        (P.CICIL_EMAS, 15),
        (P.KREASI, 10),
        (P.KRASIDA, 10),
        (P.AMANAH, 5),
        (P.ARRUM_HAJI, 5),
    ],  # fmt: skip
    "community": [(P.GADAI_KCA, 45), (P.TABUNGAN_EMAS, 30), (P.CICIL_EMAS, 15), (P.KREASI, 10)],
    "fleet": [(P.AMANAH, 60), (P.KREASI, 25), (P.KRASIDA, 15)],
    "points": [(P.TABUNGAN_EMAS, 45), (P.GADAI_KCA, 35), (P.CICIL_EMAS, 20)],
    "pmp": [(P.PMP, 1)],
}
SOURCE_OF: dict[str, str] = {
    P.GADAI_KCA: Source.CORE_GADAI,
    P.GADAI_EFEK: Source.CORE_GADAI,
    P.TABUNGAN_EMAS: Source.CORE_EMAS,
    P.CICIL_EMAS: Source.CORE_EMAS,
}  # the rest: CORE_PEMBIAYAAN; the digital channel: DIGITAL
NEW_CUSTOMER: dict[str, float] = {C.DIGITAL: 0.45, C.AGEN_PERSEORANGAN: 0.4, C.SALES_TEAM: 0.3, P.GADAI_KCA: 0.22}
GOLD_PRICE = (1_050_000, 1_950_000)  # Rp per gram three years ago and today
UPC_SHARE = 0.35
BTOC_INSTITUTION_SHARE = 0.25  # of sales-team closings, naming the institution the customer came from
CROSS_BRANCH_SHARE = 0.01

# Channel weights (percent of closings) before a branch's registries reduce them.
CHANNELS: list[tuple[str, str, float]] = [
    (Scheme.BTOC, C.SALES_TEAM, 36),
    (Scheme.BTOC, C.DIGITAL, 30),
    (Scheme.BTOC, C.EGC_KARYAWAN, 7),
    (Scheme.BTOC, C.AGEN_PERSEORANGAN, 5),
    (Scheme.BTOC, C.BTOC_LAINNYA, 2),
    (Scheme.BTOB, C.AGEN_BADAN_USAHA, 5),
    (Scheme.BTOB, C.FLEET, 3.5),
    (Scheme.BTOB, C.POINT_REWARD, 4),
    (Scheme.BTOB, C.PMP, 1),
    (Scheme.BTOB, C.BTOB_LAINNYA, 6.5),
]
PARTNER_STAGES = (Stage.MAINTENANCE, Stage.EKSEKUSI, Stage.KERJA_SAMA)
COMMUNITY_TYPES = (InstitutionType.KOMUNITAS, InstitutionType.KOPERASI, InstitutionType.ASOSIASI)
PMP_TYPES = (InstitutionType.KOPERASI, InstitutionType.BUMDES, *COMMUNITY_TYPES)
AGENT_NAMES = ["Agen", "Mitra Agen", "Agen Emas"]

COLUMNS = (
    "created_at", "updated_at", "branch_id", "area_id", "region_id", "source", "external_id", "closed_on", "upc_id",
    "product", "amount", "grams", "new_customer", "customer_ref", "scheme", "channel", "institution_id",
    "cross_branch_rule", "initiator_kind", "initiator_user_id", "individual_agent_id", "corporate_agent_id",
    "lead_id", "revision",
)  # fmt: skip


# --- What is loaded ------------------------------------------------------------------------


@dataclass
class Partner:
    id: int
    me: int
    type: str


@dataclass
class Branch:
    id: int
    code: str
    area: int
    region: int
    upcs: list[int]
    agen: list[int]  # AGEN users
    sales: list[int]
    employees: list[int]
    institutions: list[int]  # live institutions of the branch
    partners: list[Partner] = field(default_factory=list)
    # registries: (id, institution id or None)
    individual: list[tuple[int, int | None]] = field(default_factory=list)
    corporate: list[tuple[int, int]] = field(default_factory=list)
    fleet: list[int] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    pmp: list[int] = field(default_factory=list)


def _pick_weighted(items: list[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values = [v for v, _ in items]
    cum: list[float] = []
    total = 0.0
    for _, w in items:
        total += w
        cum.append(total)
    return values, cum


class _Loader:
    def __init__(
        self, *, scale: str, seed: int, progress: Callable[[str, int], Any], now: dt.datetime | None = None
    ) -> None:
        self.scale, self.seed, self.progress = scale, seed, progress
        self.now = now or timezone.now()
        self.stamp = self.now.astimezone(dt.UTC).isoformat()
        self.yesterday = self.now.astimezone(JKT).date() - dt.timedelta(days=1)
        first = self.yesterday.replace(year=self.yesterday.year - HISTORY_YEARS) + dt.timedelta(days=1)
        self.days = [first + dt.timedelta(days=i) for i in range((self.yesterday - first).days + 1)]
        weights = [day_weight(d, first) for d in self.days]
        self.day_cum = _pick_weighted(list(zip(self.days, weights, strict=True)))[1]
        span = max(1, (self.yesterday - first).days)
        self.gold_price = {
            d: GOLD_PRICE[0] + (GOLD_PRICE[1] - GOLD_PRICE[0]) * (d - first).days / span for d in self.days
        }
        self.mix = {k: _pick_weighted(v) for k, v in MIX.items()}
        self.copy = connection.vendor == "postgresql"
        self.started = time.monotonic()
        self.created = {
            "closings": 0,
            "individual_agents": 0,
            "corporate_agents": 0,
            "fleet_schemes": 0,
            "point_rewards": 0,
            "pmp_facilities": 0,
            "summary_rows": 0,
        }
        self.buffer: list[tuple[Any, ...]] = []
        self.digest = hashlib.sha256()
        self.tick: Callable[[int], Any] = lambda n: None
        # head offices (and their branch): their members bank at any branch
        self.national: list[tuple[Partner, int]] = []

    # -- reading the network ----------------------------------------------------------------

    def branches(self) -> list[Branch]:
        planned = org_demo.plan_units(org_demo.SCALES[self.scale], random.Random(self.seed))
        codes = [u.code for u in planned if u.kind == UnitKind.CABANG]
        units = list(
            OrgUnit.objects.filter(code__in=codes, kind=UnitKind.CABANG, parent__parent__isnull=False)
            .values_list("id", "code", "parent_id", "parent__parent_id")
            .order_by("code")
        )
        by_id = {pk: Branch(pk, code, area, region, [], [], [], [], []) for pk, code, area, region in units if region}
        for pk, parent in (
            OrgUnit.objects.filter(parent_id__in=by_id, kind=UnitKind.UPC).values_list("id", "parent_id").order_by("id")
        ):
            by_id[parent].upcs.append(pk)
        today = self.yesterday + dt.timedelta(days=1)
        for unit_id, parent_id, kind, role, user_id in (
            RoleAssignment.objects.active(today)
            .filter(Q(unit_id__in=by_id) | Q(unit__parent_id__in=by_id, unit__kind=UnitKind.UPC))
            .filter(role__in=(Role.SALES, Role.KARYAWAN, Role.AGEN), user__is_active=True)
            .values_list("unit_id", "unit__parent_id", "unit__kind", "role", "user_id")
            .order_by("user_id")
        ):
            b = by_id[unit_id] if kind == UnitKind.CABANG else by_id[int(parent_id or 0)]
            if role == Role.SALES and kind == UnitKind.CABANG:
                b.sales.append(user_id)
            elif role == Role.KARYAWAN:
                b.employees.append(user_id)
            elif role == Role.AGEN:
                b.agen.append(user_id)
        return list(by_id.values())

    def institutions(self, todo: list[Branch]) -> None:
        by_id = {b.id: b for b in todo}
        rank: dict[str, int] = {s: i for i, s in enumerate(PARTNER_STAGES)}
        partners: dict[int, list[tuple[int, int, Partner]]] = {}
        for pk, branch_id, me, status, stage, kind, me_active in (
            Institution.objects.live()
            .filter(branch_id__in=by_id)
            .values_list("id", "branch_id", "me_id", "status", "stage", "type", "me__is_active")
            .order_by("branch_id", "id")
        ):
            b = by_id[branch_id]
            b.institutions.append(pk)
            if me is not None and me_active and status == InstitutionStatus.AKTIF:
                partners.setdefault(branch_id, []).append((rank.get(stage, len(rank)), pk, Partner(pk, me, kind)))
        for branch_id, found in partners.items():
            found.sort(key=lambda t: (t[0], t[1]))
            in_stage = [p for r, _, p in found if r < len(rank)]
            # At least a handful: a branch early in its pipeline still has its best contacts.
            by_id[branch_id].partners = in_stage if len(in_stage) >= 4 else [p for _, _, p in found[:6]]
        # Head offices (institutions with units under them) with an active ME, for the NASIONAL rule.
        self.national = [
            (Partner(pk, me, kind), branch_id)
            for pk, me, kind, branch_id in Institution.objects.live()
            .filter(status=InstitutionStatus.AKTIF, me__isnull=False, me__is_active=True, children__isnull=False)
            .values_list("id", "me_id", "type", "branch_id")
            .distinct()
            .order_by("id")[:500]
        ]

    # -- registries -------------------------------------------------------------------------

    def registries(self, todo: list[Branch]) -> None:
        """The channel registries of the loaded branches (few rows: the ORM's bulk_create)."""
        now = self.now
        taken_points = set(PointRewardMembership.objects.values_list("institution_id", flat=True))
        ind: list[IndividualAgent] = []
        corp: list[CorporateAgent] = []
        fleet: list[FleetScheme] = []
        points: list[PointRewardMembership] = []
        pmp: list[PmpFacility] = []
        for b in todo:
            rng = random.Random(f"{self.seed}:sales-registry:{b.code}")
            own = {"branch_id": b.id, "area_id": b.area, "region_id": b.region, "created_at": now, "updated_at": now}
            n_agents = 2 if self.scale == "small" else rng.randint(2, 5)
            for i in range(n_agents):
                tracked = rng.choice(b.institutions) if b.institutions and rng.random() < 0.7 else None
                user = b.agen[i] if i < len(b.agen) else None
                ind.append(
                    IndividualAgent(
                        code=f"AP-{b.code}-{i + 1:02d}",
                        name=f"{rng.choice(AGENT_NAMES)} {b.code}-{i + 1}",
                        user_id=user,
                        institution_id=tracked,
                        **own,
                    )
                )
            community = [p for p in b.partners if p.type in COMMUNITY_TYPES][:3]
            for i, p in enumerate(community):
                corp.append(CorporateAgent(code=f"AB-{b.code}-{i + 1:02d}", institution_id=p.id, **own))
            for i, p in enumerate([p for p in b.partners if p.type == InstitutionType.ARMADA][:2]):
                size = rng.randint(20, 400)
                fleet.append(
                    FleetScheme(
                        operator_id=p.id,
                        name=f"Skema Fleet {b.code}-{i + 1}",
                        fleet_size=size,
                        vehicles_financed=rng.randint(0, size // 2),
                        **own,
                    )
                )
            members = [p for p in b.partners if p.id not in taken_points][:4]
            for i, p in enumerate(members):
                earned = rng.randint(500, 50_000)
                points.append(
                    PointRewardMembership(
                        institution_id=p.id,
                        member_code=f"CPR-{b.code}-{i + 1:02d}",
                        points_earned=earned,
                        points_redeemed=rng.randint(0, earned),
                        **own,
                    )
                )
            borrowers = sorted(b.partners, key=lambda p: (p.type not in PMP_TYPES, p.id))[:2]
            for i, p in enumerate(borrowers):
                pmp.append(
                    PmpFacility(
                        borrower_id=p.id,
                        reference=f"PMP-{b.code}-{i + 1:02d}",
                        ceiling=rng.choice([250, 500, 750, 1000, 2000, 5000]) * 1_000_000,
                        receivables_basis="Piutang usaha anggota (cessie)",
                        **own,
                    )
                )
        # Codes are the demo's own: a rerun after a failed load, or a registry entry
        # typed by hand with the same code, is kept as it is.
        todo_rows: list[tuple[Any, list[Any], str | None]] = [
            (IndividualAgent, ind, "code"),
            (CorporateAgent, corp, "code"),
            (FleetScheme, fleet, None),
            (PointRewardMembership, points, "member_code"),
            (PmpFacility, pmp, "reference"),
        ]
        for model, rows, key in todo_rows:
            if key is not None:
                codes = [getattr(r, key) for r in rows]
                have = set(model._default_manager.filter(**{f"{key}__in": codes}).values_list(key, flat=True))
                rows = [r for r in rows if getattr(r, key) not in have]
            model._default_manager.bulk_create(rows, batch_size=2000)
        by_id = {b.id: b for b in todo}
        created = {
            "individual_agents": len(ind),
            "corporate_agents": len(corp),
            "fleet_schemes": len(fleet),
            "point_rewards": len(points),
            "pmp_facilities": len(pmp),
        }
        for k, v in created.items():
            self.created[k] += v
        for pk, branch_id, inst in (
            IndividualAgent.objects.filter(branch_id__in=by_id, is_active=True)
            .values_list("id", "branch_id", "institution_id")
            .order_by("id")
        ):
            by_id[branch_id].individual.append((pk, inst))
        # A registry entry counts for its institution's own branch: the closing names that institution.
        partner_of = {p.id: b for b in todo for p in b.partners}
        for pk, inst in (
            CorporateAgent.objects.filter(
                institution_id__in=partner_of, is_active=True, institution__me__is_active=True
            )
            .values_list("id", "institution_id")
            .order_by("id")
        ):
            partner_of[inst].corporate.append((pk, inst))
        for qs, attr, col in (
            (FleetScheme.objects, "fleet", "operator_id"),
            (PointRewardMembership.objects, "points", "institution_id"),
            (PmpFacility.objects, "pmp", "borrower_id"),
        ):
            for inst in sorted(
                set(qs.filter(**{f"{col}__in": partner_of}, is_active=True).values_list(col, flat=True))
            ):
                getattr(partner_of[inst], attr).append(inst)

    # -- closings ----------------------------------------------------------------------------

    def branch(self, b: Branch, n: int, leads: list[tuple[int, int, str, dt.date, int | None]]) -> None:
        rng = random.Random(f"{self.seed}:closings:{b.code}")
        me_of = {p.id: p.me for p in b.partners}
        choices: list[tuple[tuple[str, str], float]] = []
        for scheme, channel, w in CHANNELS:
            present: dict[str, bool] = {
                C.SALES_TEAM: bool(b.sales),
                C.EGC_KARYAWAN: bool(b.employees),
                C.AGEN_PERSEORANGAN: bool(b.individual),
                C.AGEN_BADAN_USAHA: bool(b.corporate),
                C.FLEET: bool(b.fleet),
                C.POINT_REWARD: bool(b.points),
                C.PMP: bool(b.pmp),
                C.BTOB_LAINNYA: bool(b.partners),
            }
            if present.get(channel, True):
                choices.append(((scheme, channel), w))
        pairs, cum = _pick_weighted(choices)
        days = sorted(rng.choices(self.days, cum_weights=self.day_cum, k=n))
        picks = rng.choices(pairs, cum_weights=cum, k=n)
        rows = self.buffer
        seq = 0
        prefix = f"D{self.seed}-{b.code}-"
        base = (b.id, b.area, b.region)
        others = [i for i in self.other_institutions if i[1] != b.id] if self.other_institutions else []

        def add(
            day: dt.date,
            scheme: str,
            channel: str,
            product: str,
            kind: str,
            user: int | None = None,
            inst: int | None = None,
            rule: str = "",
            agent: int | None = None,
            corporate: int | None = None,
            lead: int | None = None,
        ) -> None:
            nonlocal seq
            seq += 1
            median, sigma = AMOUNT[product]
            grams: str | None = None
            amount: float
            if product == P.TABUNGAN_EMAS:
                g = max(0.01, median * rng.lognormvariate(0, sigma) / self.gold_price[day])
                grams = f"{g:.4f}"
                amount = round(float(grams) * self.gold_price[day])
            elif product == P.CICIL_EMAS:
                g = rng.choices(CICIL_G, cum_weights=CICIL_CUM)[0]
                grams = f"{g}.0000"
                amount = round(g * self.gold_price[day] * rng.uniform(1.08, 1.25), -3)
            else:
                amount = round(median * rng.lognormvariate(0, sigma), -4) or 10_000
            source = Source.DIGITAL if channel == C.DIGITAL else SOURCE_OF.get(product, Source.CORE_PEMBIAYAAN)
            new = rng.random() < NEW_CUSTOMER.get(channel, NEW_CUSTOMER.get(product, 0.3))
            upc = rng.choice(b.upcs) if b.upcs and channel != C.DIGITAL and rng.random() < UPC_SHARE else None
            ref = mask_customer(f"{rng.randrange(10**9, 10**10)}")
            rows.append(
                (
                    *base,
                    source,
                    f"{prefix}{seq:07d}",
                    day,
                    upc,
                    product,
                    int(amount),
                    grams,
                    new,
                    ref,
                    scheme,
                    channel,
                    inst,
                    rule,
                    kind,
                    user,
                    agent,
                    corporate,
                    lead,
                )  # fmt: skip
            )

        for day, (scheme, channel) in zip(days, picks, strict=True):
            if channel == C.SALES_TEAM:
                product = self.product("btoc", rng)
                inst = rng.choice(b.institutions) if b.institutions and rng.random() < BTOC_INSTITUTION_SHARE else None
                add(day, scheme, channel, product, InitiatorKind.SALES, rng.choice(b.sales), inst)
            elif channel == C.DIGITAL:
                product = self.product("digital", rng)
                if others and rng.random() < CROSS_BRANCH_SHARE * 3:
                    add(day, scheme, channel, product, InitiatorKind.DIGITAL, None, rng.choice(others)[0],
                        CrossBranchRule.DIGITAL)  # fmt: skip
                else:
                    add(day, scheme, channel, product, InitiatorKind.DIGITAL)
            elif channel == C.EGC_KARYAWAN:
                add(day, scheme, channel, self.product("btoc", rng), InitiatorKind.EMPLOYEE, rng.choice(b.employees))
            elif channel == C.AGEN_PERSEORANGAN:
                agent, inst = rng.choice(b.individual)
                add(day, scheme, channel, self.product("btoc", rng), InitiatorKind.AGENT, None, inst, agent=agent)
            elif channel == C.BTOC_LAINNYA:  # a walk-in: any BtoC initiator
                if b.sales and rng.random() < 0.5:
                    add(day, scheme, channel, self.product("btoc", rng), InitiatorKind.SALES, rng.choice(b.sales))
                else:
                    add(day, scheme, channel, self.product("btoc", rng), InitiatorKind.DIGITAL)
            elif channel == C.AGEN_BADAN_USAHA:
                corp, inst = rng.choice(b.corporate)
                add(day, scheme, channel, self.product("community", rng), InitiatorKind.ME, me_of[inst], inst,
                    corporate=corp)  # fmt: skip
            elif channel in (C.FLEET, C.POINT_REWARD, C.PMP):
                inst = rng.choice({C.FLEET: b.fleet, C.POINT_REWARD: b.points, C.PMP: b.pmp}[channel])
                mix = {C.FLEET: "fleet", C.POINT_REWARD: "points", C.PMP: "pmp"}[channel]
                add(day, scheme, channel, self.product(mix, rng), InitiatorKind.ME, me_of[inst], inst)
            else:  # BTOB_LAINNYA
                if self.national and rng.random() < CROSS_BRANCH_SHARE * 5:
                    p, home = rng.choice(self.national)
                    if home != b.id:
                        add(day, scheme, channel, self.product("btob", rng), InitiatorKind.ME, p.me, p.id,
                            CrossBranchRule.NASIONAL)  # fmt: skip
                        continue
                p = rng.choice(b.partners)
                add(day, scheme, channel, self.product("btob", rng), InitiatorKind.ME, p.me, p.id)
        # The demo leads that reached CLOSING: one closing each, after the lead closed.
        for lead_id, inst, product, day, seller in leads:
            if seller in b.sales:
                add(day, Scheme.BTOC, C.SALES_TEAM, product, InitiatorKind.SALES, seller, inst, lead=lead_id)
            elif inst in me_of:
                add(day, Scheme.BTOB, C.BTOB_LAINNYA, product, InitiatorKind.ME, me_of[inst], inst, lead=lead_id)
        self.digest.update(f"{b.code}:{seq}:{rows[-1][4] if rows else ''}\n".encode())
        self.tick(seq)

    def product(self, mix: str, rng: random.Random) -> str:
        values, cum = self.mix[mix]
        return str(rng.choices(values, cum_weights=cum)[0])

    def leads(self, todo: list[Branch]) -> dict[int, list[tuple[int, int, str, dt.date, int | None]]]:
        """CLOSING leads of the loaded branches whose institution is the branch's own."""
        out: dict[int, list[tuple[int, int, str, dt.date, int | None]]] = {}
        for pk, branch_id, inst, product, changed, created, seller in (
            Lead.objects.filter(
                branch_id__in=[b.id for b in todo],
                status=LeadStatus.CLOSING,
                institution__branch_id=F("branch_id"),
            )
            .exclude(institution__status=InstitutionStatus.DIGABUNG)
            .values_list(
                "id", "branch_id", "institution_id", "product", "status_changed_at", "created_at", "assigned_to_id"
            )
            .order_by("id")
        ):
            day = (changed or created).astimezone(JKT).date()
            day = min(max(day, self.days[0]), self.yesterday)
            out.setdefault(branch_id, []).append((pk, inst, product, day, seller))
        return out

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        rows = self.buffer
        if not rows:
            return
        table = connection.ops.quote_name(Closing._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
        stamp = self.stamp
        if self.copy:
            buf = io.StringIO()
            w = buf.write
            head = f"{stamp}\t{stamp}\t"
            for r in rows:
                w(head + "\t".join([NULL if v is None else str(v) for v in r]) + "\t1\n")
            with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            ops = connection.ops
            now = ops.adapt_datetimefield_value(self.now)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 - our own columns
                    [(now, now, *r[:6], ops.adapt_datefield_value(r[6]), *r[7:], 1) for r in rows],
                )
        self.created["closings"] += len(rows)
        self.buffer = []

    def summary(self, branch_ids: list[int]) -> int:
        """The summary of the loaded branches, counted from their closings."""
        table = ClosingSummary._meta.db_table
        n = 0
        with connection.cursor() as cursor:
            for i in range(0, len(branch_ids), 200):
                part = branch_ids[i : i + 200]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(f"DELETE FROM {table} WHERE branch_id IN ({marks})", part)  # noqa: S608 - our table
                cursor.execute(
                    f"INSERT INTO {table} "  # noqa: S608 - our tables
                    "(day, branch_id, area_id, region_id, scheme, channel, product, count, amount, grams, "
                    "new_customers) "
                    "SELECT closed_on, branch_id, area_id, region_id, scheme, channel, product, COUNT(*), "
                    "SUM(amount), COALESCE(SUM(grams), 0), SUM(CASE WHEN new_customer THEN 1 ELSE 0 END) "
                    f"FROM {Closing._meta.db_table} WHERE branch_id IN ({marks}) "
                    "GROUP BY closed_on, branch_id, area_id, region_id, scheme, channel, product",
                    part,
                )
                n += cursor.rowcount
        return n

    @contextmanager
    def keys_after_load(self, model: Any) -> Iterator[None]:
        """Into an empty table on PostgreSQL: drop its foreign keys, unique keys and
        plain indexes, load, then build each once (as ``activities.demo``): checked
        row by row, millions of deferred keys take minutes at COMMIT."""
        table = model._meta.db_table
        if not self.copy or model._default_manager.exists():
            yield
            return
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype IN ('f', 'u') AND conrelid = %s::regclass ORDER BY contype DESC, conname",
                [table],
            )
            keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = %s::regclass AND NOT indisprimary "
                "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY 1",
                [table],
            )
            indexes = cursor.fetchall()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for name, _definition in keys:
                cursor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {q(name)}")
        yield
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in keys:  # unique keys first, then the foreign keys
                cursor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        branches = self.branches()
        if not branches:
            return self.created
        loaded = set(
            Closing.objects.filter(branch_id__in=[b.id for b in branches])
            .values_list("branch_id", flat=True)
            .distinct()
        )
        todo = [b for b in branches if b.id not in loaded]
        if not todo:
            return self.created
        weights = [random.Random(f"{self.seed}:weight:{b.code}").lognormvariate(0, 0.35) for b in branches]
        share = dict(
            zip([b.id for b in branches], institutions_demo._allocate(TOTALS[self.scale], weights), strict=True)
        )
        self.tick = self.progress("closing", sum(share[b.id] for b in todo))
        with transaction.atomic():
            self.institutions(todo)
            self.registries(todo)
            leads = self.leads(todo)
            # Institutions any customer may name through the app (DIGITAL rule): a fixed
            # sample of the whole network, the same whichever branches are loaded.
            every = list(
                Institution.objects.live()
                .filter(branch_id__in=[b.id for b in branches])
                .values_list("id", "branch_id")
                .order_by("id")
            )
            self.other_institutions = every[:: max(1, len(every) // 2000)]
            with self.keys_after_load(Closing):
                for b in todo:
                    self.branch(b, share[b.id], leads.get(b.id, []))
                    if len(self.buffer) >= FLUSH_AT:
                        self.flush()
                self.flush()
            with self.keys_after_load(ClosingSummary):
                self.created["summary_rows"] = self.summary([b.id for b in todo])
            audit.record(
                actor=None,
                action="demo.load",
                object_type="sales.demo",
                object_id=f"{self.scale}:{self.seed}",
                after=self.created
                | {
                    "yesterday": self.yesterday.isoformat(),
                    "seconds": round(time.monotonic() - self.started, 1),
                    "digest": self.digest.hexdigest(),
                },
            )
        if self.copy and self.created["closings"]:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Closing._meta.db_table}, {ClosingSummary._meta.db_table}")
        return self.created

    other_institutions: list[tuple[int, int]] = []  # (institution, branch) for the DIGITAL cross-branch rule


CICIL_G = [g for g, _ in CICIL_GRAMS]
CICIL_CUM = _pick_weighted([(g, float(w)) for g, w in CICIL_GRAMS])[1]


def load(
    *, scale: str, seed: int, progress: Callable[[str, int], Any], now: dt.datetime | None = None
) -> dict[str, int]:
    """Registries and closings for every demo branch of the scale that has no closings yet."""
    assert set(GOLD_PRODUCTS) == {P.TABUNGAN_EMAS, P.CICIL_EMAS}  # the grams above are for these two
    return _Loader(scale=scale, seed=seed, progress=progress, now=now).run()
