//! Search identifiers and field items into expression trees, and trees into postfix nodes.

use std::collections::HashSet;

use dcf_parser::{CompareOp, Match, MatchKind, Node, Operand, Target};

use crate::codes::Code;
use crate::condition::{self, Condition, Quantifier, Selector};
use crate::modifiers::{self, Piece, Utf16};
use crate::placeholders;
use crate::yaml::YamlValue;

/// Most values one value may expand into (windash, base64offset).
pub const MAX_EXPANSION: usize = 4096;
/// Most values of one field item: the format's limit for one node.
pub const MAX_VALUES: usize = dcf_parser::limits::MAX_VALUES_PER_NODE as usize;

/// Why a rule could not be compiled: a code and a human reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The code.
    pub code: Code,
    /// The reason, naming the construct.
    pub reason: String,
}

impl Failure {
    pub(crate) fn new(code: Code, reason: impl Into<String>) -> Failure {
        Failure {
            code,
            reason: reason.into(),
        }
    }
}

/// An expression tree before linearisation.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// All children.
    And(Vec<Expr>),
    /// Any child.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// At least `n` children.
    AtLeast(u32, Vec<Expr>),
    /// A leaf node.
    Leaf(Node<Vec<String>>),
}

/// Resolves a Sigma field name to its index in the rule's template type.
pub trait FieldResolver {
    /// The index, or why the field cannot be read.
    fn resolve(&mut self, sigma_name: &str) -> Result<u16, Failure>;

    /// The values of placeholder `name` for the `expand` modifier, when the import was given
    /// a placeholder file that defines it (SIGMA-7).
    fn placeholder(&self, _name: &str) -> Option<Vec<String>> {
        None
    }
}

impl<F: FnMut(&str) -> Result<u16, Failure>> FieldResolver for F {
    fn resolve(&mut self, sigma_name: &str) -> Result<u16, Failure> {
        self(sigma_name)
    }
}

/// Compiles a rule's `detection` block into one expression.
pub fn compile_detection(
    detection: &YamlValue,
    fields: &mut dyn FieldResolver,
) -> Result<Expr, Failure> {
    let YamlValue::Map(entries) = detection else {
        return Err(Failure::new(Code::NotARule, "`detection` is not a mapping"));
    };
    if entries.iter().any(|(k, _)| k == "timeframe") {
        return Err(Failure::new(
            Code::Aggregation,
            "`timeframe` in detection (state across events)",
        ));
    }
    let identifiers: Vec<(&str, &YamlValue)> = entries
        .iter()
        .filter(|(k, _)| k != "condition")
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let conditions: Vec<String> = match detection.get("condition") {
        Some(YamlValue::Str(s)) => vec![s.clone()],
        Some(YamlValue::Seq(items)) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    Failure::new(Code::ConditionSyntax, "a condition of the list is not text")
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Failure::new(
                Code::ConditionSyntax,
                "`condition` missing or not text",
            ));
        }
    };
    let mut compiled: Vec<(String, Expr)> = Vec::new();
    let mut trees = Vec::with_capacity(conditions.len());
    for text in &conditions {
        let parsed = condition::parse(text).map_err(|e| match e {
            condition::ConditionError::Syntax(s) => {
                Failure::new(Code::ConditionSyntax, format!("condition `{text}`: {s}"))
            }
            condition::ConditionError::Aggregation(s) => Failure::new(Code::Aggregation, s),
        })?;
        trees.push(resolve(&parsed, &identifiers, &mut compiled, fields)?);
    }
    Ok(if trees.len() == 1 {
        trees.into_iter().next().unwrap_or(Expr::Or(Vec::new()))
    } else {
        Expr::Or(trees)
    })
}

fn resolve(
    condition: &Condition,
    identifiers: &[(&str, &YamlValue)],
    compiled: &mut Vec<(String, Expr)>,
    fields: &mut dyn FieldResolver,
) -> Result<Expr, Failure> {
    let identifier = |name: &str,
                      compiled: &mut Vec<(String, Expr)>,
                      fields: &mut dyn FieldResolver|
     -> Result<Expr, Failure> {
        if let Some((_, e)) = compiled.iter().find(|(n, _)| n == name) {
            return Ok(e.clone());
        }
        let Some((_, value)) = identifiers.iter().find(|(n, _)| *n == name) else {
            return Err(Failure::new(
                Code::UndefinedIdentifier,
                format!("search identifier `{name}` is not defined"),
            ));
        };
        let e = compile_search(name, value, fields)?;
        compiled.push((name.to_string(), e.clone()));
        Ok(e)
    };
    Ok(match condition {
        Condition::Identifier(name) => identifier(name, compiled, fields)?,
        Condition::Not(inner) => {
            Expr::Not(Box::new(resolve(inner, identifiers, compiled, fields)?))
        }
        Condition::And(items) => Expr::And(
            items
                .iter()
                .map(|i| resolve(i, identifiers, compiled, fields))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Or(items) => Expr::Or(
            items
                .iter()
                .map(|i| resolve(i, identifiers, compiled, fields))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Of {
            quantifier,
            selector,
        } => {
            let names: Vec<&str> = identifiers
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| match selector {
                    Selector::Them => !n.starts_with('_'),
                    Selector::Pattern(p) => condition::pattern_matches(p, n),
                })
                .collect();
            let shown = match selector {
                Selector::Them => "them".to_string(),
                Selector::Pattern(p) => p.clone(),
            };
            if names.is_empty() {
                return Err(Failure::new(
                    Code::UndefinedIdentifier,
                    format!("`of {shown}` matches no search identifier"),
                ));
            }
            let children = names
                .iter()
                .map(|n| identifier(n, compiled, fields))
                .collect::<Result<Vec<_>, _>>()?;
            match quantifier {
                Quantifier::All => Expr::And(children),
                Quantifier::AtLeast(1) => Expr::Or(children),
                Quantifier::AtLeast(n) => {
                    if *n as usize > children.len() {
                        return Err(Failure::new(
                            Code::UndefinedIdentifier,
                            format!(
                                "`{n} of {shown}` but only {} search identifiers match",
                                children.len()
                            ),
                        ));
                    }
                    Expr::AtLeast(*n, children)
                }
            }
        }
    })
}

/// Compiles one search identifier: a map (AND of its items), a list of maps (OR of ANDs), or a
/// list of values (keywords, OR).
fn compile_search(
    name: &str,
    value: &YamlValue,
    fields: &mut dyn FieldResolver,
) -> Result<Expr, Failure> {
    let bad = |what: &str| {
        Failure::new(
            Code::BadSearchIdentifier,
            format!("search identifier `{name}`: {what}"),
        )
    };
    match value {
        YamlValue::Map(items) => compile_map(name, items, fields),
        YamlValue::Seq(list) if list.is_empty() => Err(bad("empty list")),
        YamlValue::Seq(list) => {
            if list.iter().all(|v| matches!(v, YamlValue::Map(_))) {
                let mut alternatives = Vec::with_capacity(list.len());
                for v in list {
                    if let YamlValue::Map(items) = v {
                        alternatives.push(compile_map(name, items, fields)?);
                    }
                }
                Ok(Expr::Or(alternatives))
            } else if list
                .iter()
                .all(|v| !matches!(v, YamlValue::Map(_) | YamlValue::Seq(_)))
            {
                compile_item(None, &[], value, fields)
            } else {
                Err(bad("a list mixing maps and values"))
            }
        }
        YamlValue::Str(_) | YamlValue::Int(_) | YamlValue::Float(_) | YamlValue::Bool(_) => {
            compile_item(None, &[], value, fields)
        }
        YamlValue::Null => Err(bad("no value")),
    }
}

fn compile_map(
    name: &str,
    items: &[(String, YamlValue)],
    fields: &mut dyn FieldResolver,
) -> Result<Expr, Failure> {
    if items.is_empty() {
        return Err(Failure::new(
            Code::BadSearchIdentifier,
            format!("search identifier `{name}`: empty map"),
        ));
    }
    let mut all = Vec::with_capacity(items.len());
    for (key, value) in items {
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or("");
        let mut mods: Vec<&str> = parts.collect();
        let field = if field.is_empty() { None } else { Some(field) };
        if mods.contains(&"expand") {
            // SIGMA-7: placeholders are replaced first; the other modifiers then apply to
            // every value they stand for, as if the rule had listed them.
            mods.retain(|m| *m != "expand");
            let expanded = expand_placeholders(value, fields, key)?;
            all.push(compile_item(field, &mods, &expanded, fields)?);
        } else {
            all.push(compile_item(field, &mods, value, fields)?);
        }
    }
    Ok(Expr::And(all))
}

/// The values of an `expand` item with every `%name%` replaced by each of its values.
fn expand_placeholders(
    value: &YamlValue,
    fields: &dyn FieldResolver,
    key: &str,
) -> Result<YamlValue, Failure> {
    let lookup = |name: &str| fields.placeholder(name);
    let one = |v: &YamlValue, out: &mut Vec<YamlValue>| -> Result<(), Failure> {
        let YamlValue::Str(text) = v else {
            out.push(v.clone());
            return Ok(());
        };
        let values = placeholders::expand(text, &lookup, MAX_EXPANSION).map_err(|e| match e {
            placeholders::ExpandError::Missing(name) => Failure::new(
                Code::PlaceholderMissing,
                format!(
                    "`{key}`: placeholder `%{name}%` has no value (give it in the file passed with --placeholders)"
                ),
            ),
            placeholders::ExpandError::TooMany(limit) => Failure::new(
                Code::FormatLimit,
                format!("`{key}`: placeholders expand into more than {limit} values"),
            ),
        })?;
        out.extend(values.into_iter().map(YamlValue::Str));
        Ok(())
    };
    let mut out = Vec::new();
    match value {
        YamlValue::Seq(items) => {
            for item in items {
                one(item, &mut out)?;
            }
        }
        other => one(other, &mut out)?,
    }
    Ok(YamlValue::Seq(out))
}

/// The modifiers of one field item, parsed.
#[derive(Default)]
struct Mods {
    /// Transformations and wildcard-adding modifiers, in order.
    steps: Vec<Step>,
    all: bool,
    cased: bool,
    re: bool,
    re_flags: String,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    neq: bool,
    compare: Option<CompareOp>,
    /// `contains`/`startswith`/`endswith`, for field references and regex checks.
    position: Option<MatchKind>,
}

#[derive(Clone, Copy)]
enum Step {
    Windash,
    Base64,
    Base64Offset,
    Utf16(Utf16),
    Wildcards { leading: bool, trailing: bool },
}

fn parse_mods(mods: &[&str]) -> Result<Mods, Failure> {
    let mut m = Mods::default();
    let conflict = |a: &str, b: &str| {
        Failure::new(
            Code::BadModifierUse,
            format!("modifiers `{a}` and `{b}` cannot be combined"),
        )
    };
    let mut seen_position: Option<&str> = None;
    let mut seen_compare: Option<&str> = None;
    for &name in mods {
        match name {
            "contains" | "startswith" | "endswith" => {
                if let Some(prev) = seen_position {
                    return Err(conflict(prev, name));
                }
                seen_position = Some(name);
                let (kind, leading, trailing) = match name {
                    "contains" => (MatchKind::Contains, true, true),
                    "startswith" => (MatchKind::StartsWith, false, true),
                    _ => (MatchKind::EndsWith, true, false),
                };
                m.position = Some(kind);
                m.steps.push(Step::Wildcards { leading, trailing });
            }
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.re = true,
            "i" | "m" | "s" => {
                if !m.re {
                    return Err(Failure::new(
                        Code::BadModifierUse,
                        format!("regular-expression flag `{name}` without `re` before it"),
                    ));
                }
                if !m.re_flags.contains(name) {
                    m.re_flags.push_str(name);
                }
            }
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "neq" => m.neq = true,
            "windash" => m.steps.push(Step::Windash),
            "base64" => m.steps.push(Step::Base64),
            "base64offset" => m.steps.push(Step::Base64Offset),
            "utf16le" | "wide" => m.steps.push(Step::Utf16(Utf16::Le)),
            "utf16be" => m.steps.push(Step::Utf16(Utf16::Be)),
            "utf16" => m.steps.push(Step::Utf16(Utf16::WithBom)),
            "lt" | "lte" | "gt" | "gte" => {
                if let Some(prev) = seen_compare {
                    return Err(conflict(prev, name));
                }
                seen_compare = Some(name);
                m.compare = Some(match name {
                    "lt" => CompareOp::Lt,
                    "lte" => CompareOp::Le,
                    "gt" => CompareOp::Gt,
                    _ => CompareOp::Ge,
                });
            }
            "expand" => {
                // `compile_map` replaces placeholders before modifiers are parsed; keywords
                // take no modifiers, so this is a field item's `expand` seen twice.
                return Err(Failure::new(
                    Code::BadModifierUse,
                    "`expand` given more than once",
                ));
            }
            "minute" | "hour" | "day" | "week" | "month" | "year" => {
                return Err(Failure::new(
                    Code::UnsupportedModifier,
                    format!(
                        "unsupported modifier `{name}` (date parts need a date type the format does not have)"
                    ),
                ));
            }
            other => {
                return Err(Failure::new(
                    Code::UnsupportedModifier,
                    format!("unsupported modifier `{other}`"),
                ));
            }
        }
    }
    // Type modifiers exclude each other and the string transformations.
    let kinds = [
        ("re", m.re),
        ("cidr", m.cidr),
        ("exists", m.exists),
        ("fieldref", m.fieldref),
        ("lt/lte/gt/gte", m.compare.is_some()),
    ];
    let set: Vec<&str> = kinds
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    if let [a, b, ..] = set.as_slice() {
        return Err(conflict(a, b));
    }
    let transforms = m.steps.iter().any(|s| !matches!(s, Step::Wildcards { .. }));
    if let Some(kind) = set.first() {
        if transforms {
            return Err(Failure::new(
                Code::BadModifierUse,
                format!("`{kind}` cannot follow value transformations"),
            ));
        }
        if seen_position.is_some() && *kind != "fieldref" {
            return Err(conflict(kind, seen_position.unwrap_or("")));
        }
        if m.neq && matches!(*kind, "exists" | "lt/lte/gt/gte") {
            return Err(conflict(kind, "neq"));
        }
    }
    Ok(m)
}

/// The values of an item: a scalar or a list of scalars.
fn item_values<'v>(value: &'v YamlValue, what: &str) -> Result<Vec<&'v YamlValue>, Failure> {
    match value {
        YamlValue::Seq(list) => {
            if list.is_empty() {
                return Err(Failure::new(
                    Code::BadSearchIdentifier,
                    format!("{what}: empty value list"),
                ));
            }
            if list
                .iter()
                .any(|v| matches!(v, YamlValue::Seq(_) | YamlValue::Map(_)))
            {
                return Err(Failure::new(
                    Code::BadSearchIdentifier,
                    format!("{what}: nested collections in a value list"),
                ));
            }
            Ok(list.iter().collect())
        }
        YamlValue::Map(_) => Err(Failure::new(
            Code::BadSearchIdentifier,
            format!("{what}: a map where values are expected"),
        )),
        other => Ok(vec![other]),
    }
}

/// Compiles one field item (`field` is `None` for keywords).
fn compile_item(
    field: Option<&str>,
    mods: &[&str],
    value: &YamlValue,
    fields: &mut dyn FieldResolver,
) -> Result<Expr, Failure> {
    let what = match field {
        Some(f) => format!("field `{f}`"),
        None => "keywords".to_string(),
    };
    let m = parse_mods(mods)?;
    let values = item_values(value, &what)?;
    let target = match field {
        Some(f) => Some(fields.resolve(f)?),
        None => None,
    };
    let combine = |exprs: Vec<Expr>, all: bool| -> Expr {
        if exprs.len() == 1 {
            exprs.into_iter().next().unwrap_or(Expr::Or(Vec::new()))
        } else if all {
            Expr::And(exprs)
        } else {
            Expr::Or(exprs)
        }
    };
    let negate = |e: Expr| if m.neq { Expr::Not(Box::new(e)) } else { e };

    if m.exists {
        let Some(f) = target else {
            return Err(Failure::new(Code::BadModifierUse, "`exists` on keywords"));
        };
        let [YamlValue::Bool(b)] = values.as_slice() else {
            return Err(Failure::new(
                Code::BadModifierUse,
                format!("{what}: `exists` needs a single boolean value"),
            ));
        };
        let node = Expr::Leaf(Node::Exists { field: f });
        return Ok(if *b { node } else { Expr::Not(Box::new(node)) });
    }

    if let Some(op) = m.compare {
        let Some(f) = target else {
            return Err(Failure::new(
                Code::BadModifierUse,
                "numeric comparison on keywords",
            ));
        };
        let mut nodes = Vec::with_capacity(values.len());
        for v in &values {
            let n = match v {
                YamlValue::Int(i) => *i,
                YamlValue::Str(s) => s.trim().parse::<i64>().map_err(|_| {
                    Failure::new(
                        Code::BadModifierUse,
                        format!("{what}: numeric comparison with non-integer `{s}`"),
                    )
                })?,
                other => {
                    return Err(Failure::new(
                        Code::BadModifierUse,
                        format!("{what}: numeric comparison with non-integer {other:?}"),
                    ));
                }
            };
            nodes.push(Expr::Leaf(Node::Compare {
                op,
                field: f,
                value: n,
            }));
        }
        return Ok(combine(nodes, m.all));
    }

    if m.fieldref {
        let Some(f) = target else {
            return Err(Failure::new(Code::BadModifierUse, "`fieldref` on keywords"));
        };
        let mut nodes = Vec::with_capacity(values.len());
        for v in &values {
            let Some(other_name) = v.scalar_text() else {
                return Err(Failure::new(
                    Code::BadModifierUse,
                    format!("{what}: `fieldref` needs field names"),
                ));
            };
            let other = fields.resolve(&other_name)?;
            nodes.push(Expr::Leaf(Node::Match(Match {
                kind: m.position.unwrap_or(MatchKind::Equals),
                target: Target::Field(f),
                case_sensitive: m.cased,
                all_of: false,
                operand: Operand::Field(other),
            })));
        }
        return Ok(negate(combine(nodes, m.all)));
    }

    let target_of = |t: Option<u16>| match t {
        Some(f) => Target::Field(f),
        None => Target::Keyword,
    };

    if m.re || m.cidr {
        let mut texts = Vec::with_capacity(values.len());
        for v in &values {
            let Some(t) = v.scalar_text() else {
                return Err(Failure::new(
                    Code::BadModifierUse,
                    format!("{what}: `re`/`cidr` with a null value"),
                ));
            };
            texts.push(t);
        }
        if m.cidr {
            let Some(f) = target else {
                return Err(Failure::new(Code::BadModifierUse, "`cidr` on keywords"));
            };
            // The sensor's own CIDR rule; host bits, which Sigma ignores, are cleared so that
            // the content holds the network the sensor accepts.
            for t in &mut texts {
                let net = dcf_sensor::Net::parse_network(t).map_err(|why| {
                    Failure::new(
                        Code::BadModifierUse,
                        format!("{what}: `{t}` is not a CIDR network: {why}"),
                    )
                })?;
                if net.host_bits_set() {
                    *t = net.network().to_string();
                }
            }
            let node = leaf(MatchKind::Cidr, Target::Field(f), false, m.all, texts);
            return Ok(negate(node));
        }
        let prefix = if m.re_flags.is_empty() {
            String::new()
        } else {
            let mut flags: Vec<char> = m.re_flags.chars().collect();
            flags.sort_unstable();
            format!("(?{})", flags.into_iter().collect::<String>())
        };
        let mut patterns = Vec::with_capacity(texts.len());
        for t in texts {
            let pattern = format!("{prefix}{}", crate::pcre::translate(&t));
            check_regex(&pattern)?;
            patterns.push(pattern);
        }
        if target.is_none() && m.all && patterns.len() > 1 {
            let nodes = patterns
                .into_iter()
                .map(|p| leaf(MatchKind::Regex, Target::Keyword, true, false, vec![p]))
                .collect();
            return Ok(negate(Expr::And(nodes)));
        }
        let node = leaf(MatchKind::Regex, target_of(target), true, m.all, patterns);
        return Ok(negate(node));
    }

    // Plain string matching, with transformations in modifier order.
    let mut alternatives: Vec<Expr> = Vec::new();
    let mut strings: Vec<Vec<Piece>> = Vec::new();
    for v in &values {
        let start: Vec<Piece> = match v {
            YamlValue::Null => {
                let Some(f) = target else {
                    return Err(Failure::new(
                        Code::BadSearchIdentifier,
                        "a null keyword".to_string(),
                    ));
                };
                if !m.steps.is_empty() {
                    return Err(Failure::new(
                        Code::BadModifierUse,
                        format!("{what}: string modifiers with a null value"),
                    ));
                }
                alternatives.push(Expr::Leaf(Node::IsNull { field: f }));
                continue;
            }
            YamlValue::Str(s) => modifiers::parse_pieces(s),
            other => other
                .scalar_text()
                .unwrap_or_default()
                .chars()
                .map(Piece::Char)
                .collect(),
        };
        let mut current: Vec<Value> = vec![Value::Text(start)];
        for step in &m.steps {
            current = apply_step(*step, current, &what)?;
        }
        if target.is_none() {
            // Keywords search the whole event: a value matches anywhere in a field.
            current = current
                .into_iter()
                .map(|v| match v {
                    Value::Text(p) => Value::Text(modifiers::wrap(p, true, true)),
                    other => other,
                })
                .collect();
        }
        for value in current {
            let pieces = match value {
                Value::Text(p) => p,
                Value::Bytes(b) => String::from_utf8(b)
                    .map_err(|_| {
                        Failure::new(
                            Code::ValueNotText,
                            format!("{what}: a UTF-16 value is not UTF-8 text; add `base64` or `base64offset` after it"),
                        )
                    })?
                    .chars()
                    .map(Piece::Char)
                    .collect(),
            };
            strings.push(pieces);
        }
        if strings.len() > MAX_VALUES {
            return Err(Failure::new(
                Code::FormatLimit,
                format!("{what}: more than {MAX_VALUES} values"),
            ));
        }
    }
    if target.is_none() && m.all && strings.len() > 1 {
        // `|all` keywords: each value anywhere in the event, not necessarily the same field.
        let nodes = strings
            .into_iter()
            .map(|p| string_nodes(vec![p], Target::Keyword, m.cased, false))
            .collect();
        return Ok(negate(Expr::And(nodes)));
    }
    if !strings.is_empty() {
        let node = string_nodes(strings, target_of(target), m.cased, m.all);
        match node {
            Expr::Or(items) if !m.all => alternatives.extend(items),
            other => alternatives.push(other),
        }
    }
    Ok(negate(combine(alternatives, m.all)))
}

/// A value during transformation.
enum Value {
    Text(Vec<Piece>),
    Bytes(Vec<u8>),
}

fn apply_step(step: Step, values: Vec<Value>, what: &str) -> Result<Vec<Value>, Failure> {
    let mut out = Vec::with_capacity(values.len());
    let no_wildcards = |p: &[Piece], name: &str| -> Result<String, Failure> {
        modifiers::literal(p).ok_or_else(|| {
            Failure::new(
                Code::WildcardEncoding,
                format!("{what}: `{name}` applied to a value with wildcards"),
            )
        })
    };
    for v in values {
        match (step, v) {
            (Step::Wildcards { leading, trailing }, Value::Text(p)) => {
                out.push(Value::Text(modifiers::wrap(p, leading, trailing)));
            }
            (Step::Wildcards { .. }, Value::Bytes(_)) => {
                return Err(Failure::new(
                    Code::ValueNotText,
                    format!(
                        "{what}: a UTF-16 value is not UTF-8 text; add `base64` or `base64offset` after it"
                    ),
                ));
            }
            (Step::Windash, Value::Text(p)) => {
                let variants = modifiers::windash(&p, MAX_EXPANSION).ok_or_else(|| {
                    Failure::new(
                        Code::FormatLimit,
                        format!("{what}: `windash` expands into more than {MAX_EXPANSION} values"),
                    )
                })?;
                out.extend(variants.into_iter().map(Value::Text));
            }
            (Step::Windash, Value::Bytes(_)) => {
                return Err(Failure::new(
                    Code::BadModifierUse,
                    format!("{what}: `windash` after a UTF-16 encoding"),
                ));
            }
            (Step::Utf16(enc), Value::Text(p)) => {
                let text = no_wildcards(&p, "utf16")?;
                out.push(Value::Bytes(modifiers::utf16(&text, enc)));
            }
            (Step::Utf16(_), Value::Bytes(_)) => {
                return Err(Failure::new(
                    Code::BadModifierUse,
                    format!("{what}: two UTF-16 encodings"),
                ));
            }
            (Step::Base64 | Step::Base64Offset, v) => {
                let bytes = match v {
                    Value::Text(p) => no_wildcards(&p, "base64")?.into_bytes(),
                    Value::Bytes(b) => b,
                };
                if matches!(step, Step::Base64) {
                    out.push(Value::Text(
                        modifiers::base64(&bytes).chars().map(Piece::Char).collect(),
                    ));
                } else {
                    out.extend(
                        modifiers::base64offset(&bytes)
                            .into_iter()
                            .map(|s| Value::Text(s.chars().map(Piece::Char).collect())),
                    );
                }
            }
        }
        if out.len() > MAX_EXPANSION {
            return Err(Failure::new(
                Code::FormatLimit,
                format!("{what}: more than {MAX_EXPANSION} values after expansion"),
            ));
        }
    }
    Ok(out)
}

fn leaf(
    kind: MatchKind,
    target: Target,
    case_sensitive: bool,
    all_of: bool,
    values: Vec<String>,
) -> Expr {
    Expr::Leaf(Node::Match(Match {
        kind,
        target,
        case_sensitive,
        all_of: all_of && values.len() > 1,
        operand: Operand::Values(values),
    }))
}

/// Classifies each value (equals, starts/ends with, contains, glob) and makes one node per kind.
fn string_nodes(values: Vec<Vec<Piece>>, target: Target, cased: bool, all: bool) -> Expr {
    let mut groups: Vec<(MatchKind, Vec<String>)> = Vec::new();
    // Values already in a group, so a repeat is dropped in constant time (a list of n values
    // searched per value was quadratic). At most one group per match kind.
    let mut seen: HashSet<(MatchKind, String)> = HashSet::new();
    for mut p in values {
        p.dedup_by(|a, b| *a == Piece::Star && *b == Piece::Star);
        let leading = p.first() == Some(&Piece::Star);
        let trailing = p.len() > 1 && p.last() == Some(&Piece::Star);
        let inner_start = usize::from(leading);
        let inner_end = p.len().saturating_sub(usize::from(trailing));
        let inner = p.get(inner_start..inner_end).unwrap_or(&[]);
        let (kind, text) = match modifiers::literal(inner) {
            Some(lit) => (
                match (leading, trailing) {
                    (false, false) => MatchKind::Equals,
                    (true, false) => MatchKind::EndsWith,
                    (false, true) => MatchKind::StartsWith,
                    (true, true) => MatchKind::Contains,
                },
                lit,
            ),
            None => (MatchKind::Glob, modifiers::to_glob(&p)),
        };
        // A lone `*` is "any text": contains the empty string.
        let kind = if p == [Piece::Star] {
            MatchKind::Contains
        } else {
            kind
        };
        if !all && !seen.insert((kind, text.clone())) {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.push(text),
            None => groups.push((kind, vec![text])),
        }
    }
    let mut nodes: Vec<Expr> = groups
        .into_iter()
        .map(|(kind, list)| leaf(kind, target, cased, all, list))
        .collect();
    if nodes.len() == 1 {
        nodes.pop().unwrap_or(Expr::Or(Vec::new()))
    } else if all {
        Expr::And(nodes)
    } else {
        Expr::Or(nodes)
    }
}

/// Checks a pattern with the sensor's own regex rule ([`dcf_sensor::check_regex`]: its
/// engine, its limits). Sigma regexes are case-sensitive; flags are in the pattern.
fn check_regex(pattern: &str) -> Result<(), Failure> {
    dcf_sensor::check_regex(pattern, false).map_err(|e| {
        let why = match &e {
            dcf_sensor::RegexError::TooBig { .. } => "exceeds the sensor's size limit",
            dcf_sensor::RegexError::Syntax(detail) if detail.contains("look-around") => {
                "look-around is not supported"
            }
            dcf_sensor::RegexError::Syntax(detail) if detail.contains("backreferences") => {
                "backreferences are not supported"
            }
            _ => "rejected",
        };
        Failure::new(
            Code::UnsupportedRegex,
            format!("regular expression `{pattern}`: {why} by the sensor's engine ({e})"),
        )
    })
}

/// Linearises an expression into postfix nodes, merging nested operators of the same kind.
pub fn to_postfix(expr: Expr, out: &mut Vec<Node<Vec<String>>>) {
    match expr {
        Expr::Leaf(node) => out.push(node),
        Expr::Not(inner) => match *inner {
            Expr::Not(inner2) => to_postfix(*inner2, out),
            other => {
                to_postfix(other, out);
                out.push(Node::Not);
            }
        },
        Expr::And(items) | Expr::Or(items) if items.len() == 1 => {
            for i in items {
                to_postfix(i, out);
            }
        }
        Expr::And(items) => {
            let flat = flatten(items, true);
            let n = flat.len() as u32;
            for i in flat {
                to_postfix(i, out);
            }
            out.push(Node::And { children: n });
        }
        Expr::Or(items) => {
            let flat = flatten(items, false);
            let n = flat.len() as u32;
            for i in flat {
                to_postfix(i, out);
            }
            out.push(Node::Or { children: n });
        }
        Expr::AtLeast(required, items) => {
            let n = items.len() as u32;
            for i in items {
                to_postfix(i, out);
            }
            out.push(Node::AtLeast {
                required,
                children: n,
            });
        }
    }
}

fn flatten(items: Vec<Expr>, and: bool) -> Vec<Expr> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Expr::And(inner) if and => out.extend(flatten(inner, true)),
            Expr::Or(inner) if !and => out.extend(flatten(inner, false)),
            other => out.push(other),
        }
    }
    out
}
