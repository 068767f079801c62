"""Golden test: the compiled specs of the example repo `features/`.

A change to the DSL, the naming rule or the example definitions that alters what the
engine runs shows up here as a diff. When the change is intended, regenerate with

    SKEWLESS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/skewless/dsl/test_golden.py

and review the JSON diff like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from features.transactions import USER_TRANSACTIONS
from skewless.dsl import load_repo
from skewless.settings import REPO_ROOT

GOLDEN = Path(__file__).parent / "golden" / "features.json"


def compiled_repo() -> dict[str, dict]:
    repo = load_repo(REPO_ROOT / "features")
    specs = {f"{name}@{version}": view.compile().to_dict() for (name, version), view in sorted(repo.views.items())}
    return json.loads(json.dumps(specs))  # tuples as JSON lists, like the golden file


def test_example_repo_compiles_to_the_golden_specs() -> None:
    actual = compiled_repo()
    if os.environ.get("SKEWLESS_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert actual == expected, "compiled specs changed; if intended, regenerate (see this module's docstring)"


def test_user_transactions_keeps_its_four_features_and_hash(example_catalogue) -> None:
    spec = USER_TRANSACTIONS
    assert example_catalogue.spec("user_transactions") == spec  # what apply registers is what the repo compiles
    assert [(f.name, f.op, f.column, f.window_ms, f.hop_ms) for f in spec.features] == [
        ("avg_amount_30d", "avg", "amount", 30 * 86_400_000, 86_400_000),
        ("count_30d", "count", None, 30 * 86_400_000, 86_400_000),
        ("sum_amount_1d", "sum", "amount", 86_400_000, 3_600_000),
        ("max_amount_7d", "max", "amount", 7 * 86_400_000, 86_400_000),
    ]
    assert (spec.version, spec.source_topic) == (1, "transactions")
    assert (spec.ttl_ms, spec.out_of_orderness_ms) == (30 * 86_400_000, 60_000)
    # The hash of the hand-written spec this DSL definition replaced: nothing downstream moves.
    assert spec.content_hash() == "ba63483f9fc7d3e8"


def test_the_dsl_object_and_the_exported_spec_agree() -> None:
    repo = load_repo(REPO_ROOT / "features")
    assert repo.views[("user_transactions", 1)].compile() == USER_TRANSACTIONS
