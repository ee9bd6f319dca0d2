//! The semantic corpus (`corpus/semantic/`): one case per validator code, each reporting
//! exactly its code.
//!
//! Binary cases are generated here from code with `dcf_parser::Content::encode`;
//! `DCF_UPDATE_CORPUS=1 cargo test -p dcf-validator --test semantic_corpus` rewrites them, and
//! without it the test fails when the committed files differ from what this code makes.
//! Source cases (`E2xxx-*.yaml|json`) and the manifests are written by hand.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use dcf_parser::{
    Action, Attribute, CompareOp, Content, Field, FieldType, Header, Match, MatchKind, Node,
    Operand, Rule, RuleId, SensorVersion, Severity as RuleSeverity, Target, Template,
};
use dcf_validator::keys;
use dcf_validator::source::{self, HeaderOverrides};
use dcf_validator::{Code, Options, Previous, validate_bytes};

use common::{NOW, corpus_dir, load_manifests, trusted_key, untrusted_key};

type Expr = Vec<Node<Vec<String>>>;

fn v(major: u16, minor: u16, patch: u16) -> SensorVersion {
    SensorVersion {
        major,
        minor,
        patch,
    }
}

fn values(list: &[&str]) -> Operand<Vec<String>> {
    Operand::Values(list.iter().map(|s| s.to_string()).collect())
}

fn m(kind: MatchKind, field: u16, list: &[&str]) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target: Target::Field(field),
        case_sensitive: false,
        all_of: false,
        operand: values(list),
    })
}

/// Field indexes of `named_pipe_ipc` (corpus/semantic/manifests).
const PIPE_NAME: u16 = 0;
const IMAGE: u16 = 1;
const INTEGRITY_LEVEL: u16 = 5;
const REMOTE_IP: u16 = 16;
const IMPERSONATION_LEVEL: u16 = 20;

/// The 21-field interface of sensor 7.12, read from the committed manifest.
fn pipe_template() -> Template {
    let fleet = load_manifests();
    let spec = fleet
        .iter()
        .find(|m| m.version == v(7, 12, 0))
        .and_then(|m| m.template(4))
        .expect("sensor-7.12.toml defines template 4")
        .clone();
    Template {
        id: spec.id,
        name: spec.name,
        fields: spec
            .fields
            .into_iter()
            .map(|f| Field {
                name: f.name,
                kind: f.kind,
            })
            .collect(),
    }
}

fn rule(n: u8, title: &str, action: Action, expression: Expr) -> Rule {
    let mut id = [0u8; 16];
    id[0] = 0xc0;
    id[15] = n;
    Rule {
        id: RuleId(id),
        template: 4,
        title: title.into(),
        author: "dcf corpus".into(),
        severity: RuleSeverity::High,
        action,
        attributes: vec![Attribute {
            key: "tag".into(),
            value: "corpus".into(),
        }],
        expression,
    }
}

/// A content every check accepts, with one rule.
fn base(expression: Expr) -> Content {
    Content {
        header: Header {
            minor: 0,
            channel: 291,
            sequence: 11,
            created_at: 1_700_000_000,
            expires_at: 1_900_000_000,
            sensor_min: v(7, 11, 0),
            sensor_max: v(7, 12, 65535),
        },
        templates: vec![pipe_template()],
        rules: vec![rule(1, "Corpus rule", Action::Detect, expression)],
        extensions: vec![],
        signature: None,
    }
}

fn good_expression() -> Expr {
    vec![
        m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
        m(MatchKind::EndsWith, IMAGE, &["\\rundll32.exe"]),
        Node::And { children: 2 },
    ]
}

fn with_rule(expression: Expr) -> Content {
    base(expression)
}

/// Every generated file: path relative to corpus/semantic, bytes.
fn generate() -> Vec<(String, Vec<u8>)> {
    let mut cases: Vec<(&str, Content)> = Vec::new();

    let mut c = base(good_expression());
    c.header.sensor_min = v(8, 0, 0);
    c.header.sensor_max = v(8, 1, 0);
    cases.push(("E1001-no-manifest-in-range", c));

    let mut c = base(good_expression());
    c.templates.push(Template {
        id: 9,
        name: "kernel_callback".into(),
        fields: vec![Field {
            name: "driver".into(),
            kind: FieldType::String,
        }],
    });
    c.rules[0].template = 9;
    c.rules[0].expression = vec![m(MatchKind::Equals, 0, &["evil.sys"])];
    cases.push(("E1002-template-not-implemented", c));

    // Channel File 291: a non-wildcard criterion on field 21 (index 20), which 7.11 lacks.
    cases.push((
        "E1003-field-not-supplied",
        with_rule(vec![
            m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
            m(MatchKind::Equals, IMPERSONATION_LEVEL, &["delegation"]),
            Node::And { children: 2 },
        ]),
    ));

    cases.push((
        "E1004-wildcard-not-supplied",
        with_rule(vec![
            m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
            Node::Any {
                field: IMPERSONATION_LEVEL,
            },
            Node::And { children: 2 },
        ]),
    ));

    let mut c = base(vec![
        m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
        Node::Compare {
            op: CompareOp::Gt,
            field: IMAGE,
            value: 4,
        },
        Node::And { children: 2 },
    ]);
    c.templates[0].fields[usize::from(IMAGE)].kind = FieldType::Integer;
    cases.push(("E1005-field-type-differs", c));

    let mut c = base(good_expression());
    c.templates[0].fields[usize::from(PIPE_NAME)].name = "pipe_path".into();
    cases.push(("E1006-field-name-differs", c));

    let mut c = base(good_expression());
    c.templates[0].name = "ipc_named_pipe".into();
    cases.push(("E1007-template-name-differs", c));

    let mut c = base(good_expression());
    c.templates[0].fields[usize::from(INTEGRITY_LEVEL)].kind = FieldType::Integer;
    cases.push(("E1008-unread-field-differs", c));

    cases.push((
        "E1101-invalid-regex",
        with_rule(vec![m(
            MatchKind::Regex,
            PIPE_NAME,
            &["^(msagent_[0-9a-f]+$"],
        )]),
    ));
    cases.push((
        "E1102-regex-too-big",
        with_rule(vec![m(
            MatchKind::Regex,
            PIPE_NAME,
            &[r"^\w{1000}\w{1000}$"],
        )]),
    ));
    cases.push((
        "E1103-invalid-glob",
        with_rule(vec![m(MatchKind::Glob, IMAGE, &[r"C:\Windows\*.exe"])]),
    ));
    cases.push((
        "E1104-invalid-cidr",
        with_rule(vec![m(MatchKind::Cidr, REMOTE_IP, &["10.0.0.1/8"])]),
    ));
    cases.push((
        "E1105-operand-matches-all",
        with_rule(vec![
            m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
            m(MatchKind::Contains, IMAGE, &[""]),
            Node::And { children: 2 },
        ]),
    ));
    cases.push((
        "E1201-never-matches",
        with_rule(vec![
            m(MatchKind::StartsWith, PIPE_NAME, &["msagent_"]),
            Node::Or { children: 0 },
            Node::And { children: 2 },
        ]),
    ));
    let mut c = base(vec![
        Node::Any { field: PIPE_NAME },
        Node::Any { field: IMAGE },
        Node::And { children: 2 },
    ]);
    c.rules[0].action = Action::Block;
    cases.push(("E1202-block-matches-all", c));
    cases.push((
        "E1203-matches-all",
        with_rule(vec![Node::Or { children: 0 }, Node::Not]),
    ));

    // The cost model is the sensor binder's (LOADER.md COST-2): a regex whose whole DFA does
    // not fit in `REGEX_DENSE_SIZE_LIMIT` (`a[ab]{40}` remembers where each of the last 40
    // `a`s was) runs in the lazy DFA, at 16 steps per byte per state of its NFA; 60 of these
    // regexes of some 60 states on one field cost more per byte than the default budget
    // (32,768 steps).
    let heavy: Vec<String> = (0..60)
        .map(|i| format!(r"a[ab]{{40}}c_postex_{i:02}"))
        .collect();
    let heavy: Vec<&str> = heavy.iter().map(String::as_str).collect();
    cases.push((
        "E1301-cost-per-byte-over-budget",
        with_rule(vec![m(MatchKind::Regex, PIPE_NAME, &heavy)]),
    ));

    // Sensor 7.12 states a budget of 1,000,000 fixed steps per event (its manifest's
    // `[budget]`). A keyword `equals` compares each of its values with every one of the 13
    // string fields: 8 values of 2 KiB cost some 213,000 fixed steps per rule, so the fifth
    // such rule crosses 7.12's budget (and stays far under 7.11's default).
    let long: Vec<String> = (0..8)
        .map(|i| format!("{i}{}", "implant-beacon-".repeat(136)))
        .collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let mut c = base(good_expression());
    c.rules = (0..5u8)
        .map(|n| {
            rule(
                n,
                &format!("Keyword sweep {n}"),
                Action::Log,
                vec![Node::Match(Match {
                    kind: MatchKind::Equals,
                    target: Target::Keyword,
                    case_sensitive: true,
                    all_of: false,
                    operand: values(&long),
                })],
            )
        })
        .collect();
    cases.push(("E1302-cost-per-event-over-budget", c));

    // Each regex outside a whole DFA holds a lazy DFA cache of 256 KiB per evaluating thread:
    // 144 distinct ones (`a[ab]{14}` has no whole DFA of 16 KiB), spread over the 12 string
    // fields of template 4 so that no field's per-byte cost crosses its budget, hold more than
    // the 32 MiB sensor 7.12 allows (and less than 7.11's default 128 MiB: at the default
    // per-byte budget, 12 fields cannot hold that many).
    const STRING_FIELDS: [u16; 12] = [0, 1, 3, 4, 5, 7, 9, 11, 13, 14, 15, 19];
    let mut c = base(good_expression());
    c.rules = (0u8..)
        .zip(STRING_FIELDS)
        .map(|(n, field)| {
            let patterns: Vec<String> = (0..12)
                .map(|i| format!(r"a[ab]{{14}}c_implant{field:02}x{i:02}"))
                .collect();
            let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
            rule(
                n,
                &format!("Regex sweep {n}"),
                Action::Log,
                vec![m(MatchKind::Regex, field, &patterns)],
            )
        })
        .collect();
    cases.push(("E1303-memory-over-budget", c));

    let mut c = base(good_expression());
    c.header.expires_at = 1_750_000_000;
    cases.push(("E1401-expired", c));
    let mut c = base(good_expression());
    c.header.created_at = 1_850_000_000;
    cases.push(("E1402-not-yet-valid", c));
    let mut c = base(good_expression());
    c.header.sequence = 10;
    cases.push(("E1403-sequence-not-increasing", c));
    let mut c = base(good_expression());
    c.header.channel = 292;
    cases.push(("E1404-previous-channel-differs", c));
    // The sequence-range cases are checked without --previous (`codes_of`): a sequence near
    // the end of the range is also a jump over any small previous one.
    let mut c = base(good_expression());
    c.header.sequence = u64::MAX;
    cases.push(("E1405-sequence-no-room", c));
    let mut c = base(good_expression());
    c.header.sequence = 1 << 63;
    cases.push(("E1406-sequence-near-end", c));
    let mut c = base(good_expression());
    c.header.sequence = 10 + (1 << 32) + 1;
    cases.push(("E1407-sequence-jump", c));

    let mut out: Vec<(String, Vec<u8>)> = cases
        .into_iter()
        .map(|(name, c)| {
            let bytes = c
                .encode()
                .unwrap_or_else(|e| panic!("corpus case {name} must encode: {e}"));
            (format!("{name}.dcf"), bytes)
        })
        .collect();

    let mut previous = base(good_expression());
    previous.header.sequence = 10;
    out.push((
        "previous/channel-291-seq-10.dcf".into(),
        previous.encode().expect("previous encodes"),
    ));

    // Signature cases, checked with `keys/trusted.pub`.
    out.push((
        "E1501-unsigned.dcf".into(),
        base(good_expression()).encode().expect("encodes"),
    ));
    let mut c = base(good_expression());
    out.push((
        "E1502-untrusted-key.dcf".into(),
        keys::sign_content(&mut c, &untrusted_key()).expect("signs"),
    ));
    let mut c = base(good_expression());
    let mut bytes = keys::sign_content(&mut c, &trusted_key()).expect("signs");
    // The last byte is inside the signature, outside the digest: the frame stays valid.
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    out.push(("E1503-bad-signature.dcf".into(), bytes));
    let mut c = base(good_expression());
    out.push((
        "signed-ok.dcf".into(),
        keys::sign_content(&mut c, &trusted_key()).expect("signs"),
    ));
    out.push((
        "keys/trusted.pub".into(),
        keys::public_text(&trusted_key().verifying_key()).into_bytes(),
    ));
    out
}

#[test]
fn generated_files_are_up_to_date() {
    let dir = corpus_dir();
    let update = std::env::var_os("DCF_UPDATE_CORPUS").is_some();
    let mut stale = Vec::new();
    for (path, bytes) in generate() {
        let full = dir.join(&path);
        if update {
            fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
            fs::write(&full, &bytes).expect("write corpus file");
        } else if fs::read(&full).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "corpus/semantic differs from the generator for {stale:?}; run DCF_UPDATE_CORPUS=1 cargo test -p dcf-validator --test semantic_corpus"
    );
}

fn options() -> Options {
    let prev = corpus_dir().join("previous/channel-291-seq-10.dcf");
    let bytes = fs::read(&prev).expect("previous file");
    let view = dcf_parser::parse(&bytes).expect("previous parses");
    Options {
        now: NOW,
        previous: Some(Previous {
            name: "previous/channel-291-seq-10.dcf".into(),
            channel: view.header().channel,
            sequence: view.header().sequence,
            allow_jump: false,
        }),
    }
}

/// The codes one case reports, run the way its code's family is checked.
fn codes_of(path: &Path) -> BTreeSet<String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let bytes = fs::read(path).expect("case readable");
    let fleet = load_manifests();
    if name.starts_with("E15") {
        return match keys::verify_signature(&bytes, &[trusted_key().verifying_key()]) {
            Ok(_) => BTreeSet::new(),
            Err(d) => BTreeSet::from([d.code.as_str().to_string()]),
        };
    }
    if name.starts_with("E1405") || name.starts_with("E1406") {
        let without_previous = Options {
            previous: None,
            ..options()
        };
        return validate_bytes(&bytes, &fleet, &without_previous)
            .diagnostics
            .iter()
            .map(|d| d.code.as_str().to_string())
            .collect();
    }
    if name.starts_with("E1") || name.ends_with(".dcf") {
        return validate_bytes(&bytes, &fleet, &options())
            .diagnostics
            .iter()
            .map(|d| d.code.as_str().to_string())
            .collect();
    }
    let named: Vec<(String, dcf_validator::Manifest)> = fleet
        .into_iter()
        .map(|m| (m.version.to_string(), m))
        .collect();
    let source = match source::read_source(name, bytes) {
        Ok(s) => s,
        Err(d) => return BTreeSet::from([d.code.as_str().to_string()]),
    };
    source::compile(&[source], &named, &HeaderOverrides::default(), NOW)
        .diagnostics
        .iter()
        .map(|l| l.diagnostic.code.as_str().to_string())
        .collect()
}

fn case_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("corpus/semantic exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('E') && n.contains('-'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_case_reports_exactly_its_code() {
    let mut failures = Vec::new();
    for path in case_files() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let expected = name.split('-').next().unwrap_or("").to_string();
        let found = codes_of(&path);
        if found != BTreeSet::from([expected.clone()]) {
            failures.push(format!(
                "{name}: expected exactly {expected}, found {found:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_content_and_source_code_has_a_case() {
    let covered: BTreeSet<String> = case_files()
        .iter()
        .filter_map(|p| {
            p.file_name()?
                .to_str()?
                .split('-')
                .next()
                .map(str::to_string)
        })
        .collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| c.is_semantic() || c.is_source())
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a corpus case: {missing:?}"
    );
}

#[test]
fn good_content_is_accepted_and_verifies() {
    let fleet = load_manifests();
    let bytes = fs::read(corpus_dir().join("signed-ok.dcf")).expect("signed-ok.dcf");
    let v = validate_bytes(&bytes, &fleet, &options());
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    let key_id =
        keys::verify_signature(&bytes, &[trusted_key().verifying_key()]).expect("verifies");
    assert_eq!(key_id, keys::key_id(&trusted_key().verifying_key()));
    // The 7.10 manifest lies outside the range and is said to be ignored.
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("ignored") && n.contains("7.10.0"))
    );
}

#[test]
fn a_sequence_jump_is_accepted_when_asked_for() {
    let fleet = load_manifests();
    let bytes = fs::read(corpus_dir().join("E1407-sequence-jump.dcf")).expect("E1407 case");
    let mut allowed = options();
    if let Some(p) = &mut allowed.previous {
        p.allow_jump = true;
    }
    let v = validate_bytes(&bytes, &fleet, &allowed);
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    // One step less than the limit needs no flag.
    let mut c = Content::decode(&bytes).expect("decodes");
    c.header.sequence = 10 + (1 << 32);
    let v = validate_bytes(&c.encode().expect("encodes"), &fleet, &options());
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
}
