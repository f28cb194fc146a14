//! Function deny-lists: the built-in per-dialect defaults and name normalisation.
//!
//! The built-in list is the union over all dialects: a MySQL `sleep` in a PostgreSQL query is
//! at best an error, and denying it everywhere keeps one policy portable.

use sqlparser::ast::{ObjectName, ObjectNamePart};

/// Exact names denied by default.
const DENIED: &[&str] = &[
    // PostgreSQL: sleeping, file and server access, settings, sequences, locks, backends.
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "set_config", "current_setting",
    "nextval", "setval", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_notify",
    "pg_rotate_logfile", "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_logdir_ls",
    "txid_current", "pg_current_xact_id", "pg_export_snapshot", "pg_logical_emit_message",
    // They run SQL given as text, out of the guard's sight.
    "ts_stat", "ts_rewrite",
    // MySQL / MariaDB.
    "sleep", "benchmark", "load_file", "get_lock", "release_lock", "release_all_locks", "is_free_lock",
    "is_used_lock", "extractvalue", "updatexml", "master_pos_wait", "source_pos_wait", "sys_exec", "sys_eval",
    "wait_for_executed_gtid_set", "name_const",
    // SQLite.
    "load_extension", "randomblob", "zeroblob", "readfile", "writefile", "edit", "fts3_tokenizer",
];

/// Name prefixes denied by default.
const DENIED_PREFIXES: &[&str] = &[
    "pg_sleep", "pg_read_", "pg_ls_", "lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_file_", "pg_get_",
    "pragma_", "pg_stat_",
];

/// Name suffixes denied by default (`query_to_xml`, `table_to_xmlschema`, ...: they run SQL).
const DENIED_SUFFIXES: &[&str] = &["_to_xml", "_to_xmlschema", "_to_xml_and_xmlschema"];

/// The normalised name of a function: last part, lower case.
pub(crate) fn normalise(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(id)) => id.value.to_lowercase(),
        Some(ObjectNamePart::Function(f)) => f.name.value.to_lowercase(),
        None => String::new(),
    }
}

/// Whether the built-in deny-list covers this normalised name.
pub(crate) fn builtin_denied(name: &str) -> bool {
    DENIED.contains(&name)
        || DENIED_PREFIXES.iter().any(|p| name.starts_with(p))
        || DENIED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denies_the_issue_list_and_keeps_analytics() {
        for f in ["pg_sleep", "pg_sleep_for", "lo_import", "dblink_exec", "query_to_xml", "table_to_xmlschema", "pg_advisory_lock", "sleep", "benchmark", "updatexml", "load_extension", "pragma_table_info"] {
            assert!(builtin_denied(f), "{f}");
        }
        for f in ["count", "sum", "date_trunc", "strftime", "date_format", "row_number", "coalesce", "lower"] {
            assert!(!builtin_denied(f), "{f}");
        }
    }
}
