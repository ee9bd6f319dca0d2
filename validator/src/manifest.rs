//! Sensor manifests (`format-spec/MANIFEST.md`): what one sensor build really supplies to the
//! interpreter, for every template type it implements.
//!
//! This module has no command-line dependencies, so the sensor crate can read the same files
//! with the same rules. [`crate::check_interface`] compares a content with one manifest.

use core::fmt;
use core::ops::Range;
use std::collections::HashSet;

use dcf_parser::{FieldType, SensorVersion};
pub use dcf_sensor::is_valid_name;
use dcf_sensor::{Budget, FieldInterface, SensorInterface, TemplateInterface};
use serde::Deserialize;
use toml::Spanned;

use crate::codes::Code;

/// One sensor build: its version and the template types it implements, in file order (ids
/// are distinct). A manifest is the TOML form of the interface the sensor runtime binds to,
/// so the validator, the importer and the sensor share one type.
pub type Manifest = SensorInterface;

/// Why a manifest was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// [`Code::ManifestSyntax`] or [`Code::ManifestInvalid`].
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// Byte range in the manifest text, where known.
    pub span: Option<Range<usize>>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ManifestError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    sensor: Option<String>,
    version: Spanned<String>,
    #[serde(default)]
    template: Vec<RawTemplate>,
    /// What one content may cost the sensor (`LOADER.md` COST-5); the defaults when absent.
    budget: Option<Spanned<Budget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: Spanned<u32>,
    name: Spanned<String>,
    #[serde(default)]
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    /// The longest value the sensor supplies, in bytes (string fields only).
    max_len: Option<Spanned<u32>>,
}

fn invalid(message: String, span: Range<usize>) -> ManifestError {
    ManifestError {
        code: Code::ManifestInvalid,
        message,
        span: Some(span),
    }
}

/// Parses `major.minor.patch` (each 0..=65535, decimal, no sign or padding beyond digits).
pub fn parse_version(text: &str) -> Option<SensorVersion> {
    let mut parts = text.split('.');
    let mut next = || -> Option<u16> {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let version = SensorVersion {
        major: next()?,
        minor: next()?,
        patch: next()?,
    };
    parts.next().is_none().then_some(version)
}

/// Parses and checks a manifest.
pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError {
        code: Code::ManifestSyntax,
        message: e.message().trim().to_string(),
        span: e.span(),
    })?;
    let version = parse_version(raw.version.get_ref()).ok_or_else(|| {
        invalid(
            format!(
                "version `{}` is not `major.minor.patch` with numbers up to 65535",
                raw.version.get_ref()
            ),
            raw.version.span(),
        )
    })?;
    let mut templates: Vec<TemplateInterface> = Vec::with_capacity(raw.template.len());
    // Ids and names seen so far: duplicates found in constant time each (comparing every
    // template with all before it took a minute on 90,000 templates).
    let mut ids: HashSet<u32> = HashSet::with_capacity(raw.template.len());
    let mut names: HashSet<String> = HashSet::with_capacity(raw.template.len());
    for t in raw.template {
        let id = *t.id.get_ref();
        if !ids.insert(id) {
            return Err(invalid(
                format!("template type id {id} is listed twice"),
                t.id.span(),
            ));
        }
        let name = t.name.get_ref();
        if !is_valid_name(name) {
            return Err(invalid(
                format!("template type name `{name}` is not a valid name"),
                t.name.span(),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(invalid(
                format!("template type name `{name}` is used twice"),
                t.name.span(),
            ));
        }
        if t.fields.len() > dcf_parser::limits::MAX_FIELDS_PER_TEMPLATE as usize {
            return Err(invalid(
                format!(
                    "template type `{name}` has {} fields; the format allows {}",
                    t.fields.len(),
                    dcf_parser::limits::MAX_FIELDS_PER_TEMPLATE
                ),
                t.name.span(),
            ));
        }
        let mut fields: Vec<FieldInterface> = Vec::with_capacity(t.fields.len());
        let mut field_names: HashSet<String> = HashSet::with_capacity(t.fields.len());
        for f in t.fields {
            let field_name = f.name.get_ref();
            if !is_valid_name(field_name) {
                return Err(invalid(
                    format!("field name `{field_name}` is not a valid name"),
                    f.name.span(),
                ));
            }
            if !field_names.insert(field_name.clone()) {
                return Err(invalid(
                    format!("field `{field_name}` of template type `{name}` is listed twice"),
                    f.name.span(),
                ));
            }
            let kind = FieldType::from_name(f.kind.get_ref()).ok_or_else(|| {
                invalid(
                    format!(
                        "field type `{}` is not one of string, integer, ip",
                        f.kind.get_ref()
                    ),
                    f.kind.span(),
                )
            })?;
            let max_len = match f.max_len {
                None => None,
                Some(len) if kind != FieldType::String => {
                    return Err(invalid(
                        format!(
                            "field `{field_name}` is of type {kind}; `max_len` bounds string fields only"
                        ),
                        len.span(),
                    ));
                }
                Some(len) if *len.get_ref() == 0 => {
                    return Err(invalid(
                        format!(
                            "field `{field_name}` has `max_len = 0`; a bound is at least 1 byte"
                        ),
                        len.span(),
                    ));
                }
                Some(len) => Some(len.into_inner()),
            };
            fields.push(FieldInterface {
                name: f.name.into_inner(),
                kind,
                max_len,
            });
        }
        templates.push(TemplateInterface {
            id,
            name: t.name.into_inner(),
            fields,
        });
    }
    let budget = match raw.budget {
        None => Budget::default(),
        Some(spanned) => {
            let span = spanned.span();
            let budget = spanned.into_inner();
            if budget.steps_per_byte == 0 || budget.steps_per_event == 0 || budget.memory == 0 {
                return Err(invalid(
                    "every `budget` value is at least 1 (a budget of 0 refuses every content)"
                        .to_string(),
                    span,
                ));
            }
            budget
        }
    };
    Ok(SensorInterface {
        sensor: raw.sensor,
        version,
        templates,
        budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("7.11.0"),
            Some(SensorVersion {
                major: 7,
                minor: 11,
                patch: 0
            })
        );
        for bad in [
            "7.11",
            "7.11.0.1",
            "7..0",
            "7.11.65536",
            "+7.1.0",
            "7.1.x",
            "",
        ] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_and_checks() {
        let m = from_toml(
            "version = \"7.11.0\"\n[[template]]\nid = 4\nname = \"ipc\"\nfields = [\n  { name = \"pipe\", type = \"string\" },\n  { name = \"pid\", type = \"integer\" },\n]\n",
        )
        .unwrap();
        assert_eq!(m.templates[0].fields.len(), 2);
        assert_eq!(m.templates[0].field_index("pid"), Some(1));

        let e = from_toml("version = \"7.11.0\"\nfoo = 1\n").unwrap_err();
        assert_eq!(e.code, Code::ManifestSyntax);
        assert!(e.span.is_some());

        let e = from_toml(
            "version = \"7.11.0\"\n[[template]]\nid = 4\nname = \"a\"\n[[template]]\nid = 4\nname = \"b\"\n",
        )
        .unwrap_err();
        assert_eq!(e.code, Code::ManifestInvalid);
        assert!(e.message.contains("listed twice"), "{}", e.message);

        let e = from_toml(
            "version = \"7.11.0\"\n[[template]]\nid = 4\nname = \"a\"\nfields = [{ name = \"x\", type = \"float\" }]\n",
        )
        .unwrap_err();
        assert!(e.message.contains("float"));
    }

    #[test]
    fn max_len_bounds_string_fields_only() {
        let manifest = |fields: &str| {
            from_toml(&format!(
                "version = \"7.11.0\"\n[[template]]\nid = 4\nname = \"ipc\"\nfields = [{fields}]\n"
            ))
        };
        let m = manifest(
            "{ name = \"pipe\", type = \"string\", max_len = 256 }, { name = \"pid\", type = \"integer\" }",
        )
        .unwrap();
        assert_eq!(m.templates[0].fields[0].max_len, Some(256));
        assert_eq!(m.templates[0].fields[1].max_len, None);
        let e = manifest("{ name = \"pid\", type = \"integer\", max_len = 8 }").unwrap_err();
        assert_eq!(e.code, Code::ManifestInvalid);
        assert!(e.message.contains("string fields only"), "{}", e.message);
        assert!(e.span.is_some());
        let e = manifest("{ name = \"pipe\", type = \"string\", max_len = 0 }").unwrap_err();
        assert!(e.message.contains("at least 1 byte"), "{}", e.message);
        let e = manifest("{ name = \"pipe\", type = \"string\", max_len = -1 }").unwrap_err();
        assert_eq!(e.code, Code::ManifestSyntax);
    }
}
