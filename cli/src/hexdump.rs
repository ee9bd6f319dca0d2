//! `dcf inspect --hexdump`: every byte of a file with the structure it belongs to, from the
//! parser's layout walker (`dcf_parser::layout`), which also walks rejected files as far as
//! their bytes allow.

use std::fmt::Write as _;

use dcf_parser::layout::{self, Span};
use dcf_parser::{Error, RuleId, SensorVersion, format};

use dcf_validator::time::format_rfc3339;

/// Bytes per dump line.
const WIDTH: usize = 16;
/// Lines shown of one long span (strings, payloads) before the rest is summarised.
const MAX_LINES_PER_SPAN: usize = 4;

fn le(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    )
}

fn section_name(tag: u64) -> &'static str {
    match u32::try_from(tag).unwrap_or(u32::MAX) {
        format::tag::STRINGS => "STRINGS",
        format::tag::INTERFACE => "INTERFACE",
        format::tag::ATTRIBUTES => "ATTRIBUTES",
        format::tag::VALUES => "VALUES",
        format::tag::RULES => "RULES",
        format::tag::NODES => "NODES",
        _ => "unknown",
    }
}

fn version(bytes: &[u8]) -> Option<SensorVersion> {
    let v = |i: usize| le(bytes.get(i..i + 2)?).and_then(|n| u16::try_from(n).ok());
    Some(SensorVersion {
        major: v(0)?,
        minor: v(2)?,
        patch: v(4)?,
    })
}

fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(48).collect();
    let more = if text.chars().count() > 48 { "…" } else { "" };
    format!("{shown:?}{more}")
}

/// What the bytes of a span mean, where a short decoding helps. `strings` are the entries of
/// the string table, as far as the walk found them.
fn meaning(span: &Span, bytes: &[u8], strings: &[String]) -> String {
    let complete = |n: usize| bytes.len() == n;
    match span.label {
        "template.name" | "field.name" | "rule.title" | "rule.author" | "attribute.key"
        | "attribute.value" | "value.string"
            if complete(4) =>
        {
            let index = le(bytes).unwrap_or(u64::MAX);
            match usize::try_from(index).ok().and_then(|i| strings.get(i)) {
                Some(text) => format!("{index} → {}", quoted(text)),
                None => format!("{index} (no such string)"),
            }
        }
        "field.type" if complete(1) => {
            let code = bytes.first().copied().unwrap_or(0);
            let name = dcf_parser::FieldType::from_code(code).map_or("unknown type", |t| t.name());
            format!("{code} {name}")
        }
        "rule.severity" if complete(1) => {
            let code = bytes.first().copied().unwrap_or(0);
            let name =
                dcf_parser::Severity::from_code(code).map_or("unknown severity", |t| t.name());
            format!("{code} {name}")
        }
        "rule.action" if complete(1) => {
            let code = bytes.first().copied().unwrap_or(0);
            let name = dcf_parser::Action::from_code(code).map_or("unknown action", |t| t.name());
            format!("{code} {name}")
        }
        "header.magic" => {
            if bytes == format::MAGIC {
                "dcf magic".into()
            } else {
                "not the dcf magic".into()
            }
        }
        "header.sensor_min" | "header.sensor_max" if complete(6) => {
            version(bytes).map_or_else(String::new, |v| v.to_string())
        }
        "header.created_at" | "header.expires_at" if complete(8) => le(bytes)
            .map(|t| format!("{t} = {}", format_rfc3339(t)))
            .unwrap_or_default(),
        "header.flags" if complete(4) => le(bytes)
            .map(|f| {
                if f & u64::from(format::FLAG_SIGNED) != 0 {
                    format!("0x{f:08x} SIGNED")
                } else {
                    format!("0x{f:08x}")
                }
            })
            .unwrap_or_default(),
        "section.tag" if complete(4) => le(bytes)
            .map(|t| format!("{t} {}", section_name(t)))
            .unwrap_or_default(),
        "rule.id" if complete(16) => {
            let mut id = [0u8; 16];
            id.copy_from_slice(bytes);
            RuleId(id).to_string()
        }
        "strings.bytes" => quoted(&String::from_utf8_lossy(bytes)),
        "digest" | "signature.key_id" | "signature.signature" | "section.unknown_payload" => {
            String::new()
        }
        "node.op" if complete(1) => {
            let name = bytes.first().map_or("?", |op| match *op {
                format::op::AND => "and",
                format::op::OR => "or",
                format::op::NOT => "not",
                format::op::AT_LEAST => "at_least",
                format::op::ANY => "any (wildcard)",
                format::op::EXISTS => "exists",
                format::op::IS_NULL => "is_null",
                format::op::EQUALS => "equals",
                format::op::CONTAINS => "contains",
                format::op::STARTS_WITH => "starts_with",
                format::op::ENDS_WITH => "ends_with",
                format::op::GLOB => "glob",
                format::op::REGEX => "regex",
                format::op::CIDR => "cidr",
                format::op::NUM_EQ => "eq",
                format::op::NUM_LT => "lt",
                format::op::NUM_LE => "le",
                format::op::NUM_GT => "gt",
                format::op::NUM_GE => "ge",
                _ => "unknown opcode",
            });
            format!("0x{:02x} {name}", bytes.first().copied().unwrap_or(0))
        }
        _ if bytes.len() <= 8 => le(bytes).map(|n| n.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn hex_line(out: &mut String, offset: usize, bytes: &[u8], label: &str) {
    let _ = write!(out, "{offset:08x}  ");
    let mut hex = String::new();
    for b in bytes {
        let _ = write!(hex, "{b:02x} ");
    }
    let _ = writeln!(out, "{hex:<48} {label}");
}

/// Writes the lines of one range of bytes, long ranges cut to a few lines.
fn range_lines(out: &mut String, bytes: &[u8], offset: usize, len: usize, label: &str) {
    let end = offset.saturating_add(len).min(bytes.len());
    let mut at = offset;
    let mut lines = 0usize;
    while at < end {
        let stop = end.min(at.saturating_add(WIDTH));
        if lines == MAX_LINES_PER_SPAN && end > stop {
            let _ = writeln!(out, "{at:08x}  … {} more bytes", end - at);
            return;
        }
        let chunk = bytes.get(at..stop).unwrap_or_default();
        hex_line(out, at, chunk, if lines == 0 { label } else { "  ⋯" });
        lines += 1;
        at = stop;
    }
}

/// The annotated byte map of `bytes`; `error` is the parser's verdict, marked where it points.
pub fn render(bytes: &[u8], error: Option<&Error>) -> String {
    let mut spans: Vec<Span> = Vec::new();
    layout::walk(bytes, |s| spans.push(s));
    // String entries by index; an empty string has no span, so fill gaps by index.
    let mut strings: Vec<String> = Vec::new();
    if let Some(count) = spans
        .iter()
        .find(|s| s.label == "strings.count")
        .and_then(|s| le(bytes.get(s.offset..s.offset.saturating_add(s.len))?))
    {
        strings.resize(
            usize::try_from(count).unwrap_or(0).min(1 << 20),
            String::new(),
        );
    }
    for s in spans.iter().filter(|s| s.label == "strings.bytes") {
        let Some(i) = s.index.and_then(|i| usize::try_from(i).ok()) else {
            continue;
        };
        if strings.len() <= i {
            strings.resize(i.saturating_add(1).min(1 << 20), String::new());
        }
        let end = s.offset.saturating_add(s.len).min(bytes.len());
        if let Some(slot) = strings.get_mut(i) {
            *slot =
                String::from_utf8_lossy(bytes.get(s.offset..end).unwrap_or_default()).into_owned();
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "offset    bytes                                            structure"
    );
    let mut at = 0usize;
    let mut marked = false;
    let mark = |out: &mut String, from: usize, to: usize, marked: &mut bool| {
        if let Some(e) = error
            && !*marked
            && e.offset() >= from
            && e.offset() < to
        {
            let _ = writeln!(out, "          ^^ {e}");
            *marked = true;
        }
    };
    for span in &spans {
        if span.offset > at {
            range_lines(&mut out, bytes, at, span.offset - at, "(not attributed)");
            mark(&mut out, at, span.offset, &mut marked);
        }
        let end = span.offset.saturating_add(span.len).min(bytes.len());
        let chunk = bytes.get(span.offset..end).unwrap_or_default();
        let name = match span.index {
            Some(i) => format!("{}[{i}]", span.label),
            None => span.label.to_string(),
        };
        let what = meaning(span, chunk, &strings);
        let label = if what.is_empty() {
            name
        } else {
            format!("{name} = {what}")
        };
        range_lines(&mut out, bytes, span.offset, span.len, &label);
        mark(&mut out, span.offset, end, &mut marked);
        at = at.max(end);
    }
    if at < bytes.len() {
        range_lines(&mut out, bytes, at, bytes.len() - at, "(not attributed)");
        mark(&mut out, at, bytes.len(), &mut marked);
    }
    match error {
        Some(e) if !marked => {
            let _ = writeln!(out, "^^ {e}");
        }
        Some(_) => {}
        None => {
            let _ = writeln!(out, "{} bytes; the parser accepts the file", bytes.len());
        }
    }
    out
}
