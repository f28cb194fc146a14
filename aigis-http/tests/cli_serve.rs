//! `aigis demo` as a process: structured JSON logs (`AIGIS_LOG_FORMAT=json`), one line per
//! request carrying the request id the client sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_request_line() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = cli_support::aigis()
        .args(["demo", "--addr", &addr, "--path"])
        .arg(dir.path().join("demo.db"))
        .env("AIGIS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("AIGIS_STORE_PATH", dir.path().join("app.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = client
        .post(format!("{base}/v1/sql"))
        .header("x-request-id", "test-req-42")
        .json(&serde_json::json!({"sql": "SELECT COUNT(*) FROM stores"}))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    assert!(up, "the server came up: {stderr}");
    let resp = resp.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "test-req-42");

    // Human notes (`aigis: …`) go before logging starts; every log line is one JSON object.
    let logs: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.starts_with("aigis: "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    let request_line = logs
        .iter()
        .find(|l| l["span"]["request_id"] == "test-req-42")
        .unwrap_or_else(|| panic!("no log line for the request: {stderr}"));
    assert_eq!(request_line["level"], "INFO");
    assert_eq!(request_line["span"]["path"], "/v1/sql");
    assert_eq!(request_line["fields"]["status"], 200);
}
