//! The semantic checks of a content that has passed the parser (codes `E1xxx`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use dcf_parser::format::{header, record};
use dcf_parser::{
    Action, ContentView, FieldType, Match, MatchKind, Node, Operand, RuleView, Target, ValueList,
};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::interface::check_interface;
use crate::limits::{self, cost};
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
    for m in fleet {
        if m.in_range(h.sensor_min, h.sensor_max) {
            in_range = in_range.saturating_add(1);
            v.notes.push(format!(
                "checked against {} (in range {}..={})",
                m.display_name(),
                h.sensor_min,
                h.sensor_max
            ));
            v.diagnostics.extend(check_interface(content, m));
        } else {
            v.notes.push(format!(
                "ignored {}: outside the content's sensor range {}..={}",
                m.display_name(),
                h.sensor_min,
                h.sensor_max
            ));
        }
    }
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

    let mut template_costs: BTreeMap<u32, (u64, String)> = BTreeMap::new();
    let mut regex_cache = RegexCache::new();
    for rule in content.rules() {
        check_operands(&rule, &mut regex_cache, &mut v.diagnostics);
        check_logic(&rule, &mut v.diagnostics);
        let cost = rule_cost(&rule);
        if cost > limits::RULE_COST_BUDGET {
            v.diagnostics.push(
                Diagnostic::new(
                    Code::RuleCostOverBudget,
                    format!(
                        "rule {} “{}” costs an estimated {cost} units per event; the budget is {}",
                        rule.id,
                        rule.title,
                        limits::RULE_COST_BUDGET
                    ),
                )
                .at(rule.offset, record::RULE)
                .label(format!("cost {cost}"))
                .rule(rule.id)
                .help("split the rule, replace regular expressions and globs by plain string matches, or drop keyword searches"),
            );
        }
        let entry = template_costs
            .entry(rule.template.id)
            .or_insert_with(|| (0, rule.template.name.to_string()));
        entry.0 = entry.0.saturating_add(cost);
    }
    for (id, (total, name)) in template_costs {
        if total > limits::TEMPLATE_COST_BUDGET {
            v.diagnostics.push(
                Diagnostic::new(
                    Code::TemplateCostOverBudget,
                    format!(
                        "the rules of template type {id} `{name}` cost an estimated {total} units per event; the budget is {}",
                        limits::TEMPLATE_COST_BUDGET
                    ),
                )
                .help("move rules to another content, or make the costliest rules cheaper"),
            );
        }
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

/// Whether a regex accepts every string (it can match the empty string without any
/// look-around), or why it is refused.
pub fn check_regex(pattern: &str, case_insensitive: bool) -> Result<bool, (Code, String)> {
    let built = regex::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(limits::REGEX_SIZE_LIMIT)
        .dfa_size_limit(limits::REGEX_DFA_SIZE_LIMIT)
        .nest_limit(limits::REGEX_NEST_LIMIT)
        .build();
    match built {
        Ok(_) => {}
        Err(regex::Error::CompiledTooBig(limit)) => {
            return Err((
                Code::RegexTooBig,
                format!("its compiled program exceeds the limit of {limit} bytes"),
            ));
        }
        Err(e) => {
            let text = e.to_string();
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("syntax error")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            return Err((Code::InvalidRegex, last));
        }
    }
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .nest_limit(limits::REGEX_NEST_LIMIT)
        .build()
        .parse(pattern);
    Ok(hir.is_ok_and(|h| {
        let p = h.properties();
        p.minimum_len() == Some(0) && p.look_set().is_empty()
    }))
}

/// Whether a glob accepts every string, or why it is malformed. `*` matches any run of
/// characters, `?` one character, `\` escapes `*`, `?` or `\`.
pub fn check_glob(pattern: &str) -> Result<bool, String> {
    let mut chars = pattern.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, '*' | '?' | '\\')) => {}
                Some((_, other)) => {
                    return Err(format!(
                        "`\\` at byte {i} escapes `{other}`, but only `*`, `?` and `\\` can be escaped"
                    ));
                }
                None => return Err("the pattern ends with a lone `\\`".to_string()),
            }
        }
    }
    Ok(!pattern.is_empty() && pattern.chars().all(|c| c == '*'))
}

/// The prefix length of a CIDR operand (`10.0.0.0/8`, `fe80::/10`, or a bare address), or
/// why it is malformed.
pub fn check_cidr(text: &str) -> Result<u8, String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => {
            if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("prefix length `{l}` is not a number"));
            }
            let n: u8 = l
                .parse()
                .map_err(|_| format!("prefix length `{l}` is not a number"))?;
            if n > max {
                return Err(format!("prefix length {n} is longer than {max}"));
            }
            n
        }
    };
    let bits: u128 = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let host_bits = u32::from(max.saturating_sub(len));
    let host_mask = 1u128.checked_shl(host_bits).map_or(u128::MAX, |v| v - 1);
    if bits & host_mask != 0 {
        return Err(format!(
            "the address has bits set beyond the /{len} prefix; write the network address"
        ));
    }
    Ok(len)
}

/// Verdicts of regexes already compiled in this content, by pattern and case folding.
type RegexCache = HashMap<(String, bool), Result<bool, (Code, String)>>;

fn check_operands(rule: &RuleView<'_>, regex_cache: &mut RegexCache, out: &mut Vec<Diagnostic>) {
    for (i, node) in (0u32..).zip(rule.expression()) {
        let Node::Match(m) = &node else { continue };
        let Operand::Values(values) = &m.operand else {
            continue;
        };
        let mut accepts_all: Vec<bool> = Vec::new();
        for value in values.iter() {
            let verdict = match m.kind {
                MatchKind::Regex => regex_cache
                    .entry((value.to_string(), !m.case_sensitive))
                    .or_insert_with(|| check_regex(value, !m.case_sensitive))
                    .clone(),
                MatchKind::Glob => check_glob(value).map_err(|text| (Code::InvalidGlob, text)),
                MatchKind::Cidr => check_cidr(value)
                    .map(|len| len == 0)
                    .map_err(|text| (Code::InvalidCidr, text)),
                MatchKind::Contains | MatchKind::StartsWith | MatchKind::EndsWith => {
                    Ok(value.is_empty())
                }
                MatchKind::Equals => Ok(false),
            };
            match verdict {
                Ok(all) => accepts_all.push(all),
                Err((code, text)) => {
                    let what = match code {
                        Code::InvalidRegex | Code::RegexTooBig => "regular expression",
                        Code::InvalidGlob => "glob",
                        _ => "CIDR operand",
                    };
                    let help = match code {
                        Code::RegexTooBig => format!(
                            "simplify the expression (bounded repetitions like {{1000}} multiply its size); the limit is {} bytes",
                            limits::REGEX_SIZE_LIMIT
                        ),
                        Code::InvalidRegex => "the sensor uses the syntax of the Rust `regex` crate: no look-around, no back-references".to_string(),
                        Code::InvalidGlob => "write `\\\\` for a literal backslash, e.g. `C:\\\\Windows\\\\*.exe`".to_string(),
                        _ => "write an IPv4 or IPv6 network as address/prefix, e.g. `10.0.0.0/8`".to_string(),
                    };
                    out.push(
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
                            i,
                        )
                        .label(format!("{} operand", m.kind))
                        .help(help),
                    );
                }
            }
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

/// The number of string fields of a rule's template: the fan-out of a keyword search.
fn string_fields(rule: &RuleView<'_>) -> u64 {
    let n = rule
        .template
        .fields()
        .filter(|f| f.kind == FieldType::String)
        .count() as u64;
    n.max(cost::KEYWORD_MIN_FIELDS)
}

fn match_cost(m: &Match<ValueList<'_>>, keyword_fanout: u64) -> u64 {
    let per_value = match m.kind {
        MatchKind::Equals | MatchKind::StartsWith | MatchKind::EndsWith => cost::EQUALS,
        MatchKind::Contains => cost::CONTAINS,
        MatchKind::Glob => cost::GLOB,
        MatchKind::Regex => cost::REGEX,
        MatchKind::Cidr => cost::CIDR,
    };
    let literal = matches!(
        m.kind,
        MatchKind::Equals | MatchKind::StartsWith | MatchKind::EndsWith | MatchKind::Contains
    );
    let base = match &m.operand {
        Operand::Values(v) if literal => per_value
            .saturating_mul(u64::from(v.len()))
            .min(cost::LITERAL_LIST),
        Operand::Values(v) => per_value.saturating_mul(u64::from(v.len())),
        Operand::Field(_) => cost::CONTAINS,
    };
    match m.target {
        Target::Keyword => base.saturating_mul(keyword_fanout),
        Target::Field(_) => base,
    }
}

/// The estimated cost of evaluating a rule on one event (`DIAGNOSTICS.md`, `Cost model`).
pub fn rule_cost(rule: &RuleView<'_>) -> u64 {
    let fanout = string_fields(rule);
    rule.expression()
        .map(|n| match &n {
            Node::And { .. } | Node::Or { .. } | Node::Not | Node::AtLeast { .. } => cost::OPERATOR,
            Node::Any { .. } => cost::WILDCARD,
            Node::Exists { .. } | Node::IsNull { .. } | Node::Compare { .. } => cost::FIELD_TEST,
            Node::Match(m) => match_cost(m, fanout),
        })
        .fold(0u64, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes() {
        assert_eq!(check_regex("^evil$", false), Ok(false));
        assert_eq!(check_regex(".*", false), Ok(true));
        assert_eq!(check_regex("^.*$", false), Ok(false));
        assert_eq!(check_regex("a|", true), Ok(true));
        assert_eq!(check_regex("(", false).unwrap_err().0, Code::InvalidRegex);
        assert_eq!(
            check_regex("(?=x)", false).unwrap_err().0,
            Code::InvalidRegex
        );
        assert_eq!(
            check_regex(r"\w{1000}\w{1000}", false).unwrap_err().0,
            Code::RegexTooBig
        );
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(check_regex(&deep, false).unwrap_err().0, Code::InvalidRegex);
    }

    #[test]
    fn globs() {
        assert_eq!(check_glob(r"C:\\Windows\\*.exe"), Ok(false));
        assert_eq!(check_glob("**"), Ok(true));
        assert_eq!(check_glob(r"\*"), Ok(false));
        assert!(check_glob(r"C:\Windows\*").is_err());
        assert!(check_glob("abc\\").is_err());
    }

    #[test]
    fn cidrs() {
        assert_eq!(check_cidr("10.0.0.0/8"), Ok(8));
        assert_eq!(check_cidr("10.1.2.3"), Ok(32));
        assert_eq!(check_cidr("0.0.0.0/0"), Ok(0));
        assert_eq!(check_cidr("fe80::/10"), Ok(10));
        assert_eq!(check_cidr("::/0"), Ok(0));
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0/8",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/+8",
            "::/129",
        ] {
            assert!(check_cidr(bad).is_err(), "{bad}");
        }
    }
}
