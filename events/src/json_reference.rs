//! The slow, plainly right reading of a flat JSON event: serde_json builds the tree, and a
//! walk names and writes its fields as [`crate::flat_json`]'s reader must. The one reference
//! the reader's differential tests and its fuzz target (`fuzz/src/flat_json.rs`) hold it to.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde_json::Value as Json;

use crate::flat_json::Scalar;
use dcf_sigma::logsource::field_name;

/// A field value, owned: the reference's, or a [`Scalar`] of the reader copied out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedScalar {
    /// `null`.
    Null,
    /// A string.
    Str(String),
    /// A number's text as serde_json writes it, and its value when it fits `i64`.
    Num(String, Option<i64>),
    /// A boolean.
    Bool(bool),
    /// An array's compact JSON text.
    Array(String),
}

impl From<Scalar<'_>> for OwnedScalar {
    fn from(scalar: Scalar<'_>) -> OwnedScalar {
        match scalar {
            Scalar::Null => OwnedScalar::Null,
            Scalar::Str(s) => OwnedScalar::Str(s.to_string()),
            Scalar::Num(t, i) => OwnedScalar::Num(t.to_string(), i),
            Scalar::Bool(b) => OwnedScalar::Bool(b),
            Scalar::Array(t) => OwnedScalar::Array(t.to_string()),
        }
    }
}

/// The top-level members of a JSON object in document order, repeats included (a
/// `serde_json::Map` keeps one per name, sorted).
#[derive(Clone, Debug, PartialEq)]
pub struct Members(pub Vec<(String, Json)>);

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
                while let Some(member) = map.next_entry::<String, Json>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The fields of `line` as the reader must give them, in document order (nested objects
/// flattened into dotted names, names mapped by [`field_name`]), or `None` when serde_json
/// does not read `line` as an object.
pub fn reference_fields(line: &str) -> Option<Vec<(String, OwnedScalar)>> {
    fn walk(name: &str, value: &Json, out: &mut Vec<(String, OwnedScalar)>) {
        let scalar = match value {
            Json::Object(object) => {
                for (k, v) in object {
                    walk(&format!("{name}.{k}"), v, out);
                }
                return;
            }
            Json::Null => OwnedScalar::Null,
            Json::Bool(b) => OwnedScalar::Bool(*b),
            Json::Number(n) => OwnedScalar::Num(n.to_string(), n.as_i64()),
            Json::String(s) => OwnedScalar::Str(s.clone()),
            Json::Array(_) => OwnedScalar::Array(value.to_string()),
        };
        out.push((field_name(name), scalar));
    }
    let Members(members) = serde_json::from_str(line).ok()?;
    let mut out = Vec::new();
    for (k, v) in &members {
        walk(k, v, &mut out);
    }
    Some(out)
}
