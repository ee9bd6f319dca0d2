//! What the CLI says about files: human output through miette, JSON, and SARIF 2.1.0.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{Value, json};

use dcf_validator::codes::{AnyCode, Severity};
use dcf_validator::diagnostic::Diagnostic;
use dcf_validator::source::LineIndex;

/// Where a diagnostic's offset points.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Nothing to show.
    None,
    /// Text (a source or a manifest): offsets are byte offsets into it.
    Text(Arc<str>),
    /// Binary content: per-diagnostic hex excerpts, made while the bytes were at hand.
    Binary(Vec<Option<Excerpt>>),
}

/// A few lines of hex dump around a byte offset, and the span of the offending bytes in it.
#[derive(Clone, Debug)]
pub struct Excerpt {
    text: String,
    span: (usize, usize),
}

/// Bytes shown per line of an excerpt.
const EXCERPT_WIDTH: usize = 16;

impl Excerpt {
    /// An excerpt of `bytes` around `[offset, offset + len)`: one line before, the lines of
    /// the range (at most four), one line after.
    pub fn new(bytes: &[u8], offset: usize, len: usize) -> Option<Excerpt> {
        if offset >= bytes.len() {
            return None;
        }
        let len = len.clamp(1, 4 * EXCERPT_WIDTH);
        let end = offset.saturating_add(len).min(bytes.len());
        let first = (offset / EXCERPT_WIDTH).saturating_sub(1) * EXCERPT_WIDTH;
        let last = (end.saturating_sub(1) / EXCERPT_WIDTH + 2) * EXCERPT_WIDTH;
        let last = last.min(bytes.len().div_ceil(EXCERPT_WIDTH) * EXCERPT_WIDTH);
        let mut text = String::new();
        let mut span_start = 0usize;
        let mut span_end = 0usize;
        let mut line_at = first;
        while line_at < last {
            text.push_str(&format!("{line_at:08x}  "));
            for i in line_at..line_at + EXCERPT_WIDTH {
                if i == offset {
                    span_start = text.len();
                }
                match bytes.get(i) {
                    Some(b) => text.push_str(&format!("{b:02x}")),
                    None => text.push_str("  "),
                }
                if i + 1 == end {
                    span_end = text.len();
                }
                text.push(' ');
            }
            text.push(' ');
            for i in line_at..(line_at + EXCERPT_WIDTH).min(bytes.len()) {
                let b = bytes.get(i).copied().unwrap_or(b'.');
                text.push(if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                });
            }
            text.push('\n');
            line_at += EXCERPT_WIDTH;
        }
        Some(Excerpt {
            text,
            span: (span_start, span_end.saturating_sub(span_start).max(1)),
        })
    }
}

/// Everything the CLI reports about one input.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The path as given (or found in a directory).
    pub path: String,
    /// Findings.
    pub diagnostics: Vec<Diagnostic>,
    /// What the offsets point into.
    pub origin: Origin,
    /// Verbose remarks.
    pub notes: Vec<String>,
}

impl FileReport {
    /// A report with no excerpts.
    pub fn plain(path: impl Into<String>, diagnostics: Vec<Diagnostic>) -> Self {
        FileReport {
            path: path.into(),
            diagnostics,
            origin: Origin::None,
            notes: Vec::new(),
        }
    }

    /// A report about binary content, with excerpts taken from `bytes`.
    pub fn binary(path: impl Into<String>, diagnostics: Vec<Diagnostic>, bytes: &[u8]) -> Self {
        let excerpts = diagnostics
            .iter()
            .map(|d| d.offset.and_then(|o| Excerpt::new(bytes, o, d.len)))
            .collect();
        FileReport {
            path: path.into(),
            diagnostics,
            origin: Origin::Binary(excerpts),
            notes: Vec::new(),
        }
    }

    /// Whether the input is accepted.
    pub fn valid(&self, deny_warnings: bool) -> bool {
        self.diagnostics
            .iter()
            .all(|d| !(d.is_error() || (deny_warnings && d.severity() == Severity::Warning)))
    }

    /// Whether a finding is a usage or I/O condition (exit code 2).
    pub fn has_usage_error(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| matches!(d.code, AnyCode::Check(c) if c.as_str().starts_with("E9")))
    }

    /// The line index of a text report with located diagnostics (built once per report by the
    /// JSON and SARIF writers, so a report of many diagnostics stays linear).
    fn line_index(&self) -> Option<LineIndex<'_>> {
        match &self.origin {
            // Only a located diagnostic needs lines: a report of none skips the scan.
            Origin::Text(text) if self.diagnostics.iter().any(|d| d.offset.is_some()) => {
                Some(LineIndex::new(text))
            }
            _ => None,
        }
    }
}

/// The three output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable diagnostics on standard error.
    Human,
    /// One JSON document on standard output.
    Json,
    /// SARIF 2.1.0 on standard output (GitHub code scanning).
    Sarif,
}

/// How human output looks.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Line width.
    pub width: usize,
    /// Wrap long messages at `width` (on a terminal; logs and pipes get whole lines).
    pub wrap: bool,
}

/// A diagnostic in the shape miette renders.
struct Rendered {
    message: String,
    code: &'static str,
    severity: Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    label: Option<LabeledSpan>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .as_ref()
            .map(|l| Box::new(std::iter::once(l.clone())) as Box<dyn Iterator<Item = _>>)
    }
}

/// Renders one diagnostic of a report for a person.
pub fn render_one(report: &FileReport, index: usize, style: Style) -> String {
    let Some(d) = report.diagnostics.get(index) else {
        return String::new();
    };
    let mut message = d.message.clone();
    let (source, label) = match (&report.origin, d.offset) {
        (Origin::Text(text), Some(offset)) if offset <= text.len() => {
            let len = d.len.min(text.len().saturating_sub(offset));
            (
                Some(NamedSource::new(&report.path, text.to_string())),
                Some(LabeledSpan::new(d.label.clone(), offset, len)),
            )
        }
        (Origin::Binary(excerpts), Some(offset)) => {
            match excerpts.get(index).and_then(Option::as_ref) {
                Some(e) => (
                    Some(NamedSource::new(
                        format!("{} @ byte {offset} (0x{offset:x})", report.path),
                        e.text.clone(),
                    )),
                    Some(LabeledSpan::new(d.label.clone(), e.span.0, e.span.1)),
                ),
                None => {
                    message = format!("{}: {message} (at byte {offset})", report.path);
                    (None, None)
                }
            }
        }
        // No bytes to show (refused before reading, as E0101), but the offset still says
        // where: every error reports one (SPEC.md §3).
        (_, Some(offset)) => {
            message = format!("{}: {message} (at byte {offset})", report.path);
            (None, None)
        }
        _ => {
            message = format!("{}: {message}", report.path);
            (None, None)
        }
    };
    let rendered = Rendered {
        message,
        code: d.code.as_str(),
        severity: d.severity(),
        help: Some(d.help_text()),
        source,
        label,
    };
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_wrap_lines(style.wrap)
        .with_links(false)
        .with_context_lines(1);
    if matches!(report.origin, Origin::Binary(_)) {
        // Line and column would count in the hex excerpt, not in the file: the source name
        // already says which byte it is.
        handler = handler.without_primary_span_start();
    }
    let mut out = String::new();
    if handler.render_report(&mut out, &rendered).is_err() {
        out = format!("{}: {}\n", d.code, d.message);
    }
    out
}

/// Renders every diagnostic of a report, and with `verbose` its notes.
pub fn render_human(report: &FileReport, style: Style, verbose: bool) -> String {
    let mut out = String::new();
    if verbose {
        for note in &report.notes {
            out.push_str(&format!("note: {}: {note}\n", report.path));
        }
    }
    let shown = report.diagnostics.len().min(MAX_RENDERED_PER_FILE);
    for i in 0..shown {
        out.push_str(&render_one(report, i, style));
    }
    let more = report.diagnostics.len().saturating_sub(shown);
    if more > 0 {
        out.push_str(&format!(
            "{}: {more} more diagnostic{} not shown (--format json or sarif lists every one)\n",
            report.path,
            if more == 1 { "" } else { "s" }
        ));
    }
    out
}

/// Diagnostics of one file drawn for a person. Each drawing reads the source around its
/// span, so drawing every one of tens of thousands would cost their number times the
/// source's size; the machine formats carry all of them.
const MAX_RENDERED_PER_FILE: usize = 200;

/// The JSON form of one diagnostic.
fn json_diagnostic(lines: Option<&LineIndex<'_>>, d: &Diagnostic) -> Value {
    let mut v = json!({
        "code": d.code.as_str(),
        "severity": d.severity().as_str(),
        "message": d.message,
        "offset": d.offset,
        "rule": d.rule.map(|r| r.to_string()),
        "title": d.code.description(),
    });
    if let Some(map) = v.as_object_mut() {
        if d.offset.is_some() {
            map.insert("length".into(), json!(d.len));
        }
        if let (Some(lines), Some(offset)) = (lines, d.offset) {
            let (line, column) = lines.line_column(offset);
            map.insert("line".into(), json!(line));
            map.insert("column".into(), json!(column));
        }
        map.insert("help".into(), json!(d.help_text()));
    }
    v
}

/// `{"files":[{"path", "valid", "diagnostics":[...]}], ...}`.
pub fn json_document(reports: &[FileReport], deny_warnings: bool) -> Value {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            let lines = r.line_index();
            let diagnostics: Vec<Value> = r
                .diagnostics
                .iter()
                .map(|d| json_diagnostic(lines.as_ref(), d))
                .collect();
            json!({
                "path": r.path,
                "valid": r.valid(deny_warnings),
                "diagnostics": diagnostics,
            })
        })
        .collect();
    json!({
        "tool": "dcf",
        "version": env!("CARGO_PKG_VERSION"),
        "valid": reports.iter().all(|r| r.valid(deny_warnings)),
        "files": files,
    })
}

fn sarif_level(d: &Diagnostic) -> &'static str {
    match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A SARIF artifact URI for a path as given: relative paths stay relative (to the
/// repository root GitHub resolves them against), with `/` separators.
fn sarif_uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let p = p.trim_start_matches("./");
    let encoded: String = p
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

fn fingerprint(path: &str, d: &Diagnostic) -> String {
    // FNV-1a over the stable parts of the finding: code, rule and offset, not the wording.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{path}\0{}\0{}\0{}",
        d.code.as_str(),
        d.rule.map(|r| r.to_string()).unwrap_or_default(),
        d.offset.map(|o| o.to_string()).unwrap_or_default()
    );
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The SARIF 2.1.0 log of a run: one rule per code that occurs, one result per diagnostic.
pub fn sarif_document(reports: &[FileReport]) -> Value {
    let mut codes: Vec<AnyCode> = Vec::new();
    for d in reports.iter().flat_map(|r| &r.diagnostics) {
        if !codes.contains(&d.code) {
            codes.push(d.code);
        }
    }
    codes.sort_by_key(|c| c.as_str());
    let rules: Vec<Value> = codes
        .iter()
        .map(|c| {
            let rule_name = c.rule_name();
            json!({
                "id": c.as_str(),
                "name": rule_name,
                "shortDescription": { "text": c.description() },
                "fullDescription": { "text": format!("{}: {}", c.as_str(), c.description()) },
                "defaultConfiguration": {
                    "level": match c.severity() { Severity::Error => "error", Severity::Warning => "warning" }
                },
                "help": { "text": help_for(*c) },
                "properties": { "tags": ["dcf", match c {
                    AnyCode::Format(_) => "structure",
                    AnyCode::Check(_) => "semantic",
                    AnyCode::Sensor(_) => "interpreter",
                    AnyCode::Sigma(_) => "sigma",
                }] }
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        let lines = r.line_index();
        for d in &r.diagnostics {
            let index = codes.iter().position(|c| *c == d.code).unwrap_or(0);
            let mut region = serde_json::Map::new();
            match (&lines, d.offset, &r.origin) {
                (Some(lines), Some(offset), Origin::Text(text)) => {
                    let (line, column) = lines.line_column(offset);
                    let end = offset.saturating_add(d.len).min(text.len());
                    let (end_line, end_column) = lines.line_column(end);
                    region.insert("startLine".into(), json!(line));
                    region.insert("startColumn".into(), json!(column));
                    region.insert("endLine".into(), json!(end_line));
                    region.insert("endColumn".into(), json!(end_column.max(column)));
                }
                (_, Some(offset), _) => {
                    // Binary content: GitHub needs a line, SARIF allows binary and textual
                    // properties side by side.
                    region.insert("startLine".into(), json!(1));
                    region.insert("byteOffset".into(), json!(offset));
                    region.insert("byteLength".into(), json!(d.len.max(1)));
                }
                _ => {
                    region.insert("startLine".into(), json!(1));
                }
            }
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": index,
                "level": sarif_level(d),
                "message": { "text": format!("{} (help: {})", d.message, d.help_text()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": sarif_uri(&r.path) },
                        "region": Value::Object(region),
                    }
                }],
                "partialFingerprints": { "dcfFinding/v1": fingerprint(&r.path, d) },
            });
            if let (Some(rule), Some(map)) = (d.rule, result.as_object_mut()) {
                map.insert("properties".into(), json!({ "dcfRule": rule.to_string() }));
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dcf",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/dcf",
                    "rules": rules,
                }
            },
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    })
}

fn help_for(code: AnyCode) -> String {
    match code {
        AnyCode::Format(_) => format!(
            "Structural rule of the dcf format; see format-spec/SPEC.md, code {}.",
            code.as_str()
        ),
        AnyCode::Check(c) => format!(
            "{}; see format-spec/DIAGNOSTICS.md, rule {}.",
            c.description(),
            c.rule()
        ),
        AnyCode::Sensor(_) | AnyCode::Sigma(_) => format!(
            "{}; see {}, code {}.",
            code.description(),
            code.spec_document(),
            code.as_str()
        ),
    }
}
