"""The chaos test's judge, on hand-made outputs: it must see every kind of damage a restart can
do (a lost, doubled or wrong row, a stale online value, a doubled dead letter), and no damage
where there is none (other revision numbers, a step that does not change the function)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from features.transactions import USER_TRANSACTIONS
from tests.chaos.compare import compare_history, compare_letters, compare_online
from tests.chaos.readback import Letter, TopicContents
from tests.oracle import values_at

SPEC = USER_TRANSACTIONS
HOUR_MS = 3_600_000
EVENTS = {
    "u1": [(10 * HOUR_MS, {"amount": 5.0}), (11 * HOUR_MS, {"amount": 7.0})],
    "u2": [(10 * HOUR_MS + 5, {"amount": 2.5})],
}


def rows(*steps: tuple[str, int, int], values: dict[tuple[str, int], tuple[Any, ...]] | None = None) -> pa.Table:
    """History rows (entity, valid_from, revision) with the oracle's values unless given."""
    data: dict[str, list[Any]] = {"entity": [], **{f: [] for f in SPEC.feature_names}, "valid_from": [], "version": []}
    for entity, t, revision in steps:
        got = (values or {}).get((entity, t)) or values_at(SPEC.features, [e for e in EVENTS[entity] if e[0] <= t], t)
        data["entity"].append(entity)
        for name, value in zip(SPEC.feature_names, got):
            data[name].append(value)
        data["valid_from"].append(t)
        data["version"].append(revision)
    return pa.table(data)


STEPS = [("u1", 10 * HOUR_MS, 0), ("u1", 11 * HOUR_MS, 0), ("u2", 10 * HOUR_MS + 5, 0)]
HORIZON = 12 * HOUR_MS


def test_the_same_step_functions_under_other_revisions_agree() -> None:
    chaos = rows(*[(e, t, r + 7) for e, t, r in STEPS], ("u1", 10 * HOUR_MS, 3))
    diff = compare_history(chaos, rows(*STEPS), SPEC.features, HORIZON)
    assert diff.ok and (diff.missing, diff.mismatched, diff.extra, diff.duplicates) == (0, 0, 0, 0)


def test_a_lost_a_doubled_and_a_wrong_row_are_each_found() -> None:
    wrong = {("u1", 11 * HOUR_MS): (1.0, 1, 1.0, 1.0)}
    chaos = rows(("u1", 10 * HOUR_MS, 0), ("u1", 10 * HOUR_MS, 0), ("u1", 11 * HOUR_MS, 0), values=wrong)
    diff = compare_history(chaos, rows(*STEPS), SPEC.features, HORIZON)
    assert (diff.duplicates, diff.missing, diff.mismatched) == (1, 1, 1)
    assert not diff.ok and set(diff.examples) == {"duplicates", "missing", "mismatched"}


def test_an_extra_step_counts_against_the_run_only_when_it_changes_the_value() -> None:
    t = 10 * HOUR_MS + 60_000  # between u1's two events: the value of the first still holds
    same = rows(*STEPS, ("u1", t, 0))
    diff = compare_history(same, rows(*STEPS), SPEC.features, HORIZON)
    assert diff.ok and (diff.extra, diff.extra_mismatched) == (1, 0)
    other = rows(*STEPS, ("u1", t, 0), values={("u1", t): (9.0, 2, 9.0, 9.0)})
    assert compare_history(other, rows(*STEPS), SPEC.features, HORIZON).extra_mismatched == 1


def test_steps_past_the_horizon_are_not_compared() -> None:
    diff = compare_history(rows(*STEPS[:2]), rows(*STEPS), SPEC.features, 10 * HOUR_MS)
    assert diff.ok and diff.reference_steps == 1


def test_online_values_are_held_to_the_fault_free_run_and_to_the_oracle() -> None:
    contents = TopicContents(by_entity=EVENTS)
    right = {e: (events[-1][0], values_at(SPEC.features, events, events[-1][0])) for e, events in EVENTS.items()}
    assert compare_online(right, right, contents, SPEC.features).ok
    stale = {**right, "u1": (10 * HOUR_MS, values_at(SPEC.features, EVENTS["u1"][:1], 10 * HOUR_MS))}
    diff = compare_online(stale, right, contents, SPEC.features)
    assert (diff.mismatched_reference, diff.mismatched_oracle) == (1, 1)
    assert compare_online({**right, "u2": None}, right, contents, SPEC.features).mismatched_oracle == 1


def test_every_dead_letter_exactly_once() -> None:
    malformed = {("t", 0, 4), ("t", 1, 9)}
    assert compare_letters([Letter(o, "r") for o in sorted(malformed)], malformed).ok
    diff = compare_letters([Letter(("t", 0, 4), "r"), Letter(("t", 0, 4), "r"), Letter(("t", 2, 1), "late")], malformed)
    assert (diff.duplicated, diff.missing, diff.unexpected) == (1, 1, 1)
