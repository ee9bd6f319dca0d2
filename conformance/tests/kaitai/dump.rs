//! Our side: the structure of a file in `dump.py`'s JSON format, from `dcf_parser`'s public
//! API only (raw numbers the API does not expose are re-derived from what it does).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use dcf_parser::format::{FLAG_SIGNED, FORMAT_MAJOR, MAGIC, match_flag, op};
use dcf_parser::{Match, Node, Operand, SensorVersion, Target, parse};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(s, "{b:02x}").expect("writing to a String");
    }
    s
}

/// The raw `(op, flags, field, a, b)` of a node, re-derived from its decoded form.
/// `value_cursor` is the position of the node's first value: value ranges tile the value
/// table in node order, which the parser checks.
fn raw_node<V>(node: &Node<V>, values: u32, value_cursor: &mut u32) -> Value {
    let (code, flags, field, a, b, value) = match node {
        Node::And { children } => (op::AND, 0, 0, *children, 0, None),
        Node::Or { children } => (op::OR, 0, 0, *children, 0, None),
        Node::Not => (op::NOT, 0, 0, 0, 0, None),
        Node::AtLeast { required, children } => (op::AT_LEAST, 0, 0, *required, *children, None),
        Node::Any { field } => (op::ANY, 0, *field, 0, 0, None),
        Node::Exists { field } => (op::EXISTS, 0, *field, 0, 0, None),
        Node::IsNull { field } => (op::IS_NULL, 0, *field, 0, 0, None),
        Node::Compare { op, field, value } => {
            let bits = *value as u64;
            (
                op.code(),
                0,
                *field,
                bits as u32,
                (bits >> 32) as u32,
                Some(*value),
            )
        }
        Node::Match(m) => {
            let mut flags = 0u8;
            if m.case_sensitive {
                flags |= match_flag::CASE_SENSITIVE;
            }
            if m.all_of {
                flags |= match_flag::ALL_OF;
            }
            let field = match m.target {
                Target::Field(f) => f,
                Target::Keyword => {
                    flags |= match_flag::KEYWORD;
                    0
                }
            };
            let (a, b) = match &m.operand {
                Operand::Field(other) => {
                    flags |= match_flag::FIELD_REF;
                    (u32::from(*other), 0)
                }
                Operand::Values(_) => {
                    let first = *value_cursor;
                    *value_cursor += values;
                    (first, values)
                }
            };
            (m.kind.code(), flags, field, a, b, None)
        }
    };
    let mut out = json!({"op": code, "flags": flags, "field": field, "a": a, "b": b});
    if let Some(value) = value {
        out["value"] = json!(value);
    }
    out
}

/// The canonical structure of a file as `dcf_parser` reads it (the format of `dump.py`).
fn ours(bytes: &[u8]) -> Result<Value, String> {
    let view = parse(bytes).map_err(|e| format!("dcf_parser rejects the file: {e}"))?;
    let strings = view.strings();
    let texts: Vec<&str> = (0..strings.len())
        .map(|i| strings.get(i).ok_or(format!("string {i} unreadable")))
        .collect::<Result<_, _>>()?;
    let sref = |text: &str| -> Result<Value, String> {
        let index = strings
            .find(text)
            .ok_or(format!("string {text:?} not found in the table"))?;
        Ok(json!({"index": index, "text": text}))
    };

    let mut end = 0usize;
    let ends: Vec<usize> = texts
        .iter()
        .map(|t| {
            end += t.len();
            end
        })
        .collect();
    let mut sorted: Vec<usize> = (0..texts.len()).collect();
    sorted.sort_by(|&x, &y| texts[x].as_bytes().cmp(texts[y].as_bytes()));

    let mut templates = Vec::new();
    let mut fields = Vec::new();
    let mut first_field = 0u32;
    for t in view.templates() {
        templates.push(json!({
            "id": t.id,
            "name": sref(t.name)?,
            "first_field": first_field,
            "field_count": t.field_count(),
        }));
        first_field += t.field_count();
        for f in t.fields() {
            fields.push(json!({"name": sref(f.name)?, "type": f.kind.code()}));
        }
    }
    if templates.len() != view.template_count() {
        return Err("templates() skipped a template".into());
    }

    let mut rules = Vec::new();
    let mut attributes = Vec::new();
    let mut values = Vec::new();
    let mut nodes = Vec::new();
    let mut value_cursor = 0u32;
    for r in view.rules() {
        let attr_first = attributes.len();
        for (key, value) in r.attributes() {
            attributes.push(json!({"key": sref(key)?, "value": sref(value)?}));
        }
        let mut node_count = 0u32;
        for node in r.expression() {
            node_count += 1;
            let list_len = match &node {
                Node::Match(Match {
                    operand: Operand::Values(list),
                    ..
                }) => {
                    for v in list.iter() {
                        values.push(sref(v)?);
                    }
                    list.len()
                }
                _ => 0,
            };
            nodes.push(raw_node(&node, list_len, &mut value_cursor));
        }
        if node_count != r.node_count() {
            return Err(format!("rule {}: expression() skipped a node", r.id));
        }
        rules.push(json!({
            "id": hex(&r.id.0),
            "template": r.template().index,
            "severity": r.severity.code(),
            "action": r.action.code(),
            "title": sref(r.title)?,
            "author": sref(r.author)?,
            "attr_first": attr_first,
            "attr_count": attributes.len() - attr_first,
            "node_first": r.first_node(),
            "node_count": r.node_count(),
        }));
    }
    if rules.len() != view.rule_count() {
        return Err("rules() skipped a rule".into());
    }

    let h = view.header();
    let signature = view.signature();
    let version = |v: &SensorVersion| json!([v.major, v.minor, v.patch]);
    Ok(json!({
        "file_size": view.frame().len(),
        "header": {
            "magic": hex(&MAGIC),
            "major": FORMAT_MAJOR,
            "minor": h.minor,
            // The parser rejects reserved bits, so SIGNED is the only flag a valid file has.
            "flags": if signature.is_some() { FLAG_SIGNED } else { 0 },
            "channel": h.channel,
            "sequence": h.sequence,
            "created_at": h.created_at,
            "expires_at": h.expires_at,
            "sensor_min": version(&h.sensor_min),
            "sensor_max": version(&h.sensor_max),
        },
        "sections": view
            .sections()
            .map(|s| json!({"tag": s.tag, "len": s.payload.len()}))
            .collect::<Vec<_>>(),
        "strings": {"text": texts, "ends": ends, "sorted": sorted},
        "templates": templates,
        "fields": fields,
        "attributes": attributes,
        "values": values,
        "rules": rules,
        "nodes": nodes,
        "extensions": view
            .extensions()
            .map(|s| json!({"tag": s.tag, "payload": hex(s.payload)}))
            .collect::<Vec<_>>(),
        "digest": hex(view.frame().digest()),
        "signature": signature.map(|s| json!({
            "key_id": hex(s.key_id),
            "signature": hex(s.signature),
        })),
    }))
}

/// Our reading of a file.
pub(crate) fn ours_of(file: &Path) -> Result<Value, String> {
    fs::read(file)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|bytes| ours(&bytes))
}
