//! The compiler: sources and manifests in, a canonical [`Content`] out (codes `E2xxx`).

use std::collections::{BTreeMap, HashMap};

use dcf_parser::limits::{MAX_EXPRESSION_DEPTH, MAX_NODES_PER_RULE, MAX_VALUES_PER_NODE};
use dcf_parser::{
    Action, Attribute, CompareOp, Content, Extension, Field, FieldType, Header, Match, MatchKind,
    Node, Operand, Rule, RuleId, SensorVersion, Severity, Target, Template,
};

use super::SourceFile;
use super::yaml::{self, Node as Y, Pos, Value};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, parse_version};
use crate::time::{parse_duration, parse_rfc3339};

/// Header fields given on the command line: they override the sources' `content:` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderOverrides {
    /// Content channel.
    pub channel: Option<u32>,
    /// Sequence number.
    pub sequence: Option<u64>,
    /// Creation time (seconds since the epoch).
    pub created: Option<u64>,
    /// Expiry time (seconds since the epoch).
    pub expires: Option<u64>,
    /// Validity period from the creation time, in seconds (instead of `expires`).
    pub valid_for: Option<u64>,
    /// Lowest targeted sensor version.
    pub sensor_min: Option<SensorVersion>,
    /// Highest targeted sensor version.
    pub sensor_max: Option<SensorVersion>,
}

/// A diagnostic and the source file it points into (`None`: no source position, e.g. two
/// manifests that disagree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Index into the sources given to [`compile`].
    pub source: Option<usize>,
    /// The diagnostic; its offset is a byte offset into that source's text.
    pub diagnostic: Diagnostic,
}

/// The outcome of [`compile`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    /// The content, when there was no error.
    pub content: Option<Content>,
    /// Every error found, in source order.
    pub diagnostics: Vec<Located>,
}

/// A template type as the compiler resolved it from manifests and declarations.
#[derive(Clone, Debug)]
struct Resolved {
    name: String,
    fields: Vec<Field>,
    /// Where the longest field list came from.
    origin: String,
    /// Declared in a source's `templates:` section: declared even if no rule uses it.
    declared: bool,
}

struct Compiler<'s> {
    sources: &'s [SourceFile],
    /// One line index per source, for messages that name another place by line; built on
    /// first need, since most compiles print no such message.
    lines: Vec<std::cell::OnceCell<super::LineIndex<'s>>>,
    file: usize,
    diagnostics: Vec<Located>,
}

const OPERATORS: &[&str] = &[
    "equals",
    "contains",
    "starts_with",
    "ends_with",
    "glob",
    "regex",
    "cidr",
    "eq",
    "lt",
    "le",
    "gt",
    "ge",
    "exists",
    "wildcard",
];

fn is_null(text: &str, quoted: bool) -> bool {
    !quoted && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn kind_of(node: &Y) -> &'static str {
    match &node.value {
        Value::Seq(_) => "a sequence",
        Value::Map(_) => "a mapping",
        Value::Scalar { text, quoted } if is_null(text, *quoted) => "null",
        Value::Scalar { .. } => "a scalar",
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous.saturating_add(usize::from(ca != *cb));
            let deletion = row.get(j.saturating_add(1)).copied().unwrap_or(usize::MAX);
            let insertion = row.get(j).copied().unwrap_or(usize::MAX);
            previous = deletion;
            if let Some(cell) = row.get_mut(j.saturating_add(1)) {
                *cell = substitution
                    .min(deletion.saturating_add(1))
                    .min(insertion.saturating_add(1));
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Keys of a mapping, checked against the keys a construct allows.
struct Keys<'y> {
    map: &'y [(Y, Y)],
    pos: Pos,
}

impl<'y> Keys<'y> {
    fn get(&self, key: &str) -> Option<&'y Y> {
        self.map
            .iter()
            .find(|(k, _)| yaml::scalar_text(k).is_some_and(|t| t == key))
            .map(|(_, v)| v)
    }

    fn key_node(&self, key: &str) -> Option<&'y Y> {
        self.map
            .iter()
            .find(|(k, _)| yaml::scalar_text(k).is_some_and(|t| t == key))
            .map(|(k, _)| k)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<'s> Compiler<'s> {
    fn error(&mut self, code: Code, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Located {
            source: Some(self.file),
            diagnostic: Diagnostic::new(code, message).at(pos.start, pos.len()),
        });
    }

    /// Line and column of `offset` in source `file` ((0, 0) for no such source).
    fn line_column(&self, file: usize, offset: usize) -> (usize, usize) {
        match (self.lines.get(file), self.sources.get(file)) {
            (Some(cell), Some(source)) => cell
                .get_or_init(|| super::LineIndex::new(&source.text))
                .line_column(offset),
            _ => (0, 0),
        }
    }

    fn error_help(
        &mut self,
        code: Code,
        pos: Pos,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics.push(Located {
            source: Some(self.file),
            diagnostic: Diagnostic::new(code, message)
                .at(pos.start, pos.len())
                .help(help),
        });
    }

    fn unlocated(&mut self, code: Code, message: impl Into<String>, help: impl Into<String>) {
        self.diagnostics.push(Located {
            source: None,
            diagnostic: Diagnostic::new(code, message).help(help),
        });
    }

    /// The entries of a mapping whose keys are all in `allowed`, reporting the others.
    fn keys<'y>(&mut self, node: &'y Y, what: &str, allowed: &[&str]) -> Option<Keys<'y>> {
        let Value::Map(map) = &node.value else {
            self.error(
                Code::SourceType,
                node.pos,
                format!("{what} must be a mapping, found {}", kind_of(node)),
            );
            return None;
        };
        for (k, _) in map {
            let Some(key) = yaml::scalar_text(k) else {
                continue;
            };
            if !allowed.contains(&key.as_str()) {
                let hint = match suggest(key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("{what} allows: {}", allowed.join(", ")),
                };
                self.error_help(
                    Code::SourceUnknownKey,
                    k.pos,
                    format!("unknown key `{key}` in {what}"),
                    hint,
                );
            }
        }
        Some(Keys {
            map,
            pos: head(node),
        })
    }

    fn required<'y>(&mut self, keys: &Keys<'y>, key: &str, what: &str) -> Option<&'y Y> {
        let found = keys.get(key);
        if found.is_none() {
            self.error(
                Code::SourceMissingKey,
                keys.pos,
                format!("{what} needs the key `{key}`"),
            );
        }
        found
    }

    fn string(&mut self, node: &Y, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, quoted } if !is_null(text, *quoted) => Some(text.clone()),
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be a string, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Y, what: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.string(item, what) {
                        Some(s) => out.push(s),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => self.string(node, what).map(|s| vec![s]),
        }
    }

    fn boolean(&mut self, node: &Y, what: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => {
                    self.error(
                        Code::SourceType,
                        node.pos,
                        format!("{what} must be true or false, found `{text}`"),
                    );
                    None
                }
            },
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be true or false, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    /// A plain integer scalar, as written (decimal, optional sign).
    fn integer(&mut self, node: &Y, what: &str) -> Option<i128> {
        if let Value::Scalar {
            text,
            quoted: false,
        } = &node.value
        {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return match text.parse::<i128>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        self.error(
                            Code::NumberOutOfRange,
                            node.pos,
                            format!("{what} `{text}` is far too large"),
                        );
                        None
                    }
                };
            }
        }
        let found = match &node.value {
            Value::Scalar { text, .. } => format!("`{text}`"),
            _ => kind_of(node).to_string(),
        };
        self.error(
            Code::SourceType,
            node.pos,
            format!("{what} must be an integer, found {found}"),
        );
        None
    }

    fn ranged<T: TryFrom<i128>>(&mut self, node: &Y, what: &str, range: &str) -> Option<T> {
        let n = self.integer(node, what)?;
        match T::try_from(n) {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(
                    Code::NumberOutOfRange,
                    node.pos,
                    format!("{what} {n} is out of range ({range})"),
                );
                None
            }
        }
    }

    fn time(&mut self, node: &Y, what: &str) -> Option<u64> {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() => {
                self.ranged(node, what, "0 to 2^64-1 seconds since the epoch")
            }
            Value::Scalar { text, .. } => match parse_rfc3339(text) {
                Some(t) => Some(t),
                None => {
                    self.error_help(
                        Code::SourceInvalidValue,
                        node.pos,
                        format!("{what} `{text}` is not an RFC 3339 time"),
                        "write e.g. \"2025-07-19T04:09:00Z\", or seconds since the epoch",
                    );
                    None
                }
            },
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be a time, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    fn version(&mut self, node: &Y, what: &str) -> Option<SensorVersion> {
        let text = self.string(node, what)?;
        let v = parse_version(&text);
        if v.is_none() {
            self.error_help(
                Code::SourceInvalidValue,
                node.pos,
                format!("{what} `{text}` is not a version major.minor.patch"),
                "write e.g. \"7.11.0\"; each part is at most 65535",
            );
        }
        v
    }
}

/// The first line of a node's range: what a label should underline.
fn head(node: &Y) -> Pos {
    Pos {
        start: node.pos.start,
        end: node.pos.start.saturating_add(1).max(node.pos.start),
    }
}

/// A parsed `content:` section.
#[derive(Default)]
struct HeaderSource {
    minor: Option<u16>,
    channel: Option<u32>,
    sequence: Option<u64>,
    created: Option<u64>,
    expires: Option<u64>,
    valid_for: Option<u64>,
    sensor_min: Option<SensorVersion>,
    sensor_max: Option<SensorVersion>,
    /// Where it was, for messages: (file, position).
    at: Option<(usize, Pos)>,
}

/// A template declaration from a manifest or a source `templates:` section.
struct Declaration {
    id: u32,
    name: String,
    fields: Vec<Field>,
    origin: String,
    declared: bool,
}

/// A rule as read from a source, before field resolution.
struct RuleSource<'y> {
    file: usize,
    id: RuleId,
    id_pos: Pos,
    node: &'y Y,
}

/// Compiles sources against manifests. `manifests` pairs each manifest with the name to use
/// in messages; `now` is the default creation time.
pub fn compile(
    sources: &[SourceFile],
    manifests: &[(String, Manifest)],
    overrides: &HeaderOverrides,
    now: u64,
) -> Compiled {
    let mut c = Compiler {
        sources,
        lines: sources.iter().map(|_| std::cell::OnceCell::new()).collect(),
        file: 0,
        diagnostics: Vec::new(),
    };
    let mut trees: Vec<Option<Y>> = Vec::with_capacity(sources.len());
    let mut failed_to_parse = false;
    for (i, s) in sources.iter().enumerate() {
        c.file = i;
        match yaml::parse(&s.text) {
            Ok(tree) => trees.push(tree),
            Err(e) => {
                let code = if e.too_deep {
                    Code::SourceTooDeep
                } else {
                    Code::SourceSyntax
                };
                c.error(code, e.pos, e.message);
                failed_to_parse = true;
                trees.push(None);
            }
        }
    }

    let mut header = HeaderSource::default();
    let mut declarations: Vec<Declaration> = manifests
        .iter()
        .flat_map(|(name, m)| {
            m.templates.iter().map(move |t| Declaration {
                id: t.id,
                name: t.name.clone(),
                fields: t
                    .fields
                    .iter()
                    .map(|f| Field {
                        name: f.name.clone(),
                        kind: f.kind,
                    })
                    .collect(),
                origin: format!("manifest {name} ({})", m.version),
                declared: false,
            })
        })
        .collect();
    let mut rule_nodes: Vec<RuleSource<'_>> = Vec::new();
    let mut extensions: Vec<Extension> = Vec::new();

    for (i, tree) in trees.iter().enumerate() {
        c.file = i;
        let Some(tree) = tree else { continue };
        let Some(top) = c.keys(
            tree,
            "a source file",
            &["content", "templates", "rules", "extensions"],
        ) else {
            continue;
        };
        if let Some(h) = top.get("content") {
            let key_pos = top.key_node("content").map_or(h.pos, |k| k.pos);
            if let Some((first_file, _)) = header.at {
                let first = sources.get(first_file).map_or("?", |s| s.name.as_str());
                c.error_help(
                    Code::HeaderCount,
                    key_pos,
                    format!("the content header is given a second time (first in {first})"),
                    "keep one `content:` section across all sources of a content",
                );
            } else {
                header.at = Some((i, key_pos));
                read_header(&mut c, h, &mut header);
            }
        }
        if let Some(t) = top.get("templates") {
            read_declarations(&mut c, t, &mut declarations);
        }
        if let Some(e) = top.get("extensions") {
            read_extensions(&mut c, e, &mut extensions);
        }
        if let Some(rules) = top.get("rules") {
            match &rules.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(r) = read_rule_id(&mut c, item) {
                            rule_nodes.push(r);
                        }
                    }
                }
                _ => {
                    c.error(
                        Code::SourceType,
                        rules.pos,
                        format!("`rules` must be a sequence, found {}", kind_of(rules)),
                    );
                }
            }
        }
    }

    let interface = resolve_interface(&mut c, declarations);

    // Duplicate ids, reported at the second occurrence with the first's place.
    let mut first_seen: HashMap<RuleId, (usize, Pos)> = HashMap::new();
    for r in &rule_nodes {
        if let Some((file, pos)) = first_seen.get(&r.id).copied() {
            let (line, column) = c.line_column(file, pos.start);
            let first = sources.get(file).map_or("?", |s| s.name.as_str());
            c.file = r.file;
            c.error_help(
                Code::DuplicateRuleId,
                r.id_pos,
                format!("rule id {} is used twice", r.id),
                format!("first used at {first}:{line}:{column}; every rule needs its own id"),
            );
        } else {
            first_seen.insert(r.id, (r.file, r.id_pos));
        }
    }

    let mut rules: Vec<Rule> = Vec::with_capacity(rule_nodes.len());
    for r in &rule_nodes {
        c.file = r.file;
        if let Some(rule) = compile_rule(&mut c, r, &interface) {
            rules.push(rule);
        }
    }

    // A source that does not parse may hold the header: do not also report it missing.
    let header = if failed_to_parse && header.at.is_none() {
        None
    } else {
        finish_header(&mut c, header, overrides, now)
    };

    if !c.diagnostics.is_empty() {
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    }
    let Some(header) = header else {
        if c.diagnostics.is_empty() {
            c.unlocated(
                Code::HeaderCount,
                "the content header could not be built",
                "add a `content:` section to one source",
            );
        }
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    };

    let used: Vec<u32> = rules.iter().map(|r| r.template).collect();
    let templates: Vec<Template> = interface
        .iter()
        .filter(|(id, t)| t.declared || used.contains(id))
        .map(|(id, t)| Template {
            id: *id,
            name: t.name.clone(),
            fields: t.fields.clone(),
        })
        .collect();
    let mut content = Content {
        header,
        templates,
        rules,
        extensions,
        signature: None,
    };
    content.sort();
    if let Err(e) = content.encode() {
        c.unlocated(
            Code::EncodeRejected,
            format!(
                "the format writer refuses the compiled content: {} {}",
                e.code(),
                Diagnostic::from_parse_error(&e).message
            ),
            "the content breaks a limit of the format (format-spec/SPEC.md, Limits); split it into several contents",
        );
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    }
    Compiled {
        content: Some(content),
        diagnostics: c.diagnostics,
    }
}

fn read_header(c: &mut Compiler<'_>, node: &Y, h: &mut HeaderSource) {
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

fn finish_header(
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

fn field_type(c: &mut Compiler<'_>, node: &Y) -> Option<FieldType> {
    let text = c.string(node, "a field type")?;
    let t = FieldType::from_name(&text);
    if t.is_none() {
        c.error(
            Code::SourceInvalidValue,
            node.pos,
            format!("field type `{text}` is not one of string, integer, ip"),
        );
    }
    t
}

fn read_declarations(c: &mut Compiler<'_>, node: &Y, out: &mut Vec<Declaration>) {
    let Value::Seq(items) = &node.value else {
        c.error(
            Code::SourceType,
            node.pos,
            format!("`templates` must be a sequence, found {}", kind_of(node)),
        );
        return;
    };
    let file = c
        .sources
        .get(c.file)
        .map_or("?", |s| s.name.as_str())
        .to_string();
    for item in items {
        let Some(keys) = c.keys(item, "a template declaration", &["id", "name", "fields"]) else {
            continue;
        };
        let id = c
            .required(&keys, "id", "a template declaration")
            .and_then(|n| c.ranged::<u32>(n, "template id", "0 to 4294967295"));
        let name = c
            .required(&keys, "name", "a template declaration")
            .and_then(|n| c.string(n, "template name"));
        let mut fields = Vec::new();
        let mut ok = true;
        if let Some(list) = keys.get("fields") {
            match &list.value {
                Value::Seq(entries) => {
                    for e in entries {
                        let Some(fk) = c.keys(e, "a field declaration", &["name", "type"]) else {
                            ok = false;
                            continue;
                        };
                        let n = c
                            .required(&fk, "name", "a field declaration")
                            .and_then(|n| c.string(n, "field name"));
                        let t = c
                            .required(&fk, "type", "a field declaration")
                            .and_then(|n| field_type(c, n));
                        match (n, t) {
                            (Some(name), Some(kind)) => fields.push(Field { name, kind }),
                            _ => ok = false,
                        }
                    }
                }
                _ => {
                    c.error(
                        Code::SourceType,
                        list.pos,
                        format!("`fields` must be a sequence, found {}", kind_of(list)),
                    );
                    ok = false;
                }
            }
        }
        if let (Some(id), Some(name), true) = (id, name, ok) {
            let (line, _) = c.line_column(c.file, item.pos.start);
            out.push(Declaration {
                id,
                name,
                fields,
                origin: format!("declaration at {file}:{line}"),
                declared: true,
            });
        }
    }
}

fn read_extensions(c: &mut Compiler<'_>, node: &Y, out: &mut Vec<Extension>) {
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

/// Merges declarations by template id: names must agree, and every field list must be a
/// prefix of the longest, which becomes the declared interface (append-only layouts).
fn resolve_interface(
    c: &mut Compiler<'_>,
    declarations: Vec<Declaration>,
) -> BTreeMap<u32, Resolved> {
    let mut out: BTreeMap<u32, Resolved> = BTreeMap::new();
    for d in declarations {
        // A name keeps its id across sensor versions; declarations (what `decompile` writes of
        // content that gives two ids one name) are exempt, and rules then name the id.
        if let Some((other_id, other)) = out
            .iter()
            .find(|(id, t)| **id != d.id && t.name == d.name && !d.declared && !t.declared)
        {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type name `{}` is id {} in {} but id {other_id} in {}",
                    d.name, d.id, d.origin, other.origin
                ),
                "a template type keeps its id in every sensor version; fix the manifests",
            );
            continue;
        }
        let Some(existing) = out.get_mut(&d.id) else {
            out.insert(
                d.id,
                Resolved {
                    name: d.name,
                    fields: d.fields,
                    origin: d.origin,
                    declared: d.declared,
                },
            );
            continue;
        };
        existing.declared |= d.declared;
        if existing.name != d.name {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type {} is `{}` in {} but `{}` in {}",
                    d.id, existing.name, existing.origin, d.name, d.origin
                ),
                "a template type keeps its name in every sensor version; fix the manifests",
            );
            continue;
        }
        let conflict = existing
            .fields
            .iter()
            .zip(&d.fields)
            .enumerate()
            .find(|(_, (a, b))| a != b);
        if let Some((index, (a, b))) = conflict {
            c.unlocated(
                Code::ManifestsDisagree,
                format!(
                    "template type {} `{}`: field {index} is `{}` ({}) in {} but `{}` ({}) in {}",
                    d.id, d.name, a.name, a.kind, existing.origin, b.name, b.kind, d.origin
                ),
                "field layouts are append-only across sensor versions: index i means the same field in every version that supplies it",
            );
            continue;
        }
        if d.fields.len() > existing.fields.len() {
            existing.fields = d.fields;
            existing.origin = d.origin;
        }
    }
    out
}

fn read_rule_id<'y>(c: &mut Compiler<'_>, node: &'y Y) -> Option<RuleSource<'y>> {
    let Value::Map(_) = &node.value else {
        c.error(
            Code::SourceType,
            node.pos,
            format!("a rule must be a mapping, found {}", kind_of(node)),
        );
        return None;
    };
    let keys = Keys {
        map: match &node.value {
            Value::Map(m) => m,
            _ => return None,
        },
        pos: head(node),
    };
    let Some(id_node) = keys.get("id") else {
        c.error(
            Code::SourceMissingKey,
            head(node),
            "a rule needs the key `id`",
        );
        return None;
    };
    let text = c.string(id_node, "rule id")?;
    match RuleId::parse(&text) {
        Some(id) => Some(RuleSource {
            file: c.file,
            id,
            id_pos: id_node.pos,
            node,
        }),
        None => {
            c.error_help(
                Code::SourceInvalidValue,
                id_node.pos,
                format!("rule id `{text}` is not a UUID"),
                "write a UUID such as 6f1c2d9e-4b7a-4c1e-9a53-2f0d8e7b1c44",
            );
            None
        }
    }
}

const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "author",
    "template",
    "severity",
    "action",
    "description",
    "tags",
    "references",
    "attributes",
    "condition",
];

fn compile_rule(
    c: &mut Compiler<'_>,
    r: &RuleSource<'_>,
    interface: &BTreeMap<u32, Resolved>,
) -> Option<Rule> {
    let keys = c.keys(r.node, "a rule", RULE_KEYS)?;
    let title = c
        .required(&keys, "title", "a rule")
        .and_then(|n| c.string(n, "title"));
    let author = c
        .required(&keys, "author", "a rule")
        .and_then(|n| c.string(n, "author"));
    let severity = c.required(&keys, "severity", "a rule").and_then(|n| {
        let text = c.string(n, "severity")?;
        let s = Severity::from_name(&text);
        if s.is_none() {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!(
                    "severity `{text}` is not one of {}",
                    Severity::ALL
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        s
    });
    let action = c.required(&keys, "action", "a rule").and_then(|n| {
        let text = c.string(n, "action")?;
        let a = Action::from_name(&text);
        if a.is_none() {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!("action `{text}` is not one of log, detect, block"),
            );
        }
        a
    });
    let template = c
        .required(&keys, "template", "a rule")
        .and_then(|n| resolve_template(c, n, interface));

    let mut attributes = Vec::new();
    let mut attrs_ok = true;
    if let Some(n) = keys.get("description") {
        match c.string(n, "description") {
            Some(value) => attributes.push(Attribute {
                key: "description".into(),
                value,
            }),
            None => attrs_ok = false,
        }
    }
    for (key, attr) in [("tags", "tag"), ("references", "reference")] {
        if let Some(n) = keys.get(key) {
            match c.strings(n, key) {
                Some(values) => attributes.extend(values.into_iter().map(|value| Attribute {
                    key: attr.into(),
                    value,
                })),
                None => attrs_ok = false,
            }
        }
    }
    if let Some(n) = keys.get("attributes") {
        match &n.value {
            Value::Seq(items) => {
                for item in items {
                    match &item.value {
                        Value::Map(entries) if entries.len() == 1 => {
                            for (k, v) in entries {
                                let key = yaml::scalar_text(k).cloned().unwrap_or_default();
                                match c.string(v, "an attribute value") {
                                    Some(value) => attributes.push(Attribute { key, value }),
                                    None => attrs_ok = false,
                                }
                            }
                        }
                        _ => {
                            c.error_help(
                                Code::SourceType,
                                item.pos,
                                "each attribute must be a mapping with one key",
                                "write e.g. `- status: stable`",
                            );
                            attrs_ok = false;
                        }
                    }
                }
            }
            _ => {
                c.error(
                    Code::SourceType,
                    n.pos,
                    format!("`attributes` must be a sequence, found {}", kind_of(n)),
                );
                attrs_ok = false;
            }
        }
    }

    let condition = c.required(&keys, "condition", "a rule");
    let (template_id, resolved) = template?;
    let condition = condition?;
    let mut expression = Vec::new();
    let depth = compile_expr(c, condition, resolved, &mut expression, 1)?;
    if usize::from(MAX_EXPRESSION_DEPTH) < depth {
        c.error_help(
            Code::EncodeRejected,
            head(condition),
            format!(
                "the condition nests {depth} levels deep; the format allows {MAX_EXPRESSION_DEPTH}"
            ),
            "flatten nested `and`/`or` of the same kind",
        );
        return None;
    }
    if expression.len() > MAX_NODES_PER_RULE as usize {
        c.error_help(
            Code::EncodeRejected,
            head(condition),
            format!(
                "the condition compiles to {} nodes; the format allows {MAX_NODES_PER_RULE} per rule",
                expression.len()
            ),
            "split the rule",
        );
        return None;
    }
    Some(Rule {
        id: r.id,
        template: template_id,
        title: title?,
        author: author?,
        severity: severity?,
        action: action?,
        attributes: if attrs_ok { attributes } else { return None },
        expression,
    })
}

fn resolve_template<'i>(
    c: &mut Compiler<'_>,
    node: &Y,
    interface: &'i BTreeMap<u32, Resolved>,
) -> Option<(u32, &'i Resolved)> {
    let found = match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            let id: u32 = c.ranged(node, "template id", "0 to 4294967295")?;
            interface.get_key_value(&id).map(|(k, v)| (*k, v))
        }
        _ => {
            let name = c.string(node, "template")?;
            interface
                .iter()
                .find(|(_, t)| t.name == name)
                .map(|(k, v)| (*k, v))
        }
    };
    if found.is_none() {
        let text = yaml::scalar_text(node).cloned().unwrap_or_default();
        let known: Vec<&str> = interface.values().map(|t| t.name.as_str()).collect();
        let help = match suggest(&text, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => {
                "no manifest was given: pass the sensor manifests with --manifest".to_string()
            }
            None => format!("the manifests define: {}", known.join(", ")),
        };
        c.error_help(
            Code::UnknownTemplate,
            node.pos,
            format!("template type `{text}` is not defined by any manifest given"),
            help,
        );
    }
    found
}

/// Compiles an expression into postfix nodes; returns its depth (a leaf is 1).
fn compile_expr(
    c: &mut Compiler<'_>,
    node: &Y,
    t: &Resolved,
    out: &mut Vec<Node<Vec<String>>>,
    depth: usize,
) -> Option<usize> {
    let Value::Map(map) = &node.value else {
        c.error_help(
            Code::SourceType,
            node.pos,
            format!("a condition must be a mapping, found {}", kind_of(node)),
            "write e.g. `{field: image, ends_with: \\\\cmd.exe}` or `{and: [...]}`",
        );
        return None;
    };
    let keys = Keys {
        map,
        pos: head(node),
    };
    for op in ["and", "or"] {
        if let Some(list) = keys.get(op) {
            if map.len() != 1 {
                c.error(
                    Code::ConditionShape,
                    keys.pos,
                    format!("`{op}` stands alone in its mapping"),
                );
                return None;
            }
            let Value::Seq(items) = &list.value else {
                c.error(
                    Code::SourceType,
                    list.pos,
                    format!(
                        "`{op}` takes a sequence of conditions, found {}",
                        kind_of(list)
                    ),
                );
                return None;
            };
            let mut deepest = 0usize;
            let mut ok = true;
            for item in items {
                match compile_expr(c, item, t, out, depth.saturating_add(1)) {
                    Some(d) => deepest = deepest.max(d),
                    None => ok = false,
                }
            }
            let children = u32::try_from(items.len()).ok()?;
            out.push(if op == "and" {
                Node::And { children }
            } else {
                Node::Or { children }
            });
            return ok.then_some(deepest.saturating_add(1));
        }
    }
    if let Some(inner) = keys.get("not") {
        if map.len() != 1 {
            c.error(
                Code::ConditionShape,
                keys.pos,
                "`not` stands alone in its mapping",
            );
            return None;
        }
        let d = compile_expr(c, inner, t, out, depth.saturating_add(1))?;
        out.push(Node::Not);
        return Some(d.saturating_add(1));
    }
    if let Some(n) = keys.get("at_least") {
        let ok_keys = c.keys(node, "an `at_least` condition", &["at_least", "of"]);
        let required: Option<u32> = c.ranged(n, "at_least", "0 to 4294967295");
        let of = keys.get("of");
        if of.is_none() {
            c.error(
                Code::SourceMissingKey,
                keys.pos,
                "`at_least` needs the key `of` with a sequence of conditions",
            );
        }
        let (Some(_), Some(required), Some(of)) = (ok_keys, required, of) else {
            return None;
        };
        let Value::Seq(items) = &of.value else {
            c.error(
                Code::SourceType,
                of.pos,
                format!("`of` takes a sequence of conditions, found {}", kind_of(of)),
            );
            return None;
        };
        let mut deepest = 0usize;
        let mut ok = true;
        for item in items {
            match compile_expr(c, item, t, out, depth.saturating_add(1)) {
                Some(d) => deepest = deepest.max(d),
                None => ok = false,
            }
        }
        out.push(Node::AtLeast {
            required,
            children: u32::try_from(items.len()).ok()?,
        });
        return ok.then_some(deepest.saturating_add(1));
    }
    compile_leaf(c, node, &keys, t, out).map(|()| 1)
}

fn resolve_field(c: &mut Compiler<'_>, node: &Y, t: &Resolved) -> Option<(u16, FieldType)> {
    let by_index = match &node.value {
        Value::Scalar {
            text,
            quoted: false,
        } => !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    let found = if by_index {
        let index: u16 = c.ranged(node, "field index", "0 to 65535")?;
        t.fields.get(usize::from(index)).map(|f| (index, f.kind))
    } else {
        let name = c.string(node, "field")?;
        t.fields
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| Some((u16::try_from(i).ok()?, t.fields.get(i)?.kind)))
    };
    if found.is_none() {
        let text = yaml::scalar_text(node).cloned().unwrap_or_default();
        let help = match suggest(&text, t.fields.iter().map(|f| f.name.as_str())) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "`{}` has {} fields: {}",
                t.name,
                t.fields.len(),
                t.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        c.error_help(
            Code::UnknownField,
            node.pos,
            format!(
                "template type `{}` has no field `{text}` (its longest layout, from {}, has {})",
                t.name,
                t.origin,
                t.fields.len()
            ),
            help,
        );
    }
    found
}

fn compile_leaf(
    c: &mut Compiler<'_>,
    node: &Y,
    keys: &Keys<'_>,
    t: &Resolved,
    out: &mut Vec<Node<Vec<String>>>,
) -> Option<()> {
    let mut allowed: Vec<&str> = vec!["field", "keyword", "case_sensitive", "all_of"];
    allowed.extend_from_slice(OPERATORS);
    allowed.extend_from_slice(&["and", "or", "not", "at_least"]);
    c.keys(node, "a condition", &allowed)?;
    let ops: Vec<&str> = OPERATORS
        .iter()
        .copied()
        .filter(|op| keys.has(op))
        .collect();
    let op = match ops.as_slice() {
        [op] => *op,
        [] => {
            c.error_help(
                Code::ConditionShape,
                keys.pos,
                "the condition has no operator",
                format!(
                    "use one of and, or, not, at_least, or a field test: {}",
                    OPERATORS.join(", ")
                ),
            );
            return None;
        }
        many => {
            c.error_help(
                Code::ConditionShape,
                keys.pos,
                format!(
                    "the condition has {} operators: {}",
                    many.len(),
                    many.join(", ")
                ),
                "put each test in its own condition and combine them with `and` or `or`",
            );
            return None;
        }
    };
    let op_node = keys.get(op)?;
    let keyword = match keys.get("keyword") {
        Some(n) => {
            let k = c.boolean(n, "keyword")?;
            if !k {
                c.error(
                    Code::SourceInvalidValue,
                    n.pos,
                    "`keyword: false` means nothing; name a field with `field:` instead",
                );
                return None;
            }
            true
        }
        None => false,
    };
    let field = match (keys.get("field"), keyword) {
        (Some(_), true) => {
            c.error(
                Code::ConditionShape,
                keys.pos,
                "a condition tests either one `field` or every string field (`keyword: true`), not both",
            );
            return None;
        }
        (Some(n), false) => Some((resolve_field(c, n, t)?, n)),
        (None, true) => None,
        (None, false) => {
            c.error(
                Code::SourceMissingKey,
                keys.pos,
                format!("`{op}` needs the key `field` (or `keyword: true` for a keyword search)"),
            );
            return None;
        }
    };
    let case_sensitive = match keys.get("case_sensitive") {
        Some(n) => Some((c.boolean(n, "case_sensitive")?, n)),
        None => None,
    };
    let all_of = match keys.get("all_of") {
        Some(n) => Some((c.boolean(n, "all_of")?, n)),
        None => None,
    };
    let field_name = |index: u16| {
        t.fields
            .get(usize::from(index))
            .map_or("?", |f| f.name.as_str())
            .to_string()
    };

    if let Some(kind) = MatchKind::from_name(op) {
        let target = match field {
            Some(((index, ty), n)) => {
                if !kind.applies_to(ty) {
                    c.error_help(
                        Code::OperatorTypeMismatch,
                        n.pos,
                        format!(
                            "`{op}` does not apply to `{}`, a field of type {ty}",
                            field_name(index)
                        ),
                        match ty {
                            FieldType::Integer => "compare integers with eq, lt, le, gt or ge",
                            FieldType::Ip => "match addresses with cidr",
                            FieldType::String => "cidr applies to string and ip fields",
                        },
                    );
                    return None;
                }
                Target::Field(index)
            }
            None => {
                if !kind.allows_keyword() {
                    c.error(
                        Code::OperatorTypeMismatch,
                        keys.pos,
                        format!("`{op}` cannot be a keyword search"),
                    );
                    return None;
                }
                Target::Keyword
            }
        };
        let case_sensitive = match case_sensitive {
            Some((true, n)) if !kind.allows_case_flag() => {
                c.error(
                    Code::SourceInvalidValue,
                    n.pos,
                    format!("`{op}` has no case to be sensitive to"),
                );
                return None;
            }
            Some((v, _)) => v,
            None => false,
        };
        let operand = match &op_node.value {
            Value::Map(_) => {
                let ok = c.keys(op_node, "a field operand", &["field"])?;
                let other = c.required(&ok, "field", "a field operand")?;
                let (other_index, other_ty) = resolve_field(c, other, t)?;
                if !kind.allows_field_ref() {
                    c.error(
                        Code::OperatorTypeMismatch,
                        op_node.pos,
                        format!("`{op}` cannot compare with another field; equals, contains, starts_with and ends_with can"),
                    );
                    return None;
                }
                if keyword {
                    c.error(
                        Code::SourceInvalidValue,
                        op_node.pos,
                        "a keyword search cannot compare with another field",
                    );
                    return None;
                }
                if other_ty != FieldType::String {
                    c.error(
                        Code::OperatorTypeMismatch,
                        other.pos,
                        format!(
                            "`{}` is a field of type {other_ty}; only string fields can be compared with `{op}`",
                            field_name(other_index)
                        ),
                    );
                    return None;
                }
                if let Some((true, n)) = all_of {
                    c.error(
                        Code::SourceInvalidValue,
                        n.pos,
                        "`all_of` needs a list of values, not another field",
                    );
                    return None;
                }
                Operand::Field(other_index)
            }
            _ => {
                let values = c.strings(op_node, &format!("the operand of `{op}`"))?;
                if values.is_empty() || values.len() > MAX_VALUES_PER_NODE as usize {
                    c.error(
                        Code::SourceInvalidValue,
                        op_node.pos,
                        format!(
                            "`{op}` needs 1 to {MAX_VALUES_PER_NODE} values, found {}",
                            values.len()
                        ),
                    );
                    return None;
                }
                Operand::Values(values)
            }
        };
        out.push(Node::Match(Match {
            kind,
            target,
            case_sensitive,
            all_of: all_of.is_some_and(|(v, _)| v),
            operand,
        }));
        return Some(());
    }

    // Numeric, presence and wildcard tests: one field, no modifiers.
    let Some(((index, ty), field_node)) = field else {
        c.error(
            Code::OperatorTypeMismatch,
            keys.pos,
            format!("`{op}` tests one field; it cannot be a keyword search"),
        );
        return None;
    };
    for (name, given) in [("case_sensitive", case_sensitive), ("all_of", all_of)] {
        if let Some((_, n)) = given {
            c.error(
                Code::SourceInvalidValue,
                n.pos,
                format!("`{name}` applies to string matches, not to `{op}`"),
            );
            return None;
        }
    }
    if let Some(cmp) = CompareOp::from_name(op) {
        if !CompareOp::applies_to(ty) {
            c.error(
                Code::OperatorTypeMismatch,
                field_node.pos,
                format!(
                    "`{op}` does not apply to `{}`, a field of type {ty}",
                    field_name(index)
                ),
            );
            return None;
        }
        let value: i64 = c.ranged(op_node, op, "-2^63 to 2^63-1")?;
        out.push(Node::Compare {
            op: cmp,
            field: index,
            value,
        });
        return Some(());
    }
    match op {
        "exists" => {
            let present = c.boolean(op_node, "exists")?;
            out.push(if present {
                Node::Exists { field: index }
            } else {
                Node::IsNull { field: index }
            });
        }
        _ => {
            let any = c.boolean(op_node, "wildcard")?;
            if !any {
                c.error(
                    Code::SourceInvalidValue,
                    op_node.pos,
                    "`wildcard: false` means nothing; remove the condition",
                );
                return None;
            }
            out.push(Node::Any { field: index });
        }
    }
    Some(())
}
