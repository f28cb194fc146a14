//! One test per guard rule, the attack first, then the legitimate neighbour it must not block.
//! Deep and huge inputs run on the default 2 MiB test-thread stack: they must end in a clean
//! rejection, never a stack overflow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigis_core::guard::{ColumnAction, ParamType};
use aigis_core::{Dialect, Guard, GuardContext, Policy, Verdict};

fn check(policy: &Policy, sql: &str) -> Verdict {
    Guard::try_new(policy.clone()).unwrap().check(sql, &GuardContext::default())
}

fn codes(v: &Verdict) -> Vec<String> {
    v.violations.iter().map(|x| x.code.clone()).collect()
}

fn rejected_with(policy: &Policy, sql: &str, code: &str) {
    let v = check(policy, sql);
    assert!(!v.allowed && codes(&v).iter().any(|c| c == code), "{sql}: expected {code}, got {:?} / {:?}", v.violations, v.sql);
    assert!(v.violations.iter().all(|x| !x.message.is_empty()));
}

fn shop(dialect: Dialect) -> Policy {
    let mut p = Policy::for_dialect(dialect);
    p.columns.entry("customers".into()).or_default().insert("ssn".into(), ColumnAction::Block);
    p.columns.entry("customers".into()).or_default().insert("email".into(), ColumnAction::Mask);
    p.row_scopes.insert("orders".into(), "store_id IN (:store_ids)".into());
    p.params.insert("store_ids".into(), ParamType::IntegerList);
    p
}

fn ctx(store_ids: serde_json::Value) -> GuardContext {
    let mut c = GuardContext::default();
    c.params.insert("store_ids".into(), store_ids);
    c
}

#[test]
fn fifty_thousand_term_or_chain_is_rejected_cleanly() {
    let chain = format!("SELECT 1 FROM t WHERE {}", vec!["a = 1"; 50_000].join(" OR "));
    let mut p = Policy::for_dialect(Dialect::Postgres);
    rejected_with(&p, &chain, "too_complex"); // by size
    p.limits.max_input_bytes = 10_000_000;
    rejected_with(&p, &chain, "too_complex"); // by token count
    p.limits.max_tokens = 10_000_000;
    rejected_with(&p, &chain, "too_complex"); // by estimated depth
}

#[test]
fn hundred_nested_subqueries_are_rejected_cleanly() {
    let nested = format!("{}SELECT 1{}", "SELECT * FROM (".repeat(100), ") t".repeat(100));
    rejected_with(&Policy::for_dialect(Dialect::Postgres), &nested, "too_complex");
    let parens = format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100));
    rejected_with(&Policy::for_dialect(Dialect::Mysql), &parens, "too_complex");
    let in_subqueries = format!("SELECT 1 FROM t WHERE a IN {}SELECT 1{}", "(SELECT a FROM t WHERE a IN ".repeat(100), ")".repeat(100));
    rejected_with(&Policy::for_dialect(Dialect::Sqlite), &in_subqueries, "too_complex");
    let not_chain = format!("SELECT 1 FROM t WHERE {} a", "NOT ".repeat(5000));
    rejected_with(&Policy::for_dialect(Dialect::Sqlite), &not_chain, "too_complex");
    // Ordinary nesting still passes.
    let ok = format!("{}SELECT 1 AS x{}", "SELECT * FROM (".repeat(5), ") t".repeat(5));
    assert!(check(&Policy::for_dialect(Dialect::Postgres), &ok).allowed);
}

#[test]
fn one_megabyte_input_is_rejected_cleanly() {
    let big = format!("SELECT '{}'", "x".repeat(1 << 20));
    rejected_with(&Policy::default(), &big, "too_complex");
    let garbage = "((((".repeat(1 << 18);
    rejected_with(&Policy::default(), &garbage, "too_complex");
}

#[test]
fn joins_beyond_the_limit_are_too_complex() {
    let joins: String = (0..30).map(|i| format!(" JOIN t{i} ON t{i}.id = t.id")).collect();
    rejected_with(&Policy::default(), &format!("SELECT t.id FROM t{joins}"), "too_complex");
    assert!(check(&Policy::default(), "SELECT t.id FROM t JOIN u ON u.id = t.id").allowed);
}

#[test]
fn row_scope_wraps_every_reference_and_binds_typed_literals() {
    let g = Guard::try_new(shop(Dialect::Postgres)).unwrap();
    let v = g.check("SELECT o.id FROM orders o WHERE o.store_id = 9 OR 1 = 1", &ctx(serde_json::json!([1, 2])));
    assert_eq!(
        v.sql.as_deref(),
        Some("SELECT o.id FROM (SELECT * FROM orders WHERE store_id IN (1, 2)) o WHERE o.store_id = 9 OR 1 = 1 LIMIT 1000")
    );
    assert!(v.notes.iter().any(|n| n.code == "scope_applied"));
    // Unaliased, in a CTE body, a subquery and both sides of a UNION.
    let v = g.check(
        "WITH x AS (SELECT store_id FROM orders) SELECT store_id FROM x UNION SELECT store_id FROM orders WHERE id IN (SELECT id FROM orders)",
        &ctx(serde_json::json!([3])),
    );
    let sql = v.sql.unwrap_or_default();
    assert_eq!(sql.matches("(SELECT * FROM orders WHERE store_id IN (3))").count(), 3, "{sql}");
}

#[test]
fn cte_named_like_the_scoped_table_cannot_hide_it() {
    let g = Guard::try_new(shop(Dialect::Postgres)).unwrap();
    let v = g.check("WITH orders AS (SELECT * FROM orders) SELECT * FROM orders", &ctx(serde_json::json!([1])));
    assert_eq!(codes(&v), ["cte_shadows_table"]);
    // A CTE reference is not a base table: no scope is (wrongly) applied to it, but the base
    // table inside its body is scoped.
    let v = g.check("WITH mine AS (SELECT * FROM orders) SELECT * FROM mine", &ctx(serde_json::json!([1])));
    assert_eq!(
        v.sql.as_deref(),
        Some("WITH mine AS (SELECT * FROM (SELECT * FROM orders WHERE store_id IN (1)) AS orders) SELECT * FROM mine LIMIT 1000")
    );
}

#[test]
fn scope_parameters_must_be_present_and_well_typed() {
    let g = Guard::try_new(shop(Dialect::Sqlite)).unwrap();
    let sql = "SELECT id FROM orders";
    assert_eq!(codes(&g.check(sql, &GuardContext::default())), ["scope_param_missing"]);
    assert_eq!(codes(&g.check(sql, &ctx(serde_json::json!(["1 OR 1=1"])))), ["scope_param_type"]);
    assert_eq!(codes(&g.check(sql, &ctx(serde_json::json!({"a": 1})))), ["scope_param_type"]);
    assert_eq!(codes(&g.check(sql, &ctx(serde_json::json!([1.5])))), ["scope_param_type"]);
    // An empty list matches no rows rather than producing invalid SQL.
    let v = g.check(sql, &ctx(serde_json::json!([])));
    assert!(v.sql.unwrap_or_default().contains("WHERE 1 <> 1"));
    // Undeclared text parameters are bound as quoted literals, never spliced.
    let mut p = Policy::for_dialect(Dialect::Sqlite);
    p.row_scopes.insert("orders".into(), "region = :region".into());
    let mut c = GuardContext::default();
    c.params.insert("region".into(), serde_json::json!("x' OR '1'='1"));
    let v = Guard::try_new(p).unwrap().check(sql, &c);
    assert!(v.sql.unwrap_or_default().contains("region = 'x'' OR ''1''=''1'"));
}

#[test]
fn mysql_backslashes_cannot_shift_string_boundaries() {
    // 'a\\' is the string a\ in MySQL; rendered naively as 'a\' the next quote would end it.
    let v = check(&Policy::for_dialect(Dialect::Mysql), r"SELECT 'a\\', ' OR 1=1 -- '");
    assert_eq!(v.sql.as_deref(), Some(r"SELECT 'a\\', ' OR 1=1 -- ' LIMIT 1000"));
    let again = check(&Policy::for_dialect(Dialect::Mysql), v.sql.as_deref().unwrap_or_default());
    assert_eq!(again.sql, v.sql);
}

#[test]
fn masked_columns_keep_their_name_and_lose_their_value() {
    let g = Guard::try_new(shop(Dialect::Postgres)).unwrap();
    let v = g.check("SELECT name, email FROM customers WHERE email LIKE '%@x.com' ORDER BY email", &GuardContext::default());
    assert_eq!(
        v.sql.as_deref(),
        Some(
            "SELECT name, CAST(NULL AS TEXT) AS email FROM customers WHERE CAST(NULL AS TEXT) LIKE '%@x.com' ORDER BY CAST(NULL AS TEXT) LIMIT 1000"
        )
    );
    let mut p = shop(Dialect::Postgres);
    p.mask_value = Some("***".into());
    let v = check(&p, "SELECT c.email FROM customers c");
    assert_eq!(v.sql.as_deref(), Some("SELECT CAST('***' AS TEXT) AS email FROM customers c LIMIT 1000"));
    rejected_with(&p, "SELECT * FROM (SELECT email FROM customers) x JOIN customers c USING (id)", "column_blocked");
}

#[test]
fn pii_columns_from_the_dictionary_follow_the_default_action() {
    let p = Policy::for_dialect(Dialect::Sqlite).with_pii_columns([("people", "phone")]);
    assert!(check(&p, "SELECT phone FROM people").notes.iter().any(|n| n.code == "column_masked"));
    let mut p = Policy::for_dialect(Dialect::Sqlite);
    p.pii_action = ColumnAction::Block;
    let p = p.with_pii_columns([("people", "phone")]);
    rejected_with(&p, "SELECT phone FROM people", "column_blocked");
}

#[test]
fn table_names_fold_like_the_dialect() {
    let mut p = Policy::for_dialect(Dialect::Postgres);
    p.tables.deny = vec!["secrets".into(), "\"Audit\"".into()];
    rejected_with(&p, "SELECT * FROM SECRETS", "table_not_allowed");
    rejected_with(&p, "SELECT * FROM \"Audit\"", "table_not_allowed");
    // Quoted names are exact in PostgreSQL: "SECRETS" is another table, "audit" too.
    assert!(check(&p, "SELECT * FROM \"SECRETS\"").allowed);
    assert!(check(&p, "SELECT * FROM audit").allowed);
    // MySQL and SQLite compare case-insensitively, quoted or not.
    p.dialect = Dialect::Mysql;
    rejected_with(&p, "SELECT * FROM `SECRETS`", "table_not_allowed");
    rejected_with(&p, "SELECT * FROM AUDIT", "table_not_allowed");
}

#[test]
fn required_schema_and_views_only() {
    let mut p = Policy::for_dialect(Dialect::Postgres);
    p.tables.required_schema = Some("files".into());
    rejected_with(&p, "SELECT * FROM documents", "schema_required");
    rejected_with(&p, "SELECT * FROM public.documents", "schema_required");
    assert!(check(&p, "SELECT * FROM files.documents").allowed);

    let mut p = Policy::for_dialect(Dialect::Sqlite);
    p.tables.views_only = true;
    p.tables.views = vec!["v_sales".into()];
    rejected_with(&p, "SELECT * FROM sales", "table_not_allowed");
    assert!(check(&p, "SELECT * FROM v_sales").allowed);
    let mut c = GuardContext::default();
    c.views.insert("v_stock".into());
    assert!(Guard::new(p.clone()).check("SELECT * FROM v_stock", &c).allowed);
    assert!(!Guard::new(p).check("SELECT * FROM v_stock", &GuardContext::default()).allowed);
}

#[test]
fn function_allow_list_mode_covers_table_functions() {
    let mut p = Policy::for_dialect(Dialect::Postgres);
    p.functions.allow = Some(vec!["count".into(), "sum".into()]);
    rejected_with(&p, "SELECT upper(name) FROM t", "function_denied");
    rejected_with(&p, "SELECT * FROM generate_series(1, 10)", "function_denied");
    assert!(check(&p, "SELECT count(*), SUM(x) FROM t").allowed);
    p.functions.allow = None;
    p.functions.deny = vec!["costly".into()];
    rejected_with(&p, "SELECT app.COSTLY(1)", "function_denied");
}

#[test]
fn limits_are_added_and_clamped_in_every_form() {
    let pg = Policy::for_dialect(Dialect::Postgres);
    assert_eq!(check(&pg, "SELECT a FROM t LIMIT ALL").sql.as_deref(), Some("SELECT a FROM t LIMIT 1000"));
    assert_eq!(check(&pg, "SELECT a FROM t LIMIT 10 OFFSET 5").sql.as_deref(), Some("SELECT a FROM t LIMIT 10 OFFSET 5"));
    assert_eq!(
        check(&pg, "SELECT a FROM t FETCH FIRST 5000 ROWS ONLY").sql.as_deref(),
        Some("SELECT a FROM t FETCH FIRST 1000 ROWS ONLY")
    );
    assert_eq!(check(&pg, "SELECT a FROM t FETCH FIRST 5 ROWS ONLY").sql.as_deref(), Some("SELECT a FROM t FETCH FIRST 5 ROWS ONLY"));
    let my = Policy::for_dialect(Dialect::Mysql);
    assert_eq!(check(&my, "SELECT a FROM t LIMIT 5, 99999").sql.as_deref(), Some("SELECT a FROM t LIMIT 5, 1000"));
    assert_eq!(check(&my, "SELECT a FROM t LIMIT 5, 10").sql.as_deref(), Some("SELECT a FROM t LIMIT 5, 10"));
}

#[test]
fn recursive_ctes_only_when_allowed() {
    let sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r";
    let mut p = Policy::for_dialect(Dialect::Postgres);
    rejected_with(&p, sql, "recursive_cte");
    p.allow_recursive_cte = true;
    assert!(check(&p, sql).allowed);
}

#[test]
fn invalid_policies_are_reported_not_ignored() {
    let mut p = Policy::default();
    p.row_scopes.insert("orders".into(), "store_id IN (".into());
    assert!(Guard::try_new(p.clone()).is_err());
    assert_eq!(codes(&Guard::new(p).check("SELECT 1", &GuardContext::default())), ["policy_error"]);
}

#[test]
fn verdict_reports_tables_and_columns_read() {
    let v = check(&Policy::for_dialect(Dialect::Sqlite), "WITH x AS (SELECT a FROM t1) SELECT x.a, t2.b FROM x JOIN t2 ON t2.id = x.a");
    assert_eq!(v.tables, ["t1", "t2"]);
    assert!(v.columns.contains(&"t2.b".to_string()) && v.columns.contains(&"a".to_string()));
}
