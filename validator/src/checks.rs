//! The semantic checks of a content that has passed the parser (codes `E1xxx`).

use std::collections::HashMap;

use dcf_parser::format::{header, record};
use dcf_parser::{Action, ContentView, MatchKind, Node, Operand, RuleView, Target};

use dcf_sensor::{Glob, Net, OperandError, Reason, Refusal, RegexError};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::interface::interface_diagnostics;
use crate::limits;
use crate::manifest::Manifest;
use crate::time::format_rfc3339;

/// The content a sensor runs now, for the anti-rollback check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    /// How to name it in messages (usually its path).
    pub name: String,
    /// Its channel.
    pub channel: u32,
    /// Its sequence number.
    pub sequence: u64,
    /// Whether a step of more than `MAX_SEQUENCE_JUMP` over its sequence is intended
    /// (`--allow-sequence-jump`); without it such a step is `E1407`.
    pub allow_jump: bool,
}

/// What the checks need besides the content and the fleet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The time to check validity against, in seconds since the epoch.
    pub now: u64,
    /// The content currently deployed on the channel, if known.
    pub previous: Option<Previous>,
}

/// The outcome of validating one content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    /// Findings, in order of their byte offset (header first).
    pub diagnostics: Vec<Diagnostic>,
    /// Remarks for `--verbose` (manifests ignored, manifests used).
    pub notes: Vec<String>,
}

impl Validation {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether the content is accepted: no error, and no warning if warnings are denied.
    pub fn accepted(&self, deny_warnings: bool) -> bool {
        if deny_warnings {
            self.diagnostics.is_empty()
        } else {
            !self.has_errors()
        }
    }
}

/// Parses and validates a whole file.
pub fn validate_bytes(bytes: &[u8], fleet: &[Manifest], options: &Options) -> Validation {
    match dcf_parser::parse(bytes) {
        Ok(view) => validate_content(&view, fleet, options),
        Err(e) => Validation {
            diagnostics: vec![Diagnostic::from_parse_error(&e)],
            notes: Vec::new(),
        },
    }
}

/// Runs every semantic check on a content the parser accepted.
pub fn validate_content(
    content: &ContentView<'_>,
    fleet: &[Manifest],
    options: &Options,
) -> Validation {
    let mut v = Validation::default();
    check_header(content, options, &mut v.diagnostics);

    let h = content.header();
    let mut in_range = 0usize;
    // Operand refusals do not depend on the interface: the first binding's are reported.
    let mut operand_refusals: Option<Vec<Refusal>> = None;
    for m in fleet {
        if m.in_range(h.sensor_min, h.sensor_max) {
            in_range = in_range.saturating_add(1);
            v.notes.push(format!(
                "checked against {} (in range {}..={})",
                m.display_name(),
                h.sensor_min,
                h.sensor_max
            ));
            let binding = dcf_sensor::bind(content, m);
            v.diagnostics
                .extend(interface_diagnostics(content, m, &binding.refusals));
            if operand_refusals.is_none() {
                operand_refusals = Some(binding.refusals);
            }
        } else {
            v.notes.push(format!(
                "ignored {}: outside the content's sensor range {}..={}",
                m.display_name(),
                h.sensor_min,
                h.sensor_max
            ));
        }
    }
    // With no manifest to bind to, the operands are still judged by the sensor's binder,
    // against the interface the content declares.
    let operand_refusals = operand_refusals.unwrap_or_else(|| {
        dcf_sensor::bind(content, &Manifest::declared_by(content, h.sensor_min)).refusals
    });
    if in_range == 0 {
        let versions: Vec<String> = fleet.iter().map(|m| m.version.to_string()).collect();
        v.diagnostics.push(
            Diagnostic::new(
                Code::NoManifestInRange,
                format!(
                    "the content targets sensors {}..={}, but no manifest given lies in that range ({})",
                    h.sensor_min,
                    h.sensor_max,
                    if versions.is_empty() {
                        "none given".to_string()
                    } else {
                        format!("given: {}", versions.join(", "))
                    }
                ),
            )
            .at(header::SENSOR_MIN, 12)
            .label("sensor range")
            .help("pass the manifest of every sensor version still deployed in the range with --manifest; content that targets nothing checkable is refused"),
        );
    }

    let mut refused: HashMap<(usize, u32, usize), &OperandError> = HashMap::new();
    for r in &operand_refusals {
        // A regex over the memory budget depends on the manifest: `interface_diagnostics`.
        if let (Some(node), Reason::Operand { value, error, .. }) = (r.node, &r.reason)
            && !matches!(error, OperandError::Memory { .. })
        {
            refused.insert((r.rule, node, *value), error);
        }
    }
    let mut regex_cache = RegexCache::new();
    for (index, rule) in content.rules().enumerate() {
        check_operands(&rule, index, &refused, &mut regex_cache, &mut v.diagnostics);
        check_logic(&rule, &mut v.diagnostics);
    }
    v.diagnostics
        .sort_by_key(|d| d.offset.map_or(usize::MAX, |o| o));
    v
}

fn check_header(content: &ContentView<'_>, options: &Options, out: &mut Vec<Diagnostic>) {
    let h = content.header();
    if options.now >= h.expires_at {
        out.push(
            Diagnostic::new(
                Code::Expired,
                format!(
                    "the content expired at {} (now is {})",
                    format_rfc3339(h.expires_at),
                    format_rfc3339(options.now)
                ),
            )
            .at(header::EXPIRES_AT, 8)
            .label("expires_at")
            .help("recompile with a later expiry; sensors refuse expired content"),
        );
    }
    if options.now < h.created_at {
        out.push(
            Diagnostic::new(
                Code::NotYetValid,
                format!(
                    "the content is valid only from {} (now is {})",
                    format_rfc3339(h.created_at),
                    format_rfc3339(options.now)
                ),
            )
            .at(header::CREATED_AT, 8)
            .label("created_at")
            .help("check the clock of the machine that compiled it, or validate with --now"),
        );
    }
    // The sequence's own range first: a content that leaves no room after it bricks the
    // channel of every sensor that loads it, whatever was deployed before.
    let room = u64::MAX.saturating_sub(h.sequence);
    if room < limits::SEQUENCE_RESERVE {
        out.push(
            Diagnostic::new(
                Code::SequenceNoRoom,
                format!(
                    "sequence {} leaves only {room} sequence numbers after it; a sensor that loads it refuses every later update of channel {} whose sequence is not greater (E3008)",
                    h.sequence, h.channel
                ),
            )
            .at(header::SEQUENCE, 8)
            .label("sequence")
            .help(format!(
                "leave at least {} (SEQUENCE_RESERVE) sequence numbers above it; the compiler's default sequence is the creation time in seconds",
                limits::SEQUENCE_RESERVE
            )),
        );
    } else if h.sequence >= limits::SEQUENCE_WARNING {
        out.push(
            Diagnostic::new(
                Code::SequenceNearEnd,
                format!(
                    "sequence {} is in the upper half of its range: no clock or counter gets there by accident",
                    h.sequence
                ),
            )
            .at(header::SEQUENCE, 8)
            .label("sequence")
            .help("check where the number came from; sensors never accept a lower one again"),
        );
    }
    if let Some(p) = &options.previous {
        if p.channel != h.channel {
            out.push(
                Diagnostic::new(
                    Code::PreviousChannelDiffers,
                    format!(
                        "the content is for channel {}, but the previous content {} is for channel {}",
                        h.channel, p.name, p.channel
                    ),
                )
                .at(header::CHANNEL, 4)
                .label("channel")
                .help("pass the content currently deployed on the same channel with --previous"),
            );
        } else if h.sequence <= p.sequence {
            out.push(
                Diagnostic::new(
                    Code::SequenceNotIncreasing,
                    format!(
                        "sequence {} is not greater than {} of the previous content {}; sensors would refuse it as a rollback",
                        h.sequence, p.sequence, p.name
                    ),
                )
                .at(header::SEQUENCE, 8)
                .label("sequence")
                .help(format!(
                    "recompile with a sequence number above {}",
                    p.sequence
                )),
            );
        } else if h.sequence.saturating_sub(p.sequence) > limits::MAX_SEQUENCE_JUMP && !p.allow_jump
        {
            out.push(
                Diagnostic::new(
                    Code::SequenceJump,
                    format!(
                        "sequence {} is {} above {} of the previous content {}: every sequence skipped is lost to the channel for good",
                        h.sequence,
                        h.sequence.saturating_sub(p.sequence),
                        p.sequence,
                        p.name
                    ),
                )
                .at(header::SEQUENCE, 8)
                .label("sequence")
                .help(format!(
                    "steps of more than {} (MAX_SEQUENCE_JUMP) need --allow-sequence-jump",
                    limits::MAX_SEQUENCE_JUMP
                )),
            );
        }
    }
}

fn node_diag(d: Diagnostic, rule: &RuleView<'_>, node: u32) -> Diagnostic {
    let d = d.rule(rule.id);
    match rule.node_offset(node) {
        Some(offset) => d.at(offset, record::NODE),
        None => d.at(rule.offset, record::RULE),
    }
}

/// Shortens an operand for a message.
fn quote(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        format!("`{value}`")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("`{head}…`")
    }
}

/// Whether each regex already analysed in this content matches every value, by pattern and
/// case folding.
type RegexCache = HashMap<(String, bool), bool>;

/// The operand findings of one rule: the values the sensor's binder refused (`refused`, by
/// rule, node and value index) as E1101..E1104, and match nodes whose operands accept every
/// value (E1105).
fn check_operands(
    rule: &RuleView<'_>,
    index: usize,
    refused: &HashMap<(usize, u32, usize), &OperandError>,
    regex_cache: &mut RegexCache,
    out: &mut Vec<Diagnostic>,
) {
    for (i, node) in (0u32..).zip(rule.expression()) {
        let Node::Match(m) = &node else { continue };
        let Operand::Values(values) = &m.operand else {
            continue;
        };
        let mut accepts_all: Vec<bool> = Vec::new();
        for (k, value) in values.iter().enumerate() {
            if let Some(error) = refused.get(&(index, i, k)) {
                out.push(operand_refused(rule, i, m.kind, value, error));
                continue;
            }
            // The binder accepted the value; what remains is whether it tests anything.
            let all = match m.kind {
                MatchKind::Regex => *regex_cache
                    .entry((value.to_string(), !m.case_sensitive))
                    .or_insert_with(|| {
                        dcf_sensor::regex_matches_everything(value, !m.case_sensitive)
                    }),
                MatchKind::Glob => Glob::parse(value).is_ok_and(|g| g.matches_everything()),
                MatchKind::Cidr => Net::parse(value).is_ok_and(|n| n.prefix() == 0),
                MatchKind::Contains | MatchKind::StartsWith | MatchKind::EndsWith => {
                    value.is_empty()
                }
                MatchKind::Equals => false,
            };
            accepts_all.push(all);
        }
        let all = if m.all_of {
            !accepts_all.is_empty() && accepts_all.iter().all(|a| *a)
        } else {
            accepts_all.iter().any(|a| *a)
        };
        if all {
            let subject = match m.target {
                Target::Field(f) => rule.template.field(f).map_or(format!("field {f}"), |fv| {
                    format!("field {f} `{}`", fv.name)
                }),
                Target::Keyword => "any string field".to_string(),
            };
            out.push(
                node_diag(
                    Diagnostic::new(
                        Code::OperandMatchesAll,
                        format!(
                            "rule {} “{}”: `{}` on {subject} accepts every value",
                            rule.id, rule.title, m.kind
                        ),
                    ),
                    rule,
                    i,
                )
                .label("accepts every value")
                .help("an empty string, a glob of only `*`, a regex that matches the empty string or a /0 network tests nothing but presence; use `exists` if that is what you mean"),
            );
        }
    }
}

/// The diagnostic of an operand value the sensor's binder refused.
fn operand_refused(
    rule: &RuleView<'_>,
    node: u32,
    kind: MatchKind,
    value: &str,
    error: &OperandError,
) -> Diagnostic {
    let (code, what, text, help) = match error {
        OperandError::Regex(e @ RegexError::TooBig { .. }) => (
            Code::RegexTooBig,
            "regular expression",
            e.to_string(),
            format!(
                "simplify the expression (bounded repetitions like {{1000}} multiply its size); the limit is {} bytes",
                dcf_sensor::limits::REGEX_SIZE_LIMIT
            ),
        ),
        OperandError::Regex(e) => (
            Code::InvalidRegex,
            "regular expression",
            e.to_string(),
            "the sensor uses the syntax of the Rust `regex` crate: no look-around, no back-references".to_string(),
        ),
        OperandError::Glob(e) => (
            Code::InvalidGlob,
            "glob",
            e.clone(),
            "write `\\\\` for a literal backslash, e.g. `C:\\\\Windows\\\\*.exe`".to_string(),
        ),
        OperandError::Cidr(e) => (
            Code::InvalidCidr,
            "CIDR operand",
            e.clone(),
            "write an IPv4 or IPv6 network as address/prefix, e.g. `10.0.0.0/8`".to_string(),
        ),
        // Reported per manifest with its budget (`interface_diagnostics`); kept whole here.
        OperandError::Memory { needed, budget } => (
            Code::MemoryOverBudget,
            "regular expression",
            format!("the content's regexes would hold {needed} bytes; the budget is {budget}"),
            "use fewer or smaller regexes".to_string(),
        ),
    };
    node_diag(
        Diagnostic::new(
            code,
            format!(
                "rule {} “{}”: {what} {} is refused: {text}",
                rule.id,
                rule.title,
                quote(value)
            ),
        ),
        rule,
        node,
    )
    .label(format!("{kind} operand"))
    .help(help)
}

/// A truth value that may depend on the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

/// Folds the expression with every leaf but the wildcard unknown.
fn fold_rule(rule: &RuleView<'_>) -> Option<Tri> {
    let mut stack: Vec<Tri> = Vec::new();
    for node in rule.expression() {
        let pops = node.pops() as usize;
        let base = stack.len().checked_sub(pops)?;
        let operands = stack.split_off(base);
        let trues = operands.iter().filter(|t| **t == Tri::True).count();
        let unknowns = operands.iter().filter(|t| **t == Tri::Unknown).count();
        let value = match &node {
            Node::Any { .. } => Tri::True,
            Node::And { .. } => {
                if operands.contains(&Tri::False) {
                    Tri::False
                } else if unknowns == 0 {
                    Tri::True
                } else {
                    Tri::Unknown
                }
            }
            Node::Or { .. } => {
                if trues > 0 {
                    Tri::True
                } else if unknowns == 0 {
                    Tri::False
                } else {
                    Tri::Unknown
                }
            }
            Node::Not => match operands.first()? {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Unknown => Tri::Unknown,
            },
            Node::AtLeast { required, .. } => {
                let required = *required as usize;
                if trues >= required {
                    Tri::True
                } else if trues.saturating_add(unknowns) < required {
                    Tri::False
                } else {
                    Tri::Unknown
                }
            }
            Node::Exists { .. } | Node::IsNull { .. } | Node::Match(_) | Node::Compare { .. } => {
                Tri::Unknown
            }
        };
        stack.push(value);
    }
    (stack.len() == 1).then(|| stack.first().copied()).flatten()
}

fn check_logic(rule: &RuleView<'_>, out: &mut Vec<Diagnostic>) {
    let Some(value) = fold_rule(rule) else {
        return;
    };
    let only_wildcards = rule.expression().all(|n| {
        !matches!(
            n,
            Node::Exists { .. } | Node::IsNull { .. } | Node::Match(_) | Node::Compare { .. }
        )
    });
    let template = format!(
        "template type {} `{}`",
        rule.template.id, rule.template.name
    );
    let d = match value {
        Tri::Unknown => return,
        Tri::False => Diagnostic::new(
            Code::NeverMatches,
            format!(
                "rule {} “{}” can never match: its condition is false whatever the event holds",
                rule.id, rule.title
            ),
        )
        .label("always false")
        .help("an `or` of nothing is false, `not` of a wildcard is false; fix the condition or remove the rule"),
        Tri::True => {
            let why = if only_wildcards {
                "it tests only wildcards"
            } else {
                "its condition is true whatever the fields hold"
            };
            let code = if rule.action == Action::Block {
                Code::BlockMatchesAll
            } else {
                Code::MatchesAll
            };
            Diagnostic::new(
                code,
                format!(
                    "{} rule {} “{}” matches every event of {template}: {why}",
                    rule.action, rule.id, rule.title
                ),
            )
            .label("always true")
            .help(if rule.action == Action::Block {
                "a block rule that matches everything blocks all activity of its kind on every targeted host; add a real criterion"
            } else {
                "a rule that matches everything floods detections; add a real criterion"
            })
        }
    };
    out.push(d.at(rule.offset, record::RULE).rule(rule.id));
}
