//! What the updater's tests share: contents compiled from YAML against the bundled example
//! manifests and signed with a fixed release key, repositories in scratch directories, and
//! sensors of either example build.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dcf_parser::Content;
use dcf_rollout::repo::{Expiries, RepoPaths};
use dcf_sensor::{Channels, LoaderConfig, Sensor, SensorInterface};
use dcf_test_support::repo_root;
use dcf_updater::{Updater, UpdaterConfig};
use dcf_validator::source::{self, HeaderOverrides};
use ed25519_dalek::SigningKey;
use url::Url;

/// The channel of every test content.
pub const CHANNEL: u32 = 291;
/// The tests' clock (2026-12-01), inside every content's validity.
pub const NOW: u64 = 1_796_083_200;

/// The release key that signs dcf content (fixed seed: tests only).
pub fn release_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

/// A directory of its own under cargo's scratch space, empty.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("updater")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The example manifest of sensor build `7.11` or `7.12`.
pub fn manifest(build: &str) -> SensorInterface {
    let path = repo_root().join(format!("examples/manifests/sensor-{build}.toml"));
    dcf_validator::manifest::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The example rules (`examples/rules/*.yaml`) plus `extra` YAML sources, compiled as
/// `sequence` against the manifests of `checked` builds, for sensors `7.11.0` to `7.12.65535`.
pub fn compile(sequence: u64, extra: &[&str], checked: &[&str]) -> Content {
    let dir = repo_root().join("examples/rules");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut sources = Vec::new();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        sources.push(source::read_source(&name, std::fs::read(&p).unwrap()).unwrap());
    }
    for (i, text) in extra.iter().enumerate() {
        sources.push(
            source::read_source(&format!("extra-{i}.yaml"), text.as_bytes().to_vec()).unwrap(),
        );
    }
    let manifests: Vec<(String, SensorInterface)> = checked
        .iter()
        .map(|b| (format!("sensor-{b}.toml"), manifest(b)))
        .collect();
    let overrides = HeaderOverrides {
        sequence: Some(sequence),
        created: Some(NOW - 86_400),
        ..HeaderOverrides::default()
    };
    let compiled = source::compile(&sources, &manifests, &overrides, NOW);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    compiled.content.unwrap()
}

/// `content` signed with `key`.
pub fn sign(mut content: Content, key: &SigningKey) -> Vec<u8> {
    dcf_validator::keys::sign_content(&mut content, key).unwrap()
}

/// The example content as sequence `sequence`, signed with the release key.
pub fn example(sequence: u64) -> Vec<u8> {
    sign(compile(sequence, &[], &["7.11", "7.12"]), &release_key())
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
    let mut config =
        UpdaterConfig::new(root, metadata, targets, state.join(device), device, CHANNEL);
    config.http_tries = 1;
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
