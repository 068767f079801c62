"""Judging a chaos run: its outputs against a fault-free run of the same topic and the oracle.

Revision numbers depend on timing (how a restart splits the input into batches), so the
history is compared as step functions: per (entity, valid_from) the row of the highest
revision, which is the value a point-in-time read returns from that instant on. An extra
step whose value equals the reference's value at that instant does not change the function
and is only counted. The bulk comparisons run in DuckDB, so `make chaos`'s millions of
rows compare in seconds; the oracle, pure Python, checks a sample of them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from skewless.spec import FeatureSpec
from tests.chaos.readback import Letter, OnlineValue, Origin, TopicContents
from tests.oracle import close, values_agree

EXAMPLES = 5


def _same(features: Sequence[FeatureSpec]) -> str:
    """SQL: the chaos step c holds the reference step r's values (numbers to 1e-9 relative)."""
    terms = []
    for f in features:
        a, b = f'c."{f.name}"', f'r."{f.name}"'
        if f.value_type in ("long", "double"):
            near = f"abs({a} - {b}) <= 1e-9 * greatest(1.0, abs({a}), abs({b}))"
            terms.append(f"(({a} is null and {b} is null) or coalesce({near}, false))")
        else:
            terms.append(f"({a} is not distinct from {b})")
    return " and ".join(terms)


def _steps_sql(rows: str, upto: int) -> str:
    """SQL: the step function of `rows` up to `upto`: per (entity, valid_from), the highest revision."""
    return (
        "select * exclude (rn) from (select *, row_number() over (partition by entity, valid_from order by version desc)"
        f" as rn from {rows} where valid_from <= {int(upto)}) where rn = 1"
    )


@dataclass
class HistoryDiff:
    chaos_rows: int
    reference_rows: int
    duplicates: int  # chaos rows beyond the first with the same (entity, valid_from, revision)
    reference_steps: int  # steps with valid_from <= the horizon
    chaos_steps: int
    missing: int  # reference steps with no chaos step at the same (entity, valid_from)
    mismatched: int  # same (entity, valid_from), other values
    extra: int  # chaos steps at instants the reference has none
    extra_mismatched: int  # ...whose value is not the reference's value at that instant
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.missing or self.mismatched or self.extra_mismatched)


def compare_history(chaos: pa.Table, reference: pa.Table, features: Sequence[FeatureSpec], upto: int) -> HistoryDiff:
    con = duckdb.connect()
    con.register("chaos_rows", chaos)
    con.register("reference_rows", reference)
    for name, rows in (("c_steps", "chaos_rows"), ("r_steps", "reference_rows")):
        con.sql(f"create temp table {name} as {_steps_sql(rows, upto)}")
    same = _same(features)
    values = ", ".join(f'c."{f.name}" as "chaos {f.name}", r."{f.name}" as "reference {f.name}"' for f in features)

    def count(sql: str) -> int:
        return int(con.sql(f"select count(*) from ({sql})").fetchall()[0][0])

    def examples(sql: str) -> list[dict[str, Any]]:
        return con.sql(f"select * from ({sql}) order by 1, 2 limit {EXAMPLES}").to_arrow_table().to_pylist()

    duplicate_groups = (
        "select entity, valid_from, version, count(*) as copies from chaos_rows group by all having count(*) > 1"
    )
    missing = "select r.entity, r.valid_from, r.version from r_steps r anti join c_steps c using (entity, valid_from)"
    mismatched = (
        f"select c.entity, c.valid_from, c.version as chaos_revision, r.version as reference_revision, {values} "
        f"from c_steps c join r_steps r using (entity, valid_from) where not ({same})"
    )
    con.sql("create temp table x_steps as select c.* from c_steps c anti join r_steps r using (entity, valid_from)")
    # The reference's value at an extra instant is its latest step at or before it.
    extra_mismatched = (
        f"select c.entity, c.valid_from, r.valid_from as reference_step, {values} from x_steps c "
        f"asof left join r_steps r on c.entity = r.entity and c.valid_from >= r.valid_from "
        f"where r.entity is null or not ({same})"
    )
    diff = HistoryDiff(
        chaos_rows=chaos.num_rows,
        reference_rows=reference.num_rows,
        duplicates=int(con.sql(f"select coalesce(sum(copies - 1), 0) from ({duplicate_groups})").fetchall()[0][0]),
        reference_steps=count("select * from r_steps"),
        chaos_steps=count("select * from c_steps"),
        missing=count(missing),
        mismatched=count(mismatched),
        extra=count("select * from x_steps"),
        extra_mismatched=count(extra_mismatched),
    )
    for label, sql, n in (
        ("duplicates", duplicate_groups, diff.duplicates),
        ("missing", missing, diff.missing),
        ("mismatched", mismatched, diff.mismatched),
        ("extra_mismatched", extra_mismatched, diff.extra_mismatched),
    ):
        if n:
            diff.examples[label] = examples(sql)
    con.close()
    return diff


def chaos_steps_sample(chaos: pa.Table, upto: int, limit: int, seed: int) -> list[dict[str, Any]]:
    """Up to `limit` of the chaos run's steps with valid_from <= upto, drawn at random."""
    con = duckdb.connect()
    con.register("chaos_rows", chaos)
    steps = con.sql(_steps_sql("chaos_rows", upto)).to_arrow_table().to_pylist()
    con.close()
    return steps if len(steps) <= limit else random.Random(seed).sample(steps, limit)


@dataclass
class OracleDiff:
    checked: int
    mismatched: int
    examples: list[dict[str, Any]] = field(default_factory=list)


def history_against_oracle(steps: list[dict[str, Any]], contents: TopicContents, features: Sequence[FeatureSpec]) -> OracleDiff:
    """Each step's values are the oracle's, recomputed from the raw events, at its valid_from."""
    names = [f.name for f in features]
    bad = []
    for step in steps:
        t = step["valid_from"]
        got = tuple(step[n] for n in names)
        if not values_agree(features, got, contents.events_until(step["entity"], t), t):
            bad.append({"entity": step["entity"], "valid_from": t, "got": got})
    return OracleDiff(len(steps), len(bad), bad[:EXAMPLES])


@dataclass
class OnlineDiff:
    entities: int
    mismatched_reference: int  # a value (or its instant) other than the fault-free run's
    mismatched_oracle: int  # absent, older than the entity's last event, or not the oracle's value
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatched_reference or self.mismatched_oracle)


def compare_online(
    chaos: dict[str, OnlineValue | None],
    reference: dict[str, OnlineValue | None],
    contents: TopicContents,
    features: Sequence[FeatureSpec],
) -> OnlineDiff:
    versus_reference = versus_oracle = 0
    examples = []
    for entity, events in sorted(contents.by_entity.items()):
        got, want = chaos.get(entity), reference.get(entity)
        differs = (got is None) != (want is None) or (
            got is not None and want is not None and (got[0] != want[0] or not close(got[1], want[1]))
        )
        wrong = got is None or got[0] < events[-1][0] or not values_agree(
            features, got[1], contents.events_until(entity, got[0]), got[0]
        )
        versus_reference += differs
        versus_oracle += wrong
        if (differs or wrong) and len(examples) < EXAMPLES:
            examples.append({"entity": entity, "chaos": got, "reference": want, "last_event": events[-1][0]})
    return OnlineDiff(len(contents.by_entity), versus_reference, versus_oracle, examples)


@dataclass
class LetterDiff:
    letters: int
    malformed: int
    duplicated: int  # letters beyond the first for one origin
    missing: int  # malformed records with no letter
    unexpected: int  # letters for records that are not malformed (e.g. events dead-lettered as late)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicated or self.missing or self.unexpected)


def compare_letters(letters: list[Letter], malformed: set[Origin]) -> LetterDiff:
    origins = [letter.origin for letter in letters]
    seen = set(origins)
    unexpected = [letter for letter in letters if letter.origin not in malformed]
    examples = [{"unexpected": asdict(letter)} for letter in unexpected[:EXAMPLES]]
    examples += [{"missing": origin} for origin in sorted(malformed - seen)[:EXAMPLES]]
    return LetterDiff(len(letters), len(malformed), len(origins) - len(seen), len(malformed - seen), len(seen - malformed), examples)
