//! Vega-Lite v5 charts built deterministically from a result's shape, and validation of
//! model-proposed specs against an allow-listed subset.
//!
//! No spec is ever executed as code (Vanna's CVE-2024-5565 ran model-written Python): a model
//! may only choose among encodings, and [`validate_spec`] rebuilds the spec from allowed keys,
//! with fields that must be result columns and data always inlined from the result.

use serde_json::{Map, Value, json};

use crate::connection::QueryResult;
use crate::{Error, Result};

/// The Vega-Lite schema every spec declares.
pub const VEGA_LITE_SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";

/// Rows inlined into a chart at most.
const MAX_POINTS: usize = 5000;

/// How a column's values behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Dates and timestamps.
    Temporal,
    /// Numbers.
    Quantitative,
    /// Categories.
    Nominal,
}

impl FieldKind {
    fn vega_type(self) -> &'static str {
        match self {
            FieldKind::Temporal => "temporal",
            FieldKind::Quantitative => "quantitative",
            FieldKind::Nominal => "nominal",
        }
    }
}

/// Classifies each column of a result from its values (NULLs ignored).
pub fn classify(result: &QueryResult) -> Vec<FieldKind> {
    (0..result.columns.len())
        .map(|i| {
            let values: Vec<&Value> = result.rows.iter().filter_map(|r| r.get(i)).filter(|v| !v.is_null()).collect();
            if values.is_empty() {
                FieldKind::Nominal
            } else if values.iter().all(|v| is_number(v)) {
                FieldKind::Quantitative
            } else if values.iter().all(|v| v.as_str().is_some_and(looks_temporal)) {
                FieldKind::Temporal
            } else {
                FieldKind::Nominal
            }
        })
        .collect()
}

fn is_number(v: &Value) -> bool {
    // Exact decimals may arrive as strings; they chart as numbers.
    v.is_number() || v.as_str().is_some_and(|s| !s.is_empty() && s.parse::<f64>().is_ok() && !looks_temporal(s))
}

/// `YYYY-MM`, `YYYY-MM-DD`, or an ISO timestamp.
fn looks_temporal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 7 && digits(0..4) && b[4] == b'-' && digits(5..7) && (b.len() == 7 || (b.len() >= 10 && b[7] == b'-' && digits(8..10)))
}

/// Builds a chart for a result, or `None` when its shape does not call for one
/// (fewer than two rows, or no measure; identifier columns such as `id` or `store_id` are
/// never measures).
///
/// Rules: a time column and a measure → line; a category and a measure → bar; two measures →
/// scatter. A second category colours the series.
pub fn auto_chart(result: &QueryResult, title: Option<&str>) -> Option<Value> {
    if result.rows.is_empty() || result.columns.is_empty() {
        return None;
    }
    // One row is a single fact (a total, a record), not a shape worth drawing.
    if result.rows.len() < 2 {
        return None;
    }
    let names = result.column_names();
    let kinds: Vec<FieldKind> = classify(result)
        .into_iter()
        .zip(&names)
        .map(|(kind, name)| if kind == FieldKind::Quantitative && is_identifier(name) { FieldKind::Nominal } else { kind })
        .collect();
    let first = |kind: FieldKind| kinds.iter().position(|k| *k == kind);
    let measures: Vec<usize> = kinds.iter().enumerate().filter(|(_, k)| **k == FieldKind::Quantitative).map(|(i, _)| i).collect();
    let (mark, x, y) = if let (Some(t), Some(&m)) = (first(FieldKind::Temporal), measures.first()) {
        ("line", t, m)
    } else if let (Some(n), Some(&m)) = (first(FieldKind::Nominal), measures.first()) {
        ("bar", n, m)
    } else if measures.len() >= 2 {
        ("point", measures[0], measures[1])
    } else {
        return None;
    };
    let mut encoding = Map::new();
    let mut x_enc = json!({"field": names[x], "type": kinds[x].vega_type()});
    if mark == "bar" {
        x_enc["sort"] = json!("-y");
    }
    encoding.insert("x".into(), x_enc);
    encoding.insert("y".into(), json!({"field": names[y], "type": "quantitative"}));
    if let Some(c) = kinds.iter().enumerate().position(|(i, k)| *k == FieldKind::Nominal && i != x && i != y) {
        encoding.insert("color".into(), json!({"field": names[c], "type": "nominal"}));
    }
    encoding.insert(
        "tooltip".into(),
        Value::Array(names.iter().zip(&kinds).map(|(n, k)| json!({"field": n, "type": k.vega_type()})).collect()),
    );
    let mut spec = json!({
        "$schema": VEGA_LITE_SCHEMA,
        "data": {"values": inline_values(result)},
        "mark": {"type": mark, "tooltip": true},
        "encoding": Value::Object(encoding),
    });
    if let Some(t) = title {
        spec["title"] = json!(t);
    }
    Some(spec)
}

/// `id`, `store_id`, `customerId`: keys, not measures.
fn is_identifier(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id" || lower.ends_with("_id") || (name.ends_with("Id") && name.len() > 2)
}

fn inline_values(result: &QueryResult) -> Vec<Value> {
    let names = result.column_names();
    result
        .rows
        .iter()
        .take(MAX_POINTS)
        .map(|row| {
            let obj: Map<String, Value> = names.iter().cloned().zip(row.iter().map(numeric_if_decimal)).collect();
            Value::Object(obj)
        })
        .collect()
}

fn numeric_if_decimal(v: &Value) -> Value {
    match v.as_str().filter(|s| !looks_temporal(s)).and_then(|s| s.parse::<f64>().ok()) {
        Some(f) if f.is_finite() => json!(f),
        _ => v.clone(),
    }
}

const MARKS: &[&str] = &["bar", "line", "point", "area", "arc", "tick", "rect", "circle", "square"];
const CHANNELS: &[&str] =
    &["x", "y", "color", "theta", "size", "shape", "opacity", "column", "row", "xOffset", "yOffset"];
const TYPES: &[&str] = &["quantitative", "nominal", "ordinal", "temporal"];
const AGGREGATES: &[&str] = &["sum", "mean", "average", "count", "min", "max", "median", "distinct"];
const TIME_UNITS: &[&str] = &["year", "quarter", "month", "yearmonth", "yearquarter", "yearmonthdate", "date", "day", "hours"];

/// Validates a model-proposed spec against the allow-listed subset of Vega-Lite and rebuilds
/// it with the result's data inlined. Unknown keys, data URLs, transforms, expressions and
/// fields that are not result columns are rejected with [`Error::InvalidInput`].
pub fn validate_spec(proposed: &Value, result: &QueryResult) -> Result<Value> {
    let obj = proposed.as_object().ok_or_else(|| invalid("a chart spec must be a JSON object"))?;
    for key in obj.keys() {
        if !["$schema", "title", "description", "mark", "encoding", "width", "height", "data"].contains(&key.as_str()) {
            return Err(invalid(&format!("chart key `{key}` is not allowed")));
        }
    }
    if obj.get("data").is_some_and(|d| d.get("url").is_some() || d.get("name").is_some()) {
        return Err(invalid("chart data must come from the query result, not a URL"));
    }
    let mark = match obj.get("mark") {
        Some(Value::String(m)) => m.clone(),
        Some(Value::Object(m)) => m.get("type").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => String::new(),
    };
    if !MARKS.contains(&mark.as_str()) {
        return Err(invalid(&format!("chart mark `{mark}` is not allowed (use one of {})", MARKS.join(", "))));
    }
    let columns = result.column_names();
    let encoding = obj.get("encoding").and_then(Value::as_object).ok_or_else(|| invalid("chart needs an encoding"))?;
    let mut clean = Map::new();
    for (channel, enc) in encoding {
        if !CHANNELS.contains(&channel.as_str()) {
            return Err(invalid(&format!("encoding channel `{channel}` is not allowed")));
        }
        clean.insert(channel.clone(), clean_channel(enc, &columns)?);
    }
    let mut spec = json!({
        "$schema": VEGA_LITE_SCHEMA,
        "data": {"values": inline_values(result)},
        "mark": {"type": mark, "tooltip": true},
        "encoding": Value::Object(clean),
    });
    for key in ["title", "description"] {
        if let Some(Value::String(s)) = obj.get(key) {
            spec[key] = json!(s.chars().take(200).collect::<String>());
        }
    }
    for key in ["width", "height"] {
        if let Some(n) = obj.get(key).and_then(Value::as_u64).filter(|n| (10..=4000).contains(n)) {
            spec[key] = json!(n);
        }
    }
    Ok(spec)
}

fn clean_channel(enc: &Value, columns: &[String]) -> Result<Value> {
    let enc = enc.as_object().ok_or_else(|| invalid("each encoding must be an object"))?;
    let mut out = Map::new();
    for (key, value) in enc {
        let ok = match key.as_str() {
            "field" => value.as_str().is_some_and(|f| columns.iter().any(|c| c == f)),
            "type" => value.as_str().is_some_and(|t| TYPES.contains(&t)),
            "aggregate" => value.as_str().is_some_and(|a| AGGREGATES.contains(&a)),
            "timeUnit" => value.as_str().is_some_and(|t| TIME_UNITS.contains(&t)),
            "title" => value.is_string(),
            "bin" | "stack" => value.is_boolean(),
            "sort" => value.as_str().is_some_and(|s| ["ascending", "descending", "x", "y", "-x", "-y"].contains(&s)),
            _ => false,
        };
        if !ok {
            return Err(invalid(&format!("encoding `{key}: {value}` is not allowed (fields must be result columns)")));
        }
        out.insert(key.clone(), value.clone());
    }
    if !out.contains_key("field") && out.get("aggregate").and_then(Value::as_str) != Some("count") {
        return Err(invalid("each encoding needs a `field` naming a result column"));
    }
    Ok(Value::Object(out))
}

fn invalid(message: &str) -> Error {
    Error::InvalidInput(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ColumnInfo;

    fn result(cols: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
        QueryResult {
            columns: cols.iter().map(|c| ColumnInfo { name: c.to_string(), data_type: String::new() }).collect(),
            row_count: rows.len() as u64,
            rows,
            truncated: false,
        }
    }

    #[test]
    fn time_series_is_a_line() {
        let r = result(&["month", "revenue"], vec![vec![json!("2024-01"), json!(10)], vec![json!("2024-02"), json!("12.50")]]);
        let spec = auto_chart(&r, None).unwrap();
        assert_eq!(spec["mark"]["type"], "line");
        assert_eq!(spec["encoding"]["x"]["type"], "temporal");
        assert_eq!(spec["data"]["values"][1]["revenue"], json!(12.5));
    }

    #[test]
    fn category_and_measure_is_a_bar_two_measures_scatter_single_value_none() {
        let bar = result(&["store", "n"], vec![vec![json!("A"), json!(3)], vec![json!("B"), json!(5)]]);
        assert_eq!(auto_chart(&bar, None).unwrap()["mark"]["type"], "bar");
        let scatter = result(&["price", "qty"], vec![vec![json!(1.5), json!(3)], vec![json!(2.0), json!(5)]]);
        assert_eq!(auto_chart(&scatter, None).unwrap()["mark"]["type"], "point");
        assert!(auto_chart(&result(&["n"], vec![vec![json!(42)]]), None).is_none());
        let one_row = result(&["day", "total"], vec![vec![json!("2024-01-01"), json!(3)]]);
        assert!(auto_chart(&one_row, None).is_none(), "a single row is not charted");
        let ids = result(&["id", "created_at"], vec![vec![json!(1), json!("2024-01-01")], vec![json!(2), json!("2024-01-02")]]);
        assert!(auto_chart(&ids, None).is_none(), "an id is not a measure");
        let by_store = result(&["store_id", "revenue"], vec![vec![json!(1), json!(3.5)], vec![json!(2), json!(5)]]);
        let spec = auto_chart(&by_store, None).unwrap();
        assert_eq!((spec["mark"]["type"].as_str(), spec["encoding"]["x"]["field"].as_str()), (Some("bar"), Some("store_id")));
        assert!(auto_chart(&result(&["name"], vec![vec![json!("a")], vec![json!("b")]]), None).is_none());
    }

    #[test]
    fn validation_rejects_urls_transforms_and_unknown_fields() {
        let r = result(&["store", "n"], vec![vec![json!("A"), json!(3)]]);
        let good = json!({"mark": "bar", "encoding": {"x": {"field": "store", "type": "nominal"}, "y": {"field": "n", "type": "quantitative"}}});
        let spec = validate_spec(&good, &r).unwrap();
        assert_eq!(spec["data"]["values"][0]["store"], "A");
        let url = json!({"mark": "bar", "data": {"url": "file:///etc/passwd"}, "encoding": {}});
        assert!(validate_spec(&url, &r).is_err());
        let transform = json!({"mark": "bar", "transform": [{"calculate": "alert(1)", "as": "x"}], "encoding": {}});
        assert!(validate_spec(&transform, &r).is_err());
        let field = json!({"mark": "bar", "encoding": {"x": {"field": "password", "type": "nominal"}}});
        assert!(validate_spec(&field, &r).is_err());
        let expr = json!({"mark": "bar", "encoding": {"x": {"field": "store", "type": "nominal", "condition": {"test": "1"}}}});
        assert!(validate_spec(&expr, &r).is_err());
    }
}
