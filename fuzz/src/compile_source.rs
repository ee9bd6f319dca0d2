//! Target `compile_source`: any text through both source compilers, dcf's own YAML/JSON
//! rules (`dcf_validator::source`) and the Sigma importer (`dcf_sigma`). Never panics, bounded
//! time; what either compiler produces without error the format writer accepts.

use std::sync::OnceLock;

use dcf_sensor::SensorInterface;
use dcf_sigma::{ImportOptions, Source, compile_sources};
use dcf_validator::source::{self, HeaderOverrides};

/// The example fleet, for dcf sources.
fn dcf_fleet() -> &'static [(String, SensorInterface)] {
    static FLEET: OnceLock<Vec<(String, SensorInterface)>> = OnceLock::new();
    FLEET.get_or_init(|| {
        [
            (
                "sensor-7.11.toml",
                include_str!("../../examples/manifests/sensor-7.11.toml"),
            ),
            (
                "sensor-7.12.toml",
                include_str!("../../examples/manifests/sensor-7.12.toml"),
            ),
        ]
        .into_iter()
        .filter_map(|(name, text)| {
            dcf_validator::manifest::from_toml(text)
                .ok()
                .map(|m| (name.to_string(), m))
        })
        .collect()
    })
}

/// The reference manifest of SigmaHQ's log sources, for Sigma rules.
fn sigma_fleet() -> &'static [SensorInterface] {
    static FLEET: OnceLock<Vec<SensorInterface>> = OnceLock::new();
    FLEET.get_or_init(|| {
        dcf_validator::manifest::from_toml(include_str!("../../sigma/manifests/sigmahq.toml"))
            .into_iter()
            .collect()
    })
}

/// How far one input got.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reached {
    /// The dcf compiler produced a content.
    pub dcf: bool,
    /// The Sigma importer compiled the rule.
    pub sigma: bool,
}

/// Runs one input.
pub fn compile_source_target(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    if let Ok(file) = source::read_source("fuzz.yaml", data.to_vec()) {
        let compiled = source::compile(
            std::slice::from_ref(&file),
            dcf_fleet(),
            &HeaderOverrides::default(),
            1_800_000_000,
        );
        if let Some(content) = compiled.content {
            reached.dcf = true;
            if let Err(e) = content.encode() {
                // The CLI reports this as E2013; the compiler is meant to catch what the
                // writer refuses, so note it as a finding only when the compiler said nothing.
                assert!(
                    !compiled.diagnostics.is_empty(),
                    "the dcf compiler produced a content the writer refuses, without a diagnostic: {e}"
                );
            }
        }
    }
    let text = String::from_utf8(data.to_vec()).ok();
    let sources = [Source {
        file: "fuzz.yml".into(),
        relative: "fuzz.yml".into(),
        text,
    }];
    if let Ok((content, report)) =
        compile_sources(&sources, sigma_fleet(), &ImportOptions::default())
    {
        reached.sigma = !report.compiled.is_empty();
        assert_eq!(
            report.compiled.len() + report.skipped.len(),
            1,
            "one file with one rule gives one compiled or one skipped rule"
        );
        assert!(
            content.encode().is_ok(),
            "the importer returned a content the writer refuses"
        );
    }
    reached
}
