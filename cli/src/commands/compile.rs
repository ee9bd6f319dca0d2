//! `dcf compile`: rule sources and manifests into one canonical binary content. dcf's own
//! YAML/JSON sources are compiled here; `--from sigma` goes to [`super::compile_sigma`].

use std::path::PathBuf;
use std::sync::Arc;

use dcf_validator::source::{self, HeaderOverrides};
use dcf_validator::time::{format_rfc3339, now};
use dcf_validator::{Code, Diagnostic};

use crate::args::{CompileArgs, SourceLanguage};
use crate::context::Ctx;
use crate::exit::{Outcome, usage};
use crate::fleet::load_fleet;
use crate::inputs::{SOURCE_EXTENSIONS, display, read_sources, refuse_output};
use crate::io::write_atomic;
use crate::report::{FileReport, Origin};

use super::compile_sigma;

/// Runs `dcf compile`.
pub fn run(ctx: &Ctx, args: CompileArgs) -> Outcome {
    let extensions = match args.from {
        SourceLanguage::Dcf => SOURCE_EXTENSIONS,
        SourceLanguage::Sigma => compile_sigma::RULE_EXTENSIONS,
    };
    let placeholder_file: Vec<PathBuf> = args.placeholders.iter().cloned().collect();
    refuse_output(
        ctx,
        &args.output,
        &[
            (&args.sources, extensions),
            (&args.manifests, &["toml"]),
            (&placeholder_file, &["yml", "yaml"]),
        ],
    )?;
    if args.from == SourceLanguage::Sigma {
        return compile_sigma::run(ctx, args);
    }
    if args.fail_on_skip {
        return Err(usage("--fail-on-skip applies to --from sigma only"));
    }
    if args.placeholders.is_some() {
        return Err(usage("--placeholders applies to --from sigma only"));
    }
    let fleet = if args.manifests.is_empty() {
        Vec::new()
    } else {
        load_fleet(ctx, &args.manifests)?
    };
    let sources = read_sources(ctx, &args.sources)?;
    let overrides = HeaderOverrides {
        channel: args.channel,
        sequence: args.sequence,
        created: args.created,
        expires: args.expires,
        valid_for: args.valid_for,
        sensor_min: args.sensor_min,
        sensor_max: args.sensor_max,
    };
    let compiled = source::compile(&sources, &fleet, &overrides, args.now.unwrap_or_else(now));
    let mut reports: Vec<FileReport> = sources
        .iter()
        .map(|s| FileReport {
            path: s.name.clone(),
            diagnostics: Vec::new(),
            origin: Origin::Text(Arc::from(s.text.as_str())),
            notes: Vec::new(),
        })
        .collect();
    // Findings about the sources as a whole go to the one source, or to the output.
    let general_path = match sources.as_slice() {
        [one] => one.name.clone(),
        _ => display(&args.output),
    };
    let mut general = FileReport::plain(general_path, Vec::new());
    for located in compiled.diagnostics {
        match located.source.and_then(|i| reports.get_mut(i)) {
            Some(r) => r.diagnostics.push(located.diagnostic),
            None => general.diagnostics.push(located.diagnostic),
        }
    }
    if !general.diagnostics.is_empty() {
        reports.push(general);
    }
    let Some(content) = compiled.content else {
        return Err(reports.into());
    };
    let bytes = content.encode().map_err(|e| {
        FileReport::plain(
            display(&args.output),
            vec![Diagnostic::new(
                Code::EncodeRejected,
                format!("the format writer refuses the content: {e}"),
            )],
        )
    })?;
    write_atomic(&args.output, &bytes)
        .map_err(|d| FileReport::plain(display(&args.output), vec![d]))?;
    ctx.note(&format!(
        "wrote {} ({} bytes, {} rules, sequence {}, valid until {})",
        display(&args.output),
        bytes.len(),
        content.rules.len(),
        content.header.sequence,
        format_rfc3339(content.header.expires_at)
    ));
    Ok(ctx.finish(&reports, false))
}
