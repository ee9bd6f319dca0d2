//! Reader throughput on a large synthetic content (see `BENCHMARKS.md` at the repository root).
//!
//! Run with `cargo bench -p dcf-parser --bench parse`. One run measures, on the same bytes:
//!
//! - `reader/parse`: [`dcf_parser::parse`], the whole check (frame, SHA-256, body structure);
//! - `reader/parse_body`: [`dcf_parser::VerifiedFrame::parse_body`] alone, on a frame verified
//!   once outside the timed loop: structural validation without the digest;
//! - `reader/sha256`: [`dcf_parser::sha256`] over the digested bytes;
//! - `reader/memcpy`: a plain copy of the file into a preallocated buffer, the reference every
//!   other figure is compared with;
//! - `reader/iterate_rules_nodes` and `reader/iterate_all`: walks of a parsed view (every rule
//!   and node; then also every attribute and operand string), to show what reading costs;
//! - `model/decode` and `model/encode`: the owned model ([`Content::decode`], [`Content::encode`];
//!   `encode` reads its own output back with `parse`, so it includes one full parse).
//!
//! Before measuring, the setup checks that `parse_body` and `parse` make no heap allocation: the
//! bench installs a counting `#[global_allocator]` (a wrapper around `System`), reads the count
//! around one call of each and panics unless both made none. The counter adds a few relaxed atomic operations
//! per allocation, which only the `model/*` figures can feel.

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput};
use dcf_parser::{
    Action, Attribute, CompareOp, Content, ContentView, Field, FieldType, Frame, Header, Match,
    MatchKind, Node, Operand, Rule, RuleId, SensorVersion, Severity, Target, Template, parse,
    sha256,
};
use dcf_test_support::CountingAllocator;

/// Number of rules in the synthetic content.
const RULES: usize = 60_000;
/// Seed of the content generator: the content, and so every figure, is the same on every run.
const SEED: u64 = 0x00dc_f5ee_d000_0001;

fn main() {
    let content = synthetic_content(SEED, RULES);
    let bytes = content.encode().expect("the synthetic content must encode");
    // `DCF_PARSE_BODY_ONCE=nom`: one `parse_body` and exit, for
    // instruction counts (`valgrind --tool=callgrind`), which the machine's load cannot change.
    if let Ok(which) = std::env::var("DCF_PARSE_BODY_ONCE") {
        parse_body_once(&bytes, &which);
        return;
    }
    let view = parse(&bytes).expect("the encoded content must parse");
    print_summary(&content, &view, bytes.len());
    check_zero_allocations(&bytes);

    let mut c = Criterion::default().configure_from_args();
    bench_reader(&mut c, &bytes);
    bench_model(&mut c, &content, &bytes);
    c.final_summary();
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

fn bench_reader(c: &mut Criterion, bytes: &[u8]) {
    let file_len = bytes.len() as u64;
    let frame = Frame::read(bytes).expect("frame");
    let digested = frame.digested_bytes();
    let verified = frame.verify_digest().expect("digest");
    let view = verified.parse_body().expect("body");
    let mut copy = vec![0xa5u8; bytes.len()];

    let mut g = c.benchmark_group("reader");
    // Each iteration handles tens of megabytes: flat sampling keeps the run short and every
    // sample the same size.
    g.sampling_mode(SamplingMode::Flat).sample_size(20);

    g.throughput(Throughput::Bytes(file_len));
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            copy.copy_from_slice(black_box(bytes));
            black_box(&mut copy);
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| parse(black_box(bytes)).expect("parse"))
    });
    g.bench_function("parse_body", |b| {
        b.iter(|| black_box(verified).parse_body().expect("parse_body"))
    });
    g.bench_function("iterate_rules_nodes", |b| {
        b.iter(|| walk_rules_nodes(black_box(&view)))
    });
    g.bench_function("iterate_all", |b| b.iter(|| walk_all(black_box(&view))));

    g.throughput(Throughput::Bytes(digested.len() as u64));
    g.bench_function("sha256", |b| b.iter(|| sha256(black_box(digested))));
    g.finish();
}

/// One `parse_body` (`nom`, the only reader since the one without nom was deleted), on a frame
/// verified outside it: count it alone with
/// `valgrind --tool=callgrind --toggle-collect='parse::parse_body_only'`.
fn parse_body_once(bytes: &[u8], which: &str) {
    let verified = Frame::read(bytes)
        .and_then(|f| f.verify_digest())
        .expect("verified frame");
    let rules = parse_body_only(black_box(verified), which);
    println!("{which}: parse_body accepted {rules} rules");
}

#[inline(never)]
fn parse_body_only(verified: dcf_parser::VerifiedFrame<'_>, which: &str) -> usize {
    match which {
        "nom" => verified.parse_body(),
        other => panic!("DCF_PARSE_BODY_ONCE must be nom, not {other:?}"),
    }
    .expect("parse_body")
    .rule_count()
}

fn bench_model(c: &mut Criterion, content: &Content, bytes: &[u8]) {
    let mut g = c.benchmark_group("model");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| Content::decode(black_box(bytes)).expect("decode"))
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(content).encode().expect("encode"))
    });
    g.finish();
}

/// Visits every rule and every node of every expression, reading each node's payload.
fn walk_rules_nodes(view: &ContentView<'_>) -> u64 {
    let mut acc = 0u64;
    for rule in view.rules() {
        acc = acc
            .wrapping_add(u64::from(rule.id.0[0]))
            .wrapping_add(u64::from(rule.severity.code()))
            .wrapping_add(u64::from(rule.node_count()));
        for node in rule.expression() {
            let v = match node {
                Node::Match(m) => match m.operand {
                    Operand::Values(list) => u64::from(list.len()),
                    Operand::Field(f) => u64::from(f),
                },
                Node::Compare { value, .. } => value as u64,
                other => u64::from(other.pops()),
            };
            acc = acc.wrapping_mul(31).wrapping_add(v);
        }
    }
    acc
}

/// As [`walk_rules_nodes`], and also every attribute and every operand string.
fn walk_all(view: &ContentView<'_>) -> u64 {
    let mut acc = 0u64;
    for rule in view.rules() {
        acc = acc
            .wrapping_add(rule.title.len() as u64)
            .wrapping_add(rule.author.len() as u64);
        for (key, value) in rule.attributes() {
            acc = acc.wrapping_add((key.len() ^ value.len()) as u64);
        }
        for node in rule.expression() {
            match node {
                Node::Match(Match {
                    operand: Operand::Values(list),
                    ..
                }) => {
                    for s in list.iter() {
                        acc = acc.wrapping_mul(31).wrapping_add(s.len() as u64);
                    }
                }
                other => acc = acc.wrapping_add(u64::from(other.pops())),
            }
        }
    }
    acc
}

fn print_summary(content: &Content, view: &ContentView<'_>, file_len: usize) {
    let nodes: usize = content.rules.iter().map(|r| r.expression.len()).sum();
    let attributes: usize = content.rules.iter().map(|r| r.attributes.len()).sum();
    let values: usize = content
        .rules
        .iter()
        .flat_map(|r| &r.expression)
        .map(|n| match n {
            Node::Match(Match {
                operand: Operand::Values(v),
                ..
            }) => v.len(),
            _ => 0,
        })
        .sum();
    let fields: usize = content.templates.iter().map(|t| t.fields.len()).sum();
    println!(
        "synthetic content: {file_len} bytes ({:.2} MiB), {} rules, {} templates, {fields} fields, \
         {nodes} nodes, {values} values, {attributes} attributes, {} distinct strings",
        file_len as f64 / (1024.0 * 1024.0),
        view.rule_count(),
        view.template_count(),
        view.strings().len(),
    );
    for section in view.sections() {
        println!("  section {}: {} bytes", section.tag, section.payload.len());
    }
}

// ---------------------------------------------------------------------------------------------
// Zero-allocation check
// ---------------------------------------------------------------------------------------------

/// Every heap allocation of this process is counted (the parse must make none).
#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// Runs `f` once; returns whether it succeeded and how many heap allocations it made.
fn allocations_during<T, E>(f: impl FnOnce() -> Result<T, E>) -> (bool, usize) {
    let before = GLOBAL.allocations();
    let ok = black_box(f()).is_ok();
    (ok, GLOBAL.allocations() - before)
}

/// Panics unless the structure-only path and the full parse make no heap allocation.
fn check_zero_allocations(bytes: &[u8]) {
    let verified = Frame::read(bytes)
        .and_then(|f| f.verify_digest())
        .expect("verified frame");
    let (body_ok, body) = allocations_during(|| black_box(verified).parse_body());
    let (full_ok, full) = allocations_during(|| parse(black_box(bytes)));
    // The counter itself must see allocations, or a zero above would prove nothing.
    let (control_ok, control) = allocations_during(|| Content::decode(black_box(bytes)));
    assert!(
        body_ok && full_ok && control_ok,
        "the synthetic content must parse"
    );
    println!(
        "zero-allocation check (counting global allocator): parse_body {body} allocations, \
         parse {full} allocations (control: Content::decode {control} allocations)"
    );
    assert!(control > 0, "the counting allocator counted nothing");
    if body != 0 || full != 0 {
        panic!("parse_body made {body} and parse made {full} heap allocations; expected none");
    }
    println!("zero-allocation check: OK");
}

// ---------------------------------------------------------------------------------------------
// Synthetic content
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, fast and good enough to shape test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Biased towards small indexes: a few very common entries and a long tail.
    fn skewed(&mut self, n: usize) -> usize {
        if self.chance(60) {
            let r = self.below(n);
            self.below(r + 1)
        } else {
            self.below(n)
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.skewed(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// `n` distinct items (`n <= items.len()`).
    fn sample<T: Clone>(&mut self, items: &[T], n: usize) -> Vec<T> {
        let mut all = items.to_vec();
        self.shuffle(&mut all);
        all.truncate(n);
        all
    }
}

const EXES: &[&str] = &[
    "powershell.exe",
    "pwsh.exe",
    "cmd.exe",
    "rundll32.exe",
    "regsvr32.exe",
    "mshta.exe",
    "wscript.exe",
    "cscript.exe",
    "certutil.exe",
    "bitsadmin.exe",
    "schtasks.exe",
    "wmic.exe",
    "msiexec.exe",
    "installutil.exe",
    "regasm.exe",
    "regsvcs.exe",
    "msbuild.exe",
    "csc.exe",
    "vssadmin.exe",
    "wevtutil.exe",
    "net.exe",
    "net1.exe",
    "nltest.exe",
    "whoami.exe",
    "reg.exe",
    "sc.exe",
    "taskkill.exe",
    "bcdedit.exe",
    "procdump.exe",
    "psexec.exe",
    "psexesvc.exe",
    "mimikatz.exe",
    "rclone.exe",
    "anydesk.exe",
    "teamviewer.exe",
    "winword.exe",
    "excel.exe",
    "outlook.exe",
    "chrome.exe",
    "firefox.exe",
    "msedge.exe",
    "explorer.exe",
    "svchost.exe",
    "lsass.exe",
    "services.exe",
    "winlogon.exe",
    "spoolsv.exe",
    "conhost.exe",
    "dllhost.exe",
    "werfault.exe",
    "curl.exe",
    "ftp.exe",
    "tar.exe",
    "7z.exe",
    "winrar.exe",
    "adfind.exe",
    "nslookup.exe",
    "hh.exe",
    "odbcconf.exe",
    "forfiles.exe",
    "cmstp.exe",
    "bash",
    "sh",
    "python3",
    "perl",
    "curl",
    "wget",
    "nc",
    "ncat",
    "socat",
    "base64",
    "chmod",
    "crontab",
    "systemctl",
    "sudo",
    "ssh",
    "scp",
    "xmrig",
    "kworker",
    "dbus-daemon",
];

const WORDS: &[&str] = &[
    "update", "invoice", "payload", "loader", "stage", "beacon", "agent", "helper", "service",
    "config", "backup", "cache", "temp", "report", "setup", "install", "client", "server", "sync",
    "driver", "plugin", "module", "runtime", "launcher", "host", "daemon", "worker", "task", "job",
    "patch", "hotfix", "debug", "trace", "dump", "secret", "token", "cred", "vault", "key", "cert",
    "shell", "proxy", "tunnel", "bridge", "relay", "socket", "pipe", "queue", "store", "index",
    "data", "assets", "media", "docs", "share", "public", "private", "system", "kernel", "native",
    "legacy", "portable", "mobile", "cloud", "edge", "sensor", "monitor", "audit", "policy",
    "alert", "event", "metric",
];

const DIRS: &[&str] = &[
    "C:\\Windows\\System32\\",
    "C:\\Windows\\SysWOW64\\",
    "C:\\Windows\\Temp\\",
    "C:\\ProgramData\\",
    "C:\\Users\\Public\\",
    "C:\\Users\\%USER%\\AppData\\Local\\Temp\\",
    "C:\\Users\\%USER%\\AppData\\Roaming\\",
    "C:\\Users\\%USER%\\Downloads\\",
    "C:\\Program Files\\",
    "C:\\Program Files (x86)\\",
    "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\",
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/usr/bin/",
    "/usr/local/bin/",
    "/etc/cron.d/",
    "/etc/systemd/system/",
    "/home/%USER%/.config/",
    "/root/.ssh/",
];

const EXTS: &[&str] = &[
    "exe", "dll", "ps1", "vbs", "js", "hta", "bat", "cmd", "lnk", "zip", "iso", "so", "sh", "py",
    "elf", "dat", "tmp", "scr", "sys",
];

const FRAGMENTS: &[&str] = &[
    " -enc ",
    " -EncodedCommand ",
    " -nop ",
    " -w hidden ",
    "IEX(",
    "Invoke-Expression",
    "DownloadString(",
    "FromBase64String(",
    "Net.WebClient",
    "/c whoami",
    "-urlcache -split -f",
    "/transfer ",
    "delete shadows",
    "shadowcopy delete",
    "/create /sc minute",
    "javascript:",
    "vbscript:",
    "comsvcs.dll,MiniDump",
    "sekurlsa::logonpasswords",
    "privilege::debug",
    "Add-MpPreference -ExclusionPath",
    "Set-MpPreference -DisableRealtimeMonitoring",
    "--no-check-certificate",
    "| bash",
    "| sh",
    "base64 -d",
    "chmod +x",
    "nohup ",
    "/dev/tcp/",
    "python -c",
    "-e /bin/sh",
    "stratum+tcp://",
    "--donate-level",
    "reg add",
    "HKLM\\SYSTEM\\CurrentControlSet\\Services",
    "\\CurrentVersion\\Run",
    "SeDebugPrivilege",
    "ntds.dit",
    "-ExecutionPolicy Bypass",
    "mshtml,RunHTMLApplication",
    "Start-BitsTransfer",
    "New-Object System.Net.Sockets.TCPClient",
    "bypass /s",
    "/node:",
    "process call create",
    "AppData\\Local\\Temp",
];

const ADJECTIVES: &[&str] = &[
    "Suspicious",
    "Potential",
    "Possible",
    "Malicious",
    "Unusual",
    "Rare",
    "Anomalous",
    "Obfuscated",
    "Encoded",
    "Hidden",
    "Remote",
    "Elevated",
    "Unsigned",
    "Renamed",
    "Abnormal",
    "Known",
    "Likely",
    "Uncommon",
    "Stealthy",
    "Scripted",
];

const ACTIVITIES: &[&str] = &[
    "Process Creation",
    "Credential Dumping",
    "Lateral Movement",
    "Persistence",
    "Scheduled Task",
    "Service Installation",
    "Registry Modification",
    "Defense Evasion",
    "Shadow Copy Deletion",
    "Download Cradle",
    "Reverse Shell",
    "Crypto Miner",
    "LSASS Access",
    "Named Pipe",
    "DLL Sideloading",
    "Script Execution",
    "Macro Execution",
    "Data Exfiltration",
    "DNS Tunneling",
    "Beaconing",
    "Privilege Escalation",
    "UAC Bypass",
    "Token Manipulation",
    "WMI Execution",
    "Archive Creation",
    "Log Clearing",
    "Firewall Change",
    "Proxy Execution",
    "Discovery",
    "Account Creation",
    "Kerberoasting",
    "Pass The Hash",
    "Web Shell",
    "Ransomware Note",
    "Masquerading",
    "Tool Transfer",
    "Screen Capture",
    "Keylogging",
    "Cron Job",
    "SSH Key Theft",
];

const TACTICS: &[&str] = &[
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
];

const FIELD_PREFIXES: &[&str] = &[
    "process",
    "parent",
    "source",
    "destination",
    "file",
    "registry",
    "dns",
    "user",
    "host",
    "network",
    "url",
    "image",
    "pipe",
    "service",
    "event",
    "tls",
    "http",
    "module",
];

const STRING_SUFFIXES: &[&str] = &[
    "name",
    "path",
    "command_line",
    "executable",
    "hash.sha256",
    "hash.md5",
    "domain",
    "integrity_level",
    "guid",
    "working_directory",
    "original_file_name",
    "company",
    "signature",
    "key",
    "value",
    "query",
    "answer",
    "product",
    "description",
    "user_agent",
    "method",
];
const INTEGER_SUFFIXES: &[&str] = &["pid", "port", "bytes", "size", "count", "uid", "session_id"];
const IP_SUFFIXES: &[&str] = &["ip", "nat.ip"];

const TEMPLATE_NAMES: &[&str] = &[
    "process_creation",
    "network_connection",
    "file_event",
    "registry_event",
    "dns_query",
    "image_load",
    "pipe_created",
    "authentication",
    "process_access",
    "driver_load",
];

/// Operand strings, by kind of use. Entries come from combining the word lists above, so the
/// same strings recur across rules (as in real content) and the writer interns them.
struct Vocabulary {
    exes: Vec<String>,
    paths: Vec<String>,
    dirs: Vec<String>,
    domains: Vec<String>,
    hashes: Vec<String>,
    fragments: Vec<String>,
    suffixes: Vec<String>,
    globs: Vec<String>,
    regexes: Vec<String>,
    cidrs: Vec<String>,
    users: Vec<String>,
    authors: Vec<String>,
}

impl Vocabulary {
    fn new(rng: &mut Rng) -> Vocabulary {
        let users: Vec<String> = (0..40)
            .map(|i| format!("{}{}", rng.pick(WORDS), i))
            .collect();
        let mut dirs: Vec<String> = Vec::new();
        for d in DIRS {
            if d.contains("%USER%") {
                for _ in 0..6 {
                    dirs.push(d.replace("%USER%", rng.pick::<String>(&users)));
                }
            } else {
                dirs.push((*d).to_string());
            }
            for _ in 0..3 {
                dirs.push(format!("{d}{}{}", rng.pick(WORDS), sep(d)).replace("%USER%", "*"));
            }
        }
        let paths = (0..3000)
            .map(|_| {
                let dir = rng.pick_skewed(&dirs).clone();
                if rng.chance(40) {
                    format!("{dir}{}", rng.pick(EXES))
                } else {
                    format!(
                        "{dir}{}_{}.{}",
                        rng.pick(WORDS),
                        rng.below(1000),
                        rng.pick(EXTS)
                    )
                }
            })
            .collect();
        let tlds = [
            "com", "net", "org", "io", "ru", "cn", "xyz", "top", "info", "biz",
        ];
        let domains = (0..2000)
            .map(|_| {
                format!(
                    "{}-{}{}.{}",
                    rng.pick(WORDS),
                    rng.pick(WORDS),
                    rng.below(100),
                    rng.pick(&tlds)
                )
            })
            .collect();
        let hashes = (0..4000)
            .map(|_| {
                let (a, b, c, d) = (rng.next(), rng.next(), rng.next(), rng.next());
                format!("{a:016x}{b:016x}{c:016x}{d:016x}")
            })
            .collect();
        let mut fragments: Vec<String> = FRAGMENTS.iter().map(|s| (*s).to_string()).collect();
        for _ in 0..600 {
            fragments.push(format!(
                "{}{}{}",
                rng.pick(WORDS),
                rng.pick(&[" ", "-", "_", ".", "\\", "/"]),
                rng.pick(WORDS)
            ));
        }
        let mut suffixes: Vec<String> = EXES.iter().map(|e| format!("\\{e}")).collect();
        suffixes.extend(EXES.iter().map(|e| format!("/{e}")));
        suffixes.extend(EXTS.iter().map(|e| format!(".{e}")));
        let globs = (0..1000)
            .map(|_| match rng.below(4) {
                0 => format!("*\\{}", rng.pick(EXES)),
                1 => format!(
                    "{}*\\{}*.{}",
                    rng.pick(DIRS).replace("%USER%", "*"),
                    rng.pick(WORDS),
                    rng.pick(EXTS)
                ),
                2 => format!("*{}*{}*", rng.pick(WORDS), rng.pick(WORDS)),
                _ => format!("{}?{}.{}", rng.pick(WORDS), rng.below(10), rng.pick(EXTS)),
            })
            .collect();
        let regexes = (0..600)
            .map(|_| match rng.below(5) {
                0 => format!(
                    "(?i)\\b{}(\\.exe)?\\s+-{}\\b",
                    rng.pick(EXES).trim_end_matches(".exe"),
                    &"abcdefghijklmnopqrstuvwxyz"[rng.below(26)..][..1]
                ),
                1 => format!("^[A-Za-z0-9+/]{{{},}}={{0,2}}$", 20 + rng.below(200)),
                2 => format!(
                    "(?i){}.*{}",
                    regex_escape(rng.pick::<&str>(EXES)),
                    regex_escape(rng.pick(FRAGMENTS).trim())
                ),
                3 => format!(
                    "^{}[0-9]{{{}}}\\.{}$",
                    rng.pick(WORDS),
                    1 + rng.below(6),
                    rng.pick(EXTS)
                ),
                _ => format!(
                    "(?i)(?:{}|{}|{})\\.(?:{}|{})",
                    rng.pick(WORDS),
                    rng.pick(WORDS),
                    rng.pick(WORDS),
                    rng.pick(&tlds),
                    rng.pick(&tlds)
                ),
            })
            .collect();
        let cidrs = (0..800)
            .map(|_| match rng.below(4) {
                0 => format!("10.{}.0.0/16", rng.below(256)),
                1 => format!("192.168.{}.0/24", rng.below(256)),
                2 => format!(
                    "{}.{}.{}.0/{}",
                    1 + rng.below(223),
                    rng.below(256),
                    rng.below(256),
                    [20, 22, 24, 28][rng.below(4)]
                ),
                _ => format!("2001:db8:{:x}::/48", rng.below(0x10000)),
            })
            .collect();
        let first = [
            "Alex", "Sam", "Kim", "Robin", "Jo", "Max", "Noor", "Lee", "Ari", "Dana",
        ];
        let last = [
            "Meyer", "Okafor", "Tanaka", "Silva", "Novak", "Haddad", "Larsen", "Roy", "Costa",
            "Berg",
        ];
        let mut authors: Vec<String> = (0..36)
            .map(|_| format!("{} {}", rng.pick(&first), rng.pick(&last)))
            .collect();
        authors.push("dcf threat research".to_string());
        authors.push("community".to_string());
        Vocabulary {
            exes: EXES.iter().map(|s| (*s).to_string()).collect(),
            paths,
            dirs,
            domains,
            hashes,
            fragments,
            suffixes,
            globs,
            regexes,
            cidrs,
            users,
            authors,
        }
    }

    /// A value list of 1 to 20 operands for a match of this kind.
    fn values(&self, rng: &mut Rng, kind: MatchKind) -> Vec<String> {
        let pool: &[String] = match kind {
            MatchKind::Equals => match rng.below(5) {
                0 | 1 => &self.exes,
                2 => &self.paths,
                3 => &self.domains,
                _ => &self.hashes,
            },
            MatchKind::Contains => {
                if rng.chance(15) {
                    &self.users
                } else {
                    &self.fragments
                }
            }
            MatchKind::StartsWith => {
                if rng.chance(70) {
                    &self.dirs
                } else {
                    &self.paths
                }
            }
            MatchKind::EndsWith => &self.suffixes,
            MatchKind::Glob => &self.globs,
            MatchKind::Regex => &self.regexes,
            MatchKind::Cidr => &self.cidrs,
        };
        // Mostly short lists, sometimes long ones (IOC lists).
        let n = if rng.chance(10) {
            rng.range(10, 20)
        } else {
            1 + rng.skewed(9)
        };
        (0..n).map(|_| rng.pick_skewed(pool).clone()).collect()
    }
}

fn sep(dir: &str) -> char {
    if dir.starts_with('/') { '/' } else { '\\' }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if "\\.+*?()|[]{}^$".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Field indexes of a template, by type.
struct Shape {
    id: u32,
    strings: Vec<u16>,
    integers: Vec<u16>,
    ips: Vec<u16>,
}

fn synthetic_templates(rng: &mut Rng) -> (Vec<Template>, Vec<Shape>) {
    let mut pool = |suffixes: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = FIELD_PREFIXES
            .iter()
            .flat_map(|p| suffixes.iter().map(move |s| format!("{p}.{s}")))
            .collect();
        rng.shuffle(&mut names);
        names
    };
    let (string_names, integer_names, ip_names) = (
        pool(STRING_SUFFIXES),
        pool(INTEGER_SUFFIXES),
        pool(IP_SUFFIXES),
    );

    let mut templates = Vec::new();
    let mut shapes = Vec::new();
    for (i, name) in TEMPLATE_NAMES.iter().enumerate() {
        let n = rng.range(10, 40);
        let ips = rng.range(1, 3);
        let integers = rng.range(2, n / 3);
        let strings = n - ips - integers;
        let mut fields: Vec<Field> = Vec::with_capacity(n);
        for (names, count, kind) in [
            (&string_names, strings, FieldType::String),
            (&integer_names, integers, FieldType::Integer),
            (&ip_names, ips, FieldType::Ip),
        ] {
            for name in rng.sample(names, count) {
                fields.push(Field { name, kind });
            }
        }
        rng.shuffle(&mut fields);
        let of = |kind: FieldType| -> Vec<u16> {
            (0..fields.len() as u16)
                .filter(|&f| fields[usize::from(f)].kind == kind)
                .collect()
        };
        let id = 100 + 7 * i as u32;
        shapes.push(Shape {
            id,
            strings: of(FieldType::String),
            integers: of(FieldType::Integer),
            ips: of(FieldType::Ip),
        });
        templates.push(Template {
            id,
            name: (*name).to_string(),
            fields,
        });
    }
    (templates, shapes)
}

/// A leaf: a string/glob/regex/CIDR match (on a field, as a keyword search, or against another
/// field), a numeric comparison, or a presence test.
fn leaf(rng: &mut Rng, shape: &Shape, vocab: &Vocabulary) -> Node<Vec<String>> {
    let roll = rng.below(100);
    if roll < 72 {
        let kinds = [
            (MatchKind::Equals, 24),
            (MatchKind::Contains, 20),
            (MatchKind::StartsWith, 10),
            (MatchKind::EndsWith, 16),
            (MatchKind::Glob, 10),
            (MatchKind::Regex, 10),
            (MatchKind::Cidr, 10),
        ];
        let mut r = rng.below(100);
        let mut kind = MatchKind::Equals;
        for (k, weight) in kinds {
            if r < weight {
                kind = k;
                break;
            }
            r -= weight;
        }
        let keyword = kind.allows_keyword() && rng.chance(8);
        let target = if keyword {
            Target::Keyword
        } else if kind == MatchKind::Cidr && rng.chance(85) {
            Target::Field(*rng.pick(&shape.ips))
        } else {
            Target::Field(*rng.pick(&shape.strings))
        };
        let field_ref = !keyword && kind.allows_field_ref() && rng.chance(5);
        let operand = if field_ref {
            Operand::Field(*rng.pick(&shape.strings))
        } else {
            Operand::Values(vocab.values(rng, kind))
        };
        Node::Match(Match {
            kind,
            target,
            case_sensitive: kind.allows_case_flag() && rng.chance(30),
            all_of: !field_ref && rng.chance(12),
            operand,
        })
    } else if roll < 88 {
        let field = if rng.chance(85) {
            *rng.pick(&shape.integers)
        } else {
            *rng.pick(&shape.strings)
        };
        let value = match rng.below(6) {
            0 => rng.below(65_536) as i64,
            1 => rng.below(100_000) as i64,
            2 => (rng.next() % 10_000_000_000) as i64,
            3 => -(rng.below(1000) as i64),
            4 => rng.below(16) as i64,
            _ => *rng.pick(&[i64::MIN, i64::MAX, 0, -1, 4096]),
        };
        Node::Compare {
            op: *rng.pick(CompareOp::ALL),
            field,
            value,
        }
    } else {
        let all = shape.strings.len() + shape.integers.len() + shape.ips.len();
        let field = rng.below(all) as u16;
        match rng.below(3) {
            0 => Node::Any { field },
            1 => Node::Exists { field },
            _ => Node::IsNull { field },
        }
    }
}

/// Appends, in postfix order, an expression of exactly `size` nodes mixing and/or/not/at_least.
fn expression(
    rng: &mut Rng,
    size: usize,
    shape: &Shape,
    vocab: &Vocabulary,
    out: &mut Vec<Node<Vec<String>>>,
) {
    if size == 1 {
        out.push(leaf(rng, shape, vocab));
        return;
    }
    if size == 2 || rng.chance(8) {
        expression(rng, size - 1, shape, vocab, out);
        out.push(Node::Not);
        return;
    }
    let rest = size - 1;
    let children = rng.range(2, rest.min(5));
    let mut sizes = vec![1usize; children];
    for _ in 0..rest - children {
        sizes[rng.below(children)] += 1;
    }
    for s in sizes {
        expression(rng, s, shape, vocab, out);
    }
    let children = children as u32;
    out.push(match rng.below(100) {
        0..=49 => Node::And { children },
        50..=87 => Node::Or { children },
        _ => Node::AtLeast {
            required: rng.range(1, children as usize) as u32,
            children,
        },
    });
}

fn attributes(rng: &mut Rng, vocab: &Vocabulary) -> Vec<Attribute> {
    let attr = |key: &str, value: String| Attribute {
        key: key.to_string(),
        value,
    };
    let mut out = Vec::new();
    for _ in 0..rng.range(1, 3) {
        let value = if rng.chance(70) {
            let t = 1000 + rng.skewed(650);
            if rng.chance(50) {
                format!("https://attack.mitre.org/techniques/T{t}/")
            } else {
                format!(
                    "https://attack.mitre.org/techniques/T{t}/{:03}/",
                    rng.range(1, 12)
                )
            }
        } else {
            format!(
                "https://research.example.org/{}/{}-{}-{}",
                2018 + rng.below(8),
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(500)
            )
        };
        out.push(attr("reference", value));
    }
    for _ in 0..rng.range(1, 5) {
        let value = match rng.below(3) {
            0 => format!("attack.{}", rng.pick(TACTICS)),
            1 => format!("attack.t{}", 1000 + rng.skewed(650)),
            _ => format!("attack.t{}.{:03}", 1000 + rng.skewed(650), rng.range(1, 12)),
        };
        out.push(attr("tag", value));
    }
    out.push(attr(
        "status",
        rng.pick(&["stable", "test", "experimental"]).to_string(),
    ));
    out.push(attr(
        "date",
        format!(
            "{}/{:02}/{:02}",
            2018 + rng.below(8),
            rng.range(1, 12),
            rng.range(1, 28)
        ),
    ));
    if rng.chance(40) {
        out.push(attr(
            "description",
            format!(
                "Detects {} {} by {} from {}",
                rng.pick(ADJECTIVES).to_lowercase(),
                rng.pick(ACTIVITIES).to_lowercase(),
                rng.pick(&vocab.exes),
                rng.pick(&vocab.dirs)
            ),
        ));
    }
    if rng.chance(30) {
        out.push(attr(
            "falsepositive",
            rng.pick(&[
                "Legitimate administration",
                "Software updates",
                "Backup software",
                "Penetration tests",
                "Unknown",
            ])
            .to_string(),
        ));
    }
    out
}

/// A deterministic content of `rules` rules over ten template types.
fn synthetic_content(seed: u64, rules: usize) -> Content {
    let mut rng = Rng(seed);
    let vocab = Vocabulary::new(&mut rng);
    let (templates, shapes) = synthetic_templates(&mut rng);
    let mut out = Vec::with_capacity(rules);
    for _ in 0..rules {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&rng.next().to_le_bytes());
        id[8..].copy_from_slice(&rng.next().to_le_bytes());
        id[6] = (id[6] & 0x0f) | 0x40; // UUID version 4
        id[8] = (id[8] & 0x3f) | 0x80; // RFC 4122 variant
        let shape = rng.pick_skewed(&shapes);
        let size = rng.range(3, 30);
        let mut expr = Vec::with_capacity(size);
        expression(&mut rng, size, shape, &vocab, &mut expr);
        let title = format!(
            "{} {} via {}",
            rng.pick(ADJECTIVES),
            rng.pick(ACTIVITIES),
            rng.pick(EXES)
        );
        out.push(Rule {
            id: RuleId(id),
            template: shape.id,
            title,
            author: rng.pick_skewed(&vocab.authors).clone(),
            severity: *rng.pick(Severity::ALL),
            action: *rng.pick(Action::ALL),
            attributes: attributes(&mut rng, &vocab),
            expression: expr,
        });
    }
    out.sort_by_key(|r| r.id);
    out.dedup_by_key(|r| r.id);
    assert!(out.len() >= 50_000, "rule ids collided");
    Content {
        header: Header {
            minor: 0,
            channel: 7,
            sequence: 42,
            created_at: 1_700_000_000,
            expires_at: 1_800_000_000,
            sensor_min: SensorVersion {
                major: 7,
                minor: 0,
                patch: 0,
            },
            sensor_max: SensorVersion {
                major: 7,
                minor: 99,
                patch: 0,
            },
        },
        templates,
        rules: out,
        extensions: Vec::new(),
        signature: None,
    }
}
