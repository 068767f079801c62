"""Read a chunk's history rows from the planned data files, straight from Parquet.

pyiceberg plans the files once (partition and column-bound pruning); then, per chunk of
labels (a range of key codes and of times), each file still in range is read with
pyarrow.parquet directly, only the row groups whose statistics overlap the chunk's first
key column range and valid_from range, in a small thread pool (decompression releases the
GIL). Each file's footer is parsed once for all chunks, and a row group straddling two
consecutive chunks is read once: it is kept for the next chunk when only that chunk needs
it too. String keys are read as Parquet dictionaries and coded by dictionary entry.

Measured on bench/training.py (1M labels, 10M rows in 30 day files of 16k-row groups,
2 cores): reading a chunk through pyiceberg's ArrowScan (an expression filter over every
row, conversion to its large types) left the join waiting; read this way, the whole call
takes 1.8-2.4 s and 3.0-3.5 CPU s, of which Parquet decoding ~0.8-1.1, key coding ~0.4,
the joins ~0.5 and first-touch page faults 0.3-0.7 (system time). Reopening each file
for each chunk cost another ~0.3 CPU s, hence readers kept open across chunks.

A file pyarrow cannot read as is (delete files to apply, or columns whose Parquet field
ids differ from the table's, as after a rename) goes through pyiceberg's ArrowScan, which
handles both. Files not sorted by key (Flink's, until `skewless history compact` rewrites their day) are
correct but prune nothing: every chunk then reads every row group overlapping its time range.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from pyiceberg.table import FileScanTask, Table

READ_THREADS = 2
MAX_OPEN_FILES = 256  # readers kept open between chunks; older ones are closed


@dataclass(frozen=True)
class Chunk:
    """What one chunk of labels needs: key codes lo..hi (first key column's values key_lo..key_hi),
    valid_from in [time_lo, time_hi] (time_lo None: no lower bound)."""

    code_lo: int
    code_hi: int
    key_lo: object
    key_hi: object
    time_lo: int | None
    time_hi: int


@dataclass
class _File:
    task: FileScanTask
    metadata: pq.FileMetaData | None = None
    direct: bool = False  # readable by pyarrow as is
    # Per row group: first key column's min/max and valid_from's (None where unknown).
    key_min: list = field(default_factory=list)
    key_max: list = field(default_factory=list)
    time_min: list = field(default_factory=list)
    time_max: list = field(default_factory=list)
    kept: tuple[int, pa.Table] | None = None  # a row group read for the previous chunk
    opened: tuple[object, pq.ParquetFile] | None = None  # (source, reader) while in the reader's cache
    users: int = 0  # reads using `opened` now: it is not closed meanwhile


def _overlaps(lo: object, hi: object, want_lo: object, want_hi: object) -> bool:
    """Whether [lo, hi] (None: unknown bound) meets [want_lo, want_hi] (None: unbounded)."""
    try:
        if want_hi is not None and lo is not None and lo > want_hi:
            return False
        if want_lo is not None and hi is not None and hi < want_lo:
            return False
    except TypeError:  # statistics of another type than the labels' keys: cannot prune
        return True
    return True


class HistoryReader:
    """Reads chunks' history rows; `convert(table, chunk, later)` turns each file's Arrow rows
    into what the caller keeps (filtered, coded), in the reading thread. Columns in `later`
    are not read with the rest: `later()` reads them for the same rows, if ever needed
    (None for files read through the fallback, which reads every column)."""

    def __init__(
        self,
        table: Table,
        tasks: list[FileScanTask],
        columns: list[str],
        later: list[str],
        keys: list[str],
        fallback: Callable[[list[FileScanTask], Chunk], pa.Table],
        convert: Callable[[pa.Table, Chunk, Callable[[], pa.Table] | None], object],
    ) -> None:
        from pyiceberg.types import StringType

        self.table = table
        self.columns = columns
        self.later = later
        self.first_key = keys[0]
        self.fallback = fallback
        self.convert = convert
        self.files = [_File(task) for task in tasks]
        schema = table.schema()
        self.ids = {f.name: f.field_id for f in schema.fields}
        self.dictionary = [k for k in keys if isinstance(schema.find_type(k), StringType)]
        self.pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="training-read")
        self._open: OrderedDict[int, _File] = OrderedDict()  # least recently read first
        self._open_lock = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for f in self._open.values():
            self._shut(f)
        self._open.clear()

    @staticmethod
    def _shut(f: _File) -> None:
        if f.opened is not None:
            f.opened[0].close()
            f.opened = None

    def _acquire(self, f: _File) -> pq.ParquetFile:
        """The file's reader, kept open across chunks (every chunk reads most files, and opening
        one again costs about a quarter of reading its share of a chunk); `_release` after use.
        Past MAX_OPEN_FILES the least recently used readers not in use are closed."""
        with self._open_lock:
            if f.opened is None:
                source = self.table.io.new_input(f.task.file.file_path).open()
                f.opened = (source, pq.ParquetFile(source, metadata=f.metadata, read_dictionary=self.dictionary or None))
            self._open[id(f)] = f
            self._open.move_to_end(id(f))
            f.users += 1
            self._evict()
            return f.opened[1]

    def _release(self, f: _File) -> None:
        with self._open_lock:
            f.users -= 1
            self._evict()

    def _evict(self) -> None:
        for key in [k for k, f in self._open.items() if f.users == 0][: max(0, len(self._open) - MAX_OPEN_FILES)]:
            self._shut(self._open.pop(key))

    def _rows(self, f: _File, groups: list[int], columns: list[str]) -> pa.Table:
        """Row groups of a file (its footer already parsed: not read again)."""
        parquet = self._acquire(f)
        try:
            return parquet.read_row_groups(groups, columns=columns, use_threads=False)
        finally:
            self._release(f)

    def _describe(self, f: _File) -> None:
        """Parse the footer once: can pyarrow read it as is, and its row groups' statistics."""
        if f.task.delete_files:
            return
        with self.table.io.new_input(f.task.file.file_path).open() as source:
            parquet = pq.ParquetFile(source, read_dictionary=self.dictionary or None)
            f.metadata, schema = parquet.metadata, parquet.schema_arrow
        for name in (*self.columns, *self.later):
            i = schema.get_field_index(name)
            if i < 0:
                return
            meta = schema.field(i).metadata or {}
            if meta.get(b"PARQUET:field_id") != str(self.ids[name]).encode():
                return
        f.direct = True
        names = [f.metadata.schema.column(i).path for i in range(f.metadata.num_columns)]
        key_at, time_at = names.index(self.first_key), names.index("valid_from")
        time_us = schema.field("valid_from").type == pa.timestamp("us", schema.field("valid_from").type.tz)
        for g in range(f.metadata.num_row_groups):
            group = f.metadata.row_group(g)
            key_stats, time_stats = group.column(key_at).statistics, group.column(time_at).statistics
            try:
                known = key_stats is not None and key_stats.has_min_max
                f.key_min.append(key_stats.min if known else None)
                f.key_max.append(key_stats.max if known else None)
            except (UnicodeDecodeError, ValueError):  # e.g. truncated binary bounds
                f.key_min.append(None)
                f.key_max.append(None)
            known = time_us and time_stats is not None and time_stats.has_min_max
            f.time_min.append(time_stats.min_raw if known else None)
            f.time_max.append(time_stats.max_raw if known else None)

    def _groups(self, f: _File, chunk: Chunk) -> list[int]:
        return [
            g
            for g in range(len(f.key_min))
            if _overlaps(f.key_min[g], f.key_max[g], chunk.key_lo, chunk.key_hi)
            and _overlaps(f.time_min[g], f.time_max[g], chunk.time_lo, chunk.time_hi)
        ]

    def _read_file(self, f: _File, chunk: Chunk, following: Chunk | None) -> object | None:
        if f.metadata is None and not f.task.delete_files:
            self._describe(f)
        if not f.direct:
            return self.convert(self.fallback([f.task], chunk), chunk, None)
        groups = self._groups(f, chunk)
        kept, f.kept = f.kept, None
        if not groups:
            return None
        last = groups[-1]
        # Keep the last row group when the next chunk needs it and the one after cannot:
        # the straddler of sorted files, never a row group spanning every chunk.
        keep = following is not None and self._needs(f, last, following) and not self._spans(f, last, following)
        later = None
        if self.later:  # the same row groups again, in the same order: the same rows
            everything = list(groups)
            later = lambda: self._rows(f, everything, self.later)  # noqa: E731
        parts = []
        if kept is not None and kept[0] == groups[0]:
            parts.append(kept[1])
            groups = groups[1:]
        ahead = groups[:-1] if keep else groups
        if ahead:
            parts.append(self._rows(f, ahead, self.columns))
        if keep:
            # Read apart, so that keeping it does not keep the rest of this read alive.
            tail = parts[-1] if not groups else self._rows(f, [last], self.columns)
            if groups:
                parts.append(tail)
            f.kept = (last, tail)
        return self.convert(pa.concat_tables(parts) if len(parts) > 1 else parts[0], chunk, later)

    def _needs(self, f: _File, g: int, chunk: Chunk) -> bool:
        return _overlaps(f.key_min[g], f.key_max[g], chunk.key_lo, chunk.key_hi) and _overlaps(
            f.time_min[g], f.time_max[g], chunk.time_lo, chunk.time_hi
        )

    def _spans(self, f: _File, g: int, chunk: Chunk) -> bool:
        """Whether row group g reaches beyond `chunk`'s keys (or its bounds are unknown)."""
        high = f.key_max[g]
        if high is None:
            return True
        try:
            return bool(high > chunk.key_hi)
        except TypeError:
            return True

    def read(self, chunk: Chunk, following: Chunk | None, may_match: Callable[[FileScanTask], bool]) -> list:
        """The converted rows of every file that may hold rows for `chunk` (`following`: the
        next chunk, to keep straddling row groups for)."""
        chosen = [f for f in self.files if may_match(f.task)]
        for f in self.files:
            if f.kept is not None and not may_match(f.task):
                f.kept = None
        done = self.pool.map(lambda f: self._read_file(f, chunk, following), chosen)
        return [part for part in done if part is not None]
