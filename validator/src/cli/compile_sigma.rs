//! `dcf compile --from sigma`: Sigma rule files into one content, through `dcf-sigma`.
//!
//! Rules the importer cannot compile are never dropped silently: each becomes a warning with
//! its `E5xxx` code, file and reason, `--format json` lists `compiled` and `skipped` rules, and
//! `--fail-on-skip` turns any skipped rule into a failed run (exit 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcf_parser::RuleId;
use dcf_sigma::{ImportError, ImportOptions, ImportReport, Source};
use serde_json::{Value, json};

use super::io::{Input, read_bounded, write_atomic};
use super::report::{FileReport, Format};
use super::{Ctx, OK, REJECTED, USAGE, display, finish, stdout_write};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::limits::MAX_SOURCE_SIZE;
use crate::manifest::Manifest;
use crate::time::format_rfc3339;

/// Validity of a Sigma content when neither `--expires` nor `--valid-for` is given.
pub const DEFAULT_VALID_FOR: u64 = 30 * 24 * 3600;

/// What `dcf compile --from sigma` needs besides the manifests.
pub struct SigmaCompile<'a> {
    /// Rule files and directories.
    pub paths: &'a [PathBuf],
    /// Output file.
    pub output: &'a Path,
    /// Header of the produced content.
    pub options: ImportOptions,
    /// Whether any skipped rule fails the run.
    pub fail_on_skip: bool,
    /// Report format.
    pub format: Format,
}

/// Reads every rule file below `paths`, bounded by the source size limit. The `relative` name
/// of a file is its path below the directory it was found in (its name if given directly).
/// Extensions of Sigma rule files in a directory.
pub const RULE_EXTENSIONS: &[&str] = &["yml", "yaml"];

fn read_rules(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<Source>, Vec<FileReport>> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for root in paths {
        for input in ctx.expand(std::slice::from_ref(root), RULE_EXTENSIONS, "Sigma rules") {
            match input {
                Input::Problem(path, d) => {
                    problems.push(FileReport::plain(display(&path), vec![d]))
                }
                Input::File(path) => {
                    let relative = match path.strip_prefix(root) {
                        Ok(rel) if !rel.as_os_str().is_empty() => rel,
                        _ => Path::new(path.file_name().unwrap_or(path.as_os_str())),
                    };
                    let relative = relative.to_string_lossy().replace('\\', "/");
                    match read_bounded(&path, MAX_SOURCE_SIZE) {
                        Ok(bytes) => sources.push(Source {
                            file: display(&path),
                            relative,
                            // Not UTF-8: the importer reports it as E5001 with the file name.
                            text: String::from_utf8(bytes).ok(),
                        }),
                        Err(e) => problems.push(FileReport::plain(
                            display(&path),
                            vec![e.diagnostic("the rule file")],
                        )),
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(problems)
    }
}

/// One warning per skipped rule, grouped by file.
fn skip_reports(report: &ImportReport) -> Vec<FileReport> {
    let mut by_file: BTreeMap<&str, Vec<Diagnostic>> = BTreeMap::new();
    for s in &report.skipped {
        let mut d = Diagnostic::new(s.code, s.reason.clone());
        if let Some(id) = s.id.as_deref().and_then(RuleId::parse) {
            d = d.rule(id);
        }
        let d = match &s.title {
            Some(title) => d.label(title.clone()),
            None => d,
        };
        by_file.entry(&s.file).or_default().push(d);
    }
    by_file
        .into_iter()
        .map(|(file, diagnostics)| FileReport::plain(file, diagnostics))
        .collect()
}

fn breakdown_text(report: &ImportReport) -> String {
    report
        .breakdown()
        .iter()
        .map(|(code, n)| format!("{code} {} ×{n}", code.description()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_summary(report: &ImportReport, output: &Path, reports: &[FileReport], ok: bool) -> Value {
    let mut doc = super::report::json_document(reports, false);
    if let Some(map) = doc.as_object_mut() {
        map.insert("valid".into(), json!(ok));
        map.insert("output".into(), json!(display(output)));
        map.insert("compiled".into(), json!(report.compiled));
        map.insert("skipped".into(), json!(report.skipped));
        let breakdown: BTreeMap<&str, usize> = report
            .breakdown()
            .into_iter()
            .map(|(code, n)| (code.as_str(), n))
            .collect();
        map.insert("breakdown".into(), json!(breakdown));
        map.insert("compiled_share".into(), json!(report.compiled_share()));
    }
    doc
}

/// Runs `dcf compile --from sigma`.
pub fn run(ctx: &Ctx, fleet: Vec<(String, Manifest)>, job: SigmaCompile<'_>) -> u8 {
    let sources = match read_rules(ctx, job.paths) {
        Ok(s) => s,
        Err(problems) => return finish(ctx, &problems, job.format, false),
    };
    let interfaces: Vec<Manifest> = fleet.into_iter().map(|(_, m)| m).collect();
    let (content, report) = match dcf_sigma::compile_sources(&sources, &interfaces, &job.options) {
        Ok(done) => done,
        Err(e) => {
            let code = match &e {
                ImportError::Encode(_) => Code::EncodeRejected,
                ImportError::Io(_) => Code::Io,
                ImportError::NoManifest | ImportError::BadOptions(_) => Code::NoInput,
            };
            let d = Diagnostic::new(code, e.to_string());
            let d = match e {
                ImportError::NoManifest => {
                    d.help("pass the targeted sensors with --manifest (for SigmaHQ rules: sigma/manifests)")
                }
                _ => d,
            };
            return finish(
                ctx,
                &[FileReport::plain(display(job.output), vec![d])],
                job.format,
                false,
            );
        }
    };
    let mut reports = skip_reports(&report);
    if report.compiled.is_empty() {
        // A content without rules detects nothing: it is never written, whatever
        // --fail-on-skip says, so that a run over the wrong files cannot ship an empty update.
        let code = match job.format {
            Format::Json => {
                let mut doc = json_summary(&report, job.output, &reports, false);
                if let Some(map) = doc.as_object_mut() {
                    map.insert("output".into(), Value::Null);
                }
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
                stdout_write(&text)
            }
            format => finish(ctx, &reports, format, false),
        };
        eprintln!(
            "error: none of the {} Sigma rules compiled; nothing was written",
            report.skipped.len()
        );
        return if code == OK { REJECTED } else { code };
    }
    let bytes = match content.encode() {
        Ok(b) => b,
        Err(e) => {
            let r = FileReport::plain(
                display(job.output),
                vec![Diagnostic::new(
                    Code::EncodeRejected,
                    format!("the format writer refuses the content: {e}"),
                )],
            );
            return finish(ctx, &[r], job.format, false);
        }
    };
    if let Err(d) = write_atomic(job.output, &bytes) {
        reports.push(FileReport::plain(display(job.output), vec![d]));
        return finish(ctx, &reports, job.format, false);
    }
    ctx.note(&format!(
        "wrote {} ({} bytes, {} rules, sequence {}, valid until {})",
        display(job.output),
        bytes.len(),
        content.rules.len(),
        content.header.sequence,
        format_rfc3339(content.header.expires_at)
    ));
    let failed = job.fail_on_skip && !report.skipped.is_empty();
    match job.format {
        Format::Json => {
            let doc = json_summary(&report, job.output, &reports, !failed);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
            match stdout_write(&text) {
                OK if failed => REJECTED,
                other => other,
            }
        }
        Format::Sarif => {
            let code = finish(ctx, &reports, job.format, false);
            if failed && code == OK { REJECTED } else { code }
        }
        Format::Human => {
            ctx.emit_all(&reports);
            if !report.skipped.is_empty() {
                let total = report.compiled.len() + report.skipped.len();
                eprintln!(
                    "compiled {} of {total} Sigma rules; {} skipped: {}{}",
                    report.compiled.len(),
                    report.skipped.len(),
                    breakdown_text(&report),
                    if failed {
                        " (--fail-on-skip: run failed)"
                    } else {
                        ""
                    }
                );
            } else {
                ctx.note(&format!(
                    "compiled all {} Sigma rules",
                    report.compiled.len()
                ));
            }
            if failed { REJECTED } else { OK }
        }
    }
}

/// Usage problems of flags that only the `dcf` source language has.
pub fn reject_dcf_only_flags(flags: &[(&str, bool)]) -> Result<(), u8> {
    match flags.iter().find(|(_, given)| *given) {
        Some((name, _)) => {
            eprintln!(
                "error: {name} applies to --from dcf only: with --from sigma the sensor range is that of the manifests"
            );
            Err(USAGE)
        }
        None => Ok(()),
    }
}
