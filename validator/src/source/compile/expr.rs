//! Conditions: a rule's expression tree, each field resolved to its index and type, and
//! each leaf's operator and operands.

use dcf_parser::limits::MAX_VALUES_PER_NODE;
use dcf_parser::{CompareOp, FieldType, Match, MatchKind, Node, Operand, Target};

use super::context::{Compiler, Keys, head, kind_of, suggest};
use super::interface::Resolved;
use crate::codes::Code;
use crate::source::yaml::{self, Node as Y, Value};

pub(super) const OPERATORS: &[&str] = &[
    "equals",
    "contains",
    "starts_with",
    "ends_with",
    "glob",
    "regex",
    "cidr",
    "eq",
    "lt",
    "le",
    "gt",
    "ge",
    "exists",
    "wildcard",
];

/// Compiles an expression into postfix nodes; returns its depth (a leaf is 1).
pub(super) fn compile_expr(
    c: &mut Compiler<'_>,
    node: &Y,
    t: &Resolved,
    out: &mut Vec<Node<Vec<String>>>,
    depth: usize,
) -> Option<usize> {
    let Value::Map(map) = &node.value else {
        c.error_help(
            Code::SourceType,
            node.pos,
            format!("a condition must be a mapping, found {}", kind_of(node)),
            "write e.g. `{field: image, ends_with: \\\\cmd.exe}` or `{and: [...]}`",
        );
        return None;
    };
    let keys = Keys {
        map,
        pos: head(node),
    };
    for op in ["and", "or"] {
        if let Some(list) = keys.get(op) {
            if map.len() != 1 {
                c.error(
                    Code::ConditionShape,
                    keys.pos,
                    format!("`{op}` stands alone in its mapping"),
                );
                return None;
            }
            let Value::Seq(items) = &list.value else {
                c.error(
                    Code::SourceType,
                    list.pos,
                    format!(
                        "`{op}` takes a sequence of conditions, found {}",
                        kind_of(list)
                    ),
                );
                return None;
            };
            let mut deepest = 0usize;
            let mut ok = true;
            for item in items {
                match compile_expr(c, item, t, out, depth.saturating_add(1)) {
                    Some(d) => deepest = deepest.max(d),
                    None => ok = false,
                }
            }
            let children = u32::try_from(items.len()).ok()?;
            out.push(if op == "and" {
                Node::And { children }
            } else {
                Node::Or { children }
            });
            return ok.then_some(deepest.saturating_add(1));
        }
    }
    if let Some(inner) = keys.get("not") {
        if map.len() != 1 {
            c.error(
                Code::ConditionShape,
                keys.pos,
                "`not` stands alone in its mapping",
            );
            return None;
        }
        let d = compile_expr(c, inner, t, out, depth.saturating_add(1))?;
        out.push(Node::Not);
        return Some(d.saturating_add(1));
    }
    if let Some(n) = keys.get("at_least") {
        let ok_keys = c.keys(node, "an `at_least` condition", &["at_least", "of"]);
        let required: Option<u32> = c.ranged(n, "at_least", "0 to 4294967295");
        let of = keys.get("of");
        if of.is_none() {
            c.error(
                Code::SourceMissingKey,
                keys.pos,
                "`at_least` needs the key `of` with a sequence of conditions",
            );
        }
        let (Some(_), Some(required), Some(of)) = (ok_keys, required, of) else {
            return None;
        };
        let Value::Seq(items) = &of.value else {
            c.error(
                Code::SourceType,
                of.pos,
                format!("`of` takes a sequence of conditions, found {}", kind_of(of)),
            );
            return None;
        };
        let mut deepest = 0usize;
        let mut ok = true;
        for item in items {
            match compile_expr(c, item, t, out, depth.saturating_add(1)) {
                Some(d) => deepest = deepest.max(d),
                None => ok = false,
            }
        }
        out.push(Node::AtLeast {
            required,
            children: u32::try_from(items.len()).ok()?,
        });
        return ok.then_some(deepest.saturating_add(1));
    }
    compile_leaf(c, node, &keys, t, out).map(|()| 1)
}

pub(super) fn resolve_field(
    c: &mut Compiler<'_>,
    node: &Y,
    t: &Resolved,
) -> Option<(u16, FieldType)> {
    let by_index = match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } => !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    let found = if by_index {
        let index: u16 = c.ranged(node, "field index", "0 to 65535")?;
        t.fields.get(usize::from(index)).map(|f| (index, f.kind))
    } else {
        let name = c.string(node, "field")?;
        t.fields
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| Some((u16::try_from(i).ok()?, t.fields.get(i)?.kind)))
    };
    if found.is_none() {
        let text = yaml::scalar_text(node).cloned().unwrap_or_default();
        let help = match suggest(&text, t.fields.iter().map(|f| f.name.as_str())) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "`{}` has {} fields: {}",
                t.name,
                t.fields.len(),
                t.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        c.error_help(
            Code::UnknownField,
            node.pos,
            format!(
                "template type `{}` has no field `{text}` (its longest layout, from {}, has {})",
                t.name,
                t.origin,
                t.fields.len()
            ),
            help,
        );
    }
    found
}

pub(super) fn compile_leaf(
    c: &mut Compiler<'_>,
    node: &Y,
    keys: &Keys<'_>,
    t: &Resolved,
    out: &mut Vec<Node<Vec<String>>>,
) -> Option<()> {
    let mut allowed: Vec<&str> = vec!["field", "keyword", "case_sensitive", "all_of"];
    allowed.extend_from_slice(OPERATORS);
    allowed.extend_from_slice(&["and", "or", "not", "at_least"]);
    c.keys(node, "a condition", &allowed)?;
    let ops: Vec<&str> = OPERATORS
        .iter()
        .copied()
        .filter(|op| keys.has(op))
        .collect();
    let op = match ops.as_slice() {
        [op] => *op,
        [] => {
            c.error_help(
                Code::ConditionShape,
                keys.pos,
                "the condition has no operator",
                format!(
                    "use one of and, or, not, at_least, or a field test: {}",
                    OPERATORS.join(", ")
                ),
            );
            return None;
        }
        many => {
            c.error_help(
                Code::ConditionShape,
                keys.pos,
                format!(
                    "the condition has {} operators: {}",
                    many.len(),
                    many.join(", ")
                ),
                "put each test in its own condition and combine them with `and` or `or`",
            );
            return None;
        }
    };
    let op_node = keys.get(op)?;
    let keyword = match keys.get("keyword") {
        Some(n) => {
            let k = c.boolean(n, "keyword")?;
            if !k {
                c.error(
                    Code::SourceInvalidValue,
                    n.pos,
                    "`keyword: false` means nothing; name a field with `field:` instead",
                );
                return None;
            }
            true
        }
        None => false,
    };
    let field = match (keys.get("field"), keyword) {
        (Some(_), true) => {
            c.error(
                Code::ConditionShape,
                keys.pos,
                "a condition tests either one `field` or every string field (`keyword: true`), not both",
            );
            return None;
        }
        (Some(n), false) => Some((resolve_field(c, n, t)?, n)),
        (None, true) => None,
        (None, false) => {
            c.error(
                Code::SourceMissingKey,
                keys.pos,
                format!("`{op}` needs the key `field` (or `keyword: true` for a keyword search)"),
            );
            return None;
        }
    };
    let case_sensitive = match keys.get("case_sensitive") {
        Some(n) => Some((c.boolean(n, "case_sensitive")?, n)),
        None => None,
    };
    let all_of = match keys.get("all_of") {
        Some(n) => Some((c.boolean(n, "all_of")?, n)),
        None => None,
    };
    let field_name = |index: u16| {
        t.fields
            .get(usize::from(index))
            .map_or("?", |f| f.name.as_str())
            .to_string()
    };

    if let Some(kind) = MatchKind::from_name(op) {
        let target = match field {
            Some(((index, ty), n)) => {
                if !kind.applies_to(ty) {
                    c.error_help(
                        Code::OperatorTypeMismatch,
                        n.pos,
                        format!(
                            "`{op}` does not apply to `{}`, a field of type {ty}",
                            field_name(index)
                        ),
                        match ty {
                            FieldType::Integer => "compare integers with eq, lt, le, gt or ge",
                            FieldType::Ip => "match addresses with cidr",
                            FieldType::String => "cidr applies to string and ip fields",
                        },
                    );
                    return None;
                }
                Target::Field(index)
            }
            None => {
                if !kind.allows_keyword() {
                    c.error(
                        Code::OperatorTypeMismatch,
                        keys.pos,
                        format!("`{op}` cannot be a keyword search"),
                    );
                    return None;
                }
                Target::Keyword
            }
        };
        let case_sensitive = match case_sensitive {
            Some((true, n)) if !kind.allows_case_flag() => {
                c.error(
                    Code::SourceInvalidValue,
                    n.pos,
                    format!("`{op}` has no case to be sensitive to"),
                );
                return None;
            }
            Some((v, _)) => v,
            None => false,
        };
        let operand = match &op_node.value {
            Value::Map(_) => {
                let ok = c.keys(op_node, "a field operand", &["field"])?;
                let other = c.required(&ok, "field", "a field operand")?;
                let (other_index, other_ty) = resolve_field(c, other, t)?;
                if !kind.allows_field_ref() {
                    c.error(
                        Code::OperatorTypeMismatch,
                        op_node.pos,
                        format!("`{op}` cannot compare with another field; equals, contains, starts_with and ends_with can"),
                    );
                    return None;
                }
                if keyword {
                    c.error(
                        Code::SourceInvalidValue,
                        op_node.pos,
                        "a keyword search cannot compare with another field",
                    );
                    return None;
                }
                if other_ty != FieldType::String {
                    c.error(
                        Code::OperatorTypeMismatch,
                        other.pos,
                        format!(
                            "`{}` is a field of type {other_ty}; only string fields can be compared with `{op}`",
                            field_name(other_index)
                        ),
                    );
                    return None;
                }
                if let Some((true, n)) = all_of {
                    c.error(
                        Code::SourceInvalidValue,
                        n.pos,
                        "`all_of` needs a list of values, not another field",
                    );
                    return None;
                }
                Operand::Field(other_index)
            }
            _ => {
                let values = c.strings(op_node, &format!("the operand of `{op}`"))?;
                if values.is_empty() || values.len() > MAX_VALUES_PER_NODE as usize {
                    c.error(
                        Code::SourceInvalidValue,
                        op_node.pos,
                        format!(
                            "`{op}` needs 1 to {MAX_VALUES_PER_NODE} values, found {}",
                            values.len()
                        ),
                    );
                    return None;
                }
                Operand::Values(values)
            }
        };
        out.push(Node::Match(Match {
            kind,
            target,
            case_sensitive,
            all_of: all_of.is_some_and(|(v, _)| v),
            operand,
        }));
        return Some(());
    }

    // Numeric, presence and wildcard tests: one field, no modifiers.
    let Some(((index, ty), field_node)) = field else {
        c.error(
            Code::OperatorTypeMismatch,
            keys.pos,
            format!("`{op}` tests one field; it cannot be a keyword search"),
        );
        return None;
    };
    for (name, given) in [("case_sensitive", case_sensitive), ("all_of", all_of)] {
        if let Some((_, n)) = given {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!("`{name}` applies to string matches, not to `{op}`"),
            );
            return None;
        }
    }
    if let Some(cmp) = CompareOp::from_name(op) {
        if !CompareOp::applies_to(ty) {
            c.error(
                Code::OperatorTypeMismatch,
                field_node.pos,
                format!(
                    "`{op}` does not apply to `{}`, a field of type {ty}",
                    field_name(index)
                ),
            );
            return None;
        }
        let value: i64 = c.ranged(op_node, op, "-2^63 to 2^63-1")?;
        out.push(Node::Compare {
            op: cmp,
            field: index,
            value,
        });
        return Some(());
    }
    match op {
        "exists" => {
            let present = c.boolean(op_node, "exists")?;
            out.push(if present {
                Node::Exists { field: index }
            } else {
                Node::IsNull { field: index }
            });
        }
        _ => {
            let any = c.boolean(op_node, "wildcard")?;
            if !any {
                c.error(
                    Code::SourceInvalidValue,
                    op_node.pos,
                    "`wildcard: false` means nothing; remove the condition",
                );
                return None;
            }
            out.push(Node::Any { field: index });
        }
    }
    Some(())
}
