//! Where the fields of flat events go: which template types of one sensor interface an event
//! is delivered to, and the index and type of each of its fields there.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use dcf_parser::FieldType;
use dcf_sensor::{SensorInterface, Value};

use super::{FlatJsonEvent, Scalar, event_id};

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

    /// The template types a Windows event is delivered to (see [`WindowsEvent::routes`](crate::windows::WindowsEvent::routes)).
    pub fn windows_templates(&self, event: &FlatJsonEvent<'_>) -> Box<[u32]> {
        let mut out = Vec::new();
        self.windows_templates_into(event, &mut out);
        out.into_boxed_slice()
    }

    /// [`Projector::windows_templates`] into a buffer the caller reuses across events.
    pub fn windows_templates_into(&self, event: &FlatJsonEvent<'_>, out: &mut Vec<u32>) {
        out.clear();
        let channel = match event.get("Channel") {
            Some(Scalar::Str(s)) => s,
            _ => "",
        };
        let event_id = event_id(event);
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
        event: &FlatJsonEvent<'e>,
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
        names.extend(event.fields.iter().map(|field| {
            self.names
                .get(event.text(field.name))
                .copied()
                .unwrap_or(UNKNOWN_NAME)
        }));
    }

    /// [`Projector::project`] with the event's names resolved by [`Projector::resolve`].
    pub fn project_resolved<'e>(
        &self,
        event: &FlatJsonEvent<'e>,
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
        for (field, &name) in event.fields.iter().zip(names) {
            let Some(&Some((index, kind))) = slots.get(name as usize) else {
                continue;
            };
            let converted = match (kind, event.scalar(field.value)) {
                (_, Scalar::Null) => Value::Null,
                (FieldType::String, Scalar::Str(s)) => Value::Str(s),
                (FieldType::String, Scalar::Num(text, _)) => Value::Str(text),
                (FieldType::String, Scalar::Bool(b)) => {
                    Value::Str(if b { "true" } else { "false" })
                }
                (FieldType::String, Scalar::Array(text)) => Value::Str(text),
                (FieldType::Integer, Scalar::Num(_, Some(i))) => Value::Int(i),
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
