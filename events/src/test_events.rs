//! Test events in JSON Lines: one event per line, fields by name, and optionally the rules it
//! must and must not match.
//!
//! ```json
//! {"template": "process_creation", "fields": {"image": "C:\\Windows\\whoami.exe", "pid": 4},
//!  "match": ["29107e1e-0000-4000-8000-000000000001"], "no_match": []}
//! ```
//!
//! `template` is a template type name or id. Field values are JSON strings, numbers, booleans
//! or null; each is converted to the type the sensor supplies for that field. Blank lines and
//! lines starting with `#` or `//` are skipped.

use dcf_parser::RuleId;
use dcf_sensor::{SensorInterface, TemplateInterface};
use serde::Deserialize;

use crate::value::{OwnedValue, convert};

/// How an event names its template type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateRef {
    /// By name.
    Name(String),
    /// By id.
    Id(u32),
}

/// One event of an events file.
#[derive(Clone, Debug, PartialEq)]
pub struct TestEvent {
    /// 1-based line number in its file.
    pub line: usize,
    /// The template type.
    pub template: TemplateRef,
    /// Field values by name, in file order.
    pub fields: Vec<(String, serde_json::Value)>,
    /// Rules the event must match.
    pub must_match: Vec<RuleId>,
    /// Rules the event must not match.
    pub must_not_match: Vec<RuleId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    template: serde_json::Value,
    #[serde(default)]
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(default, rename = "match")]
    must_match: Vec<String>,
    #[serde(default)]
    no_match: Vec<String>,
}

/// A malformed line: its number and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the line in the file.
    pub offset: usize,
    /// Length of the line.
    pub len: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses an events file; every malformed line is reported.
pub fn parse_events(text: &str) -> Result<Vec<TestEvent>, Vec<EventError>> {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut offset = 0usize;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_offset = offset;
        offset = offset.saturating_add(raw_line.len());
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let number = index.saturating_add(1);
        let error = |message: String| EventError {
            line: number,
            offset: line_offset,
            len: line.len().max(1),
            message,
        };
        match parse_line(trimmed, number) {
            Ok(e) => events.push(e),
            Err(message) => errors.push(error(message)),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str, number: usize) -> Result<TestEvent, String> {
    let raw: RawEvent = serde_json::from_str(line).map_err(|e| {
        format!(
            "not an event object ({e}); expected {{\"template\": ..., \"fields\": {{...}}, \"match\": [...], \"no_match\": [...]}}"
        )
    })?;
    let template = match &raw.template {
        serde_json::Value::String(s) => TemplateRef::Name(s.clone()),
        serde_json::Value::Number(n) => TemplateRef::Id(
            n.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| format!("template id {n} is not a 32-bit unsigned integer"))?,
        ),
        other => return Err(format!("`template` is {other}, not a name or an id")),
    };
    for (name, value) in &raw.fields {
        if matches!(
            value,
            serde_json::Value::Array(_) | serde_json::Value::Object(_)
        ) {
            return Err(format!(
                "field `{name}` is a JSON array or object; a field value is a string, number, boolean or null"
            ));
        }
    }
    let ids = |list: &[String]| -> Result<Vec<RuleId>, String> {
        list.iter()
            .map(|s| RuleId::parse(s).ok_or_else(|| format!("`{s}` is not a rule id (a UUID)")))
            .collect()
    };
    Ok(TestEvent {
        line: number,
        template,
        fields: raw.fields.into_iter().collect(),
        must_match: ids(&raw.must_match)?,
        must_not_match: ids(&raw.no_match)?,
    })
}

/// The template of `interface` an event names.
pub fn resolve_template<'i>(
    interface: &'i SensorInterface,
    template: &TemplateRef,
) -> Option<&'i TemplateInterface> {
    match template {
        TemplateRef::Name(name) => interface.template_named(name),
        TemplateRef::Id(id) => interface.template(*id),
    }
}

/// The field array an event gives a sensor's template: every supplied field, null unless the
/// event names it. Names this sensor does not supply are left out (the sensor cannot deliver
/// them), and returned so the caller can tell typos from fields of other sensor versions.
pub fn field_array(
    template: &TemplateInterface,
    event: &TestEvent,
) -> Result<(Vec<OwnedValue>, Vec<String>), String> {
    let mut values = vec![OwnedValue::Null; template.fields.len()];
    let mut unknown = Vec::new();
    for (name, json) in &event.fields {
        match template.field_index(name) {
            Some(index) => {
                let kind = template.fields.get(index).map(|f| f.kind);
                let slot = values.get_mut(index);
                if let (Some(kind), Some(slot)) = (kind, slot) {
                    *slot = convert(kind, json).map_err(|e| format!("field `{name}`: {e}"))?;
                }
            }
            None => unknown.push(name.clone()),
        }
    }
    Ok((values, unknown))
}

/// Problems of events that no sensor of the fleet could deliver: a template type none
/// implements, a field none supplies for it, a value of the wrong type. Returns `(line,
/// message)` pairs; fields only some versions supply are fine (the others leave them out).
pub fn check_against(events: &[TestEvent], fleet: &[SensorInterface]) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    for event in events {
        let templates: Vec<&TemplateInterface> = fleet
            .iter()
            .filter_map(|m| resolve_template(m, &event.template))
            .collect();
        if templates.is_empty() {
            let name = match &event.template {
                TemplateRef::Name(n) => format!("`{n}`"),
                TemplateRef::Id(id) => format!("id {id}"),
            };
            problems.push((
                event.line,
                format!("no sensor manifest implements template type {name}"),
            ));
            continue;
        }
        for t in &templates {
            if let Err(message) = field_array(t, event) {
                problems.push((event.line, message));
                break;
            }
        }
        for (name, _) in &event.fields {
            if !templates.iter().any(|t| t.field_index(name).is_some()) {
                problems.push((
                    event.line,
                    format!(
                        "no sensor manifest supplies field `{name}` for template type `{}`",
                        templates
                            .first()
                            .map(|t| t.name.as_str())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_each_bad_one() {
        let text = "# comment\n\n{\"template\": \"p\", \"fields\": {\"a\": \"x\", \"n\": 3}, \"match\": [\"29107e1e-0000-4000-8000-000000000291\"]}\n{\"template\": 7}\n{oops\n{\"template\": \"p\", \"fields\": {\"a\": [1]}}\n{\"template\": \"p\", \"match\": [\"nope\"]}\n";
        let errors = parse_events(text).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert!(errors[2].message.contains("nope"));
        let good = parse_events(
            "{\"template\": \"p\", \"fields\": {\"a\": \"x\", \"n\": 3}, \"match\": [\"29107e1e-0000-4000-8000-000000000291\"]}\n{\"template\": 7}\n",
        )
        .unwrap();
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].template, TemplateRef::Name("p".into()));
        assert_eq!(good[0].must_match.len(), 1);
        assert_eq!(good[1].template, TemplateRef::Id(7));
        assert_eq!(good[1].line, 2);
    }
}
