//! `aigis guard`: verdicts without a database, for one statement or one per stdin line.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use aigis_core::{Guard, GuardContext, Result, Verdict};

use super::GuardArgs;
use super::options::policy;
use super::render::verdict_line;

/// Checks the SQL argument, or every line of stdin, printing one verdict per statement.
pub async fn run(args: GuardArgs) -> Result<ExitCode> {
    let guard = Guard::new(policy(args.policy.as_deref(), args.max_rows, args.dialect)?);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut all_allowed = true;
    let mut emit = |verdict: &Verdict, out: &mut std::io::StdoutLock<'_>| -> Result<()> {
        all_allowed &= verdict.allowed;
        if args.json {
            writeln!(out, "{}", serde_json::to_string(verdict)?)?;
        } else {
            writeln!(out, "{}", verdict_line(verdict))?;
        }
        // Flushed per line so a process feeding statements one at a time sees each verdict.
        out.flush()?;
        Ok(())
    };
    match &args.sql {
        Some(sql) => emit(&guard.check(sql, &GuardContext::default()), &mut out)?,
        None => {
            let mut stdin = std::io::stdin().lock();
            let mut buf = Vec::new();
            loop {
                buf.clear();
                if stdin.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                // Invalid UTF-8 still gets its verdict (a parse error), and a blank line is
                // checked like any other (rejected as `empty`): output line N is input line N's.
                let line = String::from_utf8_lossy(&buf);
                emit(&guard.check(line.trim_end_matches(['\n', '\r']), &GuardContext::default()), &mut out)?;
            }
        }
    }
    Ok(if all_allowed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
