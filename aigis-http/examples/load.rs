//! Bounded loopback load test of the reference server.
//!
//! ```text
//! cargo run --release -p aigis-http --example load -- [STREAMS=1000] [USERS=20] [HOLD_MS=2500] [RAMP_MS=4000]
//! ```
//!
//! Starts, in this process, a fake OpenAI-compatible LLM ([`FakeLlm`]), the demo shop SQLite
//! database, and the server with a SQLite app store, all on 127.0.0.1; the server on its own
//! tokio runtime (two workers), the load generator and the fake LLM on another, as separate
//! processes would be (they still share the machine's cores). Then:
//!
//! 1. **Overhead** — 200 thread messages one at a time. For each, the time the server adds is the
//!    client's wall time (request sent → stream closed, which includes auth, the SSE plumbing and
//!    the transaction saving both messages) minus the engine's own `elapsed_ms` from the `done`
//!    event (LLM calls, database, state machine; milliseconds to the microsecond, so the
//!    difference carries no rounding). p50/p99 are reported.
//! 2. **Concurrency** — STREAMS thread messages arriving evenly over RAMP_MS, every LLM reply
//!    held HOLD_MS (two replies per question), so each stream stays open about 2 × HOLD_MS and,
//!    with 2 × HOLD_MS > RAMP_MS, all of them are open together at the end of the ramp (the peak
//!    of streams open at once is measured and reported, and must reach STREAMS). Reports errors
//!    (non-200, or a stream not ending in `done`), whether every message was persisted, the same
//!    overhead percentiles under load, and the resident memory added per open stream (peak RSS −
//!    RSS before, / STREAMS; Linux only). Arrivals are spread rather than fired in the same
//!    millisecond: a thousand requests in one instant measure the two cores' run queue, not the
//!    server.
//!
//! Exits non-zero on any error or missing message.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aigis_core::testing::{FakeLlm, Reply};
use aigis_http::{AppState, ServeOptions};
use futures::StreamExt;
use serde_json::{Value, json};

/// How the `done` event starts its JSON.
const DONE_MARKER: &str = "\"type\":\"done\"";

const REPLY: &str = "```sql\nSELECT s.name AS store, COUNT(*) AS orders FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name ORDER BY orders DESC\n```";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// The name and the user and kernel CPU seconds in a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64, f64)> {
    // The name is in parentheses and may hold spaces and parentheses itself.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let mut seconds = || Some(fields.next()?.parse::<u64>().ok()? as f64 / 100.0);
    Some((name, seconds()?, seconds()?))
}

/// CPU seconds this process has used in user and in kernel mode (Linux only; zeros elsewhere).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    parse_stat(&stat).map_or((0.0, 0.0), |(_, user, system)| (user, system))
}

/// CPU seconds (user + kernel) used so far by this process's threads, summed by thread name
/// group: the server runtime's threads (`server-worker`, its workers and blocking pool),
/// SQLite's per-connection worker threads (`sqlx-sqlite-worker-N`), and the rest (load
/// generator and fake LLM). Linux only.
fn cpu_by_group() -> std::collections::BTreeMap<&'static str, f64> {
    let mut groups = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return groups };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let Some((name, user, system)) = parse_stat(&stat) else { continue };
        let group = if name.starts_with("server-") {
            "server runtime"
        } else if name.starts_with("sqlx-sqlite") {
            "sqlite workers"
        } else {
            "client and fake LLM"
        };
        *groups.entry(group).or_insert(0.0) += user + system;
    }
    groups
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[derive(Default)]
struct Outcome {
    ok: bool,
    /// Wall time minus the engine's own `elapsed_ms`.
    added_ms: f64,
    /// Of which: request sent → response headers (auth, store reads, building the answer).
    before_ms: f64,
    /// And: `done` event received → stream closed (saving the exchange).
    after_ms: f64,
}

impl Outcome {
    fn failed() -> Self {
        Self::default()
    }
}

/// Streams open now, and the most ever open at once.
#[derive(Default)]
struct Open {
    now: AtomicU64,
    peak: AtomicU64,
}

impl Open {
    fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(n, Ordering::AcqRel);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends one message and reads its stream to the end.
async fn one(client: &reqwest::Client, base: &str, token: &str, thread: &str, open: &Open) -> Outcome {
    let started = Instant::now();
    let resp = client
        .post(format!("{base}/v1/threads/{thread}/messages"))
        .bearer_auth(token)
        .json(&json!({"text": "How many orders per store?"}))
        .send()
        .await;
    let Ok(resp) = resp else { return Outcome::failed() };
    if resp.status() != 200 {
        return Outcome::failed();
    }
    let before_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut done_at = None;
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    open.enter();
    let mut failed = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                // Only the new bytes (and a marker's length before them) can hold the marker:
                // rescanning the whole body on every chunk made the client quadratic.
                let mut from = text.len().saturating_sub(DONE_MARKER.len());
                while !text.is_char_boundary(from) {
                    from -= 1;
                }
                text.push_str(&String::from_utf8_lossy(&c));
                if done_at.is_none() && text.get(from..).is_some_and(|t| t.contains(DONE_MARKER)) {
                    done_at = Some(Instant::now());
                }
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    open.leave();
    if failed {
        return Outcome::failed();
    }
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    let after_ms = done_at.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0);
    // The last event is the one that matters: parse only it.
    let done = text
        .split("\n\n")
        .filter_map(|b| b.lines().find_map(|l| l.strip_prefix("data:")))
        .last()
        .and_then(|d| serde_json::from_str::<Value>(d.trim()).ok());
    match done {
        Some(d) if d["type"] == "done" => {
            Outcome { ok: true, added_ms: wall - d["elapsed_ms"].as_f64().unwrap_or(0.0), before_ms, after_ms }
        }
        _ => Outcome::failed(),
    }
}

async fn post_json(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut rb = client.post(url).json(&body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb.send().await.unwrap().json().await.unwrap()
}

fn report(name: &str, outcomes: &[Outcome]) -> usize {
    let errors = outcomes.iter().filter(|o| !o.ok).count();
    let sorted = |part: fn(&Outcome) -> f64| {
        let mut v: Vec<f64> = outcomes.iter().filter(|o| o.ok).map(part).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (added, before, after) = (sorted(|o| o.added_ms), sorted(|o| o.before_ms), sorted(|o| o.after_ms));
    println!(
        "{name}: {} streams, {errors} errors, server-added time p50 {:.2} ms, p99 {:.2} ms \
         (before the stream p50 {:.2} / p99 {:.2} ms; saving after `done` p50 {:.2} / p99 {:.2} ms)",
        outcomes.len(),
        percentile(&added, 0.5),
        percentile(&added, 0.99),
        percentile(&before, 0.5),
        percentile(&before, 0.99),
        percentile(&after, 0.5),
        percentile(&after, 0.99)
    );
    errors
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let streams = args.first().copied().unwrap_or(1000);
    let users = args.get(1).copied().unwrap_or(20).max(1);
    let hold = Duration::from_millis(args.get(2).copied().unwrap_or(2500) as u64);
    let ramp = Duration::from_millis(args.get(3).copied().unwrap_or(4000) as u64);
    let sequential = 200;

    let dir = tempfile::tempdir()?;
    let demo = dir.path().join("demo.db");
    aigis_core::demo::create_demo_database(&demo).await?;
    let fake = FakeLlm::start(vec![Reply::text(REPLY); 2 * sequential]).await?;

    let mut o = ServeOptions::new(([127, 0, 0, 1], 0).into()).default_db(format!("sqlite://{}", demo.display()));
    o.llm = Some(aigis_core::ProviderConfig { base_url: Some(fake.base_url()), model: Some("fake".into()), ..Default::default() });
    o.store_url = Some(format!("sqlite://{}", dir.path().join("app.db").display()));
    o.production = Some(false);
    o.jwt_secret = Some("load-test-secret-load-test-secret-0123".into());
    o.master_key = Some(aigis_http::server::config::generate_master_key());
    o.admin_password = Some("load-admin-Pa55".into());
    o.allow_registration = Some(true);
    o.models = Some(Vec::new());
    // The server runs on its own runtime, as it would in its own process: on one shared
    // runtime its tasks would queue behind the load generator's and the fake LLM's, and that
    // wait would be counted as time the server adds. Two workers, as `aigis serve` has on this
    // two-core machine.
    let server_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("server-worker").enable_all().build()?;
    let (state, base) = server_runtime
        .spawn(async move {
            let state = AppState::new(&o).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            // The same serving path as `aigis serve` (TCP_NODELAY, graceful shutdown, audit flush).
            tokio::spawn(aigis_http::server::serve_on(listener, state.clone(), std::future::pending(), Duration::from_secs(1)));
            anyhow::Ok((state, base))
        })
        .await??;

    let client = reqwest::Client::builder().pool_max_idle_per_host(streams).build()?;
    let mut tokens = Vec::new();
    for u in 0..users {
        let name = format!("load{u}");
        post_json(&client, format!("{base}/v1/auth/register"), None, json!({"username": name, "password": "load-user-Pa55"})).await;
        let t = post_json(&client, format!("{base}/v1/auth/login"), None, json!({"username": name, "password": "load-user-Pa55"})).await;
        tokens.push(t["access_token"].as_str().expect("token").to_string());
    }
    let mut threads = Vec::new();
    for i in 0..streams.max(sequential) {
        let token = &tokens[i % users];
        let t = post_json(&client, format!("{base}/v1/threads"), Some(token), json!({"title": format!("load {i}")})).await;
        threads.push((token.clone(), t["id"].as_str().expect("thread").to_string()));
    }

    // Phase 1: one at a time.
    let mut seq = Vec::new();
    let open = Arc::new(Open::default());
    for (token, thread) in threads.iter().take(sequential) {
        seq.push(one(&client, &base, token, thread, &open).await);
    }
    let mut errors = report("sequential", &seq);

    // Phase 2: arrivals spread over the ramp, every reply held so the streams overlap.
    let open = Arc::new(Open::default());
    fake.push(vec![Reply::text(REPLY).delay(hold); 2 * streams]);
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let cpu_before = cpu_seconds();
    let groups_before = cpu_by_group();
    let started = Instant::now();
    let tasks: Vec<_> = threads
        .iter()
        .take(streams)
        .cloned()
        .enumerate()
        .map(|(i, (token, thread))| {
            let (client, base, open) = (client.clone(), base.clone(), open.clone());
            let start_at = started + ramp.mul_f64(i as f64 / streams as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until(start_at.into()).await;
                one(&client, &base, &token, &thread, &open).await
            })
        })
        .collect();
    let mut conc = Vec::new();
    for t in tasks {
        conc.push(t.await?);
    }
    let wall = started.elapsed();
    let cpu_after = cpu_seconds();
    let groups_after = cpu_by_group();
    let (user, system) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    errors += report("concurrent", &conc);
    let per_stream = (peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 / streams as f64;
    let peak_open = open.peak.load(Ordering::Acquire);
    println!(
        "concurrent: {streams} streams arriving over {} ms, LLM replies held {} ms, done in {:.2} s; at most {peak_open} open at once",
        ramp.as_millis(),
        hold.as_millis(),
        wall.as_secs_f64(),
    );
    println!(
        "concurrent: CPU {:.2} ms per stream in user mode and {:.2} ms in the kernel (client, fake LLM and server together; \
         {:.0}% of one core on average)",
        user * 1000.0 / streams as f64,
        system * 1000.0 / streams as f64,
        (user + system) * 100.0 / wall.as_secs_f64()
    );
    // Threads that ended during the run are missing from the sums; the runtimes' and SQLite's
    // workers live throughout, so their share is exact.
    let shares: Vec<String> = groups_after
        .iter()
        .map(|(group, after)| {
            let used = after - groups_before.get(group).copied().unwrap_or(0.0);
            format!("{group} {:.2} ms", used * 1000.0 / streams as f64)
        })
        .collect();
    println!("concurrent: CPU per stream by thread group: {}", shares.join(", "));
    println!(
        "concurrent: RSS {} KiB before, {} KiB peak: {:.1} KiB per open stream (client, fake LLM and server in one process)",
        before,
        peak.load(Ordering::Relaxed),
        per_stream
    );
    if peak_open < streams as u64 {
        println!("concurrent: WARNING: the streams did not all overlap; raise HOLD_MS or lower RAMP_MS");
    }

    let expected = 2 * (sequential + streams) as i64;
    let store = state.store().clone();
    let stored: i64 = server_runtime
        .spawn(async move { sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(store.pool()).await })
        .await??;
    // Dropping a runtime from async code would panic; let its threads go.
    drop(state);
    server_runtime.shutdown_background();
    println!("persisted messages: {stored} of {expected}");
    if errors > 0 || stored != expected {
        anyhow::bail!("load test failed: {errors} errors, {stored}/{expected} messages persisted");
    }
    Ok(())
}
