//! The interface a sensor really supplies: for each template type it implements, the ordered
//! input fields it hands to the interpreter. The same data as a sensor manifest.

use dcf_parser::{FieldType, SensorVersion};
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
