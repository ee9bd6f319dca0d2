//! Target `validate`: content bytes and a manifest derived from them through the whole
//! validator: the manifest reader (TOML text), every semantic check (regex compilation
//! included) and the `dcf test` dry run.
//!
//! The manifest is mostly the content's own declared interface, rendered as TOML and then
//! disturbed as fleets really differ from what content was compiled for: trailing fields
//! missing (the Channel File 291 shape), a type or a name changed, a template type missing, a
//! version outside the content's range. Two cross-checks turn the validator into an oracle:
//!
//! - what the validator accepts without error, the sensor binds (the validator is the gate
//!   in front of the loader; a content it passes and the loader refuses is a finding);
//! - the dry run finds no disagreement between the interpreter and the criteria's definition
//!   (`E4002`) and none between the prefilter and exhaustive evaluation (`E4004`), and no
//!   probe runs over the sensor's step budget (`E3505`: the cost model bounds them all).

use std::fmt::Write as _;

use dcf_parser::{FieldType, SensorVersion, parse};
use dcf_validator::dryrun::{DryRunOptions, dry_run};
use dcf_validator::{AnyCode, Code, Options, Previous, validate_bytes};

use crate::Rng;

/// How far one input got.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reached {
    /// The manifest text was accepted by the manifest reader.
    pub manifest: bool,
    /// The validator accepted the content without error.
    pub accepted: bool,
    /// The dry run ran (the content parsed and the manifest was in range).
    pub dry_run: bool,
}

/// Rules above which the dry run is skipped, to keep every input fast: the dry run binds and
/// probes every criterion, which is linear but heavy.
const DRY_RUN_MAX_RULES: usize = 64;

fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The manifest text for an input: the declared interface, disturbed; or, for bytes that do
/// not parse, a small fixed manifest.
fn manifest_text(data: &[u8], rng: &mut Rng) -> String {
    let mut out = String::from("sensor = \"fuzz\"\n");
    let Ok(view) = parse(data) else {
        out.push_str("version = \"7.11.0\"\n[[template]]\nid = 1\nname = \"process\"\nfields = [{ name = \"image\", type = \"string\" }]\n");
        return out;
    };
    let h = view.header();
    let version = match rng.below(8) {
        0 => SensorVersion {
            major: rng.next() as u16,
            minor: rng.next() as u16,
            patch: rng.next() as u16,
        },
        1 => h.sensor_max,
        _ => h.sensor_min,
    };
    let _ = writeln!(out, "version = \"{version}\"");
    for t in view.templates() {
        if rng.below(16) == 0 {
            continue; // a template type this sensor does not implement
        }
        let fields: Vec<_> = t.fields().collect();
        let keep = match rng.below(4) {
            0 => fields.len().saturating_sub(1 + rng.below(2) as usize),
            _ => fields.len(),
        };
        let _ = writeln!(
            out,
            "[[template]]\nid = {}\nname = {}\nfields = [",
            t.id,
            toml_string(t.name)
        );
        for f in fields.iter().take(keep) {
            let kind = if rng.below(32) == 0 {
                FieldType::ALL[rng.below(FieldType::ALL.len() as u64) as usize]
            } else {
                f.kind
            };
            let name = if rng.below(32) == 0 {
                format!("{}_renamed", f.name)
            } else {
                f.name.to_string()
            };
            let _ = writeln!(
                out,
                "  {{ name = {}, type = \"{}\" }},",
                toml_string(&name),
                kind.name()
            );
        }
        out.push_str("]\n");
    }
    out
}

/// Runs one input.
pub fn validate_target(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let mut rng = Rng::seeded(data);
    let text = manifest_text(data, &mut rng);
    let Ok(manifest) = dcf_validator::manifest::from_toml(&text) else {
        return reached;
    };
    reached.manifest = true;
    let view = parse(data).ok();
    let header = view.as_ref().map(|v| *v.header());
    let now = match header {
        Some(h) if rng.below(8) != 0 => h
            .created_at
            .saturating_add(rng.below(h.expires_at.saturating_sub(h.created_at).max(1))),
        _ => rng.next(),
    };
    let previous = match header {
        Some(h) if rng.below(4) == 0 => Some(Previous {
            name: "previous.dcf".into(),
            channel: if rng.below(4) == 0 {
                h.channel.wrapping_add(1)
            } else {
                h.channel
            },
            sequence: h.sequence.wrapping_add(rng.below(3)).wrapping_sub(1),
            allow_jump: rng.below(2) == 0,
        }),
        _ => None,
    };
    let fleet = [manifest];
    let validation = validate_bytes(data, &fleet, &Options { now, previous });
    if let Some(view) = &view {
        // One binder, both ways: the validator reports a binding error exactly when the
        // sensor's binder refuses the content for the manifest it was checked against (or, with
        // no manifest in range, for the interface the content declares: operands only).
        let h = view.header();
        let interface = if fleet[0].in_range(h.sensor_min, h.sensor_max) {
            fleet[0].clone()
        } else {
            dcf_sensor::SensorInterface::declared_by(view, h.sensor_min)
        };
        let binding = dcf_sensor::bind(view, &interface);
        let reported: Vec<&str> = validation
            .diagnostics
            .iter()
            .filter(|d| matches!(d.code, AnyCode::Check(c) if c.binder_code().is_some()))
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(
            reported.is_empty(),
            binding.is_accepted(),
            "the validator and the binder disagree: validator reports {reported:?}, binder refuses {:?}\nmanifest:\n{text}",
            binding
                .refusals
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        );
        if !validation.has_errors() {
            reached.accepted = true;
            if let Err(e) = binding.into_result() {
                panic!(
                    "the validator accepted a content that the sensor refuses to bind: {e}\nmanifest:\n{text}"
                );
            }
        }
    }
    if let Some(view) = &view
        && view.rule_count() <= DRY_RUN_MAX_RULES
        && fleet[0].in_range(view.header().sensor_min, view.header().sensor_max)
    {
        reached.dry_run = true;
        let run = dry_run(data, &fleet, &DryRunOptions::default());
        for d in &run.diagnostics {
            assert!(
                !matches!(
                    d.code,
                    AnyCode::Check(Code::ProbeMismatch | Code::PrefilterDisagrees)
                ),
                "the dry run found the interpreter wrong: {} {}\nmanifest:\n{text}",
                d.code,
                d.message
            );
            // The cost model bounds every probe of a content the binder accepts: the
            // run-time fence (E3505, LOADER.md COST-6) never stops one.
            assert!(
                !d.message
                    .contains(dcf_sensor::SensorCode::BudgetSpent.as_str()),
                "a probe overran the sensor's budget: {} {}\nmanifest:\n{text}",
                d.code,
                d.message
            );
        }
    }
    reached
}
