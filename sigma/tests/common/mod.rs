//! Shared by the integration tests: where the data is, and the whole rule set compiled once
//! per test binary.

#![allow(dead_code, unused_imports)]

use std::path::PathBuf;
use std::sync::OnceLock;

use dcf_parser::Content;
use dcf_sensor::SensorInterface;
use dcf_sigma::{ImportOptions, ImportReport};

pub use dcf_test_support::repo_root;

/// SigmaHQ's data: `shared/sigma` beside the repository.
pub fn sigma_dir() -> PathBuf {
    repo_root().join("../shared/sigma")
}

/// The committed reference manifest.
pub fn reference_manifest() -> SensorInterface {
    let text = std::fs::read_to_string(repo_root().join("sigma/manifests/sigmahq.toml")).unwrap();
    dcf_validator::manifest::from_toml(&text).unwrap()
}

/// Every rule of `rules/`, compiled once against the reference manifest.
pub fn all_rules() -> &'static (Content, ImportReport, SensorInterface) {
    static ALL: OnceLock<(Content, ImportReport, SensorInterface)> = OnceLock::new();
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

pub use dcf_test_support::content::bound;

/// One regression event: where it came from and its adapted fields.
pub struct RegressionEvent {
    /// `<json file relative to regression_data/rules>#<index in the stream>`.
    pub name: String,
    /// The adapted event.
    pub event: dcf_events::windows::WindowsEvent,
}

/// Every event of SigmaHQ's regression data, in file order.
pub fn regression_events() -> Vec<RegressionEvent> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let root = sigma_dir().join("regression_data/rules");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (i, json) in dcf_events::windows::json_stream(&text)
            .unwrap()
            .iter()
            .enumerate()
        {
            out.push(RegressionEvent {
                name: format!("{rel}#{i}"),
                event: dcf_events::windows::WindowsEvent::from_json(json).unwrap(),
            });
        }
    }
    out
}

/// The event as `sigma-rust` sees it: the adapter's named fields with their JSON values.
pub fn sigma_rust_event(event: &dcf_events::windows::WindowsEvent) -> sigma_rust::Event {
    let object: serde_json::Map<String, serde_json::Value> =
        event.flat.fields.iter().cloned().collect();
    sigma_rust::Event::try_from(serde_json::Value::Object(object)).unwrap()
}
