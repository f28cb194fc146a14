//! One scripted run gives the same event sequence through Rust, HTTP SSE, the CLI, Python and Node.
//!
//! Each surface gets its own fake model server replaying the same script over the real
//! OpenAI-compatible SSE wire format, and its own copy of the same SQLite database. Python and Node
//! run when their packages are built (`aigis-py/.venv` with the extension, `aigis-node/*.node`,
//! as `scripts/test.sh` does before the Rust tests); otherwise they are skipped with a reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use aigis_core::testing::{FakeLlm, Reply};
use aigis_core::{Assistant, Event, ProviderConfig, connect};
use futures::StreamExt;
use http_support::{TestServer, options, parse_sse, shop_db, sqlite_url};
use serde_json::{Value, json};

const QUESTION: &str = "Revenue per store?";

fn script() -> Vec<Reply> {
    vec![
        // A DML reply first, so the sequence includes a rejection and a repair.
        Reply::text("DELETE FROM orders").usage(40, 5),
        Reply::chunks(["```sql\nSELECT s.name AS store, SUM(o.amount) AS revenue ", "FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name\n```"]).usage(60, 20),
        Reply::chunks(["North ", "leads."]).usage(30, 4),
    ]
}

fn llm(fake: &FakeLlm) -> ProviderConfig {
    ProviderConfig { base_url: Some(fake.base_url()), model: Some("fake-model".into()), ..Default::default() }
}

/// The comparable shape of an event: its type, plus the stage, attempt or verdict that decide the path.
fn shape(event: &Value) -> String {
    let t = event["type"].as_str().unwrap_or("?");
    match t {
        "status" => format!("status:{}", event["stage"].as_str().unwrap_or("?")),
        "sql" => format!("sql:{}", event["attempt"]),
        "guard" => format!("guard:{}", event["allowed"]),
        "rows" => format!("rows:{}", event["row_count"]),
        "done" => format!("done:{}:{}", event["row_count"], event["answer"].as_str().unwrap_or("")),
        other => other.to_string(),
    }
}

async fn fresh_db(dir: &Path) -> String {
    sqlite_url(&shop_db(dir).await)
}

async fn via_rust(dir: &Path) -> Vec<String> {
    let fake = FakeLlm::start(script()).await.unwrap();
    let assistant = Assistant::builder(llm(&fake).build().unwrap(), connect(&fresh_db(dir).await).await.unwrap()).build();
    let events: Vec<Event> = assistant.ask(QUESTION).map(|e| e.unwrap()).collect().await;
    events.iter().map(|e| shape(&serde_json::to_value(e).unwrap())).collect()
}

async fn via_http(dir: &Path) -> Vec<String> {
    let fake = FakeLlm::start(script()).await.unwrap();
    let mut o = options().default_db(fresh_db(dir).await);
    o.llm = Some(llm(&fake));
    let server = TestServer::start(o).await;
    let body = server.post("/v1/ask").json(&json!({"question": QUESTION})).send().await.unwrap().text().await.unwrap();
    parse_sse(&body)
        .into_iter()
        .map(|(name, data)| {
            assert_eq!(data["type"], name, "SSE event name = type");
            shape(&data)
        })
        .collect()
}

fn lines_to_shapes(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| shape(&serde_json::from_str::<Value>(l).unwrap()))
        .collect()
}

async fn via_cli(dir: &Path) -> Vec<String> {
    let fake = FakeLlm::start(script()).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aigis"))
        .args(["ask", "--json", "--db", &fresh_db(dir).await, QUESTION])
        .env("AIGIS_LLM_BASE_URL", fake.base_url())
        .env("AIGIS_LLM_MODEL", "fake-model")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    lines_to_shapes(&out.stdout)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

async fn via_python(dir: &Path) -> Option<Vec<String>> {
    let python = repo().join("aigis-py/.venv/bin/python");
    let probe = Command::new(&python).args(["-c", "import aigis"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("SKIPPED python: build it first with `bash aigis-py/run-tests.sh`");
        return None;
    }
    let fake = FakeLlm::start(script()).await.unwrap();
    let code = "import aigis, json, sys\n\
                a = aigis.Assistant(db=sys.argv[1], base_url=sys.argv[2], model='fake-model')\n\
                for e in a.stream(sys.argv[3]): print(json.dumps(e))";
    let db = fresh_db(dir).await;
    let base = fake.base_url();
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(["-c", code, &db, &base, QUESTION]).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(lines_to_shapes(&out.stdout))
}

async fn via_node(dir: &Path) -> Option<Vec<String>> {
    let pkg = repo().join("aigis-node");
    let built = std::fs::read_dir(&pkg).map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "node"))).unwrap_or(false);
    if !built {
        println!("SKIPPED node: build it first with `cd aigis-node && npm install && npm run build`");
        return None;
    }
    let fake = FakeLlm::start(script()).await.unwrap();
    let code = "const { Assistant } = require(process.argv[1]);\n\
                (async () => { const a = new Assistant({ db: process.argv[2], baseUrl: process.argv[3], model: 'fake-model' });\n\
                for await (const e of a.stream(process.argv[4])) console.log(JSON.stringify(e)); })()\n\
                .catch((e) => { console.error(e); process.exit(1); });";
    let db = fresh_db(dir).await;
    let base = fake.base_url();
    let pkg = pkg.display().to_string();
    let out = tokio::task::spawn_blocking(move || Command::new("node").args(["-e", code, &pkg, &db, &base, QUESTION]).output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(lines_to_shapes(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_script_one_event_sequence_on_every_surface() {
    let dir = tempfile::tempdir().unwrap();
    let reference = via_rust(&subdir(&dir, "rust")).await;
    // The path through the machine: a rejection, a repair, rows, a streamed answer, a chart.
    for expected in ["guard:false", "status:repair", "sql:2", "guard:true", "rows:3", "delta", "chart", "done:3:North leads."] {
        assert!(reference.contains(&expected.to_string()), "missing {expected} in {reference:?}");
    }
    assert_eq!(via_http(&subdir(&dir, "http")).await, reference, "HTTP SSE differs");
    assert_eq!(via_cli(&subdir(&dir, "cli")).await, reference, "CLI --json differs");
    if let Some(py) = via_python(&subdir(&dir, "py")).await {
        assert_eq!(py, reference, "Python differs");
    }
    if let Some(node) = via_node(&subdir(&dir, "node")).await {
        assert_eq!(node, reference, "Node differs");
    }
}

fn subdir(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}
