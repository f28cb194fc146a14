//! Schema rendering for prompts on a generated 300-table warehouse.
//!
//! Prints, per token budget, the prompt size against the full schema and the mean recall of the
//! tables each of 40 generated questions needs, for Aigis' relevance selection, the same without
//! foreign-key neighbours, and the naive peer (tables in schema order until the budget is full,
//! same table format). Then times one rendering of each with criterion.
//!
//! The schema has 12 business domains × 25 entities with terse table names (`sup_esc`), titles,
//! descriptions, column descriptions, synonyms and sample rows. Questions use the words people
//! use (synonyms, description words, sample values), not table names; many need tables joined
//! through a bridge table they never mention. Run: `cargo bench -p aigis-benches --bench schema_prompt`.

#![allow(missing_docs)]

use aigis_core::connection::{Column, ForeignKey, Schema, Table};
use aigis_core::knowledge::text::estimate_tokens;
use aigis_core::{Dialect, RenderOptions, SchemaRenderer};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

/// (table prefix, title words, description words, words a question uses for the domain).
const DOMAINS: &[(&str, &str, &str, &[&str])] = &[
    ("sls", "Sales", "kept by the sales desk", &["sales", "sales desk"]),
    ("hr", "Human resources", "kept by HR for staff administration", &["HR", "staff administration"]),
    ("stk", "Inventory", "kept by the warehouse stock team", &["warehouse", "stock team"]),
    ("sup", "Customer support", "kept by the helpdesk", &["helpdesk", "customer support"]),
    ("fin", "Finance", "kept by accounting", &["accounting", "finance"]),
    ("mkt", "Marketing", "kept by the campaigns team", &["marketing", "campaigns team"]),
    ("lgs", "Logistics", "kept by the shipping office", &["logistics", "shipping office"]),
    ("prc", "Procurement", "kept by purchasing", &["purchasing", "procurement"]),
    ("mfg", "Manufacturing", "kept by the factory floor", &["factory", "manufacturing"]),
    ("lgl", "Legal", "kept by the compliance office", &["legal", "compliance office"]),
    ("itd", "IT", "kept by infrastructure operations", &["infrastructure", "IT"]),
    ("rnd", "Research", "kept by the laboratory", &["laboratory", "research"]),
];

/// An entity: table suffix, noun, plural, synonyms, parents (suffixes), two specific columns.
struct Entity {
    abbr: &'static str,
    noun: &'static str,
    plural: &'static str,
    synonyms: &'static [&'static str],
    parents: &'static [&'static str],
    columns: [(&'static str, &'static str, &'static str, &'static [&'static str]); 2],
}

const fn e(
    abbr: &'static str,
    noun: &'static str,
    plural: &'static str,
    synonyms: &'static [&'static str],
    parents: &'static [&'static str],
    columns: [(&'static str, &'static str, &'static str, &'static [&'static str]); 2],
) -> Entity {
    Entity { abbr, noun, plural, synonyms, parents, columns }
}

const ENTITIES: &[Entity] = &[
    e("loc", "location", "locations", &["site", "branch"], &[], [("city_nm", "text", "city of the site", &["town"]), ("ctry_cd", "char(2)", "ISO country code", &["country"])]),
    e("acct", "account", "accounts", &["client", "customer"], &["loc"], [("seg", "text", "market segment", &["tier"]), ("cr_lim", "numeric", "credit limit", &["credit line"])]),
    e("ctc", "contact", "contacts", &["representative", "contact person"], &["acct"], [("eml", "text", "email address", &["mail"]), ("phn", "text", "phone number", &["telephone"])]),
    e("cat", "category", "categories", &["product family", "group"], &[], [("lbl", "text", "category label", &["family name"]), ("mrg_pct", "numeric", "target margin percent", &["margin"])]),
    e("itm", "item", "items", &["product", "article", "sku"], &["cat"], [("unit_px", "numeric", "unit price", &["price"]), ("wt_kg", "numeric", "weight in kilograms", &["weight"])]),
    e("ord", "order", "orders", &["purchase", "booking"], &["acct"], [("ord_dt", "date", "date the order was placed", &["order date"]), ("chan", "text", "sales channel", &["channel"])]),
    e("ordln", "order line", "order lines", &["line item"], &["ord", "itm"], [("qty", "integer", "quantity ordered", &["units"]), ("disc", "numeric", "discount granted", &["rebate"])]),
    e("dept", "department", "departments", &["team", "unit"], &["loc"], [("cc", "text", "cost centre code", &["cost center"]), ("hd_cnt", "integer", "headcount", &["size"])]),
    e("emp", "employee", "employees", &["worker", "staff member"], &["dept"], [("hire_dt", "date", "hiring date", &["start date"]), ("sal", "numeric", "yearly salary", &["pay", "wage"])]),
    e("tkt", "ticket", "tickets", &["case", "request"], &["acct"], [("prio", "text", "priority", &["urgency"]), ("opn_ts", "timestamp", "when it was opened", &["opened"])]),
    e("esc", "escalation", "escalations", &["escalated case"], &["tkt", "emp"], [("lvl", "integer", "escalation level", &["tier"]), ("rsn", "text", "reason for escalating", &["cause"])]),
    e("invc", "invoice", "invoices", &["bill"], &["ord"], [("due_dt", "date", "payment due date", &["deadline"]), ("tot_amt", "numeric", "invoice total", &["amount due"])]),
    e("pmt", "payment", "payments", &["settlement", "remittance"], &["invc"], [("pd_amt", "numeric", "amount paid", &["paid"]), ("mthd", "text", "payment method", &["method"])]),
    e("bdgt", "budget", "budgets", &["allocation", "spending plan"], &["dept"], [("fy", "integer", "fiscal year", &["year"]), ("alloc_amt", "numeric", "amount allocated", &["allotted"])]),
    e("vnd", "vendor", "vendors", &["supplier"], &["loc"], [("rtg", "integer", "vendor rating", &["score"]), ("pay_terms", "text", "payment terms", &["terms"])]),
    e("ctr", "contract", "contracts", &["agreement"], &["vnd"], [("sgn_dt", "date", "signature date", &["signed"]), ("val", "numeric", "contract value", &["worth"])]),
    e("shp", "shipment", "shipments", &["delivery", "consignment"], &["ord", "loc"], [("carr", "text", "carrier name", &["courier"]), ("eta", "date", "estimated arrival", &["arrival"])]),
    e("asst", "asset", "assets", &["equipment", "machine"], &["loc"], [("srl", "text", "serial number", &["serial"]), ("dep_rt", "numeric", "depreciation rate", &["depreciation"])]),
    e("prj", "project", "projects", &["initiative", "programme"], &["dept"], [("strt_dt", "date", "start date", &["kickoff"]), ("spnsr", "text", "executive sponsor", &["sponsor"])]),
    e("tsk", "task", "tasks", &["work item", "todo"], &["prj", "emp"], [("est_hrs", "numeric", "estimated hours", &["effort"]), ("dn_flg", "boolean", "whether it is done", &["completed"])]),
    e("rvw", "review", "reviews", &["evaluation", "feedback"], &["itm"], [("stars", "integer", "star rating", &["rating"]), ("cmt", "text", "free-text comment", &["remark"])]),
    e("aud", "audit", "audits", &["inspection", "check"], &["loc"], [("fnd_cnt", "integer", "number of findings", &["findings"]), ("audtr", "text", "auditor name", &["inspector"])]),
    e("fcst", "forecast", "forecasts", &["projection", "prediction"], &["cat"], [("prd", "text", "forecast period", &["quarter"]), ("exp_val", "numeric", "expected value", &["expected"])]),
    e("kpi", "metric", "metrics", &["KPI", "indicator"], &["dept"], [("tgt", "numeric", "target value", &["goal"]), ("act", "numeric", "actual value", &["actual"])]),
    e("evt", "event", "events", &["occurrence", "incident"], &["loc"], [("sev", "text", "severity", &["gravity"]), ("evt_ts", "timestamp", "when it happened", &["occurred"])]),
];

const CITIES: &[&str] = &["Lisbon", "Porto", "Madrid", "Lyon", "Turin", "Ghent", "Utrecht", "Graz", "Cork", "Bergen", "Tartu", "Brno"];
const STATUSES: &[&str] = &["open", "active", "closed"];

fn table_name(domain: usize, entity: &str) -> String {
    format!("{}_{entity}", DOMAINS[domain].0)
}

fn entity(abbr: &str) -> &'static Entity {
    ENTITIES.iter().find(|e| e.abbr == abbr).unwrap_or(&ENTITIES[0])
}

fn col(name: &str, ty: &str, description: Option<&str>, synonyms: &[&str]) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
        nullable: name != "id",
        comment: description.map(str::to_string),
        synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn sample(ty: &str, name: &str, d: usize, e: usize, row: usize) -> Value {
    let k = d * 31 + e * 7 + row * 3;
    match (ty, name) {
        (_, "city_nm") => json!(CITIES[(d + row * 5) % CITIES.len()]),
        (_, "status") => json!(STATUSES[k % 3]),
        ("text" | "char(2)", _) => json!(format!("{}-{}", name.to_uppercase(), k % 97)),
        ("date", _) => json!(format!("2024-{:02}-{:02}", 1 + k % 12, 1 + k % 28)),
        ("timestamp", _) => json!(format!("2024-{:02}-{:02}T10:{:02}:00Z", 1 + k % 12, 1 + k % 28, k % 60)),
        ("boolean", _) => json!(k.is_multiple_of(2)),
        ("numeric", _) => json!((k % 500) as f64 + 0.5),
        _ => json!(k % 1000),
    }
}

/// The 300-table schema: deterministic, no randomness.
fn generated_schema() -> Schema {
    let mut tables = Vec::new();
    for (d, (prefix, title, description, _)) in DOMAINS.iter().enumerate() {
        for (ei, ent) in ENTITIES.iter().enumerate() {
            let mut columns = vec![
                col("id", "integer", None, &[]),
                col("nm", "text", Some(&format!("{} name", ent.noun)), &[]),
            ];
            let mut foreign_keys = Vec::new();
            for parent in ent.parents {
                columns.push(col(&format!("{parent}_id"), "integer", Some(&format!("the {}", entity(parent).noun)), &[]));
                foreign_keys.push(ForeignKey {
                    columns: vec![format!("{parent}_id")],
                    referred_table: table_name(d, parent),
                    referred_columns: vec!["id".into()],
                    ..Default::default()
                });
            }
            for (name, ty, desc, syn) in &ent.columns {
                columns.push(col(name, ty, Some(desc), syn));
            }
            columns.push(col("status", "text", Some("lifecycle state"), &[]));
            columns.push(col("crt_ts", "timestamp", Some("row creation time"), &[]));
            if ent.abbr == "ctc" {
                columns[4].pii = true;
                columns[5].pii = true;
            }
            let sample_rows = (0..3)
                .map(|row| columns.iter().map(|c| sample(&c.data_type, &c.name, d, ei, row)).collect())
                .collect();
            tables.push(Table {
                schema: Some("dw".into()),
                name: format!("{prefix}_{}", ent.abbr),
                title: Some(format!("{title} {}", ent.plural)),
                comment: Some(format!("One row per {} ({}), {description}", ent.noun, ent.synonyms.join(", "))),
                columns,
                primary_key: vec!["id".into()],
                foreign_keys,
                row_estimate: Some(1000 * (1 + (d * 25 + ei) as i64 % 50)),
                sample_rows,
                ..Default::default()
            });
        }
    }
    // The foreign keys above name tables unqualified; they live in the same schema.
    Schema { dialect: Dialect::Postgres, tables }
}

/// 40 questions, each with the tables (qualified) it needs.
fn generated_questions() -> Vec<(String, Vec<String>)> {
    let q = |d: usize, ents: &[&str]| -> Vec<String> { ents.iter().map(|e| format!("dw.{}", table_name(d, e))).collect() };
    let mut out = Vec::new();
    for i in 0..40 {
        let d = (i * 5) % DOMAINS.len();
        let dom = DOMAINS[d].3[i % DOMAINS[d].3.len()];
        let pick = |salt: usize| &ENTITIES[(i * 7 + salt * 11) % ENTITIES.len()];
        match i % 4 {
            // One table, named by a synonym.
            0 => {
                let ent = pick(0);
                let syn = ent.synonyms[i % ent.synonyms.len()];
                out.push((format!("How many {syn}s did {dom} record in 2024?"), q(d, &[ent.abbr])));
            }
            // One table, through a column synonym.
            1 => {
                let ent = pick(1);
                let (_, _, _, syn) = ent.columns[i % 2];
                out.push((format!("What is the average {} of the {} {}?", syn[0], dom, ent.plural), q(d, &[ent.abbr])));
            }
            // Two tables through a foreign key: a child measure per parent.
            2 => {
                let ent = ENTITIES.iter().filter(|e| !e.parents.is_empty()).nth(i % 20).unwrap_or(&ENTITIES[1]);
                let parent = entity(ent.parents[0]);
                let (_, _, desc, _) = ent.columns[1];
                out.push((
                    format!("Show the {desc} of {} per {} for {dom}", ent.plural, parent.synonyms[0]),
                    q(d, &[ent.abbr, parent.abbr]),
                ));
            }
            // Three tables: child → bridge → grandparent, the bridge never mentioned.
            _ => {
                let chains: Vec<(&Entity, &Entity, &Entity)> = ENTITIES
                    .iter()
                    .filter_map(|c| {
                        let p = entity(c.parents.first()?);
                        let g = entity(p.parents.first()?);
                        Some((c, p, g))
                    })
                    .collect();
                let (c, p, g) = chains[i % chains.len()];
                let place = if g.abbr == "loc" { format!(" in {}", CITIES[(d + 5) % CITIES.len()]) } else { String::new() };
                out.push((
                    format!("Number of {} by {}{place} in {dom}", c.synonyms[0], g.synonyms[0]),
                    q(d, &[c.abbr, p.abbr, g.abbr]),
                ));
            }
        }
    }
    out
}

fn recall(rendered: &[String], needed: &[String]) -> f64 {
    needed.iter().filter(|t| rendered.contains(t)).count() as f64 / needed.len() as f64
}

/// The naive peer: whole tables in schema order until the budget is full.
fn naive(renderer: &SchemaRenderer, schema: &Schema, budget: usize) -> (Vec<String>, usize) {
    let mut used = 0;
    let mut tables = Vec::new();
    for table in &schema.tables {
        let cost = estimate_tokens(&renderer.render_table(table));
        if used + cost > budget {
            break;
        }
        used += cost;
        tables.push(table.qualified_name());
    }
    (tables, used)
}

fn report(schema: &Schema, questions: &[(String, Vec<String>)]) {
    let full: usize = schema.tables.iter().map(|t| estimate_tokens(&SchemaRenderer::default().render_table(t))).sum();
    println!("\nschema_prompt: {} tables, full schema ≈ {full} tokens, {} questions", schema.tables.len(), questions.len());
    println!("{:>7} | {:>22} | {:>22} | {:>22}", "budget", "aigis: tokens / recall", "no FK neighbours", "naive in-order");
    for budget in [2000, 4000, 8000] {
        let renderer = SchemaRenderer::new(RenderOptions::default().budget_tokens(budget));
        let aigis = renderer.prepare(schema);
        let no_fk = SchemaRenderer::new(RenderOptions::default().budget_tokens(budget).foreign_key_neighbours(false)).prepare(schema);
        let (mut ra, mut rn, mut rp, mut ta, mut tn, mut tp) = (0.0, 0.0, 0.0, 0, 0, 0);
        for (question, needed) in questions {
            let a = aigis.render(question);
            ra += recall(&a.tables, needed);
            ta += a.tokens;
            let n = no_fk.render(question);
            rn += recall(&n.tables, needed);
            tn += n.tokens;
            let (p, used) = naive(&renderer, schema, budget);
            rp += recall(&p, needed);
            tp += used;
        }
        let k = questions.len() as f64;
        let m = questions.len();
        println!(
            "{budget:>7} | {:>12} / {:>7.3} | {:>12} / {:>7.3} | {:>12} / {:>7.3}",
            ta / m, ra / k, tn / m, rn / k, tp / m, rp / k
        );
    }
    let aigis = SchemaRenderer::new(RenderOptions::default().budget_tokens(4000));
    let misses: Vec<String> = questions
        .iter()
        .filter_map(|(question, needed)| {
            let r = aigis.render(schema, question);
            let missing: Vec<&String> = needed.iter().filter(|t| !r.tables.contains(t)).collect();
            (!missing.is_empty()).then(|| format!("  {question} → missing {missing:?}"))
        })
        .collect();
    println!("questions missing a needed table at 4000 tokens: {}", misses.len());
    for m in misses {
        println!("{m}");
    }
}

fn bench(c: &mut Criterion) {
    let schema = generated_schema();
    let questions = generated_questions();
    report(&schema, &questions);
    let aigis = SchemaRenderer::new(RenderOptions::default().budget_tokens(4000));
    let prepared = aigis.prepare(&schema);
    let question = &questions[3].0;
    c.bench_function("schema_prompt/prepare_300_tables", |b| b.iter(|| aigis.prepare(&schema)));
    c.bench_function("schema_prompt/relevance_prepared_300_tables_4000_tokens", |b| b.iter(|| prepared.render(question)));
    c.bench_function("schema_prompt/relevance_unprepared_300_tables_4000_tokens", |b| b.iter(|| aigis.render(&schema, question)));
    c.bench_function("schema_prompt/naive_300_tables_4000_tokens", |b| b.iter(|| naive(&aigis, &schema, 4000)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
