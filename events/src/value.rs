//! Owned field values, and the conversion of a JSON value to the type a sensor supplies a
//! field as: what every reader of events builds a field array from.

use std::net::IpAddr;

use dcf_parser::FieldType;
use dcf_sensor::Value;
use serde_json::Value as Json;

/// An owned field value, for building an event's field array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedValue {
    /// No value.
    Null,
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
    /// IP address.
    Ip(IpAddr),
}

impl OwnedValue {
    /// Borrows as the sensor's value type.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Null => Value::Null,
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Ip(ip) => Value::Ip(*ip),
        }
    }
}

/// Borrows a field array as the sensor's values.
pub fn borrow_values(values: &[OwnedValue]) -> Vec<Value<'_>> {
    values.iter().map(OwnedValue::as_value).collect()
}

/// The text of a JSON value: strings as they are, numbers in their JSON text, booleans
/// `true`/`false`, arrays and objects as compact JSON.
pub fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// Converts one JSON value to the type a field is supplied as, as a sensor would, refusing
/// what a sensor could not deliver: numbers and booleans become text for string fields,
/// numeric text becomes a number for integer fields, text an address for ip fields.
pub fn convert(kind: FieldType, value: &Json) -> Result<OwnedValue, String> {
    Ok(match (kind, value) {
        (_, Json::Null) => OwnedValue::Null,
        (FieldType::String, Json::String(s)) => OwnedValue::Str(s.clone()),
        (FieldType::String, Json::Number(n)) => OwnedValue::Str(n.to_string()),
        (FieldType::String, Json::Bool(b)) => OwnedValue::Str(b.to_string()),
        (FieldType::Integer, Json::Number(n)) => OwnedValue::Int(
            n.as_i64()
                .ok_or_else(|| format!("{n} is not a 64-bit integer"))?,
        ),
        (FieldType::Integer, Json::String(s)) => OwnedValue::Int(
            s.trim()
                .parse()
                .map_err(|_| format!("`{s}` is not an integer"))?,
        ),
        (FieldType::Ip, Json::String(s)) => OwnedValue::Ip(
            s.trim()
                .parse()
                .map_err(|_| format!("`{s}` is not an IP address"))?,
        ),
        (kind, other) => return Err(format!("{other} cannot be a value of a {kind} field")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_as_a_sensor_would() {
        assert_eq!(
            convert(FieldType::String, &json!(4624)),
            Ok(OwnedValue::Str("4624".into()))
        );
        assert_eq!(
            convert(FieldType::Integer, &json!("42")),
            Ok(OwnedValue::Int(42))
        );
        assert_eq!(
            convert(FieldType::Ip, &json!("10.1.2.3")),
            Ok(OwnedValue::Ip("10.1.2.3".parse().unwrap()))
        );
        assert!(convert(FieldType::Integer, &json!("x")).is_err());
        assert!(convert(FieldType::Ip, &json!(3)).is_err());
        assert_eq!(
            convert(FieldType::Integer, &json!(null)),
            Ok(OwnedValue::Null)
        );
    }
}
