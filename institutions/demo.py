"""Demo data for the institution registry: institutions, their owners and contacts.

Runs after ``org.demo.load`` (it needs the branches, their locations and the
MEs posted to them). Deterministic for a seed: each branch draws from its own
random stream, in branch-code order. Idempotent: a branch that already has
institutions is left alone, so a second run adds nothing. Inserted with
``bulk_create`` in batches and recorded as one audit event for the whole load.

Names follow the way Indonesian institutions are really named (DESIGN.md §3);
every name is unique within its regency after ``name_key`` so the duplicate
detector does not flag demo data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from control import audit
from core.geo import demo_regency_point, haversine_km
from core.wilayah import Area, districts_by_regency, provinces, regencies, short_regency_name
from institutions import scoring
from institutions.models import (
    Contact,
    Institution,
    InstitutionStatus,
    InstitutionType,
    LawfulBasis,
    Ownership,
    Sector,
)
from institutions.normalise import name_key
from org import demo as org_demo
from org.models import OrgUnit, Placement, UnitKind

BATCH = 2000
# How many institutions each scale holds (head offices included).
TOTALS = {"small": 300, "national": 200_000}
# Share of institutions with contacts (small: every one, so every page has some).
CONTACT_SHARE = {"small": 1.0, "national": 0.3}
# When the demo owners took over: a fixed instant, so the data is the same every run.
OWNED_FROM = dt.datetime(2025, 1, 2, 2, 0, tzinfo=dt.UTC)  # 09:00 in Jakarta
CONTACT_PURPOSE = "Koordinasi kerja sama dan kegiatan dengan lembaga"

SHARE_IN_OWN_REGENCY = 0.85  # the rest lie elsewhere in the branch's area, within reach
OTHER_REGENCY_MAX_KM = 120.0
SHARE_WITH_COORDINATES = 0.70
NEAR_BRANCH_KM = 20.0
SHARE_AKTIF = 0.85
SHARE_WITH_ME = 0.80
NPWP_SCALE = 0.88  # the type shares below, scaled so that about 60% have an NPWP

T = InstitutionType
S = Sector


@dataclass(frozen=True)
class TypeProfile:
    """How institutions of a type look: how common, how big, what each member
    may bring (Rp juta, before uptake), how often they have an NPWP."""

    weight: float
    per_member_juta: int
    npwp_share: float
    sigma: float
    unit_word: str


PROFILES: dict[str, TypeProfile] = {
    T.INSTANSI: TypeProfile(14, 15, 0.80, 0.7, "pegawai"),
    T.SEKOLAH: TypeProfile(17, 10, 0.55, 0.5, "guru dan tenaga kependidikan"),
    T.SWASTA: TypeProfile(16, 12, 0.85, 1.0, "karyawan"),
    T.BUMN_BUMD: TypeProfile(7, 25, 0.95, 0.7, "pegawai"),
    T.TNI_POLRI: TypeProfile(6, 15, 0.60, 0.5, "personel"),
    T.PERGURUAN_TINGGI: TypeProfile(4, 18, 0.80, 0.7, "dosen dan tenaga kependidikan"),
    T.PESANTREN: TypeProfile(6, 5, 0.35, 0.6, "ustaz dan pengurus"),
    T.KOPERASI: TypeProfile(9, 8, 0.65, 0.9, "anggota"),
    T.KOMUNITAS: TypeProfile(7, 6, 0.05, 0.8, "anggota"),
    T.ASOSIASI: TypeProfile(4, 10, 0.40, 0.8, "anggota"),
    T.BUMDES: TypeProfile(5, 5, 0.50, 0.5, "pengelola dan anggota"),
    T.ARMADA: TypeProfile(5, 8, 0.80, 0.9, "pengemudi dan karyawan"),
}

# ---------------------------------------------------------------------------
# National head offices, and the regional offices that hang under them.


@dataclass(frozen=True)
class HeadOffice:
    key: str
    name: str
    type: str
    sector: str
    regency_code: str
    members: int


HEAD_OFFICES: list[HeadOffice] = [
    HeadOffice("pos", "PT Pos Indonesia (Persero)", T.BUMN_BUMD, S.TRANSPORTASI, "32.73", 21_000),
    HeadOffice("kai", "PT Kereta Api Indonesia (Persero)", T.BUMN_BUMD, S.TRANSPORTASI, "32.73", 27_000),
    HeadOffice("telkom", "PT Telkom Indonesia (Persero) Tbk", T.BUMN_BUMD, S.TELEKOMUNIKASI, "32.73", 23_000),
    HeadOffice("pln", "PT PLN (Persero)", T.BUMN_BUMD, S.ENERGI, "31.74", 45_000),
    HeadOffice("pertamina", "PT Pertamina (Persero)", T.BUMN_BUMD, S.ENERGI, "31.71", 30_000),
    HeadOffice("bri", "PT Bank Rakyat Indonesia (Persero) Tbk", T.BUMN_BUMD, S.KEUANGAN, "31.71", 60_000),
    HeadOffice("bni", "PT Bank Negara Indonesia (Persero) Tbk", T.BUMN_BUMD, S.KEUANGAN, "31.71", 27_000),
    HeadOffice("taspen", "PT Taspen (Persero)", T.BUMN_BUMD, S.KEUANGAN, "31.71", 4_000),
    HeadOffice("bulog", "Perum Bulog", T.BUMN_BUMD, S.PERDAGANGAN, "31.74", 4_500),
    HeadOffice("kemenkeu", "Kementerian Keuangan Republik Indonesia", T.INSTANSI, S.PEMERINTAHAN, "31.71", 80_000),
    HeadOffice("kemenag", "Kementerian Agama Republik Indonesia", T.INSTANSI, S.PEMERINTAHAN, "31.71", 200_000),
    HeadOffice("bps", "Badan Pusat Statistik", T.INSTANSI, S.PEMERINTAHAN, "31.71", 16_000),
    HeadOffice(
        "atr",
        "Kementerian Agraria dan Tata Ruang/Badan Pertanahan Nasional",
        T.INSTANSI,
        S.PEMERINTAHAN,
        "31.74",
        38_000,
    ),
    HeadOffice("polri", "Markas Besar Kepolisian Negara Republik Indonesia", T.TNI_POLRI, S.PERTAHANAN, "31.74", 8_000),
]

# Railway operations areas (Daop/Divre) by the regency they sit in.
KAI_AREAS = {
    "Kota Administrasi Jakarta Pusat": "Daop 1 Jakarta",
    "Kota Bandung": "Daop 2 Bandung",
    "Kota Cirebon": "Daop 3 Cirebon",
    "Kota Semarang": "Daop 4 Semarang",
    "Kabupaten Banyumas": "Daop 5 Purwokerto",
    "Kota Yogyakarta": "Daop 6 Yogyakarta",
    "Kota Madiun": "Daop 7 Madiun",
    "Kota Surabaya": "Daop 8 Surabaya",
    "Kabupaten Jember": "Daop 9 Jember",
    "Kota Medan": "Divre I Sumatera Utara",
    "Kota Padang": "Divre II Sumatera Barat",
    "Kota Palembang": "Divre III Palembang",
    "Kota Bandar Lampung": "Divre IV Tanjungkarang",
}
RAIL_PROVINCES = {"11", "12", "13", "16", "18", "31", "32", "33", "34", "35", "36"}
JAVA = {"31", "32", "33", "34", "35", "36"}
# Regional development banks with a name of their own.
BPD = {
    "31": "PT Bank DKI",
    "32": "PT Bank Pembangunan Daerah Jawa Barat dan Banten Tbk",
    "36": "PT Bank Pembangunan Daerah Banten Tbk",
    "33": "PT Bank Pembangunan Daerah Jawa Tengah",
    "35": "PT Bank Pembangunan Daerah Jawa Timur Tbk",
    "34": "PT Bank Pembangunan Daerah Daerah Istimewa Yogyakarta",
    "12": "PT Bank Pembangunan Daerah Sumatera Utara",
    "13": "PT Bank Pembangunan Daerah Sumatera Barat",
    "51": "PT Bank Pembangunan Daerah Bali",
}
# First two digits of the Kodim numbers in each province (the Kodam it belongs to).
KODAM = {
    "11": "01", "12": "02", "13": "03", "14": "03", "21": "03", "15": "04", "16": "04", "17": "04",
    "18": "04", "19": "04", "31": "05", "32": "06", "36": "06", "33": "07", "34": "07", "35": "08",
    "64": "09", "65": "09", "62": "10", "63": "10", "61": "12", "71": "13", "72": "13", "75": "13",
    "73": "14", "74": "14", "76": "14", "81": "15", "82": "15", "51": "16", "52": "16", "53": "16",
    "91": "17", "92": "18", "93": "17", "94": "17", "95": "17", "96": "18",
}  # fmt: skip
BIG_CITY_POLICE = {"12.71", "16.71", "32.73", "33.74", "35.78", "73.71"}  # Polrestabes

DINAS = [
    ("Dinas Pendidikan", S.PENDIDIKAN, 180),
    ("Dinas Kesehatan", S.KESEHATAN, 150),
    ("Dinas Pekerjaan Umum dan Penataan Ruang", S.KONSTRUKSI, 160),
    ("Dinas Perhubungan", S.TRANSPORTASI, 140),
    ("Dinas Sosial", S.SOSIAL, 70),
    ("Dinas Pertanian", S.PERTANIAN, 120),
    ("Dinas Koperasi dan Usaha Mikro", S.PEMERINTAHAN, 60),
    ("Dinas Kependudukan dan Pencatatan Sipil", S.PEMERINTAHAN, 80),
    ("Dinas Lingkungan Hidup", S.PEMERINTAHAN, 200),
    ("Dinas Perindustrian dan Perdagangan", S.PERDAGANGAN, 70),
    ("Dinas Pemuda dan Olahraga", S.PEMERINTAHAN, 50),
    ("Badan Pendapatan Daerah", S.PEMERINTAHAN, 110),
    ("Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", S.PEMERINTAHAN, 60),
    ("Badan Perencanaan Pembangunan Daerah", S.PEMERINTAHAN, 60),
    ("Badan Penanggulangan Bencana Daerah", S.PEMERINTAHAN, 70),
    ("Satuan Polisi Pamong Praja", S.PEMERINTAHAN, 250),
    ("Inspektorat", S.PEMERINTAHAN, 50),
    ("Sekretariat Daerah", S.PEMERINTAHAN, 300),
    ("Sekretariat DPRD", S.PEMERINTAHAN, 90),
]
PESANTREN = [
    "Al-Hikmah", "Al-Ikhlas", "Darul Ulum", "Darussalam", "Nurul Huda", "Al-Falah", "Miftahul Huda",
    "Al-Muhajirin", "Daarul Qur'an", "Al-Amin", "Nurul Iman", "Raudhatul Jannah", "Al-Anwar", "Bahrul Ulum",
    "Hidayatullah", "Al-Kautsar", "Tarbiyatul Islam", "Mambaul Ulum", "Al-Furqon", "Assalam", "Ar-Risalah",
    "Al-Ittihad", "Manbaul Hikam", "Riyadlul Jannah", "Sirojul Huda", "Al-Mubarok", "Nurul Falah",
    "Daarul Mutaqin", "Al-Barokah", "Baitul Hikmah", "Al-Muttaqin", "Annur", "Al-Hidayah", "Ummul Quro",
]  # fmt: skip
GOOD_WORDS = [
    "Sejahtera", "Mandiri", "Maju Bersama", "Karya Usaha", "Mitra Usaha", "Sumber Rejeki", "Bina Usaha",
    "Artha Mulia", "Sri Rejeki", "Makmur", "Bersatu", "Mekar Jaya", "Tunas Muda", "Setia Kawan",
    "Usaha Bersama", "Cipta Karya", "Abdi Praja", "Bakti Husada", "Karya Bhakti", "Warga Sejahtera",
    "Guyub Rukun", "Sumber Makmur", "Amanah", "Barokah", "Berkah Abadi",
]  # fmt: skip
CAMPUS_WORDS = [
    "Nusantara", "Pancasila", "Bina Bangsa", "Dharma Wacana", "Widya Dharma", "Mitra Indonesia", "Cendekia",
    "Putra Bangsa", "Tunas Pembangunan", "Budi Utomo", "Wiyata Mandala", "Patria Artha", "Insan Cendekia",
    "Bhakti Kencana", "Indonesia Maju", "Global Mandiri", "Persada", "Harapan Bangsa", "Teknokrat", "Mercu",
]  # fmt: skip
FIRM_WORDS = [
    "Sinar", "Cahaya", "Mitra", "Bumi", "Karya", "Putra", "Tunas", "Mega", "Surya", "Indah", "Jaya",
    "Sentosa", "Makmur", "Prima", "Utama", "Gemilang", "Nusantara", "Perkasa", "Lestari", "Mulia",
    "Agung", "Bintang", "Samudra", "Rajawali", "Garuda", "Permata", "Cipta", "Dwi", "Tri", "Eka",
]  # fmt: skip
FIRM_LINES = [
    ("Tekstil", S.INDUSTRI), ("Garmen Indonesia", S.INDUSTRI), ("Plastik Industri", S.INDUSTRI),
    ("Food Industri", S.INDUSTRI), ("Elektronik", S.INDUSTRI), ("Kimia", S.INDUSTRI), ("Farma", S.KESEHATAN),
    ("Konstruksi", S.KONSTRUKSI), ("Properti", S.KONSTRUKSI), ("Engineering", S.KONSTRUKSI),
    ("Agro Lestari", S.PERTANIAN), ("Sawit", S.PERTANIAN), ("Perikanan", S.PERTANIAN),
    ("Distribusi", S.PERDAGANGAN), ("Niaga", S.PERDAGANGAN), ("Retailindo", S.PERDAGANGAN),
    ("Energi", S.ENERGI), ("Tambang", S.ENERGI), ("Teknologi", S.TELEKOMUNIKASI),
    ("Digital Solusi", S.TELEKOMUNIKASI), ("Media", S.LAINNYA), ("Percetakan", S.INDUSTRI),
]  # fmt: skip
VILLAGE_HEADS = ["Suka", "Mekar", "Sindang", "Karang", "Tanjung", "Sumber", "Marga", "Harja", "Jaya", "Sri",
                 "Tegal", "Wana", "Banjar", "Cipta", "Mulya", "Bina", "Pasir", "Rawa", "Giri", "Tirta"]  # fmt: skip
VILLAGE_TAILS = ["maju", "makmur", "sari", "jaya", "mulya", "rejo", "mukti", "asih", "wangi", "harja",
                 "raharja", "indah", "karya", "mekar", "laksana", "galih", "rahayu", "tani", "mulih",
                 "agung"]  # fmt: skip
WATER_WORDS = ["Pakuan", "Kahuripan", "Raharja", "Wening", "Musi", "Mulia", "Bening", "Lestari", "Intan",
               "Sanjaya", "Tirtanadi", "Darma", "Mukti", "Patriot", "Benteng", "Kerta Raharja"]  # fmt: skip
CRAFTS = ["Batik", "Tenun", "Anyaman Bambu", "Gerabah", "Ukiran Kayu", "Songket", "Kerajinan Rotan"]
SAINTS = ["Santo Yusup", "Santa Maria", "Santo Aloysius", "Santa Ursula", "Santo Fransiskus", "Santo Petrus"]

POSITIONS: dict[str, list[str]] = {
    T.INSTANSI: ["Kepala Sub Bagian Umum dan Kepegawaian", "Kepala Bagian SDM", "Bendahara Pengeluaran", "Sekretaris"],
    T.SEKOLAH: ["Kepala Sekolah", "Bendahara Sekolah", "Kepala Tata Usaha", "Wakil Kepala Sekolah"],
    T.SWASTA: ["Manajer HRD", "Kepala Bagian SDM", "Staf Personalia", "Direktur Keuangan"],
    T.BUMN_BUMD: ["Kepala Bagian SDM", "Manajer SDM dan Umum", "Asisten Manajer Kepegawaian", "Kepala Unit"],
    T.TNI_POLRI: ["Kepala Urusan Keuangan", "Kepala Bagian Sumber Daya", "Perwira Seksi Personel"],
    T.PERGURUAN_TINGGI: ["Kepala Biro Umum dan Keuangan", "Wakil Rektor II", "Kepala Bagian Kepegawaian"],
    T.PESANTREN: ["Pengasuh Pondok", "Ketua Yayasan", "Bendahara Yayasan", "Sekretaris Pondok"],
    T.KOPERASI: ["Ketua Pengurus", "Bendahara", "Manajer Koperasi", "Sekretaris Pengurus"],
    T.KOMUNITAS: ["Ketua", "Koordinator Lapangan", "Bendahara", "Sekretaris"],
    T.ASOSIASI: ["Ketua", "Sekretaris", "Bendahara", "Wakil Ketua"],
    T.BUMDES: ["Direktur BUMDes", "Bendahara BUMDes", "Kepala Desa", "Sekretaris BUMDes"],
    T.ARMADA: ["Manajer Operasional", "Kepala Bagian SDM", "Kepala Pool", "Direktur"],
}
MOBILE_PREFIXES = ["11", "12", "13", "21", "22", "23", "51", "52", "53", "56", "57", "58", "77", "78", "95",
                   "96", "97", "98", "99", "81", "82", "83", "87", "88"]  # fmt: skip
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]  # reserved: never a real mailbox
TITLES_AFTER = ["S.E.", "S.Pd.", "S.Sos.", "S.H.", "S.Kom.", "M.M.", "S.T.", "M.Si."]

# ---------------------------------------------------------------------------
# Names


@dataclass
class Place:
    """The regency an institution is in, as the name generators need it."""

    code: str
    name: str
    short: str
    province: str
    province_name: str
    districts: list[Area]
    is_city: bool
    index_in_province: int


@dataclass
class Draft:
    names: list[str]  # preferred first; the next is tried when one is taken
    sector: str
    median: float
    head: str = ""


class Namer:
    """Draws names by type; keeps per-regency counters (SMA Negeri 1, 2, …)."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, ...], int] = {}

    def next(self, *key: str) -> int:
        n = self.counters.get(key, 0) + 1
        self.counters[key] = n
        return n

    def draft(self, kind: str, place: Place, rng: random.Random, fake: Faker) -> Draft:
        return getattr(self, f"_{kind.lower()}")(place, rng, fake)  # type: ignore[no-any-return]

    @staticmethod
    def _district(place: Place, rng: random.Random) -> str:
        return rng.choice(place.districts).name if place.districts else place.short

    @staticmethod
    def _village(rng: random.Random) -> str:
        return rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS)

    @staticmethod
    def _firm(rng: random.Random, fake: Faker) -> str:
        if rng.random() < 0.5:
            return f"{fake.last_name()} {rng.choice(FIRM_WORDS)}"
        a, b = rng.sample(FIRM_WORDS, 2)
        return f"{a} {b}"

    def _bumn_bumd(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d = self._district(p, rng)
        bpd = BPD.get(p.province, f"PT Bank Pembangunan Daerah {p.province_name}")
        choices: list[tuple[float, Draft]] = [
            (3, Draft([f"PT Pos Indonesia (Persero) – Kantor Pos {p.short}"], S.TRANSPORTASI, 60, "pos")),
            (3, Draft([f"PT Pos Indonesia (Persero) – Kantor Pos Cabang {d}"], S.TRANSPORTASI, 12, "pos")),
            (3, Draft([f"PT PLN (Persero) – UP3 {p.short}"], S.ENERGI, 250, "pln")),
            (4, Draft([f"PT PLN (Persero) – ULP {d}"], S.ENERGI, 40, "pln")),
            (2, Draft([f"PT Pertamina (Persero) – Integrated Terminal {p.short}"], S.ENERGI, 120, "pertamina")),
            (2, Draft([f"PT Telkom Indonesia (Persero) Tbk – Witel {p.short}"], S.TELEKOMUNIKASI, 200, "telkom")),
            (3, Draft([f"PT Bank Rakyat Indonesia (Persero) Tbk – Kantor Cabang {p.short}"], S.KEUANGAN, 120, "bri")),
            (5, Draft([f"PT Bank Rakyat Indonesia (Persero) Tbk – Kantor Unit {d}"], S.KEUANGAN, 10, "bri")),
            (3, Draft([f"PT Bank Negara Indonesia (Persero) Tbk – Kantor Cabang {p.short}"], S.KEUANGAN, 100, "bni")),
            (3, Draft([f"PT Bank Negara Indonesia (Persero) Tbk – KCP {d}"], S.KEUANGAN, 15, "bni")),
            (2, Draft([f"PT Taspen (Persero) – Kantor Cabang {p.short}"], S.KEUANGAN, 60, "taspen")),
            (2, Draft([f"Perum Bulog – Kantor Cabang {p.short}"], S.PERDAGANGAN, 50, "bulog")),
            (1, Draft([f"PT Jasa Raharja – Kantor Perwakilan {p.short}"], S.KEUANGAN, 30)),
            (2, Draft([f"PT Asabri (Persero) – Kantor Cabang {p.short}"], S.KEUANGAN, 35)),
            (
                4,
                Draft([f"Perumda Air Minum Tirta {w} {p.name}" for w in rng.sample(WATER_WORDS, 3)], S.ENERGI, 250),
            ),
            (2, Draft([f"Perumda Pasar {rng.choice(GOOD_WORDS)} {p.name}"], S.PERDAGANGAN, 120)),
            (
                4,
                Draft(
                    [f"{bpd} – Kantor Cabang {p.short}", f"{bpd} – KCP {d}"],
                    S.KEUANGAN,
                    80,
                ),
            ),
        ]
        if p.province in RAIL_PROVINCES:
            choices.append((3, Draft([f"PT Kereta Api Indonesia (Persero) – Stasiun {d}"], S.TRANSPORTASI, 40, "kai")))
            if p.name in KAI_AREAS:
                choices.append(
                    (
                        4,
                        Draft(
                            [f"PT Kereta Api Indonesia (Persero) – {KAI_AREAS[p.name]}"], S.TRANSPORTASI, 1500, "kai"
                        ),
                    )
                )
        if p.province in JAVA:
            choices.append((2, Draft([f"Perum Perhutani – KPH {p.short}"], S.PERTANIAN, 300)))
        return _pick(choices, rng)

    def _instansi(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d = self._district(p, rng)
        dinas, sector, median = rng.choice(DINAS)
        if p.province != "31":
            pemda = f"{dinas} {p.name}"
        elif dinas.startswith("Dinas"):  # Jakarta's cities have the province's sub-offices
            pemda = f"Suku {dinas} {p.name}"
        else:
            pemda = f"Kantor {'Wali Kota' if p.is_city else 'Bupati'} {p.short}"
        choices: list[tuple[float, Draft]] = [
            (8, Draft([pemda], sector, median)),
            (2, Draft([f"Rumah Sakit Umum Daerah {p.short}"], S.KESEHATAN, 700)),
            (5, Draft([f"Puskesmas {d}", f"Puskesmas {d} II"], S.KESEHATAN, 40)),
            (4, Draft([f"Kantor Kecamatan {d}"], S.PEMERINTAHAN, 30)),
            (2, Draft([f"Kantor Pelayanan Pajak Pratama {p.short}"], S.KEUANGAN, 90, "kemenkeu")),
            (1, Draft([f"Kantor Pelayanan Perbendaharaan Negara {p.short}"], S.KEUANGAN, 40, "kemenkeu")),
            (2, Draft([f"Kantor Kementerian Agama {p.name}"], S.PEMERINTAHAN, 150, "kemenag")),
            (3, Draft([f"KUA Kecamatan {d}"], S.PEMERINTAHAN, 8, "kemenag")),
            (1, Draft([f"Badan Pusat Statistik {p.name}"], S.PEMERINTAHAN, 45, "bps")),
            (1, Draft([f"Kantor Pertanahan {p.name}"], S.PEMERINTAHAN, 120, "atr")),
            (1, Draft([f"Pengadilan Negeri {p.short}"], S.PEMERINTAHAN, 60)),
            (1, Draft([f"Pengadilan Agama {p.short}"], S.PEMERINTAHAN, 45)),
            (1, Draft([f"Kejaksaan Negeri {p.short}"], S.PEMERINTAHAN, 70)),
            (1, Draft([f"Komisi Pemilihan Umum {p.name}"], S.PEMERINTAHAN, 30)),
        ]
        return _pick(choices, rng)

    def _tni_polri(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d_index = rng.randrange(len(p.districts)) if p.districts else 0
        d = p.districts[d_index].name if p.districts else p.short
        if p.province == "31":
            polres = f"Polres Metro {p.short}"
        elif p.code in BIG_CITY_POLICE:
            polres = f"Polrestabes {p.short}"
        elif p.is_city:
            polres = f"Polresta {p.short}"
        else:
            polres = f"Polres {p.short}"
        kodim = f"{KODAM.get(p.province, '17')}{p.index_in_province:02d}"
        choices: list[tuple[float, Draft]] = [
            (3, Draft([polres], S.PERTAHANAN, 700, "polri")),
            (6, Draft([f"Polsek {d}"], S.PERTAHANAN, 45)),
            (3, Draft([f"Kodim {kodim}/{p.short}"], S.PERTAHANAN, 250)),
            (5, Draft([f"Koramil {kodim}-{d_index + 1:02d}/{d}"], S.PERTAHANAN, 25)),
            (1, Draft([f"Rumah Sakit Bhayangkara {p.short}"], S.KESEHATAN, 250)),
            (1, Draft([f"Satuan Lalu Lintas {polres}"], S.PERTAHANAN, 120)),
        ]
        return _pick(choices, rng)

    def _sekolah(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d = self._district(p, rng)
        level, median = rng.choices(
            [
                ("SD Negeri", 18),
                ("SMP Negeri", 45),
                ("SMA Negeri", 60),
                ("SMK Negeri", 75),
                ("MAN", 55),
                ("swasta", 35),
            ],
            weights=[30, 16, 10, 8, 6, 18],
        )[0]
        if level == "SD Negeri":
            name = f"SD Negeri {self.next(p.code, level, d)} {d}"
        elif level == "MAN":
            name = f"Madrasah Aliyah Negeri {self.next(p.code, level)} {p.name}"
        elif level == "swasta":
            kind = rng.choice(
                ["SMA Muhammadiyah", "SMP Muhammadiyah", "SMP Islam Terpadu", "SMK", "SD Kristen", "SMA Katolik"]
            )
            if kind.endswith("Muhammadiyah"):
                name = f"{kind} {self.next(p.code, kind)} {p.short}"
            elif kind == "SMA Katolik":
                name = f"{kind} {rng.choice(SAINTS)} {p.short}"
            else:
                name = f"{kind} {rng.choice(CAMPUS_WORDS)} {d}"
        elif p.is_city:
            name = f"{level} {self.next(p.code, level)} {p.short}"
        else:
            name = f"{level} {self.next(p.code, level, d)} {d}"
        return Draft([name], S.PENDIDIKAN, median)

    def _perguruan_tinggi(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        w = rng.choice(CAMPUS_WORDS)
        choices: list[tuple[float, Draft]] = [
            (3, Draft([f"Universitas {w}", f"Universitas {w} {p.short}"], S.PENDIDIKAN, 600)),
            (1, Draft([f"Universitas Muhammadiyah {p.short}"], S.PENDIDIKAN, 700)),
            (1, Draft([f"Politeknik Negeri {p.short}"], S.PENDIDIKAN, 350)),
            (2, Draft([f"Sekolah Tinggi Ilmu Ekonomi {w}"], S.PENDIDIKAN, 60)),
            (2, Draft([f"Sekolah Tinggi Ilmu Kesehatan {w} {p.short}"], S.PENDIDIKAN, 80)),
            (1, Draft([f"Akademi Keperawatan {w} {p.short}"], S.PENDIDIKAN, 40)),
            (1, Draft([f"Institut Teknologi dan Bisnis {w}"], S.PENDIDIKAN, 120)),
        ]
        return _pick(choices, rng)

    def _pesantren(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        n = rng.choice(PESANTREN)
        return Draft([f"Pondok Pesantren {n}", f"Pondok Pesantren {n} {self._district(p, rng)}"], S.PENDIDIKAN, 45)

    def _koperasi(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d, w = self._district(p, rng), rng.choice(GOOD_WORDS)
        choices: list[tuple[float, Draft]] = [
            (4, Draft([f"Koperasi Karyawan PT {self._firm(rng, fake)}"], S.KEUANGAN, 250)),
            (2, Draft([f"Koperasi Karyawan Rumah Sakit Umum Daerah {p.short}"], S.KEUANGAN, 300)),
            (3, Draft([f"Koperasi Pegawai Republik Indonesia {w} {p.short}"], S.KEUANGAN, 300)),
            (3, Draft([f"Koperasi Simpan Pinjam {w}", f"Koperasi Simpan Pinjam {w} {d}"], S.KEUANGAN, 500)),
            (2, Draft([f"Koperasi Serba Usaha {w} {d}"], S.PERDAGANGAN, 200)),
            (2, Draft([f"Koperasi Unit Desa {w} {d}"], S.PERTANIAN, 400)),
            (2, Draft([f"Koperasi Guru dan Pegawai {d}"], S.KEUANGAN, 150)),
            (2, Draft([f"Koperasi Pedagang Pasar {d}"], S.PERDAGANGAN, 250)),
            (1, Draft([f"Primer Koperasi Kepolisian Polres {p.short}"], S.KEUANGAN, 500)),
        ]
        return _pick(choices, rng)

    def _komunitas(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d = self._district(p, rng)
        choices: list[tuple[float, Draft]] = [
            (4, Draft([f"Komunitas Ojek Online {d}", f"Komunitas Ojek Online {d} Bersatu"], S.TRANSPORTASI, 150)),
            (2, Draft([f"Paguyuban Pengemudi Ojol {d}"], S.TRANSPORTASI, 120)),
            (1, Draft([f"Komunitas Pengemudi Taksi Online {p.short}"], S.TRANSPORTASI, 300)),
            (2, Draft([f"Paguyuban Pedagang Pasar {d}"], S.PERDAGANGAN, 200)),
            (2, Draft([f"Majelis Taklim {rng.choice(PESANTREN)} {d}"], S.SOSIAL, 80)),
            (2, Draft([f"Komunitas UMKM {d}", f"Komunitas UMKM {d} {rng.choice(GOOD_WORDS)}"], S.PERDAGANGAN, 120)),
            (2, Draft([f"Kelompok Tani {self._village(rng)}"], S.PERTANIAN, 40)),
            (1, Draft([f"Kelompok Nelayan {rng.choice(GOOD_WORDS)} {d}"], S.PERTANIAN, 35)),
            (1, Draft([f"Paguyuban Kurir {d}"], S.TRANSPORTASI, 60)),
            (1, Draft([f"Komunitas Perajin {rng.choice(CRAFTS)} {d}"], S.INDUSTRI, 40)),
        ]
        return _pick(choices, rng)

    def _asosiasi(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        d = self._district(p, rng)
        choices: list[tuple[float, Draft]] = [
            (2, Draft([f"Persatuan Guru Republik Indonesia {p.name}"], S.PENDIDIKAN, 2500)),
            (4, Draft([f"Persatuan Guru Republik Indonesia Cabang {d}"], S.PENDIDIKAN, 300)),
            (1, Draft([f"Ikatan Dokter Indonesia Cabang {p.short}"], S.KESEHATAN, 200)),
            (2, Draft([f"Ikatan Bidan Indonesia Ranting {d}"], S.KESEHATAN, 60)),
            (1, Draft([f"Persatuan Perawat Nasional Indonesia {p.name}"], S.KESEHATAN, 800)),
            (1, Draft([f"Asosiasi Pengusaha Indonesia {p.name}"], S.INDUSTRI, 150)),
            (1, Draft([f"Himpunan Pengusaha Muda Indonesia {p.name}"], S.PERDAGANGAN, 120)),
            (1, Draft([f"Kamar Dagang dan Industri {p.name}"], S.PERDAGANGAN, 200)),
            (1, Draft([f"Gabungan Pengusaha Konstruksi Nasional Indonesia {p.name}"], S.KONSTRUKSI, 150)),
            (1, Draft([f"Himpunan Kerukunan Tani Indonesia {p.name}"], S.PERTANIAN, 1500)),
            (1, Draft([f"Organisasi Angkutan Darat {p.name}"], S.TRANSPORTASI, 300)),
            (1, Draft([f"Asosiasi Pedagang Pasar Seluruh Indonesia {p.name}"], S.PERDAGANGAN, 1000)),
            (1, Draft([f"Asosiasi Pemerintah Desa Seluruh Indonesia {p.name}"], S.PEMERINTAHAN, 200)),
        ]
        return _pick(choices, rng)

    def _bumdes(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        v = self._village(rng)
        return Draft([f"BUMDes {v}", f"BUMDes {v} {rng.choice(GOOD_WORDS)}"], S.PERDAGANGAN, 15)

    def numbered_school(self, p: Place, rng: random.Random) -> Draft:
        d = self._district(p, rng)
        return Draft([f"SD Negeri {self.next(p.code, 'SD Negeri', d)} {d}"], S.PENDIDIKAN, 18)

    def _swasta(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        if rng.random() < 0.12:
            kind = rng.choice(["Rumah Sakit Islam", "Rumah Sakit Umum", "Rumah Sakit Ibu dan Anak", "Klinik Utama"])
            word = rng.choice(CAMPUS_WORDS)
            return Draft([f"{kind} {word} {p.short}", f"{kind} {word}"], S.KESEHATAN, 300)
        if rng.random() < 0.08:
            a, b = rng.sample(FIRM_WORDS, 2)
            return Draft([f"Hotel {a} {p.short}", f"Hotel {a} {b}"], S.LAINNYA, 80)
        line, sector = rng.choice(FIRM_LINES)
        if rng.random() < 0.8:
            return Draft([f"PT {self._firm(rng, fake)} {line}"], sector, 120)
        return Draft([f"CV {self._firm(rng, fake)} {line}"], sector, 25)

    def _armada(self, p: Place, rng: random.Random, fake: Faker) -> Draft:
        firm = self._firm(rng, fake)
        choices: list[tuple[float, Draft]] = [
            (3, Draft([f"PT {firm} Transport"], S.TRANSPORTASI, 80)),
            (2, Draft([f"PO {firm}"], S.TRANSPORTASI, 150)),
            (2, Draft([f"PT {firm} Logistik"], S.TRANSPORTASI, 120)),
            (1, Draft([f"CV {firm} Rental"], S.TRANSPORTASI, 25)),
            (1, Draft([f"PT {firm} Ekspres"], S.TRANSPORTASI, 100)),
        ]
        return _pick(choices, rng)


def _pick(choices: list[tuple[float, Draft]], rng: random.Random) -> Draft:
    return rng.choices([c for _, c in choices], weights=[w for w, _ in choices])[0]


# ---------------------------------------------------------------------------
# Numbers


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _npwp(branch_code: str, index: int, kind: int) -> str:
    """A 15-digit NPWP that is the same every run and unique per (branch, index):
    the branch's digits and the index, scrambled by a bijection of 10¹⁰."""
    digits = re.fullmatch(r"C(\d{6})", branch_code)
    if digits:
        base = int(digits.group(1))
    else:
        base = 200_000 + int(hashlib.sha256(branch_code.encode()).hexdigest(), 16) % 800_000
    x = (base * 10_000 + index) % 10**10
    scrambled = (x * 3_141_592_653 + 2_718_281_828) % 10**10
    return f"0{kind}{scrambled:010d}000"


def _near(lat: float, lon: float, max_km: float, rng: random.Random) -> tuple[Decimal, Decimal]:
    km = max_km * rng.random() ** 0.8
    angle = rng.random() * 2 * math.pi
    dlat = km * math.cos(angle) / 111.32
    dlon = km * math.sin(angle) / (111.32 * math.cos(math.radians(lat)))
    return Decimal(f"{lat + dlat:.6f}"), Decimal(f"{lon + dlon:.6f}")


def _allocate(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _branch_weight(regency: Area, rng: random.Random) -> float:
    """More institutions in cities, the capital and Java; fewer in the far east."""
    w = 1.0
    province = regency.parent_code
    if regency.name.startswith("Kota"):
        w *= 1.3
    if province == "31":
        w *= 1.2
    if org_demo.MAIN_CITY.get(province) == regency.name:
        w *= 1.15
    if province in JAVA:
        w *= 1.1
    if province in {"81", "82", "91", "92", "93", "94", "95", "96"}:
        w *= 0.8
    return w * rng.lognormvariate(0, 0.15)


# ---------------------------------------------------------------------------
# Loading


@dataclass
class BranchInfo:
    unit: OrgUnit
    area_id: int
    region_id: int
    regency: Area
    area_regencies: list[str]
    mes: list[int]  # user ids; the branch's first ME first


class _Loader:
    def __init__(self, *, scale: str, seed: int, progress: Callable[[str, int], Any]) -> None:
        self.scale, self.seed, self.progress = scale, seed, progress
        self.fake = Faker("id_ID")
        self.namer = Namer()
        self.regency = {r.code: r for r in regencies()}
        self.province_name = {p.code: p.name for p in provinces()}
        self.index_in_province: dict[str, int] = {}
        per_province: dict[str, int] = {}
        for r in regencies():
            per_province[r.parent_code] = per_province.get(r.parent_code, 0) + 1
            self.index_in_province[r.code] = per_province[r.parent_code]
        self.places: dict[str, Place] = {}
        self.taken: dict[str, set[str]] = {}  # regency code -> name keys in use
        self.npwps: set[str] = set()
        self.pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        self.streets: list[str] = []
        self.copy = connection.vendor == "postgresql"
        self.now = timezone.now()
        self.created = {"institutions": 0, "ownerships": 0, "contacts": 0}
        self.digest = hashlib.sha256()
        self.ids: list[int] = []
        self.tick: Callable[[int], Any] = lambda n: None

    # -- places and names ---------------------------------------------------

    def place(self, code: str) -> Place:
        if code not in self.places:
            r = self.regency[code]
            self.places[code] = Place(
                code=code,
                name=r.name,
                short=short_regency_name(r.name),
                province=r.parent_code,
                province_name=self.province_name.get(r.parent_code, ""),
                districts=districts_by_regency().get(code, []),
                is_city=r.name.startswith("Kota"),
                index_in_province=self.index_in_province[code],
            )
        return self.places[code]

    def claim(self, regency_code: str, names: list[str]) -> tuple[str, str] | None:
        """(name, key): the first of ``names`` whose key is free in the regency (now taken)."""
        taken = self.taken.setdefault(regency_code, set())
        for name in names:
            key = name_key(name)
            if key and key not in taken:
                taken.add(key)
                return name, key
        return None

    def claim_with_suffix(self, regency_code: str, name: str) -> tuple[str, str]:
        for n in range(2, 10_000):
            claimed = self.claim(regency_code, [f"{name} {n}"])
            if claimed:
                return claimed
        raise RuntimeError(name)  # pragma: no cover - 10,000 namesakes in one regency

    # -- one institution ------------------------------------------------------

    def institution(
        self,
        *,
        b: BranchInfo,
        index: int,
        rng: random.Random,
        name: tuple[str, str],
        kind: str,
        sector: str,
        regency_code: str,
        members: int,
        parent_id: int | None,
        first: bool,
        prominent: bool = False,
    ) -> dict[str, Any]:
        """``first``: the branch's first institution (active, with the branch's
        first ME); ``prominent``: a head office (active, located, with an NPWP)."""
        sure = first or prominent
        prof = PROFILES[kind]
        per_member = max(1, round(prof.per_member_juta * rng.lognormvariate(0, 0.3)))
        uptake = rng.randrange(10, 41)
        value = Decimal(members * per_member * uptake * 10_000)  # Rp juta × % → Rp
        basis = (
            f"{_thousands(members)} {prof.unit_word} × Rp{per_member} juta × {uptake}% perkiraan pemanfaatan "
            "(gadai, tabungan emas, cicil emas)"
        )
        lat = lon = None
        if sure or rng.random() < SHARE_WITH_COORDINATES:
            if regency_code == b.unit.regency_code and b.unit.latitude is not None and b.unit.longitude is not None:
                lat, lon = _near(float(b.unit.latitude), float(b.unit.longitude), NEAR_BRANCH_KM, rng)
            else:
                rlat, rlon = demo_regency_point(regency_code)
                lat, lon = _near(float(rlat), float(rlon), 10.0, rng)
        npwp = None
        if sure or rng.random() < prof.npwp_share * NPWP_SCALE:
            candidate = _npwp(b.unit.code, index, 1 + index % 3)
            if candidate not in self.npwps:
                self.npwps.add(candidate)
                npwp = candidate
        active = sure or rng.random() < SHARE_AKTIF
        me = None
        if b.mes and (first or rng.random() < SHARE_WITH_ME):
            me = b.mes[0] if first else rng.choice(b.mes)
        score = scoring.compute(
            member_count=members,
            type=kind,
            potential_value=value,
            latitude=lat,
            longitude=lon,
            regency_code=regency_code,
            branch=b.unit,
        )
        return {
            "name": name[0],
            "name_key": name[1],
            "type": str(kind),
            "sector": str(sector),
            "parent_id": parent_id,
            "address": self.address(regency_code, rng),
            "province_code": regency_code[:2],
            "regency_code": regency_code,
            "latitude": lat,
            "longitude": lon,
            "npwp": npwp,
            "member_count": members,
            "potential_value": value,
            "potential_basis": basis,
            "branch_id": b.unit.pk,
            "area_id": b.area_id,
            "region_id": b.region_id,
            "me_id": me,
            "status": str(InstitutionStatus.AKTIF if active else InstitutionStatus.TIDAK_AKTIF),
            "notes": "",
            "score": score.total,
            "distance_km": Decimal(str(score.distance_km)) if score.distance_km is not None else None,
        }

    def address(self, regency_code: str, rng: random.Random) -> str:
        p = self.place(regency_code)
        district = rng.choice(p.districts).name if p.districts else p.short
        return f"{rng.choice(self.streets)} No. {rng.randint(1, 250)}, Kec. {district}, {p.name}"

    def contacts(self, kind: str, rng: random.Random) -> list[dict[str, Any]]:
        out = []
        for _ in range(1 if rng.random() < 0.6 else 2):
            first, last = self.fake.first_name(), self.fake.last_name()
            name = f"{first} {last}"
            if rng.random() < 0.3:
                name += f", {rng.choice(TITLES_AFTER)}"
            local = re.sub(r"[^a-z]+", ".", f"{first} {last}".lower()).strip(".")
            out.append(
                {
                    "name": name,
                    "position": rng.choice(POSITIONS[kind]),
                    "phone": f"08{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**6, 10**8)}",
                    "email": f"{local}{rng.randrange(1, 100)}@{rng.choice(EMAIL_DOMAINS)}",
                    "purpose": CONTACT_PURPOSE,
                    "lawful_basis": str(rng.choice([LawfulBasis.KONTRAK, LawfulBasis.PERSETUJUAN])),
                }
            )
        return out

    def members(self, median: float, kind: str, rng: random.Random) -> int:
        return max(3, min(500_000, round(median * rng.lognormvariate(0, PROFILES[kind].sigma))))

    # -- writing ----------------------------------------------------------------

    def add(self, row: dict[str, Any], contacts: list[dict[str, Any]]) -> None:
        self.pending.append((row, contacts))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the pending institutions, one open ownership each, and their
        contacts: COPY on PostgreSQL (ids drawn from the sequence first), else
        ``bulk_create``. Every pending row gets its ``id``."""
        if not self.pending:
            return
        rows = [r for r, _ in self.pending]
        if self.copy:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [Institution._meta.db_table, len(rows)],
                )
                for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                    row["id"] = pk
            self.write(Institution, rows)
        else:
            objs = Institution.objects.bulk_create([Institution(**r) for r in rows])
            for row, obj in zip(rows, objs, strict=True):
                row["id"] = obj.pk
        self.write(
            Ownership,
            [
                {
                    "institution_id": r["id"],
                    "branch_id": r["branch_id"],
                    "me_id": r["me_id"],
                    "valid_from": OWNED_FROM,
                    "valid_to": None,
                    "changed_by_id": None,
                    "reason": "",
                }
                for r in rows
            ],
        )
        contacts = [c | {"institution_id": r["id"]} for r, cs in self.pending for c in cs]
        self.write(Contact, contacts)
        for r in rows:
            self.digest.update(f"{r['id']}:{r['regency_code']}:{r['name_key']}\n".encode())
            self.ids.append(r["id"])
        self.created["institutions"] += len(rows)
        self.created["ownerships"] += len(rows)
        self.created["contacts"] += len(contacts)
        self.tick(len(rows))
        self.pending = []

    def write(self, model: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.copy:
            for i in range(0, len(rows), BATCH):
                model.objects.bulk_create([model(**r) for r in rows[i : i + BATCH]])
            return
        now = self.now
        fields = [
            f for f in model._meta.concrete_fields if f.attname in rows[0] or f.attname in ("created_at", "updated_at")
        ]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        names = [f.attname for f in fields]
        stamps = {"created_at": now, "updated_at": now}
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for r in rows:
                copy.write_row([r[n] if n in r else stamps[n] for n in names])

    # -- the run ----------------------------------------------------------------

    def branches(self) -> list[BranchInfo]:
        planned = org_demo.plan_units(org_demo.SCALES[self.scale], random.Random(self.seed))
        codes = [u.code for u in planned if u.kind == UnitKind.CABANG]
        units = list(
            OrgUnit.objects.filter(code__in=codes, kind=UnitKind.CABANG).select_related("parent").order_by("code")
        )
        area_ids = {u.parent_id for u in units}
        area_regencies: dict[int, set[str]] = {}
        for parent_id, parent_area, regency_code in OrgUnit.objects.filter(
            kind__in=[UnitKind.CABANG, UnitKind.UPC], regency_code__gt=""
        ).values_list("parent_id", "parent__parent_id", "regency_code"):
            for a in (parent_id, parent_area):
                if a is not None and a in area_ids:
                    area_regencies.setdefault(a, set()).add(regency_code)
        mes: dict[int, list[tuple[bool, int]]] = {}
        for branch_id, user_id, username, code in Placement.objects.filter(
            valid_to__isnull=True, branch__in=units
        ).values_list("branch_id", "user_id", "user__username", "branch__code"):
            # The branch's first ME (me.<code>.1) first, then the others by id.
            mes.setdefault(branch_id, []).append((username != f"me.{code.lower()}.1", user_id))
        out = []
        for u in units:
            if u.regency_code not in self.regency or u.parent is None or u.parent.parent_id is None:
                continue  # not a placed demo branch
            out.append(
                BranchInfo(
                    unit=u,
                    area_id=u.parent.pk,
                    region_id=u.parent.parent_id,
                    regency=self.regency[u.regency_code],
                    area_regencies=self.nearby(u, area_regencies.get(u.parent.pk, set())),
                    mes=[user_id for _, user_id in sorted(mes.get(u.pk, []))],
                )
            )
        return out

    def nearby(self, branch: OrgUnit, codes: set[str]) -> list[str]:
        """The branch's regency and those of its area within reach (an area in the
        east can span a thousand kilometres)."""
        lat, lon = demo_regency_point(branch.regency_code)
        out = {branch.regency_code}
        for code in codes & set(self.regency):
            rlat, rlon = demo_regency_point(code)
            if haversine_km(float(lat), float(lon), float(rlat), float(rlon)) <= OTHER_REGENCY_MAX_KM:
                out.add(code)
        return sorted(out)

    def run(self) -> dict[str, int]:
        self.fake.seed_instance(f"{self.seed}:streets")
        # Faker's street names are slow to draw one by one: a pool drawn once per run.
        self.streets = sorted({self.fake.street_name() for _ in range(3000)})
        branches = self.branches()
        if not branches:
            return self.created
        loaded = set(
            Institution.objects.filter(branch__in=[b.unit for b in branches])
            .values_list("branch_id", flat=True)
            .distinct()
        )
        todo = [b for b in branches if b.unit.pk not in loaded]
        if not todo:
            return self.created
        alloc_rng = random.Random(f"institutions:{self.seed}")
        heads = HEAD_OFFICES
        counts = _allocate(TOTALS[self.scale], [_branch_weight(b.regency, alloc_rng) for b in branches])
        count_of = {b.unit.pk: n for b, n in zip(branches, counts, strict=True)}
        regencies_todo = {r for b in todo for r in b.area_regencies} | {h.regency_code for h in heads}
        if Institution.objects.exists():
            for regency_code, key in (
                Institution.objects.live()
                .filter(regency_code__in=regencies_todo)
                .values_list("regency_code", "name_key")
            ):
                self.taken.setdefault(regency_code, set()).add(key)
            self.npwps.update(n for n in Institution.objects.exclude(npwp=None).values_list("npwp", flat=True) if n)

        # Head offices: hosted by a branch in their city (else in their province).
        host_of: dict[str, BranchInfo] = {}
        for h in heads:
            host = next((b for b in branches if b.unit.regency_code == h.regency_code), None) or next(
                (b for b in branches if b.unit.regency_code[:2] == h.regency_code[:2]), None
            )
            if host is not None:
                host_of[h.key] = host
        head_ids: dict[str, int] = dict(
            Institution.objects.filter(
                parent__isnull=True,
                name_key__in=[name_key(h.name) for h in heads],
                regency_code__in=[h.regency_code for h in heads],
            ).values_list("name_key", "id")
        )
        head_ids = {h.key: head_ids[name_key(h.name)] for h in heads if name_key(h.name) in head_ids}
        todo_ids = {b.unit.pk for b in todo}
        new_heads = [
            h for h in heads if h.key not in head_ids and h.key in host_of and host_of[h.key].unit.pk in todo_ids
        ]
        hosted: dict[int, int] = {}
        for h in new_heads:
            hosted[host_of[h.key].unit.pk] = hosted.get(host_of[h.key].unit.pk, 0) + 1

        total = sum(max(count_of[b.unit.pk] - hosted.get(b.unit.pk, 0), 5) + hosted.get(b.unit.pk, 0) for b in todo)
        self.tick = self.progress("lembaga", total)
        contact_share = CONTACT_SHARE[self.scale]

        with transaction.atomic():
            next_index: dict[int, int] = {}
            head_rows: dict[str, dict[str, Any]] = {}
            for h in new_heads:
                b = host_of[h.key]
                rng = random.Random(f"institutions:{self.seed}:head:{h.key}")
                self.fake.seed_instance(f"{self.seed}:head:{h.key}")
                index = next_index.get(b.unit.pk, 0)
                next_index[b.unit.pk] = index + 1
                claimed = self.claim(h.regency_code, [h.name]) or self.claim_with_suffix(h.regency_code, h.name)
                inst = self.institution(
                    b=b,
                    index=index,
                    rng=rng,
                    name=claimed,
                    kind=h.type,
                    sector=h.sector,
                    regency_code=h.regency_code,
                    members=h.members,
                    parent_id=None,
                    first=index == 0,
                    prominent=True,
                )
                head_rows[h.key] = inst
                self.add(inst, self.contacts(h.type, rng))
            self.flush()
            head_ids.update({key: row["id"] for key, row in head_rows.items()})

            for b in todo:
                rng = random.Random(f"institutions:{self.seed}:{b.unit.code}")
                self.fake.seed_instance(f"{self.seed}:{b.unit.code}")
                start = next_index.get(b.unit.pk, 0)
                n = max(count_of[b.unit.pk] - hosted.get(b.unit.pk, 0), 5)
                for index in range(start, start + n):
                    first = index == 0
                    regency_code = b.unit.regency_code
                    if not first and len(b.area_regencies) > 1 and rng.random() > SHARE_IN_OWN_REGENCY:
                        regency_code = rng.choice([r for r in b.area_regencies if r != b.unit.regency_code])
                    place = self.place(regency_code)
                    kinds = [k for k in PROFILES if not (k == T.BUMDES and (place.is_city or place.province == "31"))]
                    picked: tuple[str, str] | None = None
                    for _attempt in range(6):
                        kind = rng.choices(kinds, weights=[PROFILES[k].weight for k in kinds])[0]
                        draft = self.namer.draft(kind, place, rng, self.fake)
                        picked = self.claim(regency_code, draft.names)
                        if picked:
                            break
                    else:
                        # A crowded regency: a numbered state school is always free.
                        kind, draft = T.SEKOLAH, self.namer.numbered_school(place, rng)
                        picked = self.claim(regency_code, draft.names)
                    inst = self.institution(
                        b=b,
                        index=index,
                        rng=rng,
                        name=picked or self.claim_with_suffix(regency_code, draft.names[0]),
                        kind=kind,
                        sector=draft.sector,
                        regency_code=regency_code,
                        members=self.members(draft.median, kind, rng),
                        parent_id=head_ids.get(draft.head) if draft.head else None,
                        first=first,
                    )
                    wants_contacts = first or rng.random() < contact_share
                    self.add(inst, self.contacts(kind, rng) if wants_contacts else [])
            self.flush()

            if self.created["institutions"]:
                audit.record(
                    actor=None,
                    action="demo.load",
                    object_type="institutions.demo",
                    object_id=f"{self.scale}:{self.seed}",
                    after=self.created
                    | {"first_id": min(self.ids), "last_id": max(self.ids), "digest": self.digest.hexdigest()},
                )
        if self.created["institutions"] and connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Institution, Ownership, Contact))
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")
        return self.created


def load(*, scale: str, seed: int, progress: Callable[[str, int], Any]) -> dict[str, int]:
    """Create the demo institutions of every branch of the scale that has none yet."""
    return _Loader(scale=scale, seed=seed, progress=progress).run()
