//! The compiled form of a bound content, and its evaluation.
//!
//! Each template type gets one program: its rules' expressions as trees in flat arrays, their
//! leaf matchers built at load, and a prefilter that picks, per event, the rules worth
//! evaluating. Evaluation reads a field only through `Event::get`, which is bounds-checked,
//! and an event shorter than its template's interface is refused before any rule runs.

use crate::prelude::*;

use core::net::IpAddr;

use dcf_parser::format::DIGEST_LEN;
use dcf_parser::{Action, CompareOp, Header, MatchKind, RuleId, Severity};

use crate::cost::{Cost, Meter, ProgramCost, Reads};
use crate::error::{EvalError, SensorCode};
use crate::event::{Event, Value};
use crate::fold::fold_into;
use crate::glob::Glob;
use crate::interface::Budget;
use crate::limits::EXHAUSTIVE_BUDGET_FACTOR;
use crate::literals::{LiteralFinder, LiteralSink};
use crate::net::Net;
use crate::regexes::Regex;

/// What a match report says about a rule (the DRL requires the author in every report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Rule id.
    pub id: RuleId,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Severity.
    pub severity: Severity,
    /// Action.
    pub action: Action,
    /// Template type id.
    pub template: u32,
}

/// A loaded, bound, ready-to-evaluate content.
#[derive(Debug)]
pub struct Ruleset {
    pub(crate) header: Header,
    pub(crate) key_id: Option<[u8; 16]>,
    /// SHA-256 of the content file's digested bytes (its frame's digest).
    pub(crate) digest: [u8; DIGEST_LEN],
    pub(crate) rules: Vec<RuleInfo>,
    /// Sorted by template id.
    pub(crate) programs: Vec<TemplateProgram>,
    pub(crate) bytes_len: usize,
}

impl Ruleset {
    /// The content's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The content's sequence number.
    pub fn sequence(&self) -> u64 {
        self.header.sequence
    }

    /// Id of the key that signed the content, if it was signed.
    pub fn key_id(&self) -> Option<[u8; 16]> {
        self.key_id
    }

    /// The content's SHA-256 digest, as its frame carries it: what names this content in
    /// health reports and in the content store.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// Every rule, in content order; match reports index into this.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// Size of the content file this was loaded from.
    pub fn content_len(&self) -> usize {
        self.bytes_len
    }

    fn program(&self, template: u32) -> Option<&TemplateProgram> {
        self.programs
            .binary_search_by_key(&template, |p| p.template)
            .ok()
            .and_then(|i| self.programs.get(i))
    }

    /// Evaluates one event; appends the indexes (into [`Ruleset::rules`]) of the matching
    /// rules to `out`, in ascending order.
    pub fn evaluate(
        &self,
        event: &Event<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) -> Result<(), EvalError> {
        let program = self.program_for(event)?;
        program.evaluate(event, scratch, out, true);
        program.finished(event, scratch)
    }

    /// Like [`Ruleset::evaluate`], but runs every rule of the template type, without the
    /// literal prefilter. The reference the prefilter is tested against, and what dry runs use
    /// to make every criterion execute.
    pub fn evaluate_exhaustive(
        &self,
        event: &Event<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) -> Result<(), EvalError> {
        let program = self.program_for(event)?;
        program.evaluate(event, scratch, out, false);
        program.finished(event, scratch)
    }

    /// Evaluates only `rules` (indexes into [`Ruleset::rules`]) on one event, each without
    /// the prefilter, as [`Ruleset::evaluate_exhaustive`] would; appends those that match to
    /// `out`, in ascending order. Indexes of other template types' rules are ignored. The
    /// reference verdict of a few rules at the cost of those rules alone: a dry run checks each
    /// probe event against the rule it was made for, so its work stays linear in the rules.
    pub fn evaluate_rules_exhaustive(
        &self,
        event: &Event<'_>,
        rules: &[u32],
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) -> Result<(), EvalError> {
        let program = self.program_for(event)?;
        program.evaluate_only(event, rules, scratch, out);
        program.finished(event, scratch)
    }

    /// The model's bound on the steps evaluating `event` takes (`LOADER.md` COST-1): what
    /// [`Scratch::steps`] never exceeds after [`Ruleset::evaluate`] on it. `None` for an event
    /// of a template type the content has no program for.
    pub fn cost_bound(&self, event: &Event<'_>) -> Option<u64> {
        let program = self.program(event.template)?;
        Some(program.cost.bound(|f| text_len(event, f)))
    }

    /// The model's steps per byte of each field's text (by field index) and its fixed steps,
    /// for events of template type `template`: what the binder held against the budget.
    pub fn cost_model(&self, template: u32) -> Option<(&[u64], u64)> {
        let program = self.program(template)?;
        Some((&program.cost.per_byte, program.cost.fixed))
    }

    /// The most steps any event of template type `template` can take, when the sensor
    /// declares a maximum length for every string field a matcher reads: the model's bound
    /// made absolute (`LOADER.md` COST-3). `None` otherwise.
    pub fn worst_event_cost(&self, template: u32) -> Option<u64> {
        let program = self.program(template)?;
        let mut total = program.cost.fixed;
        for (f, &per_byte) in (0u16..).zip(&program.cost.per_byte) {
            if per_byte == 0 {
                continue;
            }
            let max_len = program
                .length_limits
                .iter()
                .find(|(field, _)| *field == f)
                .map(|&(_, max)| max)?;
            total = total.saturating_add(per_byte.saturating_mul(u64::from(max_len)));
        }
        Some(total)
    }

    fn program_for(&self, event: &Event<'_>) -> Result<&TemplateProgram, EvalError> {
        let Some(program) = self.program(event.template) else {
            return Err(EvalError {
                code: SensorCode::UnknownTemplate,
                template: event.template,
                supplied: event.fields.len(),
                expected: 0,
                field: None,
            });
        };
        if event.fields.len() < program.field_count {
            return Err(EvalError {
                code: SensorCode::EventTooShort,
                template: event.template,
                supplied: event.fields.len(),
                expected: program.field_count,
                field: None,
            });
        }
        for &(field, max_len) in &program.length_limits {
            if let Some(Value::Str(text)) = event.fields.get(usize::from(field))
                && text.len() > max_len as usize
            {
                return Err(EvalError {
                    code: SensorCode::FieldTooLong,
                    template: event.template,
                    supplied: text.len(),
                    expected: max_len as usize,
                    field: Some(field),
                });
            }
        }
        Ok(program)
    }
}

/// Reusable per-thread working memory, so evaluation does not allocate in the steady state.
#[derive(Debug, Default)]
pub struct Scratch {
    fold: FoldCache,
    marks: Marks,
    meter: Meter,
}

/// Folded text of the current event's string fields, computed at most once per field.
#[derive(Debug, Default)]
struct FoldCache {
    text: String,
    spans: Vec<Option<(usize, usize)>>,
}

/// The patterns hit and the candidate rules of the current event, as epoch-stamped sets,
/// so nothing is cleared between events.
#[derive(Debug, Default)]
struct Marks {
    rule_stamps: Vec<u32>,
    pattern_stamps: Vec<u32>,
    epoch: u32,
    candidates: Vec<u32>,
}

impl Scratch {
    /// Empty scratch space; it grows to the largest event seen and stays there.
    pub fn new() -> Self {
        Scratch::default()
    }

    /// The steps the last evaluation took, as the cost model counts them (`LOADER.md`
    /// COST-6): never more than [`Ruleset::cost_bound`] of its event.
    pub fn steps(&self) -> u64 {
        self.meter.spent()
    }

    /// The folded text of string field `field`, folding (and charging for) it on first use.
    fn folded(&mut self, event: &Event<'_>, field: u16) -> Option<&str> {
        fold_charged(&mut self.fold, &self.meter, event, field)
    }

    fn begin(&mut self, fields: usize, rules: usize, patterns: usize) {
        self.fold.text.clear();
        self.fold.spans.clear();
        self.fold.spans.resize(fields, None);
        let m = &mut self.marks;
        if m.rule_stamps.len() < rules {
            m.rule_stamps.resize(rules, 0);
        }
        if m.pattern_stamps.len() < patterns {
            m.pattern_stamps.resize(patterns, 0);
        }
        m.epoch = m.epoch.wrapping_add(1);
        if m.epoch == 0 {
            m.rule_stamps.iter_mut().for_each(|s| *s = 0);
            m.pattern_stamps.iter_mut().for_each(|s| *s = 0);
            m.epoch = 1;
        }
        m.candidates.clear();
    }
}

/// The folded text of string field `field` from `fold`, folding it on first use in this event
/// and charging `meter` one step per byte for that.
fn fold_charged<'s>(
    fold: &'s mut FoldCache,
    meter: &Meter,
    event: &Event<'_>,
    field: u16,
) -> Option<&'s str> {
    if fold.get_ref(field).is_none() {
        meter.charge(
            Cost {
                per_byte: 1,
                fixed: 1,
            }
            .on(text_len(event, field)),
        );
    }
    fold.get(event, field)
}

impl FoldCache {
    /// The folded text of string field `field`, folding it on first use in this event.
    fn get(&mut self, event: &Event<'_>, field: u16) -> Option<&str> {
        let i = usize::from(field);
        let span = match self.spans.get(i).copied().flatten() {
            Some(span) => span,
            None => {
                let Some(Value::Str(s)) = event.get(field) else {
                    return None;
                };
                let start = self.text.len();
                fold_into(s, &mut self.text);
                let span = (start, self.text.len());
                if let Some(slot) = self.spans.get_mut(i) {
                    *slot = Some(span);
                }
                span
            }
        };
        self.text.get(span.0..span.1)
    }

    /// The folded text of a field folded earlier in this event.
    fn get_ref(&self, field: u16) -> Option<&str> {
        let (start, end) = self.spans.get(usize::from(field)).copied().flatten()?;
        self.text.get(start..end)
    }
}

impl Marks {
    /// Records that pattern `p` occurs; true the first time in this event.
    fn hit_pattern(&mut self, p: u32) -> bool {
        match self.pattern_stamps.get_mut(p as usize) {
            Some(stamp) if *stamp != self.epoch => {
                *stamp = self.epoch;
                true
            }
            _ => false,
        }
    }

    fn has_pattern(&self, p: u32) -> bool {
        self.pattern_stamps.get(p as usize) == Some(&self.epoch)
    }

    fn mark(&mut self, rule: u32) {
        if let Some(s) = self.rule_stamps.get_mut(rule as usize)
            && *s != self.epoch
        {
            *s = self.epoch;
            self.candidates.push(rule);
        }
    }
}

/// Which field(s) a leaf looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Sel {
    Field(u16),
    Keyword,
}

/// A node of a compiled expression tree.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ENode {
    Const(bool),
    And { first: u32, len: u32 },
    Or { first: u32, len: u32 },
    Not(u32),
    AtLeast { required: u32, first: u32, len: u32 },
    Leaf(u32),
}

/// How a text leaf compares.
#[derive(Debug)]
pub(crate) enum TextTest {
    Equals(Vec<Box<str>>),
    EqualsSet(crate::HashSet<Box<str>>),
    Contains(Vec<Box<str>>),
    /// A contains list whose literals are all in the prefilter of the leaf's field: true if
    /// any (all, for all-of) of these program-wide pattern ids occurred in this event, so the
    /// field is scanned once for the prefilter and every such leaf together. Exhaustive
    /// evaluation, which runs no prefilter, compares the values one by one instead.
    PatternHits {
        patterns: Box<[u32]>,
        values: Vec<Box<str>>,
    },
    StartsWith(Vec<Box<str>>),
    EndsWith(Vec<Box<str>>),
    Globs(Vec<Glob>),
    /// Regular expressions, compiled.
    Patterns(Vec<Regex>),
}

/// A leaf matcher, built once at load.
#[derive(Debug)]
pub(crate) enum Leaf {
    Exists(u16),
    IsNull(u16),
    Text {
        sel: Sel,
        /// Compare against the folded field text (values were folded at load).
        folded: bool,
        all_of: bool,
        test: TextTest,
    },
    FieldRef {
        field: u16,
        other: u16,
        kind: MatchKind,
        folded: bool,
    },
    Cidr {
        field: u16,
        all_of: bool,
        nets: Vec<Net>,
    },
    Compare {
        field: u16,
        op: CompareOp,
        value: i64,
    },
}

/// One rule of a template program.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    /// Index into `Ruleset::rules`.
    pub(crate) index: u32,
    pub(crate) root: u32,
}

/// A literal prefilter over one field (or every string field, for keywords).
#[derive(Debug)]
pub(crate) struct FieldFilter {
    pub(crate) sel: Sel,
    pub(crate) finder: LiteralFinder,
    /// For each literal of the finder, its program-wide id.
    pub(crate) patterns: Box<[u32]>,
    /// For each literal of the finder, the rules (positions) whose pivot group it is in.
    pub(crate) pivot_rules: Vec<Box<[u32]>>,
    /// The finder's worst case (`LiteralFinder::worst_case`), charged per scan.
    pub(crate) scan: Cost,
}

/// Everything needed to evaluate events of one template type.
#[derive(Debug)]
pub(crate) struct TemplateProgram {
    pub(crate) template: u32,
    /// Fields the sensor supplies: events must have at least this many.
    pub(crate) field_count: usize,
    /// `(field, max_len)` of every string field with a declared maximum length (E3504).
    pub(crate) length_limits: Vec<(u16, u32)>,
    pub(crate) string_fields: Vec<u16>,
    /// The string fields some case-insensitive leaf reads, folded before rules run.
    pub(crate) folded_fields: Vec<u16>,
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) nodes: Vec<ENode>,
    pub(crate) children: Vec<u32>,
    pub(crate) leaves: Vec<Leaf>,
    pub(crate) filters: Vec<FieldFilter>,
    /// Rules (positions in `rules`) with no literal to prefilter on: evaluated for every event.
    pub(crate) always: Vec<u32>,
    /// Number of distinct literals over all finders: pattern ids are below this.
    pub(crate) pattern_count: usize,
    /// For each rule, its literal groups besides the pivot, as program-wide pattern ids: each
    /// group needs a hit before the rule is evaluated.
    pub(crate) checks: Vec<Box<[Box<[u32]>]>>,
    /// For each leaf, the texts it reads and its worst case with the prefilter's hits and
    /// without (`leaf_cost`): what the model adds up and the meter charges.
    pub(crate) leaf_costs: Vec<(Reads, [Cost; 2])>,
    /// For each leaf, the position of its match node in its rule's expression.
    pub(crate) leaf_nodes: Vec<u32>,
    /// The interface's field names, for messages.
    pub(crate) field_names: Vec<Box<str>>,
    /// The sensor's budget, which the interpreter enforces per event.
    pub(crate) budget: Budget,
    /// The model's conclusion about this program (`cost::judge`), set by the binder.
    pub(crate) cost: ProgramCost,
}

impl TemplateProgram {
    fn evaluate(
        &self,
        event: &Event<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
        prefilter: bool,
    ) {
        scratch.begin(self.field_count, self.rules.len(), self.pattern_count);
        self.start_meter(event, scratch, prefilter);
        for filter in self.filters.iter().filter(|_| prefilter) {
            match filter.sel {
                Sel::Field(f) => self.run_filter(filter, event, f, scratch),
                Sel::Keyword => {
                    for &f in &self.string_fields {
                        self.run_filter(filter, event, f, scratch);
                    }
                }
            }
        }
        if prefilter {
            for &r in &self.always {
                scratch.marks.mark(r);
            }
        } else {
            for r in 0..self.rules.len() as u32 {
                scratch.marks.mark(r);
            }
        }
        if scratch.marks.candidates.is_empty() {
            return;
        }
        for &f in &self.folded_fields {
            let _ = scratch.folded(event, f);
        }
        let mut candidates = core::mem::take(&mut scratch.marks.candidates);
        candidates.sort_unstable();
        for &r in &candidates {
            let verified = !prefilter || self.checks_pass(r, &scratch.marks);
            if verified
                && let Some(rule) = self.rules.get(r as usize)
                && self.eval_node(rule.root, event, scratch, prefilter)
            {
                out.push(rule.index);
            }
        }
        scratch.marks.candidates = candidates;
    }

    /// Evaluates the rules with these [`Ruleset::rules`] indexes, without the prefilter.
    fn evaluate_only(
        &self,
        event: &Event<'_>,
        wanted: &[u32],
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) {
        scratch.begin(self.field_count, self.rules.len(), self.pattern_count);
        self.start_meter(event, scratch, false);
        let mut positions: Vec<usize> = wanted
            .iter()
            .filter_map(|&index| self.position_of(index))
            .collect();
        if positions.is_empty() {
            return;
        }
        positions.sort_unstable();
        positions.dedup();
        for &f in &self.folded_fields {
            let _ = scratch.folded(event, f);
        }
        for position in positions {
            if let Some(rule) = self.rules.get(position)
                && self.eval_node(rule.root, event, scratch, false)
            {
                out.push(rule.index);
            }
        }
    }

    /// Allows the event the sensor's budget for its size: a multiple of it for exhaustive
    /// evaluation, which compares every value of lists the prefilter answers.
    fn start_meter(&self, event: &Event<'_>, scratch: &Scratch, prefilter: bool) {
        // Every text the event holds within the program's fields, as the model's bound
        // measures it (a text in an integer field is read by a comparison too).
        let text: usize = (0..self.field_count)
            .filter_map(|f| u16::try_from(f).ok())
            .fold(0usize, |sum, f| sum.saturating_add(text_len(event, f)));
        let limit = self.budget.for_event(text);
        let limit = if prefilter {
            limit
        } else {
            limit.saturating_mul(EXHAUSTIVE_BUDGET_FACTOR)
        };
        scratch.meter.start(limit);
    }

    /// The outcome of an evaluation: E3505 when the meter stopped it.
    fn finished(&self, event: &Event<'_>, scratch: &Scratch) -> Result<(), EvalError> {
        if !scratch.meter.is_over() {
            return Ok(());
        }
        Err(EvalError {
            code: SensorCode::BudgetSpent,
            template: event.template,
            supplied: usize::try_from(scratch.meter.spent()).unwrap_or(usize::MAX),
            expected: 0,
            field: None,
        })
    }

    /// The name of field `f` in the sensor's interface.
    pub(crate) fn field_name(&self, f: u16) -> Option<&str> {
        self.field_names.get(usize::from(f)).map(|n| &**n)
    }

    /// The `at`-th entry of the children array.
    pub(crate) fn child_at(&self, at: u32) -> u32 {
        self.child(at)
    }

    /// How many literal probes the checks of rule `position` make.
    pub(crate) fn check_len(&self, position: usize) -> usize {
        self.checks
            .get(position)
            .map_or(0, |groups| groups.iter().map(|g| g.len()).sum())
    }

    /// Where the rule with this [`Ruleset::rules`] index is in this program: rules are built
    /// in content order, so their indexes ascend.
    fn position_of(&self, index: u32) -> Option<usize> {
        self.rules.binary_search_by_key(&index, |r| r.index).ok()
    }

    /// Whether every non-pivot literal group of rule `r` had a hit in this event.
    fn checks_pass(&self, r: u32, marks: &Marks) -> bool {
        self.checks.get(r as usize).is_none_or(|groups| {
            groups
                .iter()
                .all(|group| group.iter().any(|&p| marks.has_pattern(p)))
        })
    }

    fn run_filter(
        &self,
        filter: &FieldFilter,
        event: &Event<'_>,
        field: u16,
        scratch: &mut Scratch,
    ) {
        if !scratch.meter.charge(filter.scan.on(text_len(event, field))) {
            return;
        }
        let Some(text) = fold_charged(&mut scratch.fold, &scratch.meter, event, field) else {
            return;
        };
        filter.finder.find(
            text,
            &mut FilterSink {
                marks: &mut scratch.marks,
                filter,
            },
        );
    }

    fn child(&self, at: u32) -> u32 {
        self.children.get(at as usize).copied().unwrap_or(u32::MAX)
    }

    /// Evaluates node `n`. Recursion depth is bounded by the format's expression depth limit.
    /// `prefilter` says whether the filters ran, so their hits can answer leaves.
    fn eval_node(&self, n: u32, event: &Event<'_>, scratch: &Scratch, prefilter: bool) -> bool {
        // A spent budget answers every node false at once: the event is refused (E3505).
        if scratch.meter.is_over() {
            return false;
        }
        match self.nodes.get(n as usize) {
            None => false,
            Some(ENode::Const(b)) => *b,
            Some(ENode::And { first, len }) => (0..*len).all(|i| {
                self.eval_node(
                    self.child(first.saturating_add(i)),
                    event,
                    scratch,
                    prefilter,
                )
            }),
            Some(ENode::Or { first, len }) => (0..*len).any(|i| {
                self.eval_node(
                    self.child(first.saturating_add(i)),
                    event,
                    scratch,
                    prefilter,
                )
            }),
            Some(ENode::Not(c)) => !self.eval_node(*c, event, scratch, prefilter),
            Some(ENode::AtLeast {
                required,
                first,
                len,
            }) => {
                let mut hits = 0u32;
                let mut left = *len;
                for i in 0..*len {
                    if hits >= *required || hits.saturating_add(left) < *required {
                        break;
                    }
                    left = left.saturating_sub(1);
                    if self.eval_node(
                        self.child(first.saturating_add(i)),
                        event,
                        scratch,
                        prefilter,
                    ) {
                        hits = hits.saturating_add(1);
                    }
                }
                hits >= *required
            }
            Some(ENode::Leaf(l)) => self.leaves.get(*l as usize).is_some_and(|leaf| {
                self.charge_leaf(*l, event, scratch, prefilter)
                    && self.eval_leaf(leaf, event, scratch, prefilter)
            }),
        }
    }

    /// Charges the worst case of evaluating leaf `l` on this event's texts; false when that
    /// spends the event's budget, and the leaf is then not evaluated.
    fn charge_leaf(&self, l: u32, event: &Event<'_>, scratch: &Scratch, prefilter: bool) -> bool {
        let Some(&(reads, costs)) = self.leaf_costs.get(l as usize) else {
            return true;
        };
        let cost = if prefilter { costs[0] } else { costs[1] };
        let steps = reads.steps(cost, |f| text_len(event, f), &self.string_fields);
        scratch.meter.charge(steps)
    }

    fn eval_leaf(
        &self,
        leaf: &Leaf,
        event: &Event<'_>,
        scratch: &Scratch,
        prefilter: bool,
    ) -> bool {
        match leaf {
            Leaf::Exists(f) => event.get(*f).is_some_and(|v| !matches!(v, Value::Null)),
            Leaf::IsNull(f) => event.get(*f).is_none_or(|v| matches!(v, Value::Null)),
            Leaf::Text {
                test: TextTest::PatternHits { patterns, .. },
                all_of,
                ..
            } if prefilter => {
                if *all_of {
                    patterns.iter().all(|&p| scratch.marks.has_pattern(p))
                } else {
                    patterns.iter().any(|&p| scratch.marks.has_pattern(p))
                }
            }
            Leaf::Text {
                sel: Sel::Field(f),
                folded,
                all_of,
                test,
            } => text_of(event, *f, *folded, scratch).is_some_and(|t| test.matches(t, *all_of)),
            Leaf::Text {
                sel: Sel::Keyword,
                folded,
                all_of,
                test,
            } => self.string_fields.iter().any(|&f| {
                text_of(event, f, *folded, scratch).is_some_and(|t| test.matches(t, *all_of))
            }),
            Leaf::FieldRef {
                field,
                other,
                kind,
                folded,
            } => {
                let (Some(a), Some(b)) = (
                    text_of(event, *field, *folded, scratch),
                    text_of(event, *other, *folded, scratch),
                ) else {
                    return false;
                };
                match kind {
                    MatchKind::Equals => a == b,
                    MatchKind::Contains => a.contains(b),
                    MatchKind::StartsWith => a.starts_with(b),
                    MatchKind::EndsWith => a.ends_with(b),
                    _ => false,
                }
            }
            Leaf::Cidr {
                field,
                all_of,
                nets,
            } => {
                let addr = match event.get(*field) {
                    Some(Value::Ip(ip)) => *ip,
                    Some(Value::Str(s)) => match s.trim().parse::<IpAddr>() {
                        Ok(ip) => ip,
                        Err(_) => return false,
                    },
                    _ => return false,
                };
                if *all_of {
                    nets.iter().all(|n| n.contains(addr))
                } else {
                    nets.iter().any(|n| n.contains(addr))
                }
            }
            Leaf::Compare { field, op, value } => {
                let v = match event.get(*field) {
                    Some(Value::Int(i)) => *i,
                    Some(Value::Str(s)) => match s.trim().parse::<i64>() {
                        Ok(i) => i,
                        Err(_) => return false,
                    },
                    _ => return false,
                };
                match op {
                    CompareOp::Eq => v == *value,
                    CompareOp::Lt => v < *value,
                    CompareOp::Le => v <= *value,
                    CompareOp::Gt => v > *value,
                    CompareOp::Ge => v >= *value,
                }
            }
        }
    }
}

/// Records a filter's literal hits as pattern marks, and makes the rules they pivot candidates.
struct FilterSink<'a> {
    marks: &'a mut Marks,
    filter: &'a FieldFilter,
}

impl LiteralSink for FilterSink<'_> {
    fn known(&self, literal: u32) -> bool {
        self.filter
            .patterns
            .get(literal as usize)
            .is_some_and(|&p| self.marks.has_pattern(p))
    }

    fn found(&mut self, literal: u32) {
        if let Some(&p) = self.filter.patterns.get(literal as usize)
            && self.marks.hit_pattern(p)
            && let Some(rules) = self.filter.pivot_rules.get(literal as usize)
        {
            for &rule in rules.iter() {
                self.marks.mark(rule);
            }
        }
    }
}

/// The byte length of field `field`'s value when it is text, else 0: what the cost model
/// measures an event's fields by.
fn text_len(event: &Event<'_>, field: u16) -> usize {
    match event.get(field) {
        Some(Value::Str(s)) => s.len(),
        _ => 0,
    }
}

/// The text of a string field, folded (from the scratch) or as supplied.
fn text_of<'a>(
    event: &Event<'a>,
    field: u16,
    folded: bool,
    scratch: &'a Scratch,
) -> Option<&'a str> {
    if folded {
        scratch.fold.get_ref(field)
    } else {
        match event.get(field) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
}

impl TextTest {
    fn matches(&self, text: &str, all_of: bool) -> bool {
        let check = |values: &[Box<str>], f: &dyn Fn(&str) -> bool| {
            if all_of {
                values.iter().all(|v| f(v))
            } else {
                values.iter().any(|v| f(v))
            }
        };
        match self {
            TextTest::Equals(values) => check(values, &|v| text == v),
            TextTest::EqualsSet(set) => set.contains(text),
            TextTest::Contains(values) => check(values, &|v| text.contains(v)),
            // With the prefilter, answered from its marks before any text is read (`eval_leaf`).
            TextTest::PatternHits { values, .. } => check(values, &|v| text.contains(v)),
            TextTest::StartsWith(values) => check(values, &|v| text.starts_with(v)),
            TextTest::EndsWith(values) => check(values, &|v| text.ends_with(v)),
            TextTest::Globs(globs) => {
                if all_of {
                    globs.iter().all(|g| g.matches(text))
                } else {
                    globs.iter().any(|g| g.matches(text))
                }
            }
            TextTest::Patterns(patterns) => {
                if all_of {
                    patterns.iter().all(|p| p.is_match(text))
                } else {
                    patterns.iter().any(|p| p.is_match(text))
                }
            }
        }
    }
}
