"""Names and tax numbers in a comparable form."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.fuzz import ratio as _indel_ratio

# Legal-form and filler words that do not tell two institutions apart.
NOISE_WORDS = frozenset({"pt", "tbk", "persero", "perum", "perumda", "cv", "ud", "pd", "tb", "the", "dan", "and"})
_NON_WORD = re.compile(r"[^0-9a-z]+")
NPWP_DIGITS = (15, 16)
SIMILARITY_THRESHOLD = 0.88


def name_key(name: str) -> str:
    """'PT. Bank Mandiri (Persero) Tbk.' -> 'bank mandiri'."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    words = [w for w in _NON_WORD.split(text) if w and w not in NOISE_WORDS]
    return " ".join(words)[:200]


def search_terms(query: str) -> list[str]:
    """The words of a search box, normalised like ``name_key`` (legal forms dropped)."""
    return name_key(query).split()[:8]


def npwp_digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def npwp_is_valid(value: str) -> bool:
    """15 digits (the old 99.999.999.9-999.999 format) or 16 (the NIK-based one),
    written with or without its dots and dashes."""
    if not re.fullmatch(r"[0-9.\- ]+", value or ""):
        return False
    return len(npwp_digits(value)) in NPWP_DIGITS


def format_npwp(digits: str) -> str:
    if len(digits) == 15:
        return f"{digits[0:2]}.{digits[2:5]}.{digits[5:8]}.{digits[8]}-{digits[9:12]}.{digits[12:15]}"
    return digits


def similarity(a: str, b: str) -> float:
    """2 × (longest common subsequence) / (total length), 0–1: the same measure
    as difflib's ratio on the longest common subsequence, computed in C by the
    rapidfuzz library (an import of 10,000 rows compares thousands of pairs)."""
    return _indel_ratio(a, b) / 100


def is_similar(a_key: str, b_key: str) -> bool:
    if not a_key or not b_key:
        return False
    if a_key == b_key:
        return True
    return similarity(a_key, b_key) >= SIMILARITY_THRESHOLD
