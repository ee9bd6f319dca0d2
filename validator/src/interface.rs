//! The interface check: does a content use only what a sensor build really supplies?
//!
//! This is the check Channel File 291 lacked: its validator compared rules with the template
//! type's *declaration* (21 fields) rather than with what the sensor supplied (20). Here every
//! field a rule reads is compared with the manifest of every sensor version the content
//! targets. The sensor loader applies exactly the same rule through this function.

use std::collections::{BTreeMap, HashMap};

use dcf_parser::layout;
use dcf_parser::{ContentView, Match, Node, Operand, RuleView, Target, TemplateView, ValueList};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;

/// How a rule uses one field of its template type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldUse {
    /// Index of the first node that reads the field (not a wildcard), if any does.
    pub(crate) read_at: Option<u32>,
    /// Index of the first wildcard on the field, if there is one.
    pub(crate) wildcard_at: Option<u32>,
}

/// The fields each node of a rule uses, by field index, in ascending order.
pub(crate) fn field_uses(rule: &RuleView<'_>) -> BTreeMap<u16, FieldUse> {
    let mut uses: BTreeMap<u16, FieldUse> = BTreeMap::new();
    let mut note = |field: u16, node: u32, wildcard: bool| {
        let entry = uses.entry(field).or_insert(FieldUse {
            read_at: None,
            wildcard_at: None,
        });
        let slot = if wildcard {
            &mut entry.wildcard_at
        } else {
            &mut entry.read_at
        };
        slot.get_or_insert(node);
    };
    for (i, node) in (0u32..).zip(rule.expression()) {
        match &node {
            Node::Any { field } => note(*field, i, true),
            Node::Exists { field } | Node::IsNull { field } | Node::Compare { field, .. } => {
                note(*field, i, false)
            }
            Node::Match(m) => match_fields(m, |f| note(f, i, false)),
            Node::And { .. } | Node::Or { .. } | Node::Not | Node::AtLeast { .. } => {}
        }
    }
    uses
}

fn match_fields(m: &Match<ValueList<'_>>, mut f: impl FnMut(u16)) {
    if let Target::Field(field) = m.target {
        f(field);
    }
    if let Operand::Field(other) = m.operand {
        f(other);
    }
}

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

/// Compares a content with one sensor build's manifest (spec rules `VAL-IFC-2` to `VAL-IFC-8`).
///
/// The caller decides which manifests apply (those whose version lies in the content's sensor
/// range, rule `VAL-IFC-1`); this function assumes `manifest` does. For every rule:
/// - its template type must be implemented by the sensor (E1002);
/// - every field a node reads (any node but the wildcard `Any`), as subject or as the other
///   field of a comparison, must be supplied: index below the sensor's field count (E1003),
///   with the declared type (E1005) and name (E1006);
/// - a field only wildcards name may be missing: the interpreter never reads it (E1004, a
///   warning).
///
/// Declared template names (E1007) and declared fields that no rule reads (E1008) that differ
/// from the sensor's are warnings.
pub fn check_interface(content: &ContentView<'_>, manifest: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let sensor = manifest.display_name();
    // Built on first need: only the rare warnings about declarations point into the table.
    let mut spans: Option<InterfaceSpans> = None;
    // Fields read (not only wildcarded) by some rule, per template id.
    let mut read_fields: HashMap<u32, Vec<u16>> = HashMap::new();

    for rule in content.rules() {
        let template = rule.template();
        let Some(spec) = manifest.template(template.id) else {
            out.push(
                Diagnostic::new(
                    Code::TemplateNotImplemented,
                    format!(
                        "{} uses {}, which {sensor} does not implement",
                        rule_name(&rule),
                        template_name(&template)
                    ),
                )
                .at(rule.offset, dcf_parser::format::record::RULE)
                .label(format!("template type {} not implemented", template.id))
                .rule(rule.id)
                .help(format!(
                    "raise the content's minimum sensor version above {}, or move the rule to content for sensors that implement the template type",
                    manifest.version
                )),
            );
            continue;
        };
        let supplied = spec.fields.len();
        for (field, usage) in field_uses(&rule) {
            let declared = template.field(field);
            let declared_name = declared.map_or("?", |f| f.name);
            let field_text = format!("field {field} `{declared_name}`");
            match usage.read_at {
                Some(node) if usize::from(field) >= supplied => {
                    out.push(
                        at_node(
                            Diagnostic::new(
                                Code::FieldNotSupplied,
                                format!(
                                    "{} reads {field_text} of {}, but {sensor} supplies only {supplied} field{} (indexes 0..={})",
                                    rule_name(&rule),
                                    template_name(&template),
                                    if supplied == 1 { "" } else { "s" },
                                    supplied.saturating_sub(1),
                                ),
                            ),
                            &rule,
                            node,
                        )
                        .label(format!("reads field {field}, not supplied by {sensor}"))
                        .rule(rule.id)
                        .help(format!(
                            "the interpreter on {sensor} would read past the end of the event's field array; use a wildcard for `{declared_name}`, or raise the content's minimum sensor version to one that supplies it"
                        )),
                    );
                }
                Some(node) => {
                    read_fields.entry(template.id).or_default().push(field);
                    if let (Some(d), Some(s)) = (declared, spec.fields.get(usize::from(field))) {
                        if d.kind != s.kind {
                            out.push(
                                at_node(
                                    Diagnostic::new(
                                        Code::FieldTypeDiffers,
                                        format!(
                                            "{} reads {field_text} of {} as {}, but {sensor} supplies it as {}",
                                            rule_name(&rule),
                                            template_name(&template),
                                            d.kind,
                                            s.kind
                                        ),
                                    ),
                                    &rule,
                                    node,
                                )
                                .label(format!("declared {}, supplied {}", d.kind, s.kind))
                                .rule(rule.id)
                                .help("recompile the content against the manifests of the sensors it targets"),
                            );
                        }
                        if d.name != s.name {
                            out.push(
                                at_node(
                                    Diagnostic::new(
                                        Code::FieldNameDiffers,
                                        format!(
                                            "{} reads {field_text} of {}, but {sensor} supplies `{}` at index {field}",
                                            rule_name(&rule),
                                            template_name(&template),
                                            s.name
                                        ),
                                    ),
                                    &rule,
                                    node,
                                )
                                .label(format!("declared `{}`, supplied `{}`", d.name, s.name))
                                .rule(rule.id)
                                .help("field layouts are append-only across sensor versions; recompile the content against the manifests of the sensors it targets"),
                            );
                        }
                    }
                }
                None => {
                    if let Some(node) = usage.wildcard_at
                        && usize::from(field) >= supplied
                    {
                        out.push(
                            at_node(
                                Diagnostic::new(
                                    Code::WildcardFieldNotSupplied,
                                    format!(
                                        "{} has a wildcard on {field_text} of {}, which {sensor} does not supply (it supplies {supplied})",
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
            }
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
