//! Fuzzes the whole guard: any input, any dialect, a policy with scopes, masks and blocks.
//! Properties: it never panics; whatever it allows, a policy without row scopes allows again
//! unchanged (idempotence); and, built with debug assertions (`cargo fuzz ... -a`), every tree
//! the guard renders without a re-parse (a plain tree) does re-parse to itself.
#![no_main]

use aigis_core::guard::{ColumnAction, ParamType};
use aigis_core::{Dialect, Guard, GuardContext, Policy};
use libfuzzer_sys::fuzz_target;

fn policy(dialect: Dialect, scoped: bool) -> Policy {
    let mut p = Policy::for_dialect(dialect);
    p.columns.entry("customers".into()).or_default().insert("ssn".into(), ColumnAction::Block);
    p.columns.entry("customers".into()).or_default().insert("email".into(), ColumnAction::Mask);
    p.tables.deny = vec!["staff_salaries".into()];
    if scoped {
        p.row_scopes.insert("orders".into(), "store_id IN (:store_ids)".into());
        p.params.insert("store_ids".into(), ParamType::IntegerList);
    }
    p
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let dialect = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Generic][usize::from(selector % 4)];
    let sql = String::from_utf8_lossy(rest);
    let mut ctx = GuardContext::default();
    ctx.params.insert("store_ids".into(), serde_json::json!([1, 2]));
    let _ = Guard::new(policy(dialect, true)).check(&sql, &ctx);
    let plain = Guard::new(policy(dialect, false));
    let first = plain.check(&sql, &ctx);
    if let Some(out) = first.sql {
        let second = plain.check(&out, &ctx);
        assert_eq!(second.sql.as_deref(), Some(out.as_str()), "not idempotent: {sql:?}");
    }
});
