//! Running the built `aigis` binary in tests, with a clean environment and the demo database.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Variables that would configure a model or a database behind a test's back.
const CONFIG_VARS: &[&str] = &[
    "AIGIS_LLM_PROVIDER",
    "AIGIS_LLM_BASE_URL",
    "AIGIS_LLM_MODEL",
    "AIGIS_LLM_API_KEY",
    "AIGIS_LLM_FALLBACK_MODELS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "LM_STUDIO_ENDPOINT",
    "OLLAMA_HOST",
    "AIGIS_DB",
    "AIGIS_AUDIT",
    "RUST_LOG",
];

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stdout as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{self:?}")))
            .collect()
    }
}

/// The binary with no model or database configured from the outside.
pub fn aigis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aigis"));
    for var in CONFIG_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `aigis args…` with `env` set and `stdin` fed, and waits.
pub fn run_with(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut cmd = aigis();
    cmd.args(args).envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the aigis binary runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(args: &[&str]) -> Run {
    run_with(args, &[], b"")
}

/// Generates the project's demo database in `dir`; returns its `sqlite://` URL.
pub fn demo_db(dir: &Path) -> String {
    let path: PathBuf = dir.join("demo.db");
    // On its own thread, so async tests (already inside a runtime) can call it too.
    let target = path.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(aigis_core::demo::create_demo_database(&target)).unwrap();
    })
    .join()
    .unwrap();
    format!("sqlite://{}", path.display())
}
