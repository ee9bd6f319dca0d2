//! The interface a sensor really supplies: for each template type it implements, the ordered
//! input fields it hands to the interpreter. The same data as a sensor manifest.

use crate::prelude::*;

use dcf_parser::{ContentView, Field, FieldType, SensorVersion, Template};
use serde::{Deserialize, Serialize};

use crate::limits::{DEFAULT_MATCHER_MEMORY, DEFAULT_STEPS_PER_BYTE, DEFAULT_STEPS_PER_EVENT};

/// One sensor build's interface. A sensor manifest (`format-spec/MANIFEST.md`) is the TOML
/// form of this value; `dcf-validator` reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorInterface {
    /// Product or platform name, for messages only (`sensor = "..."` in a manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// The sensor's version.
    pub version: SensorVersion,
    /// The template types it implements.
    pub templates: Vec<TemplateInterface>,
    /// What one content may cost it (`[budget]` in a manifest); the defaults when omitted.
    #[serde(default, skip_serializing_if = "Budget::is_default")]
    pub budget: Budget,
}

/// What one content may cost a sensor (`LOADER.md` COST-5, `[budget]` in a manifest). The
/// binder refuses a content over it; the interpreter stops an event that would exceed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Most steps the matchers reading one field may take per byte of its text, the prefilter
    /// and folding included (E3601).
    pub steps_per_byte: u64,
    /// Most steps one event may take whatever its size (E3602).
    pub steps_per_event: u64,
    /// Most bytes the content's regular expressions may hold: automata, and one evaluating
    /// thread's search state (E3603).
    pub memory: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            steps_per_byte: DEFAULT_STEPS_PER_BYTE,
            steps_per_event: DEFAULT_STEPS_PER_EVENT,
            memory: DEFAULT_MATCHER_MEMORY,
        }
    }
}

impl Budget {
    /// Whether this is the default budget (which a manifest need not spell out).
    pub fn is_default(&self) -> bool {
        *self == Budget::default()
    }

    /// The steps an event whose text values (in the template's fields, whatever their
    /// declared type) hold `text_bytes` bytes may take.
    pub fn for_event(&self, text_bytes: usize) -> u64 {
        self.steps_per_byte
            .saturating_mul(text_bytes as u64)
            .saturating_add(self.steps_per_event)
    }
}

/// One template type a sensor implements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInterface {
    /// Template type id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// The fields, in the order of the array the sensor supplies with each event.
    pub fields: Vec<FieldInterface>,
}

/// One supplied field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInterface {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// The longest value the sensor supplies for this string field, in bytes (`max_len` in a
    /// manifest); `None` when the sensor declares no bound. An event whose value is longer is
    /// refused before any rule runs (E3504, LOADER.md EVAL-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
}

impl SensorInterface {
    /// The interface of a sensor `version` that supplies exactly what `content` declares:
    /// every declared template type with its declared fields. For dry runs and tests that run
    /// content in the interpreter without a real sensor's manifest.
    pub fn declared_by(content: &ContentView<'_>, version: SensorVersion) -> SensorInterface {
        SensorInterface {
            sensor: None,
            version,
            budget: Budget::default(),
            templates: content
                .templates()
                .map(|t| TemplateInterface {
                    id: t.id,
                    name: t.name.to_string(),
                    fields: t
                        .fields()
                        .map(|f| FieldInterface {
                            name: f.name.to_string(),
                            kind: f.kind,
                            max_len: None,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The template type with this id.
    pub fn template(&self, id: u32) -> Option<&TemplateInterface> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// The template type with this name.
    pub fn template_named(&self, name: &str) -> Option<&TemplateInterface> {
        self.templates.iter().find(|t| t.name == name)
    }

    /// Whether the version lies in `[min, max]`.
    pub fn in_range(&self, min: SensorVersion, max: SensorVersion) -> bool {
        min <= self.version && self.version <= max
    }

    /// A short name for messages: `sensor 7.11.0` or `windows-sensor 7.11.0`.
    pub fn display_name(&self) -> String {
        match &self.sensor {
            Some(name) => format!("{name} {}", self.version),
            None => format!("sensor {}", self.version),
        }
    }
}

impl TemplateInterface {
    /// The index of the field with this name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The field at this index.
    pub fn field(&self, index: u16) -> Option<&FieldInterface> {
        self.fields.get(usize::from(index))
    }

    /// The format's declaration of this template type (what a content declares it reads).
    pub fn to_template(&self) -> Template {
        Template {
            id: self.id,
            name: self.name.clone(),
            fields: self.fields_declared(),
        }
    }

    /// The format's declaration of this template type's fields, in order.
    pub fn fields_declared(&self) -> Vec<Field> {
        self.fields
            .iter()
            .map(|f| Field {
                name: f.name.clone(),
                kind: f.kind,
            })
            .collect()
    }
}

/// Whether a name is acceptable for a template type or field of an interface (MANIFEST.md):
/// non-empty, at most 128 bytes, ASCII letters, digits, `_`, `.` and `-`, not starting with a
/// digit.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
