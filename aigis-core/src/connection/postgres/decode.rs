//! PostgreSQL values to JSON, by the column's type (see [`crate::connection::value`] for the
//! conventions: exact decimals as strings, timestamps ISO-8601, bytea base64, …).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;
use sqlx::postgres::types::{PgInterval, PgTimeTz};
use sqlx::postgres::{PgRow, PgValueRef, Postgres};
use sqlx::{Decode, ValueRef};

use crate::connection::exec::decode_columns;
use crate::connection::value::{bytes_to_json, float_to_json, interval_to_iso, naive_datetime_to_json, utc_to_json};
use crate::Result;

type DecodeResult<T> = std::result::Result<T, sqlx::error::BoxDynError>;

/// Decodes every column of a row.
pub(crate) fn decode_row(row: &PgRow) -> Result<Vec<Value>> {
    decode_columns(row, decode_value)
}

fn get<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> DecodeResult<T> {
    T::decode(raw)
}

/// Decodes an array of `T` (NULL elements kept) into a JSON array.
fn array<'r, T>(raw: PgValueRef<'r>, to_json: fn(T) -> Value) -> DecodeResult<Value>
where
    Vec<Option<T>>: Decode<'r, Postgres>,
{
    let items: Vec<Option<T>> = get(raw)?;
    Ok(Value::Array(items.into_iter().map(|v| v.map_or(Value::Null, to_json)).collect()))
}

fn decode_value(raw: PgValueRef<'_>, type_name: &str) -> DecodeResult<Value> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    Ok(match type_name {
        "BOOL" => Value::Bool(get(raw)?),
        "INT2" => Value::from(get::<i16>(raw)?),
        "INT4" => Value::from(get::<i32>(raw)?),
        "INT8" => Value::from(get::<i64>(raw)?),
        "OID" => Value::from(get::<sqlx::postgres::types::Oid>(raw)?.0),
        "FLOAT4" => float_to_json(f64::from(get::<f32>(raw)?)),
        "FLOAT8" => float_to_json(get::<f64>(raw)?),
        "NUMERIC" => Value::String(get::<rust_decimal::Decimal>(raw)?.to_string()),
        "UUID" => Value::String(get::<uuid::Uuid>(raw)?.to_string()),
        "JSON" | "JSONB" => get::<serde_json::Value>(raw)?,
        "DATE" => Value::String(get::<NaiveDate>(raw)?.to_string()),
        "TIME" => Value::String(get::<NaiveTime>(raw)?.to_string()),
        "TIMETZ" => {
            let t: PgTimeTz<NaiveTime, FixedOffset> = get(raw)?;
            Value::String(format!("{}{}", t.time, t.offset))
        }
        "TIMESTAMP" => naive_datetime_to_json(get(raw)?),
        "TIMESTAMPTZ" => utc_to_json(get(raw)?),
        "INTERVAL" => {
            let i: PgInterval = get(raw)?;
            Value::String(interval_to_iso(i.months, i.days, i.microseconds))
        }
        "BYTEA" => bytes_to_json(get::<&[u8]>(raw)?),
        "BOOL[]" => array::<bool>(raw, Value::Bool)?,
        "INT2[]" => array::<i16>(raw, Value::from)?,
        "INT4[]" => array::<i32>(raw, Value::from)?,
        "INT8[]" => array::<i64>(raw, Value::from)?,
        "FLOAT4[]" => array::<f32>(raw, |f| float_to_json(f64::from(f)))?,
        "FLOAT8[]" => array::<f64>(raw, float_to_json)?,
        "NUMERIC[]" => array::<rust_decimal::Decimal>(raw, |d| Value::String(d.to_string()))?,
        "TEXT[]" | "VARCHAR[]" | "CHAR[]" | "NAME[]" => array::<String>(raw, Value::String)?,
        "UUID[]" => array::<uuid::Uuid>(raw, |u| Value::String(u.to_string()))?,
        "DATE[]" => array::<NaiveDate>(raw, |d| Value::String(d.to_string()))?,
        "TIMESTAMP[]" => array::<NaiveDateTime>(raw, naive_datetime_to_json)?,
        "TIMESTAMPTZ[]" => array::<DateTime<Utc>>(raw, utc_to_json)?,
        "JSON[]" | "JSONB[]" => array::<serde_json::Value>(raw, |v| v)?,
        // Text types, enums and anything else sent as text: the string; otherwise the raw bytes.
        _ => match raw.as_str() {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => bytes_to_json(raw.as_bytes()?),
        },
    })
}
