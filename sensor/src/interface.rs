//! The interface a sensor really supplies: for each template type it implements, the ordered
//! input fields it hands to the interpreter. The same data as a sensor manifest.

use dcf_parser::{ContentView, FieldType, SensorVersion};
use serde::{Deserialize, Serialize};

/// One sensor build's interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorInterface {
    /// The sensor's version.
    pub version: SensorVersion,
    /// The template types it implements.
    pub templates: Vec<TemplateInterface>,
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
}

impl SensorInterface {
    /// The interface of a sensor `version` that supplies exactly what `content` declares:
    /// every declared template type with its declared fields. For dry runs and tests that run
    /// content in the interpreter without a real sensor's manifest.
    pub fn declared_by(content: &ContentView<'_>, version: SensorVersion) -> SensorInterface {
        SensorInterface {
            version,
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
}

impl TemplateInterface {
    /// The index of the field with this name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}
