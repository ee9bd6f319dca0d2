//! The content header: the sources' `content:` sections, the command-line overrides over
//! them, and extension sections.

use dcf_parser::{Extension, Header, SensorVersion};

use super::HeaderOverrides;
use super::context::{Compiler, kind_of};
use crate::codes::Code;
use crate::source::yaml::{Node as Y, Pos, Value};
use crate::time::parse_duration;

/// A parsed `content:` section.
#[derive(Default)]
pub(super) struct HeaderSource {
    pub(super) minor: Option<u16>,
    pub(super) channel: Option<u32>,
    pub(super) sequence: Option<u64>,
    pub(super) created: Option<u64>,
    pub(super) expires: Option<u64>,
    pub(super) valid_for: Option<u64>,
    pub(super) sensor_min: Option<SensorVersion>,
    pub(super) sensor_max: Option<SensorVersion>,
    /// Where it was, for messages: (file, position).
    pub(super) at: Option<(usize, Pos)>,
}

pub(super) fn read_header(c: &mut Compiler<'_>, node: &Y, h: &mut HeaderSource) {
    let Some(keys) = c.keys(
        node,
        "the content header",
        &[
            "channel",
            "sequence",
            "created",
            "expires",
            "valid_for",
            "sensor_min",
            "sensor_max",
            "format_minor",
        ],
    ) else {
        return;
    };
    if let Some(n) = keys.get("channel") {
        h.channel = c.ranged(n, "channel", "0 to 4294967295");
    }
    if let Some(n) = keys.get("sequence") {
        h.sequence = c.ranged(n, "sequence", "0 to 18446744073709551615");
    }
    if let Some(n) = keys.get("format_minor") {
        h.minor = c.ranged(n, "format_minor", "0 to 65535");
    }
    if let Some(n) = keys.get("created") {
        h.created = c.time(n, "created");
    }
    if let Some(n) = keys.get("expires") {
        h.expires = c.time(n, "expires");
    }
    if let Some(n) = keys.get("valid_for") {
        if keys.has("expires") {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                "give either `expires` or `valid_for`, not both",
            );
        } else if let Some(text) = c.string(n, "valid_for") {
            h.valid_for = parse_duration(&text);
            if h.valid_for.is_none() {
                c.error_help(
                    Code::SourceInvalidValue,
                    n.pos,
                    format!("valid_for `{text}` is not a duration"),
                    "write a number and a unit: s, m, h, d or w, e.g. 90d",
                );
            }
        }
    }
    if let Some(n) = keys.get("sensor_min") {
        h.sensor_min = c.version(n, "sensor_min");
    }
    if let Some(n) = keys.get("sensor_max") {
        h.sensor_max = c.version(n, "sensor_max");
    }
}

pub(super) fn finish_header(
    c: &mut Compiler<'_>,
    h: HeaderSource,
    o: &HeaderOverrides,
    now: u64,
) -> Option<Header> {
    let channel = o.channel.or(h.channel);
    let sequence = o.sequence.or(h.sequence);
    let created = o.created.or(h.created).unwrap_or(now);
    let valid_for = o.valid_for.or(if o.expires.is_some() {
        None
    } else {
        h.valid_for
    });
    let expires = match (o.expires, valid_for) {
        (Some(e), _) => Some(e),
        (None, Some(d)) => match created.checked_add(d) {
            Some(e) => Some(e),
            None => {
                // The key is there; its value is what is wrong (not "lacks valid_for").
                let message = format!(
                    "created ({created}) plus valid_for ({d} s) is past the largest time a \
                     header holds (2^64 - 1 seconds)"
                );
                let help = "give an earlier --created or a shorter --valid-for, or --expires";
                match h.at {
                    Some((file, pos)) => {
                        c.file = file;
                        c.error_help(Code::SourceInvalidValue, pos, message, help);
                    }
                    None => c.unlocated(Code::SourceInvalidValue, message, help),
                }
                return None;
            }
        },
        (None, None) => h.expires,
    };
    let sensor_min = o.sensor_min.or(h.sensor_min);
    let sensor_max = o.sensor_max.or(h.sensor_max);
    let missing: Vec<&str> = [
        ("channel", channel.is_none()),
        ("sequence", sequence.is_none()),
        ("expires or valid_for", expires.is_none()),
        ("sensor_min", sensor_min.is_none()),
        ("sensor_max", sensor_max.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| *k)
    .collect();
    let at = h.at;
    if !missing.is_empty() {
        let message = format!("the content header lacks {}", missing.join(", "));
        match at {
            Some((file, pos)) => {
                c.file = file;
                c.error_help(
                    Code::SourceMissingKey,
                    pos,
                    message,
                    "add the keys to the `content:` section, or give them as options of `dcf compile`",
                );
            }
            None => c.unlocated(
                Code::HeaderCount,
                format!(
                    "no source has a content header (`content:`) and the options do not give {}",
                    missing.join(", ")
                ),
                "add a `content:` section with channel, sequence, valid_for (or expires), sensor_min and sensor_max to one source",
            ),
        }
        return None;
    }
    let (Some(channel), Some(sequence), Some(expires), Some(sensor_min), Some(sensor_max)) =
        (channel, sequence, expires, sensor_min, sensor_max)
    else {
        return None;
    };
    let mut ok = true;
    let mut report = |c: &mut Compiler<'_>, message: String| {
        ok = false;
        match at {
            Some((file, pos)) => {
                c.file = file;
                c.error(Code::SourceInvalidValue, pos, message);
            }
            None => c.unlocated(Code::SourceInvalidValue, message, "fix the compile options"),
        }
    };
    if created >= expires {
        report(
            c,
            format!(
                "the content would expire ({}) before it is created ({})",
                crate::time::format_rfc3339(expires),
                crate::time::format_rfc3339(created)
            ),
        );
    }
    if sensor_min > sensor_max {
        report(
            c,
            format!("sensor_min {sensor_min} is above sensor_max {sensor_max}"),
        );
    }
    ok.then_some(Header {
        minor: h.minor.unwrap_or(0),
        channel,
        sequence,
        created_at: created,
        expires_at: expires,
        sensor_min,
        sensor_max,
    })
}

pub(super) fn read_extensions(c: &mut Compiler<'_>, node: &Y, out: &mut Vec<Extension>) {
    let Value::Seq(items) = &node.value else {
        c.error(
            Code::SourceType,
            node.pos,
            format!("`extensions` must be a sequence, found {}", kind_of(node)),
        );
        return;
    };
    for item in items {
        let Some(keys) = c.keys(item, "an extension section", &["tag", "payload"]) else {
            continue;
        };
        let tag = c
            .required(&keys, "tag", "an extension section")
            .and_then(|n| c.ranged::<u32>(n, "section tag", "0 to 4294967295"));
        let payload = keys.get("payload").map_or(Some(Vec::new()), |n| {
            let text = c.string(n, "payload")?;
            let bytes = hex_decode(&text);
            if bytes.is_none() {
                c.error(
                    Code::SourceInvalidValue,
                    n.pos,
                    "payload must be an even number of hex digits",
                );
            }
            bytes
        });
        if let (Some(tag), Some(payload)) = (tag, payload) {
            out.push(Extension { tag, payload });
        }
    }
}

/// Decodes hex digits (whitespace ignored).
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(
        digits
            .chunks_exact(2)
            .map(|p| match p {
                [hi, lo] => (hi << 4) | lo,
                _ => 0,
            })
            .collect(),
    )
}
