"""Similar names in a file: the registration form's near-duplicate rule
(``normalise.is_similar`` on the name keys, within one kabupaten/kota) applied to
every row without a query per row.

The live institutions of the file's kabupaten/kota are read once (a few
queries) and indexed by word. A row is compared with those that share its
longest word (as ``services.find_similar`` narrows by the longest word) or its
second longest (so that a typo in the longest word does not hide the pair), and
with the earlier rows of the file in the same way.

A common word ("koperasi", "negeri") can be shared by a thousand names of a
city and of the file, so the comparisons run in C: rapidfuzz's
``process.extract_iter`` walks a word's names with ``fuzz.ratio`` (2 × longest
common subsequence / total length, the measure of ``normalise.is_similar``)
and yields only those at or above the threshold, in order; ``is_similar`` then
decides, as on the form. Not looked at are names that
share neither of the two words (a typo in both, or in a one-word name), as the
form does not look beyond the longest word either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from institutions.models import Institution
from institutions.normalise import SIMILARITY_THRESHOLD, is_similar

MAX_MATCHES = 3  # registered institutions named per row


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


class _Bucket:
    """The names indexed under one word, in the order they were added: their
    keys (handed to rapidfuzz as one list) and their references (the index of a
    Registered, or the line of an earlier row)."""

    __slots__ = ("keys", "refs")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.refs: list[int] = []


_CUTOFF = SIMILARITY_THRESHOLD * 100  # rapidfuzz scores 0-100


def _matches(key: str, buckets: dict[str, _Bucket], limit: int) -> list[int]:
    """References of the first ``limit`` names similar (not equal) to ``key``
    among those indexed under the given words, in the order they were indexed.
    rapidfuzz walks each word's names in C and yields only those at or above
    the threshold; ``is_similar`` (the same measure) decides, as on the form."""
    found: list[int] = []
    done: set[str] = set()  # the words already looked under
    for word, bucket in buckets.items():
        for other, _score, i in process.extract_iter(key, bucket.keys, scorer=fuzz.ratio, score_cutoff=_CUTOFF):
            if other == key or (done and not done.isdisjoint(other.split())):
                continue  # the same name, or one compared under an earlier word
            if is_similar(key, other):
                found.append(bucket.refs[i])
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
        self._registered: dict[str, dict[str, _Bucket]] = {}
        for ref, (regency, key) in enumerate(loaded):
            self._index(self._registered, regency, key, ref)
        self._earlier: dict[str, dict[str, _Bucket]] = {}

    def _index(self, index: dict[str, dict[str, _Bucket]], regency: str, key: str, ref: int) -> None:
        words = index.setdefault(regency, {})
        for word in self._wanted.get(regency, set()).intersection(key.split()):
            bucket = words.get(word)
            if bucket is None:
                bucket = words[word] = _Bucket()
            bucket.keys.append(key)
            bucket.refs.append(ref)

    def row(self, regency: str, key: str, line: int, *, check: bool) -> tuple[list[Registered], int | None]:
        """Take the file's rows in order. For a row to ``check``: up to
        MAX_MATCHES live institutions of the regency with a similar name, and
        when there is none, the line of an earlier row with one. Every row
        becomes an earlier row for the rows after it."""
        registered: list[Registered] = []
        earlier: int | None = None
        if check:
            words = lookup_words(key)
            index = self._registered.get(regency, {})
            refs = _matches(key, {w: index[w] for w in words if w in index}, MAX_MATCHES)
            registered = [self.registered[r] for r in refs]
            if not registered:
                index = self._earlier.get(regency, {})
                lines = _matches(key, {w: index[w] for w in words if w in index}, 1)
                earlier = lines[0] if lines else None
        self._index(self._earlier, regency, key, line)
        return registered, earlier
