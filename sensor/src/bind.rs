//! The one binding decision: can this sensor run this content (`LOADER.md` LOAD-9, LOAD-10)?
//!
//! Binding is the check Channel File 291 lacked: before anything is evaluated, every rule's
//! template type must be implemented by this sensor, every field a rule reads
//! ([`dcf_parser::Node::reads`]) must be one the sensor supplies, with the declared type and
//! name, and every operand must build under the sensor's rules ([`crate::operands`]).
//!
//! [`bind`] makes that decision in one pass over the content and reports **every** refusal,
//! not only the first. The loader ([`crate::Sensor::load`]) refuses an update on the first;
//! the validator, the dry run (`dcf test`) and the Sigma importer call the same function and
//! only turn refusals into their own diagnostics. So the gate cannot accept what the sensor
//! refuses, or the other way round, by construction: there is no second implementation to
//! disagree with.

use crate::prelude::*;

use alloc::collections::BTreeMap;
use core::fmt;

use dcf_parser::{ContentView, FieldType, Node, RuleId, RuleView};

use crate::assemble::ProgramBuilder;
use crate::error::{LoadError, SensorCode};
use crate::interface::{SensorInterface, TemplateInterface};
use crate::operands::{self, OperandError, Operands, RegexCache};
use crate::program::{RuleInfo, Ruleset};

/// What a refused rule does wrong, with what was expected and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// E3101: the sensor does not implement the rule's template type.
    TemplateNotImplemented {
        /// The template type's id.
        template: u32,
    },
    /// E3102: a node reads a field index at or above the number of fields supplied.
    FieldNotSupplied {
        /// The field index read.
        field: u16,
        /// How many fields the sensor supplies for the template type.
        supplied: usize,
    },
    /// E3103: the field is declared with another type than the sensor supplies.
    FieldType {
        /// The field index.
        field: u16,
        /// The content's declaration.
        declared: FieldType,
        /// What the sensor supplies.
        supplied: FieldType,
    },
    /// E3104: the field is declared with another name than the sensor supplies at its index.
    FieldName {
        /// The field index.
        field: u16,
        /// The content's declaration.
        declared: String,
        /// What the sensor supplies.
        supplied: String,
    },
    /// E3601, E3602: the rule would take the content's cost over the sensor's budget
    /// (`LOADER.md` COST-5): the steps per byte of one field's text (`field`), or the fixed
    /// steps of one event (`field` is `None`). The rules before it in content order are
    /// counted, those refused are not.
    Cost {
        /// The field whose per-byte budget the rule crosses; `None` for the fixed budget.
        field: Option<u16>,
        /// The steps the content would cost with this rule.
        steps: u64,
        /// The budget.
        budget: u64,
    },
    /// E3201, E3202, E3203, E3603: an operand value the sensor cannot build, or a regex
    /// over the memory budget.
    Operand {
        /// Its index in the node's value list.
        value: usize,
        /// The value as the content holds it.
        text: String,
        /// Why it is refused.
        error: OperandError,
    },
}

impl Reason {
    /// The loader's code for this refusal.
    pub fn code(&self) -> SensorCode {
        match self {
            Reason::TemplateNotImplemented { .. } => SensorCode::TemplateNotSupplied,
            Reason::FieldNotSupplied { .. } => SensorCode::FieldNotSupplied,
            Reason::FieldType { .. } => SensorCode::FieldTypeMismatch,
            Reason::FieldName { .. } => SensorCode::FieldNameMismatch,
            Reason::Cost { field: Some(_), .. } => SensorCode::CostPerByteOverBudget,
            Reason::Cost { field: None, .. } => SensorCode::CostPerEventOverBudget,
            Reason::Operand { error, .. } => match error {
                OperandError::Regex(_) => SensorCode::BadRegex,
                OperandError::Glob(_) => SensorCode::BadGlob,
                OperandError::Cidr(_) => SensorCode::BadCidr,
                OperandError::Memory { .. } => SensorCode::MemoryOverBudget,
            },
        }
    }

    /// The field involved, for interface refusals.
    pub fn field(&self) -> Option<u16> {
        match self {
            Reason::FieldNotSupplied { field, .. }
            | Reason::FieldType { field, .. }
            | Reason::FieldName { field, .. } => Some(*field),
            Reason::Cost { field, .. } => *field,
            Reason::TemplateNotImplemented { .. } | Reason::Operand { .. } => None,
        }
    }
}

/// One rule the sensor cannot run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The rule's index in the content's rule table.
    pub rule: usize,
    /// The rule's id.
    pub rule_id: RuleId,
    /// The node (index in the rule's postfix expression) the refusal is about; `None` for the
    /// rule as a whole (its template type).
    pub node: Option<u32>,
    /// What is wrong.
    pub reason: Reason,
    /// The loader's message: the rule, the template type, the field or operand, the sensor.
    pub detail: String,
}

impl Refusal {
    /// The loader's code.
    pub fn code(&self) -> SensorCode {
        self.reason.code()
    }

    /// The refusal as the loader reports it.
    pub fn to_load_error(&self) -> LoadError {
        LoadError::new(self.code(), self.detail.clone())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.code(),
            self.code().description(),
            self.detail
        )
    }
}

/// The outcome of binding a content to an interface.
#[derive(Debug)]
pub struct Binding {
    /// The rules that bind, assembled for the interpreter. When [`Binding::refusals`] is not
    /// empty this is only part of the content; a sensor never activates it (the loader
    /// refuses the whole update), but a dry run tests it.
    pub ruleset: Ruleset,
    /// Every refusal, by rule in content order; within a rule, its template type, then its
    /// field reads in node order, then its operands in node order, then its cost. Each field
    /// of a rule is refused once, at the first node that reads it.
    pub refusals: Vec<Refusal>,
}

impl Binding {
    /// Whether the sensor accepts the whole content.
    pub fn is_accepted(&self) -> bool {
        self.refusals.is_empty()
    }

    /// The whole ruleset, or the first refusal: what the loader does.
    pub fn into_result(self) -> Result<Ruleset, LoadError> {
        match self.refusals.first() {
            None => Ok(self.ruleset),
            Some(first) => Err(first.to_load_error()),
        }
    }

    /// Whether rule `index` (in the content's rule table) bound.
    pub fn is_bound(&self, index: usize) -> bool {
        !self.refusals.iter().any(|r| r.rule == index)
    }
}

/// Binds `view` to `interface` and assembles the rules that bind (`LOADER.md` LOAD-9, LOAD-10),
/// reporting every refusal. Does not check signature, times or sequence: that is the loader's
/// job ([`crate::Sensor::load`], which calls this). Linear in the content's size.
///
/// Operands are built for every rule, also for one whose template type the sensor does not
/// implement, so that a refusal list names every operand the sensor could never build,
/// whichever interface it is bound to.
pub fn bind(view: &ContentView<'_>, interface: &SensorInterface) -> Binding {
    let mut builders: BTreeMap<u32, ProgramBuilder> = interface
        .templates
        .iter()
        .map(|t| (t.id, ProgramBuilder::new(t, interface.budget)))
        .collect();
    let mut rules = Vec::with_capacity(view.rule_count());
    // For each bound rule, its index in the content's rule table.
    let mut content_index = Vec::with_capacity(view.rule_count());
    let mut refusals = Vec::new();
    let mut regexes = RegexCache::new(interface.budget.memory);
    for (index, rule) in view.rules().enumerate() {
        let before = refusals.len();
        let nodes: Vec<_> = rule.expression().collect();
        let builder = builders.get_mut(&rule.template.id);
        match &builder {
            None => refusals.push(refusal(
                &rule,
                index,
                None,
                Reason::TemplateNotImplemented {
                    template: rule.template.id,
                },
                format!(
                    "rule {} «{}» uses template type {} ({}), which sensor {} does not implement",
                    rule.id, rule.title, rule.template.id, rule.template.name, interface.version
                ),
            )),
            Some(builder) => {
                check_reads(
                    &rule,
                    index,
                    &nodes,
                    builder.interface(),
                    interface,
                    &mut refusals,
                );
            }
        }
        let operands = build_operands(&rule, index, &nodes, &mut regexes, &mut refusals);
        if refusals.len() != before {
            continue;
        }
        let Some(builder) = builder else { continue };
        let Ok(bound) = u32::try_from(rules.len()) else {
            continue;
        };
        builder.add_rule(nodes, operands, bound);
        content_index.push(index);
        rules.push(RuleInfo {
            id: rule.id,
            title: rule.title.to_string(),
            author: rule.author.to_string(),
            severity: rule.severity,
            action: rule.action,
            template: rule.template.id,
        });
    }
    let mut programs: Vec<_> = builders.into_values().map(ProgramBuilder::finish).collect();
    let before = refusals.len();
    for program in &mut programs {
        judge_cost(
            program,
            &interface.budget,
            &rules,
            &content_index,
            &mut refusals,
        );
    }
    if refusals.len() != before {
        // Cost refusals come per program; the list stays by rule in content order.
        refusals.sort_by_key(|r| r.rule);
    }
    Binding {
        ruleset: Ruleset {
            header: *view.header(),
            key_id: view.signature().map(|s| *s.key_id),
            digest: *view.frame().digest(),
            rules,
            programs,
            bytes_len: view.bytes().len(),
        },
        refusals,
    }
}

/// Applies the cost model to one assembled program (`cost::judge`): records its cost, refuses
/// every rule that takes it over the budget, and cuts those rules off (their root becomes
/// *false*), so that a partial ruleset a dry run tests costs what the model says.
fn judge_cost(
    program: &mut crate::program::TemplateProgram,
    budget: &crate::interface::Budget,
    rules: &[RuleInfo],
    content_index: &[usize],
    out: &mut Vec<Refusal>,
) {
    let (cost, culprits) = crate::cost::judge(program, budget);
    program.cost = cost;
    if culprits.is_empty() {
        return;
    }
    let never = program.nodes.len() as u32;
    program.nodes.push(crate::program::ENode::Const(false));
    for culprit in culprits {
        let Some(compiled) = program.rules.get_mut(culprit.position) else {
            continue;
        };
        compiled.root = never;
        let bound = compiled.index as usize;
        let (Some(info), Some(&index)) = (rules.get(bound), content_index.get(bound)) else {
            continue;
        };
        let node = culprit
            .leaf
            .and_then(|l| program.leaf_nodes.get(l as usize).copied());
        let (limit, what) = match culprit.field {
            Some(f) => (
                budget.steps_per_byte,
                format!(
                    "the matchers reading field {f} ({}) would cost {} steps per byte of its text",
                    program.field_name(f).unwrap_or("?"),
                    culprit.steps
                ),
            ),
            None => (
                budget.steps_per_event,
                format!("one event would cost {} fixed steps", culprit.steps),
            ),
        };
        let matcher = node.map_or(String::new(), |n| format!(" (costliest: node {n})"));
        out.push(Refusal {
            rule: index,
            rule_id: info.id,
            node,
            reason: Reason::Cost {
                field: culprit.field,
                steps: culprit.steps,
                budget: limit,
            },
            detail: format!(
                "rule {} «{}» of template type {}: with it, {what}{matcher}; the sensor's budget is {limit}",
                info.id, info.title, program.template
            ),
        });
    }
}

fn refusal(
    rule: &RuleView<'_>,
    index: usize,
    node: Option<u32>,
    reason: Reason,
    detail: String,
) -> Refusal {
    Refusal {
        rule: index,
        rule_id: rule.id,
        node,
        reason,
        detail,
    }
}

/// Checks every field the rule's nodes read against what the sensor supplies; each field once,
/// at the first node that reads it.
fn check_reads(
    rule: &RuleView<'_>,
    index: usize,
    nodes: &[Node<dcf_parser::ValueList<'_>>],
    supplied: &TemplateInterface,
    interface: &SensorInterface,
    out: &mut Vec<Refusal>,
) {
    let mut seen: Vec<u16> = Vec::new();
    for (at, node) in (0u32..).zip(nodes) {
        for field in node.reads() {
            if seen.contains(&field) {
                continue;
            }
            seen.push(field);
            let declared = rule.template.field(field);
            let declared_name = declared.map_or("?", |f| f.name);
            let detail = |what: String| {
                format!(
                    "rule {} «{}» reads field {} ({}) of template type {} ({}): {what}",
                    rule.id, rule.title, field, declared_name, rule.template.id, rule.template.name
                )
            };
            let Some(actual) = supplied.fields.get(usize::from(field)) else {
                out.push(refusal(
                    rule,
                    index,
                    Some(at),
                    Reason::FieldNotSupplied {
                        field,
                        supplied: supplied.fields.len(),
                    },
                    detail(format!(
                        "sensor {} supplies only {} fields",
                        interface.version,
                        supplied.fields.len()
                    )),
                ));
                continue;
            };
            // The parser guarantees that a field a node names is declared (NODE-3).
            let Some(declared) = declared else { continue };
            if declared.kind != actual.kind {
                out.push(refusal(
                    rule,
                    index,
                    Some(at),
                    Reason::FieldType {
                        field,
                        declared: declared.kind,
                        supplied: actual.kind,
                    },
                    detail(format!(
                        "declared {}, sensor {} supplies {}",
                        declared.kind, interface.version, actual.kind
                    )),
                ));
            }
            if declared.name != actual.name {
                out.push(refusal(
                    rule,
                    index,
                    Some(at),
                    Reason::FieldName {
                        field,
                        declared: declared.name.to_string(),
                        supplied: actual.name.clone(),
                    },
                    detail(format!(
                        "sensor {} supplies `{}` at that index",
                        interface.version, actual.name
                    )),
                ));
            }
        }
    }
}

/// Builds the operands of every match node (`None` for other nodes), recording every value
/// refused.
fn build_operands(
    rule: &RuleView<'_>,
    index: usize,
    nodes: &[Node<dcf_parser::ValueList<'_>>],
    regexes: &mut RegexCache,
    out: &mut Vec<Refusal>,
) -> Vec<Option<Operands>> {
    let mut built = Vec::with_capacity(nodes.len());
    for (at, node) in (0u32..).zip(nodes) {
        let Node::Match(m) = node else {
            built.push(None);
            continue;
        };
        match operands::build(m, regexes) {
            Ok(operands) => built.push(Some(operands)),
            Err(refused) => {
                built.push(None);
                let values: Vec<&str> = match &m.operand {
                    dcf_parser::Operand::Values(list) => list.iter().collect(),
                    dcf_parser::Operand::Field(_) => Vec::new(),
                };
                // Once the memory budget is spent every later regex is over it: one
                // refusal per node says so, the first, with what it would have needed.
                let mut memory_told = false;
                for (value, error) in refused {
                    if matches!(error, OperandError::Memory { .. }) {
                        if memory_told {
                            continue;
                        }
                        memory_told = true;
                    }
                    let text = values.get(value).copied().unwrap_or("");
                    let what = match &error {
                        OperandError::Regex(e) => format!("regex `{text}`: {e}"),
                        OperandError::Glob(e) => format!("glob `{text}`: {e}"),
                        OperandError::Cidr(e) => format!("CIDR operand `{text}`: {e}"),
                        OperandError::Memory { needed, budget } => format!(
                            "regex `{text}`: the content's regexes would hold {needed} bytes; the sensor's memory budget is {budget}"
                        ),
                    };
                    out.push(refusal(
                        rule,
                        index,
                        Some(at),
                        Reason::Operand {
                            value,
                            text: text.to_string(),
                            error,
                        },
                        format!("rule {} «{}»: {what}", rule.id, rule.title),
                    ));
                }
            }
        }
    }
    built
}
