//! The committed reference manifest is exactly what the generator makes of SigmaHQ's data, and
//! the validator's manifest reader accepts it.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

#[test]
fn committed_manifest_is_generated() {
    let generated = dcf_sigma::logsource::reference_manifest(&common::sigma_dir()).unwrap();
    let committed =
        std::fs::read_to_string(common::repo_root().join("sigma/manifests/sigmahq.toml")).unwrap();
    assert!(
        generated == committed,
        "sigma/manifests/sigmahq.toml is stale: run `cargo run -p dcf-sigma --bin sigma-manifest`"
    );
    let manifest = dcf_validator::manifest::from_toml(&committed).unwrap();
    let t = manifest
        .template_named("windows.process_creation")
        .expect("the process creation template");
    // Declared fields first (logsource.json order), then the addon, then the common fields.
    assert_eq!(t.fields[0].name, "CommandLine");
    assert!(t.field_index("GrandparentCommandLine").unwrap() < t.field_index("EventID").unwrap());
    assert_eq!(
        t.id,
        dcf_sigma::logsource::fnv1a32(b"windows/category/process_creation")
    );
    // A log source SigmaHQ declares no fields for gets the fields its rules read.
    let security = manifest.template_named("windows.service.security").unwrap();
    assert!(security.field_index("TargetUserName").is_some());
    // The one declared name that is not a valid manifest name is mapped.
    let auditd = manifest.template_named("linux.service.auditd").unwrap();
    assert!(auditd.field_index("cap_fe_2Ccap_fi").is_some());
}
