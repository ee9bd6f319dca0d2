//! Log sources and template types: naming, stable ids, field-name mapping, and the generator of
//! the reference manifest from SigmaHQ's declared fields (`tests/logsource.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value as Json;

use crate::yaml::{self, YamlValue};
use dcf_sensor::is_valid_name;

/// Product placeholder of log sources without a product (SigmaHQ's `empty` key).
pub const ANY_PRODUCT: &str = "any";

/// A log source as the manifest knows it: one template type each.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKey {
    /// `product` + `category`.
    Category {
        /// Product (or [`ANY_PRODUCT`]).
        product: String,
        /// Category.
        category: String,
    },
    /// `product` + `service`.
    Service {
        /// Product (or [`ANY_PRODUCT`]).
        product: String,
        /// Service.
        service: String,
    },
    /// `product` alone.
    Product {
        /// Product.
        product: String,
    },
}

impl SourceKey {
    /// The template type name: `windows.process_creation`, `windows.service.security`,
    /// `linux`, `any.proxy` (invalid characters mapped as for fields).
    pub fn template_name(&self) -> String {
        let raw = match self {
            SourceKey::Category { product, category } => format!("{product}.{category}"),
            SourceKey::Service { product, service } => format!("{product}.service.{service}"),
            SourceKey::Product { product } => product.clone(),
        };
        field_name(&raw)
    }

    /// The canonical key the template id is derived from: `windows/category/process_creation`.
    pub fn canonical(&self) -> String {
        match self {
            SourceKey::Category { product, category } => format!("{product}/category/{category}"),
            SourceKey::Service { product, service } => format!("{product}/service/{service}"),
            SourceKey::Product { product } => format!("{product}/product"),
        }
    }

    /// The stable template type id: 32-bit FNV-1a of [`SourceKey::canonical`].
    pub fn template_id(&self) -> u32 {
        fnv1a32(self.canonical().as_bytes())
    }

    /// `windows/process_creation`, for messages.
    pub fn display(&self) -> String {
        match self {
            SourceKey::Category { product, category } => format!("{product}/{category}"),
            SourceKey::Service { product, service } => format!("{product}/service {service}"),
            SourceKey::Product { product } => product.clone(),
        }
    }
}

/// 32-bit FNV-1a.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// A rule's `logsource`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

impl LogSource {
    /// Reads `product`, `category` and `service` (other keys, like `definition`, are ignored).
    pub fn from_yaml(value: Option<&YamlValue>) -> LogSource {
        let get = |k: &str| {
            value
                .and_then(|v| v.get(k))
                .and_then(YamlValue::scalar_text)
                .filter(|s| !s.is_empty())
        };
        LogSource {
            product: get("product"),
            category: get("category"),
            service: get("service"),
        }
    }

    /// The template types this log source may map to, in the order SigmaHQ resolves them:
    /// the category's, then the service's; the product's alone when neither is given.
    pub fn candidates(&self) -> Vec<SourceKey> {
        let product = self
            .product
            .clone()
            .unwrap_or_else(|| ANY_PRODUCT.to_string());
        let mut out = Vec::new();
        if let Some(category) = &self.category {
            out.push(SourceKey::Category {
                product: product.clone(),
                category: category.clone(),
            });
        }
        if let Some(service) = &self.service {
            out.push(SourceKey::Service {
                product: product.clone(),
                service: service.clone(),
            });
        }
        if out.is_empty() && self.product.is_some() {
            out.push(SourceKey::Product { product });
        }
        out
    }

    /// `windows/process_creation`, for messages.
    pub fn display(&self) -> String {
        let parts: Vec<&str> = [&self.product, &self.category, &self.service]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        if parts.is_empty() {
            "(none)".to_string()
        } else {
            parts.join("/")
        }
    }
}

/// Maps a Sigma field name to a manifest field name. Valid names stay as they are. Otherwise
/// every byte outside ASCII letters, digits, `_`, `.` and `-` becomes `_` followed by two
/// uppercase hex digits, and a leading digit gets a `_` prefix: `cap_fe,cap_fi` →
/// `cap_fe_2Ccap_fi`. The generator refuses a manifest in which two names collide.
pub fn field_name(sigma: &str) -> String {
    if is_valid_name(sigma) {
        return sigma.to_string();
    }
    let mut out = String::with_capacity(sigma.len() + 4);
    if sigma.starts_with(|c: char| c.is_ascii_digit()) || sigma.is_empty() {
        out.push('_');
    }
    for b in sigma.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// The field of the raw log line, given to log sources that declare no fields.
pub const RAW_MESSAGE_FIELD: &str = "message";

/// One template of the generated manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedTemplate {
    /// The log source.
    pub key: SourceKey,
    /// Field names (already mapped), in order.
    pub fields: Vec<String>,
    /// How many of the fields come from the rules rather than from `logsource.json`.
    pub observed: usize,
}

/// Builds the reference manifest's templates from `logsource.json` (and, for log sources
/// SigmaHQ declares no fields for, the fields the rules under `rules_root` read).
///
/// For each product of `legit`: one template per category and per service, with the declared
/// fields, then the `addon` fields of the same category or service, then the product's
/// `common` fields, without repeats; and one template for the product alone (its `empty`
/// list plus `common`). SigmaHQ's own check skips log sources whose list is empty or only the
/// common fields; for those (and only those) the fields read by rules of that log source are
/// appended in sorted order, so that every SigmaHQ rule has a template while a new rule
/// reading a new field still fails the interface check until the manifest is regenerated.
pub fn generate_templates(
    logsource_json: &str,
    rules_root: Option<&Path>,
) -> Result<Vec<GeneratedTemplate>, String> {
    let json: Json = serde_json::from_str(logsource_json).map_err(|e| e.to_string())?;
    let legit = json
        .get("legit")
        .and_then(Json::as_object)
        .ok_or("logsource.json has no `legit` object")?;
    let addon = json.get("addon").and_then(Json::as_object);
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut declared: BTreeMap<SourceKey, (Vec<String>, bool)> = BTreeMap::new();
    for (product_key, body) in legit {
        let product = if product_key == "empty" {
            ANY_PRODUCT.to_string()
        } else {
            product_key.clone()
        };
        let common = strings(body.get("common"));
        for (section, is_category) in [("category", true), ("service", false)] {
            let Some(map) = body.get(section).and_then(Json::as_object) else {
                continue;
            };
            for (name, list) in map {
                let mut fields = strings(Some(list));
                fields.extend(strings(
                    addon
                        .and_then(|a| a.get(product_key))
                        .and_then(|p| p.get(section))
                        .and_then(|s| s.get(name)),
                ));
                let unchecked = fields.is_empty();
                fields.extend(common.iter().cloned());
                let key = if is_category {
                    SourceKey::Category {
                        product: product.clone(),
                        category: name.clone(),
                    }
                } else {
                    SourceKey::Service {
                        product: product.clone(),
                        service: name.clone(),
                    }
                };
                let unchecked = unchecked || same_set(&fields, &common);
                declared.insert(key, (fields, unchecked));
            }
        }
        if product != ANY_PRODUCT {
            let mut fields = strings(body.get("empty"));
            fields.extend(common.iter().cloned());
            let unchecked = same_set(&fields, &common);
            declared.insert(SourceKey::Product { product }, (fields, unchecked));
        }
    }
    let mut observed: BTreeMap<SourceKey, BTreeSet<String>> = BTreeMap::new();
    if let Some(root) = rules_root {
        for file in crate::rule_files(&[root.to_path_buf()]).map_err(|e| e.to_string())? {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(docs) = yaml::parse_documents(&text) else {
                continue;
            };
            let Some(doc) = docs.first() else { continue };
            let source = LogSource::from_yaml(doc.get("logsource"));
            let Some(key) = source
                .candidates()
                .into_iter()
                .find(|k| declared.contains_key(k))
            else {
                continue;
            };
            if let Some(detection) = doc.get("detection") {
                observed
                    .entry(key)
                    .or_default()
                    .extend(detection_fields(detection));
            }
        }
    }
    let mut out = Vec::with_capacity(declared.len());
    let mut ids: BTreeMap<u32, SourceKey> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (key, (fields, unchecked)) in declared {
        if let Some(other) = ids.insert(key.template_id(), key.clone()) {
            return Err(format!(
                "template id collision between {} and {}",
                other.canonical(),
                key.canonical()
            ));
        }
        if !names.insert(key.template_name()) {
            return Err(format!("template name collision: {}", key.template_name()));
        }
        let mut mapped: Vec<String> = Vec::with_capacity(fields.len());
        let mut originals: BTreeMap<String, String> = BTreeMap::new();
        let mut push = |name: &str, mapped: &mut Vec<String>| -> Result<bool, String> {
            let m = field_name(name);
            match originals.get(&m) {
                Some(orig) if orig == name => Ok(false),
                Some(orig) => Err(format!(
                    "fields `{orig}` and `{name}` of {} map to the same name `{m}`",
                    key.display()
                )),
                None => {
                    originals.insert(m.clone(), name.to_string());
                    mapped.push(m);
                    Ok(true)
                }
            }
        };
        for f in &fields {
            push(f, &mut mapped)?;
        }
        let mut added = 0;
        if unchecked && let Some(seen) = observed.get(&key) {
            for f in seen {
                if push(f, &mut mapped)? {
                    added += 1;
                }
            }
        }
        // A log source with no fields at all (application logs, syslog-style services: their
        // rules are keyword searches) still has its raw log line. Keyword searches look at the
        // event's string fields, so without this field those rules could never match; `dcf
        // test` found the 55 SigmaHQ rules concerned.
        if mapped.is_empty() {
            mapped.push(RAW_MESSAGE_FIELD.to_string());
        }
        out.push(GeneratedTemplate {
            key,
            fields: mapped,
            observed: added,
        });
    }
    out.sort_by_key(|t| t.key.template_name());
    Ok(out)
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

/// The field names a detection reads: the field of every map item and every `fieldref` value.
pub fn detection_fields(detection: &YamlValue) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let YamlValue::Map(entries) = detection else {
        return out;
    };
    let map_fields = |items: &[(String, YamlValue)], out: &mut BTreeSet<String>| {
        for (key, value) in items {
            let mut parts = key.split('|');
            let field = parts.next().unwrap_or("");
            if field.is_empty() {
                continue;
            }
            out.insert(field.to_string());
            if parts.any(|m| m == "fieldref") {
                let values: Vec<&YamlValue> = match value {
                    YamlValue::Seq(list) => list.iter().collect(),
                    other => vec![other],
                };
                out.extend(values.into_iter().filter_map(YamlValue::scalar_text));
            }
        }
    };
    for (name, value) in entries {
        if name == "condition" || name == "timeframe" {
            continue;
        }
        match value {
            YamlValue::Map(items) => map_fields(items, &mut out),
            YamlValue::Seq(list) => {
                for v in list {
                    if let YamlValue::Map(items) = v {
                        map_fields(items, &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Renders the generated manifest as TOML.
pub fn render_manifest(templates: &[GeneratedTemplate], source_note: &str) -> String {
    let mut out = String::new();
    out.push_str(
        "# The reference sensor of SigmaHQ's log sources: one template type per log source.\n",
    );
    out.push_str(
        "# Generated by `cargo run -p dcf-sigma --bin sigma-manifest`; do not edit by hand.\n",
    );
    out.push_str(&format!("# Source: {source_note}\n"));
    out.push_str(
        "# Template ids are FNV-1a (32-bit) of the canonical key shown above each template.\n",
    );
    out.push_str("sensor = \"sigmahq-reference\"\nversion = \"1.0.0\"\n");
    for t in templates {
        out.push('\n');
        out.push_str(&format!("# {}", t.key.canonical()));
        if t.observed > 0 {
            out.push_str(&format!(
                "; SigmaHQ declares no fields: the last {} are those its rules read",
                t.observed
            ));
        } else if t.fields == [RAW_MESSAGE_FIELD] {
            out.push_str("; no declared fields and none read: the raw log line, for keywords");
        }
        out.push('\n');
        out.push_str("[[template]]\n");
        out.push_str(&format!("id = {}\n", t.key.template_id()));
        out.push_str(&format!("name = \"{}\"\n", t.key.template_name()));
        if t.fields.is_empty() {
            out.push_str("fields = []\n");
        } else {
            out.push_str("fields = [\n");
            for f in &t.fields {
                out.push_str(&format!("    {{ name = \"{f}\", type = \"string\" }},\n"));
            }
            out.push_str("]\n");
        }
    }
    out
}

/// The reference manifest text for a SigmaHQ data directory (with `tests/logsource.json` and
/// `rules/`), exactly as `manifests/sigmahq.toml` is committed.
pub fn reference_manifest(sigma_dir: &Path) -> Result<String, String> {
    let json_path = sigma_dir.join("tests/logsource.json");
    let json =
        std::fs::read_to_string(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let title = serde_json::from_str::<Json>(&json)
        .ok()
        .and_then(|j| j.get("title").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_default();
    let templates = generate_templates(&json, Some(&sigma_dir.join("rules")))?;
    Ok(render_manifest(
        &templates,
        &format!(
            "SigmaHQ tests/logsource.json ({title}) and the fields of SigmaHQ rules/ where it declares none"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        let k = SourceKey::Category {
            product: "windows".into(),
            category: "process_creation".into(),
        };
        assert_eq!(k.template_name(), "windows.process_creation");
        assert_eq!(
            k.template_id(),
            fnv1a32(b"windows/category/process_creation")
        );
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(field_name("cap_fe,cap_fi"), "cap_fe_2Ccap_fi");
        assert_eq!(field_name("1abc"), "_1abc");
        assert_eq!(field_name("Image"), "Image");
        let s = LogSource {
            product: None,
            category: Some("proxy".into()),
            service: None,
        };
        assert_eq!(s.candidates()[0].template_name(), "any.proxy");
    }
}
