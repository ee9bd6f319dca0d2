//! The fast path from a flat JSON event (one object per event, the shape SIEMs and most log
//! converters emit) to the field arrays a sensor evaluates, without building a JSON tree.
//!
//! [`FlatJsonEvent::parse`] keeps every string value borrowed from the input when it has no
//! escape sequence, so a field array of [`Value`]s points into the line itself; [`Projector`]
//! knows, once for all events, which template types a Windows event is delivered to and where
//! each named field goes. The result is the same as [`crate::adapter::WindowsEvent`]'s slower
//! path ([`WindowsEvent::from_flat_json`](crate::adapter::WindowsEvent::from_flat_json), then
//! [`FlatEvent::project`](crate::adapter::FlatEvent::project)); a test holds them equal.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;

use dcf_parser::FieldType;
use dcf_sensor::{SensorInterface, Value};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value as Json;

use crate::adapter::{WindowsEvent, json_text};
use crate::logsource::field_name;

/// One value of a flat event.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    /// JSON `null`.
    Null,
    /// A string, borrowed from the input when it had no escapes.
    Str(Cow<'a, str>),
    /// A number: its JSON text, and its value when it is an integer.
    Num(String, Option<i64>),
    /// `true` or `false`.
    Bool(bool),
    /// An array, as compact JSON text (nested objects are flattened into dotted names).
    Array(String),
}

/// A flat JSON event: `(field name, value)` in document order, names mapped as manifests
/// name fields. A repeated name appears more than once; its last value is the one that counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlatJsonEvent<'a> {
    /// The fields.
    pub fields: Vec<(Cow<'a, str>, Scalar<'a>)>,
}

struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value: scalars are kept, objects flattened, arrays kept as text.
enum Item<'a> {
    Scalar(Scalar<'a>),
    Object(serde_json::Map<String, Json>),
}

impl<'de> de::Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Null))
            }
            fn visit_none<E>(self) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Num(v.to_string(), Some(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Num(
                    v.to_string(),
                    i64::try_from(v).ok(),
                )))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Num(Json::from(v).to_string(), None)))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Str(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Str(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Item<'de>, E> {
                Ok(Item::Scalar(Scalar::Str(Cow::Owned(v))))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Item<'de>, A::Error> {
                let v: Json =
                    de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Item::Scalar(Scalar::Array(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item<'de>, A::Error> {
                let v: serde_json::Map<String, Json> =
                    de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Item::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> FlatJsonEvent<'a> {
    /// Parses one JSON object. Nested objects become dotted names (`{"a": {"b": 1}}` → `a.b`),
    /// as [`crate::adapter::FlatEvent::from_json_object`] names them.
    pub fn parse(line: &'a str) -> Result<FlatJsonEvent<'a>, serde_json::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlatJsonEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FlatJsonEvent<'de>, A::Error> {
                let mut event = FlatJsonEvent {
                    fields: Vec::with_capacity(map.size_hint().unwrap_or(32)),
                };
                while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
                    match map.next_value::<Item<'de>>()? {
                        Item::Scalar(s) => event.push(name, s),
                        Item::Object(object) => event.push_object(&name, &object),
                    }
                }
                Ok(event)
            }
        }
        let mut d = serde_json::Deserializer::from_str(line);
        let event = d.deserialize_map(V)?;
        d.end()?;
        Ok(event)
    }

    fn push(&mut self, name: Cow<'a, str>, value: Scalar<'a>) {
        let name = if dcf_sensor::is_valid_name(&name) {
            name
        } else {
            Cow::Owned(field_name(&name))
        };
        // A repeated name is kept twice: `get` and `Projector::project` take the last one, as
        // a parsed JSON object does, without a quadratic search here.
        self.fields.push((name, value));
    }

    fn push_object(&mut self, prefix: &str, object: &serde_json::Map<String, Json>) {
        for (k, v) in object {
            let name = format!("{prefix}.{k}");
            match v {
                Json::Object(inner) => self.push_object(&name, inner),
                Json::Null => self.push(Cow::Owned(name), Scalar::Null),
                Json::Bool(b) => self.push(Cow::Owned(name), Scalar::Bool(*b)),
                Json::Number(n) => {
                    self.push(Cow::Owned(name), Scalar::Num(n.to_string(), n.as_i64()))
                }
                Json::String(s) => self.push(Cow::Owned(name), Scalar::Str(Cow::Owned(s.clone()))),
                Json::Array(_) => self.push(Cow::Owned(name), Scalar::Array(json_text(v))),
            }
        }
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Scalar<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The Windows event's routing facts (channel, provider, event id), for
    /// [`WindowsEvent::routes`].
    fn windows(&self) -> WindowsEvent {
        let text = |k: &str| match self.get(k) {
            Some(Scalar::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        // Routing reads only these three; the fields stay out.
        let event_id = match self.get("EventID") {
            Some(Scalar::Num(_, n)) => *n,
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        };
        WindowsEvent {
            channel: text("Channel"),
            provider: text("Provider_Name"),
            event_id,
            flat: Default::default(),
        }
    }
}

/// FNV-1a: field names are short, and SipHash's per-call setup dominated projection.
#[derive(Clone, Copy, Default)]
pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvBuild = std::hash::BuildHasherDefault<FnvHasher>;

/// Template types by channel, then by event id.
type RouteMemo = HashMap<String, HashMap<Option<i64>, Box<[u32]>>>;

/// A template type's fields by name id ([`Projector::resolve`]): index and type.
type FieldSlots = Vec<Option<(usize, FieldType)>>;

/// The id [`Projector::resolve`] gives a field name that no template type has.
const UNKNOWN_NAME: u32 = u32::MAX;

/// Distinct (channel, event id) pairs a [`Projector`] remembers the routes of.
const MAX_REMEMBERED_ROUTES: usize = 4096;

/// Where the fields of flat events go, for one sensor interface.
pub struct Projector {
    /// Template type id by template name.
    by_name: HashMap<String, u32>,
    /// Template types by (channel, event id), filled as events arrive: routing builds log
    /// source names, which costs more than the rest of an event's projection.
    routes: Mutex<RouteMemo>,
    /// Field name ids, over the field names of every template type.
    names: HashMap<String, u32, FnvBuild>,
    /// For each template type id: name id → (index, type), and the field count.
    layout: HashMap<u32, (FieldSlots, usize)>,
}

impl Projector {
    /// The projector of an interface.
    pub fn new(interface: &SensorInterface) -> Projector {
        let mut names: HashMap<String, u32, FnvBuild> = HashMap::default();
        for field in interface.templates.iter().flat_map(|t| t.fields.iter()) {
            let next = names.len() as u32;
            names.entry(field.name.clone()).or_insert(next);
        }
        let layout = interface
            .templates
            .iter()
            .map(|t| {
                let mut slots: FieldSlots = vec![None; names.len()];
                for (i, f) in t.fields.iter().enumerate() {
                    if let Some(slot) = names
                        .get(&f.name)
                        .and_then(|&id| slots.get_mut(id as usize))
                    {
                        *slot = Some((i, f.kind));
                    }
                }
                (t.id, (slots, t.fields.len()))
            })
            .collect();
        Projector {
            by_name: interface
                .templates
                .iter()
                .map(|t| (t.name.clone(), t.id))
                .collect(),
            routes: Mutex::new(HashMap::new()),
            names,
            layout,
        }
    }

    /// The template types a Windows event is delivered to (see [`WindowsEvent::routes`]).
    pub fn windows_templates(&self, event: &FlatJsonEvent<'_>) -> Box<[u32]> {
        let mut out = Vec::new();
        self.windows_templates_into(event, &mut out);
        out.into_boxed_slice()
    }

    /// [`Projector::windows_templates`] into a buffer the caller reuses across events.
    pub fn windows_templates_into(&self, event: &FlatJsonEvent<'_>, out: &mut Vec<u32>) {
        out.clear();
        let channel = match event.get("Channel") {
            Some(Scalar::Str(s)) => s.as_ref(),
            _ => "",
        };
        let event_id = match event.get("EventID") {
            Some(Scalar::Num(_, n)) => *n,
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = routes.get(channel).and_then(|ids| ids.get(&event_id)) {
            out.extend_from_slice(known);
            return;
        }
        let found: Box<[u32]> = event
            .windows()
            .routes()
            .iter()
            .filter_map(|k| self.by_name.get(&k.template_name()).copied())
            .collect();
        out.extend_from_slice(&found);
        // Bounded: channels and event ids come from the events, so cap what is remembered.
        if routes.values().map(HashMap::len).sum::<usize>() < MAX_REMEMBERED_ROUTES {
            routes
                .entry(channel.to_string())
                .or_default()
                .insert(event_id, found);
        }
    }

    /// Fills `out` with the field array of `template` for `event`: each field's value by name,
    /// [`Value::Null`] where the event has none or the value does not convert to the field's
    /// type. Returns false for a template type this projector does not know.
    pub fn project<'e>(
        &self,
        event: &'e FlatJsonEvent<'_>,
        template: u32,
        out: &mut Vec<Value<'e>>,
    ) -> bool {
        let mut names = Vec::new();
        self.resolve(event, &mut names);
        self.project_resolved(event, &names, template, out)
    }

    /// Looks up the name of each of `event`'s fields once, into `names`, for
    /// [`Projector::project_resolved`]: an event delivered to several template types (a Sysmon
    /// event goes to its category, the `sysmon` service and the `windows` product) then costs
    /// one name lookup per field, not one per field and template type.
    pub fn resolve(&self, event: &FlatJsonEvent<'_>, names: &mut Vec<u32>) {
        names.clear();
        names.extend(event.fields.iter().map(|(name, _)| {
            self.names
                .get(name.as_ref())
                .copied()
                .unwrap_or(UNKNOWN_NAME)
        }));
    }

    /// [`Projector::project`] with the event's names resolved by [`Projector::resolve`].
    pub fn project_resolved<'e>(
        &self,
        event: &'e FlatJsonEvent<'_>,
        names: &[u32],
        template: u32,
        out: &mut Vec<Value<'e>>,
    ) -> bool {
        let Some((slots, count)) = self.layout.get(&template) else {
            return false;
        };
        out.clear();
        out.resize(*count, Value::Null);
        // Later fields overwrite earlier ones of the same name: the last value wins.
        for ((_, value), &name) in event.fields.iter().zip(names) {
            let Some(&Some((index, kind))) = slots.get(name as usize) else {
                continue;
            };
            let converted = match (kind, value) {
                (_, Scalar::Null) => Value::Null,
                (FieldType::String, Scalar::Str(s)) => Value::Str(s),
                (FieldType::String, Scalar::Num(text, _)) => Value::Str(text),
                (FieldType::String, Scalar::Bool(b)) => {
                    Value::Str(if *b { "true" } else { "false" })
                }
                (FieldType::String, Scalar::Array(text)) => Value::Str(text),
                (FieldType::Integer, Scalar::Num(_, Some(i))) => Value::Int(*i),
                (FieldType::Integer, Scalar::Str(s)) => {
                    s.trim().parse().map_or(Value::Null, Value::Int)
                }
                (FieldType::Ip, Scalar::Str(s)) => {
                    s.trim().parse::<IpAddr>().map_or(Value::Null, Value::Ip)
                }
                _ => Value::Null,
            };
            if let Some(slot) = out.get_mut(index) {
                *slot = converted;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{OwnedValue, WindowsEvent};
    use dcf_sensor::{FieldInterface, TemplateInterface};

    fn interface() -> SensorInterface {
        let t = |id: u32, name: &str, fields: &[(&str, FieldType)]| TemplateInterface {
            id,
            name: name.into(),
            fields: fields
                .iter()
                .map(|(n, k)| FieldInterface {
                    name: n.to_string(),
                    kind: *k,
                })
                .collect(),
        };
        SensorInterface {
            sensor: None,
            version: dcf_parser::SensorVersion {
                major: 1,
                minor: 0,
                patch: 0,
            },
            templates: vec![
                t(
                    1,
                    "windows.process_creation",
                    &[
                        ("Image", FieldType::String),
                        ("ProcessId", FieldType::String),
                        ("Count", FieldType::Integer),
                        ("Dst", FieldType::Ip),
                        ("nested.inner", FieldType::String),
                        ("List", FieldType::String),
                        ("Flag", FieldType::String),
                        ("Missing", FieldType::String),
                        ("Odd_20Name", FieldType::String),
                    ],
                ),
                t(2, "windows.service.sysmon", &[("Image", FieldType::String)]),
                t(3, "windows", &[("Channel", FieldType::String)]),
            ],
        }
    }

    #[test]
    fn same_as_the_tree_adapter() {
        let line = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\cmd.exe", "ProcessId": 42, "Count": "7", "Dst": "10.1.2.3", "nested": {"inner": "x"}, "List": [1, "a"], "Flag": true, "Odd Name": "o", "Esc": "a\\b", "Image": "second"}"#;
        let interface = interface();
        let projector = Projector::new(&interface);
        let fast = FlatJsonEvent::parse(line).unwrap();
        // An escaped string is owned; a plain one stays borrowed; the last "Image" wins.
        assert!(matches!(fast.get("Esc"), Some(Scalar::Str(Cow::Owned(_)))));
        assert_eq!(
            fast.get("Image"),
            Some(&Scalar::Str(Cow::Borrowed("second")))
        );
        assert!(matches!(
            fast.get("Channel"),
            Some(Scalar::Str(Cow::Borrowed(_)))
        ));
        let templates = projector.windows_templates(&fast);
        let Json::Object(object) = serde_json::from_str::<Json>(line).unwrap() else {
            panic!()
        };
        let slow = WindowsEvent::from_flat_json(&object);
        let slow_templates: Vec<u32> = slow
            .routes()
            .iter()
            .filter_map(|k| interface.template_named(&k.template_name()).map(|t| t.id))
            .collect();
        assert_eq!(*templates, *slow_templates);
        assert_eq!(*templates, [1, 2, 3]);
        // Remembered: the same answer the second time.
        assert_eq!(projector.windows_templates(&fast), templates);
        let mut out = Vec::new();
        for &id in templates.iter() {
            assert!(projector.project(&fast, id, &mut out));
            let expected: Vec<OwnedValue> = slow.flat.project(interface.template(id).unwrap());
            let expected: Vec<Value<'_>> = expected.iter().map(OwnedValue::as_value).collect();
            assert_eq!(out, expected, "template {id}");
        }
        assert!(!projector.project(&fast, 99, &mut out));
        assert!(FlatJsonEvent::parse("[1]").is_err());
        assert!(FlatJsonEvent::parse("{\"a\": 1} x").is_err());
    }
}
