//! `dcf validate`: content files checked against every sensor manifest in their range.

use std::io::IsTerminal as _;

use dcf_validator::{Manifest, Options, validate_bytes};
use rayon::prelude::*;

use crate::args::ValidateArgs;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::fleet::load_manifests;
use crate::inputs::{check_options, display, read_content};
use crate::io::Input;
use crate::report::FileReport;

/// Runs `dcf validate`.
pub fn run(ctx: &Ctx, args: ValidateArgs) -> Outcome {
    let manifests = load_manifests(ctx, &args.check.manifests)?;
    let options = check_options(&args.check)?;
    let inputs = ctx.expand(&args.files, &["dcf"], "content files");
    // No more threads than files: `-j 256` on one file starts one.
    let threads = args.jobs.map_or(0, |j| j.min(inputs.len().max(1)));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let progress = (std::io::stderr().is_terminal() && inputs.len() > 1).then(|| {
        let bar = indicatif::ProgressBar::new(inputs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} validating {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let run = || -> Vec<FileReport> {
        inputs
            .par_iter()
            .map(|input| {
                let r = validate_input(input, &manifests, &options);
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                r
            })
            .collect()
    };
    let reports = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(ctx.finish(&reports, args.check.deny_warnings))
}

fn validate_input(input: &Input, fleet: &[Manifest], options: &Options) -> FileReport {
    match input {
        Input::Problem(path, d) => FileReport::plain(display(path), vec![d.clone()]),
        Input::File(path) => {
            let name = display(path);
            match read_content(path) {
                Err(d) => FileReport::plain(name, vec![d]),
                Ok(bytes) => {
                    let v = validate_bytes(&bytes, fleet, options);
                    let mut r = FileReport::binary(name, v.diagnostics, &bytes);
                    r.notes = v.notes;
                    r
                }
            }
        }
    }
}
