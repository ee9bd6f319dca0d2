//! One binder, stated both ways: `dcf validate` reports a binding error (a code whose
//! `binder_code` is set: E1002, E1003, E1005, E1006, E1101..E1104) **exactly when** the sensor's
//! loader refuses the content at binding (E3101..E3104, E3201..E3203), and with the same set
//! of codes.
//!
//! Over the valid corpus, the semantic corpus, generated contents (the fuzzers' generator,
//! bound to their own interface and to perturbed ones) and all of SigmaHQ, each against every
//! shipped manifest. Each content's header is set to target exactly the manifest's version
//! and to be valid now, unsigned, so that everything else the loader checks passes and its
//! verdict is the binding's; the loader is the real one (`Sensor::load`).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arbitrary::Unstructured;
use dcf_parser::{Content, FieldType};
use dcf_sensor::{Channels, LoaderConfig, Sensor, SensorCode, SensorInterface};
use dcf_test_support::{Rng, repo_root};
use dcf_validator::{AnyCode, Manifest, Options, validate_content};

/// Every shipped manifest: the examples', the semantic corpus's and the Sigma reference.
fn shipped_manifests() -> Vec<(String, Manifest)> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in [
        "examples/manifests",
        "corpus/semantic/manifests",
        "sigma/manifests",
    ] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        here.sort();
        paths.extend(here);
    }
    assert!(paths.len() >= 6, "manifests: {paths:?}");
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let name = p
                .strip_prefix(repo_root())
                .unwrap_or(p)
                .display()
                .to_string();
            (name, dcf_validator::manifest::from_toml(&text).unwrap())
        })
        .collect()
}

fn dcf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcf"))
        .collect();
    files.sort();
    files
}

/// What one comparison found, for the totals the test asserts.
#[derive(Default)]
struct Tally {
    compared: usize,
    refused: usize,
    codes: BTreeSet<SensorCode>,
}

/// Compares the validator and the loader on `content` retargeted at `manifest`.
fn compare(name: &str, content: &Content, manifest: &Manifest, tally: &mut Tally) {
    let mut c = content.clone();
    c.signature = None;
    c.header.sensor_min = manifest.version;
    c.header.sensor_max = manifest.version;
    c.header.sequence = c.header.sequence.clamp(1, u64::MAX >> 1);
    if c.header.expires_at <= c.header.created_at {
        c.header.expires_at = c.header.created_at.saturating_add(1);
    }
    let Ok(bytes) = c.encode() else {
        return;
    };
    let view = dcf_parser::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let now = c.header.created_at;
    let validation = validate_content(
        &view,
        std::slice::from_ref(manifest),
        &Options {
            now,
            previous: None,
        },
    );
    let reported: BTreeSet<SensorCode> = validation
        .diagnostics
        .iter()
        .filter_map(|d| match d.code {
            AnyCode::Check(code) => code.binder_code(),
            _ => None,
        })
        .collect();
    let mut config = LoaderConfig::new(manifest.clone(), Vec::new(), Channels::Any);
    config.allow_unsigned = true;
    let sensor = Sensor::new(config, 0).unwrap();
    let loaded = sensor.load(&bytes, now);
    let binding = dcf_sensor::bind(&view, manifest);
    let refused: BTreeSet<SensorCode> = binding.refusals.iter().map(|r| r.code()).collect();
    let who = format!("{name} on {}", manifest.display_name());
    match &loaded {
        Ok(_) => assert!(
            reported.is_empty(),
            "{who}: the sensor loads it, but validate reports binding errors {reported:?}"
        ),
        Err(e) => {
            let code = SensorCode::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == e.code())
                .unwrap_or_else(|| panic!("{who}: refused by the loader, not at binding: {e}"));
            assert!(
                reported.contains(&code),
                "{who}: the loader refuses it with {e}, but validate reports {reported:?}"
            );
            tally.refused += 1;
        }
    }
    assert_eq!(
        reported, refused,
        "{who}: validate's binding codes differ from the binder's refusals"
    );
    tally.codes.extend(refused);
    tally.compared += 1;
}

fn corpus(dir: &str, tally: &mut Tally) {
    let files = dcf_files(&repo_root().join(dir));
    assert!(!files.is_empty(), "{dir} is empty");
    for (name, manifest) in &shipped_manifests() {
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let content = Content::from_view(&dcf_parser::parse(&bytes).unwrap());
            compare(
                &format!("{} ({name})", path.display()),
                &content,
                manifest,
                tally,
            );
        }
    }
}

#[test]
fn validate_and_the_loader_agree_on_the_valid_corpus() {
    let mut tally = Tally::default();
    corpus("corpus/valid", &mut tally);
    assert!(tally.compared >= 60, "{} comparisons", tally.compared);
    // Valid contents against foreign manifests are refused by template type at least.
    assert!(tally.refused > 0 && tally.codes.contains(&SensorCode::TemplateNotSupplied));
}

#[test]
fn validate_and_the_loader_agree_on_the_semantic_corpus() {
    let mut tally = Tally::default();
    corpus("corpus/semantic", &mut tally);
    // The semantic corpus holds a case of every binding refusal.
    for code in [
        SensorCode::TemplateNotSupplied,
        SensorCode::FieldNotSupplied,
        SensorCode::FieldTypeMismatch,
        SensorCode::FieldNameMismatch,
        SensorCode::BadRegex,
        SensorCode::BadGlob,
        SensorCode::BadCidr,
    ] {
        assert!(
            tally.codes.contains(&code),
            "no case of {code}: {:?}",
            tally.codes
        );
    }
}

/// The interface a generated content declares, and perturbations of it: fields cut off (the
/// Channel File 291 shape), a type or a name changed, a template type dropped.
fn interfaces_for(content: &Content, rng: &mut Rng) -> Vec<SensorInterface> {
    let bytes = content.encode().unwrap();
    let view = dcf_parser::parse(&bytes).unwrap();
    let declared = SensorInterface::declared_by(&view, content.header.sensor_min);
    let mut out = vec![declared.clone()];
    if declared.templates.is_empty() {
        return out;
    }
    let t = rng.below(declared.templates.len());
    let mut cut = declared.clone();
    let fields = &mut cut.templates[t].fields;
    fields.truncate(rng.below_or_zero(fields.len()));
    out.push(cut);
    let mut retyped = declared.clone();
    if let Some(f) = retyped.templates[t].fields.first_mut() {
        f.kind = match f.kind {
            FieldType::String => FieldType::Integer,
            _ => FieldType::String,
        };
    }
    out.push(retyped);
    let mut renamed = declared.clone();
    if let Some(f) = renamed.templates[t].fields.last_mut() {
        f.name = format!("{}_renamed", f.name);
    }
    out.push(renamed);
    let mut dropped = declared;
    dropped.templates.remove(t);
    out.push(dropped);
    out
}

#[test]
fn validate_and_the_loader_agree_on_generated_contents() {
    let mut rng = Rng::new(0x000b_1de4);
    let mut tally = Tally::default();
    let manifests = shipped_manifests();
    let mut generated = 0usize;
    while generated < 400 {
        let data = rng.bytes(4096);
        let Ok(content) = dcf_fuzz::generate::content(&mut Unstructured::new(&data)) else {
            continue;
        };
        generated += 1;
        for interface in interfaces_for(&content, &mut rng) {
            compare(
                &format!("generated #{generated}"),
                &content,
                &interface,
                &mut tally,
            );
        }
        let (name, manifest) = &manifests[rng.below(manifests.len())];
        compare(
            &format!("generated #{generated} ({name})"),
            &content,
            manifest,
            &mut tally,
        );
    }
    assert!(tally.compared >= 1600, "{} comparisons", tally.compared);
    for code in [
        SensorCode::TemplateNotSupplied,
        SensorCode::FieldNotSupplied,
        SensorCode::FieldTypeMismatch,
        SensorCode::FieldNameMismatch,
    ] {
        assert!(
            tally.codes.contains(&code),
            "no case of {code}: {:?}",
            tally.codes
        );
    }
}

#[test]
fn validate_and_the_loader_agree_on_all_of_sigmahq() {
    let rules = repo_root().join("../shared/sigma/rules");
    assert!(
        rules.is_dir(),
        "SigmaHQ's rules are not at {}",
        rules.display()
    );
    let reference = dcf_validator::manifest::from_toml(
        &std::fs::read_to_string(repo_root().join("sigma/manifests/sigmahq.toml")).unwrap(),
    )
    .unwrap();
    let (content, report) = dcf_sigma::compile_paths(
        &[rules],
        std::slice::from_ref(&reference),
        &dcf_sigma::ImportOptions::default(),
    )
    .unwrap();
    assert!(content.rules.len() > 2500, "{} rules", content.rules.len());
    drop(report);
    let mut tally = Tally::default();
    for (name, manifest) in &shipped_manifests() {
        compare(&format!("SigmaHQ ({name})"), &content, manifest, &mut tally);
    }
    // It binds to the manifest it was compiled for, and not to the examples' sensors.
    assert_eq!(tally.compared, shipped_manifests().len());
    assert_eq!(tally.refused, tally.compared - 1);
}

/// Operands on which the gate and the loader decided differently while each had its own
/// parser: host bits and a signed prefix (the validator refused, the loader accepted), and
/// regexes judged by two engines. Each is now one decision, whichever it is.
#[test]
fn operands_the_two_parsers_disagreed_on_are_one_decision() {
    use dcf_parser::{Match, MatchKind, Node, Operand, Target};
    let bytes = std::fs::read(repo_root().join("corpus/valid/base.dcf")).unwrap();
    let base = Content::from_view(&dcf_parser::parse(&bytes).unwrap());
    let template = base.rules[0].template;
    let declared = base
        .templates
        .iter()
        .find(|t| t.id == template)
        .expect("the rule's template is declared");
    let field = |kind: FieldType| {
        declared
            .fields
            .iter()
            .position(|f| f.kind == kind)
            .and_then(|i| u16::try_from(i).ok())
    };
    let text = field(FieldType::String).expect("base.dcf has a string field");
    let cases: Vec<(MatchKind, &str, bool)> = vec![
        (MatchKind::Cidr, "10.0.0.1/8", false),
        (MatchKind::Cidr, "10.0.0.0/+8", false),
        (MatchKind::Cidr, "10.0.0.0/8", true),
        (MatchKind::Regex, "(?=x)", false),
        (MatchKind::Regex, r"\w{1000}\w{1000}", false),
        (MatchKind::Regex, r"(a|b){200}", true),
        (MatchKind::Glob, r"C:\Windows\*", false),
    ];
    let view_bytes = base.encode().unwrap();
    let view = dcf_parser::parse(&view_bytes).unwrap();
    let manifest = SensorInterface::declared_by(&view, base.header.sensor_min);
    for (kind, value, accepted) in cases {
        let mut c = base.clone();
        c.rules[0].expression = vec![Node::Match(Match {
            kind,
            target: Target::Field(text),
            case_sensitive: false,
            all_of: false,
            operand: Operand::Values(vec![value.to_string()]),
        })];
        let mut tally = Tally::default();
        compare(&format!("{kind} `{value}`"), &c, &manifest, &mut tally);
        assert_eq!(tally.refused == 0, accepted, "{kind} `{value}`");
    }
}
