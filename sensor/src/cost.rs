//! The cost model (`LOADER.md` COST-1 to COST-7): how many steps one evaluation of a content
//! can take, decided when the content is bound and enforced again while each event runs.
//!
//! Every matcher has a worst case of the form `per_byte × n + fixed` steps on a text of `n`
//! bytes, where a step is one unit of its innermost loop (a byte compared or hashed, an
//! automaton state visited): [`leaf_cost`] and [`LiteralFinder::worst_case`] state them, next
//! to the matchers' shapes they follow from. Summed over the matchers of one template
//! program, field by field, they bound the work of any event:
//!
//! `work(event) ≤ Σ_f per_byte(f) × len(f) + fixed`
//!
//! where `per_byte(f)` adds up every leaf that reads field `f` (keyword leaves read every
//! string field), the prefilter that scans it and its folding, and `fixed` adds up every
//! node, every leaf's constant part and every literal's rules. The binder refuses a content
//! whose `per_byte(f)` exceeds the sensor's [`Budget::steps_per_byte`] for some field (E3601,
//! naming the rule and matcher that crossed it), whose `fixed` exceeds
//! [`Budget::steps_per_event`] (E3602) or whose automata need more than [`Budget::memory`]
//! (E3603). So every accepted content evaluates any event in at most
//! `steps_per_byte × (bytes of its text values) + steps_per_event` steps.
//!
//! The interpreter counts the same steps while it runs ([`Meter`]) and stops an event that
//! exceeds that budget with E3505: a mistake in this model, or in its sum, becomes one
//! refused event, never a stall.

use crate::prelude::*;

use core::cell::Cell;

use crate::interface::Budget;
use crate::limits::{FOLD_GROWTH_DEN, FOLD_GROWTH_NUM};
use crate::program::{ENode, Leaf, Sel, TemplateProgram, TextTest};

/// The worst case of one matcher: `per_byte × n + fixed` steps on a text of `n` bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Steps per byte of the text the matcher reads.
    pub per_byte: u64,
    /// Steps whatever the text.
    pub fixed: u64,
}

impl Cost {
    /// `per_byte × n + fixed`, saturating.
    pub fn on(self, n: usize) -> u64 {
        self.per_byte
            .saturating_mul(n as u64)
            .saturating_add(self.fixed)
    }

    fn plus(self, other: Cost) -> Cost {
        Cost {
            per_byte: self.per_byte.saturating_add(other.per_byte),
            fixed: self.fixed.saturating_add(other.fixed),
        }
    }
}

/// Sum of the byte lengths of `values`, saturating.
fn total_len(values: &[Box<str>]) -> u64 {
    values
        .iter()
        .fold(0u64, |sum, v| sum.saturating_add(v.len() as u64))
}

/// Per-byte steps of a leaf that reads folded text, on the unfolded length: folding makes a
/// text at most [`FOLD_GROWTH_NUM`]`/`[`FOLD_GROWTH_DEN`] as long (`fold.rs` tests it for
/// every character), and the interpreter charges the folded length.
fn on_folded(per_byte: u64) -> u64 {
    per_byte
        .saturating_mul(FOLD_GROWTH_NUM)
        .div_ceil(FOLD_GROWTH_DEN)
}

/// The worst case of a prefilter's scan of a field, on the unfolded length: it scans the
/// folded text.
pub(crate) fn folded_scan(scan: Cost) -> Cost {
    Cost {
        per_byte: on_folded(scan.per_byte),
        fixed: scan.fixed,
    }
}

/// A two-way substring search of each value: at most `2n + m` comparisons per value.
fn contains_cost(values: &[Box<str>]) -> Cost {
    Cost {
        per_byte: (values.len() as u64).saturating_mul(2),
        fixed: total_len(values).saturating_add(values.len() as u64),
    }
}

/// The worst case of one text test with the prefilter's hits at hand (`prefilter`) or
/// without (exhaustive evaluation).
fn text_cost(test: &TextTest, prefilter: bool) -> Cost {
    let count = |n: usize| n as u64;
    match test {
        // `==` compares lengths first, then at most the value's bytes.
        TextTest::Equals(values) | TextTest::StartsWith(values) | TextTest::EndsWith(values) => {
            Cost {
                per_byte: 0,
                fixed: total_len(values).saturating_add(count(values.len())),
            }
        }
        // One hash of the text and at most one comparison with it.
        TextTest::EqualsSet(_) => Cost {
            per_byte: 2,
            fixed: 1,
        },
        TextTest::Contains(values) => contains_cost(values),
        TextTest::PatternHits { patterns, values } => {
            if prefilter {
                Cost {
                    per_byte: 0,
                    fixed: count(patterns.len()),
                }
            } else {
                contains_cost(values)
            }
        }
        TextTest::Globs(globs) => globs.iter().fold(Cost::default(), |sum, g| {
            sum.plus(Cost {
                per_byte: g.steps_per_byte(),
                fixed: g.fixed_steps(),
            })
        }),
        // Each regex's search states its own worst case (`engines.rs`).
        TextTest::Patterns(regexes) => regexes.iter().fold(Cost::default(), |sum, r| {
            sum.plus(Cost {
                per_byte: r.steps_per_byte(),
                fixed: r.fixed_steps(),
            })
        }),
    }
}

/// Which text a leaf reads, for the model's sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// No text: a constant cost.
    Nothing,
    /// One field's text (or value).
    Field(u16),
    /// Every string field's text, one by one.
    Keyword,
    /// Two fields' texts.
    Pair(u16, u16),
}

impl Reads {
    /// The text a matcher that selects `sel` reads.
    pub(crate) fn of(sel: Sel) -> Reads {
        match sel {
            Sel::Field(f) => Reads::Field(f),
            Sel::Keyword => Reads::Keyword,
        }
    }

    /// The fields whose texts these reads name, each once.
    fn fields(self, string_fields: &[u16]) -> impl Iterator<Item = u16> + '_ {
        let (named, all): ([Option<u16>; 2], &[u16]) = match self {
            Reads::Nothing => ([None, None], &[]),
            Reads::Field(f) => ([Some(f), None], &[]),
            Reads::Pair(a, b) => ([Some(a), Some(b)], &[]),
            Reads::Keyword => ([None, None], string_fields),
        };
        named.into_iter().flatten().chain(all.iter().copied())
    }

    /// How many times a matcher with these reads runs on one event: once per string field
    /// for a keyword search, once otherwise.
    fn runs(self, string_fields: &[u16]) -> u64 {
        match self {
            Reads::Keyword => string_fields.len() as u64,
            Reads::Nothing | Reads::Field(_) | Reads::Pair(..) => 1,
        }
    }

    /// The steps `cost` takes on the texts these reads name, each `len` bytes long: what the
    /// interpreter charges a leaf before it runs it. [`judge`] adds up the same reads field by
    /// field, so the meter and the model read one description of what a leaf reads.
    pub(crate) fn steps(
        self,
        cost: Cost,
        len: impl Fn(u16) -> usize,
        string_fields: &[u16],
    ) -> u64 {
        match self {
            Reads::Nothing => cost.fixed,
            Reads::Field(f) => cost.on(len(f)),
            Reads::Pair(a, b) => cost.on(len(a).saturating_add(len(b))),
            Reads::Keyword => string_fields
                .iter()
                .fold(0u64, |sum, &f| sum.saturating_add(cost.on(len(f)))),
        }
    }
}

/// The worst case of one evaluation of `leaf` on each text it reads, measured on the
/// unfolded text, and which texts those are.
pub(crate) fn leaf_cost(leaf: &Leaf, prefilter: bool) -> (Reads, Cost) {
    match leaf {
        Leaf::Exists(_) | Leaf::IsNull(_) => (
            Reads::Nothing,
            Cost {
                per_byte: 0,
                fixed: 1,
            },
        ),
        // Trim and parse the text: one pass.
        Leaf::Compare { field, .. } => (
            Reads::Field(*field),
            Cost {
                per_byte: 1,
                fixed: 1,
            },
        ),
        Leaf::Cidr { field, nets, .. } => (
            Reads::Field(*field),
            Cost {
                per_byte: 1,
                fixed: (nets.len() as u64).saturating_add(1),
            },
        ),
        // Equality, prefix and suffix compare at most the shorter text; a substring search is
        // two-way (at most 2n + m comparisons).
        Leaf::FieldRef {
            field,
            other,
            folded,
            ..
        } => {
            let per_byte = if *folded { on_folded(2) } else { 2 };
            (Reads::Pair(*field, *other), Cost { per_byte, fixed: 1 })
        }
        Leaf::Text {
            sel, folded, test, ..
        } => {
            let mut cost = text_cost(test, prefilter);
            if *folded {
                cost.per_byte = on_folded(cost.per_byte);
            }
            (Reads::of(*sel), cost)
        }
    }
}

/// What the model concludes about one template program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProgramCost {
    /// Steps per byte of each field's text (by field index; fields no matcher reads cost 0).
    pub(crate) per_byte: Vec<u64>,
    /// Steps whatever the event.
    pub(crate) fixed: u64,
}

impl ProgramCost {
    /// The model's bound for an event whose string field `f` holds `len(f)` bytes.
    pub(crate) fn bound(&self, len: impl Fn(u16) -> usize) -> u64 {
        (0u16..)
            .zip(&self.per_byte)
            .fold(self.fixed, |sum, (f, &per_byte)| {
                sum.saturating_add(per_byte.saturating_mul(len(f) as u64))
            })
    }
}

/// Adds `cost` to the per-byte sum of every field it reads.
fn charge_reads(per_byte: &mut [u64], reads: Reads, cost: Cost, string_fields: &[u16]) {
    for f in reads.fields(string_fields) {
        if let Some(slot) = per_byte.get_mut(usize::from(f)) {
            *slot = slot.saturating_add(cost.per_byte);
        }
    }
}

/// The leaves of the tree under node `root`, each once (a rule's tree is a tree: no node has
/// two parents), by index into the program's leaves, and how many nodes the tree has.
/// Iterative: no recursion to bound.
pub(crate) fn leaves_of(program: &TemplateProgram, root: u32) -> (Vec<u32>, usize) {
    let mut leaves = Vec::new();
    let mut stack = vec![root];
    let mut visited = 0usize;
    while let Some(n) = stack.pop() {
        // A node array built by the assembler never loops; a bound keeps that an assumption
        // that cannot cost more than the array's size.
        visited = visited.saturating_add(1);
        if visited > program.nodes.len() {
            break;
        }
        let range = match program.nodes.get(n as usize) {
            Some(ENode::Leaf(l)) => {
                leaves.push(*l);
                continue;
            }
            Some(ENode::Not(c)) => {
                stack.push(*c);
                continue;
            }
            Some(
                ENode::And { first, len }
                | ENode::Or { first, len }
                | ENode::AtLeast { first, len, .. },
            ) => (*first, *len),
            Some(ENode::Const(_)) | None => continue,
        };
        for i in 0..range.1 {
            stack.push(program.child_at(range.0.saturating_add(i)));
        }
    }
    (leaves, visited)
}

/// The rule of a program and the matcher in it that an over-budget verdict names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Culprit {
    /// Position of the rule in the program.
    pub(crate) position: usize,
    /// The leaf (index into the program's leaves) that added the most steps per byte to
    /// the field, if a leaf of the rule reads it.
    pub(crate) leaf: Option<u32>,
    /// The field whose budget it crossed (`None` for the fixed budget).
    pub(crate) field: Option<u16>,
    /// The total it would have reached.
    pub(crate) steps: u64,
}

/// Adds up the program's cost rule by rule, in content order, as the sensor evaluates it
/// (with the prefilter). A rule whose matchers take some field's per-byte sum, or the fixed
/// sum, over `budget` is a culprit and is not added: the rules after it are judged on what
/// the rules before them cost, so every over-budget rule is named, not only the first.
pub(crate) fn judge(program: &TemplateProgram, budget: &Budget) -> (ProgramCost, Vec<Culprit>) {
    let fields = program.field_count;
    let mut per_byte = vec![0u64; fields];
    // The prefilter scans and the folding happen whatever the rules.
    let mut fixed = program.field_count as u64;
    for filter in &program.filters {
        let scan = filter.scan;
        let reads = Reads::of(filter.sel);
        charge_reads(&mut per_byte, reads, scan, &program.string_fields);
        // A keyword filter scans every string field, each at its fixed cost.
        let scans = reads.runs(&program.string_fields);
        fixed = fixed.saturating_add(scan.fixed.saturating_mul(scans));
        // Each literal is recorded once per event and marks its rules once.
        let marks = filter.pivot_rules.iter().fold(0u64, |sum, rules| {
            sum.saturating_add((rules.len() as u64).saturating_add(1))
        });
        fixed = fixed.saturating_add(marks);
    }
    // Folding, once per event, of every field a folded leaf or a prefilter reads (the
    // prefilter scans folded text).
    let mut folded: Vec<u16> = program.folded_fields.clone();
    for filter in &program.filters {
        folded.extend(Reads::of(filter.sel).fields(&program.string_fields));
    }
    folded.sort_unstable();
    folded.dedup();
    for f in folded {
        charge_reads(
            &mut per_byte,
            Reads::Field(f),
            Cost {
                per_byte: 1,
                fixed: 1,
            },
            &program.string_fields,
        );
        fixed = fixed.saturating_add(1);
    }
    let mut culprits = Vec::new();
    for (position, rule) in program.rules.iter().enumerate() {
        let mut trial = per_byte.clone();
        let (leaves, nodes) = leaves_of(program, rule.root);
        // A rule visits each of its nodes at most once; the checks of its literal groups
        // cost one probe per literal.
        let mut trial_fixed = fixed
            .saturating_add(nodes as u64)
            .saturating_add(program.check_len(position) as u64);
        let mut heaviest: Vec<(u64, Option<u32>)> = vec![(0, None); fields];
        for l in leaves {
            let Some(&(reads, [cost, _])) = program.leaf_costs.get(l as usize) else {
                continue;
            };
            charge_reads(&mut trial, reads, cost, &program.string_fields);
            for f in reads.fields(&program.string_fields) {
                if let Some(h) = heaviest.get_mut(usize::from(f))
                    && cost.per_byte >= h.0
                {
                    *h = (cost.per_byte, Some(l));
                }
            }
            // A keyword leaf is evaluated once per string field.
            let runs = reads.runs(&program.string_fields);
            trial_fixed = trial_fixed.saturating_add(cost.fixed.saturating_mul(runs));
        }
        let over = (0u16..)
            .zip(&trial)
            .find(|&(_, &steps)| steps > budget.steps_per_byte);
        if let Some((field, &steps)) = over {
            culprits.push(Culprit {
                position,
                leaf: heaviest.get(usize::from(field)).and_then(|h| h.1),
                field: Some(field),
                steps,
            });
            continue;
        }
        if trial_fixed > budget.steps_per_event {
            culprits.push(Culprit {
                position,
                leaf: None,
                field: None,
                steps: trial_fixed,
            });
            continue;
        }
        per_byte = trial;
        fixed = trial_fixed;
    }
    (ProgramCost { per_byte, fixed }, culprits)
}

/// The steps an evaluation has taken, against the budget of the event it evaluates: the
/// run-time fence (`LOADER.md` COST-6). Interior mutability, because the evaluator reads
/// texts borrowed from the scratch space while it charges.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    spent: Cell<u64>,
    limit: Cell<u64>,
    over: Cell<bool>,
}

impl Meter {
    /// Starts an event allowed `limit` steps.
    pub(crate) fn start(&self, limit: u64) {
        self.spent.set(0);
        self.limit.set(limit);
        self.over.set(false);
    }

    /// Charges `steps`; false (and from then on [`Meter::is_over`]) when that exceeds the
    /// event's budget: the caller then does not do the work.
    pub(crate) fn charge(&self, steps: u64) -> bool {
        let spent = self.spent.get().saturating_add(steps);
        self.spent.set(spent);
        if spent > self.limit.get() {
            self.over.set(true);
        }
        !self.over.get()
    }

    /// Whether the event's budget is spent.
    pub(crate) fn is_over(&self) -> bool {
        self.over.get()
    }

    /// Steps charged in the current (or last) event.
    pub(crate) fn spent(&self) -> u64 {
        self.spent.get()
    }
}

#[cfg(test)]
mod tests {
    // A test: a failure may panic, and fixtures are indexed directly.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use dcf_conformance::valid::{base, m};
    use dcf_parser::{MatchKind, SensorVersion};

    use crate::{Budget, Event, Scratch, SensorCode, SensorInterface, Value, bind};

    /// COST-6: the run-time fence stops an event that would exceed its budget with E3505,
    /// before the matcher that would cross it runs. A bound model never lets that happen to
    /// a content it accepts, so the test lowers the budget of a bound content behind the
    /// model's back, as a mistake in the model would.
    #[test]
    fn an_event_over_its_budget_is_stopped_with_e3505() {
        let mut content = base();
        content.rules[0].expression = vec![m(MatchKind::Regex, 1, &[r"\ba[ab]{40}c"])];
        let bytes = content.encode().unwrap();
        let view = dcf_parser::parse(&bytes).unwrap();
        let version = SensorVersion {
            major: 7,
            minor: 11,
            patch: 0,
        };
        let mut rules = bind(&view, &SensorInterface::declared_by(&view, version))
            .into_result()
            .unwrap();
        let command_line = "ab".repeat(2_000);
        let fields = [
            Value::Str("C:\\Windows\\cmd.exe"),
            Value::Str(&command_line),
            Value::Int(7),
            Value::Str("explorer.exe"),
            Value::Null,
        ];
        let event = Event {
            template: 1,
            fields: &fields,
        };
        let evaluate = |rules: &crate::Ruleset, scratch: &mut Scratch| {
            rules.evaluate(&event, scratch, &mut Vec::new())
        };
        let mut scratch = Scratch::new();
        evaluate(&rules, &mut scratch).unwrap();
        let spent = scratch.steps();
        assert!(spent > 1_000, "the regex was charged: {spent} steps");
        assert!(spent <= rules.cost_bound(&event).unwrap());

        for program in &mut rules.programs {
            program.budget = Budget {
                steps_per_byte: 1,
                steps_per_event: 1,
                ..Budget::default()
            };
        }
        let err = evaluate(&rules, &mut scratch).unwrap_err();
        assert_eq!(err.code, SensorCode::BudgetSpent);
        // Stopped at the first charge past the limit (one step per byte of text, plus one).
        let limit = (fields.iter())
            .map(|v| match v {
                Value::Str(s) => s.len() as u64,
                _ => 0,
            })
            .sum::<u64>()
            + 1;
        assert!(scratch.steps() > limit);
        assert!(scratch.steps() < spent, "the regex did not run");
        // The next event starts a new count.
        rules
            .programs
            .iter_mut()
            .for_each(|p| p.budget = Budget::default());
        evaluate(&rules, &mut scratch).unwrap();
        assert_eq!(scratch.steps(), spent);
    }
}
