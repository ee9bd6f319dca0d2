//! Probe values for one criterion: a value that must satisfy it and one that must not, and the
//! criterion's meaning as `format-spec/LOADER.md` (EVAL) defines it, to check them against.
//!
//! The definition here is written from the spec, independently of the interpreter's matchers
//! (automata, prefilters, folded tables), so that a dry run compares the interpreter with the
//! specification rather than with itself. Candidates are generated from the operand and kept
//! only if the definition agrees they match (or miss); the interpreter must then agree too.

use std::net::IpAddr;

use dcf_parser::{CompareOp, FieldType, Match, MatchKind, Node, Operand, Target};
use dcf_sensor::TemplateInterface;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::limits::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};
use dcf_events::value::OwnedValue;

/// Field assignments of a probe event; every other field is null.
pub type Assignment = Vec<(u16, OwnedValue)>;

/// The two probes of a criterion. `None` where no value could be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Field values that satisfy the criterion.
    pub matching: Option<Assignment>,
    /// Field values that do not.
    pub missing: Option<Assignment>,
}

/// Longest generated text; longer regex samples are abandoned.
const MAX_SAMPLE_LEN: usize = 4096;
/// Deepest regex syntax tree the sampler walks.
const MAX_SAMPLE_DEPTH: usize = 64;
/// The text of probes that must not match, tried in order.
const MISS_TEXTS: &[&str] = &["dcf-probe-miss", "", "0", "\u{2400}"];

/// Whether a node is a criterion a probe can exercise: everything but operators and wildcards.
pub fn is_criterion<V>(node: &Node<V>) -> bool {
    matches!(
        node,
        Node::Match(_) | Node::Compare { .. } | Node::Exists { .. } | Node::IsNull { .. }
    )
}

/// The two probes of a criterion on a template as a sensor supplies it.
pub fn probe(node: &Node<Vec<String>>, template: &TemplateInterface) -> Probe {
    let (matching, missing) = candidates(node, template);
    let pick = |list: Vec<Assignment>, want: bool| {
        list.into_iter()
            .find(|a| holds(node, template, &materialise(template, a)) == want)
    };
    Probe {
        matching: pick(matching, true),
        missing: pick(missing, false),
    }
}

/// The full field array of a probe event.
pub fn materialise(template: &TemplateInterface, assignment: &Assignment) -> Vec<OwnedValue> {
    let mut values = vec![OwnedValue::Null; template.fields.len()];
    for (field, value) in assignment {
        if let Some(slot) = values.get_mut(usize::from(*field)) {
            *slot = value.clone();
        }
    }
    values
}

fn kind_of(template: &TemplateInterface, field: u16) -> Option<FieldType> {
    template.field(field).map(|f| f.kind)
}

/// A value of any type, for `exists`.
fn some_value(kind: FieldType) -> OwnedValue {
    match kind {
        FieldType::String => OwnedValue::Str("dcf-probe".into()),
        FieldType::Integer => OwnedValue::Int(1),
        FieldType::Ip => OwnedValue::Ip(IpAddr::from([192, 0, 2, 1])),
    }
}

/// The field a match reads: its field, or for a keyword search the first string field.
fn subject(m: &Match<Vec<String>>, template: &TemplateInterface) -> Option<u16> {
    match m.target {
        Target::Field(f) => Some(f),
        Target::Keyword => template
            .fields
            .iter()
            .position(|f| f.kind == FieldType::String)
            .and_then(|i| u16::try_from(i).ok()),
    }
}

fn candidates(
    node: &Node<Vec<String>>,
    template: &TemplateInterface,
) -> (Vec<Assignment>, Vec<Assignment>) {
    match node {
        Node::Exists { field } | Node::IsNull { field } => {
            let Some(kind) = kind_of(template, *field) else {
                return (Vec::new(), Vec::new());
            };
            let present = vec![(*field, some_value(kind))];
            let absent = vec![(*field, OwnedValue::Null)];
            if matches!(node, Node::Exists { .. }) {
                (vec![present], vec![absent])
            } else {
                (vec![absent], vec![present])
            }
        }
        Node::Compare { op, field, value } => {
            let Some(kind) = kind_of(template, *field) else {
                return (Vec::new(), Vec::new());
            };
            let numbers = [
                Some(*value),
                value.checked_sub(1),
                value.checked_add(1),
                Some(i64::MIN),
                Some(i64::MAX),
            ];
            let as_value = |n: i64| match kind {
                FieldType::Integer => OwnedValue::Int(n),
                _ => OwnedValue::Str(n.to_string()),
            };
            // Order the candidates so the first that holds is the boundary value.
            let order: &[usize] = match op {
                CompareOp::Eq => &[0, 2, 1],
                CompareOp::Lt => &[1, 3, 0, 2],
                CompareOp::Le => &[0, 1, 2, 4],
                CompareOp::Gt => &[2, 4, 0, 1],
                CompareOp::Ge => &[0, 2, 1, 3],
            };
            let list: Vec<Assignment> = order
                .iter()
                .filter_map(|i| numbers.get(*i).copied().flatten())
                .map(|n| vec![(*field, as_value(n))])
                .collect();
            (list.clone(), list)
        }
        Node::Match(m) => match_candidates(m, template),
        _ => (Vec::new(), Vec::new()),
    }
}

fn match_candidates(
    m: &Match<Vec<String>>,
    template: &TemplateInterface,
) -> (Vec<Assignment>, Vec<Assignment>) {
    let Some(field) = subject(m, template) else {
        return (Vec::new(), Vec::new());
    };
    let Some(kind) = kind_of(template, field) else {
        return (Vec::new(), Vec::new());
    };
    let text = |s: String| vec![(field, OwnedValue::Str(s))];
    match &m.operand {
        Operand::Field(other) => {
            let same = vec![
                (field, OwnedValue::Str("dcf-probe".into())),
                (*other, OwnedValue::Str("dcf-probe".into())),
            ];
            let differ = vec![
                (field, OwnedValue::Str("dcf-probe".into())),
                (*other, OwnedValue::Str("zzz-other".into())),
            ];
            (vec![same], vec![differ])
        }
        Operand::Values(values) if m.kind == MatchKind::Cidr => {
            let mut hits = Vec::new();
            let mut misses = Vec::new();
            for v in values {
                if let Some((addr, prefix)) = parse_cidr(v) {
                    hits.push(addr);
                    misses.push(flip_top_bit(addr, prefix));
                }
            }
            // A v4 address misses every v6 network and the other way round.
            misses.push(IpAddr::from([203, 0, 113, 7]));
            misses.push("2001:db8::7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])));
            let as_value = |ip: IpAddr| match kind {
                FieldType::Ip => OwnedValue::Ip(ip),
                _ => OwnedValue::Str(ip.to_string()),
            };
            let one = |ip: IpAddr| vec![(field, as_value(ip))];
            (
                hits.into_iter().map(one).collect(),
                misses.into_iter().map(one).collect(),
            )
        }
        Operand::Values(values) => {
            let mut hits: Vec<String> = Vec::new();
            if m.all_of {
                hits.extend(all_of_sample(m.kind, values));
            } else {
                for v in values {
                    hits.extend(sample(m.kind, v));
                }
            }
            let misses = MISS_TEXTS.iter().map(|s| s.to_string());
            (
                hits.into_iter().map(text).collect(),
                misses.map(text).collect(),
            )
        }
    }
}

/// Texts that satisfy one operand value of `kind`.
fn sample(kind: MatchKind, value: &str) -> Vec<String> {
    match kind {
        MatchKind::Equals => vec![value.to_string()],
        MatchKind::Contains => vec![format!("probe {value} probe"), value.to_string()],
        MatchKind::StartsWith => vec![format!("{value} probe"), value.to_string()],
        MatchKind::EndsWith => vec![format!("probe {value}"), value.to_string()],
        MatchKind::Glob => vec![glob_sample(value)],
        MatchKind::Regex => regex_sample(value).into_iter().collect(),
        MatchKind::Cidr => Vec::new(),
    }
}

/// Texts that satisfy every operand value at once.
fn all_of_sample(kind: MatchKind, values: &[String]) -> Vec<String> {
    match kind {
        MatchKind::Contains => vec![values.join(" ")],
        MatchKind::StartsWith | MatchKind::EndsWith | MatchKind::Equals => values
            .iter()
            .max_by_key(|v| v.len())
            .cloned()
            .into_iter()
            .collect(),
        // Patterns that each match a part (`*x*` globs, unanchored regexes) all match the
        // parts joined; otherwise one of the single samples may match them all.
        _ => {
            let parts: Vec<String> = values
                .iter()
                .filter_map(|v| sample(kind, v).into_iter().next())
                .collect();
            let mut out = vec![parts.concat(), parts.join(" ")];
            out.extend(parts);
            out
        }
    }
}

/// The text a glob matches with every `*` empty and every `?` an `x`.
fn glob_sample(glob: &str) -> String {
    let mut out = String::new();
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => {}
            '?' => out.push('x'),
            '\\' => match chars.next() {
                Some(n @ ('*' | '?' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// A text the regex matches, built from its syntax tree: the first branch of every
/// alternation, the minimum of every repetition, a printable member of every class.
fn regex_sample(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    let mut steps = MAX_SAMPLE_STEPS;
    sample_hir(&hir, &mut out, 0, &mut steps)?;
    Some(out)
}

/// Nodes the sampler may visit: nested repetitions of empty groups (`((){1000}){1000}`) add
/// nothing to the text, so the length limit alone would not bound the walk.
const MAX_SAMPLE_STEPS: usize = 100_000;

fn sample_hir(hir: &Hir, out: &mut String, depth: usize, steps: &mut usize) -> Option<()> {
    *steps = steps.checked_sub(1)?;
    if depth > MAX_SAMPLE_DEPTH || out.len() > MAX_SAMPLE_LEN {
        return None;
    }
    let next = depth.saturating_add(1);
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(std::str::from_utf8(&lit.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges = class.ranges();
            let printable = ranges.iter().find_map(|r| {
                let lo = r.start().max('!');
                (lo <= r.end() && lo <= '~').then_some(lo)
            });
            let preferred = ranges
                .iter()
                .find_map(|r| ('a'..='z').find(|c| r.start() <= *c && *c <= r.end()));
            out.push(
                preferred
                    .or(printable)
                    .or(ranges.first().map(|r| r.start()))?,
            );
        }
        HirKind::Class(Class::Bytes(class)) => {
            let b = class.ranges().first()?.start();
            out.push(char::from(b).is_ascii().then_some(char::from(b))?);
        }
        HirKind::Repetition(rep) => {
            for _ in 0..rep.min {
                sample_hir(&rep.sub, out, next, steps)?;
            }
        }
        HirKind::Capture(cap) => sample_hir(&cap.sub, out, next, steps)?,
        HirKind::Concat(list) => {
            for h in list {
                sample_hir(h, out, next, steps)?;
            }
        }
        HirKind::Alternation(list) => sample_hir(list.first()?, out, next, steps)?,
    }
    Some(())
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    Some((addr, prefix))
}

fn bits(addr: IpAddr) -> (u128, u32) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// The address with the first bit of its network part flipped: outside the network.
fn flip_top_bit(addr: IpAddr, prefix: u8) -> IpAddr {
    if prefix == 0 {
        return addr;
    }
    match addr {
        IpAddr::V4(a) => IpAddr::V4(std::net::Ipv4Addr::from(u32::from(a) ^ (1 << 31))),
        IpAddr::V6(a) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a) ^ (1 << 127))),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let ((a, width_a), (b, width_b)) = (bits(ip), bits(net));
    if width_a != width_b || u32::from(prefix) > width_a {
        return false;
    }
    let shift = width_a.saturating_sub(u32::from(prefix));
    let mask = if shift >= 128 {
        0
    } else {
        (u128::MAX << shift) & (u128::MAX >> (128u32.saturating_sub(width_a)))
    };
    a & mask == b & mask
}

/// Unicode per-character lowercase: the case folding of the spec.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Whether `glob` matches all of `text` (`*` any run, `?` one character, `\` escapes).
fn glob_matches(glob: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        One,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::One),
            '\\' => match chars.next() {
                Some(n @ ('*' | '?' | '\\')) => toks.push(Tok::Char(n)),
                // Any other escape is a literal backslash and the character (LOADER.md).
                Some(n) => {
                    toks.push(Tok::Char('\\'));
                    toks.push(Tok::Char(n));
                }
                None => toks.push(Tok::Char('\\')),
            },
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point: linear in practice, O(n·m) at worst.
    let (mut t, mut g) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (toks.get(g), text.get(t)) {
            (Some(Tok::Star), _) => {
                star = Some((g, t));
                g += 1;
            }
            (Some(Tok::One), Some(_)) => {
                g += 1;
                t += 1;
            }
            (Some(Tok::Char(c)), Some(x)) if c == x => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    g = sg + 1;
                    t = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    toks.get(g..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Star))
}

fn text_holds(kind: MatchKind, value: &str, operand: &str, case_sensitive: bool) -> bool {
    if kind == MatchKind::Regex {
        return regex::RegexBuilder::new(operand)
            .case_insensitive(!case_sensitive)
            .size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(REGEX_NEST_LIMIT)
            .build()
            .is_ok_and(|re| re.is_match(value));
    }
    let (value, operand) = if case_sensitive {
        (value.to_string(), operand.to_string())
    } else {
        (fold(value), fold(operand))
    };
    match kind {
        MatchKind::Equals => value == operand,
        MatchKind::Contains => value.contains(&operand),
        MatchKind::StartsWith => value.starts_with(&operand),
        MatchKind::EndsWith => value.ends_with(&operand),
        MatchKind::Glob => glob_matches(&operand, &value),
        MatchKind::Regex | MatchKind::Cidr => false,
    }
}

fn field_holds(m: &Match<Vec<String>>, value: &OwnedValue, fields: &[OwnedValue]) -> bool {
    if m.kind == MatchKind::Cidr {
        let ip = match value {
            OwnedValue::Ip(ip) => *ip,
            OwnedValue::Str(s) => match s.trim().parse() {
                Ok(ip) => ip,
                Err(_) => return false,
            },
            _ => return false,
        };
        let Operand::Values(values) = &m.operand else {
            return false;
        };
        let test = |v: &String| parse_cidr(v).is_some_and(|(net, p)| in_network(ip, net, p));
        return if m.all_of {
            values.iter().all(test)
        } else {
            values.iter().any(test)
        };
    }
    let OwnedValue::Str(text) = value else {
        return false;
    };
    match &m.operand {
        Operand::Field(other) => match fields.get(usize::from(*other)) {
            Some(OwnedValue::Str(o)) => text_holds(m.kind, text, o, m.case_sensitive),
            _ => false,
        },
        Operand::Values(values) => {
            let test = |v: &String| text_holds(m.kind, text, v, m.case_sensitive);
            if m.all_of {
                values.iter().all(test)
            } else {
                values.iter().any(test)
            }
        }
    }
}

/// The criterion's value on an event, by the spec's definition.
pub fn holds(
    node: &Node<Vec<String>>,
    template: &TemplateInterface,
    fields: &[OwnedValue],
) -> bool {
    let get = |f: u16| fields.get(usize::from(f));
    match node {
        Node::Exists { field } => get(*field).is_some_and(|v| *v != OwnedValue::Null),
        Node::IsNull { field } => get(*field).is_none_or(|v| *v == OwnedValue::Null),
        Node::Any { .. } => true,
        Node::Compare { op, field, value } => {
            let v = match get(*field) {
                Some(OwnedValue::Int(i)) => *i,
                Some(OwnedValue::Str(s)) => match s.trim().parse::<i64>() {
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
        Node::Match(m) => match m.target {
            Target::Field(f) => get(f).is_some_and(|v| field_holds(m, v, fields)),
            Target::Keyword => template
                .fields
                .iter()
                .zip(fields)
                .any(|(f, v)| f.kind == FieldType::String && field_holds(m, v, fields)),
        },
        Node::And { .. } | Node::Or { .. } | Node::Not | Node::AtLeast { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcf_sensor::FieldInterface;

    fn template() -> TemplateInterface {
        let f = |name: &str, kind| FieldInterface {
            name: name.into(),
            kind,
            max_len: None,
        };
        TemplateInterface {
            id: 1,
            name: "t".into(),
            fields: vec![
                f("image", FieldType::String),
                f("pid", FieldType::Integer),
                f("ip", FieldType::Ip),
                f("cmd", FieldType::String),
            ],
        }
    }

    fn text(
        kind: MatchKind,
        field: u16,
        values: &[&str],
        case_sensitive: bool,
    ) -> Node<Vec<String>> {
        Node::Match(Match {
            kind,
            target: Target::Field(field),
            case_sensitive,
            all_of: false,
            operand: Operand::Values(values.iter().map(|v| v.to_string()).collect()),
        })
    }

    fn both(node: &Node<Vec<String>>) -> Probe {
        let t = template();
        let p = probe(node, &t);
        if let Some(a) = &p.matching {
            assert!(holds(node, &t, &materialise(&t, a)));
        }
        if let Some(a) = &p.missing {
            assert!(!holds(node, &t, &materialise(&t, a)));
        }
        p
    }

    #[test]
    fn every_kind_gets_a_matching_and_a_missing_probe() {
        for node in [
            text(MatchKind::Equals, 0, &["C:\\Windows\\cmd.exe"], false),
            text(MatchKind::Contains, 3, &["-enc"], false),
            text(MatchKind::StartsWith, 0, &["C:\\Users\\"], true),
            text(MatchKind::EndsWith, 0, &["\\whoami.exe"], false),
            text(MatchKind::Glob, 0, &["*\\sys?em32\\*.dll"], false),
            text(
                MatchKind::Regex,
                3,
                &["^(?:cmd|pwsh)\\s+/c\\s+[a-f0-9]{8}$"],
                false,
            ),
            text(MatchKind::Regex, 3, &["(.){200,}"], false),
            Node::Match(Match {
                kind: MatchKind::Glob,
                target: Target::Field(3),
                case_sensitive: false,
                all_of: true,
                operand: Operand::Values(vec![
                    "* use *".into(),
                    "*:*\\\\*".into(),
                    "*/USER:* **".into(),
                ]),
            }),
            text(MatchKind::Cidr, 2, &["10.0.0.0/8", "fd00::/8"], false),
            Node::Compare {
                op: CompareOp::Gt,
                field: 1,
                value: 4,
            },
            Node::Compare {
                op: CompareOp::Lt,
                field: 1,
                value: i64::MIN,
            },
            Node::Exists { field: 1 },
            Node::IsNull { field: 2 },
        ] {
            let p = both(&node);
            let lt_min = matches!(
                node,
                Node::Compare {
                    op: CompareOp::Lt,
                    value: i64::MIN,
                    ..
                }
            );
            assert_eq!(p.matching.is_some(), !lt_min, "{node:?}");
            assert!(p.missing.is_some(), "{node:?}");
        }
    }

    #[test]
    fn an_operand_that_accepts_everything_has_no_missing_probe() {
        let p = both(&text(MatchKind::Contains, 0, &[""], false));
        assert!(p.matching.is_some());
        assert_eq!(p.missing, None);
        let p = both(&text(MatchKind::Regex, 0, &[".*"], false));
        assert_eq!(p.missing, None);
    }

    #[test]
    fn definitions() {
        assert!(glob_matches("*\\cmd.exe", "c:\\windows\\cmd.exe"));
        assert!(glob_matches("a\\*b", "a*b"));
        assert!(!glob_matches("a\\*b", "axb"));
        assert!(glob_matches("a?c*", "abcdef"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(text_holds(MatchKind::Equals, "CMD.exe", "cmd.EXE", false));
        assert!(!text_holds(MatchKind::Equals, "CMD.exe", "cmd.EXE", true));
        assert!(in_network(
            "10.2.3.4".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(!in_network(
            "11.2.3.4".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            8
        ));
        assert!(!in_network(
            "::1".parse().unwrap(),
            "10.0.0.0".parse().unwrap(),
            0
        ));
        assert!(in_network(
            "1.2.3.4".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            0
        ));
        assert_eq!(
            regex_sample("^a(b|c){2,3}[x-z]\\d$").as_deref(),
            Some("abbx0")
        );
        // Bounded even where the text stays empty.
        assert_eq!(
            regex_sample("((((a?){100}){100}){100}){100}x").as_deref(),
            None
        );
    }

    #[test]
    fn keyword_probes_use_a_string_field() {
        let t = template();
        let node = Node::Match(Match {
            kind: MatchKind::Contains,
            target: Target::Keyword,
            case_sensitive: false,
            all_of: false,
            operand: Operand::Values(vec!["mimikatz".into()]),
        });
        let p = probe(&node, &t);
        assert_eq!(
            p.matching,
            Some(vec![(0, OwnedValue::Str("probe mimikatz probe".into()))])
        );
    }
}
