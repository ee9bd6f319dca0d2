//! Template types: declarations from the manifests and from sources' `templates:`
//! sections, resolved into one field list per template type.

use std::collections::BTreeMap;

use dcf_parser::{Field, FieldType};

use super::context::{Compiler, kind_of};
use crate::codes::Code;
use crate::source::yaml::{Node as Y, Value};

/// A template type as the compiler resolved it from manifests and declarations.
#[derive(Clone, Debug)]
pub(super) struct Resolved {
    pub(super) name: String,
    pub(super) fields: Vec<Field>,
    /// Where the longest field list came from.
    pub(super) origin: String,
    /// Declared in a source's `templates:` section: declared even if no rule uses it.
    pub(super) declared: bool,
}

/// A template declaration from a manifest or a source `templates:` section.
pub(super) struct Declaration {
    pub(super) id: u32,
    pub(super) name: String,
    pub(super) fields: Vec<Field>,
    pub(super) origin: String,
    pub(super) declared: bool,
}

pub(super) fn field_type(c: &mut Compiler<'_>, node: &Y) -> Option<FieldType> {
    let text = c.string(node, "a field type")?;
    let t = FieldType::from_name(&text);
    if t.is_none() {
        c.error(
            Code::SourceInvalidValue,
            node.pos,
            format!("field type `{text}` is not one of string, integer, ip"),
        );
    }
    t
}

pub(super) fn read_declarations(c: &mut Compiler<'_>, node: &Y, out: &mut Vec<Declaration>) {
    let Value::Seq(items) = &node.value else {
        c.error(
            Code::SourceType,
            node.pos,
            format!("`templates` must be a sequence, found {}", kind_of(node)),
        );
        return;
    };
    let file = c
        .sources
        .get(c.file)
        .map_or("?", |s| s.name.as_str())
        .to_string();
    for item in items {
        let Some(keys) = c.keys(item, "a template declaration", &["id", "name", "fields"]) else {
            continue;
        };
        let id = c
            .required(&keys, "id", "a template declaration")
            .and_then(|n| c.ranged::<u32>(n, "template id", "0 to 4294967295"));
        let name = c
            .required(&keys, "name", "a template declaration")
            .and_then(|n| c.string(n, "template name"));
        let mut fields = Vec::new();
        let mut ok = true;
        if let Some(list) = keys.get("fields") {
            match &list.value {
                Value::Seq(entries) => {
                    for e in entries {
                        let Some(fk) = c.keys(e, "a field declaration", &["name", "type"]) else {
                            ok = false;
                            continue;
                        };
                        let n = c
                            .required(&fk, "name", "a field declaration")
                            .and_then(|n| c.string(n, "field name"));
                        let t = c
                            .required(&fk, "type", "a field declaration")
                            .and_then(|n| field_type(c, n));
                        match (n, t) {
                            (Some(name), Some(kind)) => fields.push(Field { name, kind }),
                            _ => ok = false,
                        }
                    }
                }
                _ => {
                    c.error(
                        Code::SourceType,
                        list.pos,
                        format!("`fields` must be a sequence, found {}", kind_of(list)),
                    );
                    ok = false;
                }
            }
        }
        if let (Some(id), Some(name), true) = (id, name, ok) {
            let (line, _) = c.line_column(c.file, item.pos.start);
            out.push(Declaration {
                id,
                name,
                fields,
                origin: format!("declaration at {file}:{line}"),
                declared: true,
            });
        }
    }
}

/// Merges declarations by template id: names must agree, and every field list must be a
/// prefix of the longest, which becomes the declared interface (append-only layouts).
pub(super) fn resolve_interface(
    c: &mut Compiler<'_>,
    declarations: Vec<Declaration>,
) -> BTreeMap<u32, Resolved> {
    let mut out: BTreeMap<u32, Resolved> = BTreeMap::new();
    for d in declarations {
        // A name keeps its id across sensor versions; declarations (what `decompile` writes of
        // content that gives two ids one name) are exempt, and rules then name the id.
        if let Some((other_id, other)) = out
            .iter()
            .find(|(id, t)| **id != d.id && t.name == d.name && !d.declared && !t.declared)
        {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type name `{}` is id {} in {} but id {other_id} in {}",
                    d.name, d.id, d.origin, other.origin
                ),
                "a template type keeps its id in every sensor version; fix the manifests",
            );
            continue;
        }
        let Some(existing) = out.get_mut(&d.id) else {
            out.insert(
                d.id,
                Resolved {
                    name: d.name,
                    fields: d.fields,
                    origin: d.origin,
                    declared: d.declared,
                },
            );
            continue;
        };
        existing.declared |= d.declared;
        if existing.name != d.name {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type {} is `{}` in {} but `{}` in {}",
                    d.id, existing.name, existing.origin, d.name, d.origin
                ),
                "a template type keeps its name in every sensor version; fix the manifests",
            );
            continue;
        }
        let conflict = existing
            .fields
            .iter()
            .zip(&d.fields)
            .enumerate()
            .find(|(_, (a, b))| a != b);
        if let Some((index, (a, b))) = conflict {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type {} `{}`: field {index} is `{}` ({}) in {} but `{}` ({}) in {}",
                    d.id, d.name, a.name, a.kind, existing.origin, b.name, b.kind, d.origin
                ),
                "field layouts are append-only across sensor versions: index i means the same field in every version that supplies it",
            );
            continue;
        }
        if d.fields.len() > existing.fields.len() {
            existing.fields = d.fields;
            existing.origin = d.origin;
        }
    }
    out
}
