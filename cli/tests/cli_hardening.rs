//! What a red team tried against the command line, kept under test: flag orders, outputs that
//! are not regular files or are inputs, sequences that brick a channel, silent skips, key
//! files, thread counts, and hostile inputs (empty files, devices, FIFOs, directories, link
//! loops, sparse files, many inputs). Each case states the behaviour a user relies on: the
//! exit code, the code reported, and that nothing was lost.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{repo_root, s};

const M: &str = "examples/manifests";

/// A scratch directory for one test, removed and recreated.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcf-hardening-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `dcf` with OS-string arguments from the repository root. A run that has not ended
/// after ten minutes is killed and fails the test: that is a hang, never a slow machine (every
/// case here takes well under a second), so the verdict does not depend on load.
fn run_os(args: &[&OsStr]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcf"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dcf runs");
    // The pipes are drained while the child runs: a child blocked on a full pipe is not a
    // hang of dcf.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("dcf {:?} hangs", args.iter().take(6).collect::<Vec<_>>());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = std::process::Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    let code = out
        .status
        .code()
        .expect("dcf exited, not killed by a signal");
    assert_ne!(
        code,
        101,
        "dcf panicked on {:?}: {}",
        args.iter().take(6).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    run_os(&args)
}

/// Compiles the bundled example into `out` with extra flags; panics unless it succeeds.
fn compile_example(out: &Path, extra: &[&str]) {
    let out = s(out);
    let mut args = vec!["compile", "examples/rules", "-m", M, "-o", &out];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn repeated_flags_work_in_every_order() {
    let dir = scratch("orders");
    let content = dir.join("c.dcf");
    compile_example(&content, &[]);
    let c = s(&content);
    let m711 = "examples/manifests/sensor-7.11.toml";
    let m712 = "examples/manifests/sensor-7.12.toml";
    for args in [
        vec!["validate", "-m", M, &c],
        vec!["validate", &c, "-m", M],
        vec!["validate", "--manifest", M, &c],
        vec!["validate", &c, "--manifest=examples/manifests"],
        vec!["validate", "-m", m711, "-m", m712, &c],
        vec!["validate", "-m", m711, &c, "--manifest", m712],
        vec!["test", "-m", M, &c],
        vec!["test", &c, "-m", m711, "-m", m712],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    // Two manifests given one by one are both used: 7.11 lacks a field that 7.12 has, so a
    // rule that reads it is refused only when 7.11 is among them.
    let both = dir.join("both.dcf");
    let (code, _, err) = run(&[
        "compile",
        "-m",
        m711,
        "-m",
        m712,
        "examples/rules",
        "-o",
        &s(&both),
    ]);
    assert_eq!(code, 0, "{err}");
    // Keys: sign with -m before the file, verify with two --pubkey flags around the file.
    let key = dir.join("k");
    let other = dir.join("o");
    for k in [&key, &other] {
        let (code, _, err) = run(&["keygen", "--out", &s(k)]);
        assert_eq!(code, 0, "{err}");
    }
    let signed = s(&dir.join("signed.dcf"));
    let (code, _, err) = run(&[
        "sign",
        "-m",
        M,
        "--key",
        &format!("{}.secret", s(&key)),
        &c,
        "-o",
        &signed,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&[
        "verify",
        "--pubkey",
        &format!("{}.pub", s(&other)),
        &signed,
        "--pubkey",
        &format!("{}.pub", s(&key)),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verified"), "{out}");
    let _ = fs::remove_dir_all(dir);
}

/// What a path is and holds, to show that a refused write changed nothing: its kind, its
/// link target, and the bytes of a regular file (a FIFO is never opened: that would block).
fn snapshot(p: &Path) -> (Option<String>, Option<PathBuf>, Option<Vec<u8>>) {
    let meta = fs::symlink_metadata(p).ok();
    let is_file = meta.as_ref().is_some_and(|m| m.is_file());
    (
        meta.map(|m| format!("{:?}", m.file_type())),
        fs::read_link(p).ok(),
        if is_file { fs::read(p).ok() } else { None },
    )
}

#[test]
fn outputs_that_are_not_regular_files_or_are_inputs_are_refused() {
    let dir = scratch("outputs");
    let content = dir.join("c.dcf");
    compile_example(&content, &[]);
    let target = dir.join("target.dcf");
    fs::write(&target, b"precious").expect("write");
    let link = dir.join("link.dcf");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let fifo = dir.join("fifo.dcf");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let sub = dir.join("a-directory.dcf");
    fs::create_dir_all(&sub).expect("mkdir");
    // A copy of the sources, so that writing over one of them can be tried.
    let src = dir.join("src");
    fs::create_dir_all(&src).expect("mkdir");
    for e in fs::read_dir(repo_root().join("examples/rules")).expect("rules") {
        let e = e.expect("entry");
        fs::copy(e.path(), src.join(e.file_name())).expect("copy");
    }
    let own_source = src.join("content.yaml");
    let hard = dir.join("hard-link-to-source.yaml");
    fs::hard_link(&own_source, &hard).expect("hard link");
    let manifest_copy = dir.join("m.toml");
    fs::copy(
        repo_root().join("examples/manifests/sensor-7.12.toml"),
        &manifest_copy,
    )
    .expect("copy");
    let key = dir.join("k");
    assert_eq!(run(&["keygen", "--out", &s(&key)]).0, 0);
    let secret = dir.join("k.secret");

    let c = s(&content);
    let compile_to = |out: &Path| {
        vec![
            "compile".to_string(),
            s(&src),
            "-m".into(),
            s(&manifest_copy),
            "-o".into(),
            s(out),
        ]
    };
    let sign_to = |out: &Path| {
        vec![
            "sign".to_string(),
            c.clone(),
            "--key".into(),
            s(&secret),
            "-m".into(),
            M.into(),
            "-o".into(),
            s(out),
        ]
    };
    let decompile_to = |out: &Path| vec!["decompile".to_string(), c.clone(), "-o".into(), s(out)];
    let dev_null = PathBuf::from("/dev/null");
    let cases: Vec<(Vec<String>, &Path, &str)> = vec![
        (compile_to(&link), &link, "symbolic link"),
        (compile_to(&fifo), &fifo, "FIFO"),
        (compile_to(&sub), &sub, "directory"),
        (compile_to(&dev_null), &dev_null, "device"),
        (compile_to(&own_source), &own_source, "input"),
        (compile_to(&hard), &hard, "input"),
        (compile_to(&manifest_copy), &manifest_copy, "input"),
        (sign_to(&content), &content, "input"),
        (sign_to(&secret), &secret, "input"),
        (sign_to(&link), &link, "symbolic link"),
        (decompile_to(&content), &content, "input"),
        (decompile_to(&fifo), &fifo, "FIFO"),
    ];
    for (args, victim, why) in cases {
        let before = snapshot(victim);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = run(&refs);
        assert_eq!(code, 2, "{args:?} must be refused: {err}");
        assert!(
            err.contains("E9004") && err.contains(why),
            "{args:?}: {err}"
        );
        assert_eq!(snapshot(victim), before, "{args:?} changed {victim:?}");
    }
    assert_eq!(fs::read(&target).expect("target"), b"precious");
    assert!(
        fs::symlink_metadata(&fifo)
            .expect("fifo")
            .file_type()
            .is_fifo_like()
    );
    // Replacing a regular file that is not an input still works, atomically.
    let (code, _, err) = run(&compile_to(&target)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(dcf_parser::parse(&fs::read(&target).expect("target")).is_ok());
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = fs::remove_dir_all(dir);
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt as _;
        self.is_fifo()
    }
}

#[test]
fn sequences_that_brick_a_channel_are_refused() {
    let dir = scratch("sequence");
    let max = dir.join("max.dcf");
    compile_example(&max, &["--sequence", "18446744073709551615"]);
    let key = dir.join("k");
    assert_eq!(run(&["keygen", "--out", &s(&key)]).0, 0);
    let secret = format!("{}.secret", s(&key));
    let (code, _, err) = run(&["validate", &s(&max), "-m", M]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E1405"), "{err}");
    let signed = dir.join("signed.dcf");
    let (code, _, err) = run(&[
        "sign",
        &s(&max),
        "--key",
        &secret,
        "-m",
        M,
        "-o",
        &s(&signed),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E1405") && !signed.exists(), "{err}");

    // The upper half of the range: a warning, an error under --deny-warnings.
    let high = dir.join("high.dcf");
    compile_example(&high, &["--sequence", "9223372036854775808"]);
    let (code, _, err) = run(&["validate", &s(&high), "-m", M]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("E1406"), "{err}");
    let (code, _, _) = run(&["validate", &s(&high), "-m", M, "--deny-warnings"]);
    assert_eq!(code, 1);

    // A jump beyond --previous needs the flag, in validate and in sign.
    let previous = dir.join("previous.dcf");
    compile_example(&previous, &["--sequence", "10"]);
    let far = dir.join("far.dcf");
    compile_example(&far, &["--sequence", "4294967307"]);
    let near = dir.join("near.dcf");
    compile_example(&near, &["--sequence", "4294967306"]);
    let (code, _, err) = run(&["validate", &s(&far), "-m", M, "--previous", &s(&previous)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E1407"), "{err}");
    let (code, _, err) = run(&["validate", &s(&near), "-m", M, "--previous", &s(&previous)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "sign",
        &s(&far),
        "--key",
        &secret,
        "-m",
        M,
        "--previous",
        &s(&previous),
        "-o",
        &s(&signed),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E1407") && !signed.exists(), "{err}");
    let (code, _, err) = run(&[
        "sign",
        &s(&far),
        "--key",
        &secret,
        "-m",
        M,
        "--previous",
        &s(&previous),
        "--allow-sequence-jump",
        "-o",
        &s(&signed),
    ]);
    assert_eq!(code, 0, "{err}");
    // The flag means nothing without --previous, and says so.
    let (code, _, err) = run(&["validate", &s(&far), "-m", M, "--allow-sequence-jump"]);
    assert_eq!(code, 2, "{err}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn directory_expansion_reports_what_it_skips() {
    let dir = scratch("skips");
    let top = dir.join("tree");
    compile_example(&top.join("top.dcf"), &[]);
    let mut deep = top.clone();
    for i in 0..40 {
        deep = deep.join(format!("d{i}"));
    }
    compile_example(&deep.join("deep.dcf"), &[]);
    let (code, _, err) = run(&["validate", &s(&top), "-m", M]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("E9006") && err.contains("deeper than"),
        "{err}"
    );
    let (code, _, err) = run(&["validate", &s(&top), "-m", M, "--allow-skipped"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: skipped") && !err.contains("E9006"),
        "{err}"
    );
    let (code, _, err) = run(&["--allow-skipped", "validate", &s(&top), "-m", M]);
    assert_eq!(code, 0, "the flag is global: {err}");

    // Sources are expanded the same way, and a note is printed once per thing skipped.
    let sources = dir.join("sources");
    fs::create_dir_all(&sources).expect("mkdir");
    for e in fs::read_dir(repo_root().join("examples/rules")).expect("rules") {
        let e = e.expect("entry");
        fs::copy(e.path(), sources.join(e.file_name())).expect("copy");
    }
    let mut deep_sources = sources.clone();
    for i in 0..40 {
        deep_sources = deep_sources.join(format!("d{i}"));
    }
    fs::create_dir_all(&deep_sources).expect("mkdir");
    let out = s(&dir.join("out.dcf"));
    let (code, _, err) = run(&["compile", &s(&sources), "-m", M, "-o", &out]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E9006"), "{err}");
    let (code, _, err) = run(&[
        "compile",
        &s(&sources),
        "-m",
        M,
        "-o",
        &out,
        "--allow-skipped",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("note: skipped").count(), 1, "{err}");

    // A link to a directory is not followed, so a loop ends; both are reported.
    let looped = dir.join("loop");
    compile_example(&looped.join("a.dcf"), &[]);
    std::os::unix::fs::symlink(&looped, looped.join("again")).expect("symlink");
    let (code, _, err) = run(&["validate", &s(&looped), "-m", M]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("E9006") && err.contains("not followed"),
        "{err}"
    );
    // Manifest directories are expanded the same way.
    let manifests = dir.join("manifests");
    fs::create_dir_all(&manifests).expect("mkdir");
    fs::copy(
        repo_root().join("examples/manifests/sensor-7.12.toml"),
        manifests.join("m.toml"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(repo_root().join(M), manifests.join("more")).expect("symlink");
    let (code, _, err) = run(&["validate", &s(&top.join("top.dcf")), "-m", &s(&manifests)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E9006"), "{err}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn keygen_uses_the_name_as_given_and_never_writes_through_links() {
    use std::os::unix::ffi::OsStrExt as _;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("keygen");
    // A name that is not UTF-8 is used byte for byte.
    let mut raw = dir.clone().into_os_string();
    raw.push("/k\u{0}");
    let raw_bytes: Vec<u8> = raw
        .as_bytes()
        .iter()
        .map(|&b| if b == 0 { 0xff } else { b })
        .collect();
    let name = OsStr::from_bytes(&raw_bytes);
    let (code, _, err) = run_os(&[OsStr::new("keygen"), OsStr::new("--out"), name]);
    assert_eq!(code, 0, "{err}");
    let mut secret_name = OsString::from(name);
    secret_name.push(".secret");
    let secret = PathBuf::from(&secret_name);
    let meta = fs::metadata(&secret).expect("the secret has exactly the name given");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut public_name = OsString::from(name);
    public_name.push(".pub");
    assert!(PathBuf::from(public_name).exists());

    // A planted dangling link: keygen refuses, with or without --force, and the link's
    // target is never created.
    let planted = dir.join("rel.secret");
    let elsewhere = dir.join("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, &planted).expect("symlink");
    let rel = s(&dir.join("rel"));
    let (code, _, err) = run(&["keygen", "--out", &rel]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E9202"), "{err}");
    let (code, _, err) = run(&["keygen", "--out", &rel, "--force"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("E9004") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(!elsewhere.exists(), "the key went through the link");
    assert!(!dir.join("rel.pub").exists(), "half a pair was written");

    // --force replaces a pair whole: both files change, the secret is 0600 even if the old
    // one was not.
    let pair = s(&dir.join("pair"));
    assert_eq!(run(&["keygen", "--out", &pair]).0, 0);
    let old = (
        fs::read(format!("{pair}.secret")).expect("secret"),
        fs::read(format!("{pair}.pub")).expect("pub"),
    );
    fs::set_permissions(format!("{pair}.secret"), fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let (code, _, err) = run(&["keygen", "--out", &pair]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(fs::read(format!("{pair}.secret")).expect("secret"), old.0);
    assert_eq!(run(&["keygen", "--out", &pair, "--force"]).0, 0);
    let new = (
        fs::read(format!("{pair}.secret")).expect("secret"),
        fs::read(format!("{pair}.pub")).expect("pub"),
    );
    assert!(new.0 != old.0 && new.1 != old.1);
    let mode = fs::metadata(format!("{pair}.secret"))
        .expect("secret")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let secret_key =
        dcf_validator::keys::parse_secret(&String::from_utf8(new.0.clone()).expect("text"))
            .expect("secret parses");
    let public_key =
        dcf_validator::keys::parse_public(&String::from_utf8(new.1.clone()).expect("text"))
            .expect("public parses");
    assert_eq!(
        secret_key.verifying_key(),
        public_key,
        "the pair belongs together"
    );

    // A write that fails (here: the file size limit, as on a full disk) leaves the old pair.
    let status = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$0\" keygen --out \"$1\" --force")
        .arg(env!("CARGO_BIN_EXE_dcf"))
        .arg(&pair)
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("sh runs");
    assert_eq!(status.code(), Some(2));
    assert_eq!(fs::read(format!("{pair}.secret")).expect("secret"), new.0);
    assert_eq!(fs::read(format!("{pair}.pub")).expect("pub"), new.1);
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn thread_counts_are_bounded() {
    let dir = scratch("jobs");
    let content = dir.join("c.dcf");
    compile_example(&content, &[]);
    for bad in ["100000", "0", "many"] {
        let (code, _, err) = run(&["validate", &s(&content), "-m", M, "-j", bad]);
        assert_eq!(code, 2, "-j {bad}: {err}");
        assert!(err.contains("thread count from 1 to 256"), "{err}");
    }
    let (code, _, err) = run(&["validate", &s(&content), "-m", M, "-j", "256"]);
    assert_eq!(code, 0, "{err}");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn messages_say_what_happened() {
    let dir = scratch("messages");
    // One source: no "of 2 inputs" summary for one input.
    let empty = dir.join("empty.yaml");
    fs::write(&empty, "").expect("write");
    let (code, _, err) = run(&["compile", &s(&empty), "-o", &s(&dir.join("x.dcf"))]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("inputs rejected"), "{err}");
    // Two inputs, one rejected: the summary counts inputs.
    let good = dir.join("good.dcf");
    compile_example(&good, &[]);
    let bad = dir.join("bad.dcf");
    fs::write(&bad, b"DCF").expect("write");
    let (code, _, err) = run(&["validate", &s(&good), &s(&bad), "-m", M]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 of 2 inputs rejected"), "{err}");
    // An overflowing --created + --valid-for is E2005 (a bad validity), not E2004 (missing).
    let (code, _, err) = run(&[
        "compile",
        "examples/rules",
        "-m",
        M,
        "--created",
        "18446744073709551000",
        "--valid-for",
        "30d",
        "-o",
        &s(&dir.join("y.dcf")),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E2005") && !err.contains("E2004"), "{err}");
    let _ = fs::remove_dir_all(dir);
}

/// Whether a text names a diagnostic code (`E` and four digits).
fn names_a_code(text: &str) -> bool {
    text.as_bytes()
        .windows(5)
        .any(|w| w.first() == Some(&b'E') && w.iter().skip(1).all(u8::is_ascii_digit))
}

/// Hostile inputs in every place a command reads a file: each is refused with exit 1 or 2 and
/// a code, never a panic, a hang or a crash, and nothing is written.
#[test]
fn hostile_inputs_are_refused_cleanly() {
    let dir = scratch("hostile");
    let good = dir.join("good.dcf");
    compile_example(&good, &[]);
    let key = dir.join("k");
    assert_eq!(run(&["keygen", "--out", &s(&key)]).0, 0);
    let empty = dir.join("empty");
    fs::write(&empty, b"").expect("write");
    let fifo = dir.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let a_dir = dir.join("a-dir");
    fs::create_dir_all(&a_dir).expect("mkdir");
    let loop_a = dir.join("loop-a");
    let loop_b = dir.join("loop-b");
    std::os::unix::fs::symlink(&loop_b, &loop_a).expect("symlink");
    std::os::unix::fs::symlink(&loop_a, &loop_b).expect("symlink");
    let sparse = dir.join("sparse");
    fs::File::create(&sparse)
        .expect("create")
        .set_len(1 << 40)
        .expect("a 1 TiB sparse file");
    let hostile: Vec<PathBuf> = vec![
        empty,
        PathBuf::from("/dev/zero"),
        PathBuf::from("/dev/urandom"),
        fifo,
        a_dir,
        loop_a,
        sparse,
    ];
    let out = s(&dir.join("out.dcf"));
    let g = s(&good);
    let secret = format!("{}.secret", s(&key));
    let public = format!("{}.pub", s(&key));
    for h in &hostile {
        let h = s(h);
        let places: Vec<Vec<&str>> = vec![
            vec!["validate", &h, "-m", M],
            vec!["validate", &g, "-m", &h],
            vec!["validate", &g, "-m", M, "--previous", &h],
            vec!["inspect", &h],
            vec!["inspect", &h, "--format", "json"],
            vec!["inspect", &h, "--hexdump"],
            vec!["decompile", &h],
            vec!["compile", &h, "-o", &out],
            vec!["compile", "examples/rules", "-m", &h, "-o", &out],
            vec![
                "compile",
                "--from",
                "sigma",
                &h,
                "-m",
                "sigma/manifests",
                "-o",
                &out,
            ],
            vec!["test", &h, "-m", M],
            vec!["test", &g, "-m", M, "--events", &h],
            vec!["test", &g, "-m", M, "--benign", &h],
            vec!["sign", &h, "--key", &secret, "-m", M, "-o", &out],
            vec!["sign", &g, "--key", &h, "-m", M, "-o", &out],
            vec!["verify", &h, "--pubkey", &public],
            vec!["verify", &g, "--pubkey", &h],
        ];
        for args in places {
            let (code, stdout, err) = run(&args);
            // An empty events file is a valid JSON Lines file of no events.
            if h.ends_with("/empty") && args.iter().any(|a| *a == "--events" || *a == "--benign") {
                assert_eq!(code, 0, "{args:?}: {err}");
                continue;
            }
            assert!(
                code == 1 || code == 2,
                "{args:?}: exit {code}\n{stdout}\n{err}"
            );
            assert!(
                names_a_code(&err) || names_a_code(&stdout) || err.starts_with("error:"),
                "{args:?} names no error: {err}"
            );
            assert!(
                !Path::new(&out).exists(),
                "{args:?} wrote an output from a hostile input"
            );
        }
    }
    // Many inputs at once: every one is reported, in order, and the run ends.
    let many = dir.join("many");
    fs::create_dir_all(&many).expect("mkdir");
    let bytes = fs::read(&good).expect("good");
    let mut args: Vec<String> = vec![
        "validate".into(),
        "-m".into(),
        M.into(),
        "--format".into(),
        "json".into(),
    ];
    for i in 0..3000 {
        let p = many.join(format!("c{i:04}.dcf"));
        if i % 3 == 0 {
            fs::write(&p, b"not a content").expect("write");
        } else {
            fs::write(&p, &bytes).expect("write");
        }
        args.push(s(&p));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, err) = run(&refs);
    assert_eq!(code, 1, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 3000);
    let rejected = files.iter().filter(|f| f["valid"] == false).count();
    assert_eq!(rejected, 1000);
    let _ = fs::remove_dir_all(dir);
}
