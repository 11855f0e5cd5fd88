"""Demo data for the ME's work: activities, events, maintenance plans and their
visits, leads, and each institution's place in the engagement pipeline.

Runs after ``institutions.demo.load``. Every active demo institution with an ME
(except each branch's first, left fresh for a first contact) gets a stage and
the evidence ``institutions.pipeline`` asks for it, with its StageChange
history: a done first contact, an audience the branch head attended, a
follow-up after it, an event or a lead, an active maintenance plan whose visits
follow ``activities.schedule`` exactly as ``services.generate_visits`` makes
them. Each ME is then topped up to their share of the scale's activity total
with follow-ups, events, extra visits and branch work, from the demo owners'
start (at most two years back) to six weeks ahead, in Jakarta working hours:
done in the past, planned ahead, a few cancelled.

Each branch's first ME (``me.<code>.1``) also gets a day worth opening: work
done and planned today and this week, a maintenance visit due today and one
overdue, a recent event with leads (one not handed over yet), and an
institution at KOMUNIKASI_AWAL whose audience is planned but not yet held.

Deterministic for a seed and a load day (dates are relative to "today" in
Jakarta). Idempotent: a branch that already has activities is left alone.
Written with COPY on PostgreSQL (ids drawn from the sequences first) and
``executemany`` elsewhere, and recorded as one audit event for the whole load.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone, translation
from faker import Faker

from activities import schedule
from activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Frequency,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
    ParticipantRole,
    PlanStatus,
    VisitStatus,
)
from control import audit
from core.geo import haversine_km
from core.products import Product
from institutions import demo as institutions_demo
from institutions.models import Contact, Institution, InstitutionStatus, LawfulBasis, Stage, StageChange
from institutions.pipeline import TRANSITIONS, rule_for
from org import demo as org_demo
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind

JKT = ZoneInfo("Asia/Jakarta")
K = ActivityKind
FLUSH_AT = 20_000  # activities held before they are written
HISTORY_DAYS = 730
AHEAD_DAYS = 42
# The demo MEs took their branches then: no work of theirs is older.
FIRST_DAY = org_demo.ME_PLACED_FROM + dt.timedelta(days=1)
REGISTERED_AT = institutions_demo.OWNED_FROM


@dataclass(frozen=True)
class Spec:
    """How much work a scale holds."""

    total: int | None  # activities to reach: each ME is topped up to an equal share
    stages: dict[str, float]  # target stage of an active institution with an ME
    plan_age: tuple[int, int]  # days since an active plan started
    first_contact_ahead: float  # share of untouched institutions with a first contact planned


SCALES = {
    "small": Spec(
        None,
        {
            Stage.IDENTIFIKASI: 45,
            Stage.KOMUNIKASI_AWAL: 20,
            Stage.AUDIENSI: 10,
            Stage.KERJA_SAMA: 7,
            Stage.EKSEKUSI: 7,
            Stage.MAINTENANCE: 6,
            Stage.TIDAK_BERMINAT: 3,
            Stage.DORMAN: 2,
        },
        (25, 120),
        0.15,
    ),
    "national": Spec(
        2_000_000,
        {
            Stage.IDENTIFIKASI: 12,
            Stage.KOMUNIKASI_AWAL: 24,
            Stage.AUDIENSI: 14,
            Stage.KERJA_SAMA: 12,
            Stage.EKSEKUSI: 12,
            Stage.MAINTENANCE: 16,
            Stage.TIDAK_BERMINAT: 6,
            Stage.DORMAN: 4,
        },
        (30, 540),
        0.12,
    ),
}
PATH = (Stage.KOMUNIKASI_AWAL, Stage.AUDIENSI, Stage.KERJA_SAMA, Stage.EKSEKUSI, Stage.MAINTENANCE)
# Working days from the previous milestone to each stage's, and how long an
# institution has been in its current stage (working days back from today).
GAPS: dict[str, tuple[int, int]] = {
    Stage.AUDIENSI: (8, 50),
    Stage.KERJA_SAMA: (5, 40),
    Stage.EKSEKUSI: (8, 40),
    Stage.MAINTENANCE: (5, 30),
}
IN_STAGE: dict[str, tuple[int, int]] = {
    Stage.KOMUNIKASI_AWAL: (2, 170),
    Stage.AUDIENSI: (2, 130),
    Stage.KERJA_SAMA: (2, 130),
    Stage.EKSEKUSI: (2, 140),
}
# Filler per institution: how much a stage's relationship asks, per year of it.
FILLER_WEIGHT: dict[str, float] = {
    Stage.KOMUNIKASI_AWAL: 1.0,
    Stage.AUDIENSI: 1.5,
    Stage.KERJA_SAMA: 2.0,
    Stage.EKSEKUSI: 3.0,
    Stage.MAINTENANCE: 4.0,
    Stage.TIDAK_BERMINAT: 1.0,
    Stage.DORMAN: 1.0,
}
BRANCH_WORK_SHARE = 0.06  # of an ME's filler: branch meetings, training (no institution)
CANCELLED_SHARE = 0.04
CHECKIN_SHARE = 0.7  # of done visits in person to a located institution
CHECKIN_FAR_SHARE = 0.04
FREQUENCIES = [
    (Frequency.MONTHLY, 60, 7),
    (Frequency.BIWEEKLY, 20, 5),
    (Frequency.QUARTERLY, 15, 14),
    (Frequency.WEEKLY, 5, 3),
]

# Minutes after midnight (Jakarta) an activity of each kind may start.
HOURS: dict[str, tuple[int, int]] = {
    K.KOMUNIKASI_AWAL: (8 * 60, 15 * 60 + 30),
    K.KOMUNIKASI_LANJUTAN: (8 * 60, 16 * 60),
    K.AUDIENSI: (9 * 60, 14 * 60),
    K.SOSIALISASI: (8 * 60, 13 * 60),
    K.LITERASI: (8 * 60, 13 * 60),
    K.OPEN_BOOTH: (8 * 60, 11 * 60),
    K.KUNJUNGAN_MAINTENANCE: (9 * 60, 15 * 60),
    K.LAINNYA: (8 * 60, 16 * 60),
}
MINUTES: dict[str, tuple[int, int]] = {
    K.KOMUNIKASI_AWAL: (20, 60),
    K.KOMUNIKASI_LANJUTAN: (15, 60),
    K.AUDIENSI: (45, 90),
    K.SOSIALISASI: (90, 180),
    K.LITERASI: (90, 150),
    K.OPEN_BOOTH: (180, 420),
    K.KUNJUNGAN_MAINTENANCE: (30, 90),
    K.LAINNYA: (60, 120),
}
EVENT_MIX = [(K.SOSIALISASI, 45), (K.LITERASI, 25), (K.OPEN_BOOTH, 30)]
PRODUCT_MIX = [
    (Product.TABUNGAN_EMAS, 25),
    (Product.GADAI_KCA, 20),
    (Product.CICIL_EMAS, 18),
    (Product.KREASI, 8),
    (Product.KRASIDA, 7),
    (Product.ARRUM_HAJI, 7),
    (Product.AMANAH, 6),
    (Product.ARRUM, 4),
    (Product.PMP, 3),
    (Product.GADAI_EFEK, 2),
]

# --- Words --------------------------------------------------------------------------------

REMOTE = ["Telepon", "WhatsApp", "Panggilan video (Zoom)"]
AT_INSTITUTION = ["Kantor {n}", "Ruang rapat {n}", "Bagian SDM {n}", "Sekretariat {n}", "Ruang tamu {n}"]
EVENT_PLACES = {
    K.SOSIALISASI: ["Aula {n}", "Ruang serbaguna {n}", "Ruang rapat utama {n}"],
    K.LITERASI: ["Aula {n}", "Ruang pertemuan {n}", "Ruang serbaguna {n}"],
    K.OPEN_BOOTH: ["Lobi {n}", "Halaman {n}", "Area kantin {n}"],
}
EVENT_TITLES = {
    K.SOSIALISASI: "Sosialisasi {p} bagi {u} {n}",
    K.LITERASI: "Literasi keuangan: {p} untuk {u} {n}",
    K.OPEN_BOOTH: "Open booth {p} di {n}",
}
FIRST_CONTACT = [
    "Perkenalan layanan Pegadaian kepada {who}; lembaga bersedia menerima kunjungan lanjutan.",
    "Menyampaikan profil perusahaan serta produk gadai dan tabungan emas; {who} meminta proposal kerja sama.",
    "Kontak awal dengan {who}; tertarik pada program cicil emas bagi {u}.",
    "Kunjungan perkenalan; {who} menyarankan surat resmi kepada pimpinan untuk audiensi.",
]
BEFORE_AUDIENCE = [
    "Koordinasi jadwal audiensi Pemimpin Cabang dengan pimpinan lembaga.",
    "Mengirim proposal kerja sama dan menjawab pertanyaan tentang skema potong gaji.",
    "Menindaklanjuti proposal; lembaga meminta simulasi angsuran untuk {u}.",
    "Mengantar surat permohonan audiensi ke sekretariat pimpinan.",
]
AUDIENCE = [
    "Audiensi Pemimpin Cabang dengan pimpinan lembaga; disepakati penjajakan kerja sama {p1} dan {p2} bagi {u}.",
    "Pimpinan lembaga menyambut baik rencana kerja sama; bagian SDM ditunjuk sebagai penghubung.",
    "Audiensi membahas kebutuhan {u} akan pembiayaan dan tabungan emas; lembaga meminta draf PKS.",
]
TOWARDS_AGREEMENT = [
    "Pembahasan draf PKS bersama bagian hukum lembaga; ruang lingkup layanan {p1} dan {p2} disepakati.",
    "Finalisasi naskah kerja sama dan rencana sosialisasi kepada {u}.",
    "PKS ditandatangani kedua pihak; jadwal sosialisasi pertama sedang disusun.",
]
FOLLOW_UP = [
    "Koordinasi jadwal sosialisasi berikutnya dengan bagian SDM.",
    "Menyampaikan rekap transaksi {u} bulan lalu dan promo terbaru.",
    "Menindaklanjuti keluhan layanan; diteruskan ke unit layanan cabang.",
    "Membahas program {p1} untuk {u} yang baru bergabung.",
    "Mengirim materi simulasi {p1} yang diminta lembaga.",
    "Menanyakan perkembangan persetujuan pimpinan atas usulan kerja sama.",
]
LEAD_TALK = "Presentasi {p1} kepada perwakilan {u}; {k} orang meminta dihubungi petugas penjualan."
MAINTENANCE = [
    "Kunjungan rutin: memastikan layanan berjalan baik dan mencatat masukan lembaga.",
    "Kunjungan rutin: membagikan materi promo {p1} kepada {u}.",
    "Kunjungan rutin: membantu pembukaan rekening tabungan emas bagi pegawai baru.",
    "Kunjungan rutin: evaluasi penyaluran {p1} bulan lalu bersama bagian SDM.",
]
EVENT_OUTCOME = "{kind} diikuti {a} {u}; materi {p}. {k} peserta mendaftar sebagai calon nasabah."
NOT_INTERESTED = [
    "sudah bekerja sama dengan lembaga keuangan lain",
    "kebijakan internal belum memungkinkan kerja sama baru",
    "pimpinan baru meninjau ulang semua kerja sama",
    "pegawai tidak diizinkan memakai fasilitas potong gaji",
]
CANCELLED = [
    "Dibatalkan: pimpinan lembaga berhalangan.",
    "Dibatalkan: lembaga meminta jadwal ulang.",
    "Dibatalkan: bentrok dengan rapat cabang.",
    "Dibatalkan: kegiatan lembaga ditunda.",
]
BRANCH_WORK = [
    ("Rapat koordinasi ME cabang", "Target pekan ini dan jadwal kunjungan dibagi; catatan dikirim ke grup cabang."),
    ("Pelatihan produk Cicil Emas", "Pelatihan selesai; materi simulasi terbaru dibagikan."),
    ("Penyusunan laporan kunjungan bulanan", "Laporan bulanan dikirim ke Pemimpin Cabang."),
    ("Briefing target bulanan bersama Pemimpin Cabang", "Target lembaga baru dan jadwal acara bulan ini disepakati."),
    ("Pemetaan potensi lembaga di wilayah cabang", "Daftar lembaga baru untuk didekati disusun."),
]
NEXT_STEPS: dict[str, list[str]] = {
    K.KOMUNIKASI_AWAL: ["Kirim proposal kerja sama", "Jadwalkan audiensi dengan Pemimpin Cabang"],
    K.KOMUNIKASI_LANJUTAN: ["Kirim draf PKS", "Jadwalkan sosialisasi", "Kirim simulasi angsuran"],
    K.AUDIENSI: ["Kirim draf PKS", "Susun rencana sosialisasi"],
}
LEAD_PURPOSE = "Tindak lanjut minat calon nasabah terhadap produk Pegadaian"
LEAD_LOST = [
    "Belum membutuhkan pembiayaan.",
    "Sudah menjadi nasabah lembaga keuangan lain.",
    "Tidak dapat dihubungi setelah tiga kali.",
    "Menunda hingga tahun depan.",
]
NOTE_DORMANT = "Tidak ada kegiatan dengan lembaga selama lebih dari 90 hari."


# --- What is loaded -------------------------------------------------------------------------


@dataclass
class Inst:
    id: int
    me: int
    lat: float | None
    lon: float | None
    name: str
    type: str
    members: int
    contacts: list[tuple[int, str]]  # (id, position)
    stage: str = Stage.IDENTIFIKASI
    since: dt.datetime | None = None
    window: tuple[int, int] | None = None  # workday indexes of the relationship (for filler)
    executed: int | None = None  # workday index from which events and visits make sense
    plan_from: dt.date | None = None

    @property
    def unit_word(self) -> str:
        profile = institutions_demo.PROFILES.get(self.type)
        return profile.unit_word if profile else "anggota"


@dataclass
class Branch:
    id: int
    code: str
    name: str
    area: int
    region: int
    mes: list[int]  # the branch's first ME first
    pinca: int | None
    sales: list[int]
    insts: list[Inst] = field(default_factory=list)


def _short(name: str, limit: int = 150) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _label(value: str) -> str:
    return str(Product(value).label)


class _Loader:
    def __init__(
        self,
        *,
        scale: str,
        seed: int,
        progress: Callable[[str, int], Any],
        now: dt.datetime | None = None,
    ) -> None:
        self.scale, self.seed, self.progress = scale, seed, progress
        self.spec = SCALES[scale]
        self.now = now or timezone.now()
        self.today = self.now.astimezone(JKT).date()
        self.first_day = max(FIRST_DAY, self.today - dt.timedelta(days=HISTORY_DAYS))
        last = self.today + dt.timedelta(days=AHEAD_DAYS)
        span = (last - self.first_day).days + 1
        self.workdays = [d for d in (self.first_day + dt.timedelta(days=i) for i in range(span)) if d.weekday() < 5]
        self.today_index = bisect.bisect_left(self.workdays, self.today)  # first workday >= today
        self.past_end = self.today_index - 1  # last workday before today
        self.copy = connection.vendor == "postgresql"
        self.started = time.monotonic()
        self.far_km = float(settings.CHECKIN_FAR_KM)
        self.fake = Faker("id_ID")
        self.rows: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("plans", "visits", "activities", "participants", "leads", "changes")
        }
        self.stage_rows: list[tuple[int, str, dt.datetime]] = []
        self.next_id: dict[type[models.Model], int] = {}
        self.created = {
            "activities": 0,
            "participants": 0,
            "plans": 0,
            "visits": 0,
            "leads": 0,
            "stage_changes": 0,
        }
        self.digest = hashlib.sha256()
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.tick: Callable[[int], Any] = lambda n: None
        with translation.override("id"):
            self.evidence = {
                (a, b): str(rule_for(a, b).requirement)[:255] for a, targets in TRANSITIONS.items() for b in targets
            }

    # -- dates -------------------------------------------------------------------------------

    def day(self, index: int) -> dt.date:
        return self.workdays[index]

    def index_on_or_before(self, d: dt.date) -> int:
        return bisect.bisect_right(self.workdays, d) - 1

    def at(self, d: dt.date, minutes: int) -> dt.datetime:
        return dt.datetime(d.year, d.month, d.day, minutes // 60, minutes % 60, tzinfo=JKT)

    def start_time(self, d: dt.date, kind: str, rng: random.Random) -> dt.datetime:
        lo, hi = HOURS[kind]
        return self.at(d, lo + 15 * rng.randrange((hi - lo) // 15 + 1))

    # -- rows --------------------------------------------------------------------------------

    def activity(
        self,
        b: Branch,
        rng: random.Random,
        *,
        kind: str,
        starts_at: dt.datetime,
        me: int,
        inst: Inst | None,
        status: str | None = None,
        outcome: str = "",
        title: str = "",
        place: str | None = None,
        attendance: int | None = None,
        products: list[str] | None = None,
        visit: dict[str, Any] | None = None,
        next_step: bool = True,
    ) -> dict[str, Any]:
        """One activity; its status follows the clock unless given (done in the
        past, planned ahead), and a done visit in person may carry a check-in."""
        lo, hi = MINUTES[kind]
        ends_at = starts_at + dt.timedelta(minutes=5 * rng.randrange(lo // 5, hi // 5 + 1))
        if status is None:
            status = ActivityStatus.DONE if starts_at <= self.now else ActivityStatus.PLANNED
            if rng.random() < CANCELLED_SHARE:
                status = ActivityStatus.CANCELLED
        remote = False
        if place is None:
            if inst is None:
                place = f"Kantor {b.name}"
            elif kind in (K.KOMUNIKASI_AWAL, K.KOMUNIKASI_LANJUTAN) and rng.random() < 0.35:
                place, remote = rng.choice(REMOTE), True
            else:
                place = rng.choice(AT_INSTITUTION).format(n=_short(inst.name))
        contact = None
        if inst is not None and inst.contacts and kind not in (K.LAINNYA,):
            contact = rng.choice(inst.contacts)[0]
        row: dict[str, Any] = {
            "client_id": None,
            "kind": str(kind),
            "status": str(status),
            "starts_at": starts_at,
            "ends_at": ends_at,
            "day": starts_at.date(),
            "place": place[:200],
            "title": title[:200],
            "me_id": me,
            "institution_id": inst.id if inst else None,
            "contact_id": contact,
            "outcome": "",
            "next_step": "",
            "next_step_date": None,
            "attendance": attendance,
            "products": products or [],
            "checkin_latitude": None,
            "checkin_longitude": None,
            "checkin_accuracy_m": None,
            "checkin_at": None,
            "checkin_distance_km": None,
            "checkin_far": False,
            "visit_id": None,
            "created_by_id": me,
            "branch_id": b.id,
            "area_id": b.area,
            "region_id": b.region,
            "created_at": min(self.now, starts_at - dt.timedelta(days=rng.randint(1, 10), minutes=rng.randint(0, 600))),
            "updated_at": None,
            "_visit": visit,
        }
        if status == ActivityStatus.DONE:
            row["outcome"] = outcome
            if next_step and kind in NEXT_STEPS and rng.random() < 0.6:
                row["next_step"] = rng.choice(NEXT_STEPS[kind])
                row["next_step_date"] = starts_at.date() + dt.timedelta(days=rng.randint(5, 21))
            located = inst is not None and inst.lat is not None and inst.lon is not None
            if located and not remote and kind != K.LAINNYA and rng.random() < CHECKIN_SHARE:
                assert inst is not None
                self.checkin(row, inst, rng)
        elif status == ActivityStatus.CANCELLED:
            row["outcome"] = rng.choice(CANCELLED)
        row["updated_at"] = min(self.now, max(row["created_at"], ends_at + dt.timedelta(minutes=rng.randint(5, 240))))
        if status != ActivityStatus.DONE:
            row["updated_at"] = row["created_at"]
        self.rows["activities"].append(row)
        return row

    def checkin(self, row: dict[str, Any], inst: Inst, rng: random.Random) -> None:
        assert inst.lat is not None and inst.lon is not None
        far = rng.random() < CHECKIN_FAR_SHARE
        km = rng.uniform(2.0, 25.0) if far else 0.02 + 0.45 * rng.random() ** 2
        angle = rng.random() * 2 * math.pi
        lat = inst.lat + km * math.cos(angle) / 111.32
        lon = inst.lon + km * math.sin(angle) / (111.32 * math.cos(math.radians(inst.lat)))
        lat_d, lon_d = Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")
        accuracy = rng.choice((5, 8, 10, 12, 15, 20, 30, 45, 65))
        distance = haversine_km(inst.lat, inst.lon, float(lat_d), float(lon_d))
        row.update(
            checkin_latitude=lat_d,
            checkin_longitude=lon_d,
            checkin_accuracy_m=accuracy,
            checkin_at=row["starts_at"] + dt.timedelta(minutes=rng.randint(0, 12)),
            checkin_distance_km=Decimal(str(round(distance, 2))),
            checkin_far=distance > self.far_km + accuracy / 1000,
        )

    def participant(self, act: dict[str, Any], user: int, role: str) -> None:
        self.rows["participants"].append({"_act": act, "user_id": user, "role": str(role)})

    def move(self, inst: Inst, to: str, at: dt.datetime, by: int, note: str = "") -> None:
        if inst.since is not None and at <= inst.since:
            at = inst.since + dt.timedelta(minutes=1)
        at = min(at, self.now)
        self.rows["changes"].append(
            {
                "institution_id": inst.id,
                "from_stage": str(inst.stage),
                "to_stage": str(to),
                "at": at,
                "by_id": by,
                "note": note,
                "evidence": self.evidence[(inst.stage, to)],
            }
        )
        inst.stage, inst.since = to, at

    def lead(
        self,
        b: Branch,
        rng: random.Random,
        inst: Inst,
        source: dict[str, Any] | None,
        created: dt.datetime,
        product: str,
        *,
        status: str | None = None,
        assignee: int | None | bool = True,
    ) -> None:
        """A lead; its status is drawn by its age unless given. ``assignee``:
        a user id, None (not handed over), or True (drawn)."""
        created = min(created, self.now)
        age = (self.now - created).days
        if status is None:
            if age < 7:
                mix = [(LeadStatus.BARU, 60), (LeadStatus.DIHUBUNGI, 30), (LeadStatus.TERTARIK, 10)]
            elif age < 30:
                mix = [
                    (LeadStatus.BARU, 20),
                    (LeadStatus.DIHUBUNGI, 35),
                    (LeadStatus.TERTARIK, 25),
                    (LeadStatus.CLOSING, 10),
                    (LeadStatus.TIDAK_TERTARIK, 10),
                ]
            else:
                mix = [
                    (LeadStatus.BARU, 5),
                    (LeadStatus.DIHUBUNGI, 10),
                    (LeadStatus.TERTARIK, 15),
                    (LeadStatus.CLOSING, 35),
                    (LeadStatus.TIDAK_TERTARIK, 35),
                ]
            status = rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
        if assignee is True:
            handed = status != LeadStatus.BARU or rng.random() < min(0.9, 0.3 + age / 30)
            assignee = rng.choice(b.sales) if handed and b.sales else None
        assigned_at = None
        if assignee:
            assigned_at = min(self.now, created + dt.timedelta(hours=rng.randint(1, 48)))
        changed = created
        if status != LeadStatus.BARU:
            base = assigned_at or created
            changed = min(self.now, base + dt.timedelta(hours=rng.randint(2, 24 * max(1, min(age, 45)))))
        first, last = self.fake.first_name(), self.fake.last_name()
        email = ""
        if rng.random() < 0.4:
            email = f"{first}.{last}{rng.randrange(1, 100)}@{rng.choice(institutions_demo.EMAIL_DOMAINS)}".lower()
            email = email.replace(" ", "")
        self.rows["leads"].append(
            {
                "institution_id": inst.id,
                "_act": source,
                "me_id": inst.me,
                "name": f"{first} {last}"[:120],
                "phone": f"08{rng.choice(institutions_demo.MOBILE_PREFIXES)}{rng.randrange(10**6, 10**8)}",
                "email": email,
                "product": str(product),
                "purpose": LEAD_PURPOSE,
                "lawful_basis": str(LawfulBasis.PERSETUJUAN if rng.random() < 0.85 else LawfulBasis.KEPENTINGAN_SAH),
                "notes": rng.choice(LEAD_LOST) if status == LeadStatus.TIDAK_TERTARIK else "",
                "status": str(status),
                "status_changed_at": changed,
                "assigned_to_id": assignee or None,
                "assigned_at": assigned_at,
                "due_on": (assigned_at or created).astimezone(JKT).date() + dt.timedelta(days=rng.randint(3, 7)),
                "client_id": None,
                "restricted_at": None,
                "erased_at": None,
                "anonymised_at": None,
                "created_by_id": inst.me,
                "branch_id": b.id,
                "area_id": b.area,
                "region_id": b.region,
                "created_at": created,
                "updated_at": max(changed, assigned_at or created),
            }
        )

    def products(self, rng: random.Random, n: int) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            p = str(rng.choices([p for p, _ in PRODUCT_MIX], [w for _, w in PRODUCT_MIX])[0])
            if p not in out:
                out.append(p)
        return out

    def words(self, inst: Inst | None, rng: random.Random) -> dict[str, str]:
        """What the outcome texts name: the members, two products, whom the ME met."""
        p = self.products(rng, 2)
        who = "pihak lembaga"
        if inst is not None and inst.contacts:
            who = (rng.choice(inst.contacts)[1] or who).lower()
        return {"u": inst.unit_word if inst else "pegawai", "p1": _label(p[0]), "p2": _label(p[1]), "who": who}

    # -- the ME's kinds of work ---------------------------------------------------------------

    def event(
        self,
        b: Branch,
        inst: Inst,
        d: dt.date,
        rng: random.Random,
        *,
        status: str | None = None,
        leads: int | None = None,
        starts_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """An event with its products, the sales members supporting it, and (when
        held) its attendance and the leads collected there."""
        kind = rng.choices([k for k, _ in EVENT_MIX], [w for _, w in EVENT_MIX])[0]
        chosen = self.products(rng, rng.choice((1, 2, 2, 3)))
        starts_at = starts_at or self.start_time(d, kind, rng)
        held = (status or (ActivityStatus.DONE if starts_at <= self.now else ActivityStatus.PLANNED)) == (
            ActivityStatus.DONE
        )
        attendance = None
        if held:
            attendance = max(8, min(inst.members, round(rng.lognormvariate(math.log(45), 0.55))))
        if leads is None:
            leads = min(12, round((attendance or 0) * rng.uniform(0.02, 0.08))) if held else 0
        label = str(ActivityKind(kind).label)
        names = ", ".join(_label(p) for p in chosen)
        act = self.activity(
            b,
            rng,
            kind=kind,
            starts_at=starts_at,
            me=inst.me,
            inst=inst,
            status=status,
            title=EVENT_TITLES[kind].format(p=names, u=inst.unit_word, n=_short(inst.name, 120)),
            place=rng.choice(EVENT_PLACES[kind]).format(n=_short(inst.name)),
            attendance=attendance,
            products=chosen,
            outcome=EVENT_OUTCOME.format(kind=label, a=attendance, u=inst.unit_word, p=names, k=leads),
            next_step=False,
        )
        if act["status"] != ActivityStatus.DONE:
            act["attendance"] = None
            leads = 0
        for user in rng.sample(b.sales, k=min(len(b.sales), rng.choice((1, 1, 2, 2, 3)))):
            self.participant(act, user, ParticipantRole.SALES)
        if b.pinca and kind == K.SOSIALISASI and rng.random() < 0.15:
            self.participant(act, b.pinca, ParticipantRole.PINCA)
        for _ in range(leads):
            when = act["ends_at"] + dt.timedelta(minutes=rng.randint(-30, 90))
            self.lead(b, rng, inst, act, when, rng.choice(chosen))
        return act

    def talk(
        self, b: Branch, inst: Inst, d: dt.date, rng: random.Random, texts: list[str], **kw: Any
    ) -> dict[str, Any]:
        kind = kw.pop("kind", K.KOMUNIKASI_LANJUTAN)
        starts_at = kw.pop("starts_at", None) or self.start_time(d, kind, rng)
        return self.activity(
            b, rng, kind=kind, starts_at=starts_at, me=inst.me, inst=inst,
            outcome=rng.choice(texts).format(**self.words(inst, rng)), **kw,
        )  # fmt: skip

    def audience(self, b: Branch, inst: Inst, d: dt.date, rng: random.Random, **kw: Any) -> dict[str, Any]:
        act = self.talk(b, inst, d, rng, AUDIENCE, kind=K.AUDIENSI, **kw)
        act["title"] = _short(f"Audiensi Pemimpin Cabang dengan pimpinan {inst.name}", 200)
        assert b.pinca is not None
        self.participant(act, b.pinca, ParticipantRole.PINCA)
        return act

    def plan(
        self,
        b: Branch,
        inst: Inst,
        created: dt.datetime,
        starts_on: dt.date,
        rng: random.Random,
        *,
        frequency: tuple[str, int] | None = None,
        keep_planned: set[dt.date] | None = None,
    ) -> None:
        """An active plan and its visits as ``services.generate_visits`` makes
        them; past visits are mostly done (each by a linked visit activity); a
        few skipped, missed once a later visit was done, else overdue."""
        if frequency is None:
            chosen, _weight, days = rng.choices(FREQUENCIES, [w for _f, w, _g in FREQUENCIES])[0]
            frequency = (chosen, days)
        freq, grace = frequency
        plan = {
            "institution_id": inst.id,
            "me_id": inst.me,
            "frequency": str(freq),
            "starts_on": starts_on,
            "ends_on": None,
            "grace_days": grace,
            "status": str(PlanStatus.ACTIVE),
            "notes": f"Kunjungan rutin {str(Frequency(freq).label).lower()} ke bagian SDM",
            "created_by_id": inst.me,
            "branch_id": b.id,
            "area_id": b.area,
            "region_id": b.region,
            "created_at": created,
            "updated_at": created,
        }
        self.rows["plans"].append(plan)
        until = max(self.today, starts_on) + dt.timedelta(days=schedule.HORIZON_DAYS)
        skipped: list[dict[str, Any]] = []
        for due in schedule.due_dates(freq, starts_on, until):
            made = max(created, self.at(due - dt.timedelta(days=schedule.HORIZON_DAYS), 60))
            visit: dict[str, Any] = {
                "_plan": plan,
                "institution_id": inst.id,
                "me_id": inst.me,
                "due_on": due,
                "overdue_on": schedule.overdue_on(due, grace),
                "status": str(VisitStatus.PLANNED),
                "done_on": None,
                "branch_id": b.id,
                "area_id": b.area,
                "region_id": b.region,
                "created_at": min(made, self.now),
                "updated_at": min(made, self.now),
            }
            self.rows["visits"].append(visit)
            if due >= self.today:
                continue
            skipped.append(visit)
            if keep_planned and due in keep_planned:
                continue
            recent = (self.today - due).days <= 45
            if rng.random() < (0.2 if recent else 0.04):
                continue  # skipped: overdue once its grace has passed, missed once a later one is done
            late = rng.random() < 0.08
            offset = rng.randint(grace + 1, grace + 8) if late else rng.randint(-min(3, grace), grace)
            done = due + dt.timedelta(days=offset)
            while done.weekday() >= 5:
                done += dt.timedelta(days=1)
            if done >= self.today or done < starts_on:
                continue
            act = self.activity(
                b,
                rng,
                kind=K.KUNJUNGAN_MAINTENANCE,
                starts_at=self.start_time(done, K.KUNJUNGAN_MAINTENANCE, rng),
                me=inst.me,
                inst=inst,
                status=ActivityStatus.DONE,
                outcome=rng.choice(MAINTENANCE).format(**self.words(inst, rng)),
                visit=visit,
                title="Kunjungan maintenance terjadwal",
            )
            visit.update(status=str(VisitStatus.DONE), done_on=done, updated_at=act["updated_at"])
            skipped.pop()
            # As services._complete_visit records it: the earlier ones still planned were missed.
            for earlier in skipped:
                earlier.update(status=str(VisitStatus.MISSED), updated_at=act["updated_at"])
            skipped = []
            if rng.random() < 0.1:
                for _ in range(rng.randint(1, 2)):
                    self.lead(b, rng, inst, act, act["ends_at"], self.products(rng, 1)[0])

    # -- an institution's story ----------------------------------------------------------------

    def story(
        self,
        b: Branch,
        inst: Inst,
        target: str,
        rng: random.Random,
        *,
        last: int | None = None,
        plan_start: dt.date | None = None,
        plan_frequency: tuple[str, int] | None = None,
        keep_planned: set[dt.date] | None = None,
        event_leads: int | None = None,
    ) -> None:
        """Walk ``inst`` along the pipeline to ``target`` with the evidence each
        move needs, dated backwards from its current stage. ``last``: the
        workday index of the last milestone (the showcase pins it)."""
        end = self.past_end
        side = target if target in (Stage.TIDAK_BERMINAT, Stage.DORMAN) else None
        reached: str
        if side == Stage.TIDAK_BERMINAT:
            reached = rng.choices(PATH[:3], [60, 25, 15])[0]
        elif side == Stage.DORMAN:
            reached = rng.choices(PATH[:4], [50, 25, 15, 10])[0]
        else:
            reached = target
        if reached != Stage.KOMUNIKASI_AWAL and b.pinca is None:
            reached = Stage.KOMUNIKASI_AWAL  # no branch head to attend an audience
        k = PATH.index(reached)
        # The day of the last milestone, and of the move out for a side stage.
        move_out: int | None = None
        if last is None:
            if reached == Stage.MAINTENANCE:
                lo, hi = self.spec.plan_age
                plan_start = plan_start or self.today - dt.timedelta(days=rng.randint(lo, hi))
                last = self.index_on_or_before(plan_start - dt.timedelta(days=rng.randint(3, 14)))
            elif side == Stage.TIDAK_BERMINAT:
                move_out = end - rng.randint(3, 200)
                last = move_out - rng.randint(5, 40)
            elif side == Stage.DORMAN:
                move_out = end - rng.randint(0, 140)
                last = move_out - 66 - rng.randint(0, 80)  # 66 workdays ≈ 92 days: quiet long enough
            else:
                lo, hi = IN_STAGE[reached]
                last = end - rng.randint(lo, hi)
        gaps = [rng.randint(*GAPS[s]) for s in PATH[1 : k + 1]]
        if last < k:
            return  # the window is too short for this story
        room = last  # the first milestone is on workday 0 at the earliest
        if sum(gaps) > room:
            scale = room / max(1, sum(gaps))
            gaps = [max(1, int(g * scale)) for g in gaps]
            while sum(gaps) > room:
                gaps[gaps.index(max(gaps))] -= 1
        marks = [last]
        for g in reversed(gaps):
            marks.insert(0, marks[0] - g)
        first = marks[0]
        if first < 0:
            return
        # First contact, then the move to KOMUNIKASI_AWAL; each move follows its evidence.
        a = self.talk(
            b, inst, self.day(marks[0]), rng, FIRST_CONTACT, kind=K.KOMUNIKASI_AWAL, status=ActivityStatus.DONE
        )
        self.move(inst, Stage.KOMUNIKASI_AWAL, a["ends_at"] + dt.timedelta(hours=rng.randint(1, 4)), inst.me)
        if k >= 1:
            for _ in range(rng.choice((0, 1, 1, 2))):
                if marks[1] - marks[0] > 1:
                    d = self.day(rng.randint(marks[0] + 1, marks[1] - 1))
                    self.talk(b, inst, d, rng, BEFORE_AUDIENCE)
            if rng.random() < 0.1 and marks[1] - marks[0] > 1:
                d = self.day(rng.randint(marks[0] + 1, marks[1] - 1))
                self.audience(b, inst, d, rng, status=ActivityStatus.CANCELLED)
            a = self.audience(b, inst, self.day(marks[1]), rng, status=ActivityStatus.DONE)
            self.move(inst, Stage.AUDIENSI, a["ends_at"] + dt.timedelta(hours=rng.randint(1, 4)), inst.me)
        if k >= 2:
            a = self.talk(b, inst, self.day(marks[2]), rng, TOWARDS_AGREEMENT, status=ActivityStatus.DONE)
            self.move(inst, Stage.KERJA_SAMA, a["ends_at"] + dt.timedelta(hours=rng.randint(1, 4)), inst.me)
        if k >= 3:
            d = self.day(marks[3])
            if rng.random() < 0.75 or event_leads is not None:
                a = self.event(b, inst, d, rng, status=ActivityStatus.DONE, leads=event_leads)
            else:
                n = rng.randint(1, 4)
                a = self.talk(b, inst, d, rng, [LEAD_TALK.replace("{k}", str(n))], status=ActivityStatus.DONE)
                for _ in range(n):
                    self.lead(b, rng, inst, a, a["ends_at"], self.products(rng, 1)[0])
            self.move(inst, Stage.EKSEKUSI, a["ends_at"] + dt.timedelta(hours=rng.randint(1, 4)), inst.me)
            inst.executed = marks[3]
        if k >= 4:
            assert plan_start is not None
            made = self.start_time(self.day(marks[4]), K.LAINNYA, rng)
            self.plan(b, inst, made, plan_start, rng, frequency=plan_frequency, keep_planned=keep_planned)
            self.move(inst, Stage.MAINTENANCE, made + dt.timedelta(minutes=rng.randint(5, 90)), inst.me)
            inst.plan_from = plan_start
        inst.window = (first, len(self.workdays) - 1)
        if side == Stage.TIDAK_BERMINAT:
            assert move_out is not None
            reason = rng.choice(NOT_INTERESTED)
            a = self.talk(
                b, inst, self.day(move_out), rng, [f"Lembaga menyatakan belum berminat bekerja sama: {reason}."],
                status=ActivityStatus.DONE,
            )  # fmt: skip
            note = f"Lembaga belum berminat: {reason}."
            self.move(inst, Stage.TIDAK_BERMINAT, a["ends_at"] + dt.timedelta(hours=rng.randint(1, 6)), inst.me, note)
            inst.window = (first, move_out - 1)
        elif side == Stage.DORMAN:
            assert move_out is not None
            self.move(inst, Stage.DORMAN, self.start_time(self.day(move_out), K.LAINNYA, rng), inst.me, NOTE_DORMANT)
            inst.window = (first, last)
        elif rng.random() < 0.4 and self.today_index + 1 < len(self.workdays):
            # The next step, planned in the coming weeks.
            d = self.day(rng.randint(self.today_index + 1, len(self.workdays) - 1))
            if inst.stage == Stage.KOMUNIKASI_AWAL:
                self.audience(b, inst, d, rng, status=ActivityStatus.PLANNED)
            elif inst.stage == Stage.AUDIENSI:
                self.talk(b, inst, d, rng, TOWARDS_AGREEMENT, status=ActivityStatus.PLANNED)
            elif inst.stage == Stage.KERJA_SAMA:
                self.event(b, inst, d, rng, status=ActivityStatus.PLANNED)

    def filler(self, b: Branch, me: int, insts: list[Inst], n: int, rng: random.Random) -> None:
        """Top an ME up with ``n`` more activities: follow-ups, events and extra
        visits with the institutions they work with, and branch work."""
        if n <= 0:
            return
        live = [i for i in insts if i.window and i.window[1] > i.window[0]]
        branch_work = round(n * BRANCH_WORK_SHARE)
        for _ in range(branch_work):
            d = self.day(rng.randrange(len(self.workdays)))
            title, outcome = rng.choice(BRANCH_WORK)
            self.activity(b, rng, kind=K.LAINNYA, starts_at=self.start_time(d, K.LAINNYA, rng), me=me, inst=None,
                          title=title, outcome=outcome)  # fmt: skip
        if not live:
            return  # nobody to follow up: only the branch's own work
        weights = []
        for i in live:
            assert i.window is not None
            weights.append(FILLER_WEIGHT[i.stage] * (i.window[1] - i.window[0]))
        for inst in rng.choices(live, weights, k=n - branch_work):
            assert inst.window is not None
            index = rng.randint(inst.window[0] + 1, inst.window[1])
            d = self.day(index)
            if inst.executed is not None and index > inst.executed:
                r = rng.random()
                if r < 0.12:
                    self.event(b, inst, d, rng)
                    continue
                if r < 0.4 and inst.plan_from is not None and d >= inst.plan_from:
                    self.talk(b, inst, d, rng, MAINTENANCE, kind=K.KUNJUNGAN_MAINTENANCE)
                    continue
            self.talk(b, inst, d, rng, FOLLOW_UP)

    def showcase(self, b: Branch, picks: dict[str, Inst], rng: random.Random) -> None:
        """Today's work of the branch's first ME (see the module docstring)."""
        now_local = self.now.astimezone(JKT)
        today = self.today
        midnight = self.at(today, 0)
        week_start = today - dt.timedelta(days=today.weekday())
        ka, eks = picks.get(Stage.KOMUNIKASI_AWAL), picks.get(Stage.EKSEKUSI)
        if ka is not None:
            # Done earlier this week (or today on a Monday), planned: the audience, later today.
            done_at = self.at(week_start, 9 * 60 + 30) if today > week_start else None
            if done_at is not None:
                self.talk(b, ka, week_start, rng, BEFORE_AUDIENCE, status=ActivityStatus.DONE, starts_at=done_at)
            later = max(now_local + dt.timedelta(hours=1), self.at(today, 13 * 60 + 30))
            later = min(
                later.replace(minute=later.minute - later.minute % 15, second=0, microsecond=0),
                self.at(today, 23 * 60 + 30),
            )
            self.audience(b, ka, today, rng, status=ActivityStatus.PLANNED, starts_at=later)
        if eks is not None:
            early = max(midnight, min(self.at(today, 9 * 60), now_local - dt.timedelta(minutes=30)))
            early = early.replace(second=0, microsecond=0)
            self.talk(
                b, eks, today, rng, ["Konfirmasi tindak lanjut calon nasabah dari acara pekan lalu."],
                status=ActivityStatus.DONE, starts_at=early,
            )  # fmt: skip
            ahead = [d for d in self.workdays[self.today_index :] if d > today][:8]
            if ahead:
                self.event(b, eks, ahead[min(len(ahead) - 1, rng.randint(2, 7))], rng, status=ActivityStatus.PLANNED)

    # -- a branch ---------------------------------------------------------------------------------

    def branch(self, b: Branch, share: dict[int, int]) -> int:
        """Everything for one branch; returns the number of activities made."""
        rng = random.Random(f"activities:{self.seed}:{b.code}")
        self.fake.seed_instance(f"activities:{self.seed}:{b.code}")
        before = len(self.rows["activities"]) + self.created["activities"]
        stages = list(self.spec.stages)
        weights = [self.spec.stages[s] for s in stages]
        eligible = [i for i in b.insts[1:] if i.me]  # the first stays fresh for a first contact
        first_me = b.mes[0] if b.mes else None
        mine = [i for i in eligible if i.me == first_me]
        picks: dict[str, Inst] = {}
        for stage, inst in zip((Stage.MAINTENANCE, Stage.EKSEKUSI, Stage.KOMUNIKASI_AWAL), mine, strict=False):
            picks[stage] = inst
        pinned = {i.id for i in picks.values()}
        for inst in eligible:
            if inst.id in pinned:
                continue
            target = rng.choices(stages, weights)[0]
            if target == Stage.IDENTIFIKASI:
                if rng.random() < self.spec.first_contact_ahead and self.today_index + 1 < len(self.workdays):
                    d = self.day(rng.randint(self.today_index + 1, len(self.workdays) - 1))
                    self.talk(b, inst, d, rng, FIRST_CONTACT, kind=K.KOMUNIKASI_AWAL, status=ActivityStatus.PLANNED)
                continue
            self.story(b, inst, target, rng)
        if b.pinca is not None and picks:
            self.pinned(b, picks, rng)
            self.showcase(b, picks, rng)
        if self.spec.total is not None:
            made: dict[int, int] = {}
            for row in self.rows["activities"][before - self.created["activities"] :]:
                made[row["me_id"]] = made.get(row["me_id"], 0) + 1
            for me in b.mes:
                self.filler(b, me, [i for i in eligible if i.me == me], share.get(me, 0) - made.get(me, 0), rng)
        for inst in eligible:
            if inst.since is not None:
                self.stage_rows.append((inst.id, inst.stage, inst.since))
        return len(self.rows["activities"]) + self.created["activities"] - before

    def pinned(self, b: Branch, picks: dict[str, Inst], rng: random.Random) -> None:
        """The showcase institutions' stories, pinned to today."""
        today = self.today
        if Stage.MAINTENANCE in picks:
            # Fortnightly: a visit due today, the one two weeks ago missed (overdue).
            weeks = rng.randint(4, 8)
            start = today - dt.timedelta(days=14 * weeks)
            self.story(
                b, picks[Stage.MAINTENANCE], Stage.MAINTENANCE, rng,
                last=self.index_on_or_before(start - dt.timedelta(days=7)), plan_start=start,
                plan_frequency=(Frequency.BIWEEKLY, 5), keep_planned={today - dt.timedelta(days=14)},
            )  # fmt: skip
        if Stage.EKSEKUSI in picks:
            inst = picks[Stage.EKSEKUSI]
            last = self.index_on_or_before(today - dt.timedelta(days=rng.randint(5, 9)))
            self.story(b, inst, Stage.EKSEKUSI, rng, last=last, event_leads=0)
            event = next(
                r for r in reversed(self.rows["activities"]) if r["institution_id"] == inst.id and r["attendance"]
            )
            statuses = [
                (LeadStatus.BARU, None),
                (LeadStatus.BARU, b.sales[0] if b.sales else None),
                (LeadStatus.DIHUBUNGI, b.sales[0] if b.sales else None),
                (LeadStatus.TERTARIK, b.sales[-1] if b.sales else None),
            ]
            event["outcome"] = EVENT_OUTCOME.format(
                kind=ActivityKind(event["kind"]).label,
                a=event["attendance"],
                u=inst.unit_word,
                p=", ".join(_label(p) for p in event["products"]),
                k=len(statuses),
            )
            for status, assignee in statuses:
                when = event["ends_at"] + dt.timedelta(minutes=rng.randint(0, 60))
                self.lead(b, rng, inst, event, when, rng.choice(event["products"]), status=status, assignee=assignee)
        if Stage.KOMUNIKASI_AWAL in picks:
            last = self.index_on_or_before(today - dt.timedelta(days=rng.randint(20, 40)))
            self.story(b, picks[Stage.KOMUNIKASI_AWAL], Stage.KOMUNIKASI_AWAL, rng, last=last)
        for inst in picks.values():
            if inst.window and inst.stage == Stage.KOMUNIKASI_AWAL:
                # No filler audience may slip in: its evidence must stay missing.
                inst.window = (inst.window[0], inst.window[0])

    # -- writing ------------------------------------------------------------------------------

    def reserve(self, model: type[models.Model], n: int) -> list[int]:
        if n == 0:
            return []
        if self.copy:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [model._meta.db_table, n],
                )
                return [r[0] for r in cursor.fetchall()]
        if model not in self.next_id:
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - a model's table
                self.next_id[model] = cursor.fetchone()[0] + 1
        start = self.next_id[model]
        self.next_id[model] = start + n
        return list(range(start, start + n))

    def write(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        names = [n for n in rows[0] if not n.startswith("_")]
        fields = [by_name[n] for n in names]
        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        if self.copy:
            as_json = [isinstance(f, models.JSONField) for f in fields]
            with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row([json.dumps(r[n]) if j else r[n] for n, j in zip(names, as_json, strict=True)])
            return
        marks = ", ".join(["%s"] * len(fields))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 - the model's own columns
                [[f.get_db_prep_save(r[n], connection) for n, f in zip(names, fields, strict=True)] for r in rows],
            )

    def flush(self) -> None:
        rows = self.rows
        for row, pk in zip(rows["plans"], self.reserve(MaintenancePlan, len(rows["plans"])), strict=True):
            row["id"] = pk
        self.write(MaintenancePlan, rows["plans"])
        for row, pk in zip(rows["visits"], self.reserve(MaintenanceVisit, len(rows["visits"])), strict=True):
            row["id"], row["plan_id"] = pk, row["_plan"]["id"]
        self.write(MaintenanceVisit, rows["visits"])
        acts = rows["activities"]
        for row, pk in zip(acts, self.reserve(Activity, len(acts)), strict=True):
            row["id"] = pk
            if row["_visit"] is not None:
                row["visit_id"] = row["_visit"]["id"]
            self.digest.update(f"{pk}:{row['institution_id']}:{row['kind']}:{row['day']}\n".encode())
        self.write(Activity, acts)
        if acts:
            self.first_id = acts[0]["id"] if self.first_id is None else self.first_id
            self.last_id = acts[-1]["id"]
        for row in rows["participants"]:
            row["activity_id"] = row["_act"]["id"]
        self.write(Participant, rows["participants"])
        for row in rows["leads"]:
            row["source_activity_id"] = row["_act"]["id"] if row["_act"] is not None else None
        self.write(Lead, rows["leads"])
        self.write(StageChange, rows["changes"])
        for key, model_rows in rows.items():
            self.created["stage_changes" if key == "changes" else key] += len(model_rows)
        self.tick(len(acts))
        self.rows = {k: [] for k in rows}

    def write_stages(self, branch_ids: list[int]) -> None:
        """Each institution's stage and since when; every demo institution of the
        loaded branches registered when its demo owner took it over, so its time
        in a stage counts from then. One UPDATE on PostgreSQL (each pass over the
        registry rewrites its rows and their index entries)."""
        table = connection.ops.quote_name(Institution._meta.db_table)
        with connection.cursor() as cursor:
            if self.copy:
                cursor.execute(
                    "CREATE TEMPORARY TABLE demo_stage (id bigint PRIMARY KEY, stage varchar(16), since timestamptz) "
                    "ON COMMIT DROP"
                )
                with cursor.cursor.copy("COPY demo_stage (id, stage, since) FROM STDIN") as copy:
                    for row in self.stage_rows:
                        copy.write_row(row)
                cursor.execute(
                    f"UPDATE {table} i SET created_at = LEAST(i.created_at, %s), "  # noqa: S608 - a model's table
                    "stage = COALESCE(s.stage, i.stage), stage_since = COALESCE(s.since, i.stage_since) "
                    f"FROM {table} t LEFT JOIN demo_stage s ON s.id = t.id "
                    "WHERE i.id = t.id AND t.branch_id = ANY(%s) AND (t.created_at > %s OR s.id IS NOT NULL)",
                    [REGISTERED_AT, branch_ids, REGISTERED_AT],
                )
                cursor.execute("DROP TABLE demo_stage")
                return
            for i in range(0, len(branch_ids), 500):
                part = branch_ids[i : i + 500]
                marks = ", ".join(["%s"] * len(part))
                sql = f"UPDATE {table} SET created_at = %s WHERE created_at > %s AND branch_id IN ({marks})"  # noqa: S608
                cursor.execute(sql, [REGISTERED_AT, REGISTERED_AT, *part])
            field = Institution._meta.get_field("stage_since")
            cursor.executemany(
                f"UPDATE {table} SET stage = %s, stage_since = %s WHERE id = %s",  # noqa: S608 - a model's table
                [(stage, field.get_db_prep_save(since, connection), pk) for pk, stage, since in self.stage_rows],
            )

    @contextmanager
    def keys_after_load(self) -> Iterator[None]:
        """Into empty tables on PostgreSQL: drop their foreign keys and plain
        indexes, load, then build each index and validate each key in one pass
        (checked row by row, millions of deferred keys take minutes at COMMIT).
        Inside the load's transaction: a failure puts everything back."""
        models_ = [Activity, Participant, MaintenancePlan, MaintenanceVisit, Lead, StageChange]
        empty = [m._meta.db_table for m in models_ if not m._default_manager.exists()] if self.copy else []
        if not empty:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
                [empty],
            )
            keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid::regclass::text = ANY(%s) AND NOT indisprimary "
                "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY 1",
                [empty],
            )
            indexes = cursor.fetchall()
            q = connection.ops.quote_name
            # Checks still pending in this transaction (rows deleted just before) block ALTER TABLE: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table, name, _definition in keys:
                cursor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {q(name)}")
        yield
        with connection.cursor() as cursor:
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in keys:
                cursor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")

    # -- the run --------------------------------------------------------------------------------

    def branches(self) -> list[Branch]:
        planned = org_demo.plan_units(org_demo.SCALES[self.scale], random.Random(self.seed))
        codes = [u.code for u in planned if u.kind == UnitKind.CABANG]
        units = list(
            OrgUnit.objects.filter(code__in=codes, kind=UnitKind.CABANG, parent__parent__isnull=False)
            .values_list("id", "code", "name", "parent_id", "parent__parent_id")
            .order_by("code")
        )
        ids = [u[0] for u in units]
        mes: dict[int, list[tuple[bool, int]]] = {}
        for branch_id, user_id, username, code in Placement.objects.filter(
            valid_to__isnull=True, branch_id__in=ids
        ).values_list("branch_id", "user_id", "user__username", "branch__code"):
            mes.setdefault(branch_id, []).append((username != f"me.{code.lower()}.1", user_id))
        heads: dict[int, list[tuple[bool, int]]] = {}
        sales: dict[int, list[int]] = {}
        for unit_id, role, user_id, username, code in (
            RoleAssignment.objects.active(self.today)
            .filter(unit_id__in=ids, role__in=(Role.PINCA, Role.SALES))
            .values_list("unit_id", "role", "user_id", "user__username", "unit__code")
            .order_by("user_id")
        ):
            if role == Role.PINCA:
                heads.setdefault(unit_id, []).append((username != f"pinca.{code.lower()}", user_id))
            else:
                sales.setdefault(unit_id, []).append(user_id)
        return [
            Branch(
                id=pk,
                code=code,
                name=name,
                area=area,
                region=region,
                mes=[u for _, u in sorted(mes.get(pk, []))],
                pinca=min(heads[pk])[1] if heads.get(pk) else None,
                sales=sales.get(pk, []),
            )
            for pk, code, name, area, region in units
            if area is not None and region is not None
        ]

    def institutions(self, todo: list[Branch]) -> None:
        by_id = {b.id: b for b in todo}
        contacts: dict[int, list[tuple[int, str]]] = {}
        for pk, inst_id, position in (
            Contact.objects.filter(institution__branch_id__in=by_id, erased_at__isnull=True)
            .values_list("id", "institution_id", "position")
            .order_by("id")
        ):
            contacts.setdefault(inst_id, []).append((pk, position))
        for pk, branch_id, me, status, stage, lat, lon, name, kind, members in (
            Institution.objects.live()
            .filter(branch_id__in=by_id)
            .values_list(
                "id", "branch_id", "me_id", "status", "stage", "latitude", "longitude", "name", "type", "member_count"
            )
            .order_by("branch_id", "id")
        ):
            b = by_id[branch_id]
            active = status == InstitutionStatus.AKTIF and stage == Stage.IDENTIFIKASI and me in b.mes
            b.insts.append(
                Inst(
                    id=pk,
                    me=me if active else 0,
                    lat=float(lat) if lat is not None else None,
                    lon=float(lon) if lon is not None else None,
                    name=name,
                    type=kind,
                    members=members,
                    contacts=contacts.get(pk, []),
                )
            )

    def run(self) -> dict[str, int]:
        with translation.override("id"):
            return self._run()

    def _run(self) -> dict[str, int]:
        branches = self.branches()
        if not branches:
            return self.created
        loaded = set(
            Activity.objects.filter(branch_id__in=[b.id for b in branches])
            .values_list("branch_id", flat=True)
            .distinct()
        )
        todo = [b for b in branches if b.id not in loaded and b.mes]
        if not todo:
            return self.created
        share: dict[int, int] = {}
        if self.spec.total is not None:
            every = [me for b in branches for me in b.mes]
            share = dict(zip(every, institutions_demo._allocate(self.spec.total, [1.0] * len(every)), strict=True))
            expected = sum(share[me] for b in todo for me in b.mes)
        else:
            expected = 0
        self.institutions(todo)
        if not expected:
            expected = sum(2 * len(b.insts) for b in todo)
        self.tick = self.progress("aktivitas", expected)
        with transaction.atomic():
            with self.keys_after_load():
                for b in todo:
                    self.branch(b, share)
                    if len(self.rows["activities"]) >= FLUSH_AT:
                        self.flush()
                self.flush()
                self.write_stages([b.id for b in todo])
            if self.created["activities"]:
                # "seconds": building, writing and indexing the rows (COMMIT and ANALYZE follow).
                audit.record(
                    actor=None,
                    action="demo.load",
                    object_type="activities.demo",
                    object_id=f"{self.scale}:{self.seed}",
                    after=self.created
                    | {
                        "today": self.today.isoformat(),
                        "seconds": round(time.monotonic() - self.started, 1),
                        "first_id": self.first_id,
                        "last_id": self.last_id,
                        "digest": self.digest.hexdigest(),
                    },
                )
        if self.created["activities"] and self.copy:
            tables = ", ".join(
                connection.ops.quote_name(m._meta.db_table)
                for m in (Activity, Participant, MaintenancePlan, MaintenanceVisit, Lead, StageChange, Institution)
            )
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")
        return self.created


def load(
    *, scale: str, seed: int, progress: Callable[[str, int], Any], now: dt.datetime | None = None
) -> dict[str, int]:
    """Create the ME's work for every demo branch of the scale that has none yet."""
    return _Loader(scale=scale, seed=seed, progress=progress, now=now).run()
