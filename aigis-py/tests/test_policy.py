"""The guard from Python with a full policy (tables, columns, row scopes, functions, catalogs),
and the same policy in force when the assistant answers over a real SQLite database."""

import json
import sqlite3

import pytest

import aigis

POLICY_TOML = """
dialect = "sqlite"
max_rows = 100
mask_value = "***"

[tables]
deny = ["staff"]

[columns.customers]
email = "mask"
name = "block"

[row_scopes]
orders = "store_id IN (:store_ids)"

[params]
store_ids = "integer_list"
"""

POLICY = {
    "dialect": "sqlite",
    "max_rows": 100,
    "mask_value": "***",
    "tables": {"deny": ["staff"]},
    "columns": {"customers": {"email": "mask", "name": "block"}},
    "row_scopes": {"orders": "store_id IN (:store_ids)"},
    "params": {"store_ids": "integer_list"},
}

SCOPE = {"store_ids": [1, 2]}


QUERIES = [
    "SELECT * FROM orders",
    "SELECT o.order_id FROM orders o WHERE 1 = 1 OR o.store_id = 3",
    "SELECT customer_id, email FROM customers",
    "SELECT name FROM customers",
    "SELECT * FROM customers",
    "SELECT * FROM staff",
    "SELECT load_extension('evil.so')",
    "SELECT name, sql FROM sqlite_master",
    "SELECT store_id, COUNT(*) FROM orders GROUP BY store_id",
    "WITH o AS (SELECT * FROM orders) SELECT COUNT(*) FROM o",
    "DELETE FROM orders",
]


def test_policy_as_toml_file_json_string_and_dict_gives_identical_verdicts(tmp_path):
    (tmp_path / "policy.toml").write_text(POLICY_TOML)
    for sql in QUERIES:
        from_file = aigis.guard(sql, policy=str(tmp_path / "policy.toml"), params=SCOPE).to_dict()
        from_json = aigis.guard(sql, policy=json.dumps(POLICY), params=SCOPE).to_dict()
        from_dict = aigis.guard(sql, policy=POLICY, params=SCOPE).to_dict()
        assert from_file == from_json == from_dict, sql


def codes(sql, **kw):
    return [v.code for v in aigis.guard(sql, policy=POLICY, params=SCOPE, **kw).violations]


def test_policy_rules_reject_with_typed_codes():
    assert "table_not_allowed" in codes("SELECT * FROM staff")
    assert "column_blocked" in codes("SELECT name FROM customers")
    assert "column_blocked" in codes("SELECT * FROM customers")
    assert "column_blocked" in codes("SELECT customer_id FROM customers ORDER BY name")
    assert "function_denied" in codes("SELECT load_extension('evil.so')")
    assert "catalog_access" in codes("SELECT name, sql FROM sqlite_master")


def test_row_scope_needs_its_parameters():
    v = aigis.guard("SELECT * FROM orders", policy=POLICY)
    assert not v.allowed
    assert any("store_ids" in x.message for x in v.violations)


def test_row_scope_and_mask_hold_on_the_real_database(shop_db):
    db = sqlite3.connect(shop_db)
    for sql in [
        "SELECT store_id FROM orders",
        "SELECT o.store_id FROM orders o WHERE 1 = 1 OR o.store_id = 3",
        "SELECT store_id FROM orders UNION ALL SELECT store_id FROM orders WHERE store_id = 3",
        "SELECT (SELECT MAX(store_id) FROM orders) AS store_id",
    ]:
        v = aigis.guard(sql, policy=POLICY, params=SCOPE)
        assert v.allowed, (sql, v.violations)
        assert "scope_applied" in [n.code for n in v.notes]
        rows = db.execute(v.sql).fetchall()
        assert rows and {r[0] for r in rows} <= {1, 2}, (sql, v.sql)

    v = aigis.guard("SELECT customer_id, email FROM customers", policy=POLICY, params=SCOPE)
    assert v.allowed and "column_masked" in [n.code for n in v.notes]
    assert {r[1] for r in db.execute(v.sql).fetchall()} == {"***"}


def test_assistant_enforces_the_same_policy(make_assistant, llm):
    llm.script("SELECT order_id, store_id FROM orders WHERE 1 = 1 OR store_id = 3", "Scoped orders.")
    assistant = make_assistant(policy=POLICY_TOML, charts=False)
    events = list(assistant.stream("List every order", params=SCOPE))
    assert [e["type"] for e in events][-1] == "done", events[-1]
    rows = next(e for e in events if e["type"] == "rows")
    assert rows["row_count"] > 0
    assert {r[1] for r in rows["rows"]} <= {1, 2}
    guard = next(e for e in events if e["type"] == "guard")
    assert guard["sql"] == aigis.guard(
        "SELECT order_id, store_id FROM orders WHERE 1 = 1 OR store_id = 3", policy=POLICY, params=SCOPE
    ).sql

    llm.script("SELECT name FROM customers", "SELECT name FROM customers", "SELECT name FROM customers")
    with pytest.raises(aigis.GuardRejected):
        assistant.ask("Customer names?", params=SCOPE)


def _aigis_cli():
    """The `aigis` binary built from this workspace, if it is there and knows `guard --policy`."""
    import os
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[2]
    for candidate in [os.environ.get("AIGIS_BIN"), root / "target/debug/aigis", root / "target/release/aigis"]:
        if candidate and pathlib.Path(candidate).is_file():
            usage = subprocess.run([str(candidate), "guard", "--help"], capture_output=True, text=True)
            if usage.returncode == 0 and "--policy" in usage.stdout:
                return str(candidate)
    return None


def test_python_and_the_cli_give_the_same_verdicts(tmp_path):
    import subprocess

    cli = _aigis_cli()
    if cli is None:
        pytest.skip("no `aigis` binary with `guard --policy` built in target/ (cargo build -p aigis-http)")
    policy = {k: v for k, v in POLICY.items() if k not in ("row_scopes", "params")}
    (tmp_path / "policy.json").write_text(json.dumps(policy))
    out = subprocess.run(
        [cli, "guard", "--dialect", "sqlite", "--policy", str(tmp_path / "policy.json"), "--json"],
        input="\n".join(QUERIES) + "\n", capture_output=True, text=True,
    )
    assert out.returncode == 1, out.stderr  # 1: some statements were rejected
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == len(QUERIES)
    for sql, from_cli in zip(QUERIES, lines):
        from_python = aigis.guard(sql, policy=policy).to_dict()
        assert {k: from_cli.get(k) for k in from_python} == from_python, sql
