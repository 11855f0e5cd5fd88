"""Distances on the map, and approximate places for demo data."""

from __future__ import annotations

import hashlib
import math
from decimal import Decimal

EARTH_RADIUS_KM = 6371.0088

# Approximate coordinates of each province's capital (lat, lon), used only to
# place demo offices and institutions on a plausible spot of the map.
PROVINCE_CAPITALS: dict[str, tuple[float, float]] = {
    "11": (5.55, 95.32),
    "12": (3.59, 98.67),
    "13": (-0.95, 100.35),
    "14": (0.51, 101.45),
    "15": (-1.61, 103.61),
    "16": (-2.98, 104.76),
    "17": (-3.80, 102.27),
    "18": (-5.43, 105.26),
    "19": (-2.13, 106.11),
    "21": (0.92, 104.45),
    "31": (-6.20, 106.85),
    "32": (-6.92, 107.61),
    "33": (-6.97, 110.42),
    "34": (-7.80, 110.36),
    "35": (-7.25, 112.75),
    "36": (-6.12, 106.15),
    "51": (-8.65, 115.22),
    "52": (-8.58, 116.12),
    "53": (-10.18, 123.61),
    "61": (-0.03, 109.33),
    "62": (-2.21, 113.92),
    "63": (-3.32, 114.59),
    "64": (-0.50, 117.15),
    "65": (2.84, 117.37),
    "71": (1.47, 124.84),
    "72": (-0.90, 119.87),
    "73": (-5.15, 119.43),
    "74": (-3.97, 122.51),
    "75": (0.54, 123.06),
    "76": (-2.68, 118.89),
    "81": (-3.70, 128.18),
    "82": (0.79, 127.38),
    "91": (-2.54, 140.72),
    "92": (-0.86, 134.06),
    "93": (-8.49, 140.40),
    "94": (-3.37, 135.50),
    "95": (-4.10, 138.95),
    "96": (-0.88, 131.26),
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def demo_regency_point(regency_code: str) -> tuple[Decimal, Decimal]:
    """A stable, plausible point for a regency: its province's capital moved by
    up to ~0.6° in a direction derived from the code (demo data only; the
    shipped area list has no coordinates). The capital city and Jakarta stay close."""
    province = regency_code.split(".")[0]
    lat, lon = PROVINCE_CAPITALS.get(province, (-6.2, 106.85))
    digest = hashlib.sha256(regency_code.encode()).digest()
    # The provincial capital (".71") and the whole of Jakarta lie close to the capital's point.
    spread = 0.12 if province == "31" else 0.08 if regency_code.endswith(".71") else 0.6
    dlat = (digest[0] / 255 - 0.5) * 2 * spread
    dlon = (digest[1] / 255 - 0.5) * 2 * spread
    return Decimal(f"{lat + dlat:.6f}"), Decimal(f"{lon + dlon:.6f}")
