//! Dry runs (`dcf test`): the content run in the sensor's own interpreter (`dcf-sensor`), bound
//! to the interface of every targeted sensor version in turn, before it is signed.
//!
//! The Channel File 291 review found that no rule had ever run in the real interpreter with a
//! non-wildcard value on the field the sensor did not supply. A dry run does exactly that, for
//! every rule and every criterion (`format-spec/DIAGNOSTICS.md`, *Dry runs*):
//!
//! 1. **Binding** (`E3xxx`): the content is bound to each sensor's interface by the loader's
//!    own binder ([`dcf_sensor::bind`]), from the view already parsed; every refusal it
//!    reports is named, and the rules that bind are tested.
//! 2. **Criteria** (`E4001`..`E4004`): every criterion (a match, comparison, `exists` or
//!    `is_null`; wildcards read nothing) becomes a rule of its own; for each, a probe event
//!    whose field holds a value that satisfies it and one whose value does not (both checked
//!    against the spec's definition) must give that result in the interpreter, with and
//!    without the literal prefilter.
//! 3. **Rules** (`E4001`, `E4004`): every rule runs on an event that holds the matching value
//!    of each of its criteria.
//! 4. **Expectations** (`E4101`..`E4103`): events from a file, with the rules each must and
//!    must not match.
//! 5. **Blast radius** (`E4201`, `E4202`): the share of benign events of its template type that
//!    each rule matches, against a threshold.

pub mod derive;
pub mod probe;

use std::collections::{BTreeMap, HashMap};

use dcf_parser::format::record;
use dcf_parser::{Action, Content, ContentView, Node, RuleId};
use dcf_sensor::{EvalError, Event, LoadError, Ruleset, Scratch, SensorInterface, Value};
use serde::Serialize;

use crate::codes::{AnyCode, Code};
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;
use dcf_events::test_events::{TestEvent, field_array, resolve_template};
use dcf_events::value::OwnedValue;
use probe::{Assignment, materialise};

/// Default blast-radius threshold: a rule may match at most 1 % of benign events.
pub const DEFAULT_BENIGN_THRESHOLD: f64 = 0.01;

/// What a dry run needs besides the content and the fleet.
#[derive(Clone, Debug, Default)]
pub struct DryRunOptions {
    /// Events with expectations (`--events`).
    pub events: Vec<TestEvent>,
    /// Benign events (`--benign`); their expectations, if any, are ignored.
    pub benign: Vec<TestEvent>,
    /// Largest share of benign events of its template type a rule may match.
    pub benign_threshold: f64,
}

/// What a dry run did on one sensor version.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SensorRun {
    /// The sensor, for messages (`dcf-sensor-windows 7.11.0`).
    pub sensor: String,
    /// Rules bound and tested.
    pub rules_bound: usize,
    /// Rules the sensor refuses.
    pub rules_refused: usize,
    /// Criteria run on their own.
    pub criteria: usize,
    /// Wildcards (they read nothing, so have no probe).
    pub wildcards: usize,
    /// Probe events evaluated (criteria and whole rules, each with and without prefilter).
    pub probe_events: usize,
    /// Rules that matched the event built from their criteria's matching values.
    pub rules_matching_own_probe: usize,
    /// Expectation events evaluated on this sensor.
    pub events: usize,
    /// Benign events evaluated on this sensor.
    pub benign_events: usize,
}

/// The result of a dry run.
#[derive(Clone, Debug, Default)]
pub struct DryRun {
    /// Findings, deduplicated across sensors (a message names the sensors it holds for).
    pub diagnostics: Vec<Diagnostic>,
    /// One entry per targeted sensor version.
    pub sensors: Vec<SensorRun>,
    /// Manifests outside the content's sensor range, not run.
    pub ignored: Vec<String>,
}

/// Findings keyed by what they say, so the same finding on several sensors is one diagnostic.
#[derive(Default)]
struct Findings {
    order: Vec<FindingKey>,
    found: HashMap<FindingKey, (Diagnostic, Vec<String>)>,
}

/// What makes two findings the same: code, rule index and message.
type FindingKey = (AnyCode, Option<usize>, String);

impl Findings {
    /// Records `d` (whose message must not name the sensor) as found on `sensor`.
    fn add(&mut self, rule: Option<usize>, d: Diagnostic, sensor: &str) {
        let key = (d.code, rule, d.message.clone());
        match self.found.get_mut(&key) {
            Some((_, sensors)) => {
                if !sensors.iter().any(|s| s == sensor) {
                    sensors.push(sensor.to_string());
                }
            }
            None => {
                self.order.push(key.clone());
                self.found.insert(key, (d, vec![sensor.to_string()]));
            }
        }
    }

    fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.order
            .iter()
            .filter_map(|key| self.found.remove(key))
            .map(|(mut d, sensors)| {
                d.message = format!("{} (on {})", d.message, sensors.join(", "));
                d
            })
            .collect()
    }
}

/// One criterion of the content: where it is and what it is.
struct Criterion {
    rule: usize,
    template: u32,
    node: Node<Vec<String>>,
}

/// Runs the content in the interpreter bound to every manifest in its sensor range.
pub fn dry_run(bytes: &[u8], fleet: &[Manifest], options: &DryRunOptions) -> DryRun {
    let mut out = DryRun::default();
    let view = match dcf_parser::parse(bytes) {
        Ok(v) => v,
        Err(e) => {
            out.diagnostics.push(Diagnostic::from_parse_error(&e));
            return out;
        }
    };
    let header = view.header();
    let (in_range, outside): (Vec<&Manifest>, Vec<&Manifest>) = fleet
        .iter()
        .partition(|m| m.in_range(header.sensor_min, header.sensor_max));
    out.ignored = outside.iter().map(|m| m.display_name()).collect();
    if in_range.is_empty() {
        out.diagnostics.push(
            Diagnostic::new(
                Code::NoManifestInRange,
                format!(
                    "no manifest lies in the content's sensor range {}..={}: nothing to run it on",
                    header.sensor_min, header.sensor_max
                ),
            )
            .help("pass the manifests of the sensor versions the content targets"),
        );
        return out;
    }
    let content = Content::from_view(&view);
    let context = Context::new(&view, &content);
    let mut findings = Findings::default();
    for (id, known) in context.expected_ids(&options.events) {
        if known {
            continue;
        }
        findings.add(
            None,
            Diagnostic::new(
                Code::ExpectationUnknownRule,
                format!("an expectation names rule {id}, which the content does not have"),
            )
            .help("the rule may have been dropped or renamed; fix the events file or the content"),
            "every sensor",
        );
    }
    for manifest in in_range {
        let run = context.run_on(manifest, options, &mut findings);
        out.sensors.push(run);
    }
    out.diagnostics = findings.into_diagnostics();
    out
}

/// What every sensor's run shares: the content, its rules' places, the criteria.
struct Context<'c> {
    /// The content as the parser reads it: what the binder binds, as the loader would.
    view: &'c ContentView<'c>,
    content: &'c Content,
    /// Byte offset of each rule record, for diagnostics.
    offsets: Vec<usize>,
    by_id: HashMap<RuleId, usize>,
    criteria: Vec<Criterion>,
    wildcards: usize,
}

impl<'c> Context<'c> {
    fn new(view: &'c ContentView<'c>, content: &'c Content) -> Self {
        let offsets: Vec<usize> = view.rules().map(|r| r.offset).collect();
        let by_id = content
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        let mut criteria = Vec::new();
        let mut wildcards = 0usize;
        for (i, rule) in content.rules.iter().enumerate() {
            for node in &rule.expression {
                if probe::is_criterion(node) {
                    criteria.push(Criterion {
                        rule: i,
                        template: rule.template,
                        node: node.clone(),
                    });
                } else if matches!(node, Node::Any { .. }) {
                    wildcards = wildcards.saturating_add(1);
                }
            }
        }
        Context {
            view,
            content,
            offsets,
            by_id,
            criteria,
            wildcards,
        }
    }

    /// Whether the content declares this template type.
    fn declares(&self, template: u32) -> bool {
        self.content.templates.iter().any(|t| t.id == template)
    }

    /// Every rule id the expectations name, and whether the content has it.
    fn expected_ids(&self, events: &[TestEvent]) -> Vec<(RuleId, bool)> {
        let mut seen = BTreeMap::new();
        for e in events {
            for id in e.must_match.iter().chain(&e.must_not_match) {
                seen.insert(*id, self.by_id.contains_key(id));
            }
        }
        seen.into_iter().collect()
    }

    /// A diagnostic about rule `i`, placed on its record.
    fn about_rule(&self, i: usize, code: impl Into<AnyCode>, message: String) -> Diagnostic {
        let mut d = Diagnostic::new(code, message);
        if let Some(rule) = self.content.rules.get(i) {
            d = d.rule(rule.id);
        }
        if let Some(offset) = self.offsets.get(i) {
            d = d.at(*offset, record::RULE);
        }
        d
    }

    fn rule_name(&self, i: usize) -> String {
        match self.content.rules.get(i) {
            Some(r) => format!("rule {} “{}”", r.id, r.title),
            None => format!("rule #{i}"),
        }
    }

    fn run_on(
        &self,
        manifest: &SensorInterface,
        options: &DryRunOptions,
        findings: &mut Findings,
    ) -> SensorRun {
        let sensor = manifest.display_name();
        let mut run = SensorRun {
            sensor: sensor.clone(),
            wildcards: self.wildcards,
            ..SensorRun::default()
        };
        let (ruleset, bound) = self.bind_rules(manifest, &sensor, findings);
        run.rules_bound = bound.len();
        run.rules_refused = self.content.rules.len().saturating_sub(bound.len());
        let Some(ruleset) = ruleset else {
            return run;
        };
        let mut tester = Tester {
            ruleset: &ruleset,
            scratch: Scratch::new(),
            out: Vec::new(),
            reference: Vec::new(),
        };
        let bound_set: Vec<bool> = {
            let mut v = vec![false; self.content.rules.len()];
            for i in &bound {
                if let Some(slot) = v.get_mut(*i) {
                    *slot = true;
                }
            }
            v
        };
        let matching = self.run_criteria(manifest, &sensor, &bound_set, &mut run, findings);
        self.run_rules(
            manifest,
            &sensor,
            &bound,
            &matching,
            &mut tester,
            &mut run,
            findings,
        );
        self.run_expectations(
            manifest,
            &sensor,
            &bound_set,
            options,
            &mut tester,
            &mut run,
            findings,
        );
        self.run_benign(manifest, &sensor, options, &mut tester, &mut run, findings);
        run
    }

    /// Binds the content as the loader does, from the view it was read into, and names every
    /// refusal the binder reports. Returns the ruleset of the rules that bind and their
    /// indexes: the sensor would refuse the whole content, but the rest is still tested.
    fn bind_rules(
        &self,
        manifest: &SensorInterface,
        sensor: &str,
        findings: &mut Findings,
    ) -> (Option<Ruleset>, Vec<usize>) {
        let binding = dcf_sensor::bind(self.view, manifest);
        for r in &binding.refusals {
            let code = r.code();
            let d = self
                .about_rule(
                    r.rule,
                    code,
                    format!(
                        "the sensor refuses the rule: {}: {}",
                        code.description(),
                        r.detail
                    ),
                )
                .help("the content uses what this sensor version does not supply; compile it for the sensors it targets, or narrow its sensor range");
            findings.add(Some(r.rule), d, sensor);
        }
        let bound: Vec<usize> = (0..self.content.rules.len())
            .filter(|i| binding.is_bound(*i))
            .collect();
        (Some(binding.ruleset), bound)
    }

    /// Runs every criterion of the bound rules alone. Returns, per rule, the assignments that
    /// satisfy each of its criteria (for the whole-rule probes).
    fn run_criteria(
        &self,
        manifest: &SensorInterface,
        sensor: &str,
        bound: &[bool],
        run: &mut SensorRun,
        findings: &mut Findings,
    ) -> Vec<Vec<Assignment>> {
        let mut matching: Vec<Vec<Assignment>> = vec![Vec::new(); self.content.rules.len()];
        let chosen: Vec<&Criterion> = self
            .criteria
            .iter()
            .filter(|c| bound.get(c.rule).copied().unwrap_or(false))
            .collect();
        for (chunk_index, chunk) in chosen.chunks(derive::CRITERIA_PER_CONTENT).enumerate() {
            let first = chunk_index.saturating_mul(derive::CRITERIA_PER_CONTENT);
            let nodes: Vec<(u32, Node<Vec<String>>)> =
                chunk.iter().map(|c| (c.template, c.node.clone())).collect();
            let derived = derive::criteria_content(self.content, &nodes, first);
            let ruleset = match derive::bind(&derived, manifest) {
                Ok(r) => r,
                Err(e) => {
                    let (code, detail) = load_error_parts(&e);
                    findings.add(
                        None,
                        Diagnostic::new(
                            code,
                            format!(
                                "the sensor refuses criteria of rules it accepts whole: {detail}"
                            ),
                        ),
                        sensor,
                    );
                    continue;
                }
            };
            let index_of: HashMap<RuleId, u32> = ruleset
                .rules()
                .iter()
                .enumerate()
                .filter_map(|(i, r)| u32::try_from(i).ok().map(|i| (r.id, i)))
                .collect();
            let mut tester = Tester {
                ruleset: &ruleset,
                scratch: Scratch::new(),
                out: Vec::new(),
                reference: Vec::new(),
            };
            for (k, criterion) in chunk.iter().enumerate() {
                run.criteria = run.criteria.saturating_add(1);
                let Some(template) = manifest.template(criterion.template) else {
                    continue;
                };
                let Some(target) = index_of
                    .get(&derive::criterion_id(first.saturating_add(k)))
                    .copied()
                else {
                    continue;
                };
                let p = probe::probe(&criterion.node, template);
                let what = describe(&criterion.node, template);
                for (want, assignment) in [(true, &p.matching), (false, &p.missing)] {
                    let Some(assignment) = assignment else {
                        findings.add(
                            Some(criterion.rule),
                            self.about_rule(
                                criterion.rule,
                                Code::ProbeNotGenerated,
                                format!(
                                    "{}: no value could be generated that {} {what}",
                                    self.rule_name(criterion.rule),
                                    if want { "satisfies" } else { "fails" }
                                ),
                            )
                            .help(if want {
                                "the criterion is not exercised with a matching value; check that it can match at all"
                            } else {
                                "the criterion accepts every value it was tried with; `exists` says that more plainly"
                            }),
                            sensor,
                        );
                        continue;
                    };
                    if want && let Some(list) = matching.get_mut(criterion.rule) {
                        list.push(assignment.clone());
                    }
                    let values = materialise(template, assignment);
                    run.probe_events = run.probe_events.saturating_add(2);
                    match tester.evaluate_for(criterion.template, &values, &[target]) {
                        Err(e) => findings.add(
                            Some(criterion.rule),
                            self.about_rule(
                                criterion.rule,
                                Code::ProbeRefused,
                                format!(
                                    "{}: the interpreter refuses a probe of {what}: {e}",
                                    self.rule_name(criterion.rule)
                                ),
                            ),
                            sensor,
                        ),
                        Ok(Outcome { matched, agree }) => {
                            if !agree {
                                findings.add(
                                    Some(criterion.rule),
                                    self.about_rule(
                                        criterion.rule,
                                        Code::PrefilterDisagrees,
                                        format!(
                                            "{}: on {} the prefilter and exhaustive evaluation of {what} disagree",
                                            self.rule_name(criterion.rule),
                                            show(template, assignment)
                                        ),
                                    ),
                                    sensor,
                                );
                            }
                            let got = matched.binary_search(&target).is_ok();
                            if got != want {
                                findings.add(
                                    Some(criterion.rule),
                                    self.about_rule(
                                        criterion.rule,
                                        Code::ProbeMismatch,
                                        format!(
                                            "{}: {what} {} {}, but by its definition it {}",
                                            self.rule_name(criterion.rule),
                                            if got { "matches" } else { "does not match" },
                                            show(template, assignment),
                                            if want { "does" } else { "does not" }
                                        ),
                                    )
                                    .help("the interpreter and the format's definition of the criterion disagree on this sensor: do not ship the content; report the case"),
                                    sensor,
                                );
                            }
                        }
                    }
                }
            }
        }
        matching
    }

    /// Runs every bound rule on an event that holds the matching value of each criterion.
    #[allow(clippy::too_many_arguments)]
    fn run_rules(
        &self,
        manifest: &SensorInterface,
        sensor: &str,
        bound: &[usize],
        matching: &[Vec<Assignment>],
        tester: &mut Tester<'_>,
        run: &mut SensorRun,
        findings: &mut Findings,
    ) {
        let index_of: HashMap<RuleId, u32> = tester
            .ruleset
            .rules()
            .iter()
            .enumerate()
            .filter_map(|(at, r)| u32::try_from(at).ok().map(|at| (r.id, at)))
            .collect();
        for &i in bound {
            let Some(rule) = self.content.rules.get(i) else {
                continue;
            };
            let targets: Vec<u32> = index_of.get(&rule.id).copied().into_iter().collect();
            let Some(template) = manifest.template(rule.template) else {
                continue;
            };
            let mut values = vec![OwnedValue::Null; template.fields.len()];
            for assignment in matching.get(i).map(Vec::as_slice).unwrap_or_default() {
                for (field, value) in assignment {
                    if let Some(slot) = values.get_mut(usize::from(*field))
                        && *slot == OwnedValue::Null
                    {
                        *slot = value.clone();
                    }
                }
            }
            run.probe_events = run.probe_events.saturating_add(2);
            match tester.evaluate_for(rule.template, &values, &targets) {
                Err(e) => findings.add(
                    Some(i),
                    self.about_rule(
                        i,
                        Code::ProbeRefused,
                        format!(
                            "the interpreter refuses the probe event of {}: {e}",
                            self.rule_name(i)
                        ),
                    ),
                    sensor,
                ),
                Ok(Outcome { matched, agree }) => {
                    if !agree {
                        findings.add(
                            Some(i),
                            self.about_rule(
                                i,
                                Code::PrefilterDisagrees,
                                format!(
                                    "on the probe event of {} the prefilter and exhaustive evaluation disagree",
                                    self.rule_name(i)
                                ),
                            ),
                            sensor,
                        );
                    }
                    let own = self.content_indexes(tester.ruleset, &matched);
                    if own.contains(&i) {
                        run.rules_matching_own_probe =
                            run.rules_matching_own_probe.saturating_add(1);
                    }
                }
            }
        }
    }

    /// The rule indexes (into the content) of a ruleset's match list.
    fn content_indexes(&self, ruleset: &Ruleset, matched: &[u32]) -> Vec<usize> {
        matched
            .iter()
            .filter_map(|m| ruleset.rules().get(usize::try_from(*m).ok()?))
            .filter_map(|r| self.by_id.get(&r.id).copied())
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn run_expectations(
        &self,
        manifest: &SensorInterface,
        sensor: &str,
        bound: &[bool],
        options: &DryRunOptions,
        tester: &mut Tester<'_>,
        run: &mut SensorRun,
        findings: &mut Findings,
    ) {
        for event in &options.events {
            let Some(template) = resolve_template(manifest, &event.template) else {
                continue;
            };
            let Ok((values, _)) = field_array(template, event) else {
                continue;
            };
            run.events = run.events.saturating_add(1);
            // The content has no rule for this template type: nothing can match.
            let outcome = if self.declares(template.id) {
                Some(tester.evaluate(template.id, &values))
            } else {
                None
            };
            let matched = match outcome {
                None => Vec::new(),
                Some(Ok(Outcome { matched, agree })) => {
                    if !agree {
                        findings.add(
                            None,
                            Diagnostic::new(
                                Code::PrefilterDisagrees,
                                format!(
                                    "events line {}: the prefilter and exhaustive evaluation disagree",
                                    event.line
                                ),
                            ),
                            sensor,
                        );
                    }
                    self.content_indexes(tester.ruleset, &matched)
                }
                Some(Err(e)) => {
                    findings.add(
                        None,
                        Diagnostic::new(
                            Code::ProbeRefused,
                            format!(
                                "events line {}: the interpreter refuses the event: {e}",
                                event.line
                            ),
                        ),
                        sensor,
                    );
                    continue;
                }
            };
            for id in &event.must_match {
                let Some(&i) = self.by_id.get(id) else {
                    continue;
                };
                // A rule the sensor refused is already reported; it cannot match here.
                if bound.get(i).copied().unwrap_or(false) && !matched.contains(&i) {
                    findings.add(
                        Some(i),
                        self.about_rule(
                            i,
                            Code::ExpectedMatchMissing,
                            format!(
                                "events line {}: the event does not match {}, which it must match",
                                event.line,
                                self.rule_name(i)
                            ),
                        ),
                        sensor,
                    );
                }
            }
            for id in &event.must_not_match {
                let Some(&i) = self.by_id.get(id) else {
                    continue;
                };
                if matched.contains(&i) {
                    findings.add(
                        Some(i),
                        self.about_rule(
                            i,
                            Code::UnexpectedMatch,
                            format!(
                                "events line {}: the event matches {}, which it must not match",
                                event.line,
                                self.rule_name(i)
                            ),
                        ),
                        sensor,
                    );
                }
            }
        }
    }

    fn run_benign(
        &self,
        manifest: &SensorInterface,
        sensor: &str,
        options: &DryRunOptions,
        tester: &mut Tester<'_>,
        run: &mut SensorRun,
        findings: &mut Findings,
    ) {
        if options.benign.is_empty() {
            return;
        }
        let mut per_template: BTreeMap<u32, usize> = BTreeMap::new();
        let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
        for event in &options.benign {
            let Some(template) = resolve_template(manifest, &event.template) else {
                continue;
            };
            let Ok((values, _)) = field_array(template, event) else {
                continue;
            };
            run.benign_events = run.benign_events.saturating_add(1);
            *per_template.entry(template.id).or_insert(0) += 1;
            // The sensor evaluates with its prefilter: that is what would fire on hosts.
            let Ok(matched) = tester.evaluate_fast(template.id, &values) else {
                continue;
            };
            for i in self.content_indexes(tester.ruleset, &matched) {
                *per_rule.entry(i).or_insert(0) += 1;
            }
        }
        for (i, hits) in per_rule {
            let Some(rule) = self.content.rules.get(i) else {
                continue;
            };
            let total = per_template.get(&rule.template).copied().unwrap_or(0);
            if total == 0 {
                continue;
            }
            let share = hits as f64 / total as f64;
            if share > options.benign_threshold {
                let block = rule.action == Action::Block;
                let code = if block {
                    Code::BlockBlastRadius
                } else {
                    Code::BlastRadius
                };
                findings.add(
                    Some(i),
                    self.about_rule(
                        i,
                        code,
                        format!(
                            "{} ({}) matches {hits} of {total} benign events of its template type ({:.1} %, threshold {:.1} %)",
                            self.rule_name(i),
                            rule.action,
                            share * 100.0,
                            options.benign_threshold * 100.0
                        ),
                    )
                    .help(if block {
                        "a block rule this broad would stop normal activity on every host: narrow it before shipping"
                    } else {
                        "a rule this broad floods analysts; narrow it, or raise --benign-threshold if intended"
                    }),
                    sensor,
                );
            }
        }
    }
}

/// How a sensor refusal reads in a diagnostic.
fn load_error_parts(e: &LoadError) -> (AnyCode, String) {
    match e {
        LoadError::Format(f) => (AnyCode::Format(f.code()), f.to_string()),
        LoadError::Sensor { code, detail } => (
            AnyCode::Sensor(*code),
            format!("{}: {detail}", code.description()),
        ),
    }
}

/// A criterion in words, for messages: `contains on field 3 `command_line``.
fn describe(node: &Node<Vec<String>>, template: &dcf_sensor::TemplateInterface) -> String {
    let field = |f: u16| match template.field(f) {
        Some(spec) => format!("field {f} `{}`", spec.name),
        None => format!("field {f}"),
    };
    match node {
        Node::Match(m) => match m.target {
            dcf_parser::Target::Field(f) => format!("`{}` on {}", m.kind, field(f)),
            dcf_parser::Target::Keyword => format!("keyword `{}`", m.kind),
        },
        Node::Compare {
            op,
            field: f,
            value,
        } => format!("`{op} {value}` on {}", field(*f)),
        Node::Exists { field: f } => format!("`exists` on {}", field(*f)),
        Node::IsNull { field: f } => format!("`is_null` on {}", field(*f)),
        other => format!("{other:?}"),
    }
}

/// The probe's field values in words.
fn show(template: &dcf_sensor::TemplateInterface, assignment: &Assignment) -> String {
    let parts: Vec<String> = assignment
        .iter()
        .map(|(f, v)| {
            let name = template
                .field(*f)
                .map_or_else(|| format!("#{f}"), |s| s.name.clone());
            match v {
                OwnedValue::Null => format!("{name} = null"),
                OwnedValue::Str(s) => format!("{name} = {s:?}"),
                OwnedValue::Int(i) => format!("{name} = {i}"),
                OwnedValue::Ip(ip) => format!("{name} = {ip}"),
            }
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

struct Outcome {
    /// Rules matched (indexes into the ruleset), with the prefilter, as a sensor runs.
    matched: Vec<u32>,
    /// Whether exhaustive evaluation matched the same rules.
    agree: bool,
}

/// Evaluates events in both of the interpreter's modes.
struct Tester<'r> {
    ruleset: &'r Ruleset,
    scratch: Scratch,
    out: Vec<u32>,
    reference: Vec<u32>,
}

impl Tester<'_> {
    fn evaluate(&mut self, template: u32, values: &[OwnedValue]) -> Result<Outcome, EvalError> {
        let fields: Vec<Value<'_>> = values.iter().map(OwnedValue::as_value).collect();
        let event = Event {
            template,
            fields: &fields,
        };
        self.out.clear();
        self.reference.clear();
        self.ruleset
            .evaluate(&event, &mut self.scratch, &mut self.out)?;
        self.ruleset
            .evaluate_exhaustive(&event, &mut self.scratch, &mut self.reference)?;
        Ok(Outcome {
            matched: self.out.clone(),
            agree: self.out == self.reference,
        })
    }

    /// Evaluates with the prefilter, and `targets` (ruleset indexes) without it: agreement
    /// is judged on the targets only. A probe event is made for one rule; checking it against
    /// every rule's exhaustive verdict made the dry run quadratic in the rules (each rule's own
    /// probes check its prefilter).
    fn evaluate_for(
        &mut self,
        template: u32,
        values: &[OwnedValue],
        targets: &[u32],
    ) -> Result<Outcome, EvalError> {
        let fields: Vec<Value<'_>> = values.iter().map(OwnedValue::as_value).collect();
        let event = Event {
            template,
            fields: &fields,
        };
        self.out.clear();
        self.reference.clear();
        self.ruleset
            .evaluate(&event, &mut self.scratch, &mut self.out)?;
        self.ruleset.evaluate_rules_exhaustive(
            &event,
            targets,
            &mut self.scratch,
            &mut self.reference,
        )?;
        let agree = targets
            .iter()
            .all(|t| self.out.binary_search(t).is_ok() == self.reference.binary_search(t).is_ok());
        Ok(Outcome {
            matched: self.out.clone(),
            agree,
        })
    }

    fn evaluate_fast(
        &mut self,
        template: u32,
        values: &[OwnedValue],
    ) -> Result<Vec<u32>, EvalError> {
        let fields: Vec<Value<'_>> = values.iter().map(OwnedValue::as_value).collect();
        let event = Event {
            template,
            fields: &fields,
        };
        self.out.clear();
        self.ruleset
            .evaluate(&event, &mut self.scratch, &mut self.out)?;
        Ok(self.out.clone())
    }
}
