"""Indonesian administrative areas shipped with the project (core/data/wilayah,
from the idn-area-data package, ODbL — see core/data/wilayah/LICENSE.md)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "wilayah"


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    parent_code: str = ""


def _read(name: str, parent_col: str | None) -> list[Area]:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return [Area(r["code"], r["name"], r[parent_col] if parent_col else "") for r in csv.DictReader(fh)]


@cache
def provinces() -> list[Area]:
    return _read("provinces.csv", None)


@cache
def regencies() -> list[Area]:
    return _read("regencies.csv", "province_code")


@cache
def districts() -> list[Area]:
    return _read("districts.csv", "regency_code")


@cache
def districts_by_regency() -> dict[str, list[Area]]:
    out: dict[str, list[Area]] = {}
    for d in districts():
        out.setdefault(d.parent_code, []).append(d)
    return out


def short_regency_name(name: str) -> str:
    """'Kota Administrasi Jakarta Pusat' -> 'Jakarta Pusat'; 'Kabupaten Bogor' -> 'Bogor'."""
    for prefix in ("Kota Administrasi ", "Kabupaten Administrasi ", "Kabupaten ", "Kota "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
