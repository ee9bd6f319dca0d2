//! Best-of-N time for a sensor to load the whole SigmaHQ rule set, compiled and signed: a
//! tight loop to profile load with (`perf record`), where the criterion bench
//! (`benches/engines.rs`) is the measurement of record.
//!
//! ```sh
//! cargo run --release -p dcf-sigma --example load_time -- 20
//! ```
//!
//! The signed content is cached in the system temporary directory; delete
//! `dcf-sigmahq-signed.dcf` there after changing the importer.

// An example: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::Path;
use std::time::Instant;

use dcf_sensor::{Channels, LoaderConfig, Sensor};
use dcf_sigma::ImportOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("sigma/manifests/sigmahq.toml"))?;
    let interface = dcf_validator::manifest::from_toml(&manifest)?;
    // A fixed, public test seed: this content is for timing only.
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]);
    let cached = std::env::temp_dir().join("dcf-sigmahq-signed.dcf");
    let signed = match std::fs::read(&cached) {
        Ok(bytes) => bytes,
        Err(_) => {
            let rules = [root.join("../shared/sigma/rules")];
            let (mut content, report) = dcf_sigma::compile_paths(
                &rules,
                std::slice::from_ref(&interface),
                &ImportOptions::default(),
            )?;
            println!(
                "{} rules compiled, {} skipped",
                report.compiled.len(),
                report.skipped.len()
            );
            let signed = dcf_validator::keys::sign_content(&mut content, &key)?;
            std::fs::write(&cached, &signed)?;
            signed
        }
    };
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let mut best = f64::MAX;
    let mut loaded = None;
    for _ in 0..runs {
        let config = LoaderConfig::new(
            interface.clone(),
            vec![key.verifying_key().to_bytes()],
            Channels::Any,
        );
        let sensor = Sensor::new(config, 0)?;
        let start = Instant::now();
        let ruleset = sensor.load(&signed, 1)?;
        best = best.min(start.elapsed().as_secs_f64());
        loaded = Some(ruleset);
    }
    println!(
        "best of {runs} loads: {:.1} ms ({} rules, {} bytes)",
        best * 1e3,
        dcf_parser::parse(&signed)?.rule_count(),
        signed.len()
    );
    // What the cost model concludes (LOADER.md COST-3), for each template type with rules:
    // the costliest field's steps per byte against the budget, and the fixed steps.
    if let Some(ruleset) = loaded {
        let budget = interface.budget;
        for t in &interface.templates {
            let Some((per_byte, fixed)) = ruleset.cost_model(t.id) else {
                continue;
            };
            let Some((field, steps)) = (0..).zip(per_byte).max_by_key(|&(_, s)| *s) else {
                continue;
            };
            if *steps > budget.steps_per_byte / 16 {
                let name = t.fields.get(field).map_or("?", |f| f.name.as_str());
                println!(
                    "{}: {name} {steps} steps per byte (budget {}), {fixed} fixed steps",
                    t.name, budget.steps_per_byte
                );
            }
        }
    }
    Ok(())
}
