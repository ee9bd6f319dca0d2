//! Binding a parsed content to a sensor's interface, and compiling it into programs.
//!
//! Binding is the check Channel File 291 lacked: before anything is evaluated, every rule's
//! template type must be implemented by this sensor, and every field a rule reads must be one
//! the sensor supplies, with the declared type and name. A wildcard (`Any`) reads nothing, so
//! it binds to any field index. Matchers (regexes, automata, CIDR blocks) are built here, once.

use std::collections::{BTreeMap, HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind as AcMatchKind};
use dcf_parser::{
    ContentView, FieldType, Match, MatchKind, Node, Operand, RuleView, Target, ValueList,
};
use regex::{Regex, RegexBuilder};

use crate::error::{LoadError, SensorCode};
use crate::fold::fold;
use crate::interface::{SensorInterface, TemplateInterface};
use crate::limits::{
    LINEAR_LIST_MAX, MAX_PREFILTER_GROUPS, REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT,
};
use crate::net::Net;
use crate::program::{
    CompiledRule, ENode, FieldFilter, Leaf, RuleInfo, Ruleset, Sel, TemplateProgram, TextTest,
};

/// Literals of which one must occur (folded) in a field: a disjunction.
type Group = Vec<(Sel, String)>;

/// What an expression needs from an event's literals to have any chance of being true.
#[derive(Clone, Debug)]
enum Need {
    /// It can never be true.
    Never,
    /// Every group must have a hit; no groups means no literal is needed.
    All(Vec<Group>),
}

impl Need {
    fn none() -> Need {
        Need::All(Vec::new())
    }
}

/// Shortest literal of a group: longer literals hit benign text less often.
fn group_strength(group: &Group) -> usize {
    group.iter().map(|(_, l)| l.len()).min().unwrap_or(0)
}

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

/// The distinct literals of one prefilter and, for each, the rules whose pivot it is.
#[derive(Default)]
struct PatternSet {
    patterns: Vec<String>,
    index: HashMap<String, usize>,
    pivot_rules: Vec<Vec<u32>>,
}

struct ProgramBuilder<'i> {
    interface: &'i TemplateInterface,
    rules: Vec<CompiledRule>,
    nodes: Vec<ENode>,
    children: Vec<u32>,
    leaves: Vec<Leaf>,
    needs: Vec<Need>,
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
        }
    }

    fn push(&mut self, node: ENode, need: Need) -> u32 {
        self.nodes.push(node);
        self.needs.push(need);
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
                    let need = self.and_need(&kids);
                    self.push(ENode::And { first, len }, need)
                }
                Node::Or { children } => {
                    let (first, len, kids) = self.children_of(&mut stack, children);
                    let need = self.or_need(&kids);
                    self.push(ENode::Or { first, len }, need)
                }
                Node::Not => {
                    let child = stack.pop().unwrap_or(u32::MAX);
                    self.push(ENode::Not(child), Need::none())
                }
                Node::AtLeast { required, children } => {
                    let (first, len, kids) = self.children_of(&mut stack, children);
                    let need = if required == 0 {
                        Need::none()
                    } else if required > len {
                        Need::Never
                    } else {
                        self.or_need(&kids)
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
                    let (leaf, group) = build_match(&m, rule)?;
                    let need = Need::All(group.into_iter().collect());
                    self.leaf(leaf, need)
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

    fn need(&self, node: u32) -> Need {
        self.needs
            .get(node as usize)
            .cloned()
            .unwrap_or_else(Need::none)
    }

    /// AND needs what every child needs: the union of their groups, strongest first, capped.
    fn and_need(&self, kids: &[u32]) -> Need {
        let mut groups = Vec::new();
        for &k in kids {
            match self.need(k) {
                Need::Never => return Need::Never,
                Need::All(g) => groups.extend(g),
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(group_strength(g)));
        groups.truncate(MAX_PREFILTER_GROUPS);
        Need::All(groups)
    }

    /// OR (and AT_LEAST) needs something of some child: one group made of each possible
    /// child's strongest group, or nothing if a child needs nothing.
    fn or_need(&self, kids: &[u32]) -> Need {
        let mut union = Group::new();
        let mut possible = false;
        for &k in kids {
            match self.need(k) {
                Need::Never => {}
                Need::All(groups) => {
                    possible = true;
                    match groups.into_iter().next() {
                        Some(strongest) => union.extend(strongest),
                        None => return Need::none(),
                    }
                }
            }
        }
        if possible {
            Need::All(vec![union])
        } else {
            Need::Never
        }
    }

    fn finish(self) -> TemplateProgram {
        let mut always = Vec::new();
        let mut rule_groups: Vec<Vec<Group>> = Vec::with_capacity(self.rules.len());
        for (position, rule) in self.rules.iter().enumerate() {
            rule_groups.push(match self.need(rule.root) {
                // Never true: no literal can make it a candidate, and it is not always run.
                Need::Never => Vec::new(),
                Need::All(groups) if groups.is_empty() => {
                    always.push(position as u32);
                    Vec::new()
                }
                Need::All(groups) => groups,
            });
        }
        // How many rules use each literal: a rule's pivot is its group whose literals are
        // shared by the fewest rules, so that a common literal fans out to few candidates.
        let mut usage: HashMap<(Sel, &str), u32> = HashMap::new();
        for groups in &rule_groups {
            let distinct: HashSet<(Sel, &str)> = groups
                .iter()
                .flatten()
                .map(|(sel, l)| (*sel, l.as_str()))
                .collect();
            for key in distinct {
                *usage.entry(key).or_default() += 1;
            }
        }
        let cost = |group: &Group| -> u64 {
            group
                .iter()
                .map(|(sel, l)| u64::from(usage.get(&(*sel, l.as_str())).copied().unwrap_or(0)))
                .sum()
        };
        let mut filters: BTreeMap<Sel, PatternSet> = BTreeMap::new();
        let mut local_checks: Vec<Vec<Vec<(Sel, usize)>>> = Vec::with_capacity(rule_groups.len());
        for (position, groups) in rule_groups.iter().enumerate() {
            let pivot = groups
                .iter()
                .enumerate()
                .min_by_key(|(_, g)| cost(g))
                .map(|(i, _)| i);
            let mut checks = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                let mut check = Vec::new();
                for (sel, literal) in group {
                    let set = filters.entry(*sel).or_default();
                    let p = *set.index.entry(literal.clone()).or_insert_with(|| {
                        set.patterns.push(literal.clone());
                        set.pivot_rules.push(Vec::new());
                        set.patterns.len() - 1
                    });
                    if Some(g) == pivot {
                        if let Some(list) = set.pivot_rules.get_mut(p)
                            && list.last() != Some(&(position as u32))
                        {
                            list.push(position as u32);
                        }
                    } else {
                        check.push((*sel, p));
                    }
                }
                if Some(g) != pivot {
                    checks.push(check);
                }
            }
            local_checks.push(checks);
        }
        let mut field_filters = Vec::new();
        let mut first_pattern: HashMap<Sel, u32> = HashMap::new();
        let mut pattern_count: u32 = 0;
        let mut unfiltered: HashSet<Sel> = HashSet::new();
        for (
            sel,
            PatternSet {
                patterns,
                pivot_rules,
                ..
            },
        ) in filters
        {
            // A contiguous NFA, not a DFA: on SigmaHQ's rules DFAs made the loaded content
            // 3.3x larger (70.6 against 21.2 MiB) and its load 1.6x slower, and scanned no
            // faster (BENCHMARKS.md, Sigma content in the sensor).
            let kind = Some(AhoCorasickKind::ContiguousNFA);
            let built = AhoCorasick::builder()
                .match_kind(AcMatchKind::Standard)
                .kind(kind)
                .build(&patterns);
            match built {
                Ok(automaton) => {
                    first_pattern.insert(sel, pattern_count);
                    pattern_count = pattern_count.saturating_add(patterns.len() as u32);
                    field_filters.push(FieldFilter {
                        sel,
                        automaton,
                        first_pattern: first_pattern.get(&sel).copied().unwrap_or(0),
                        pivot_rules: pivot_rules.into_iter().map(Vec::into_boxed_slice).collect(),
                    });
                }
                // An automaton too large to build: rules that depend on it lose the prefilter
                // (they are always evaluated), never correctness.
                Err(_) => {
                    unfiltered.insert(sel);
                }
            }
        }
        let mut checks: Vec<Box<[Box<[u32]>]>> = Vec::with_capacity(local_checks.len());
        for (position, (groups, local)) in rule_groups.iter().zip(local_checks).enumerate() {
            if groups
                .iter()
                .flatten()
                .any(|(sel, _)| unfiltered.contains(sel))
            {
                always.push(position as u32);
                checks.push(Box::default());
                continue;
            }
            checks.push(
                local
                    .into_iter()
                    .map(|group| {
                        group
                            .into_iter()
                            .filter_map(|(sel, p)| {
                                Some(first_pattern.get(&sel)?.saturating_add(p as u32))
                            })
                            .collect()
                    })
                    .collect(),
            );
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
            pattern_count: pattern_count as usize,
            checks,
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

/// The literal group of a leaf over `literals` (already in comparison form): any one value
/// for all-of, every value for any-of; none when some needed value gives no literal.
fn values_group(sel: Sel, literals: &[String], all_of: bool) -> Option<Group> {
    if all_of {
        return literals
            .iter()
            .filter(|l| !l.is_empty())
            .max_by_key(|l| l.len())
            .map(|l| vec![(sel, fold(l))]);
    }
    if literals.iter().any(String::is_empty) {
        return None;
    }
    Some(literals.iter().map(|l| (sel, fold(l))).collect())
}

fn build_match(
    m: &Match<ValueList<'_>>,
    rule: &RuleView<'_>,
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
            (text(test), values_group(sel, &prepared, m.all_of))
        }
        MatchKind::Contains => {
            let contiguous = || {
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&prepared)
            };
            let test = match many.then(contiguous) {
                Some(Ok(automaton)) => TextTest::ContainsAny(automaton),
                _ => TextTest::Contains(boxed()),
            };
            (text(test), values_group(sel, &prepared, m.all_of))
        }
        MatchKind::StartsWith => (
            text(TextTest::StartsWith(boxed())),
            values_group(sel, &prepared, m.all_of),
        ),
        MatchKind::EndsWith => (
            text(TextTest::EndsWith(boxed())),
            values_group(sel, &prepared, m.all_of),
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
                values_group(sel, &literals, m.all_of),
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
