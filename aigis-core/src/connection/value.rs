//! Turning database values into JSON, and keeping results within [`ExecLimits`] while they stream.
//!
//! Conventions shared by every backend:
//! - integers and floats are JSON numbers (non-finite floats become strings: JSON has no NaN);
//! - exact decimals (`NUMERIC`/`DECIMAL`) are JSON **strings** holding the exact digits, so no
//!   precision is lost on the way to a client that parses numbers as `f64`;
//! - dates, times and timestamps are ISO-8601 strings (timestamps with zone in UTC, `Z`-suffixed);
//! - intervals are ISO-8601 durations; UUIDs are strings; JSON columns are embedded as JSON;
//! - binary values are base64 (standard alphabet, padded) strings; NULL is `null`.

use base64::Engine as _;
use serde_json::Value;

use crate::connection::ExecLimits;

/// Standard base64 of bytes, the JSON form of BLOB/BYTEA values.
pub(crate) fn bytes_to_json(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A float as JSON; NaN and infinities (which JSON cannot hold) become strings.
pub(crate) fn float_to_json(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

/// A timestamp without zone as `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
pub(crate) fn naive_datetime_to_json(t: chrono::NaiveDateTime) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

/// A timestamp with zone, in UTC with a `Z` suffix.
pub(crate) fn utc_to_json(t: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// An interval as an ISO-8601 duration, e.g. `P1Y2M3DT4H5M6.5S`; `PT0S` when zero.
pub(crate) fn interval_to_iso(months: i32, days: i32, microseconds: i64) -> String {
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (n, unit) in [(i64::from(years), 'Y'), (i64::from(months), 'M'), (i64::from(days), 'D')] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if microseconds != 0 {
        out.push('T');
        let sign = if microseconds < 0 { "-" } else { "" };
        let micros = microseconds.unsigned_abs();
        let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
        let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
        let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
        if hours != 0 {
            out.push_str(&format!("{sign}{hours}H"));
        }
        if minutes != 0 {
            out.push_str(&format!("{sign}{minutes}M"));
        }
        if seconds != 0 || fraction != 0 {
            let frac = if fraction == 0 {
                String::new()
            } else {
                format!(".{fraction:06}").trim_end_matches('0').to_string()
            };
            out.push_str(&format!("{sign}{seconds}{frac}S"));
        }
    }
    if out == "P" { "PT0S".to_string() } else { out }
}

/// Cuts long strings to `max_chars` characters (adding `…`); `0` keeps everything.
pub(crate) fn truncate_value(value: Value, max_chars: usize) -> Value {
    match value {
        Value::String(s) if max_chars > 0 && s.chars().count() > max_chars => {
            let mut cut: String = s.chars().take(max_chars).collect();
            cut.push('…');
            Value::String(cut)
        }
        other => other,
    }
}

/// Approximate size of a value once serialised as JSON, without serialising it.
pub(crate) fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
    }
}

/// Collects rows as they stream, stopping once a row or byte cap is reached.
#[derive(Debug)]
pub(crate) struct RowCollector {
    max_rows: usize,
    max_bytes: usize,
    bytes: usize,
    /// Rows kept so far.
    pub(crate) rows: Vec<Vec<Value>>,
    /// Whether a cap cut the result.
    pub(crate) truncated: bool,
}

impl RowCollector {
    /// An empty collector for these limits.
    pub(crate) fn new(limits: &ExecLimits) -> Self {
        Self { max_rows: limits.max_rows, max_bytes: limits.max_bytes, bytes: 0, rows: Vec::new(), truncated: false }
    }

    /// Whether another row would exceed the row cap: the caller then stops reading and marks the
    /// result truncated (one row past the cap proves there was more).
    pub(crate) fn is_full(&self) -> bool {
        self.rows.len() >= self.max_rows
    }

    /// Adds a row; returns `false` (and marks the result truncated) when a cap stops the stream.
    pub(crate) fn push(&mut self, row: Vec<Value>) -> bool {
        if self.is_full() {
            self.truncated = true;
            return false;
        }
        let size = 2 + row.iter().map(|v| json_size(v) + 1).sum::<usize>();
        if self.bytes + size > self.max_bytes {
            self.truncated = true;
            return false;
        }
        self.bytes += size;
        self.rows.push(row);
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn size_matches_serialisation_for_plain_values() {
        for v in [json!(null), json!(12345), json!("héllo"), json!([1, "a", null]), json!({"k": 1.5})] {
            let exact = serde_json::to_string(&v).map(|s| s.len()).unwrap_or_default();
            assert!(json_size(&v) >= exact.saturating_sub(2), "{v}: {} vs {exact}", json_size(&v));
        }
    }

    #[test]
    fn collector_stops_at_row_cap_and_byte_cap() {
        let mut c = RowCollector::new(&ExecLimits { max_rows: 2, ..ExecLimits::default() });
        assert!(c.push(vec![json!(1)]));
        assert!(c.push(vec![json!(2)]));
        assert!(!c.push(vec![json!(3)]));
        assert!(c.truncated);
        assert_eq!(c.rows.len(), 2);

        let mut c = RowCollector::new(&ExecLimits { max_bytes: 20, ..ExecLimits::default() });
        assert!(c.push(vec![json!("abcdef")]));
        assert!(!c.push(vec![json!("0123456789abcdef")]));
        assert!(c.truncated);
        assert_eq!(c.rows.len(), 1);
    }

    #[test]
    fn truncates_and_encodes() {
        assert_eq!(truncate_value(json!("abcdef"), 3), json!("abc…"));
        assert_eq!(truncate_value(json!("abc"), 3), json!("abc"));
        assert_eq!(truncate_value(json!(123456), 2), json!(123456));
        assert_eq!(bytes_to_json(b"hi"), json!("aGk="));
        assert_eq!(float_to_json(f64::NAN), json!("NaN"));
    }

    #[test]
    fn intervals_are_iso_durations() {
        assert_eq!(interval_to_iso(14, 3, 4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000), "P1Y2M3DT4H5M6.5S");
        assert_eq!(interval_to_iso(0, 0, 0), "PT0S");
        assert_eq!(interval_to_iso(0, -1, -90_000_000), "P-1DT-1M-30S");
    }
}
