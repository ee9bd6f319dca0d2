//! Regenerates `sigma/manifests/sigmahq.toml` from SigmaHQ's data.
//!
//! Usage: `sigma-manifest [SIGMA_DIR] [OUT]`; defaults: `../shared/sigma` beside the repository,
//! and `sigma/manifests/sigmahq.toml`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args_os().skip(1);
    let sigma_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("../../shared/sigma"));
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir.join("manifests/sigmahq.toml"));
    match dcf_sigma::logsource::reference_manifest(&sigma_dir) {
        Ok(text) => match std::fs::write(&out, text) {
            Ok(()) => {
                eprintln!("wrote {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", out.display());
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
