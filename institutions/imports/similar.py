"""Similar names in a file: the registration form's near-duplicate rule
(``normalise.is_similar`` on the name keys, within one kabupaten/kota) applied to
every row without a query per row.

The live institutions of the file's kabupaten/kota are read once (a few
queries) and indexed by word. A row is compared with those that share its
longest word (as ``services.find_similar`` narrows by the longest word) or its
second longest (so that a typo in the longest word does not hide the pair), and
with the earlier rows of the file in the same way.

A common word ("koperasi", "negeri") can be shared by a thousand names of a
city and of the file, so even a cheap ``is_similar`` (2 × longest common
subsequence / total length, computed by rapidfuzz) is preceded by two bounds
that the ratio can never exceed, which discard most pairs first:

* the characters two names have in common (the bound of difflib's
  ``quick_ratio``), here one AND and one bit count of two integers: each
  character owns a run of bits as wide as its largest count in any name, and a
  name sets as many of them as it holds;
* their longest common subsequence (bit-parallel, Hyyrö 2004).

Only the pairs that pass both are given to ``is_similar``: among the names
looked at, what the rule calls similar is found. Not looked at are names that
share neither of the two words (a typo in both, or in a one-word name), as the
form does not look beyond the longest word either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from institutions.models import Institution
from institutions.normalise import SIMILARITY_THRESHOLD, is_similar

MAX_MATCHES = 3  # registered institutions named per row
MAX_KEY = 200  # the longest name key (normalise.name_key, Institution.name_key)
_SLICE = 64  # names bounded in one list comprehension, so that a row stops soon after its matches


@dataclass(frozen=True, slots=True)
class Registered:
    """A live institution a row may be a near-duplicate of."""

    pk: int
    name: str
    branch_id: int


def lookup_words(key: str) -> list[str]:
    """The words a name is looked up by: its longest, the word
    ``services.find_similar`` narrows by (the first longest), and the next
    longest, so that a typo in the longest word ("Kalideress") still finds it."""
    return sorted(dict.fromkeys(key.split()), key=len, reverse=True)[:2]  # a stable sort: the first longest first


# The names indexed under one word: (name key, its length, its character bag,
# its reference: the index of a Registered, or the line of an earlier row).
_Entry = tuple[str, int, int, int]
_NEVER = 1 << 30


@lru_cache(maxsize=512)
def _least_common(size: int) -> tuple[int, ...]:
    """By the other name's length: the fewest characters in common with which
    a name of ``size`` characters can be similar to it (_NEVER when the lengths
    alone are too far apart). difflib's ratio is ``2.0 * matches / total``,
    computed the same way here so that rounding never discards a pair the rule
    would accept."""
    out = [_NEVER]  # no name key is empty
    for other in range(1, MAX_KEY + 1):
        total = size + other
        m = math.ceil(SIMILARITY_THRESHOLD * total / 2)
        while m > 0 and 2.0 * (m - 1) / total >= SIMILARITY_THRESHOLD:
            m -= 1
        while 2.0 * m / total < SIMILARITY_THRESHOLD:
            m += 1
        out.append(m if m <= min(size, other) else _NEVER)
    return tuple(out)


class _Bags:
    """Character multisets as integers (see the module docstring)."""

    def __init__(self, keys: Iterable[str]) -> None:
        widths: dict[str, int] = {}
        for key in keys:
            for ch in set(key):
                n = key.count(ch)
                if n > widths.get(ch, 0):
                    widths[ch] = n
        self._runs: dict[str, tuple[int, int]] = {}  # character -> (first bit, width)
        start = 0
        for ch, width in sorted(widths.items()):
            self._runs[ch] = (start, width)
            start += width

    def of(self, key: str) -> int:
        bag = 0
        for ch in set(key):
            first, width = self._runs[ch]
            bag |= ((1 << key.count(ch)) - 1) << first
        return bag


class _Probe:
    """One row's name, compared with many."""

    def __init__(self, key: str, bags: _Bags) -> None:
        self.key, self.size, self.bag = key, len(key), bags.of(key)
        self._masks: dict[str, int] | None = None

    def lcs(self, other: str) -> int:
        """Length of the longest common subsequence (Hyyrö's bit-vector algorithm)."""
        if self._masks is None:
            self._masks = {}
            for i, ch in enumerate(self.key):
                self._masks[ch] = self._masks.get(ch, 0) | (1 << i)
        masks, full = self._masks, (1 << self.size) - 1
        v = full
        for ch in other:
            u = v & masks.get(ch, 0)
            v = (v + u) | (v - u)
        return self.size - (v & full).bit_count()

    def matches(self, words: dict[str, list[_Entry]], limit: int) -> list[int]:
        """References of the first ``limit`` names similar (not equal) to this
        one among those indexed under ``words``."""
        key, size, bag, found = self.key, self.size, self.bag, []
        need = _least_common(size)
        done: set[str] = set()  # the words already looked under
        for word, entries in words.items():
            for start in range(0, len(entries), _SLICE):
                close = [e for e in entries[start : start + _SLICE] if (e[2] & bag).bit_count() >= need[e[1]]]
                for other, other_size, _bag, ref in close:
                    if other == key or (done and not done.isdisjoint(other.split())):
                        continue  # the same name, or one compared under an earlier word
                    if self.lcs(other) >= need[other_size] and is_similar(key, other):
                        found.append(ref)
                        if len(found) >= limit:
                            return found
            done.add(word)
        return found


class SimilarNames:
    """The live institutions of the file's kabupaten/kota that may matter to
    its rows, and the rows seen so far, indexed by word."""

    def __init__(self, pairs: Iterable[tuple[str, str]], *, chunk: int) -> None:
        """``pairs``: the (regency code, name key) of the file's rows."""
        pairs = set(pairs)
        # Only the words some row would look up are indexed.
        self._wanted: dict[str, set[str]] = {}
        for regency, key in pairs:
            self._wanted.setdefault(regency, set()).update(lookup_words(key))
        self.registered: list[Registered] = []
        loaded: list[tuple[str, str]] = []  # (regency, key) of self.registered, in the same order
        regencies = sorted(self._wanted)
        for i in range(0, len(regencies), chunk):
            qs = (
                Institution.objects.live()
                .filter(regency_code__in=regencies[i : i + chunk])
                .order_by("id")
                .values_list("id", "regency_code", "name_key", "name", "branch_id")
            )
            for pk, regency, key, name, branch_id in qs.iterator(chunk_size=2000):
                if key and not self._wanted[regency].isdisjoint(key.split()):
                    self.registered.append(Registered(pk, name, branch_id))
                    loaded.append((regency, key))
        #: The rows' (regency, name key) pairs that a live institution already has.
        self.taken = {p for p in loaded if p in pairs}
        self._bags = _Bags([k for _r, k in pairs] + [k for _r, k in loaded])
        self._registered: dict[str, dict[str, list[_Entry]]] = {}
        for ref, (regency, key) in enumerate(loaded):
            self._index(self._registered, regency, key, self._bags.of(key), ref)
        self._earlier: dict[str, dict[str, list[_Entry]]] = {}

    def _index(self, index: dict[str, dict[str, list[_Entry]]], regency: str, key: str, bag: int, ref: int) -> None:
        words = index.setdefault(regency, {})
        entry = (key, len(key), bag, ref)
        for word in self._wanted.get(regency, set()).intersection(key.split()):
            words.setdefault(word, []).append(entry)

    def row(self, regency: str, key: str, line: int, *, check: bool) -> tuple[list[Registered], int | None]:
        """Take the file's rows in order. For a row to ``check``: up to
        MAX_MATCHES live institutions of the regency with a similar name, and
        when there is none, the line of an earlier row with one. Every row
        becomes an earlier row for the rows after it."""
        probe = _Probe(key, self._bags)
        registered: list[Registered] = []
        earlier: int | None = None
        if check:
            words = lookup_words(key)
            index = self._registered.get(regency, {})
            refs = probe.matches({w: index.get(w, []) for w in words}, MAX_MATCHES)
            registered = [self.registered[r] for r in refs]
            if not registered:
                index = self._earlier.get(regency, {})
                lines = probe.matches({w: index.get(w, []) for w in words}, 1)
                earlier = lines[0] if lines else None
        self._index(self._earlier, regency, key, probe.bag, line)
        return registered, earlier
