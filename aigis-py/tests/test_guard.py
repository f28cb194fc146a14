"""aigis.guard: verdicts, policies in every accepted form, and the error classes."""

import json

import pytest

import aigis


def test_allows_a_query_and_adds_the_limit():
    v = aigis.guard("select name from customers")
    assert v.allowed and bool(v)
    assert v.sql == "SELECT name FROM customers LIMIT 1000"
    assert v.violations == []
    assert [n.code for n in v.notes] == ["limit_added"]


def test_max_rows_clamps_a_larger_limit_and_keeps_a_smaller_one():
    assert aigis.guard("SELECT a FROM t LIMIT 5000", max_rows=50).sql == "SELECT a FROM t LIMIT 50"
    assert [n.code for n in aigis.guard("SELECT a FROM t LIMIT 5000", max_rows=50).notes] == ["limit_clamped"]
    assert aigis.guard("SELECT a FROM t LIMIT 5", max_rows=50).sql == "SELECT a FROM t LIMIT 5"


@pytest.mark.parametrize(
    "sql, code",
    [
        ("SELECT 1; DROP TABLE customers", "multiple_statements"),
        ("DELETE FROM customers", "not_a_query"),
        ("UPDATE customers SET name = 'x'", "not_a_query"),
        ("SELECT * INTO backup FROM customers", "write_in_query"),
        ("SELEC name FROM customers", "parse_error"),
    ],
)
def test_rejections_carry_typed_violations(sql, code):
    v = aigis.guard(sql)
    assert not v.allowed and not bool(v)
    assert v.sql is None
    assert code in [x.code for x in v.violations]
    assert all(x.message for x in v.violations)


def test_writable_cte_is_rejected_in_postgres():
    v = aigis.guard("WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", dialect="postgres")
    assert not v.allowed


def test_to_dict_is_the_core_json():
    v = aigis.guard("SELECT 1; SELECT 2")
    d = v.to_dict()
    assert d == json.loads(v.to_json())
    assert d["allowed"] is False and d["sql"] is None
    assert d["violations"] == [x.to_dict() for x in v.violations]
    assert {"allowed", "sql", "violations", "notes", "tables"} <= set(d)


POLICY = {"dialect": "postgres", "max_rows": 25}
POLICY_TOML = 'dialect = "postgres"\nmax_rows = 25\n'


@pytest.fixture(params=["dict", "json", "toml", "json_file", "toml_file", "pathlib"])
def policy(request, tmp_path):
    if request.param == "dict":
        return POLICY
    if request.param == "json":
        return json.dumps(POLICY)
    if request.param == "toml":
        return POLICY_TOML
    if request.param == "json_file":
        (tmp_path / "p.json").write_text(json.dumps(POLICY))
        return str(tmp_path / "p.json")
    (tmp_path / "p.toml").write_text(POLICY_TOML)
    return str(tmp_path / "p.toml") if request.param == "toml_file" else tmp_path / "p.toml"


def test_policy_in_every_form_gives_the_same_verdicts(policy):
    # `ILIKE` parses only in the PostgreSQL dialect: the policy's dialect is in force.
    v = aigis.guard("SELECT name FROM customers WHERE name ILIKE 'a%' LIMIT 500", policy=policy)
    assert v.allowed, v.violations
    assert v.sql == "SELECT name FROM customers WHERE name ILIKE 'a%' LIMIT 25"
    assert aigis.guard("DROP TABLE customers", policy=policy).violations[0].code == "not_a_query"


def test_explicit_arguments_override_the_policy():
    v = aigis.guard("SELECT a FROM t", policy=POLICY, max_rows=7)
    assert v.sql == "SELECT a FROM t LIMIT 7"
    assert aigis.guard("SELECT a FROM t", policy=POLICY, dialect="mysql").sql == "SELECT a FROM t LIMIT 25"


def test_invalid_policy_raises_config_error():
    with pytest.raises(aigis.ConfigError) as e:
        aigis.guard("SELECT 1", policy={"dialect": "postgres", "no_such_rule": True})
    assert e.value.code == "config"
    assert isinstance(e.value, aigis.AigisError)
    assert "no_such_rule" in str(e.value)
    with pytest.raises(aigis.ConfigError):
        aigis.guard("SELECT 1", policy="this is = not [valid toml")
    with pytest.raises(aigis.ConfigError):
        aigis.guard("SELECT 1", policy=42)


def test_unknown_dialect_raises_invalid_input():
    with pytest.raises(aigis.InvalidInputError) as e:
        aigis.guard("SELECT 1", dialect="oracle")
    assert e.value.code == "invalid_input"
    assert "oracle" in e.value.message


def test_event_schema_names_every_event_type():
    schema = json.dumps(aigis.event_schema())
    for t in ["meta", "status", "sql", "guard", "rows", "delta", "chart", "error", "done"]:
        assert f'"{t}"' in schema


def test_exception_hierarchy():
    for cls in [aigis.ConfigError, aigis.GuardRejected, aigis.DatabaseError, aigis.LlmError, aigis.AigisTimeout,
                aigis.BudgetExhausted, aigis.AigisCancelled, aigis.UnsupportedError]:
        assert issubclass(cls, aigis.AigisError)
    assert issubclass(aigis.AigisError, Exception)


def test_policy_that_cannot_compile_raises_config_error():
    bad = {"dialect": "sqlite", "row_scopes": {"orders": "store_id IN (((:store_ids"}}
    with pytest.raises(aigis.ConfigError) as e:
        aigis.guard("SELECT 1", policy=bad)
    assert e.value.code == "config" and "orders" in str(e.value)


def test_verdict_lists_tables_and_columns():
    v = aigis.guard("SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id")
    assert sorted(v.tables) == ["customers", "orders"]
    assert v.columns and all(isinstance(c, str) for c in v.columns)
