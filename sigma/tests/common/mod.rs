//! Shared by the integration tests: where the data is, and the whole rule set compiled once
//! per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use dcf_parser::Content;
use dcf_sigma::{ImportOptions, ImportReport, Manifest};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// SigmaHQ's data: `shared/sigma` beside the repository.
pub fn sigma_dir() -> PathBuf {
    repo_root().join("../shared/sigma")
}

/// The committed reference manifest.
pub fn reference_manifest() -> Manifest {
    Manifest::load(&repo_root().join("sigma/manifests/sigmahq.toml")).unwrap()
}

/// Every rule of `rules/`, compiled once against the reference manifest.
pub fn all_rules() -> &'static (Content, ImportReport, Manifest) {
    static ALL: OnceLock<(Content, ImportReport, Manifest)> = OnceLock::new();
    ALL.get_or_init(|| {
        let manifest = reference_manifest();
        let (content, report) = dcf_sigma::compile_paths(
            &[sigma_dir().join("rules")],
            std::slice::from_ref(&manifest),
            &ImportOptions::default(),
        )
        .unwrap();
        (content, report, manifest)
    })
}
