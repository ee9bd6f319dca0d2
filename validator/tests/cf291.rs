//! The Channel File 291 scenario: sensor 7.11 supplies 20 named-pipe fields, the content
//! declares 21. A wildcard on field 21 is safe (a warning); a real criterion on it is rejected
//! naming sensor 7.11; the same content is accepted by a fleet of 7.12 sensors, which supply 21.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use dcf_validator::source::{HeaderOverrides, SourceFile, compile};
use dcf_validator::{Code, Manifest, Options, Severity, validate_bytes};

use common::{NOW, load_manifests};

fn manifest(version: &str) -> Manifest {
    load_manifests()
        .into_iter()
        .find(|m| m.version.to_string() == version)
        .unwrap_or_else(|| panic!("corpus manifest {version}"))
}

const HEADER: &str = "content:
  channel: 291
  sequence: 7
  created: 2026-12-01T00:00:00Z
  valid_for: 90d
  sensor_min: \"7.11.0\"
  sensor_max: \"7.12.65535\"
rules:
  - id: 29107e1e-0000-4000-8000-000000000291
    title: Named pipe used by a C2 framework
    author: content engineering
    template: named_pipe_ipc
    severity: high
    action: detect
    condition:
      and:
        - field: pipe_name
          starts_with: msagent_
";

/// Compiles one rule whose last criterion is `criterion` on field 21 (`impersonation_level`,
/// index 20), against the 7.11 and 7.12 manifests: the declared interface has 21 fields.
fn content(criterion: &str) -> Vec<u8> {
    let text = format!("{HEADER}        - field: impersonation_level\n          {criterion}\n");
    let manifests = vec![
        ("sensor-7.11.toml".to_string(), manifest("7.11.0")),
        ("sensor-7.12.toml".to_string(), manifest("7.12.0")),
    ];
    let compiled = compile(
        &[SourceFile {
            name: "cf291.yaml".into(),
            text,
        }],
        &manifests,
        &HeaderOverrides::default(),
        NOW,
    );
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    let content = compiled.content.expect("compiles");
    let template = content.template(4).expect("declares named_pipe_ipc");
    assert_eq!(
        template.fields.len(),
        21,
        "the declared interface is the longest layout"
    );
    content.encode().expect("encodes")
}

fn options() -> Options {
    Options {
        now: NOW,
        previous: None,
    }
}

#[test]
fn manifests_supply_20_and_21_fields() {
    assert_eq!(
        manifest("7.11.0").template(4).map(|t| t.fields.len()),
        Some(20)
    );
    assert_eq!(
        manifest("7.12.0").template(4).map(|t| t.fields.len()),
        Some(21)
    );
}

#[test]
fn wildcard_on_field_21_passes_with_a_warning_naming_7_11() {
    let bytes = content("wildcard: true");
    let v = validate_bytes(&bytes, &[manifest("7.11.0")], &options());
    assert!(v.accepted(false), "{:?}", v.diagnostics);
    assert!(!v.accepted(true), "the warning fails under --deny-warnings");
    let [d] = v.diagnostics.as_slice() else {
        panic!("exactly one diagnostic expected: {:?}", v.diagnostics)
    };
    assert_eq!(d.check_code(), Some(Code::WildcardFieldNotSupplied));
    assert_eq!(d.severity(), Severity::Warning);
    assert!(d.message.contains("7.11.0"), "{}", d.message);
    assert!(
        d.message.contains("field 20 `impersonation_level`"),
        "{}",
        d.message
    );
}

#[test]
fn criterion_on_field_21_is_rejected_naming_rule_field_template_and_sensor() {
    let bytes = content("equals: delegation");
    let v = validate_bytes(&bytes, &[manifest("7.11.0")], &options());
    assert!(!v.accepted(false));
    let [d] = v.diagnostics.as_slice() else {
        panic!("exactly one diagnostic expected: {:?}", v.diagnostics)
    };
    assert_eq!(d.check_code(), Some(Code::FieldNotSupplied));
    assert_eq!(d.severity(), Severity::Error);
    for part in [
        "rule 29107e1e-0000-4000-8000-000000000291",
        "Named pipe used by a C2 framework",
        "field 20 `impersonation_level`",
        "template type 4 `named_pipe_ipc`",
        "sensor 7.11.0",
        "supplies only 20 fields",
    ] {
        assert!(
            d.message.contains(part),
            "`{part}` missing from: {}",
            d.message
        );
    }
    assert_eq!(
        d.rule.map(|r| r.to_string()).as_deref(),
        Some("29107e1e-0000-4000-8000-000000000291")
    );
    // The offset is the node that reads the field: inside the file, on a node record.
    let offset = d.offset.expect("located");
    assert!(offset < bytes.len());
}

#[test]
fn the_same_content_validates_against_7_12() {
    let bytes = content("equals: delegation");
    let v = validate_bytes(&bytes, &[manifest("7.12.0")], &options());
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
}

#[test]
fn a_fleet_of_both_rejects_and_names_only_7_11() {
    let bytes = content("equals: delegation");
    let v = validate_bytes(
        &bytes,
        &[manifest("7.11.0"), manifest("7.12.0")],
        &options(),
    );
    let codes: Vec<_> = v
        .diagnostics
        .iter()
        .filter_map(|d| d.check_code())
        .collect();
    assert_eq!(codes, vec![Code::FieldNotSupplied]);
    assert!(v.diagnostics.iter().all(|d| !d.message.contains("7.12")));
}

#[test]
fn narrowing_the_range_to_7_12_accepts_it_and_ignores_7_11() {
    let bytes = content("equals: delegation");
    let mut c = dcf_parser::Content::decode(&bytes).expect("decodes");
    c.header.sensor_min = dcf_parser::SensorVersion {
        major: 7,
        minor: 12,
        patch: 0,
    };
    let bytes = c.encode().expect("encodes");
    let v = validate_bytes(
        &bytes,
        &[manifest("7.11.0"), manifest("7.12.0")],
        &options(),
    );
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("ignored") && n.contains("7.11.0"))
    );
}
