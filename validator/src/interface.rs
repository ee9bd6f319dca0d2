//! The interface check: does a content use only what a sensor build really supplies?
//!
//! This is the check Channel File 291 lacked: its validator compared rules with the template
//! type's *declaration* (21 fields) rather than with what the sensor supplied (20). Here the
//! content is bound to the manifest of every sensor version it targets by the sensor's own
//! binder ([`dcf_sensor::bind`], the function the loader calls), and each of its refusals
//! becomes a diagnostic with a span: E3101 is E1002, E3102 E1003, E3103 E1005, E3104 E1006
//! (`DIAGNOSTICS.md`, *One binder*). What the validator adds are warnings about what the
//! sensor accepts but an author should know: wildcards on fields not supplied (E1004) and
//! declarations that differ where no rule reads them (E1007, E1008).

use std::collections::{BTreeMap, HashMap};

use dcf_parser::layout;
use dcf_parser::{ContentView, RuleView, TemplateView};
use dcf_sensor::{Reason, Refusal};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;

/// Byte ranges of the interface records, found through the parser's layout walker.
struct InterfaceSpans {
    spans: HashMap<(&'static str, u32), (usize, usize)>,
}

impl InterfaceSpans {
    fn new(bytes: &[u8]) -> Self {
        let mut spans = HashMap::new();
        layout::walk(bytes, |s| {
            if matches!(s.label, "template.name" | "field.name" | "field.type")
                && let Some(i) = s.index
            {
                spans.insert((s.label, i), (s.offset, s.len));
            }
        });
        InterfaceSpans { spans }
    }

    fn get(&self, label: &'static str, index: usize) -> Option<(usize, usize)> {
        self.spans
            .get(&(label, u32::try_from(index).ok()?))
            .copied()
    }
}

/// Index of a template's first field in the file's field table: fields tile the table in
/// template order (spec rule `IFC-5`).
fn first_field_record(content: &ContentView<'_>, template: &TemplateView<'_>) -> usize {
    content
        .templates()
        .take_while(|t| t.index < template.index)
        .map(|t| t.field_count() as usize)
        .sum()
}

fn rule_name(rule: &RuleView<'_>) -> String {
    format!("rule {} “{}”", rule.id, rule.title)
}

fn template_name(t: &TemplateView<'_>) -> String {
    format!("template type {} `{}`", t.id, t.name)
}

fn at_node(d: Diagnostic, rule: &RuleView<'_>, node: u32) -> Diagnostic {
    match rule.node_offset(node) {
        Some(offset) => d.at(offset, dcf_parser::format::record::NODE),
        None => d.at(rule.offset, dcf_parser::format::record::RULE),
    }
}

/// The diagnostic of one interface refusal of the binder; `None` for operand refusals.
fn refusal_diagnostic(
    rule: &RuleView<'_>,
    template: &TemplateView<'_>,
    manifest: &Manifest,
    sensor: &str,
    r: &Refusal,
) -> Option<Diagnostic> {
    let field_text = |field: u16| {
        let declared_name = template.field(field).map_or("?", |f| f.name);
        format!("field {field} `{declared_name}`")
    };
    let node = r.node.unwrap_or(0);
    Some(match &r.reason {
        Reason::TemplateNotImplemented { template: id } => Diagnostic::new(
            Code::TemplateNotImplemented,
            format!(
                "{} uses {}, which {sensor} does not implement",
                rule_name(rule),
                template_name(template)
            ),
        )
        .at(rule.offset, dcf_parser::format::record::RULE)
        .label(format!("template type {id} not implemented"))
        .rule(rule.id)
        .help(format!(
            "raise the content's minimum sensor version above {}, or move the rule to content for sensors that implement the template type",
            manifest.version
        )),
        Reason::FieldNotSupplied { field, supplied } => {
            let declared_name = template.field(*field).map_or("?", |f| f.name);
            at_node(
                Diagnostic::new(
                    Code::FieldNotSupplied,
                    format!(
                        "{} reads {} of {}, but {sensor} supplies only {supplied} field{} (indexes 0..={})",
                        rule_name(rule),
                        field_text(*field),
                        template_name(template),
                        if *supplied == 1 { "" } else { "s" },
                        supplied.saturating_sub(1),
                    ),
                ),
                rule,
                node,
            )
            .label(format!("reads field {field}, not supplied by {sensor}"))
            .rule(rule.id)
            .help(format!(
                "the interpreter on {sensor} would read past the end of the event's field array; use a wildcard for `{declared_name}`, or raise the content's minimum sensor version to one that supplies it"
            ))
        }
        Reason::FieldType {
            field,
            declared,
            supplied,
        } => at_node(
            Diagnostic::new(
                Code::FieldTypeDiffers,
                format!(
                    "{} reads {} of {} as {declared}, but {sensor} supplies it as {supplied}",
                    rule_name(rule),
                    field_text(*field),
                    template_name(template),
                ),
            ),
            rule,
            node,
        )
        .label(format!("declared {declared}, supplied {supplied}"))
        .rule(rule.id)
        .help("recompile the content against the manifests of the sensors it targets"),
        Reason::FieldName {
            field,
            declared,
            supplied,
        } => at_node(
            Diagnostic::new(
                Code::FieldNameDiffers,
                format!(
                    "{} reads {} of {}, but {sensor} supplies `{supplied}` at index {field}",
                    rule_name(rule),
                    field_text(*field),
                    template_name(template),
                ),
            ),
            rule,
            node,
        )
        .label(format!("declared `{declared}`, supplied `{supplied}`"))
        .rule(rule.id)
        .help("field layouts are append-only across sensor versions; recompile the content against the manifests of the sensors it targets"),
        Reason::Cost {
            field: Some(field),
            steps,
            budget,
        } => at_node(
            Diagnostic::new(
                Code::CostPerByteOverBudget,
                format!(
                    "{}: with it, the matchers reading {} of {} cost {steps} steps per byte of its text; {sensor} allows {budget}",
                    rule_name(rule),
                    field_text(*field),
                    template_name(template),
                ),
            ),
            rule,
            node,
        )
        .label(format!("{steps} steps per byte with this rule"))
        .rule(rule.id)
        .help("a regex costs its automaton's states per byte and a glob its longest segment: use plain string matches, fewer regexes on one field, or split the content (LOADER.md COST-2)"),
        Reason::Cost {
            field: None,
            steps,
            budget,
        } => Diagnostic::new(
            Code::CostPerEventOverBudget,
            format!(
                "{}: with it, the rules of {} cost {steps} fixed steps per event; {sensor} allows {budget}",
                rule_name(rule),
                template_name(template),
            ),
        )
        .at(rule.offset, dcf_parser::format::record::RULE)
        .label(format!("{steps} fixed steps with this rule"))
        .rule(rule.id)
        .help("move rules to another content, or shorten the longest literal lists"),
        Reason::Operand {
            error: dcf_sensor::OperandError::Memory { needed, budget },
            text,
            ..
        } => at_node(
            Diagnostic::new(
                Code::MemoryOverBudget,
                format!(
                    "{}: with the regex {text:?}, the content's regexes hold {needed} bytes; {sensor} allows {budget}",
                    rule_name(rule),
                ),
            ),
            rule,
            node,
        )
        .label("over the memory budget")
        .rule(rule.id)
        .help("use fewer or smaller regexes (bounded repetitions multiply an automaton's size), or split the content"),
        _ => return None,
    })
}

/// Compares a content with one sensor build's manifest (spec rules `VAL-IFC-2` to `VAL-IFC-8`)
/// by binding it with the sensor's binder.
///
/// The caller decides which manifests apply (those whose version lies in the content's sensor
/// range, rule `VAL-IFC-1`); this function assumes `manifest` does.
pub fn check_interface(content: &ContentView<'_>, manifest: &Manifest) -> Vec<Diagnostic> {
    let binding = dcf_sensor::bind(content, manifest);
    interface_diagnostics(content, manifest, &binding.refusals)
}

/// The diagnostics of one manifest, from the binder's `refusals` of `content` against it:
/// - a rule whose template type the sensor does not implement (E3101, shown as E1002);
/// - a field a node reads ([`dcf_parser::Node::reads`]) at or above the sensor's field count
///   (E3102, E1003), with another type (E3103, E1005) or name (E3104, E1006);
/// - a field only wildcards name may be missing: the interpreter never reads it (E1004, a
///   warning).
///
/// Declared template names (E1007) and declared fields that no rule reads (E1008) that differ
/// from the sensor's are warnings. Operand refusals are reported by the operand checks, once
/// for all manifests.
pub(crate) fn interface_diagnostics(
    content: &ContentView<'_>,
    manifest: &Manifest,
    refusals: &[Refusal],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let sensor = manifest.display_name();
    // Built on first need: only the rare warnings about declarations point into the table.
    let mut spans: Option<InterfaceSpans> = None;
    // Fields read (not only wildcarded) by some rule, per template id.
    let mut read_fields: HashMap<u32, Vec<u16>> = HashMap::new();
    // The binder's refusals, by rule index, in its order.
    let mut by_rule: BTreeMap<usize, Vec<&Refusal>> = BTreeMap::new();
    for r in refusals {
        by_rule.entry(r.rule).or_default().push(r);
    }

    for (index, rule) in content.rules().enumerate() {
        let template = rule.template();
        let refused = by_rule.get(&index).map(Vec::as_slice).unwrap_or(&[]);
        let mut wildcards: BTreeMap<u16, u32> = BTreeMap::new();
        let mut reads: Vec<u16> = Vec::new();
        for (i, node) in (0u32..).zip(rule.expression()) {
            reads.extend(node.reads());
            if let Some(field) = node.wildcard_field() {
                wildcards.entry(field).or_insert(i);
            }
        }
        for r in refused {
            if let Some(d) = refusal_diagnostic(&rule, &template, manifest, &sensor, r) {
                out.push(d);
            }
        }
        let Some(spec) = manifest.template(template.id) else {
            continue;
        };
        read_fields.entry(template.id).or_default().extend(&reads);
        let supplied = spec.fields.len();
        for (field, node) in wildcards {
            if usize::from(field) < supplied || reads.contains(&field) {
                continue;
            }
            let declared_name = template.field(field).map_or("?", |f| f.name);
            out.push(
                at_node(
                    Diagnostic::new(
                        Code::WildcardFieldNotSupplied,
                        format!(
                            "{} has a wildcard on field {field} `{declared_name}` of {}, which {sensor} does not supply (it supplies {supplied})",
                            rule_name(&rule),
                            template_name(&template),
                        ),
                    ),
                    &rule,
                    node,
                )
                .label(format!("wildcard on field {field}, not supplied by {sensor}"))
                .rule(rule.id)
                .help("the interpreter never reads a wildcard's field, so this is safe today; a non-wildcard criterion on this field would be rejected"),
            );
        }
    }

    for template in content.templates() {
        let Some(spec) = manifest.template(template.id) else {
            continue;
        };
        let first = first_field_record(content, &template);
        if template.name != spec.name {
            let mut d = Diagnostic::new(
                Code::TemplateNameDiffers,
                format!(
                    "{} is called `{}` by {sensor}",
                    template_name(&template),
                    spec.name
                ),
            )
            .label(format!("`{}` on {sensor}", spec.name))
            .help("recompile the content against the manifests of the sensors it targets");
            let spans = spans.get_or_insert_with(|| InterfaceSpans::new(content.bytes()));
            if let Some((offset, len)) = spans.get("template.name", template.index) {
                d = d.at(offset, len);
            }
            out.push(d);
        }
        let read = read_fields.get(&template.id);
        for declared in template.fields() {
            if read.is_some_and(|r| r.contains(&declared.index)) {
                continue;
            }
            let Some(s) = spec.field(declared.index) else {
                continue;
            };
            if s.name == declared.name && s.kind == declared.kind {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::UnreadFieldDiffers,
                format!(
                    "{} declares field {} as `{}` ({}), but {sensor} supplies `{}` ({}) there; no rule reads it",
                    template_name(&template),
                    declared.index,
                    declared.name,
                    declared.kind,
                    s.name,
                    s.kind
                ),
            )
            .label(format!("`{}` ({}) on {sensor}", s.name, s.kind))
            .help("recompile the content against the manifests of the sensors it targets");
            let record = first.saturating_add(usize::from(declared.index));
            let spans = spans.get_or_insert_with(|| InterfaceSpans::new(content.bytes()));
            if let Some((offset, len)) = spans.get("field.name", record) {
                d = d.at(offset, len);
            }
            out.push(d);
        }
    }
    out
}
