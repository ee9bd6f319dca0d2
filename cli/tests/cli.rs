//! Golden tests of the `dcf` command line: every command, and the rendering of every code
//! (parser codes through `corpus/invalid`, validator codes through `corpus/semantic`).
//!
//! Each test runs commands from the repository root and snapshots a transcript (command, exit
//! code, standard output, standard error) with insta. `INSTA_UPDATE=always cargo test -p
//! dcf-cli --test cli` rewrites the snapshots. No command may exit with 101 (a panic).

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
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2027-01-15T08:00:00Z";
const SEM: &str = "corpus/semantic";

/// A scratch directory for one test, removed and recreated.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcf-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

struct Transcript {
    text: String,
    scratch: Option<PathBuf>,
    redactions: Vec<(String, String)>,
}

impl Transcript {
    fn new(scratch: Option<PathBuf>) -> Self {
        Transcript {
            text: String::new(),
            scratch,
            redactions: Vec::new(),
        }
    }

    /// Runs `dcf ARGS` from the repository root; returns (exit code, stdout, stderr).
    fn run(&mut self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_dcf"))
            .args(args)
            .current_dir(common::repo_root())
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .output()
            .expect("dcf runs");
        let code = out.status.code().unwrap_or(-1);
        assert_ne!(
            code,
            101,
            "dcf panicked on {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.code().is_some(),
            "dcf was killed by a signal on {args:?}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.text
            .push_str(&format!("$ dcf {}\nexit: {code}\n", args.join(" ")));
        if !stdout.is_empty() {
            self.text.push_str("--- stdout\n");
            self.text.push_str(&stdout);
        }
        if !stderr.is_empty() {
            self.text.push_str("--- stderr\n");
            self.text.push_str(&stderr);
        }
        self.text.push('\n');
        (code, stdout, stderr)
    }

    fn redact(&mut self, from: &str, to: &str) {
        self.redactions.push((from.to_string(), to.to_string()));
    }

    fn finish(self) -> String {
        let mut text = self.text;
        for (from, to) in &self.redactions {
            text = text.replace(from, to);
        }
        if let Some(dir) = &self.scratch {
            text = text.replace(&dir.display().to_string(), "[TMP]");
        }
        text
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn help() {
    let mut t = Transcript::new(None);
    t.run(&["--help"]);
    for cmd in [
        "compile",
        "decompile",
        "validate",
        "test",
        "inspect",
        "keygen",
        "sign",
        "verify",
    ] {
        t.run(&[cmd, "--help"]);
    }
    let (code, _, _) = t.run(&["--version"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", t.finish());
}

/// The README's flow on the bundled example: compile, validate, keygen, sign, verify, inspect,
/// decompile and compile again.
#[test]
fn example_flow() {
    let dir = scratch("example");
    let mut t = Transcript::new(Some(dir.clone()));
    let content = s(&dir.join("content.dcf"));
    let signed = s(&dir.join("content.signed.dcf"));
    let key = s(&dir.join("signing"));
    let (code, out, err) = t.run(&[
        "compile",
        "examples/rules",
        "--manifest",
        "examples/manifests",
        "--now",
        NOW,
        "-o",
        &content,
    ]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", ""),
        "compile is quiet"
    );
    let (code, out, err) = t.run(&[
        "validate",
        &content,
        "--manifest",
        "examples/manifests",
        "--now",
        NOW,
    ]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", ""),
        "validate is quiet"
    );
    t.run(&[
        "validate",
        &content,
        "--manifest",
        "examples/manifests",
        "--now",
        NOW,
        "-v",
    ]);
    let (code, out, _) = t.run(&["keygen", "--out", &key]);
    assert_eq!(code, 0);
    let key_id = out
        .split_whitespace()
        .nth(2)
        .expect("keygen prints the key id")
        .to_string();
    assert_eq!(key_id.len(), 32);
    t.redact(&key_id, "<key-id>");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(format!("{key}.secret"))
            .expect("secret")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is private");
    }
    t.run(&["keygen", "--out", &key]);
    let (code, _, _) = t.run(&[
        "sign",
        &content,
        "--key",
        &format!("{key}.secret"),
        "--manifest",
        "examples/manifests",
        "--now",
        NOW,
        "-o",
        &signed,
    ]);
    assert_eq!(code, 0);
    let (code, out, _) = t.run(&["verify", &signed, "--pubkey", &format!("{key}.pub")]);
    assert_eq!(code, 0);
    assert!(out.contains(&key_id));
    t.run(&["verify", &content, "--pubkey", &format!("{key}.pub")]);
    t.run(&["inspect", &signed]);
    let (code, json, _) = t.run(&["inspect", &content, "--format", "json"]);
    assert_eq!(code, 0);
    let decoded: dcf_parser::Content =
        serde_json::from_str(&json).expect("inspect json is the content");
    assert_eq!(decoded.rules.len(), 6);
    let source = s(&dir.join("content.yaml"));
    let again = s(&dir.join("again.dcf"));
    t.run(&["decompile", &content, "-o", &source]);
    let (code, _, _) = t.run(&["compile", &source, "-o", &again]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read(&content).expect("content"),
        std::fs::read(&again).expect("again"),
        "decompile then compile reproduces the bytes"
    );
    // Signing changes only the flag, the trailer and nothing else of the body.
    let a = std::fs::read(&content).expect("content");
    let b = std::fs::read(&signed).expect("signed");
    assert_eq!(b.len(), a.len() + 80);
    insta::assert_snapshot!("example_flow", t.finish());
    let _ = std::fs::remove_dir_all(dir);
}

/// Every E1xxx code (but signatures) rendered for people, and as JSON.
#[test]
fn semantic_corpus_validate() {
    let mut t = Transcript::new(None);
    let previous = format!("{SEM}/previous/channel-291-seq-10.dcf");
    let manifests = format!("{SEM}/manifests");
    let (code, _, err) = t.run(&[
        "validate",
        SEM,
        "--manifest",
        &manifests,
        "--previous",
        &previous,
        "--now",
        NOW,
    ]);
    assert_eq!(code, 1);
    let shown: BTreeSet<&str> = err
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 5 && w.starts_with("E1"))
        .collect();
    for c in dcf_validator::Code::ALL.iter().filter(|c| c.is_semantic()) {
        if !c.as_str().starts_with("E15") {
            assert!(shown.contains(c.as_str()), "{} is not rendered", c.as_str());
        }
    }
    insta::assert_snapshot!("semantic_corpus_validate_human", t.finish());

    let mut t = Transcript::new(None);
    let (code, json, _) = t.run(&[
        "validate",
        SEM,
        "--manifest",
        &manifests,
        "--previous",
        &previous,
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    for file in doc["files"].as_array().expect("files") {
        assert!(file["path"].is_string() && file["valid"].is_boolean());
        for d in file["diagnostics"].as_array().expect("diagnostics") {
            assert!(
                d["code"]
                    .as_str()
                    .is_some_and(|c| c.len() == 5 && c.starts_with('E'))
            );
            assert!(matches!(d["severity"].as_str(), Some("error" | "warning")));
            assert!(d["message"].is_string());
            assert!(d["offset"].is_u64() || d["offset"].is_null());
            assert!(d["rule"].is_string() || d["rule"].is_null());
        }
    }
    insta::assert_snapshot!("semantic_corpus_validate_json", t.finish());
}

#[test]
fn semantic_corpus_verify() {
    let mut t = Transcript::new(None);
    let key = format!("{SEM}/keys/trusted.pub");
    for case in [
        "E1501-unsigned",
        "E1502-untrusted-key",
        "E1503-bad-signature",
        "signed-ok",
    ] {
        let (code, _, _) = t.run(&["verify", &format!("{SEM}/{case}.dcf"), "--pubkey", &key]);
        assert_eq!(code, if case == "signed-ok" { 0 } else { 1 }, "{case}");
    }
    insta::assert_snapshot!("semantic_corpus_verify", t.finish());
}

/// Every E2xxx code rendered with its line and column.
#[test]
fn semantic_corpus_compile() {
    let dir = scratch("compile");
    let mut t = Transcript::new(Some(dir.clone()));
    let mut cases: Vec<String> = std::fs::read_dir(common::corpus_dir())
        .expect("corpus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("E2"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 16);
    let out = s(&dir.join("out.dcf"));
    for case in &cases {
        let path = format!("{SEM}/{case}");
        let (code, _, err) = t.run(&[
            "compile",
            &path,
            "--manifest",
            &format!("{SEM}/manifests"),
            "--now",
            NOW,
            "-o",
            &out,
        ]);
        assert_eq!(code, 1, "{case}");
        assert!(err.contains(&case[..5]), "{case} does not render its code");
    }
    let (code, json, _) = t.run(&[
        "compile",
        &format!("{SEM}/E2008-unknown-field.yaml"),
        "--manifest",
        &format!("{SEM}/manifests"),
        "--now",
        NOW,
        "-o",
        &out,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    let d = &doc["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "E2008");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(17), Some(18))
    );
    assert!(!Path::new(&out).exists(), "nothing is written on error");
    insta::assert_snapshot!("semantic_corpus_compile", t.finish());
    let _ = std::fs::remove_dir_all(dir);
}

/// Every parser code rendered, with a hex excerpt around its offset.
#[test]
fn parser_codes() {
    let mut t = Transcript::new(None);
    let (code, _, err) = t.run(&[
        "validate",
        "corpus/invalid",
        "--manifest",
        &format!("{SEM}/manifests"),
        "--now",
        NOW,
    ]);
    assert_eq!(code, 1);
    for c in dcf_parser::ErrorCode::ALL {
        assert!(err.contains(c.as_str()), "{} is not rendered", c.as_str());
    }
    insta::assert_snapshot!("parser_codes", t.finish());
}

#[test]
fn inspect_hexdump() {
    let mut t = Transcript::new(None);
    let (code, out, _) = t.run(&["inspect", "--hexdump", "corpus/valid/minimal.dcf"]);
    assert_eq!(code, 0);
    for label in [
        "header.magic",
        "section.tag",
        "strings.bytes",
        "rule.id",
        "node.op",
        "digest",
    ] {
        assert!(out.contains(label), "hexdump lacks {label}");
    }
    let (code, out, _) = t.run(&[
        "inspect",
        "--hexdump",
        "corpus/invalid/E0107-corrupted-body.dcf",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("E0107"), "the rejection is marked in the map");
    t.run(&["inspect", "corpus/invalid/E0107-corrupted-body.dcf"]);
    t.run(&["inspect", "corpus/valid/signed.dcf"]);
    insta::assert_snapshot!("inspect_hexdump", t.finish());
}

/// Inputs that must give a clear message and exit 2 (usage or I/O) or 1 (rejected).
#[test]
fn bad_inputs() {
    let dir = scratch("bad");
    let mut t = Transcript::new(Some(dir.clone()));
    let m = format!("{SEM}/manifests");
    let p = |name: &str| s(&dir.join(name));

    let expect = |t: &mut Transcript, args: &[&str], want: i32, code_text: &str| {
        let (code, out, err) = t.run(args);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(
            err.contains(code_text) || out.contains(code_text),
            "{args:?} does not report {code_text}: {err}"
        );
    };

    expect(
        &mut t,
        &["validate", &p("missing.dcf"), "--manifest", &m],
        2,
        "E9001",
    );
    std::fs::create_dir_all(dir.join("empty-dir")).expect("dir");
    expect(
        &mut t,
        &["validate", &p("empty-dir"), "--manifest", &m],
        2,
        "E9002",
    );
    std::fs::write(dir.join("empty.dcf"), b"").expect("write");
    expect(
        &mut t,
        &["validate", &p("empty.dcf"), "--manifest", &m, "--now", NOW],
        1,
        "E0103",
    );
    let big = std::fs::File::create(dir.join("big.dcf")).expect("create");
    big.set_len(dcf_parser::limits::MAX_FILE_SIZE as u64 + 1)
        .expect("sparse file");
    expect(
        &mut t,
        &["validate", &p("big.dcf"), "--manifest", &m],
        1,
        "E0101",
    );
    expect(&mut t, &["inspect", &p("big.dcf")], 1, "E0101");
    expect(&mut t, &["inspect", &p("empty-dir")], 2, "E9001");
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &p("missing.toml"),
        ],
        2,
        "E9001",
    );
    std::fs::write(
        dir.join("bad.toml"),
        "version = \"7.11.0\"\n[[template]]\nid = \"four\"\n",
    )
    .expect("write");
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &p("bad.toml"),
        ],
        2,
        "E9101",
    );
    std::fs::write(dir.join("dup.toml"), "version = \"7.11\"\n").expect("write");
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &p("dup.toml"),
        ],
        2,
        "E9102",
    );
    std::fs::write(dir.join("latin1.toml"), b"version = \"7.11.0\" # caf\xe9\n").expect("write");
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &p("latin1.toml"),
        ],
        2,
        "E9101",
    );
    std::fs::create_dir_all(dir.join("conflict")).expect("dir");
    std::fs::copy(
        common::corpus_dir().join("manifests/sensor-7.11.toml"),
        dir.join("conflict/a.toml"),
    )
    .expect("copy");
    std::fs::write(dir.join("conflict/b.toml"), "version = \"7.11.0\"\n").expect("write");
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &p("conflict"),
        ],
        2,
        "E9103",
    );
    expect(
        &mut t,
        &[
            "compile",
            &format!("{SEM}/E2015-not-utf8.yaml"),
            "--manifest",
            &m,
            "-o",
            &p("x.dcf"),
        ],
        1,
        "E2015",
    );
    let big = std::fs::File::create(dir.join("big.yaml")).expect("create");
    big.set_len(dcf_validator::limits::MAX_SOURCE_SIZE + 1)
        .expect("sparse file");
    expect(
        &mut t,
        &["compile", &p("big.yaml"), "-o", &p("x.dcf")],
        2,
        "E9003",
    );
    std::fs::write(dir.join("empty.yaml"), "").expect("write");
    expect(
        &mut t,
        &["compile", &p("empty.yaml"), "-o", &p("x.dcf")],
        1,
        "E2012",
    );
    expect(
        &mut t,
        &[
            "compile",
            "examples/rules",
            "--manifest",
            "examples/manifests",
            "-o",
            &p("empty.dcf/x.dcf"),
        ],
        2,
        "E9004",
    );
    expect(
        &mut t,
        &[
            "validate",
            "corpus/valid/minimal.dcf",
            "--manifest",
            &m,
            "--previous",
            "corpus/invalid/E0107-corrupted-body.dcf",
        ],
        2,
        "E9005",
    );
    std::fs::write(dir.join("k.secret"), "dcf-ed25519-secret-v1\nnot hex\n").expect("write");
    expect(
        &mut t,
        &[
            "sign",
            "corpus/valid/minimal.dcf",
            "--key",
            &p("k.secret"),
            "--manifest",
            &m,
            "-o",
            &p("s.dcf"),
        ],
        2,
        "E9201",
    );
    expect(
        &mut t,
        &[
            "verify",
            "corpus/valid/minimal.dcf",
            "--pubkey",
            &format!("{SEM}/E2001-syntax.yaml"),
        ],
        2,
        "E9201",
    );
    // Rejected content is never signed.
    std::fs::write(
        dir.join("t.secret"),
        dcf_validator::keys::secret_text(&common::trusted_key()),
    )
    .expect("write");
    let (code, _, err) = t.run(&[
        "sign",
        &format!("{SEM}/E1003-field-not-supplied.dcf"),
        "--key",
        &p("t.secret"),
        "--manifest",
        &m,
        "--now",
        NOW,
        "-o",
        &p("s.dcf"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("E1003") && err.contains("not signed"));
    assert!(!dir.join("s.dcf").exists());
    // Usage errors come from the argument parser with exit 2.
    expect(
        &mut t,
        &["validate", "corpus/valid/minimal.dcf"],
        2,
        "--manifest",
    );
    expect(
        &mut t,
        &["validate", "x.dcf", "--manifest", &m, "--now", "yesterday"],
        2,
        "yesterday",
    );
    expect(&mut t, &["frobnicate"], 2, "frobnicate");
    insta::assert_snapshot!("bad_inputs", t.finish());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn deny_warnings_and_exit_codes() {
    let mut t = Transcript::new(None);
    let m = format!("{SEM}/manifests");
    let case = format!("{SEM}/E1004-wildcard-not-supplied.dcf");
    let (code, _, _) = t.run(&["validate", &case, "--manifest", &m, "--now", NOW]);
    assert_eq!(code, 0, "warnings do not fail validation");
    let (code, _, _) = t.run(&[
        "validate",
        &case,
        "--manifest",
        &m,
        "--now",
        NOW,
        "--deny-warnings",
    ]);
    assert_eq!(code, 1, "--deny-warnings fails on a warning");
    let (code, json, _) = t.run(&[
        "validate",
        &case,
        "--manifest",
        &m,
        "--now",
        NOW,
        "--deny-warnings",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(doc["files"][0]["valid"], false);
    insta::assert_snapshot!("deny_warnings", t.finish());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let mut t = Transcript::new(None);
    let m = format!("{SEM}/manifests");
    let case = format!("{SEM}/E1003-field-not-supplied.dcf");
    let (_, _, err) = t.run(&[
        "validate",
        &case,
        "--manifest",
        &m,
        "--now",
        NOW,
        "--color",
        "always",
    ]);
    assert!(err.contains("\u{1b}["), "--color always colours");
    let (_, _, err) = t.run(&["validate", &case, "--manifest", &m, "--now", NOW]);
    assert!(
        !err.contains("\u{1b}["),
        "no colour when standard error is not a terminal"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dcf"))
        .args([
            "validate",
            &case,
            "--manifest",
            &m,
            "--now",
            NOW,
            "--color",
            "auto",
        ])
        .current_dir(common::repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("\u{1b}["));
}

/// The Channel File 291 scenario at the command line: compiled against 7.11 and 7.12, a
/// criterion on field 21 is rejected naming 7.11, accepted by a 7.12-only fleet, and a
/// wildcard on it passes with a warning.
#[test]
fn channel_file_291() {
    let dir = scratch("cf291");
    let mut t = Transcript::new(Some(dir.clone()));
    let source = dir.join("cf291.yaml");
    let rule = |criterion: &str| {
        format!(
            "content:\n  channel: 291\n  sequence: 1\n  created: 2026-12-01T00:00:00Z\n  valid_for: 90d\n  sensor_min: \"7.11.0\"\n  sensor_max: \"7.12.65535\"\nrules:\n  - id: 29107e1e-0000-4000-8000-000000000291\n    title: Named pipe used by a C2 framework\n    author: content engineering\n    template: named_pipe_ipc\n    severity: high\n    action: block\n    condition:\n      and:\n        - field: pipe_name\n          starts_with: msagent_\n        - field: impersonation_level\n          {criterion}\n"
        )
    };
    let m711 = format!("{SEM}/manifests/sensor-7.11.toml");
    let m712 = format!("{SEM}/manifests/sensor-7.12.toml");
    let out = s(&dir.join("cf291.dcf"));
    for (criterion, expect_711) in [("equals: delegation", 1), ("wildcard: true", 0)] {
        std::fs::write(&source, rule(criterion)).expect("write source");
        let (code, _, _) = t.run(&[
            "compile",
            &s(&source),
            "--manifest",
            &m711,
            "-m",
            &m712,
            "--now",
            NOW,
            "-o",
            &out,
        ]);
        assert_eq!(code, 0);
        let (code, _, err) = t.run(&[
            "validate",
            "--manifest",
            &m711,
            "-m",
            &m712,
            &out,
            "--now",
            NOW,
        ]);
        assert_eq!(code, expect_711, "{criterion}");
        assert!(
            err.contains("7.11.0") && !err.contains("7.12.0"),
            "names 7.11 only: {err}"
        );
        let (code, _, err) = t.run(&["validate", &out, "--manifest", &m712, "--now", NOW]);
        assert_eq!((code, err.as_str()), (0, ""), "7.12 supplies field 21");
    }
    insta::assert_snapshot!("channel_file_291", t.finish());
    let _ = std::fs::remove_dir_all(dir);
}
