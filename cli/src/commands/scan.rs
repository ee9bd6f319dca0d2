//! `dcf scan`: a content evaluated over a user's logs, every match printed with its rule's id,
//! title, author (DRL 1.1) and severity.
//!
//! Events are JSON Lines (a `.json` file is read as a stream of JSON values instead, one
//! event each, numbered from 1). A line is an event as `dcf test` reads it (`{"template": …,
//! "fields": {…}}`), a Windows event as evtx converters write it (`{"Event": {"System": …}}`),
//! or a flat JSON object as SIEMs emit it (`{"EventID": 1, "Channel": …, "Image": …}`); Windows
//! events go to every template type the adapter routes them to (`WindowsEvent::routes`). The
//! content is bound by the sensor's one binder to the interface it declares, or to a manifest's.
//! Lines are evaluated on all cores, in batches, and printed in input order.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;

use dcf_events::test_events::{field_array, parse_events, resolve_template};
use dcf_events::value::{OwnedValue, borrow_values};
use dcf_events::windows::WindowsEvent;
use dcf_sensor::{Event, Ruleset, Scratch, SensorInterface};
use dcf_validator::{Code, Diagnostic};
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::args::{ScanArgs, ScanFormat};
use crate::context::Ctx;
use crate::exit::{Exit, Outcome, Stop, usage};
use crate::fleet::load_manifests;
use crate::inputs::{display, read_content};
use crate::report::FileReport;

/// Lines evaluated together: large enough to keep every core busy, small enough that the
/// matches of a batch are printed while the next is read.
const BATCH: usize = 4096;
/// The longest line read; a longer one is reported (E9301) and skipped.
const MAX_LINE: usize = 1 << 20;
/// Problem lines shown one by one; beyond, only counted.
const SHOWN_PROBLEMS: usize = 20;
/// Inputs below this size get no progress bar.
const PROGRESS_BYTES: u64 = 16 << 20;

/// A numbered line (or JSON value) of an events file: its text, or why it cannot be read.
type Numbered = (usize, Result<String, String>);

/// One match, as printed.
struct Hit {
    file: usize,
    line: usize,
    rule: u32,
}

/// What evaluating one line gave.
enum LineResult {
    Matches(Vec<u32>),
    /// No template type of the interface receives this event.
    Unrouted,
    Problem(String),
}

/// Runs `dcf scan`.
pub fn run(ctx: &Ctx, args: ScanArgs) -> Outcome {
    let name = display(&args.content);
    let bytes =
        read_content(&args.content).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    let view = dcf_parser::parse(&bytes).map_err(|e| {
        FileReport::binary(name.clone(), vec![Diagnostic::from_parse_error(&e)], &bytes)
    })?;
    let header = *view.header();
    let interface = if args.manifests.is_empty() {
        SensorInterface::declared_by(&view, header.sensor_min)
    } else {
        load_manifests(ctx, &args.manifests)?
            .into_iter()
            .find(|m| m.in_range(header.sensor_min, header.sensor_max))
            .ok_or_else(|| {
                usage(format_args!(
                    "no manifest lies in the content's sensor range {} to {}",
                    header.sensor_min, header.sensor_max
                ))
            })?
    };
    let binding = dcf_sensor::bind(&view, &interface);
    if !binding.refusals.is_empty() {
        let diagnostics = binding
            .refusals
            .iter()
            .map(|r| Diagnostic::new(r.code(), r.detail.clone()))
            .collect();
        return Ok(ctx.finish(&[FileReport::plain(name, diagnostics)], false));
    }
    let ruleset = binding.ruleset;
    if let Some(jobs) = args.jobs {
        // A pool of its own: the global one may be built already (tests run commands in-process).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| usage(format_args!("cannot start {jobs} threads: {e}")))?;
        return pool.install(|| scan(ctx, &args, &interface, &ruleset));
    }
    scan(ctx, &args, &interface, &ruleset)
}

fn scan(ctx: &Ctx, args: &ScanArgs, interface: &SensorInterface, ruleset: &Ruleset) -> Outcome {
    let total: u64 = args
        .events
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let bar = (std::io::stderr().is_terminal() && total >= PROGRESS_BYTES).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.format == ScanFormat::Csv {
        writeln!(out, "file,line,rule_id,title,author,severity,action").map_err(write_failed)?;
    }
    let names: Vec<String> = args.events.iter().map(|p| display(p)).collect();
    let (mut events, mut matches, mut unrouted, mut problems) = (0usize, 0usize, 0usize, 0usize);
    let mut reports = Vec::new();
    for (file, path) in args.events.iter().enumerate() {
        let mut shown = Vec::new();
        let mut lines: Box<dyn Iterator<Item = Numbered>> =
            if path.extension().is_some_and(|e| e == "json") {
                Box::new(
                    read_stream(path)
                        .map_err(|d| FileReport::plain(names[file].clone(), vec![d]))?
                        .into_iter(),
                )
            } else {
                Box::new(open(path).map_err(|d| FileReport::plain(names[file].clone(), vec![d]))?)
            };
        loop {
            let batch: Vec<Numbered> = lines.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let read: u64 = batch
                .iter()
                .map(|(_, l)| l.as_ref().map_or(0, |t| t.len() as u64 + 1))
                .sum();
            let results: Vec<(usize, Option<LineResult>)> = batch
                .into_par_iter()
                .map_init(Scratch::new, |scratch, (line, text)| {
                    (line, evaluate_line(text, interface, ruleset, scratch))
                })
                .collect();
            for (line, result) in results {
                match result {
                    None => {}
                    Some(LineResult::Matches(rules)) => {
                        events += 1;
                        for rule in rules {
                            matches += 1;
                            print_hit(
                                &mut out,
                                args.format,
                                &names,
                                ruleset,
                                &Hit { file, line, rule },
                            )
                            .map_err(write_failed)?;
                        }
                    }
                    Some(LineResult::Unrouted) => {
                        events += 1;
                        unrouted += 1;
                    }
                    Some(LineResult::Problem(message)) => {
                        problems += 1;
                        if shown.len() < SHOWN_PROBLEMS {
                            shown.push(Diagnostic::new(
                                Code::EventSyntax,
                                format!("line {line}: {message}"),
                            ));
                        }
                    }
                }
            }
            if let Some(bar) = &bar {
                bar.inc(read);
            }
        }
        if !shown.is_empty() {
            reports.push(FileReport::plain(names[file].clone(), shown));
        }
    }
    out.flush().map_err(write_failed)?;
    drop(out);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if args.stats || problems > 0 {
        eprintln!(
            "scanned {events} events from {} files: {matches} matches, {unrouted} events no template type of the content receives, {problems} lines not events",
            args.events.len()
        );
    }
    if reports.is_empty() {
        return Ok(Exit::Accepted);
    }
    ctx.emit_all(&reports);
    Ok(Exit::Usage)
}

fn write_failed(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // `dcf scan … | head`: the reader has what it wanted.
        return Stop::Exit(Exit::Accepted);
    }
    eprintln!("error: cannot write the matches: {e}");
    Stop::Exit(Exit::Usage)
}

/// The largest `.json` file read: it is read whole, as one stream of JSON values.
const MAX_JSON_FILE: u64 = 1 << 30;

/// A `.json` file: a stream of JSON values (pretty-printed or not, as evtx converters and
/// SigmaHQ's regression data write them), numbered from 1, each as its compact text.
fn read_stream(path: &Path) -> Result<Vec<Numbered>, Diagnostic> {
    let bytes = crate::io::read_bounded(path, MAX_JSON_FILE)
        .map_err(|e| e.diagnostic("the events file"))?;
    let mut out = Vec::new();
    for (index, value) in serde_json::Deserializer::from_slice(&bytes)
        .into_iter::<Json>()
        .enumerate()
    {
        let number = index.saturating_add(1);
        match value {
            Ok(v) => out.push((number, Ok(v.to_string()))),
            Err(e) => {
                // After a syntax error the stream cannot be resynchronised.
                out.push((number, Err(format!("not JSON: {e}"))));
                break;
            }
        }
    }
    Ok(out)
}

/// A JSON Lines file, read line by line with a bound on each line's length.
struct Lines {
    reader: BufReader<File>,
    line: usize,
}

fn open(path: &Path) -> Result<Lines, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| Diagnostic::new(Code::Io, e.to_string()))?;
    if !meta.is_file() {
        return Err(Diagnostic::new(Code::Io, "not a regular file"));
    }
    let file = File::open(path).map_err(|e| Diagnostic::new(Code::Io, e.to_string()))?;
    Ok(Lines {
        reader: BufReader::with_capacity(1 << 16, file),
        line: 0,
    })
}

impl Iterator for Lines {
    /// The 1-based line number and its text, or why it cannot be read.
    type Item = Numbered;

    fn next(&mut self) -> Option<Self::Item> {
        let mut bytes = Vec::new();
        let limit = u64::try_from(MAX_LINE)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .ok()?;
        if read == 0 {
            return None;
        }
        self.line = self.line.saturating_add(1);
        if bytes.len() > MAX_LINE {
            // Skip the rest of the long line.
            let mut rest = Vec::new();
            while (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut rest)
                .is_ok_and(|n| n > 0 && !rest.ends_with(b"\n"))
            {
                rest.clear();
            }
            return Some((self.line, Err(format!("longer than {MAX_LINE} bytes"))));
        }
        Some((
            self.line,
            String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string()),
        ))
    }
}

/// Evaluates one line; `None` for a blank or `#` comment line.
fn evaluate_line(
    text: Result<String, String>,
    interface: &SensorInterface,
    ruleset: &Ruleset,
    scratch: &mut Scratch,
) -> Option<LineResult> {
    let text = match text {
        Ok(t) => t,
        Err(e) => return Some(LineResult::Problem(e)),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Some(evaluate_json(trimmed, interface, ruleset, scratch))
}

fn evaluate_json(
    text: &str,
    interface: &SensorInterface,
    ruleset: &Ruleset,
    scratch: &mut Scratch,
) -> LineResult {
    match serde_json::from_str(text) {
        Ok(json) => evaluate_value(&json, interface, ruleset, scratch),
        Err(e) => LineResult::Problem(format!("not JSON: {e}")),
    }
}

fn evaluate_value(
    json: &Json,
    interface: &SensorInterface,
    ruleset: &Ruleset,
    scratch: &mut Scratch,
) -> LineResult {
    let Json::Object(object) = json else {
        return LineResult::Problem("not a JSON object".into());
    };
    let mut deliveries: Vec<(u32, Vec<OwnedValue>)> = Vec::new();
    if object.contains_key("template") {
        // The test-event reader reads text; this path is rare enough to write it again.
        let events = match parse_events(&json.to_string()) {
            Ok(e) => e,
            Err(errors) => {
                return LineResult::Problem(
                    errors
                        .first()
                        .map_or_else(String::new, |e| e.message.clone()),
                );
            }
        };
        for event in &events {
            let Some(template) = resolve_template(interface, &event.template) else {
                return LineResult::Unrouted;
            };
            match field_array(template, event) {
                Ok((values, _unknown)) => deliveries.push((template.id, values)),
                Err(e) => return LineResult::Problem(e),
            }
        }
    } else {
        let event = if object.contains_key("Event") {
            match WindowsEvent::from_json(json) {
                Ok(e) => e,
                Err(e) => return LineResult::Problem(e.to_string()),
            }
        } else {
            WindowsEvent::from_flat_json(object)
        };
        for key in event.routes() {
            if let Some(template) = interface.template_named(&key.template_name()) {
                deliveries.push((template.id, event.flat.project(template)));
            }
        }
    }
    if deliveries.is_empty() {
        return LineResult::Unrouted;
    }
    let mut matched = Vec::new();
    let mut out = Vec::new();
    for (template, values) in &deliveries {
        let fields = borrow_values(values);
        out.clear();
        match ruleset.evaluate(
            &Event {
                template: *template,
                fields: &fields,
            },
            scratch,
            &mut out,
        ) {
            Ok(()) => matched.extend_from_slice(&out),
            Err(e) => return LineResult::Problem(e.to_string()),
        }
    }
    matched.sort_unstable();
    matched.dedup();
    LineResult::Matches(matched)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn print_hit(
    out: &mut impl Write,
    format: ScanFormat,
    names: &[String],
    ruleset: &Ruleset,
    hit: &Hit,
) -> std::io::Result<()> {
    let Some(rule) = ruleset.rules().get(hit.rule as usize) else {
        return Ok(());
    };
    let file = names.get(hit.file).map_or("", String::as_str);
    match format {
        ScanFormat::Table => writeln!(
            out,
            "{file}:{}  {:<13} {:<6}  {}  {}  (by {})",
            hit.line,
            rule.severity.name(),
            rule.action.name(),
            rule.id,
            rule.title,
            rule.author
        ),
        ScanFormat::Jsonl => {
            let doc = serde_json::json!({
                "file": file,
                "line": hit.line,
                "rule_id": rule.id.to_string(),
                "title": rule.title,
                "author": rule.author,
                "severity": rule.severity.name(),
                "action": rule.action.name(),
            });
            writeln!(out, "{doc}")
        }
        ScanFormat::Csv => writeln!(
            out,
            "{},{},{},{},{},{},{}",
            csv_field(file),
            hit.line,
            rule.id,
            csv_field(&rule.title),
            csv_field(&rule.author),
            rule.severity,
            rule.action
        ),
    }
}
