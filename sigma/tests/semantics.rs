//! Sigma constructs, compiled and run by the sensor interpreter on hand-made events, and the
//! codes of refused rules.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use dcf_events::named::FlatEvent;
use dcf_events::value::borrow_values;
use dcf_sensor::{Event, Scratch};
use dcf_sigma::{Code, ImportOptions, Source, compile_sources};
use serde_json::json;

const MANIFEST: &str = r#"
sensor = "test"
version = "1.0.0"
[[template]]
id = 7
name = "windows.process_creation"
fields = [
    { name = "Image", type = "string" },
    { name = "CommandLine", type = "string" },
    { name = "ParentImage", type = "string" },
    { name = "EventID", type = "string" },
    { name = "DestinationIp", type = "string" },
    { name = "User", type = "string" },
]
"#;

fn rule(detection: &str) -> String {
    format!(
        "title: T\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nauthor: A. Author\nlevel: high\n\
         logsource:\n    product: windows\n    category: process_creation\ndetection:\n{detection}"
    )
}

/// Compiles one rule and evaluates it on each event; `Err` carries the skip code and reason.
fn run(detection: &str, events: &[serde_json::Value]) -> Result<Vec<bool>, (Code, String)> {
    run_with(detection, events, &ImportOptions::default())
}

/// [`run`] with import options (placeholders).
fn run_with(
    detection: &str,
    events: &[serde_json::Value],
    options: &ImportOptions,
) -> Result<Vec<bool>, (Code, String)> {
    let manifest = dcf_validator::manifest::from_toml(MANIFEST).unwrap();
    let (content, report) = compile_sources(
        &[Source {
            file: "t.yml".into(),
            relative: "t.yml".into(),
            text: Some(rule(detection)),
        }],
        std::slice::from_ref(&manifest),
        options,
    )
    .unwrap();
    if let Some(s) = report.skipped.first() {
        return Err((s.code, s.reason.clone()));
    }
    let ruleset = dcf_test_support::content::bound(&content, &manifest);
    assert_eq!(ruleset.rules()[0].author, "A. Author");
    let template = manifest.template(7).unwrap();
    let mut scratch = Scratch::new();
    Ok(events
        .iter()
        .map(|e| {
            let flat = FlatEvent::from_json_object(e.as_object().unwrap());
            let values = flat.project(template);
            let fields = borrow_values(&values);
            let mut out = Vec::new();
            ruleset
                .evaluate(
                    &Event {
                        template: 7,
                        fields: &fields,
                    },
                    &mut scratch,
                    &mut out,
                )
                .unwrap();
            !out.is_empty()
        })
        .collect())
}

#[test]
fn plain_values_wildcards_and_escapes() {
    let d =
        "    sel:\n        Image: '*\\cmd.exe'\n        CommandLine: 'a?c*'\n    condition: sel\n";
    assert_eq!(
        run(
            d,
            &[
                json!({"Image": "C:\\Windows\\CMD.EXE", "CommandLine": "ABCdef"}),
                json!({"Image": "C:\\Windows\\cmd.exe", "CommandLine": "ac"}),
                json!({"Image": "C:\\Windows\\xcmd.exe", "CommandLine": "abc"}),
            ]
        )
        .unwrap(),
        [true, false, false]
    );
    let escaped = "    sel:\n        CommandLine: 'x\\*y'\n    condition: sel\n";
    assert_eq!(
        run(
            escaped,
            &[json!({"CommandLine": "x*y"}), json!({"CommandLine": "xzy"})]
        )
        .unwrap(),
        [true, false]
    );
}

#[test]
fn modifiers() {
    let d = "    sel:\n        CommandLine|contains|all:\n            - ' -enc '\n            - 'bypass'\n    condition: sel\n";
    assert_eq!(
        run(
            d,
            &[
                json!({"CommandLine": "x -ENC y BYPASS"}),
                json!({"CommandLine": "x -enc y"})
            ]
        )
        .unwrap(),
        [true, false]
    );
    let windash = "    sel:\n        CommandLine|windash|contains: ' -s '\n    condition: sel\n";
    assert_eq!(
        run(
            windash,
            &[
                json!({"CommandLine": "a /s b"}),
                json!({"CommandLine": "a \u{2013}s b"}),
                json!({"CommandLine": "a s b"}),
            ]
        )
        .unwrap(),
        [true, true, false]
    );
    let re = "    sel:\n        CommandLine|re: '^A\\d+$'\n    ci:\n        CommandLine|re|i: '^b\\w$'\n    condition: sel or ci\n";
    assert_eq!(
        run(
            re,
            &[
                json!({"CommandLine": "A12"}),
                json!({"CommandLine": "a12"}),
                json!({"CommandLine": "B_"}),
                json!({"CommandLine": "A\u{0663}"}),
            ]
        )
        .unwrap(),
        [true, false, true, false],
        "regexes are case-sensitive unless `i`; `\\d` is ASCII as in PCRE"
    );
    let cidr = "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel\n";
    assert_eq!(
        run(
            cidr,
            &[
                json!({"DestinationIp": "10.1.2.3"}),
                json!({"DestinationIp": "11.0.0.1"})
            ]
        )
        .unwrap(),
        [true, false]
    );
    let num = "    sel:\n        EventID|gte: 4600\n        EventID|lt: 4700\n    condition: sel\n";
    assert_eq!(
        run(
            num,
            &[
                json!({"EventID": 4688}),
                json!({"EventID": 4800}),
                json!({"EventID": "x"})
            ]
        )
        .unwrap(),
        [true, false, false]
    );
    let b64 =
        "    sel:\n        CommandLine|base64offset|contains: '/bin/bash'\n    condition: sel\n";
    assert_eq!(
        run(
            b64,
            &[
                json!({"CommandLine": "echo L2Jpbi9iYXNo"}),
                json!({"CommandLine": "eCAvYmluL2Jhc2g="}),
                json!({"CommandLine": "nothing"}),
            ]
        )
        .unwrap(),
        [true, true, false]
    );
    let cased = "    sel:\n        User|cased: 'SYSTEM'\n    condition: sel\n";
    assert_eq!(
        run(
            cased,
            &[json!({"User": "SYSTEM"}), json!({"User": "system"})]
        )
        .unwrap(),
        [true, false]
    );
    let fieldref = "    sel:\n        Image|fieldref: ParentImage\n    condition: sel\n";
    assert_eq!(
        run(
            fieldref,
            &[
                json!({"Image": "a.exe", "ParentImage": "A.EXE"}),
                json!({"Image": "a.exe", "ParentImage": "b.exe"}),
            ]
        )
        .unwrap(),
        [true, false]
    );
    let exists = "    sel:\n        User|exists: false\n    condition: sel\n";
    assert_eq!(
        run(exists, &[json!({"User": "x"}), json!({"Image": "y"})]).unwrap(),
        [false, true]
    );
}

#[test]
fn null_keywords_and_conditions() {
    let d = "    sel:\n        Image|endswith: '.exe'\n    filter_null:\n        ParentImage: null\n    filter_x:\n        User: 'x'\n    condition: sel and not 1 of filter_*\n";
    assert_eq!(
        run(
            d,
            &[
                json!({"Image": "a.exe", "ParentImage": "p"}),
                json!({"Image": "a.exe"}),
                json!({"Image": "a.exe", "ParentImage": "p", "User": "X"}),
            ]
        )
        .unwrap(),
        [true, false, false]
    );
    let kw =
        "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa::*'\n    condition: keywords\n";
    assert_eq!(
        run(
            kw,
            &[
                json!({"CommandLine": "run MIMIKATZ.exe"}),
                json!({"User": "x sekurlsa::logonpasswords"}),
                json!({"CommandLine": "none"}),
            ]
        )
        .unwrap(),
        [true, true, false]
    );
    let all_kw = "    keywords:\n        '|all':\n            - 'alpha'\n            - 'beta'\n    condition: keywords\n";
    assert_eq!(
        run(
            all_kw,
            &[
                json!({"CommandLine": "alpha", "User": "beta"}),
                json!({"CommandLine": "alpha"}),
            ]
        )
        .unwrap(),
        [true, false]
    );
    let of = "    a:\n        User: 'a'\n    b:\n        User|startswith: 'a'\n    c:\n        Image: 'c'\n    condition: 2 of them\n";
    assert_eq!(
        run(
            of,
            &[
                json!({"User": "a"}),
                json!({"User": "ab"}),
                json!({"User": "ab", "Image": "c"})
            ]
        )
        .unwrap(),
        [true, false, true]
    );
}

#[test]
fn refused_rules_carry_codes() {
    let code = |d: &str| run(d, &[]).unwrap_err();
    let (c, reason) = code("    sel:\n        Foo: 'x'\n    condition: sel\n");
    assert_eq!(c, Code::FieldNotSupplied);
    assert_eq!(
        reason,
        "field `Foo` is not supplied by any targeted sensor for log source windows/process_creation"
    );
    let (c, reason) = code("    sel:\n        User|expand: '%Admins%'\n    condition: sel\n");
    assert_eq!(c, Code::PlaceholderMissing);
    assert!(
        reason.contains("placeholder `%Admins%` has no value"),
        "{reason}"
    );
    assert_eq!(
        code("    sel:\n        User|re: '(?=x)y'\n    condition: sel\n").0,
        Code::UnsupportedRegex
    );
    assert_eq!(
        code("    sel:\n        User: 'x'\n    condition: sel | count() > 3\n").0,
        Code::Aggregation
    );
    assert_eq!(
        code("    sel:\n        User: 'x'\n    condition: sel and other\n").0,
        Code::UndefinedIdentifier
    );
    assert_eq!(
        code("    sel:\n        User|base64: 'x*'\n    condition: sel\n").0,
        Code::WildcardEncoding
    );
    assert_eq!(
        code("    sel:\n        User|exists: 'yes please'\n    condition: sel\n").0,
        Code::BadModifierUse
    );
}

/// SIGMA-7, `expand`: each `%name%` stands for each of its values from the placeholder file,
/// the other modifiers then apply to each; a placeholder without a value is E5406.
#[test]
fn expand_takes_its_values_from_the_placeholders() {
    let options = ImportOptions {
        placeholders: dcf_sigma::Placeholders::parse(
            "Admins:\n  - CORP\\alice\n  - CORP\\bob\nTools: ['psexec', 'paexec']\n",
        )
        .unwrap(),
        ..ImportOptions::default()
    };
    let events = [
        json!({"User": "CORP\\alice", "CommandLine": "x"}),
        json!({"User": "corp\\BOB", "CommandLine": "run paexec.exe now"}),
        json!({"User": "CORP\\carol", "CommandLine": "psexec"}),
    ];
    assert_eq!(
        run_with(
            "    sel:\n        User|expand: '%Admins%'\n    condition: sel\n",
            &events,
            &options
        )
        .unwrap(),
        [true, true, false]
    );
    assert_eq!(
        run_with(
            "    sel:\n        CommandLine|contains|expand: '%Tools%.exe'\n    condition: sel\n",
            &events,
            &options
        )
        .unwrap(),
        [false, true, false]
    );
    let (c, reason) = run_with(
        "    sel:\n        User|expand: '%Guests%'\n    condition: sel\n",
        &events,
        &options,
    )
    .unwrap_err();
    assert_eq!(c, Code::PlaceholderMissing, "{reason}");
}

/// SIGMA-8, E5502: rules that each fit a sensor's cost budget alone but not together are
/// compiled up to the budget; the one that would cross it is skipped with the binder's reason,
/// and the content the importer writes is one the sensor accepts.
#[test]
fn rules_over_the_budget_together_are_skipped() {
    let source = |n: u32| {
        Source {
        file: format!("r{n}.yml"),
        relative: format!("r{n}.yml"),
        text: Some(
            rule(&format!(
                "    sel:\n        CommandLine|re: '\\bimplant{n}[a-z]{{20}}\\b'\n    condition: sel\n"
            ))
            .replace("929a690e-bef0-4204-a928-ef5e620d6fcc", &format!("929a690e-bef0-4204-a928-ef5e620d6f{n:02}")),
        ),
    }
    };
    let compile = |manifest: &str, n: u32| {
        let manifest = dcf_validator::manifest::from_toml(manifest).unwrap();
        let sources: Vec<Source> = (0..n).map(source).collect();
        let (content, report) = compile_sources(
            &sources,
            std::slice::from_ref(&manifest),
            &ImportOptions::default(),
        )
        .unwrap();
        (
            dcf_test_support::content::bound(&content, &manifest),
            report,
        )
    };
    let command_line = 1;
    let per_byte = |rules: &dcf_sensor::Ruleset| rules.cost_model(7).unwrap().0[command_line];
    let (one, report) = compile(MANIFEST, 1);
    assert!(report.skipped.is_empty());
    let (two, report) = compile(MANIFEST, 2);
    assert!(report.skipped.is_empty());
    assert!(per_byte(&two) > per_byte(&one));
    // A budget that one such rule fits and two do not.
    let tight = format!(
        "{MANIFEST}\n[budget]\nsteps_per_byte = {}\n",
        per_byte(&one)
    );
    let (bound, report) = compile(&tight, 2);
    let skipped: Vec<_> = report.skipped.iter().map(|s| (s.code, &s.reason)).collect();
    assert_eq!(report.compiled.len(), 1, "{skipped:?}");
    assert_eq!(report.skipped.len(), 1);
    let skipped = &report.skipped[0];
    assert_eq!(skipped.code, Code::CostOverBudget);
    assert_eq!(skipped.file, "r1.yml");
    assert!(skipped.reason.contains("E3601"), "{}", skipped.reason);
    assert_eq!(bound.rules().len(), 1);
    assert!(per_byte(&bound) <= per_byte(&one));
}
