//! The semantic corpus (`corpus/semantic`): the time its cases are validated at, its fleet of
//! sensor manifests and its keys, shared by the validator's and the CLI's tests.

use std::path::PathBuf;

use dcf_validator::Manifest;
use ed25519_dalek::SigningKey;

use crate::repo_root;

/// The time every corpus case is validated at: 2027-01-15T08:00:00Z.
pub const NOW: u64 = 1_800_000_000;

/// `corpus/semantic`.
pub fn corpus_dir() -> PathBuf {
    repo_root().join("corpus/semantic")
}

/// The corpus fleet: every manifest of `corpus/semantic/manifests`, by version.
///
/// # Panics
///
/// When a committed manifest cannot be read: the corpus is broken.
#[allow(clippy::panic, clippy::expect_used)]
pub fn load_manifests() -> Vec<Manifest> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("manifests"))
        .expect("manifests dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            dcf_validator::manifest::from_toml(
                &std::fs::read_to_string(p).expect("manifest readable"),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

/// The corpus's trusted test key (a fixed seed: never use it for real content).
pub fn trusted_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

/// A key the corpus does not trust.
pub fn untrusted_key() -> SigningKey {
    SigningKey::from_bytes(&[0x22; 32])
}
