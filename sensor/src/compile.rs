//! Binding a parsed content to a sensor's interface, and compiling it into programs.
//!
//! Binding is the check Channel File 291 lacked: before anything is evaluated, every rule's
//! template type must be implemented by this sensor, and every field a rule reads must be one
//! the sensor supplies, with the declared type and name. A wildcard (`Any`) reads nothing, so
//! it binds to any field index. Matchers (regexes, automata, CIDR blocks) are built here, once.

use std::collections::{BTreeMap, HashMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind as AcMatchKind};
use dcf_parser::{
    ContentView, FieldType, Match, MatchKind, Node, Operand, RuleView, Target, ValueList,
};
use regex::{Regex, RegexBuilder};

use crate::error::{LoadError, SensorCode};
use crate::fold::fold;
use crate::interface::{SensorInterface, TemplateInterface};
use crate::limits::{LINEAR_LIST_MAX, REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};
use crate::net::Net;
use crate::program::{
    CompiledRule, ENode, FieldFilter, Leaf, RuleInfo, Ruleset, Sel, TemplateProgram, TextTest,
};

/// Literals one of which must occur (folded) in a field for an expression to be true.
/// `Some(vec![])` means the expression can never be true; `None` means no literal is needed.
type Factor = Option<Vec<(Sel, String)>>;

/// Binds `view` to `interface` and compiles it. Does not check signature, times or sequence:
/// that is the loader's job; `dcf test` uses this directly to run content in this interpreter.
pub fn compile(view: &ContentView<'_>, interface: &SensorInterface) -> Result<Ruleset, LoadError> {
    let mut builders: BTreeMap<u32, ProgramBuilder> = interface
        .templates
        .iter()
        .map(|t| (t.id, ProgramBuilder::new(t)))
        .collect();
    let mut rules = Vec::with_capacity(view.rule_count());
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
        builder.add_rule(&rule, index)?;
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

/// The distinct literals of one prefilter and the rules each selects.
#[derive(Default)]
struct PatternSet {
    patterns: Vec<String>,
    index: HashMap<String, usize>,
    rules: Vec<Vec<u32>>,
}

struct ProgramBuilder<'i> {
    interface: &'i TemplateInterface,
    rules: Vec<CompiledRule>,
    nodes: Vec<ENode>,
    children: Vec<u32>,
    leaves: Vec<Leaf>,
    factors: Vec<Factor>,
}

impl<'i> ProgramBuilder<'i> {
    fn new(interface: &'i TemplateInterface) -> Self {
        ProgramBuilder {
            interface,
            rules: Vec::new(),
            nodes: Vec::new(),
            children: Vec::new(),
            leaves: Vec::new(),
            factors: Vec::new(),
        }
    }

    fn push(&mut self, node: ENode, factor: Factor) -> u32 {
        self.nodes.push(node);
        self.factors.push(factor);
        (self.nodes.len() - 1) as u32
    }

    /// Pops `n` operands and stores them as one child range.
    fn children_of(&mut self, stack: &mut Vec<u32>, n: u32) -> (u32, u32, Vec<u32>) {
        let at = stack.len().saturating_sub(n as usize);
        let popped = stack.split_off(at);
        let first = self.children.len() as u32;
        self.children.extend_from_slice(&popped);
        (first, popped.len() as u32, popped)
    }

    fn add_rule(&mut self, rule: &RuleView<'_>, index: u32) -> Result<(), LoadError> {
        let mut stack: Vec<u32> = Vec::new();
        for node in rule.expression() {
            let id = match node {
                Node::And { children } => {
                    let (first, len, kids) = self.children_of(&mut stack, children);
                    let factor = self.and_factor(&kids);
                    self.push(ENode::And { first, len }, factor)
                }
                Node::Or { children } => {
                    let (first, len, kids) = self.children_of(&mut stack, children);
                    let factor = self.union_factor(&kids);
                    self.push(ENode::Or { first, len }, factor)
                }
                Node::Not => {
                    let child = stack.pop().unwrap_or(u32::MAX);
                    self.push(ENode::Not(child), None)
                }
                Node::AtLeast { required, children } => {
                    let (first, len, kids) = self.children_of(&mut stack, children);
                    let factor = if required == 0 {
                        None
                    } else if required > len {
                        Some(Vec::new())
                    } else {
                        self.union_factor(&kids)
                    };
                    self.push(
                        ENode::AtLeast {
                            required,
                            first,
                            len,
                        },
                        factor,
                    )
                }
                Node::Any { .. } => self.push(ENode::Const(true), None),
                Node::Exists { field } => self.leaf(Leaf::Exists(field), None),
                Node::IsNull { field } => self.leaf(Leaf::IsNull(field), None),
                Node::Compare { op, field, value } => {
                    self.leaf(Leaf::Compare { field, op, value }, None)
                }
                Node::Match(m) => {
                    let (leaf, factor) = build_match(&m, rule)?;
                    self.leaf(leaf, factor)
                }
            };
            stack.push(id);
        }
        let root = stack.pop().unwrap_or(u32::MAX);
        self.rules.push(CompiledRule { index, root });
        Ok(())
    }

    fn leaf(&mut self, leaf: Leaf, factor: Factor) -> u32 {
        self.leaves.push(leaf);
        let l = (self.leaves.len() - 1) as u32;
        self.push(ENode::Leaf(l), factor)
    }

    fn factor(&self, node: u32) -> Factor {
        self.factors.get(node as usize).cloned().flatten()
    }

    /// AND needs any one child's literals: take the most selective child.
    fn and_factor(&self, kids: &[u32]) -> Factor {
        kids.iter()
            .filter_map(|&k| self.factor(k))
            .min_by_key(|alts| {
                (
                    alts.len(),
                    std::cmp::Reverse(alts.iter().map(|a| a.1.len()).min().unwrap_or(0)),
                )
            })
    }

    /// OR (and AT_LEAST) needs a literal of some child: only if every child has literals.
    fn union_factor(&self, kids: &[u32]) -> Factor {
        let mut all = Vec::new();
        for &k in kids {
            all.extend(self.factor(k)?);
        }
        Some(all)
    }

    fn finish(self) -> TemplateProgram {
        let mut filters: BTreeMap<Sel, PatternSet> = BTreeMap::new();
        let mut always = Vec::new();
        for (position, rule) in self.rules.iter().enumerate() {
            let position = position as u32;
            match self.factor(rule.root) {
                None => always.push(position),
                Some(alternatives) => {
                    for (sel, literal) in alternatives {
                        let PatternSet {
                            patterns,
                            index,
                            rules,
                        } = filters.entry(sel).or_default();
                        let p = *index.entry(literal.clone()).or_insert_with(|| {
                            patterns.push(literal);
                            rules.push(Vec::new());
                            patterns.len() - 1
                        });
                        if let Some(list) = rules.get_mut(p)
                            && list.last() != Some(&position)
                        {
                            list.push(position);
                        }
                    }
                }
            }
        }
        let mut field_filters = Vec::new();
        for (
            sel,
            PatternSet {
                patterns, rules, ..
            },
        ) in filters
        {
            match AhoCorasick::builder()
                .match_kind(AcMatchKind::Standard)
                .build(&patterns)
            {
                Ok(automaton) => field_filters.push(FieldFilter {
                    sel,
                    automaton,
                    rules_of_pattern: rules.into_iter().map(Vec::into_boxed_slice).collect(),
                }),
                // An automaton too large to build: its rules lose the prefilter, not correctness.
                Err(_) => always.extend(rules.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        always.dedup();
        let string_fields = self
            .interface
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == FieldType::String)
            .filter_map(|(i, _)| u16::try_from(i).ok())
            .collect();
        TemplateProgram {
            template: self.interface.id,
            field_count: self.interface.fields.len(),
            string_fields,
            rules: self.rules,
            nodes: self.nodes,
            children: self.children,
            leaves: self.leaves,
            filters: field_filters,
            always,
        }
    }
}

fn rejected(code: SensorCode, rule: &RuleView<'_>, what: String) -> LoadError {
    LoadError::new(code, format!("rule {} «{}»: {what}", rule.id, rule.title))
}

/// Builds a regex under the sensor's limits.
pub(crate) fn build_regex(pattern: &str, case_insensitive: bool) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
}

/// Translates a glob (`*`, `?`, `\` escaping `*`, `?` and `\`; any other `\` is literal) into
/// an anchored regex, and returns its longest literal run for the prefilter.
pub fn glob_to_regex(glob: &str) -> (String, String) {
    let mut re = String::from("(?s)^");
    let (mut run, mut longest) = (String::new(), String::new());
    let mut chars = glob.chars().peekable();
    let end_run = |run: &mut String, longest: &mut String| {
        if run.len() > longest.len() {
            *longest = std::mem::take(run);
        }
        run.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                re.push_str(".*");
                end_run(&mut run, &mut longest);
            }
            '?' => {
                re.push('.');
                end_run(&mut run, &mut longest);
            }
            '\\' => {
                let literal = match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        next
                    }
                    _ => '\\',
                };
                re.push_str(&regex::escape(literal.encode_utf8(&mut [0; 4])));
                run.push(literal);
            }
            other => {
                re.push_str(&regex::escape(other.encode_utf8(&mut [0; 4])));
                run.push(other);
            }
        }
    }
    end_run(&mut run, &mut longest);
    re.push('$');
    (re, longest)
}

/// Literal alternatives for a leaf over `values` (already in comparison form): any one value
/// for all-of, every value for any-of; none if some value gives no literal.
fn values_factor(sel: Sel, literals: &[String], all_of: bool) -> Factor {
    if literals.iter().any(String::is_empty) {
        if all_of {
            return literals
                .iter()
                .filter(|l| !l.is_empty())
                .max_by_key(|l| l.len())
                .map(|l| vec![(sel, fold(l))]);
        }
        return None;
    }
    if all_of {
        literals
            .iter()
            .max_by_key(|l| l.len())
            .map(|l| vec![(sel, fold(l))])
    } else {
        Some(literals.iter().map(|l| (sel, fold(l))).collect())
    }
}

fn build_match(m: &Match<ValueList<'_>>, rule: &RuleView<'_>) -> Result<(Leaf, Factor), LoadError> {
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
    let prepared: Vec<String> = values
        .iter()
        .map(|v| {
            if folded && m.kind != MatchKind::Regex {
                fold(v)
            } else {
                (*v).to_string()
            }
        })
        .collect();
    let boxed = || {
        prepared
            .iter()
            .map(|v| v.clone().into_boxed_str())
            .collect::<Vec<_>>()
    };
    let text = |test: TextTest| Leaf::Text {
        sel,
        folded: folded && m.kind != MatchKind::Regex,
        all_of: m.all_of,
        test,
    };
    let many = !m.all_of && prepared.len() > LINEAR_LIST_MAX;
    Ok(match m.kind {
        MatchKind::Equals => {
            let test = if many {
                TextTest::EqualsSet(
                    prepared
                        .iter()
                        .map(|v| v.clone().into_boxed_str())
                        .collect::<HashSet<_>>(),
                )
            } else {
                TextTest::Equals(boxed())
            };
            (text(test), values_factor(sel, &prepared, m.all_of))
        }
        MatchKind::Contains => {
            let test = match many.then(|| AhoCorasick::new(&prepared)) {
                Some(Ok(automaton)) => TextTest::ContainsAny(automaton),
                _ => TextTest::Contains(boxed()),
            };
            (text(test), values_factor(sel, &prepared, m.all_of))
        }
        MatchKind::StartsWith => (
            text(TextTest::StartsWith(boxed())),
            values_factor(sel, &prepared, m.all_of),
        ),
        MatchKind::EndsWith => (
            text(TextTest::EndsWith(boxed())),
            values_factor(sel, &prepared, m.all_of),
        ),
        MatchKind::Glob => {
            let mut patterns = Vec::with_capacity(prepared.len());
            let mut literals = Vec::with_capacity(prepared.len());
            for glob in &prepared {
                let (re, literal) = glob_to_regex(glob);
                let compiled = build_regex(&re, false).map_err(|e| {
                    rejected(SensorCode::BadGlob, rule, format!("glob `{glob}`: {e}"))
                })?;
                patterns.push(compiled);
                literals.push(literal);
            }
            (
                text(TextTest::Patterns(patterns)),
                values_factor(sel, &literals, m.all_of),
            )
        }
        MatchKind::Regex => {
            let mut patterns = Vec::with_capacity(prepared.len());
            for pattern in &prepared {
                let compiled = build_regex(pattern, folded).map_err(|e| {
                    rejected(
                        SensorCode::BadRegex,
                        rule,
                        format!("regex `{pattern}`: {e}"),
                    )
                })?;
                patterns.push(compiled);
            }
            (text(TextTest::Patterns(patterns)), None)
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

#[cfg(test)]
mod tests {
    use super::glob_to_regex;

    #[test]
    fn globs_translate_with_escapes_and_literal_runs() {
        assert_eq!(
            glob_to_regex("*\\cmd.exe"),
            ("(?s)^.*\\\\cmd\\.exe$".to_string(), "\\cmd.exe".to_string())
        );
        assert_eq!(glob_to_regex("a\\*b?c").1, "a*b");
        assert_eq!(glob_to_regex("x\\\\*").0, "(?s)^x\\\\.*$");
        assert_eq!(glob_to_regex("trailing\\").0, "(?s)^trailing\\\\$");
        assert_eq!(glob_to_regex("*").1, "");
    }
}
