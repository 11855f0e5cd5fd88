"""Demo data for the org module: the network and its people.

Deterministic for a seed, idempotent (existing codes and usernames are kept,
only what is missing is added) and bulk-inserted so the national scale loads in
well under the three minutes the project allows (figures in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from faker import Faker

from control import audit
from core.geo import demo_regency_point
from core.wilayah import districts_by_regency, regencies, short_regency_name
from org.models import (
    PATH_SEPARATOR,
    OrgUnit,
    Placement,
    Role,
    RoleAssignment,
    UnitKind,
    User,
    WorkUnitFunction,
)

# Demo passwords exist only in demo data; real users get their own.
DEMO_PASSWORD = "Sinergi#Demo2026"  # noqa: S105
ASSIGNMENTS_FROM = dt.date(2024, 1, 2)
ME_PLACED_FROM = dt.date(2025, 1, 2)
BATCH = 2000

# The twelve Kanwil (DESIGN.md §3) and the provinces/regencies each covers.
KANWIL: list[tuple[str, str, tuple[str, ...]]] = [
    ("W01", "Kantor Wilayah I Medan", ("11", "12")),
    ("W02", "Kantor Wilayah II Pekanbaru", ("13", "14", "21")),
    ("W03", "Kantor Wilayah III Palembang", ("15", "16", "17", "18", "19")),
    ("W04", "Kantor Wilayah IV Balikpapan", ("61", "62", "63", "64", "65")),
    ("W05", "Kantor Wilayah V Manado", ("71", "72", "75", "82")),
    ("W06", "Kantor Wilayah VI Makassar", ("73", "74", "76", "81", "91", "92", "93", "94", "95", "96")),
    ("W07", "Kantor Wilayah VII Denpasar", ("51", "52", "53")),
    ("W08", "Kantor Wilayah VIII Jakarta 1", ("31.71", "31.72", "31.73", "36")),
    ("W09", "Kantor Wilayah IX Jakarta 2", ("31.01", "31.74", "31.75", "32.01", "32.16", "32.71", "32.75", "32.76")),
    ("W10", "Kantor Wilayah X Bandung", ("32",)),
    ("W11", "Kantor Wilayah XI Semarang", ("33", "34")),
    ("W12", "Kantor Wilayah XII Surabaya", ("35",)),
]
JAKARTA2_REGENCIES = {"32.01", "32.16", "32.71", "32.75", "32.76"}

WORK_UNITS: list[tuple[str, str, str]] = [
    ("UK-BK", "Divisi Bisnis Kelembagaan", WorkUnitFunction.BISNIS_KELEMBAGAAN),
    ("UK-PMS", "Divisi Pemasaran", WorkUnitFunction.PEMASARAN),
    ("UK-PJL", "Divisi Penjualan", WorkUnitFunction.PENJUALAN),
    ("UK-JOP", "Divisi Jaringan Operasional", WorkUnitFunction.JARINGAN_OPERASIONAL),
    ("UK-PRD", "Divisi Produk", WorkUnitFunction.PRODUK),
    ("UK-SPI", "Satuan Pengawasan Intern", WorkUnitFunction.PENGENDALIAN_INTERNAL),
]


@dataclass(frozen=True)
class Scale:
    name: str
    wilayah: tuple[str, ...]
    areas_per_wilayah: int
    areas_total: int
    branches_total: int
    upc_total: int
    me_total: int
    staff_total: int


SCALES = {
    "small": Scale("small", ("W08", "W10"), 2, 4, 12, 24, 24, 0),
    "national": Scale("national", tuple(k[0] for k in KANWIL), 5, 61, 640, 3450, 1500, 15000),
}


def _spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """``total`` split over ``buckets`` as evenly as possible, the remainder to random buckets."""
    base, extra = divmod(total, buckets)
    counts = [base] * buckets
    for i in rng.sample(range(buckets), extra):
        counts[i] += 1
    return counts


def _regencies_for(covers: tuple[str, ...]) -> list[Any]:
    out = []
    for r in regencies():
        if r.code in covers or (r.parent_code in covers and r.code not in JAKARTA2_REGENCIES):
            out.append(r)
    return out


# The business hub of each province, where an area office sits first (mostly the
# provincial capital; Batam, Banjarmasin and Ternate rather than the capital).
MAIN_CITY = {
    "11": "Kota Banda Aceh",
    "12": "Kota Medan",
    "13": "Kota Padang",
    "14": "Kota Pekanbaru",
    "15": "Kota Jambi",
    "16": "Kota Palembang",
    "17": "Kota Bengkulu",
    "18": "Kota Bandar Lampung",
    "19": "Kota Pangkal Pinang",
    "21": "Kota Batam",
    "31": "Kota Administrasi Jakarta Pusat",
    "32": "Kota Bandung",
    "33": "Kota Semarang",
    "34": "Kota Yogyakarta",
    "35": "Kota Surabaya",
    "36": "Kota Serang",
    "51": "Kota Denpasar",
    "52": "Kota Mataram",
    "53": "Kota Kupang",
    "61": "Kota Pontianak",
    "62": "Kota Palangkaraya",
    "63": "Kota Banjarmasin",
    "64": "Kota Samarinda",
    "65": "Kota Tarakan",
    "71": "Kota Manado",
    "72": "Kota Palu",
    "73": "Kota Makassar",
    "74": "Kota Kendari",
    "75": "Kota Gorontalo",
    "76": "Kabupaten Mamuju",
    "81": "Kota Ambon",
    "82": "Kota Ternate",
    "91": "Kota Jayapura",
    "92": "Kabupaten Manokwari",
    "93": "Kabupaten Merauke",
    "94": "Kabupaten Nabire",
    "95": "Kabupaten Jayawijaya",
    "96": "Kota Sorong",
}


# Provinces split off from another (newest first): a province without an area of
# its own is served from the one it was part of when that has an area.
FORMER_PROVINCE = {
    "93": "91",
    "94": "91",
    "95": "91",
    "96": "92",
    "92": "91",
    "65": "64",
    "76": "73",
    "82": "81",
    "75": "71",
    "36": "32",
    "21": "14",
    "19": "16",
}


def _area_seats(w_name: str, covers: tuple[str, ...], n_areas: int) -> list[tuple[Any, list[Any]]]:
    """The seat regency of each area of a region and the regencies it covers.

    Areas are shared out over the region's provinces (every province gets one
    while there are enough, then by weight, a city counting twice) so that an
    area and its branches lie in one province; a province without an area of
    its own is served from the one it was split off from, else the nearest code.
    Seats, in order: the region's own city, the province's hub, then the other
    cities and regencies by their number of districts, one area per town name."""
    regs = _regencies_for(covers)
    by_prov: dict[str, list[Any]] = {}
    for r in regs:
        by_prov.setdefault(r.parent_code, []).append(r)
    seat_city = "Kota " + w_name.split(" ", 3)[3]
    home = next((r.parent_code for r in regs if r.name == seat_city), covers[0].split(".")[0])

    def size(r: Any) -> int:
        return len(districts_by_regency().get(r.code, []))

    candidates: dict[str, list[Any]] = {}
    for p, members in by_prov.items():
        firsts = [seat_city, MAIN_CITY.get(p, "")]
        ranked = sorted(
            members,
            key=lambda r: (
                firsts.index(r.name) if r.name in firsts else 2,
                not r.name.startswith("Kota"),
                -size(r),
                r.code,
            ),
        )
        towns: set[str] = set()  # Kota Kupang and Kabupaten Kupang are both "Kupang"
        candidates[p] = []
        for r in ranked:
            if short_regency_name(r.name) not in towns:
                towns.add(short_regency_name(r.name))
                candidates[p].append(r)

    def weight(p: str) -> int:
        return sum(2 if r.name.startswith("Kota") else 1 for r in by_prov[p])

    provs = sorted(by_prov, key=lambda p: (p != home, -weight(p), p))
    seats_of = dict.fromkeys(provs, 0)
    for p in provs[:n_areas]:
        seats_of[p] = 1
    for _ in range(n_areas - sum(seats_of.values())):
        open_ = [p for p in provs if seats_of[p] < len(candidates[p])] or provs
        best = max(open_, key=lambda p: (weight(p) / (seats_of[p] + 1), -provs.index(p)))
        seats_of[best] += 1
    seated = [p for p in provs if seats_of[p]]
    group = {p: [p] for p in seated}
    for p in provs:
        if not seats_of[p]:
            q = p
            while q not in group and q in FORMER_PROVINCE:
                q = FORMER_PROVINCE[q]
            if q not in group:
                q = min(seated, key=lambda s: (abs(int(s) - int(p)), s))
            group[q].append(p)

    out: list[tuple[Any, list[Any]]] = []
    for p in seated:
        k = seats_of[p]
        seats = (candidates[p] * k)[:k]
        rest = sorted((r for q in group[p] for r in by_prov[q] if r not in seats), key=lambda r: r.code)
        for i, seat in enumerate(seats):
            out.append((seat, [seat, *rest[i * len(rest) // k : (i + 1) * len(rest) // k]]))
    return out


# Where the head office and its work units sit (Jakarta Pusat); the two Jakarta
# regions sit in the city that heads their half of the capital.
HEAD_OFFICE_REGENCY = "31.71"
SEAT_REGENCY = {"Jakarta 1": "31.71", "Jakarta 2": "31.75"}
# Offices are moved this far (km) from their regency's demo point, in a direction
# derived from the unit code, so two branches of one regency do not share a spot.
JITTER_KM = (1.0, 4.0)


def _seat_regency(city: str) -> str:
    """The regency code of a region's seat ('Medan' -> Kota Medan's code)."""
    if city in SEAT_REGENCY:
        return SEAT_REGENCY[city]
    by_name = {r.name: r.code for r in regencies()}
    for name in (city, f"Kota {city}", f"Kabupaten {city}"):
        if name in by_name:
            return by_name[name]
    return HEAD_OFFICE_REGENCY


def unit_location(code: str, regency_code: str) -> tuple[Decimal, Decimal]:
    """A stable demo spot for a unit: its regency's demo point moved a few km."""
    lat, lon = demo_regency_point(regency_code)
    digest = hashlib.sha256(f"unit:{code}".encode()).digest()
    km = JITTER_KM[0] + (JITTER_KM[1] - JITTER_KM[0]) * digest[0] / 255
    angle = 2 * math.pi * int.from_bytes(digest[1:3], "big") / 65536
    dlat = km * math.cos(angle) / 111.32
    dlon = km * math.sin(angle) / (111.32 * math.cos(math.radians(float(lat))))
    return Decimal(f"{float(lat) + dlat:.6f}"), Decimal(f"{float(lon) + dlon:.6f}")


@dataclass
class PlannedUnit:
    kind: str
    code: str
    name: str
    parent_code: str | None
    city: str = ""
    function: str = ""
    regency_code: str = ""


@dataclass
class PlannedUser:
    username: str
    first_name: str
    last_name: str
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role, unit code)


def plan_units(scale: Scale, rng: random.Random) -> list[PlannedUnit]:
    units = [
        PlannedUnit(UnitKind.PUSAT, "PST", "Kantor Pusat", None, "Jakarta Pusat", regency_code=HEAD_OFFICE_REGENCY)
    ]
    units += [
        PlannedUnit(UnitKind.UNIT_KERJA, c, n, "PST", "Jakarta Pusat", f, regency_code=HEAD_OFFICE_REGENCY)
        for c, n, f in WORK_UNITS
    ]
    kanwil = [k for k in KANWIL if k[0] in scale.wilayah]
    area_counts = [scale.areas_per_wilayah] * len(kanwil)
    for i in range(scale.areas_total - sum(area_counts)):
        area_counts[-1 - i] += 1  # the biggest regions (Surabaya, Semarang…) get the extra areas
    regency_name = {r.code: r.name for r in regencies()}
    branches_per_area = _spread(scale.branches_total, scale.areas_total, rng)
    upc_per_branch = iter(_spread(scale.upc_total, scale.branches_total, rng))
    area_index = 0
    for (w_code, w_name, covers), n_areas in zip(kanwil, area_counts, strict=True):
        w_city = w_name.split(" ", 3)[3]
        units.append(PlannedUnit(UnitKind.WILAYAH, w_code, w_name, "PST", w_city, regency_code=_seat_regency(w_city)))
        for a, (seat, pool) in enumerate(_area_seats(w_name, covers, n_areas)):
            a_code = f"A{w_code[1:]}{a + 1:02d}"
            units.append(
                PlannedUnit(
                    UnitKind.AREA,
                    a_code,
                    f"Kantor Area {short_regency_name(seat.name)}",
                    w_code,
                    seat.name,
                    regency_code=seat.code,
                )
            )
            n_branches = branches_per_area[area_index]
            area_index += 1
            districts = [(r, d) for r in pool for d in districts_by_regency().get(r.code, [])]
            rng.shuffle(districts)
            branches: list[tuple[str, Any, Any]] = []
            for b in range(n_branches):
                reg, dist = districts[b % len(districts)]
                c_code = f"C{w_code[1:]}{a + 1:02d}{b + 1:02d}"
                suffix = f" {b // len(districts) + 1}" if b >= len(districts) else ""
                units.append(
                    PlannedUnit(
                        UnitKind.CABANG, c_code, f"Cabang {dist.name}{suffix}", a_code, reg.name, regency_code=reg.code
                    )
                )
                branches.append((c_code, reg, dist))
            # UPCs are named after the districts of the branch's regency, then of
            # its area, that no branch or other UPC of the area is named after;
            # where the area has too few, a district gets a second outlet ("UPC Menteng 2").
            taken = {d.name for _, _, d in branches}
            outlets = Counter(d.name for _, _, d in branches)
            for c_code, reg, dist in branches:
                n_upc = next(upc_per_branch)
                same = [d for d in districts_by_regency().get(reg.code, []) if d.name not in taken]
                picks = rng.sample(same, min(n_upc, len(same)))
                if len(picks) < n_upc:
                    farther = [d for r, d in districts if r.code != reg.code and d.name not in taken]
                    picks += rng.sample(farther, min(n_upc - len(picks), len(farther)))
                taken.update(d.name for d in picks)
                labels: list[tuple[Any, str]] = []
                for d in picks:
                    outlets[d.name] += 1
                    labels.append((d, d.name))
                local = districts_by_regency().get(reg.code, []) or [dist]
                while len(labels) < n_upc:
                    d = min(local, key=lambda x: (outlets[x.name], x.code))
                    outlets[d.name] += 1
                    labels.append((d, f"{d.name} {outlets[d.name]}"))
                for u, (d, label) in enumerate(labels):
                    units.append(
                        PlannedUnit(
                            UnitKind.UPC,
                            f"U{c_code[1:]}{u + 1:02d}",
                            f"UPC {label}",
                            c_code,
                            regency_name[d.parent_code],
                            regency_code=d.parent_code,
                        )
                    )
    return units


def plan_users(scale: Scale, units: list[PlannedUnit], rng: random.Random, fake: Faker) -> list[PlannedUser]:
    by_kind: dict[str, list[PlannedUnit]] = {}
    for u in units:
        by_kind.setdefault(u.kind, []).append(u)
    users: list[PlannedUser] = []

    def add(username: str, *roles: tuple[str, str]) -> PlannedUser:
        p = PlannedUser(username, fake.first_name(), fake.last_name(), list(roles))
        users.append(p)
        return p

    national = scale.name == "national"
    add("admin", (Role.ADMIN, "PST"))
    for i in range(20 if national else 1):
        add("pusat" if i == 0 else f"pusat.{i + 1}", (Role.PUSAT, "UK-BK"))
    for i in range(15 if national else 1):
        add("auditor" if i == 0 else f"auditor.{i + 1}", (Role.AUDITOR, "UK-SPI"))
    for code, *_ in WORK_UNITS[1:5]:
        for i in range(3 if national else 1):
            add(f"mitra.{code[3:].lower()}" + (f".{i + 1}" if i else ""), (Role.MITRA, code))
    for w in by_kind[UnitKind.WILAYAH]:
        for i in range(4 if national else 1):
            add(f"wil.{w.code.lower()}" + (f".{i + 1}" if i else ""), (Role.WILAYAH, w.code))
    for a in by_kind[UnitKind.AREA]:
        add(f"dba.{a.code.lower()}", (Role.DBA, a.code))
    branches = by_kind[UnitKind.CABANG]
    for b in branches:
        add(f"pinca.{b.code.lower()}", (Role.PINCA, b.code))
    me_per_branch = _spread(scale.me_total, len(branches), rng)
    for b, n in zip(branches, me_per_branch, strict=True):
        for i in range(n):
            add(f"me.{b.code.lower()}.{i + 1}", (Role.ME, b.code))
    sales_per_branch = 4 if national else 2
    for b in branches:
        for i in range(sales_per_branch):
            add(f"sales.{b.code.lower()}.{i + 1}", (Role.SALES, b.code))
        add(f"agen.{b.code.lower()}", (Role.AGEN, b.code))
    if national:
        staff_so_far = sum(1 for u in users if u.roles[0][0] != Role.AGEN)
        places = branches + by_kind[UnitKind.UPC]
        for i, n in enumerate(_spread(max(scale.staff_total - staff_so_far, 0), len(places), rng)):
            for j in range(n):
                add(f"kry.{places[i].code.lower()}.{j + 1}", (Role.KARYAWAN, places[i].code))
    else:
        for b in branches:
            add(f"kry.{b.code.lower()}", (Role.KARYAWAN, b.code))
        for upc in by_kind[UnitKind.UPC][::2]:
            add(f"kry.{upc.code.lower()}", (Role.KARYAWAN, upc.code))
        # One person holding two roles: an acting (Plt.) DBA who is also a branch head.
        second_area = by_kind[UnitKind.AREA][1]
        branch_of_second = next(b for b in branches if b.parent_code == second_area.code)
        add("plt.dba", (Role.DBA, second_area.code), (Role.PINCA, branch_of_second.code))
    return users


def _chunks(items: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load(*, scale: str, seed: int, progress: Callable[[str, int], Any]) -> dict[str, int]:
    """Create what is missing of the demo network. ``progress(label, total)``
    returns a callable that is told how many items were done."""
    sc = SCALES[scale]
    rng = random.Random(seed)
    fake = Faker("id_ID")
    fake.seed_instance(seed)
    planned_units = plan_units(sc, rng)
    planned_users = plan_users(sc, planned_units, rng, fake)
    created = {"units": 0, "users": 0, "assignments": 0, "placements": 0, "locations": 0}

    with transaction.atomic():
        codes = {u.code for u in planned_units}
        existing = dict(OrgUnit.objects.filter(code__in=codes).values_list("code", "id"))
        paths = dict(OrgUnit.objects.filter(code__in=codes).values_list("code", "path"))
        depth_of = {
            UnitKind.PUSAT: 0,
            UnitKind.UNIT_KERJA: 1,
            UnitKind.WILAYAH: 1,
            UnitKind.AREA: 2,
            UnitKind.CABANG: 3,
            UnitKind.UPC: 4,
        }
        tick = progress("unit", len(planned_units))
        for kind in (
            UnitKind.PUSAT,
            UnitKind.UNIT_KERJA,
            UnitKind.WILAYAH,
            UnitKind.AREA,
            UnitKind.CABANG,
            UnitKind.UPC,
        ):
            level = [u for u in planned_units if u.kind == kind]
            new = []
            for u in level:
                if u.code in existing:
                    continue
                parent_path = paths[u.parent_code] if u.parent_code else ""
                paths[u.code] = parent_path + u.code + PATH_SEPARATOR
                lat, lon = unit_location(u.code, u.regency_code)
                new.append(
                    OrgUnit(
                        kind=u.kind,
                        code=u.code,
                        name=u.name,
                        city=u.city,
                        function=u.function,
                        parent_id=existing[u.parent_code] if u.parent_code else None,
                        path=paths[u.code],
                        depth=depth_of[kind],
                        regency_code=u.regency_code,
                        latitude=lat,
                        longitude=lon,
                    )
                )
            for chunk in _chunks(new):
                OrgUnit.objects.bulk_create(chunk)
            existing.update(OrgUnit.objects.filter(code__in=[u.code for u in level]).values_list("code", "id"))
            created["units"] += len(new)
            tick(len(level))

        # Units loaded before offices had a location get one (only where it is missing).
        regency_of = {u.code: u.regency_code for u in planned_units}
        unlocated = list(
            OrgUnit.objects.filter(code__in=codes)
            .filter(Q(regency_code="") | Q(latitude__isnull=True) | Q(longitude__isnull=True))
            .only("id", "code", "regency_code", "latitude", "longitude")
        )
        for unit in unlocated:
            unit.regency_code = unit.regency_code or regency_of[unit.code]
            if unit.latitude is None or unit.longitude is None:
                unit.latitude, unit.longitude = unit_location(unit.code, unit.regency_code)
        OrgUnit.objects.bulk_update(unlocated, ["regency_code", "latitude", "longitude"], batch_size=BATCH)
        created["locations"] = len(unlocated)

        password = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo user
        usernames = {u.username for u in planned_users}
        have = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
        new_users = [p for p in planned_users if p.username not in have]
        tick = progress("pengguna", len(planned_users))
        tick(len(have))
        for chunk in _chunks(new_users):
            User.objects.bulk_create(
                [
                    User(
                        username=p.username,
                        first_name=p.first_name,
                        last_name=p.last_name,
                        password=password,
                        is_demo=True,
                        email=f"{p.username}@demo.sinergi.invalid",
                    )
                    for p in chunk
                ]
            )
            tick(len(chunk))
        created["users"] = len(new_users)

        user_ids = dict(User.objects.filter(username__in=[p.username for p in new_users]).values_list("username", "id"))
        assignments = []
        placements = []
        for p in new_users:
            for role, unit_code in p.roles:
                start = ME_PLACED_FROM if role == Role.ME else ASSIGNMENTS_FROM
                assignments.append(
                    RoleAssignment(
                        user_id=user_ids[p.username], role=role, unit_id=existing[unit_code], valid_from=start
                    )
                )
                if role == Role.ME:
                    placements.append(
                        Placement(
                            user_id=user_ids[p.username],
                            branch_id=existing[unit_code],
                            valid_from=start,
                            reason="Penempatan awal (data demo)",
                        )
                    )
        tick = progress("peran", len(assignments))
        for chunk in _chunks(assignments):
            RoleAssignment.objects.bulk_create(chunk)
            tick(len(chunk))
        for chunk in _chunks(placements):
            Placement.objects.bulk_create(chunk)
        created["assignments"] = len(assignments)
        created["placements"] = len(placements)

        if any(created.values()):
            digest = hashlib.sha256(
                "\n".join(sorted(codes) + sorted(p.username for p in new_users)).encode()
            ).hexdigest()
            audit.record(
                actor=None,
                action="demo.load",
                object_type="org.demo",
                object_id=f"{scale}:{seed}",
                after=created | {"digest": digest},
            )
    if any(created.values()) and connection.vendor == "postgresql":
        # Fresh planner statistics: right after a bulk load the tables look empty
        # to the planner until autovacuum gets round to them.
        tables = ", ".join(
            connection.ops.quote_name(m._meta.db_table) for m in (OrgUnit, User, RoleAssignment, Placement)
        )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")
    return created
