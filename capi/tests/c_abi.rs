//! The C test suite (`tests/c/abi_test.c`) compiled with the system C compiler against the
//! static and the shared library, and run plainly, under AddressSanitizer and
//! UndefinedBehaviorSanitizer, and under valgrind where it is installed. A sanitizer or
//! valgrind report fails the test.
//!
//! This file makes the suite's fixtures: manifests (TOML, read back with the one manifest
//! reader to prove the text says what the interface says), contents signed with the corpus
//! test key, and the case lists the C program walks (`check-cases.txt`: every corpus file
//! with the code and offset `dcf_check` must report; `load-cases.txt`: one refused update per
//! loader code, after a good one that must stay active).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use dcf_conformance::valid::{TEST_KEY_SEED, base, header, m, rule, sign};
use dcf_parser::{Content, Field, FieldType, MatchKind, Node, SensorVersion, Template};
use dcf_sensor::{Budget, SensorInterface};
use ed25519_dalek::SigningKey;

/// The time every good content is loaded at (inside the corpus header's validity).
const NOW: u64 = 1_780_000_000;

fn v711() -> SensorVersion {
    SensorVersion {
        major: 7,
        minor: 11,
        patch: 0,
    }
}

/// A manifest's TOML text for `interface` (`format-spec/MANIFEST.md`).
fn manifest_toml(interface: &SensorInterface) -> String {
    let mut text = format!("version = \"{}\"\n", interface.version);
    if !interface.budget.is_default() {
        let b = interface.budget;
        writeln!(
            text,
            "[budget]\nsteps_per_byte = {}\nsteps_per_event = {}\nmemory = {}",
            b.steps_per_byte, b.steps_per_event, b.memory
        )
        .unwrap();
    }
    for t in &interface.templates {
        writeln!(
            text,
            "[[template]]\nid = {}\nname = \"{}\"\nfields = [",
            t.id, t.name
        )
        .unwrap();
        for f in &t.fields {
            let max = f
                .max_len
                .map(|n| format!(", max_len = {n}"))
                .unwrap_or_default();
            writeln!(
                text,
                "  {{ name = \"{}\", type = \"{}\"{max} }},",
                f.name, f.kind
            )
            .unwrap();
        }
        text.push_str("]\n");
    }
    let back = dcf_validator::manifest::from_toml(&text).expect("the manifest text parses");
    assert_eq!(
        &back, interface,
        "the manifest text says what the interface says"
    );
    text
}

fn interface_of(content: &Content) -> SensorInterface {
    let bytes = content.encode().unwrap();
    SensorInterface::declared_by(&dcf_parser::parse(&bytes).unwrap(), v711())
}

fn with_sequence(mut c: Content, sequence: u64) -> Vec<u8> {
    c.header.sequence = sequence;
    sign(c).encode().unwrap()
}

/// Channel File 291's content: template type 291 declaring 21 IPC fields.
fn ipc_content(expression: Vec<Node<Vec<String>>>, sequence: u64) -> Content {
    let fields = (0..21)
        .map(|i| Field {
            name: format!("ipc_{i}"),
            kind: FieldType::String,
        })
        .collect();
    let mut c = Content {
        header: header(291, sequence),
        templates: vec![Template {
            id: 291,
            name: "named_pipe_ipc".into(),
            fields,
        }],
        rules: vec![rule(1, 291, expression)],
        extensions: vec![],
        signature: None,
    };
    c.rules[0].title = "suspicious pipe".into();
    c
}

/// Generation `g` has `g + 1` rules that all match the probe event, so an evaluation that
/// saw a mix of two contents would count matches that belong to neither.
fn generation(g: u64) -> Vec<u8> {
    let mut c = base();
    c.rules = (0..=g as u8)
        .map(|i| rule(i, 1, vec![m(MatchKind::Contains, 1, &["probe"])]))
        .collect();
    with_sequence(c, g + 1)
}

struct Fixtures {
    dir: PathBuf,
    load_cases: String,
}

impl Fixtures {
    fn file(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
    }

    fn manifest(&self, name: &str, interface: &SensorInterface) {
        self.file(name, manifest_toml(interface).as_bytes());
    }

    /// One line of `load-cases.txt`: on a sensor from `manifest` serving `channel` (with
    /// updates of at most `max_size` bytes, 0 for the format's limit), `good` (if any) loads
    /// at [`NOW`] and then `bad`, loaded at `now`, is refused with `code`.
    #[allow(clippy::too_many_arguments)]
    fn refusal(
        &mut self,
        code: &str,
        now: u64,
        channel: u32,
        max_size: usize,
        manifest: &str,
        good: Option<&str>,
        bad: &str,
    ) {
        writeln!(
            self.load_cases,
            "{code} {now} {channel} {max_size} {manifest} {} {bad}",
            good.unwrap_or("-")
        )
        .unwrap();
    }
}

fn make_fixtures(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = Fixtures {
        dir: dir.to_path_buf(),
        load_cases: String::new(),
    };
    let key = SigningKey::from_bytes(&TEST_KEY_SEED);
    f.file("trusted.key", key.verifying_key().as_bytes());
    f.file(
        "trusted.pub",
        dcf_validator::keys::public_text(&key.verifying_key()).as_bytes(),
    );

    // The base sensor: base()'s templates, with `user` at most 64 bytes long (E3504).
    let mut base_interface = interface_of(&base());
    base_interface.templates[0].fields[4].max_len = Some(64);
    f.manifest("base.toml", &base_interface);
    f.file("base-5.dcf", &with_sequence(base(), 5));
    f.file("base-6.dcf", &with_sequence(base(), 6));
    for g in 0..24 {
        f.file(&format!("gen-{g}.dcf"), &generation(g));
    }

    // Refusals after the good base-5.dcf, in the loader's order.
    let good = with_sequence(base(), 6);
    f.refusal("E0101", NOW, 1, 64, "base.toml", None, "base-6.dcf");
    f.file("not-dcf.bin", b"not a dcf file");
    f.refusal(
        "E0102",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "not-dcf.bin",
    );
    f.file("truncated.dcf", &good[..10]);
    f.refusal(
        "E0103",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "truncated.dcf",
    );
    let mut corrupted = good.clone();
    corrupted[100] ^= 0x20;
    f.file("corrupted.dcf", &corrupted);
    f.refusal(
        "E0107",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "corrupted.dcf",
    );
    let mut unsigned = base();
    unsigned.header.sequence = 6;
    f.file("unsigned.dcf", &unsigned.encode().unwrap());
    f.refusal(
        "E3001",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "unsigned.dcf",
    );
    let mut other = base();
    other.header.sequence = 6;
    let other_key = SigningKey::from_bytes(&[9; 32]);
    other.signature = Some(dcf_parser::Signature {
        key_id: dcf_parser::key_id(other_key.verifying_key().as_bytes()),
        signature: [0; 64],
    });
    f.file("other-key.dcf", &other.encode().unwrap());
    f.refusal(
        "E3002",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "other-key.dcf",
    );
    let mut bad_signature = good.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    f.file("bad-signature.dcf", &bad_signature);
    f.refusal(
        "E3003",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "bad-signature.dcf",
    );
    let mut future = base();
    future.header.sensor_min.major = 8;
    future.header.sensor_max.major = 8;
    f.file("sensor-8.dcf", &with_sequence(future, 7));
    f.refusal(
        "E3004",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "sensor-8.dcf",
    );
    let mut channel_2 = base();
    channel_2.header.channel = 2;
    f.file("channel-2.dcf", &with_sequence(channel_2, 7));
    f.refusal(
        "E3005",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "channel-2.dcf",
    );
    let created = base().header.created_at;
    let expires = base().header.expires_at;
    f.refusal(
        "E3006",
        created - 1,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "base-6.dcf",
    );
    f.refusal(
        "E3007",
        expires,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "base-6.dcf",
    );
    f.refusal(
        "E3008",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "base-5.dcf",
    );
    let operand = |kind: MatchKind, field: u16, value: &str, rule: usize| {
        let mut c = base();
        c.rules[rule].expression = vec![m(kind, field, &[value])];
        with_sequence(c, 6)
    };
    f.file(
        "bad-regex.dcf",
        &operand(MatchKind::Regex, 1, "(unclosed", 0),
    );
    f.refusal(
        "E3201",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "bad-regex.dcf",
    );
    f.file(
        "bad-glob.dcf",
        &operand(MatchKind::Glob, 1, "ends with \\", 0),
    );
    f.refusal(
        "E3202",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "bad-glob.dcf",
    );
    f.file(
        "bad-cidr.dcf",
        &operand(MatchKind::Cidr, 1, "10.0.0.0/40", 1),
    );
    f.refusal(
        "E3203",
        NOW,
        1,
        0,
        "base.toml",
        Some("base-5.dcf"),
        "bad-cidr.dcf",
    );

    // Channel File 291: a sensor supplying 20 IPC fields, content declaring 21.
    let reads_field_0 = ipc_content(vec![m(MatchKind::Contains, 0, &["msagent"])], 1);
    let reads_field_20 = ipc_content(vec![m(MatchKind::Contains, 20, &["msagent"])], 2);
    let mut ipc_20 = interface_of(&reads_field_0);
    ipc_20.templates[0].fields.truncate(20);
    f.manifest("ipc-20.toml", &ipc_20);
    f.manifest("ipc-21.toml", &interface_of(&reads_field_0));
    f.file(
        "ipc-reads-0.dcf",
        &sign(reads_field_0.clone()).encode().unwrap(),
    );
    f.file("ipc-reads-20.dcf", &sign(reads_field_20).encode().unwrap());
    f.refusal(
        "E3102",
        NOW,
        291,
        0,
        "ipc-20.toml",
        Some("ipc-reads-0.dcf"),
        "ipc-reads-20.dcf",
    );
    let reads_field_3 = ipc_content(vec![m(MatchKind::Contains, 3, &["x"])], 1);
    f.file(
        "ipc-reads-3.dcf",
        &sign(reads_field_3.clone()).encode().unwrap(),
    );
    let mut typed = interface_of(&reads_field_3);
    typed.templates[0].fields[3].kind = FieldType::Integer;
    f.manifest("ipc-typed.toml", &typed);
    f.refusal(
        "E3103",
        NOW,
        291,
        0,
        "ipc-typed.toml",
        None,
        "ipc-reads-3.dcf",
    );
    let mut renamed = interface_of(&reads_field_3);
    renamed.templates[0].fields[3].name = "renamed".into();
    f.manifest("ipc-renamed.toml", &renamed);
    f.refusal(
        "E3104",
        NOW,
        291,
        0,
        "ipc-renamed.toml",
        None,
        "ipc-reads-3.dcf",
    );
    let mut other_template = interface_of(&reads_field_3);
    other_template.templates[0].id = 292;
    f.manifest("ipc-292.toml", &other_template);
    f.refusal(
        "E3101",
        NOW,
        291,
        0,
        "ipc-292.toml",
        None,
        "ipc-reads-3.dcf",
    );

    // Budgets (LOADER.md COST-5).
    let budget = |budget: Budget| {
        let mut interface = interface_of(&base());
        interface.budget = budget;
        interface
    };
    f.manifest(
        "budget-per-byte.toml",
        &budget(Budget {
            steps_per_byte: 2_000,
            ..Budget::default()
        }),
    );
    f.file("base-2.dcf", &with_sequence(base(), 2));
    f.file(
        "slow-regex.dcf",
        &operand(MatchKind::Regex, 1, r"\ba[ab]{400}c", 0),
    );
    f.refusal(
        "E3601",
        NOW,
        1,
        0,
        "budget-per-byte.toml",
        Some("base-2.dcf"),
        "slow-regex.dcf",
    );
    f.manifest(
        "budget-per-event.toml",
        &budget(Budget {
            steps_per_event: 8,
            ..Budget::default()
        }),
    );
    f.refusal(
        "E3602",
        NOW,
        1,
        0,
        "budget-per-event.toml",
        None,
        "base-6.dcf",
    );
    f.manifest(
        "budget-memory.toml",
        &budget(Budget {
            memory: 1,
            ..Budget::default()
        }),
    );
    f.file("any-regex.dcf", &operand(MatchKind::Regex, 1, "abc", 0));
    f.refusal(
        "E3603",
        NOW,
        1,
        0,
        "budget-memory.toml",
        Some("base-2.dcf"),
        "any-regex.dcf",
    );
    f.file("load-cases.txt", f.load_cases.as_bytes());

    // Every corpus file, with what `dcf_check` must say of it.
    let corpus = dcf_test_support::repo_root().join("corpus");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("invalid/expected.json")).unwrap())
            .unwrap();
    let mut check_cases = String::new();
    for (name, want) in expected.as_object().unwrap() {
        let path = corpus.join("invalid").join(name);
        writeln!(
            check_cases,
            "{} {} {}",
            want["code"].as_str().unwrap(),
            want["offset"].as_u64().unwrap(),
            path.display()
        )
        .unwrap();
    }
    let mut valid: Vec<PathBuf> = std::fs::read_dir(corpus.join("valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    valid.sort();
    for path in valid {
        writeln!(check_cases, "OK 0 {}", path.display()).unwrap();
    }
    f.file("check-cases.txt", check_cases.as_bytes());
}

/// Where cargo put this crate's static and shared libraries for this test run: beside the
/// test executable in `deps/` (`cargo test` rebuilds them there; only `cargo build` copies
/// them up to `target/debug`, so that copy may be stale).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    assert!(
        dir.join("libdcf.a").is_file(),
        "libdcf.a is not in {}",
        dir.display()
    );
    dir
}

fn compile(out: &Path, extra: &[&str], link: &[String]) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/abi_test.c");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
            "-O1",
        ])
        .args(extra)
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(out)
        .args(link)
        .args(["-lpthread", "-ldl", "-lm"])
        .status()
        .expect("the system C compiler runs");
    assert!(status.success(), "the C suite does not compile ({extra:?})");
}

/// Runs the suite; it must pass and print no sanitizer or valgrind report.
fn run(program: &[&str], fixtures: &Path, env: &[(&str, &str)]) -> String {
    let output = Command::new(program[0])
        .args(&program[1..])
        .arg(fixtures)
        .envs(env.iter().copied())
        .output()
        .expect("the C suite runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{program:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for report in [
        "ERROR: AddressSanitizer",
        "runtime error:",
        "LeakSanitizer",
        "Invalid read",
        "Invalid write",
    ] {
        assert!(
            !stderr.contains(report),
            "{program:?} reported `{report}`:\n{stderr}"
        );
    }
    assert!(stdout.contains("all C ABI tests passed"), "{stdout}");
    stdout
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("capi")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_c_suite_passes_against_the_static_library() {
    let dir = scratch_dir("static");
    let fixtures = dir.join("fixtures");
    make_fixtures(&fixtures);
    let exe = dir.join("abi_test");
    compile(
        &exe,
        &[],
        &[library_dir().join("libdcf.a").display().to_string()],
    );
    let out = run(&[exe.to_str().unwrap()], &fixtures, &[]);
    let corpus_files = std::fs::read_to_string(fixtures.join("check-cases.txt"))
        .unwrap()
        .lines()
        .count();
    assert!(
        out.contains(&format!("dcf_check: {corpus_files} corpus files")),
        "every corpus file went through dcf_check:\n{out}"
    );
    // Every loader refusal code was exercised from C.
    for code in [
        "E0101", "E0102", "E0103", "E0107", "E3001", "E3002", "E3003", "E3004", "E3005", "E3006",
        "E3007", "E3008", "E3101", "E3102", "E3103", "E3104", "E3201", "E3202", "E3203", "E3601",
        "E3602", "E3603",
    ] {
        assert!(
            out.contains(&format!("refused {code}")),
            "{code} not exercised:\n{out}"
        );
    }
}

#[test]
fn the_c_suite_passes_under_address_and_undefined_behaviour_sanitizers() {
    let dir = scratch_dir("sanitized");
    let fixtures = dir.join("fixtures");
    make_fixtures(&fixtures);
    let exe = dir.join("abi_test_asan");
    compile(
        &exe,
        &[
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ],
        &[library_dir().join("libdcf.a").display().to_string()],
    );
    run(
        &[exe.to_str().unwrap()],
        &fixtures,
        &[
            ("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1"),
            ("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1"),
        ],
    );
}

#[test]
fn the_c_suite_passes_under_valgrind_against_the_shared_library() {
    let dir = scratch_dir("shared");
    let fixtures = dir.join("fixtures");
    make_fixtures(&fixtures);
    let exe = dir.join("abi_test_shared");
    let libs = library_dir();
    compile(
        &exe,
        &[],
        &[
            format!("-L{}", libs.display()),
            // RPATH, not RUNPATH: searched before `LD_LIBRARY_PATH`, which cargo points at
            // `target/debug`, where an older copy of the library may lie.
            "-Wl,--disable-new-dtags".into(),
            format!("-Wl,-rpath,{}", libs.display()),
            "-ldcf".into(),
        ],
    );
    let library_path = libs.display().to_string();
    let linked = Command::new("ldd")
        .arg(&exe)
        .env("LD_LIBRARY_PATH", &library_path)
        .output()
        .unwrap();
    let expected = libs.join("libdcf.so").display().to_string();
    assert!(
        String::from_utf8_lossy(&linked.stdout).contains(&expected),
        "the program is linked against this run's shared library: {}",
        String::from_utf8_lossy(&linked.stdout)
    );
    if Command::new("valgrind").arg("--version").output().is_err() {
        // `./dev test` installs valgrind; a bare `cargo test` on a machine without it still
        // runs the shared build.
        run(
            &[exe.to_str().unwrap()],
            &fixtures,
            &[("LD_LIBRARY_PATH", &library_path)],
        );
        return;
    }
    run(
        &[
            "valgrind",
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            exe.to_str().unwrap(),
        ],
        &fixtures,
        &[("LD_LIBRARY_PATH", &library_path)],
    );
}
