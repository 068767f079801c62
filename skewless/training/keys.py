"""Entity keys as dense integer codes, so that joins compare integers, not strings.

The labels' distinct keys are ranked 0..count-1 in key order (each column compared as
Arrow sorts it, columns lexicographically), so sorting labels by code sorts them by key
and a chunk of sorted labels covers one code range. A history row's code is its key's
rank among the labels' keys, or -1 when no label has that key (the row is never needed).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _rank_column(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(sorted distinct values, each row's rank among them as int64), hashing the column once."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    by_value = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(by_value), np.int64)
    rank[by_value] = np.arange(len(by_value), dtype=np.int64)
    return encoded.dictionary.take(by_value), rank[encoded.indices.to_numpy(zero_copy_only=False)]


def _bisect(values: pa.Array, x: object, lo: int, hi: int, right: bool) -> int:
    """Where x goes in sorted values[lo:hi] (bisect_left, or bisect_right)."""
    while lo < hi:
        mid = (lo + hi) // 2
        v = values[mid].as_py()
        if v < x or (right and v == x):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ranks(column: pa.ChunkedArray | pa.Array, values: pa.Array, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """Each value's index in sorted `values` (int64), -1 where absent or outside values[lo:hi].

    index_in hashes its value set on every call, so the set is cut down first to
    values[lo:hi] (a chunk's key range) and to the looked-up array's own [min, max]: per
    row group of key-sorted files that is a few thousand values, not every label's key.
    Dictionary arrays (Parquet string columns read with read_dictionary) are looked up by
    their dictionary, usually far smaller than the column."""
    hi = len(values) if hi is None else hi
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = []
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            of_dict = _ranks(chunk.dictionary, values, lo, hi)
            indices = chunk.indices.to_numpy(zero_copy_only=False)
            out.append(of_dict[indices] if len(of_dict) else np.full(len(chunk), -1, np.int64))
            continue
        first, last = lo, hi
        if len(chunk) and last - first > 64:
            least, most = (v.as_py() for v in pc.min_max(chunk).values())
            if least is not None:
                first = _bisect(values, least, first, last, right=False)
                last = _bisect(values, most, first, last, right=True)
        if first >= last:
            out.append(np.full(len(chunk), -1, np.int64))
            continue
        found = pc.index_in(chunk, value_set=values.slice(first, last - first))
        ranks = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        out.append(np.where(ranks >= 0, ranks + first, -1) if first else ranks)
    return np.concatenate(out) if out else np.empty(0, np.int64)


class KeyCoder:
    """Codes of the labels' keys (`codes`, one per label row, int64) and `codes_of` for
    history rows. Several key columns are folded one at a time: (code so far, rank in the
    next column) is ranked among the labels' distinct pairs, which keeps every
    intermediate below count**2 (no int64 overflow) and the codes in key order."""

    def __init__(self, label_keys: pa.Table) -> None:
        self.names = label_keys.column_names
        ranked = [_rank_column(label_keys[name]) for name in self.names]
        self._values = [values for values, _ in ranked]
        first = codes = ranked[0][1]
        self._pairs: list[np.ndarray] = []  # per folded column: the labels' sorted distinct pairs
        for (values, ranks) in ranked[1:]:
            pair = codes * len(values) + ranks
            distinct, codes = np.unique(pair, return_inverse=True)
            self._pairs.append(distinct)
            codes = codes.astype(np.int64, copy=False)
        self.codes: np.ndarray = codes
        self.count = int(codes.max()) + 1 if len(codes) else 0
        # The first column's rank of each code: codes in a range have first-column values
        # in a range, which is what files' and row groups' statistics can prune on.
        self._first_rank = np.zeros(self.count, np.int64)
        self._first_rank[codes] = first

    def codes_of(self, keys: pa.Table, lo_code: int = 0, hi_code: int | None = None) -> np.ndarray:
        """History rows' codes (int64), -1 for keys no label has; with lo_code..hi_code,
        also -1 for some keys outside that range (those of whose first column is)."""
        lo, hi = 0, len(self._values[0])
        if self.count and (lo_code > 0 or (hi_code is not None and hi_code < self.count - 1)):
            lo = int(self._first_rank[lo_code])
            hi = int(self._first_rank[self.count - 1 if hi_code is None else hi_code]) + 1
        codes = _ranks(keys[self.names[0]], self._values[0], lo, hi)
        for name, values, distinct in zip(self.names[1:], self._values[1:], self._pairs):
            ranks = _ranks(keys[name], values)
            pair = codes * len(values) + ranks
            at = np.searchsorted(distinct, pair)
            found = (codes >= 0) & (ranks >= 0) & (at < len(distinct))
            found[found] = distinct[at[found]] == pair[found]
            codes = np.where(found, at, -1)
        return codes

    def distinct(self, name: str) -> pa.Array:
        """The labels' distinct values of one key column, sorted."""
        return self._values[self.names.index(name)]

    def order(self) -> np.ndarray:
        """Label rows sorted by code, stably (rows of one key keep their order).

        Codes are below 2**32 (at most one per label), so two stable 16-bit passes (numpy
        radix-sorts 16-bit integers) replace a comparison sort: half the time at 1M labels."""
        low = np.argsort((self.codes & 0xFFFF).astype(np.uint16), kind="stable")
        if self.count <= 1 << 16:
            return low
        high = (self.codes >> 16)[low].astype(np.uint16)
        return low[np.argsort(high, kind="stable")]

    def first_key_range(self, lo_code: int, hi_code: int) -> tuple[object, object]:
        """The first key column's [min, max] (Python values) over codes lo_code..hi_code."""
        values = self._values[0]
        return values[int(self._first_rank[lo_code])].as_py(), values[int(self._first_rank[hi_code])].as_py()
