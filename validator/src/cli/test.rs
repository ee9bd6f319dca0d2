//! `dcf test`: the content run in the sensor's interpreter for every targeted sensor version
//! (the library side is [`crate::dryrun`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::io::read_bounded;
use super::report::{FileReport, Format, Origin};
use super::{Ctx, OK, display, finish, load_fleet, read_content, stdout_write};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::dryrun::events::{TestEvent, check_against, parse_events};
use crate::dryrun::{DryRun, DryRunOptions, dry_run};
use crate::limits::MAX_EVENTS_FILE_SIZE;
use crate::manifest::Manifest;

/// What `dcf test` was asked to do.
pub struct TestJob<'a> {
    /// The content.
    pub file: &'a Path,
    /// Manifests: files or directories.
    pub manifests: &'a [PathBuf],
    /// Events with expectations.
    pub events: Option<&'a Path>,
    /// Benign events.
    pub benign: Option<&'a Path>,
    /// Blast-radius threshold, as a fraction.
    pub threshold: f64,
    /// Report format.
    pub format: Format,
    /// Whether warnings fail the run.
    pub deny_warnings: bool,
}

/// Parses `1`, `1%` or `0.5 %`: a percentage of benign events.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{text}` is not a percentage between 0 and 100")),
    }
}

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
pub fn run(ctx: &Ctx, job: TestJob<'_>) -> u8 {
    let fleet = match load_fleet(ctx, job.manifests) {
        Ok(f) => f,
        Err(problems) => return finish(ctx, &problems, job.format, false),
    };
    let manifests: Vec<Manifest> = fleet.into_iter().map(|(_, m)| m).collect();
    let mut options = DryRunOptions {
        benign_threshold: job.threshold,
        ..DryRunOptions::default()
    };
    let mut problems = Vec::new();
    for (path, slot) in [
        (job.events, &mut options.events),
        (job.benign, &mut options.benign),
    ] {
        if let Some(path) = path {
            match read_events(path, &manifests) {
                Ok(events) => *slot = events,
                Err(r) => problems.push(r),
            }
        }
    }
    if !problems.is_empty() {
        return finish(ctx, &problems, job.format, false);
    }
    let name = display(job.file);
    let bytes = match read_content(job.file) {
        Ok(b) => b,
        Err(d) => return finish(ctx, &[FileReport::plain(name, vec![d])], job.format, false),
    };
    let result = dry_run(&bytes, &manifests, &options);
    for ignored in &result.ignored {
        ctx.note(&format!(
            "{ignored} is outside the content's sensor range: not run"
        ));
    }
    let report = FileReport::binary(name, result.diagnostics.clone(), &bytes);
    let reports = [report];
    match job.format {
        Format::Json => {
            let code = super::exit_code(&reports, job.deny_warnings);
            let mut doc = super::report::json_document(&reports, job.deny_warnings);
            if let Some(map) = doc.as_object_mut() {
                map.insert("sensors".into(), serde_json::json!(result.sensors));
                map.insert("ignored".into(), serde_json::json!(result.ignored));
            }
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            match stdout_write(&text) {
                OK => code,
                other => other,
            }
        }
        Format::Sarif => finish(ctx, &reports, job.format, job.deny_warnings),
        Format::Human => {
            let code = finish(ctx, &reports, job.format, job.deny_warnings);
            let [report] = &reports;
            eprintln!("{}", summary_line(&result, report));
            code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("1%"), Ok(0.01));
        assert_eq!(parse_percent("0.5 %"), Ok(0.005));
        assert_eq!(parse_percent("25"), Ok(0.25));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("x").is_err());
    }
}
