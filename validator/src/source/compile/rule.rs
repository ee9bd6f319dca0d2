//! Rules: each rule's id (unique across sources), its attributes and its template type.

use std::collections::BTreeMap;

use dcf_parser::limits::{MAX_EXPRESSION_DEPTH, MAX_NODES_PER_RULE};
use dcf_parser::{Action, Attribute, Rule, RuleId, Severity};

use super::context::{Compiler, Keys, head, kind_of, suggest};
use super::expr::compile_expr;
use super::interface::Resolved;
use crate::codes::Code;
use crate::source::yaml::{self, Node as Y, Pos, Value};

/// A rule as read from a source, before field resolution.
pub(super) struct RuleSource<'y> {
    pub(super) file: usize,
    pub(super) id: RuleId,
    pub(super) id_pos: Pos,
    pub(super) node: &'y Y,
}

pub(super) fn read_rule_id<'y>(c: &mut Compiler<'_>, node: &'y Y) -> Option<RuleSource<'y>> {
    let Value::Map(_) = &node.value else {
        c.error(
            Code::SourceType,
            node.pos,
            format!("a rule must be a mapping, found {}", kind_of(node)),
        );
        return None;
    };
    let keys = Keys {
        map: match &node.value {
            Value::Map(m) => m,
            _ => return None,
        },
        pos: head(node),
    };
    let Some(id_node) = keys.get("id") else {
        c.error(
            Code::SourceMissingKey,
            head(node),
            "a rule needs the key `id`",
        );
        return None;
    };
    let text = c.string(id_node, "rule id")?;
    match RuleId::parse(&text) {
        Some(id) => Some(RuleSource {
            file: c.file,
            id,
            id_pos: id_node.pos,
            node,
        }),
        None => {
            c.error_help(
                Code::SourceInvalidValue,
                id_node.pos,
                format!("rule id `{text}` is not a UUID"),
                "write a UUID such as 6f1c2d9e-4b7a-4c1e-9a53-2f0d8e7b1c44",
            );
            None
        }
    }
}

pub(super) const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "author",
    "template",
    "severity",
    "action",
    "description",
    "tags",
    "references",
    "attributes",
    "condition",
];

pub(super) fn compile_rule(
    c: &mut Compiler<'_>,
    r: &RuleSource<'_>,
    interface: &BTreeMap<u32, Resolved>,
) -> Option<Rule> {
    let keys = c.keys(r.node, "a rule", RULE_KEYS)?;
    let title = c
        .required(&keys, "title", "a rule")
        .and_then(|n| c.string(n, "title"));
    let author = c
        .required(&keys, "author", "a rule")
        .and_then(|n| c.string(n, "author"));
    let severity = c.required(&keys, "severity", "a rule").and_then(|n| {
        let text = c.string(n, "severity")?;
        let s = Severity::from_name(&text);
        if s.is_none() {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!(
                    "severity `{text}` is not one of {}",
                    Severity::ALL
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        s
    });
    let action = c.required(&keys, "action", "a rule").and_then(|n| {
        let text = c.string(n, "action")?;
        let a = Action::from_name(&text);
        if a.is_none() {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!("action `{text}` is not one of log, detect, block"),
            );
        }
        a
    });
    let template = c
        .required(&keys, "template", "a rule")
        .and_then(|n| resolve_template(c, n, interface));

    let mut attributes = Vec::new();
    let mut attrs_ok = true;
    if let Some(n) = keys.get("description") {
        match c.string(n, "description") {
            Some(value) => attributes.push(Attribute {
                key: "description".into(),
                value,
            }),
            None => attrs_ok = false,
        }
    }
    for (key, attr) in [("tags", "tag"), ("references", "reference")] {
        if let Some(n) = keys.get(key) {
            match c.strings(n, key) {
                Some(values) => attributes.extend(values.into_iter().map(|value| Attribute {
                    key: attr.into(),
                    value,
                })),
                None => attrs_ok = false,
            }
        }
    }
    if let Some(n) = keys.get("attributes") {
        match &n.value {
            Value::Seq(items) => {
                for item in items {
                    match &item.value {
                        Value::Map(entries) if entries.len() == 1 => {
                            for (k, v) in entries {
                                let key = yaml::scalar_text(k).cloned().unwrap_or_default();
                                match c.string(v, "an attribute value") {
                                    Some(value) => attributes.push(Attribute { key, value }),
                                    None => attrs_ok = false,
                                }
                            }
                        }
                        _ => {
                            c.error_help(
                                Code::SourceType,
                                item.pos,
                                "each attribute must be a mapping with one key",
                                "write e.g. `- status: stable`",
                            );
                            attrs_ok = false;
                        }
                    }
                }
            }
            _ => {
                c.error(
                    Code::SourceType,
                    n.pos,
                    format!("`attributes` must be a sequence, found {}", kind_of(n)),
                );
                attrs_ok = false;
            }
        }
    }

    let condition = c.required(&keys, "condition", "a rule");
    let (template_id, resolved) = template?;
    let condition = condition?;
    let mut expression = Vec::new();
    let depth = compile_expr(c, condition, resolved, &mut expression, 1)?;
    if usize::from(MAX_EXPRESSION_DEPTH) < depth {
        c.error_help(
            Code::EncodeRejected,
            head(condition),
            format!(
                "the condition nests {depth} levels deep; the format allows {MAX_EXPRESSION_DEPTH}"
            ),
            "flatten nested `and`/`or` of the same kind",
        );
        return None;
    }
    if expression.len() > MAX_NODES_PER_RULE as usize {
        c.error_help(
            Code::EncodeRejected,
            head(condition),
            format!(
                "the condition compiles to {} nodes; the format allows {MAX_NODES_PER_RULE} per rule",
                expression.len()
            ),
            "split the rule",
        );
        return None;
    }
    Some(Rule {
        id: r.id,
        template: template_id,
        title: title?,
        author: author?,
        severity: severity?,
        action: action?,
        attributes: if attrs_ok { attributes } else { return None },
        expression,
    })
}

pub(super) fn resolve_template<'i>(
    c: &mut Compiler<'_>,
    node: &Y,
    interface: &'i BTreeMap<u32, Resolved>,
) -> Option<(u32, &'i Resolved)> {
    let found = match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            let id: u32 = c.ranged(node, "template id", "0 to 4294967295")?;
            interface.get_key_value(&id).map(|(k, v)| (*k, v))
        }
        _ => {
            let name = c.string(node, "template")?;
            interface
                .iter()
                .find(|(_, t)| t.name == name)
                .map(|(k, v)| (*k, v))
        }
    };
    if found.is_none() {
        let text = yaml::scalar_text(node).cloned().unwrap_or_default();
        let known: Vec<&str> = interface.values().map(|t| t.name.as_str()).collect();
        let help = match suggest(&text, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => {
                "no manifest was given: pass the sensor manifests with --manifest".to_string()
            }
            None => format!("the manifests define: {}", known.join(", ")),
        };
        c.error_help(
            Code::UnknownTemplate,
            node.pos,
            format!("template type `{text}` is not defined by any manifest given"),
            help,
        );
    }
    found
}
