//! Contents derived from the one under test, to run parts of it in the interpreter: one
//! criterion per rule (to exercise every criterion on its own). They go through the real
//! writer, parser and binder, so the interpreter sees them exactly as it would see a content.

use std::collections::BTreeSet;

use dcf_parser::{Action, Content, Node, Rule, RuleId, Severity, Template};
use dcf_sensor::{LoadError, Ruleset, SensorInterface};

/// Rules per derived criterion content. Every probe is also evaluated exhaustively, over all
/// criteria of its template type in the same content, so this bounds the work per probe: the
/// whole dry run stays linear in the number of criteria.
pub const CRITERIA_PER_CONTENT: usize = 256;

/// Encodes, parses and binds a derived content to a sensor's interface, as the sensor's loader
/// does after its signature, time and sequence checks: a derived content is new bytes, so it
/// goes through the real writer and parser. The content under test is bound from its view.
pub fn bind(content: &Content, interface: &SensorInterface) -> Result<Ruleset, LoadError> {
    let bytes = content.encode().map_err(LoadError::Format)?;
    let view = dcf_parser::parse(&bytes).map_err(LoadError::Format)?;
    dcf_sensor::bind(&view, interface).into_result()
}

/// The content's template declarations whose ids appear in `used`, in content order.
fn used_templates(content: &Content, used: impl Iterator<Item = u32>) -> Vec<Template> {
    let used: BTreeSet<u32> = used.collect();
    content
        .templates
        .iter()
        .filter(|t| used.contains(&t.id))
        .cloned()
        .collect()
}

/// The id of the `n`th criterion rule: distinct, ascending in `n`.
pub fn criterion_id(n: usize) -> RuleId {
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&(n as u64).to_be_bytes());
    RuleId(id)
}

/// A content whose rule `k` is the criterion `criteria[k]` alone, on its rule's template.
pub fn criteria_content(
    content: &Content,
    criteria: &[(u32, Node<Vec<String>>)],
    first: usize,
) -> Content {
    Content {
        header: content.header,
        templates: used_templates(content, criteria.iter().map(|(t, _)| *t)),
        rules: criteria
            .iter()
            .enumerate()
            .map(|(k, (template, node))| Rule {
                id: criterion_id(first.saturating_add(k)),
                template: *template,
                title: String::new(),
                author: String::new(),
                severity: Severity::Informational,
                action: Action::Log,
                attributes: Vec::new(),
                expression: vec![node.clone()],
            })
            .collect(),
        extensions: Vec::new(),
        signature: None,
    }
}
