//! MySQL/MariaDB values to JSON, by the column's type (see [`crate::connection::value`] for the
//! conventions). DECIMAL arrives as exact text on the wire and stays a string.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use sqlx::mysql::types::MySqlTime;
use sqlx::mysql::{MySql, MySqlRow, MySqlValueRef};
use sqlx::{Decode, ValueRef};

use crate::connection::exec::decode_columns;
use crate::connection::value::{bytes_to_json, float_to_json, naive_datetime_to_json, utc_to_json};
use crate::Result;

type DecodeResult<T> = std::result::Result<T, sqlx::error::BoxDynError>;

/// Decodes every column of a row.
pub(crate) fn decode_row(row: &MySqlRow) -> Result<Vec<Value>> {
    decode_columns(row, decode_value)
}

fn get<'r, T: Decode<'r, MySql>>(raw: MySqlValueRef<'r>) -> DecodeResult<T> {
    T::decode(raw)
}

fn decode_value(raw: MySqlValueRef<'_>, type_name: &str) -> DecodeResult<Value> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    Ok(match type_name {
        // TINYINT(1): MySQL's BOOLEAN, unless it holds something other than 0 or 1.
        "BOOLEAN" => match get::<i8>(raw)? {
            n @ (0 | 1) => Value::Bool(n == 1),
            n => Value::from(n),
        },
        "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => Value::from(get::<i64>(raw)?),
        "YEAR" => Value::from(get::<u16>(raw)?),
        t if t.ends_with(" UNSIGNED") => Value::from(get::<u64>(raw)?),
        "FLOAT" => float_to_json(f64::from(get::<f32>(raw)?)),
        "DOUBLE" => float_to_json(get::<f64>(raw)?),
        "DECIMAL" => Value::String(get::<&str>(raw)?.to_string()),
        "DATE" => Value::String(get::<NaiveDate>(raw)?.to_string()),
        "TIME" => Value::String(get::<MySqlTime>(raw)?.to_string()),
        "DATETIME" => naive_datetime_to_json(get::<NaiveDateTime>(raw)?),
        "TIMESTAMP" => utc_to_json(get::<DateTime<Utc>>(raw)?),
        "JSON" => get::<serde_json::Value>(raw)?,
        "BIT" => Value::from(get::<u64>(raw)?),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "GEOMETRY" => {
            bytes_to_json(get::<&[u8]>(raw)?)
        }
        // CHAR, VARCHAR, TEXT kinds, ENUM, SET and anything else sent as text.
        _ => {
            let bytes = get::<&[u8]>(raw)?;
            match std::str::from_utf8(bytes) {
                Ok(s) => Value::String(s.to_string()),
                Err(_) => bytes_to_json(bytes),
            }
        }
    })
}
