"""join_history joining labels chunk by chunk, against the oracle and against
the one-chunk result: chunk boundaries, keys and TTL look-backs straddling them, chunks
without history, both as_of modes, and the labels' order."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.iceberg.history import Column, HistoryTable
from skewless.training import TrainingSetError, historical, join_history
from skewless.training.keys import KeyCoder
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update, oracle, random_history, random_label_times

HOUR = 3_600_000
FEATURES = ("avg_amount", "n_events")


def features_of(result: pa.Table) -> list:
    rows = result.select(list(FEATURES)).to_pylist()
    return [None if r["n_events"] is None else (r["avg_amount"], r["n_events"]) for r in rows]


def labels_table(keys: list, times: list[int]) -> pa.Table:
    return pa.table({"user_id": keys, "timestamp": pa.array(times, pa.int64()), "row": range(len(keys))})


@pytest.fixture
def reads(monkeypatch) -> list:
    """The history rows each chunk read (HistoryRows: key codes, times, features), in chunk order."""
    seen: list = []
    real = historical._read

    def spy(*args):
        rows = real(*args)
        seen.append(rows)
        return rows

    monkeypatch.setattr(historical, "_read", spy)
    return seen


@pytest.mark.parametrize("as_of", ["event_time", "known_time"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 64])
def test_chunked_matches_oracle_and_one_chunk(write_history, catalog_cfg, as_of: str, chunk_rows: int) -> None:
    rng = random.Random(chunk_rows * 10 + len(as_of))
    keys = [f"u{i}" for i in range(6)]
    span = 3 * 24 * HOUR
    history = random_history(rng, keys, 150, span_ms=span)
    write_history(history, batches=3)
    ttl_ms = 6 * HOUR
    times = random_label_times(rng, history, ttl_ms, 90, span_ms=span)
    label_keys = [rng.choice([*keys, "never_seen"]) for _ in times]
    labels = labels_table(label_keys, times)

    chunked = join_history(labels, "user_stats", catalog_cfg, ttl_ms, as_of, chunk_rows=chunk_rows)
    whole = join_history(labels, "user_stats", catalog_cfg, ttl_ms, as_of, chunk_rows=10_000)

    assert chunked.equals(whole)
    assert chunked.select(labels.column_names).equals(labels)
    assert features_of(chunked) == [oracle(history, k, t, ttl_ms, as_of) for k, t in zip(label_keys, times)]


def test_each_chunk_reads_only_its_key_range(write_history, catalog_cfg, reads) -> None:
    keys = [f"u{i}" for i in range(8)]
    write_history([Update(k, BASE_MS + h * HOUR, BASE_MS + h * HOUR, h, (float(h), h)) for k in keys for h in range(5)])
    # Shuffled labels, two per key: chunks of 4 labels cover two keys each once sorted.
    label_keys = [k for k in keys for _ in range(2)]
    random.Random(3).shuffle(label_keys)
    labels = labels_table(label_keys, [BASE_MS + 10 * HOUR] * len(label_keys))

    result = join_history(labels, "user_stats", catalog_cfg, ttl=None, chunk_rows=4)

    # Codes are the labels' keys' ranks: u0..u7 are 0..7.
    assert [sorted(set(r.code.tolist())) for r in reads] == [[i, i + 1] for i in range(0, 8, 2)]
    assert all(r.num_rows == 10 for r in reads)  # 2 keys x 5 updates: never the whole history
    assert features_of(result) == [(4.0, 4)] * len(label_keys)


def test_a_key_split_across_chunks_with_the_ttl_look_back_crossing_the_boundary(
    write_history, catalog_cfg, reads
) -> None:
    write_history([
        Update("a", BASE_MS, BASE_MS, 1, (1.0, 1)),
        Update("a", BASE_MS + 10 * HOUR, BASE_MS + 10 * HOUR, 2, (2.0, 2)),
        Update("b", BASE_MS, BASE_MS, 3, (3.0, 3)),
    ])
    ttl_ms = 2 * HOUR
    # Sorted by key, the chunks of 2 are [a, a] [a, a] [a, b]: a's labels span three chunks,
    # and the later chunks' labels need updates written long before their own times' range.
    times = [BASE_MS + 10 * HOUR + ttl_ms, BASE_MS + ttl_ms, BASE_MS + ttl_ms + 1, BASE_MS + 11 * HOUR,
             BASE_MS + 10 * HOUR - 1, BASE_MS + HOUR]
    label_keys = ["a", "a", "a", "a", "a", "b"]
    labels = labels_table(label_keys, times)

    result = join_history(labels, "user_stats", catalog_cfg, ttl_ms, chunk_rows=2)

    assert len(reads) == 3
    assert features_of(result) == [(2.0, 2), (1.0, 1), None, (2.0, 2), None, (3.0, 3)]


def test_chunks_without_any_history(write_history, catalog_cfg, reads) -> None:
    write_history([Update("m", BASE_MS, BASE_MS, 1, (1.0, 1))])
    label_keys = ["a", "b", "m", "z", "y", "c"]  # sorted: [a b] [c m] [y z]
    labels = labels_table(label_keys, [BASE_MS + HOUR] * 6)

    result = join_history(labels, "user_stats", catalog_cfg, ttl=None, chunk_rows=2)

    assert [r.num_rows for r in reads] == [0, 1, 0]
    assert features_of(result) == [None, None, (1.0, 1), None, None, None]
    assert result.schema.field("avg_amount").type == pa.float64()
    assert result.schema.field("n_events").type == pa.int64()


def test_labels_outside_every_chunk_time_range_and_empty_history(write_history, catalog_cfg) -> None:
    write_history([])
    labels = labels_table(["a", "b", "c"], [BASE_MS] * 3)
    result = join_history(labels, "user_stats", catalog_cfg, ttl=HOUR, chunk_rows=1)
    assert features_of(result) == [None, None, None]
    assert result.num_rows == 3


def test_composite_integer_keys_and_list_features_in_chunks(write_history, catalog_cfg) -> None:
    view = HistoryTable("orders", keys=(Column("shop", "long"), Column("sku", "string")),
                        features=(Column("last", "list<double>"), Column("n_events", "long")))
    history = [
        Update((1, "x"), BASE_MS, BASE_MS, 1, ([1.0, None], 1)),
        Update((2, "x"), BASE_MS, BASE_MS, 2, ([], 2)),
        Update((1, "y"), BASE_MS, BASE_MS, 3, (None, 3)),
        Update((1, "x"), BASE_MS + HOUR, BASE_MS + HOUR, 4, ([4.0], 4)),
    ]
    write_history(history, history=view)
    pairs = [(2, "x"), (1, "y"), (1, "x"), (3, "x"), (1, "x"), (2, "y")]
    times = [BASE_MS, BASE_MS, BASE_MS, BASE_MS, BASE_MS + HOUR, BASE_MS]
    labels = pa.table({"shop": pa.array([p[0] for p in pairs], pa.int32()), "sku": [p[1] for p in pairs],
                       "timestamp": times})

    chunked = join_history(labels, "orders", catalog_cfg, ttl=None, chunk_rows=2)
    whole = join_history(labels, "orders", catalog_cfg, ttl=None)

    assert chunked.equals(whole)
    assert chunked.schema.field("last").type == pa.list_(pa.float64())
    assert chunked.column("last").to_pylist() == [[], None, [1.0, None], None, [4.0], None]
    assert chunked.column("n_events").to_pylist() == [2, 3, 1, None, 4, None]


def test_progress_counts_labels_chunk_by_chunk(write_history, catalog_cfg) -> None:
    write_history([Update("a", BASE_MS, BASE_MS, 1, (1.0, 1))])
    labels = labels_table(["a"] * 7, [BASE_MS] * 7)
    calls: list[tuple[int, int]] = []
    join_history(labels, "user_stats", catalog_cfg, None, chunk_rows=3,
                            progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    calls.clear()
    join_history(labels, "user_stats", catalog_cfg, None, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(7, 7)]


@pytest.mark.parametrize("chunk_rows", [0, -1, 2.5, True])
def test_chunk_rows_must_be_a_positive_integer(write_history, catalog_cfg, chunk_rows) -> None:
    write_history([])
    with pytest.raises(TrainingSetError, match="chunk_rows must be a positive integer"):
        join_history(labels_table(["a"], [BASE_MS]), "user_stats", catalog_cfg, None, chunk_rows=chunk_rows)


def test_key_codes_sort_labels_as_a_stable_sort_by_keys() -> None:
    rng = random.Random(5)
    keys = pa.table({
        "shop": pa.array([rng.randrange(4) for _ in range(300)], pa.int64()),
        "sku": [rng.choice(["b", "a", "ä", "", "zz"]) for _ in range(300)],
    })
    keys = pa.concat_tables([keys.slice(0, 100), keys.slice(100)])  # several chunks
    want = pc.sort_indices(keys, sort_keys=[("shop", "ascending"), ("sku", "ascending")])
    assert np.argsort(KeyCoder(keys).codes, kind="stable").tolist() == want.to_pylist()
    coder = KeyCoder(keys)
    history = pa.table({"shop": pa.array([3, 9, 0], pa.int32()), "sku": ["zz", "a", "nope"]})
    want_code = coder.codes[[i for i in range(300) if keys["shop"][i].as_py() == 3 and keys["sku"][i].as_py() == "zz"][0]]
    assert coder.codes_of(history).tolist() == [want_code, -1, -1]


@pytest.mark.parametrize("distinct", [3, 70_000])  # one 16-bit pass, and two
def test_key_order_is_a_stable_sort_by_code(distinct: int) -> None:
    rng = np.random.default_rng(distinct)
    keys = pa.table({"id": pa.array(rng.integers(0, distinct, 200_000), pa.int64())})
    coder = KeyCoder(keys)
    assert coder.count > min(distinct, 65_536) - 10
    assert np.array_equal(coder.order(), np.argsort(coder.codes, kind="stable"))


def test_readers_beyond_the_open_file_cap_are_closed_and_reopened(write_history, catalog_cfg, monkeypatch) -> None:
    """More files than readers kept open: every chunk still reads every file it needs."""
    from skewless.training import scan

    rng = random.Random(12)
    keys = [f"u{i}" for i in range(6)]
    span = 2 * 24 * HOUR
    history = random_history(rng, keys, 160, span_ms=span)
    write_history(history, batches=8)
    times = random_label_times(rng, history, 6 * HOUR, 80, span_ms=span)
    label_keys = [rng.choice(keys) for _ in times]
    labels = labels_table(label_keys, times)
    opened: list[str] = []
    real = scan.HistoryReader._acquire

    def spy(self, f):
        was_open = f.opened is not None
        reader = real(self, f)
        if not was_open:
            opened.append(f.task.file.file_path)
        # Readers in use are never closed: the cap is passed by at most the reads under way.
        assert len(self._open) <= scan.MAX_OPEN_FILES + scan.READ_THREADS
        return reader

    monkeypatch.setattr(scan, "MAX_OPEN_FILES", 1)
    monkeypatch.setattr(scan.HistoryReader, "_acquire", spy)

    result = join_history(labels, "user_stats", catalog_cfg, 6 * HOUR, chunk_rows=10)

    assert features_of(result) == [oracle(history, k, t, 6 * HOUR, "event_time") for k, t in zip(label_keys, times)]
    assert len(opened) > len(set(opened)) >= 4  # more files than the cap: some were reopened


def test_event_time_reads_tie_breaking_columns_only_for_chunks_with_ties(write_history, catalog_cfg, monkeypatch) -> None:
    import pyarrow.parquet as pq

    write_history([
        Update("a", BASE_MS, BASE_MS + 9, 1, (1.0, 1)),  # a tie on valid_from: the later write wins
        Update("a", BASE_MS, BASE_MS + 2, 7, (2.0, 2)),
        Update("b", BASE_MS, BASE_MS, 3, (3.0, 3)),
        Update("b", BASE_MS + HOUR, BASE_MS + HOUR, 4, (4.0, 4)),
    ])
    reads: list[list[str]] = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, columns=None, **kwargs):
        reads.append(list(columns))
        return real(self, row_groups, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    labels = labels_table(["b", "a"], [BASE_MS + 2 * HOUR, BASE_MS + HOUR])

    for as_of in ("event_time", "known_time"):
        reads.clear()
        result = join_history(labels, "user_stats", catalog_cfg, None, as_of, chunk_rows=1)
        assert features_of(result) == [(4.0, 4), (1.0, 1)]
        tie_reads = [c for c in reads if c == ["written_at", "version"]]
        assert len(tie_reads) == (1 if as_of == "event_time" else 0)  # chunk [a] has a tie, chunk [b] none


@pytest.mark.parametrize("as_of", ["event_time", "known_time"])
def test_files_pyarrow_cannot_read_as_is_go_through_pyiceberg(write_history, catalog_cfg, monkeypatch, as_of) -> None:
    """Files with delete files or other field ids than the table's are read by pyiceberg's
    ArrowScan (every column, the chunk's filter): same answers."""
    from skewless.training import scan

    rng = random.Random(8)
    keys = [f"u{i}" for i in range(5)]
    span = 2 * 24 * HOUR
    history = random_history(rng, keys, 120, span_ms=span)
    write_history(history, batches=3)
    times = random_label_times(rng, history, 6 * HOUR, 60, span_ms=span)
    label_keys = [rng.choice(keys) for _ in times]
    labels = labels_table(label_keys, times)
    monkeypatch.setattr(scan.HistoryReader, "_describe", lambda self, f: setattr(f, "metadata", object()))

    result = join_history(labels, "user_stats", catalog_cfg, 6 * HOUR, as_of, chunk_rows=16)

    assert features_of(result) == [oracle(history, k, t, 6 * HOUR, as_of) for k, t in zip(label_keys, times)]
