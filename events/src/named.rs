//! An event as named fields with their JSON values: what the tree readers of events (Windows
//! event JSON, other JSON objects) produce, and its projection onto a template's field array.

use dcf_parser::FieldType;
use dcf_sensor::TemplateInterface;
use dcf_sigma::logsource::field_name;
use serde_json::{Map, Value as Json};

use crate::value::{OwnedValue, json_text};

/// The member of a Windows event element holding its XML attributes.
pub(crate) const ATTRIBUTES: &str = "#attributes";

/// An event as named fields, in document order, with their JSON values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlatEvent {
    /// `(field name, value)`, names already mapped to manifest names.
    pub fields: Vec<(String, Json)>,
}

impl FlatEvent {
    pub(crate) fn push(&mut self, name: &str, value: Json) {
        let mapped = field_name(name);
        if !self.fields.iter().any(|(n, _)| *n == mapped) {
            self.fields.push((mapped, value));
        }
    }

    /// The items of an `EventData`-like element (its `#attributes` are the element's own, not
    /// data, and are skipped). Item names are spelled as Sigma rules spell them: without
    /// their spaces (Windows Defender's `Threat Name` is `ThreatName`, as SigmaHQ's rules and
    /// pipelines write it).
    pub(crate) fn push_items(&mut self, data: &Json) {
        if let Json::Object(items) = data {
            for (name, value) in items {
                if name != ATTRIBUTES {
                    if name.contains(' ') {
                        self.push(&name.replace(' ', ""), value.clone());
                    } else {
                        self.push(name, value.clone());
                    }
                }
            }
        }
    }

    /// Flattens a JSON object of another source: nested objects are joined with `.`
    /// (`{"a": {"b": 1}}` → `a.b`), as Sigma rules for JSON logs name them.
    pub fn from_json_object(object: &Map<String, Json>) -> FlatEvent {
        let mut flat = FlatEvent::default();
        fn walk(prefix: &str, object: &Map<String, Json>, flat: &mut FlatEvent) {
            for (k, v) in object {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    Json::Object(inner) => walk(&name, inner, flat),
                    other => flat.push(&name, other.clone()),
                }
            }
        }
        walk("", object, &mut flat);
        flat
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The field array of `template`: each field's value by name, [`OwnedValue::Null`] where
    /// the event has none. Text fields get the value's text; integer fields get JSON integers
    /// (or text that parses as one); ip fields get addresses (or text that parses as one).
    pub fn project(&self, template: &TemplateInterface) -> Vec<OwnedValue> {
        template
            .fields
            .iter()
            .map(|f| match self.get(&f.name) {
                None | Some(Json::Null) => OwnedValue::Null,
                Some(v) => match f.kind {
                    FieldType::String => OwnedValue::Str(json_text(v)),
                    FieldType::Integer => match v {
                        Json::Number(n) => n.as_i64().map_or(OwnedValue::Null, OwnedValue::Int),
                        other => json_text(other)
                            .trim()
                            .parse()
                            .map_or(OwnedValue::Null, OwnedValue::Int),
                    },
                    FieldType::Ip => json_text(v)
                        .trim()
                        .parse()
                        .map_or(OwnedValue::Null, OwnedValue::Ip),
                },
            })
            .collect()
    }
}
