"""Parsing: the whitelisted grammar is accepted, anything else is a SpecError that says what to fix."""

from __future__ import annotations

import ast
import builtins
import keyword
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skewless.expressions as expressions
from skewless.errors import SpecError
from skewless.expressions import BOOL, DOUBLE, FUNCTIONS, LONG, NUMBER, STRING, ExpressionError, parse_expression

COLUMNS = {"amount": DOUBLE, "currency": STRING, "qty": LONG, "note": None, "merchant_id": STRING}

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda s: not keyword.iskeyword(s))


@pytest.mark.parametrize(
    "source",
    [
        "amount > 0 and currency == 'EUR'",
        "amount * 1.1",
        "amount if currency == 'EUR' else amount * 0.9",
        "0 < amount <= 100",
        "currency in ('EUR', 'USD')",
        "currency not in ['GBP']",
        "note is None or note is not None",
        "not (amount > 5)",
        "-qty // 3 % 2",
        "round(abs(amount), 2) + max(qty, 1, 2) - min(qty, 0)",
        "lower(currency) + upper(currency)",
        "coalesce(note, 'n/a')",
        "len(currency) == 3 and int('5') + float('2.5') > 0 and str(qty) != ''",
        "startswith(merchant_id, 'x') or endswith(merchant_id, 'y')",
        "True or False",
        "note + 1 > 0",
    ],
)
def test_the_grammar_parses(source: str) -> None:
    parse_expression(source, columns=COLUMNS)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("merchant_id.startswith('x')", "attribute access is not part of the language; use startswith(merchant_id, ...)"),
        ("currency.lower()", "attribute access is not part of the language; use lower(currency)"),
        ("amount.real", "attribute access is not part of the language ('.real'); the functions are abs, coalesce,"),
        ("currency[0]", "subscripts like x[0] are not part of the language"),
        ("open('x')", "unknown function 'open'; use one of abs, coalesce,"),
        ("__import__('os')", "unknown function '__import__'"),
        ("(lambda: 1)()", "only named functions can be called"),
        ("lambda: 1", "Lambda is not part of the language"),
        ("[a for a in currency]", "ListComp is not part of the language"),
        ("amount ** 2", "operator Pow is not part of the language"),
        ("~qty", "operator ~ is not part of the language"),
        ("round(amount, ndigits=2)", "round() takes positional arguments only"),
        ("max(amount)", "max() takes 2 or more arguments, got 1"),
        ("abs()", "abs() takes 1 arguments, got 0"),
        ("amount is 1", "'is' is only allowed with None"),
        ("(amount, qty)", "a tuple or list literal is only allowed after 'in'"),
        ("b'x' == currency", "literal b'x' is not allowed"),
        ("amt > 0", "unknown column 'amt' (did you mean 'amount'?)"),
        ("abs > 0", "'abs' is a function; call it"),
        ("__class__", "names starting with '__' are reserved"),
        ("amount >", "is not a valid expression"),
        ("", "expected a non-empty expression string"),
        ("9223372036854775808", "integer literal 9223372036854775808 does not fit in 64 bits"),
        ("currency * 2", "'*' needs numbers, but this is always string * long"),
        ("currency + 1", "'+' adds two numbers or joins two strings, but this is always string + long"),
        ("-currency", "unary '-' needs a number, but this is always -(string)"),
        ("lower(amount)", "lower() needs a string, but this is always lower(double)"),
        ("None + 1", "but this is always null + long"),
        ("currency > 1", "'>' orders two numbers or two strings, but this is always string > long"),
        ("0 < amount < currency", "but this is always double < string"),
        ("currency == qty", "'==' compares values of one kind (numbers, strings or booleans)"),
        ("1 if qty else 0", "'if' needs a boolean (True or False), but this is always if(long)"),
    ],
)
def test_rejections_say_what_is_wrong(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse_expression(source, what="filter", columns=COLUMNS)
    assert message in str(err.value)
    assert isinstance(err.value, SpecError)
    if source:
        assert str(err.value).startswith("filter ")


def test_depth_and_length_are_bounded() -> None:
    with pytest.raises(SpecError, match="nested deeper than"):
        parse_expression("abs(" * 50 + "1" + ")" * 50)
    with pytest.raises(SpecError, match="nested deeper than"):
        parse_expression("-" * 100 + "1")
    with pytest.raises(SpecError, match="longer than"):
        parse_expression("1 + " * 600 + "1")


def test_static_types_follow_the_expression() -> None:
    assert parse_expression("amount * 2", columns=COLUMNS).type == DOUBLE
    assert parse_expression("qty * 2", columns=COLUMNS).type == LONG
    assert parse_expression("lower(currency)", columns=COLUMNS).type == STRING
    assert parse_expression("amount > 1", columns=COLUMNS).type == BOOL
    assert parse_expression("note", columns=COLUMNS).type is None
    assert parse_expression("amount if amount > 1 else 'x'", columns=COLUMNS).type is None
    assert parse_expression("note + 1", columns=COLUMNS).type == NUMBER  # a string would fail at run time


def test_fields_lists_what_the_expression_reads() -> None:
    assert parse_expression("amount > qty and lower(currency) == 'eur'").fields == {"amount", "qty", "currency"}


@given(name=identifiers.filter(lambda s: s not in FUNCTIONS), arg=st.sampled_from(["amount", "1", "'x'"]))
def test_calls_to_unknown_functions_are_refused(name: str, arg: str) -> None:
    with pytest.raises(SpecError, match="unknown function"):
        parse_expression(f"{name}({arg})", columns=COLUMNS)


@given(base=st.sampled_from(["amount", "currency", "'x'", "(1)", "abs(amount)", "(amount + 1)"]), attr=identifiers)
def test_attribute_access_is_refused(base: str, attr: str) -> None:
    with pytest.raises(SpecError, match="attribute access"):
        parse_expression(f"{base}.{attr}", columns=COLUMNS)


@given(core=identifiers)
def test_dunder_names_are_refused_even_without_a_column_list(core: str) -> None:
    for name in (f"__{core}__", f"__{core}"):
        with pytest.raises(SpecError, match="reserved"):
            parse_expression(f"{name} == 1")


@given(text=st.text(max_size=60))
@settings(max_examples=300)
def test_any_text_either_parses_or_is_a_spec_error(text: str) -> None:
    try:
        parse_expression(text, columns=COLUMNS)
    except SpecError:
        pass


def test_the_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(expressions.__file__).read_text())
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__", "getattr", "globals", "locals"}


def test_parsing_and_evaluating_run_with_eval_and_exec_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert flags & ast.PyCF_ONLY_AST, "expressions must never compile to bytecode"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    expr = parse_expression("amount * 2 if lower(currency) in ('eur', 'usd') else max(amount, 1)")
    assert expr.evaluate({"amount": 3, "currency": "EUR"}) == 6
    assert expr.evaluate({"amount": 0.5, "currency": "GBP"}) == 1
