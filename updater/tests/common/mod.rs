//! What the updater's tests share: contents compiled from YAML against the bundled example
//! manifests and signed with a fixed release key, repositories in scratch directories, and
//! sensors of either example build.

#![allow(dead_code)]

pub mod fleet;

use std::path::{Path, PathBuf};

use dcf_rollout::repo::{Expiries, RepoPaths};
use dcf_sensor::{Channels, LoaderConfig, Sensor};
use dcf_updater::{Updater, UpdaterConfig};
use url::Url;

pub use dcf_test_support::example::{CHANNEL, NOW, compile, example, manifest, release_key, sign};

/// Integration tests have cargo's scratch space.
#[cfg(test)]
fn scratch_base() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The examples (which cargo gives no scratch space) use one of the system's, per process.
#[cfg(not(test))]
fn scratch_base() -> PathBuf {
    std::env::temp_dir().join(format!("dcf-{}", std::process::id()))
}

/// A directory of its own under the scratch space, empty.
pub fn scratch(name: &str) -> PathBuf {
    let dir = scratch_base().join("updater").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new repository (one key per role) in a scratch directory.
pub fn new_repo(name: &str) -> RepoPaths {
    new_repo_with(name, 1, &Expiries::default())
}

/// A new repository with `threshold` keys per role.
pub fn new_repo_with(name: &str, threshold: u64, expiries: &Expiries) -> RepoPaths {
    let base = scratch(name);
    let paths = RepoPaths {
        dir: base.join("repo"),
        keys: base.join("keys"),
    };
    dcf_rollout::repo::init(
        &paths,
        std::num::NonZeroU64::new(threshold).unwrap(),
        expiries,
    )
    .unwrap();
    paths
}

/// A sensor of `build` trusting the release key for the test channel.
pub fn sensor(build: &str) -> Sensor {
    let key = release_key().verifying_key().to_bytes();
    Sensor::new(
        LoaderConfig::new(manifest(build), vec![key], Channels::Only(CHANNEL)),
        0,
    )
    .unwrap()
}

/// The URL of a directory.
pub fn dir_url(dir: &Path) -> Url {
    dcf_rollout::repo::dir_url(dir).unwrap()
}

/// An updater for `device` reading the repository at `metadata`/`targets` URLs, trusting
/// the repository's first root, with its datastore under `state`.
pub fn updater(
    paths: &RepoPaths,
    metadata: Url,
    targets: Url,
    state: &Path,
    device: &str,
) -> Updater {
    let root = std::fs::read(paths.root()).unwrap();
    let config = UpdaterConfig::new(root, metadata, targets, state.join(device), device, CHANNEL);
    Updater::new(config).unwrap()
}

/// An updater reading the repository from its directory (`file://`).
pub fn local_updater(paths: &RepoPaths, state: &Path, device: &str) -> Updater {
    updater(
        paths,
        dir_url(&paths.metadata()),
        dir_url(&paths.targets()),
        state,
        device,
    )
}
