//! The Kaitai Struct side: installing the tooling (the Kaitai Struct compiler through npm, its
//! Python runtime through pip), compiling `format-spec/dcf.ksy` to Python once per test
//! process, and running the generated parser (`conformance/kaitai/dump.py`) over files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dcf_test_support::repo_root;
use serde_json::Value;

/// The Python runtime the generated parser is written against.
const KAITAISTRUCT_PIN: &str = "kaitaistruct==0.11";

fn kaitai_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kaitai")
}

/// Everything needed to run the generated parser.
struct Harness {
    python: String,
    dump_py: PathBuf,
    gen_dir: PathBuf,
    lib_dir: PathBuf,
}

fn python() -> String {
    std::env::var("DCF_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn describe_output(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

/// Runs `cmd`, returning its output when it succeeds and a readable report when it does not.
fn run(cmd: &mut Command, what: &str, hint: &str) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    match cmd.output() {
        Err(e) => Err(format!("{what}: cannot run {shown}: {e}\n{hint}")),
        Ok(out) if !out.status.success() => Err(format!(
            "{what}: {shown} failed\n{}\n{hint}",
            describe_output(&out)
        )),
        Ok(out) => Ok(out),
    }
}

/// Whether `node_modules` holds exactly the versions that `package.json` pins.
fn node_modules_current(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("package.json")) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let Some(deps) = manifest.get("dependencies").and_then(Value::as_object) else {
        return false;
    };
    deps.iter().all(|(name, pinned)| {
        let installed =
            fs::read_to_string(dir.join("node_modules").join(name).join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        installed.as_ref().and_then(|m| m.get("version")) == Some(pinned)
    })
}

/// A lock on the tooling folder across processes (a test runner may run each test in a
/// process of its own): a directory that only one process can create. A lock left by a
/// process that died is taken over.
struct SetupLock(PathBuf);

impl SetupLock {
    fn acquire(path: PathBuf) -> Result<SetupLock, String> {
        let deadline = Instant::now() + Duration::from_secs(900);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        loop {
            match fs::create_dir(&path) {
                Ok(()) => {
                    let _ = fs::write(path.join("pid"), std::process::id().to_string());
                    return Ok(SetupLock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if SetupLock::is_stale(&path) {
                        let _ = fs::remove_dir_all(&path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(format!(
                            "waited 15 minutes for {} (another test process installing the \
                             Kaitai tooling); remove it if no such process runs",
                            path.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
    }

    /// Whether the process that holds the lock is gone (checked through /proc where there
    /// is one, else by the lock's age).
    fn is_stale(path: &Path) -> bool {
        let pid = fs::read_to_string(path.join("pid")).unwrap_or_default();
        if Path::new("/proc/self").exists() && !pid.trim().is_empty() {
            return !Path::new("/proc").join(pid.trim()).exists();
        }
        fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600))
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn setup() -> Result<Harness, String> {
    let dir = kaitai_dir();
    let _lock = SetupLock::acquire(dir.join(".build").join("setup.lock"))?;
    let node_hint = "The Kaitai test needs Node.js and npm (Debian: apt-get install nodejs npm) and \
                     the npm registry to install conformance/kaitai/package-lock.json.";
    run(
        Command::new("node").arg("--version"),
        "Node.js is missing",
        node_hint,
    )?;
    if !node_modules_current(&dir) {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
            "installing the Kaitai Struct compiler",
            node_hint,
        )?;
        if !node_modules_current(&dir) {
            return Err(format!(
                "`npm ci` in {} ran but node_modules still lacks the pinned packages",
                dir.display()
            ));
        }
    }

    let python = python();
    let py_hint = format!(
        "The Kaitai test needs Python 3 with pip ({python}, or set DCF_PYTHON) and the PyPI \
         registry to install {KAITAISTRUCT_PIN}."
    );
    run(
        Command::new(&python).arg("--version"),
        "Python 3 is missing",
        &py_hint,
    )?;
    let lib_dir = dir.join(".build").join("pylib");
    let runtime_ok = lib_dir.join("kaitaistruct.py").is_file()
        && lib_dir.join("kaitaistruct-0.11.dist-info").is_dir();
    if !runtime_ok {
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--quiet",
                    "--upgrade",
                    "--no-deps",
                    "--target",
                ])
                .arg(&lib_dir)
                .arg(KAITAISTRUCT_PIN),
            "installing the Kaitai Struct Python runtime",
            &py_hint,
        )?;
        if !lib_dir.join("kaitaistruct.py").is_file() {
            return Err(format!(
                "pip ran but {} holds no kaitaistruct.py",
                lib_dir.display()
            ));
        }
    }

    let gen_dir = dir.join(".build").join("gen");
    let ksy = repo_root().join("format-spec").join("dcf.ksy");
    run(
        Command::new("node")
            .arg(dir.join("compile.js"))
            .arg(&ksy)
            .arg(&gen_dir),
        "compiling format-spec/dcf.ksy",
        "Fix the .ksy (the compiler's message is above).",
    )?;
    if !gen_dir.join("dcf.py").is_file() {
        return Err(format!(
            "compile.js ran but wrote no {}",
            gen_dir.join("dcf.py").display()
        ));
    }
    Ok(Harness {
        python,
        dump_py: dir.join("dump.py"),
        gen_dir,
        lib_dir,
    })
}

/// The harness, set up once per test process; every test fails with the setup's message if
/// it could not be set up.
fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    match HARNESS.get_or_init(setup) {
        Ok(h) => h,
        Err(e) => panic!("Kaitai Struct harness unavailable:\n{e}"),
    }
}

/// What the generated parser made of each file: its canonical structure, or its error.
pub(crate) fn kaitai_dumps(files: &[PathBuf]) -> BTreeMap<PathBuf, Result<Value, String>> {
    let h = harness();
    let mut cmd = Command::new(&h.python);
    cmd.arg(&h.dump_py)
        .arg("--gen")
        .arg(&h.gen_dir)
        .arg("--lib")
        .arg(&h.lib_dir)
        .args(files);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    // Exit status 1 only means that some file failed to parse: those lines say which.
    if !matches!(out.status.code(), Some(0 | 1)) {
        panic!("dump.py failed\n{}", describe_output(&out));
    }
    let stdout = String::from_utf8(out.stdout).expect("dump.py prints UTF-8");
    let mut dumps = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let mut record: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("dump.py printed a line that is not JSON ({e}): {line}"));
        let file = PathBuf::from(record["file"].as_str().expect("dump.py names the file"));
        let result = match record.get_mut("dump") {
            Some(dump) => Ok(dump.take()),
            None => Err(record["error"]
                .as_str()
                .unwrap_or("no error text")
                .to_string()),
        };
        dumps.insert(file, result);
    }
    assert_eq!(
        dumps.len(),
        files.len(),
        "dump.py reported on {} files of {}",
        dumps.len(),
        files.len()
    );
    dumps
}
