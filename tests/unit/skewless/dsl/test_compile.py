"""FeatureView.compile(): checked against the Avro schema, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window
from skewless.errors import SpecError
from skewless.spec import ViewSpec

DAY = Window("1d", hop="1h")


def view(source: Source, entity: Entity, *aggregations: Aggregation, **kwargs: object) -> FeatureView:
    return FeatureView(
        name="payments_view",
        entity=entity,
        source=source,
        aggregations=list(aggregations) or [Aggregation("amount", "sum", [DAY])],
        ttl=kwargs.pop("ttl", "1d"),
        **kwargs,  # type: ignore[arg-type]
    )


def problems(fv: FeatureView) -> str:
    with pytest.raises(SpecError) as err:
        fv.compile()
    return str(err.value)


def test_a_valid_view_compiles_to_a_spec(source: Source, user: Entity) -> None:
    spec = view(
        source, user, Aggregation("amount", "avg", [Window("30d", hop="1d")]), Aggregation(None, "count", [DAY]),
        out_of_orderness="30s", allowed_lateness="1h", version=3, tags=["pii", "finance", "pii"], owner="o",
    ).compile()
    assert isinstance(spec, ViewSpec)
    assert spec.feature_names == ["avg_amount_30d", "count_1d"]
    assert (spec.version, spec.ttl_ms) == (3, 86_400_000)
    assert (spec.out_of_orderness_ms, spec.allowed_lateness_ms) == (30_000, 3_600_000)
    assert spec.tags == ("finance", "pii")
    assert spec.entity_key == "user_id" and spec.key_field is None and spec.source_key_field == "user_id"
    assert ViewSpec.from_dict(spec.to_dict()) == spec


def test_key_mapping_reads_the_key_from_another_field(schema_path: Path) -> None:
    source = Source("p", topic="p", schema=schema_path, event_time="ts", keys={"user_id": "customer"})
    spec = view(source, Entity("user", "user_id")).compile()
    assert (spec.entity_key, spec.key_field, spec.source_key_field) == ("user_id", "customer", "customer")
    assert "key_field" in spec.to_dict()
    assert ViewSpec.from_dict(spec.to_dict()) == spec


def test_row_logic_lands_in_the_spec_in_definition_order(schema_path: Path, user: Entity) -> None:
    source = Source(
        "p", topic="p", schema=schema_path, event_time="ts",
        derived={"z_eur": "amount * 0.9", "a_big": "1 if z_eur > 100 else 0"}, filter="a_big == 1 or currency == 'EUR'",
    )
    spec = view(source, user, Aggregation("a_big", "sum", [DAY]), Aggregation("z_eur", "max", [DAY])).compile()
    assert spec.derived == (("z_eur", "amount * 0.9"), ("a_big", "1 if z_eur > 100 else 0"))
    assert spec.filter == "a_big == 1 or currency == 'EUR'"
    assert spec.input_columns == ["a_big", "z_eur"]


@pytest.mark.parametrize(
    ("aggregation", "message"),
    [
        (
            Aggregation("amout", "avg", [DAY]),
            "avg column 'amout' is not a schema field or derived column (did you mean 'amount'?)",
        ),
        (
            Aggregation("currency", "avg", [DAY]),
            "aggregation avg(currency) of view payments_view needs a numeric column; currency is a string: "
            "aggregate a long, int, float or double field, or a derived column that is always a number",
        ),
        (Aggregation("flagged", "sum", [DAY]), "flagged is a boolean: aggregate a long, int, float or double field, "
         "or a derived column such as '1 if flagged else 0'"),
        (Aggregation("kind", "max", [DAY]), "max(kind) of view payments_view needs a numeric column; kind is a string (Avro enum test.Kind)"),
        (Aggregation("blob", "last", [DAY]), "last(blob) of view payments_view needs a numeric column; blob is bytes"),
        (Aggregation("currency", "count_distinct", [DAY]), "count_distinct(currency) of view payments_view needs a numeric column"),
        (Aggregation("kind", "approx_count_distinct", [DAY]), "approx_count_distinct(kind) of view payments_view needs a numeric"),
    ],
)
def test_columns_are_checked_against_the_avro_schema(
    source: Source, user: Entity, aggregation: Aggregation, message: str
) -> None:
    assert message in problems(view(source, user, aggregation))


def test_count_distinct_of_numbers_and_nullable_numbers_aggregate(source: Source, user: Entity) -> None:
    aggregations = (Aggregation("customer", "count_distinct", [DAY]), Aggregation("qty", "sum", [DAY]))
    spec = view(source, user, *aggregations).compile()
    assert spec.feature_names == ["count_distinct_customer_1d", "sum_qty_1d"]


def test_derived_columns_aggregate_when_the_checker_types_them_as_numbers(schema_path: Path, user: Entity) -> None:
    derived = {"is_eur": "currency == 'EUR'", "eur": "1 if is_eur else 0", "mixed": "qty if is_eur else amount",
               "either": "qty if is_eur else currency", "nothing": "None"}
    source = Source("p", topic="p", schema=schema_path, event_time="ts", derived=derived)
    assert view(source, user, Aggregation("eur", "sum", [DAY]), Aggregation("mixed", "max", [DAY])).compile()
    message = problems(view(source, user, *(Aggregation(c, "sum", [DAY]) for c in ("is_eur", "either", "nothing"))))
    assert "sum(is_eur) of view payments_view needs a numeric column; is_eur is a boolean" in message
    assert "'1 if is_eur else 0'" in message
    assert "either is a derived column that is not always a number (its type depends on the event)" in message
    assert "nothing is always null" in message


def test_a_failed_row_logic_check_is_reported_once(schema_path: Path, user: Entity) -> None:
    source = Source("p", topic="p", schema=schema_path, event_time="ts", derived={"x": "price * 2"})
    message = problems(view(source, user, Aggregation("x", "sum", [DAY])))
    assert "has 1 problem(s)" in message and "unknown column 'price'" in message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter": "amout > 0"}, "source p: filter \"amout > 0\": unknown column 'amout' (did you mean 'amount'?)"),
        ({"derived": {"x": "price * 2"}}, "derived column 'x' \"price * 2\": unknown column 'price'"),
        ({"derived": {"amount": "amount * 2"}}, "derived column 'amount' would overwrite a source field"),
        ({"filter": "amount.real > 0"}, "attribute access is not part of the language ('.real')"),
        ({"filter": "currency.startswith('E')"}, "attribute access is not part of the language; use startswith(currency, ...)"),
        ({"filter": "amount + 1"}, 'filter "amount + 1" must be a boolean, but it is always a double'),
        ({"derived": {"x": "currency * 2"}}, "'*' needs numbers, but this is always string * long"),
        ({"event_time": "when"}, "event_time field 'when' is not a field of the schema"),
        ({"event_time": "ts_int"}, "event_time field 'ts_int' is int; it must be a long of epoch milliseconds"),
        ({"keys": {"user_id": "nope"}}, "key field for entity key 'user_id' 'nope' is not a field of the schema"),
        ({"keys": {"user_id": "amount"}}, "key field 'amount' is double; keys must be strings, ints or longs"),
        ({"keys": {"account": "user_id"}}, "keys maps ['account'], which entity user lacks"),
    ],
)
def test_source_problems_say_what_to_fix(schema_path: Path, user: Entity, kwargs: dict, message: str) -> None:
    source = Source("p", topic="p", schema=schema_path, **{"event_time": "ts", **kwargs})
    assert message in problems(view(source, user))


def test_duplicate_feature_names_point_at_name_override(source: Source, user: Entity) -> None:
    twins = (Aggregation("amount", "sum", [DAY]), Aggregation("amount", "sum", [Window("1d", hop="2h")]))
    message = problems(view(source, user, *twins))
    assert "two aggregations produce the feature 'sum_amount_1d' (sum and sum); give one of them name=..." in message


def test_every_problem_is_reported_at_once(source: Source, user: Entity) -> None:
    wrong = (Aggregation("nope", "avg", [DAY]), Aggregation("currency", "sum", [DAY]))
    message = problems(view(source, user, *wrong, ttl="0d"))
    assert message.startswith("feature view payments_view (version 1) has 3 problem(s):")
    assert "ttl: duration '0d' must be positive" in message


def test_composite_entity_keys_are_refused_until_specs_support_them(source: Source) -> None:
    message = problems(view(source, Entity("pair", keys=("user_id", "currency"))))
    assert "compiled views support exactly one key column" in message


def test_schema_problems_are_spec_errors(tmp_path: Path, user: Entity) -> None:
    missing = Source("p", topic="p", schema=tmp_path / "nope.avsc", event_time="ts")
    assert "cannot read Avro schema" in str(pytest.raises(SpecError, view(missing, user).compile).value)
    bad = tmp_path / "bad.avsc"
    bad.write_text('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}')
    source = Source("p", topic="p", schema=bad, event_time="ts")
    assert "is not a valid Avro schema" in str(pytest.raises(SpecError, view(source, user).compile).value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "my view"}, "feature view name 'my view' must be an identifier"),
        ({"entity": "user"}, "entity must be an Entity"),
        ({"aggregations": []}, "aggregations must be a non-empty list of Aggregation"),
        ({"tags": "pii"}, "tags must be a list of non-empty strings"),
        ({"version": 0}, "version must be an integer >= 1"),
    ],
)
def test_structural_errors_are_raised_at_definition(source: Source, user: Entity, kwargs: dict, message: str) -> None:
    base = {"name": "v", "entity": user, "source": source, "ttl": "1d", "aggregations": [Aggregation("amount", "sum", [DAY])]}
    with pytest.raises(SpecError) as err:
        FeatureView(**{**base, **kwargs})
    assert message in str(err.value)


def test_entities_and_sources_check_their_names(schema_path: Path) -> None:
    with pytest.raises(SpecError, match="entity name 'a user' must be an identifier"):
        Entity("a user", "user_id")
    with pytest.raises(SpecError, match="keys"):
        Entity("user", ())
    with pytest.raises(SpecError, match="topic must be a non-empty string"):
        Source("s", topic=" ", schema=schema_path, event_time="ts")


def test_pii_is_a_tag(source: Source, user: Entity) -> None:
    assert view(source, user, tags=["pii"]).pii
    assert not view(source, user).pii
