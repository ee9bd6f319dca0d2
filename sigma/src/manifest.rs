//! Sensor manifests (`format-spec/MANIFEST.md`), read by `dcf-validator`'s reader (one set of
//! rules for every tool) and viewed as the [`SensorInterface`] the sensor binds to.

use std::path::Path;

use dcf_sensor::{FieldInterface, SensorInterface, TemplateInterface};

/// One sensor build's manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Product name, for messages (`sensor = "..."`).
    pub sensor: Option<String>,
    /// The interface: version and template types.
    pub interface: SensorInterface,
}

/// Whether a name is acceptable for a template type or field (the validator's rule).
pub fn is_valid_name(name: &str) -> bool {
    dcf_validator::manifest::is_valid_name(name)
}

impl Manifest {
    /// Parses and checks a manifest with the validator's reader.
    pub fn from_toml(text: &str) -> Result<Manifest, String> {
        let m = dcf_validator::Manifest::from_toml(text).map_err(|e| e.to_string())?;
        Ok(Manifest::from_validator(&m))
    }

    /// The interface of a manifest the validator read.
    pub fn from_validator(m: &dcf_validator::Manifest) -> Manifest {
        Manifest {
            sensor: m.sensor.clone(),
            interface: SensorInterface {
                version: m.version,
                templates: m
                    .templates
                    .iter()
                    .map(|t| TemplateInterface {
                        id: t.id,
                        name: t.name.clone(),
                        fields: t
                            .fields
                            .iter()
                            .map(|f| FieldInterface {
                                name: f.name.clone(),
                                kind: f.kind,
                            })
                            .collect(),
                    })
                    .collect(),
            },
        }
    }

    /// Reads and parses a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Manifest::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `sigmahq-reference 1.0.0`, for messages.
    pub fn display_name(&self) -> String {
        format!(
            "{} {}",
            self.sensor.as_deref().unwrap_or("sensor"),
            self.interface.version
        )
    }

    /// The template type with this name.
    pub fn template_named(&self, name: &str) -> Option<&TemplateInterface> {
        self.interface.templates.iter().find(|t| t.name == name)
    }
}
