//! `dcf compile --from sigma`: Sigma rule files into one content, through `dcf-sigma`.
//!
//! Rules the importer cannot compile are never dropped silently: each becomes a warning with
//! its `E5xxx` code, file and reason, `--format json` lists `compiled` and `skipped` rules, and
//! `--fail-on-skip` turns any skipped rule into a failed run (exit 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcf_parser::RuleId;
use dcf_sigma::{ImportError, ImportOptions, ImportReport, Placeholders, Source};
use serde_json::{Value, json};

use dcf_validator::limits::MAX_SOURCE_SIZE;
use dcf_validator::time::{format_rfc3339, now};
use dcf_validator::{Code, Diagnostic};

use crate::args::CompileArgs;
use crate::context::{Ctx, write_json};
use crate::exit::{Exit, Outcome, Stop, usage};
use crate::fleet::load_manifests;
use crate::inputs::display;
use crate::io::{Input, read_bounded, write_atomic};
use crate::report::{self, FileReport, Format};

/// Validity of a Sigma content when neither `--expires` nor `--valid-for` is given.
pub const DEFAULT_VALID_FOR: u64 = 30 * 24 * 3600;

/// Extensions of Sigma rule files in a directory.
pub const RULE_EXTENSIONS: &[&str] = &["yml", "yaml"];

/// Reads every rule file below `paths`, bounded by the source size limit. The `relative` name
/// of a file is its path below the directory it was found in (its name if given directly).
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
    let mut doc = report::json_document(reports, false);
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

/// Runs `dcf compile --from sigma` (the output path is already checked).
pub fn run(ctx: &Ctx, args: CompileArgs) -> Outcome {
    reject_dcf_only_flags(&[
        ("--sensor-min", args.sensor_min.is_some()),
        ("--sensor-max", args.sensor_max.is_some()),
    ])?;
    if args.manifests.is_empty() {
        return Err(usage(
            "--from sigma needs --manifest: the sensors whose template types the log sources map to (SigmaHQ rules: sigma/manifests)",
        ));
    }
    let interfaces = load_manifests(ctx, &args.manifests)?;
    let created = args.created.unwrap_or_else(|| args.now.unwrap_or_else(now));
    let expires = match (args.expires, args.valid_for) {
        (Some(at), _) => at,
        (None, valid_for) => created.saturating_add(valid_for.unwrap_or(DEFAULT_VALID_FOR)),
    };
    if expires <= created {
        return Err(usage(format_args!(
            "the content would expire ({}) at or before its creation ({})",
            format_rfc3339(expires),
            format_rfc3339(created)
        )));
    }
    let placeholders = match &args.placeholders {
        None => Placeholders::default(),
        Some(path) => read_placeholders(path)?,
    };
    let options = ImportOptions {
        channel: args.channel.unwrap_or(0),
        sequence: args.sequence.unwrap_or(created),
        created_at: created,
        expires_at: expires,
        placeholders,
    };
    let output = args.output.as_path();
    let sources = read_rules(ctx, &args.sources)?;
    let (content, report) =
        dcf_sigma::compile_sources(&sources, &interfaces, &options).map_err(|e| {
            let code = match &e {
                ImportError::Encode(_) => Code::EncodeRejected,
                ImportError::Io(_) => Code::Io,
                ImportError::NoManifest | ImportError::BadOptions(_) => Code::NoInput,
            };
            let d = Diagnostic::new(code, e.to_string());
            let d = match e {
                ImportError::NoManifest => d.help(
                    "pass the targeted sensors with --manifest (for SigmaHQ rules: sigma/manifests)",
                ),
                _ => d,
            };
            FileReport::plain(display(output), vec![d])
        })?;
    let mut reports = skip_reports(&report);
    if report.compiled.is_empty() {
        // A content without rules detects nothing: it is never written, whatever
        // --fail-on-skip says, so that a run over the wrong files cannot ship an empty update.
        let code = match ctx.format {
            Format::Json => {
                let mut doc = json_summary(&report, output, &reports, false);
                if let Some(map) = doc.as_object_mut() {
                    map.insert("output".into(), Value::Null);
                }
                write_json(&doc).map_or_else(|stop| ctx.stop(stop), |()| Exit::Accepted)
            }
            _ => ctx.finish(&reports, false),
        };
        eprintln!(
            "error: none of the {} Sigma rules compiled; nothing was written",
            report.skipped.len()
        );
        return Ok(code.rejected_if(true));
    }
    let bytes = content.encode().map_err(|e| {
        FileReport::plain(
            display(output),
            vec![Diagnostic::new(
                Code::EncodeRejected,
                format!("the format writer refuses the content: {e}"),
            )],
        )
    })?;
    if let Err(d) = write_atomic(output, &bytes) {
        reports.push(FileReport::plain(display(output), vec![d]));
        return Err(reports.into());
    }
    ctx.note(&format!(
        "wrote {} ({} bytes, {} rules, sequence {}, valid until {})",
        display(output),
        bytes.len(),
        content.rules.len(),
        content.header.sequence,
        format_rfc3339(content.header.expires_at)
    ));
    let failed = args.fail_on_skip && !report.skipped.is_empty();
    match ctx.format {
        Format::Json => {
            write_json(&json_summary(&report, output, &reports, !failed))?;
            Ok(Exit::Accepted.rejected_if(failed))
        }
        Format::Sarif => Ok(ctx.finish(&reports, false).rejected_if(failed)),
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
            Ok(Exit::Accepted.rejected_if(failed))
        }
    }
}

/// Usage problems of flags that only the `dcf` source language has.
/// The placeholder file (DIAGNOSTICS.md CLI-13): read bounded, refused whole with E9401.
fn read_placeholders(path: &Path) -> Result<Placeholders, Vec<FileReport>> {
    let bytes = read_bounded(path, MAX_SOURCE_SIZE).map_err(|e| {
        vec![FileReport::plain(
            display(path),
            vec![e.diagnostic("the placeholder file")],
        )]
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        vec![FileReport::plain(
            display(path),
            vec![Diagnostic::new(
                Code::PlaceholderFile,
                "the placeholder file is not UTF-8",
            )],
        )]
    })?;
    Placeholders::parse(&text).map_err(|e| {
        vec![FileReport::plain(
            display(path),
            vec![Diagnostic::new(Code::PlaceholderFile, e)],
        )]
    })
}

fn reject_dcf_only_flags(flags: &[(&str, bool)]) -> Result<(), Stop> {
    match flags.iter().find(|(_, given)| *given) {
        Some((name, _)) => Err(usage(format_args!(
            "{name} applies to --from dcf only: with --from sigma the sensor range is that of the manifests"
        ))),
        None => Ok(()),
    }
}
