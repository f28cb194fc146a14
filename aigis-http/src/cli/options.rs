//! Turning command-line options into core configuration: the guard policy and execution limits.

use std::time::Duration;

use aigis_core::{Dialect, Error, ExecLimits, Policy, Result};

use super::RunArgs;

/// The `--policy` file's policy (TOML, or JSON by extension; see `aigis_core::guard::policy`)
/// or the default, with the dialect (when given) and `--max-rows` applied.
pub fn policy(file: Option<&std::path::Path>, max_rows: Option<u64>, dialect: Option<Dialect>) -> Result<Policy> {
    let mut policy = match file {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    if let Some(dialect) = dialect {
        policy.dialect = dialect;
    }
    if let Some(n) = max_rows {
        if n == 0 {
            return Err(Error::InvalidInput("--max-rows must be at least 1".into()));
        }
        policy.max_rows = n;
    }
    Ok(policy)
}

/// The policy of a command that runs SQL, for the connection's dialect.
pub fn run_policy(run: &RunArgs, dialect: Dialect) -> Result<Policy> {
    policy(run.policy.as_deref(), run.max_rows, Some(dialect))
}

/// Execution limits from `--max-rows` and `--timeout-ms` (defaults elsewhere).
pub fn exec_limits(run: &RunArgs) -> Result<ExecLimits> {
    let mut limits = ExecLimits::default();
    if let Some(n) = run.max_rows {
        if n == 0 {
            return Err(Error::InvalidInput("--max-rows must be at least 1".into()));
        }
        limits.max_rows = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(ms) = run.timeout_ms {
        if ms == 0 {
            return Err(Error::InvalidInput("--timeout-ms must be at least 1".into()));
        }
        limits.timeout = Duration::from_millis(ms);
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_rows_flag_overrides_the_file_and_sets_the_row_cap() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "max_rows = 50\ndialect = \"mysql\"\n").unwrap();
        let run = RunArgs { max_rows: Some(3), timeout_ms: Some(250), policy: Some(file.clone()) };
        let p = run_policy(&run, Dialect::Sqlite).unwrap();
        assert_eq!((p.max_rows, p.dialect), (3, Dialect::Sqlite), "the connection's dialect wins");
        let from_file = policy(Some(&file), None, None).unwrap();
        assert_eq!((from_file.max_rows, from_file.dialect), (50, Dialect::Mysql));
        let l = exec_limits(&run).unwrap();
        assert_eq!((l.max_rows, l.timeout), (3, Duration::from_millis(250)));
        let zero = RunArgs { max_rows: Some(0), ..RunArgs::default() };
        assert!(exec_limits(&zero).is_err());
        assert!(run_policy(&zero, Dialect::Sqlite).is_err());
    }
}
