//! The bundled example (`examples/rules`, `examples/manifests`) as tests of distribution use
//! it: contents compiled as any sequence, with extra rules, against the manifests of chosen
//! builds, and signed with a fixed release key.

use std::path::PathBuf;

use dcf_parser::Content;
use dcf_validator::Manifest;
use dcf_validator::source::{self, HeaderOverrides};
use ed25519_dalek::SigningKey;

use crate::repo_root;

/// The example's channel.
pub const CHANNEL: u32 = 291;
/// The tests' clock (2026-12-01T00:00:00Z), inside every example content's validity.
pub const NOW: u64 = 1_796_083_200;

/// The release key that signs dcf content in these tests (a fixed seed: tests only).
pub fn release_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

/// The example manifest of sensor build `7.11` or `7.12`.
pub fn manifest(build: &str) -> Manifest {
    let path = repo_root().join(format!("examples/manifests/sensor-{build}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    dcf_validator::manifest::from_toml(&text)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())))
}

#[allow(clippy::panic)]
fn fail(message: &str) -> ! {
    panic!("{message}")
}

/// The example rules plus `extra` YAML sources, compiled as `sequence` (created a day before
/// [`NOW`]) against the manifests of the `checked` builds. The header still targets sensors
/// 7.11.0 to 7.12.65535, so checking 7.12 alone is Channel File 291's mistake.
pub fn compile(sequence: u64, extra: &[&str], checked: &[&str]) -> Content {
    let dir = repo_root().join("examples/rules");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let mut sources = Vec::new();
    for p in names {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let bytes = std::fs::read(&p).unwrap_or_default();
        sources.push(
            source::read_source(&name, bytes).unwrap_or_else(|d| fail(&format!("{name}: {d:?}"))),
        );
    }
    for (i, text) in extra.iter().enumerate() {
        let name = format!("extra-{i}.yaml");
        sources.push(
            source::read_source(&name, text.as_bytes().to_vec())
                .unwrap_or_else(|d| fail(&format!("{name}: {d:?}"))),
        );
    }
    let manifests: Vec<(String, Manifest)> = checked
        .iter()
        .map(|b| (format!("sensor-{b}.toml"), manifest(b)))
        .collect();
    let overrides = HeaderOverrides {
        sequence: Some(sequence),
        created: Some(NOW.saturating_sub(86_400)),
        ..HeaderOverrides::default()
    };
    let compiled = source::compile(&sources, &manifests, &overrides, NOW);
    match compiled.content {
        Some(c) if compiled.diagnostics.is_empty() => c,
        _ => fail(&format!("{:?}", compiled.diagnostics)),
    }
}

/// `content` signed with `key`.
pub fn sign(mut content: Content, key: &SigningKey) -> Vec<u8> {
    dcf_validator::keys::sign_content(&mut content, key).unwrap_or_else(|e| fail(&e.to_string()))
}

/// The example content as sequence `sequence`, checked against both builds, signed with the
/// release key.
pub fn example(sequence: u64) -> Vec<u8> {
    sign(compile(sequence, &[], &["7.11", "7.12"]), &release_key())
}
