//! Binding a parsed content to a sensor's interface, and compiling it into programs.
//!
//! Binding is the check Channel File 291 lacked: before anything is evaluated, every rule's
//! template type must be implemented by this sensor, and every field a rule reads must be one
//! the sensor supplies, with the declared type and name. A wildcard (`Any`) reads nothing, so
//! it binds to any field index. Matchers (regexes, globs, literal finders, CIDR blocks) are
//! built here, once.

use std::collections::BTreeMap;

use dcf_parser::{
    ContentView, FieldType, Match, MatchKind, Node, Operand, RuleView, Target, ValueList,
};

use crate::error::{LoadError, SensorCode};
use crate::fold::fold;
use crate::glob::Glob;
use crate::interface::{SensorInterface, TemplateInterface};
use crate::limits::{LINEAR_LIST_MAX, MAX_PREFILTER_GROUPS};
use crate::net::Net;
use crate::prefilter::{Group, LiteralId, Literals, Need, plan};
use crate::program::{
    CompiledRule, ENode, Leaf, RuleInfo, Ruleset, Sel, TemplateProgram, TextTest,
};
use crate::regexes::{CompiledRegex, compile_regex};

/// Binds `view` to `interface` and compiles it. Does not check signature, times or sequence:
/// that is the loader's job; `dcf test` uses this directly to run content in this interpreter.
pub fn compile(view: &ContentView<'_>, interface: &SensorInterface) -> Result<Ruleset, LoadError> {
    let mut builders: BTreeMap<u32, ProgramBuilder> = interface
        .templates
        .iter()
        .map(|t| (t.id, ProgramBuilder::new(t)))
        .collect();
    let mut rules = Vec::with_capacity(view.rule_count());
    let mut regexes = RegexCache::default();
    for rule in view.rules() {
        let Some(builder) = builders.get_mut(&rule.template.id) else {
            return Err(LoadError::new(
                SensorCode::TemplateNotSupplied,
                format!(
                    "rule {} «{}» uses template type {} ({}), which sensor {} does not implement",
                    rule.id, rule.title, rule.template.id, rule.template.name, interface.version
                ),
            ));
        };
        bind(&rule, builder.interface, interface)?;
        let index = rules.len() as u32;
        builder.add_rule(&rule, index, &mut regexes)?;
        rules.push(RuleInfo {
            id: rule.id,
            title: rule.title.to_string(),
            author: rule.author.to_string(),
            severity: rule.severity,
            action: rule.action,
            template: rule.template.id,
        });
    }
    let programs = builders.into_values().map(ProgramBuilder::finish).collect();
    Ok(Ruleset {
        header: *view.header(),
        key_id: view.signature().map(|s| *s.key_id),
        rules,
        programs,
        bytes_len: view.bytes().len(),
    })
}

/// Checks every field the rule reads against what the sensor supplies.
fn bind(
    rule: &RuleView<'_>,
    supplied: &TemplateInterface,
    interface: &SensorInterface,
) -> Result<(), LoadError> {
    for node in rule.expression() {
        let mut reads: [Option<u16>; 2] = [None, None];
        match &node {
            Node::Any { .. } => {}
            Node::Match(Match {
                operand: Operand::Field(other),
                ..
            }) => reads = [node.field(), Some(*other)],
            _ => reads[0] = node.field(),
        }
        for field in reads.into_iter().flatten() {
            let declared = rule.template.field(field);
            let declared_name = declared.map_or("?", |f| f.name);
            let at = |code: SensorCode, what: String| {
                LoadError::new(
                    code,
                    format!(
                        "rule {} «{}» reads field {} ({}) of template type {} ({}): {what}",
                        rule.id,
                        rule.title,
                        field,
                        declared_name,
                        rule.template.id,
                        rule.template.name
                    ),
                )
            };
            let Some(actual) = supplied.fields.get(usize::from(field)) else {
                return Err(at(
                    SensorCode::FieldNotSupplied,
                    format!(
                        "sensor {} supplies only {} fields",
                        interface.version,
                        supplied.fields.len()
                    ),
                ));
            };
            if let Some(declared) = declared {
                if declared.kind != actual.kind {
                    return Err(at(
                        SensorCode::FieldTypeMismatch,
                        format!(
                            "declared {}, sensor {} supplies {}",
                            declared.kind, interface.version, actual.kind
                        ),
                    ));
                }
                if declared.name != actual.name {
                    return Err(at(
                        SensorCode::FieldNameMismatch,
                        format!(
                            "sensor {} supplies `{}` at that index",
                            interface.version, actual.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether a leaf can be answered from its field's prefilter hits: a long any-of list of
/// non-empty case-insensitive contains literals (the prefilter scans folded text).
fn answered_by_prefilter(leaf: &Leaf) -> bool {
    matches!(leaf, Leaf::Text {
        folded: true,
        all_of: false,
        test: TextTest::Contains(values),
        ..
    } if values.len() > LINEAR_LIST_MAX && values.iter().all(|v| !v.is_empty()))
}

struct ProgramBuilder<'i> {
    interface: &'i TemplateInterface,
    rules: Vec<CompiledRule>,
    nodes: Vec<ENode>,
    children: Vec<u32>,
    leaves: Vec<Leaf>,
    /// What each node needs; a node's need is taken when its parent is built.
    needs: Vec<Need>,
    literals: Literals,
    /// Leaves answered from the prefilter's hits, with the ids of their literals.
    answered: Vec<(u32, Vec<LiteralId>)>,
}

impl<'i> ProgramBuilder<'i> {
    fn new(interface: &'i TemplateInterface) -> Self {
        ProgramBuilder {
            interface,
            rules: Vec::new(),
            nodes: Vec::new(),
            children: Vec::new(),
            leaves: Vec::new(),
            needs: Vec::new(),
            literals: Literals::default(),
            answered: Vec::new(),
        }
    }

    fn push(&mut self, node: ENode, need: Need) -> u32 {
        self.nodes.push(node);
        self.needs.push(need);
        (self.nodes.len() - 1) as u32
    }

    /// Pops `n` operands, stores them as one child range and takes their needs.
    fn children_of(&mut self, stack: &mut Vec<u32>, n: u32) -> (u32, u32, Vec<Need>) {
        let at = stack.len().saturating_sub(n as usize);
        let popped = stack.split_off(at);
        let first = self.children.len() as u32;
        self.children.extend_from_slice(&popped);
        let needs = popped.iter().map(|&k| self.take_need(k)).collect();
        (first, popped.len() as u32, needs)
    }

    fn add_rule(
        &mut self,
        rule: &RuleView<'_>,
        index: u32,
        regexes: &mut RegexCache,
    ) -> Result<(), LoadError> {
        let mut stack: Vec<u32> = Vec::new();
        for node in rule.expression() {
            let id = match node {
                Node::And { children } => {
                    let (first, len, needs) = self.children_of(&mut stack, children);
                    let need = Need::and(needs, &self.literals, MAX_PREFILTER_GROUPS);
                    self.push(ENode::And { first, len }, need)
                }
                Node::Or { children } => {
                    let (first, len, needs) = self.children_of(&mut stack, children);
                    self.push(
                        ENode::Or { first, len },
                        Need::or(needs, &self.literals, MAX_PREFILTER_GROUPS),
                    )
                }
                Node::Not => {
                    let child = stack.pop().unwrap_or(u32::MAX);
                    self.push(ENode::Not(child), Need::none())
                }
                Node::AtLeast { required, children } => {
                    let (first, len, needs) = self.children_of(&mut stack, children);
                    let need = if required == 0 {
                        Need::none()
                    } else if required > len {
                        Need::Never
                    } else {
                        Need::or(needs, &self.literals, MAX_PREFILTER_GROUPS)
                    };
                    self.push(
                        ENode::AtLeast {
                            required,
                            first,
                            len,
                        },
                        need,
                    )
                }
                Node::Any { .. } => self.push(ENode::Const(true), Need::none()),
                Node::Exists { field } => self.leaf(Leaf::Exists(field), Need::none()),
                Node::IsNull { field } => self.leaf(Leaf::IsNull(field), Need::none()),
                Node::Compare { op, field, value } => {
                    self.leaf(Leaf::Compare { field, op, value }, Need::none())
                }
                Node::Match(m) => {
                    let (leaf, group) = build_match(&m, rule, &mut self.literals, regexes)?;
                    // Such a leaf's group is the ids of its values, in order (`values_group`).
                    if answered_by_prefilter(&leaf)
                        && let Some(ids) = &group
                    {
                        self.answered.push((self.leaves.len() as u32, ids.clone()));
                    }
                    self.leaf(leaf, Need::All(group.into_iter().collect()))
                }
            };
            stack.push(id);
        }
        let root = stack.pop().unwrap_or(u32::MAX);
        self.rules.push(CompiledRule { index, root });
        Ok(())
    }

    fn leaf(&mut self, leaf: Leaf, need: Need) -> u32 {
        self.leaves.push(leaf);
        let l = (self.leaves.len() - 1) as u32;
        self.push(ENode::Leaf(l), need)
    }

    fn take_need(&mut self, node: u32) -> Need {
        self.needs
            .get_mut(node as usize)
            .map_or_else(Need::none, |n| std::mem::replace(n, Need::none()))
    }

    fn finish(mut self) -> TemplateProgram {
        let roots: Vec<u32> = self.rules.iter().map(|r| r.root).collect();
        let needs = roots.into_iter().map(|root| self.take_need(root)).collect();
        let answered_ids: Vec<LiteralId> = self
            .answered
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        let plan = plan(&self.literals, needs, &answered_ids);
        for (l, ids) in std::mem::take(&mut self.answered) {
            if let Some(Leaf::Text { test, .. }) = self.leaves.get_mut(l as usize)
                && let TextTest::Contains(values) = test
            {
                let values = std::mem::take(values);
                *test = TextTest::AnyPatternHit {
                    patterns: ids.into_boxed_slice(),
                    values,
                };
            }
        }
        let string_fields: Vec<u16> = self
            .interface
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FieldType::String)
            .filter_map(|(i, _)| u16::try_from(i).ok())
            .collect();
        // The fields folded leaves read: only these are folded before rules run.
        let mut folded_fields: Vec<u16> = Vec::new();
        for leaf in &self.leaves {
            match leaf {
                Leaf::Text {
                    sel: Sel::Field(f),
                    folded: true,
                    ..
                } => folded_fields.push(*f),
                Leaf::Text {
                    sel: Sel::Keyword,
                    folded: true,
                    ..
                } => folded_fields.extend(&string_fields),
                Leaf::FieldRef {
                    field,
                    other,
                    folded: true,
                    ..
                } => folded_fields.extend([*field, *other]),
                _ => {}
            }
        }
        folded_fields.sort_unstable();
        folded_fields.dedup();
        TemplateProgram {
            template: self.interface.id,
            field_count: self.interface.fields.len(),
            string_fields,
            folded_fields,
            rules: self.rules,
            nodes: self.nodes,
            children: self.children,
            leaves: self.leaves,
            filters: plan.filters,
            always: plan.always,
            pattern_count: self.literals.count(),
            checks: plan.checks,
        }
    }
}

fn rejected(code: SensorCode, rule: &RuleView<'_>, what: String) -> LoadError {
    LoadError::new(code, format!("rule {} «{}»: {what}", rule.id, rule.title))
}

/// The literal group of a leaf over `values` (in comparison form; `folded` if already folded):
/// any one value for all-of, every value for any-of; none when some needed value gives no
/// literal.
fn values_group<S: AsRef<str>>(
    sel: Sel,
    values: &[S],
    all_of: bool,
    folded: bool,
    literals: &mut Literals,
) -> Option<Group> {
    let mut intern = |v: &str| {
        if folded {
            literals.intern(sel, v)
        } else {
            literals.intern(sel, &fold(v))
        }
    };
    if all_of {
        return values
            .iter()
            .map(AsRef::as_ref)
            .filter(|v| !v.is_empty())
            .max_by_key(|v| v.len())
            .map(|v| vec![intern(v)]);
    }
    if values.iter().any(|v| v.as_ref().is_empty()) {
        return None;
    }
    Some(values.iter().map(|v| intern(v.as_ref())).collect())
}

/// The regexes built so far in one load, by pattern and case-insensitivity: SigmaHQ's 171
/// regex operands hold 118 distinct patterns, and a compiled regex is shared by cloning.
type RegexCache = foldhash::HashMap<(Box<str>, bool), CompiledRegex>;

fn build_match(
    m: &Match<ValueList<'_>>,
    rule: &RuleView<'_>,
    literals: &mut Literals,
    regexes: &mut RegexCache,
) -> Result<(Leaf, Option<Group>), LoadError> {
    let sel = match m.target {
        Target::Field(f) => Sel::Field(f),
        Target::Keyword => Sel::Keyword,
    };
    let folded = !m.case_sensitive;
    let values: Vec<&str> = match &m.operand {
        Operand::Field(other) => {
            let field = match m.target {
                Target::Field(f) => f,
                Target::Keyword => 0,
            };
            return Ok((
                Leaf::FieldRef {
                    field,
                    other: *other,
                    kind: m.kind,
                    folded,
                },
                None,
            ));
        }
        Operand::Values(list) => list.iter().collect(),
    };
    // Each value once, in comparison form; the leaf takes ownership (no copy per value).
    let prepared: Vec<Box<str>> = values
        .iter()
        .map(|v| {
            if folded && m.kind != MatchKind::Regex {
                fold(v).into_boxed_str()
            } else {
                Box::from(*v)
            }
        })
        .collect();
    let text = |test: TextTest| Leaf::Text {
        sel,
        folded: folded && m.kind != MatchKind::Regex,
        all_of: m.all_of,
        test,
    };
    let many = !m.all_of && prepared.len() > LINEAR_LIST_MAX;
    Ok(match m.kind {
        MatchKind::Equals => {
            let group = values_group(sel, &prepared, m.all_of, folded, literals);
            let test = if many {
                TextTest::EqualsSet(prepared.into_iter().collect::<foldhash::HashSet<_>>())
            } else {
                TextTest::Equals(prepared)
            };
            (text(test), group)
        }
        // Long any-of lists are answered from the prefilter's hits (`finish`).
        MatchKind::Contains => {
            let group = values_group(sel, &prepared, m.all_of, folded, literals);
            (text(TextTest::Contains(prepared)), group)
        }
        MatchKind::StartsWith => {
            let group = values_group(sel, &prepared, m.all_of, folded, literals);
            (text(TextTest::StartsWith(prepared)), group)
        }
        MatchKind::EndsWith => {
            let group = values_group(sel, &prepared, m.all_of, folded, literals);
            (text(TextTest::EndsWith(prepared)), group)
        }
        MatchKind::Glob => {
            let mut globs = Vec::with_capacity(prepared.len());
            for pattern in &prepared {
                globs.push(Glob::parse(pattern).map_err(|e| {
                    rejected(SensorCode::BadGlob, rule, format!("glob `{pattern}`: {e}"))
                })?);
            }
            let runs: Vec<&str> = globs.iter().map(Glob::longest_literal).collect();
            let group = values_group(sel, &runs, m.all_of, folded, literals);
            (text(TextTest::Globs(globs)), group)
        }
        MatchKind::Regex => {
            let mut compiled = Vec::with_capacity(prepared.len());
            for pattern in &prepared {
                let key = (pattern.clone(), folded);
                let regex = match regexes.get(&key) {
                    Some(built) => built.clone(),
                    None => {
                        let built = compile_regex(pattern, folded).map_err(|e| {
                            rejected(
                                SensorCode::BadRegex,
                                rule,
                                format!("regex `{pattern}`: {e}"),
                            )
                        })?;
                        regexes.insert(key, built.clone());
                        built
                    }
                };
                compiled.push(regex);
            }
            // Each regex's required literals (already folded); any-of needs one of any
            // regex's, all-of the first regex's that has some.
            let mut group = Group::new();
            let mut usable = !compiled.is_empty();
            for regex in &compiled {
                match &regex.required {
                    Some(required) => {
                        group.extend(required.iter().map(|l| literals.intern(sel, l)));
                        if m.all_of {
                            break;
                        }
                    }
                    None if m.all_of => {}
                    None => usable = false,
                }
            }
            let group = (usable && !group.is_empty()).then_some(group);
            let patterns = compiled.into_iter().map(|c| c.regex).collect();
            (text(TextTest::Patterns(patterns)), group)
        }
        MatchKind::Cidr => {
            let field = match m.target {
                Target::Field(f) => f,
                Target::Keyword => 0,
            };
            let mut nets = Vec::with_capacity(prepared.len());
            for v in &values {
                nets.push(Net::parse(v).ok_or_else(|| {
                    rejected(SensorCode::BadCidr, rule, format!("CIDR operand `{v}`"))
                })?);
            }
            (
                Leaf::Cidr {
                    field,
                    all_of: m.all_of,
                    nets,
                },
                None,
            )
        }
    })
}
