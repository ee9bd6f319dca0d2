//! `dcf test`: the content run in the sensor's interpreter for every targeted sensor version
//! (the library side is `dcf_validator::dryrun`).

use std::path::Path;
use std::sync::Arc;

use dcf_events::test_events::{TestEvent, check_against, parse_events};
use dcf_validator::dryrun::{DryRun, DryRunOptions, dry_run};
use dcf_validator::limits::MAX_EVENTS_FILE_SIZE;
use dcf_validator::{Code, Diagnostic, Manifest};

use crate::args::TestArgs;
use crate::context::{Ctx, write_json};
use crate::exit::{Exit, Outcome};
use crate::fleet::load_manifests;
use crate::inputs::{display, read_content};
use crate::io::read_bounded;
use crate::report::{self, FileReport, Format, Origin};

/// Reads and checks one events file; on any problem, the report that shows it.
fn read_events(path: &Path, fleet: &[Manifest]) -> Result<Vec<TestEvent>, FileReport> {
    let name = display(path);
    let bytes = read_bounded(path, MAX_EVENTS_FILE_SIZE)
        .map_err(|e| FileReport::plain(name.clone(), vec![e.diagnostic("the events file")]))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        FileReport::plain(
            name.clone(),
            vec![Diagnostic::new(
                Code::EventSyntax,
                "the events file is not UTF-8 text",
            )],
        )
    })?;
    let with_text = |diagnostics: Vec<Diagnostic>| FileReport {
        path: name.clone(),
        diagnostics,
        origin: Origin::Text(Arc::from(text.as_str())),
        notes: Vec::new(),
    };
    let help = "one JSON object per line: {\"template\": NAME, \"fields\": {NAME: VALUE, ...}, \"match\": [RULE-ID, ...], \"no_match\": [RULE-ID, ...]}";
    let events = parse_events(&text).map_err(|errors| {
        with_text(
            errors
                .into_iter()
                .map(|e| {
                    Diagnostic::new(Code::EventSyntax, format!("line {}: {}", e.line, e.message))
                        .at(e.offset, e.len)
                        .help(help)
                })
                .collect(),
        )
    })?;
    let problems = check_against(&events, fleet);
    if problems.is_empty() {
        Ok(events)
    } else {
        let offsets = line_offsets(&text);
        Err(with_text(
            problems
                .into_iter()
                .map(|(line, message)| {
                    let d = Diagnostic::new(Code::EventSyntax, format!("line {line}: {message}"))
                        .help("name template types and fields as the manifests do");
                    match offsets.get(line.saturating_sub(1)) {
                        Some(&(start, len)) => d.at(start, len),
                        None => d,
                    }
                })
                .collect(),
        ))
    }
}

/// `(offset, length)` of every line.
fn line_offsets(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        out.push((offset, line.trim_end_matches(['\n', '\r']).len().max(1)));
        offset = offset.saturating_add(line.len());
    }
    out
}

fn summary_line(result: &DryRun, report: &FileReport) -> String {
    let sensors: Vec<String> = result
        .sensors
        .iter()
        .map(|s| {
            let mut text = format!(
                "{}: {} of {} rules bound, {} criteria probed, {} probe events",
                s.sensor,
                s.rules_bound,
                s.rules_bound.saturating_add(s.rules_refused),
                s.criteria,
                s.probe_events
            );
            if s.events > 0 {
                text.push_str(&format!(", {} expectation events", s.events));
            }
            if s.benign_events > 0 {
                text.push_str(&format!(", {} benign events", s.benign_events));
            }
            text
        })
        .collect();
    let errors = report.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = report.diagnostics.len().saturating_sub(errors);
    format!(
        "dcf test {}: {} ({} error{}, {} warning{})\n  {}",
        report.path,
        if errors == 0 { "ok" } else { "FAILED" },
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" },
        sensors.join("\n  ")
    )
}

/// Runs `dcf test`.
pub fn run(ctx: &Ctx, args: TestArgs) -> Outcome {
    let manifests = load_manifests(ctx, &args.manifests)?;
    let mut options = DryRunOptions {
        benign_threshold: args.benign_threshold,
        ..DryRunOptions::default()
    };
    let mut problems = Vec::new();
    for (path, slot) in [
        (args.events.as_deref(), &mut options.events),
        (args.benign.as_deref(), &mut options.benign),
    ] {
        if let Some(path) = path {
            match read_events(path, &manifests) {
                Ok(events) => *slot = events,
                Err(r) => problems.push(r),
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let name = display(&args.file);
    let bytes = read_content(&args.file).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    let result = dry_run(&bytes, &manifests, &options);
    for ignored in &result.ignored {
        ctx.note(&format!(
            "{ignored} is outside the content's sensor range: not run"
        ));
    }
    let report = FileReport::binary(name, result.diagnostics.clone(), &bytes);
    let reports = [report];
    match ctx.format {
        Format::Json => {
            let mut doc = report::json_document(&reports, args.deny_warnings);
            if let Some(map) = doc.as_object_mut() {
                map.insert("sensors".into(), serde_json::json!(result.sensors));
                map.insert("ignored".into(), serde_json::json!(result.ignored));
            }
            write_json(&doc)?;
            Ok(Exit::of(&reports, args.deny_warnings))
        }
        Format::Sarif => Ok(ctx.finish(&reports, args.deny_warnings)),
        Format::Human => {
            let code = ctx.finish(&reports, args.deny_warnings);
            let [report] = &reports;
            eprintln!("{}", summary_line(&result, report));
            Ok(code)
        }
    }
}
