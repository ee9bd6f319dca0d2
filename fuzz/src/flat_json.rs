//! Target `flat_json`: any bytes, as a line, through the flat JSON event reader
//! (`dcf_sigma::flat_json`), the hand-written reader a sensor runs on every event. Never
//! panics; accepts exactly what serde_json reads as an object; an accepted line's fields are
//! those of a tree walk over serde_json's reading of it (names, dotted nesting, number and
//! array text); buffers reused from one line to the next read it the same way.

use std::fmt;

use dcf_sigma::flat_json::{JsonBuffers, Scalar};
use dcf_sigma::logsource::field_name;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;

/// A field, owned: the reader's answer, and the reference's.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `null`.
    Null,
    /// A string.
    Str(String),
    /// A number's text and its `i64` value.
    Num(String, Option<i64>),
    /// A boolean.
    Bool(bool),
    /// An array's compact text.
    Array(String),
}

/// The top-level members in document order, repeats included (serde_json's map keeps one).
struct Members(Vec<(String, Value)>);

impl<'de> de::Deserialize<'de> for Members {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The fields serde_json's reading of `line` gives, or None when it is not an object.
pub fn reference(line: &str) -> Option<Vec<(String, Field)>> {
    fn walk(name: &str, value: &Value, out: &mut Vec<(String, Field)>) {
        let field = match value {
            Value::Object(object) => {
                for (k, v) in object {
                    walk(&format!("{name}.{k}"), v, out);
                }
                return;
            }
            Value::Null => Field::Null,
            Value::Bool(b) => Field::Bool(*b),
            Value::Number(n) => Field::Num(n.to_string(), n.as_i64()),
            Value::String(s) => Field::Str(s.clone()),
            Value::Array(_) => Field::Array(value.to_string()),
        };
        out.push((field_name(name), field));
    }
    let Members(members) = serde_json::from_str(line).ok()?;
    let mut out = Vec::new();
    for (k, v) in &members {
        walk(k, v, &mut out);
    }
    Some(out)
}

/// The reader's fields of `line`, owned.
fn read(buffers: &mut JsonBuffers, line: &str) -> Option<Vec<(String, Field)>> {
    let event = buffers.parse(line).ok()?;
    Some(
        event
            .fields()
            .map(|(name, value)| {
                let value = match value {
                    Scalar::Null => Field::Null,
                    Scalar::Str(s) => Field::Str(s.to_string()),
                    Scalar::Num(t, i) => Field::Num(t.to_string(), i),
                    Scalar::Bool(b) => Field::Bool(b),
                    Scalar::Array(t) => Field::Array(t.to_string()),
                };
                (name.to_string(), value)
            })
            .collect(),
    )
}

/// Runs one input; returns whether the reader accepted it.
pub fn flat_json_target(data: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(data) else {
        return false;
    };
    let mut buffers = JsonBuffers::new();
    let ours = read(&mut buffers, line);
    // The same buffers again, now holding this line's own fields and text.
    assert!(
        read(&mut buffers, line) == ours,
        "reused buffers read the line differently"
    );
    let object = matches!(serde_json::from_str::<Value>(line), Ok(Value::Object(_)));
    assert!(
        ours.is_some() == object,
        "the reader {} a line serde_json {}",
        if ours.is_some() { "accepts" } else { "refuses" },
        if object {
            "reads as an object"
        } else {
            "refuses"
        }
    );
    if let Some(ours) = &ours {
        assert!(
            Some(ours) == reference(line).as_ref(),
            "the reader's fields differ from the reference's"
        );
    }
    ours.is_some()
}
