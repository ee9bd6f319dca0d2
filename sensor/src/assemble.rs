//! Assembling the rules the binder accepted into one program per template type: the node
//! arrays the interpreter walks, the leaves with their built operands, and the literal
//! prefilter plan. Nothing here decides whether a content is accepted: that is `bind.rs`,
//! which hands over only rules it found bindable, with their operands already built.

use crate::prelude::*;

use dcf_parser::{FieldType, Match, MatchKind, Node, Target, ValueList};

use crate::cost::{ProgramCost, leaf_cost};
use crate::fold::fold;
use crate::glob::Glob;
use crate::interface::{Budget, TemplateInterface};
use crate::limits::{LINEAR_LIST_MAX, MAX_PREFILTER_GROUPS};
use crate::operands::Operands;
use crate::prefilter::{Group, LiteralId, Literals, Need, plan};
use crate::program::{CompiledRule, ENode, Leaf, Sel, TemplateProgram, TextTest};

/// Whether a leaf can be answered from its field's prefilter hits: a list of non-empty
/// case-insensitive contains literals (the prefilter scans folded text), any-of, or all-of on
/// one field (a keyword all-of needs every value in the *same* field, which hits from all
/// fields together do not tell). Such a leaf then costs no pass over the text of its own
/// (`LOADER.md` COST-2): the field's one prefilter scan finds every literal.
fn answered_by_prefilter(leaf: &Leaf) -> bool {
    match leaf {
        Leaf::Text {
            sel,
            folded: true,
            all_of,
            test: TextTest::Contains(values),
        } => {
            (!*all_of || matches!(sel, Sel::Field(_)))
                && !values.is_empty()
                && values.iter().all(|v| !v.is_empty())
        }
        _ => false,
    }
}

/// The program of one template type, built rule by rule.
pub(crate) struct ProgramBuilder<'i> {
    interface: &'i TemplateInterface,
    budget: Budget,
    /// For each leaf, the position of its match node in its rule's expression.
    leaf_nodes: Vec<u32>,
    /// The position of the node being added in its rule's expression.
    node_at: u32,
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
    pub(crate) fn new(interface: &'i TemplateInterface, budget: Budget) -> Self {
        ProgramBuilder {
            interface,
            budget,
            leaf_nodes: Vec::new(),
            node_at: 0,
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
        let id = self.nodes.len() as u32;
        self.nodes.push(node);
        self.needs.push(need);
        id
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

    /// The interface this program is built for.
    pub(crate) fn interface(&self) -> &'i TemplateInterface {
        self.interface
    }

    /// Adds rule number `index` of the ruleset: its postfix `nodes`, and for each match node
    /// (and only those) its operands as the binder built them.
    pub(crate) fn add_rule(
        &mut self,
        nodes: Vec<Node<ValueList<'_>>>,
        operands: Vec<Option<Operands>>,
        index: u32,
    ) {
        let mut stack: Vec<u32> = Vec::new();
        for (at, (node, operands)) in (0u32..).zip(nodes.into_iter().zip(operands)) {
            self.node_at = at;
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
                    let Some(operands) = operands else {
                        // The binder builds the operands of every match node of a rule it
                        // accepts, so this is never taken; if it were, the node would match
                        // nothing and the postfix stack keep its shape.
                        let id = self.push(ENode::Const(false), Need::Never);
                        stack.push(id);
                        continue;
                    };
                    let (leaf, group) = build_match(&m, operands, &mut self.literals);
                    if answered_by_prefilter(&leaf)
                        && let Leaf::Text {
                            sel,
                            test: TextTest::Contains(values),
                            ..
                        } = &leaf
                    {
                        // Values are folded already; interning twice gives the same id.
                        let ids = values
                            .iter()
                            .map(|v| self.literals.intern(*sel, v))
                            .collect();
                        self.answered.push((self.leaves.len() as u32, ids));
                    }
                    self.leaf(leaf, Need::All(group.into_iter().collect()))
                }
            };
            stack.push(id);
        }
        let root = stack.pop().unwrap_or(u32::MAX);
        self.rules.push(CompiledRule { index, root });
    }

    fn leaf(&mut self, leaf: Leaf, need: Need) -> u32 {
        let l = self.leaves.len() as u32;
        self.leaves.push(leaf);
        self.leaf_nodes.push(self.node_at);
        self.push(ENode::Leaf(l), need)
    }

    fn take_need(&mut self, node: u32) -> Need {
        self.needs
            .get_mut(node as usize)
            .map_or_else(Need::none, |n| core::mem::replace(n, Need::none()))
    }

    /// The finished program, with its prefilter plan.
    pub(crate) fn finish(mut self) -> TemplateProgram {
        let roots: Vec<u32> = self.rules.iter().map(|r| r.root).collect();
        let needs = roots.into_iter().map(|root| self.take_need(root)).collect();
        let answered_ids: Vec<LiteralId> = self
            .answered
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        let plan = plan(&self.literals, needs, &answered_ids);
        for (l, ids) in core::mem::take(&mut self.answered) {
            if let Some(Leaf::Text { test, .. }) = self.leaves.get_mut(l as usize)
                && let TextTest::Contains(values) = test
            {
                let values = core::mem::take(values);
                *test = TextTest::PatternHits {
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
        let leaf_costs = self
            .leaves
            .iter()
            .map(|leaf| {
                let (reads, with_prefilter) = leaf_cost(leaf, true);
                (reads, [with_prefilter, leaf_cost(leaf, false).1])
            })
            .collect();
        TemplateProgram {
            template: self.interface.id,
            field_count: self.interface.fields.len(),
            length_limits: self
                .interface
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.kind == FieldType::String)
                .filter_map(|(index, f)| Some((u16::try_from(index).ok()?, f.max_len?)))
                .collect(),
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
            leaf_costs,
            leaf_nodes: self.leaf_nodes,
            field_names: self
                .interface
                .fields
                .iter()
                .map(|f| f.name.as_str().into())
                .collect(),
            budget: self.budget,
            cost: ProgramCost::default(),
        }
    }
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

/// The leaf of a match node and its literal group, from the operands the binder built.
fn build_match(
    m: &Match<ValueList<'_>>,
    operands: Operands,
    literals: &mut Literals,
) -> (Leaf, Option<Group>) {
    let sel = match m.target {
        Target::Field(f) => Sel::Field(f),
        Target::Keyword => Sel::Keyword,
    };
    let folded = !m.case_sensitive;
    let text = |test: TextTest| Leaf::Text {
        sel,
        folded: folded && m.kind != MatchKind::Regex,
        all_of: m.all_of,
        test,
    };
    match operands {
        Operands::FieldRef { field, other } => (
            Leaf::FieldRef {
                field,
                other,
                kind: m.kind,
                folded,
            },
            None,
        ),
        Operands::Texts(prepared) => {
            let group = values_group(sel, &prepared, m.all_of, folded, literals);
            let many = !m.all_of && prepared.len() > LINEAR_LIST_MAX;
            let test = match m.kind {
                MatchKind::Equals if many => {
                    TextTest::EqualsSet(prepared.into_iter().collect::<crate::HashSet<_>>())
                }
                MatchKind::Equals => TextTest::Equals(prepared),
                // Long any-of lists are answered from the prefilter's hits (`finish`).
                MatchKind::StartsWith => TextTest::StartsWith(prepared),
                MatchKind::EndsWith => TextTest::EndsWith(prepared),
                _ => TextTest::Contains(prepared),
            };
            (text(test), group)
        }
        Operands::Globs(globs) => {
            let runs: Vec<&str> = globs.iter().map(Glob::longest_literal).collect();
            let group = values_group(sel, &runs, m.all_of, folded, literals);
            (text(TextTest::Globs(globs)), group)
        }
        Operands::Regexes(compiled) => {
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
        Operands::Nets { field, nets } => (
            Leaf::Cidr {
                field,
                all_of: m.all_of,
                nets,
            },
            None,
        ),
    }
}
