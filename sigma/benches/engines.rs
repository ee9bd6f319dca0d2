//! dcf against the strongest Sigma engines on the same rules and events, in the same run
//! (issues 6 and 7): rsigma-eval (the fastest Rust Sigma engine) and sigma-rust (the
//! independent evaluator of the differential test).
//!
//! `cargo bench -p dcf-sigma --bench engines`. Rules: SigmaHQ's 3,141 (`../shared/sigma/rules`).
//! Events: SigmaHQ's regression events flattened to one JSON object each (the shape a SIEM
//! emits), replayed, plus a generated benign stream of Sysmon process, file, registry and
//! network events with realistic values. Before measuring, the setup prints load time and
//! memory of each engine (a counting allocator) and the (rule, event) matches of dcf and
//! rsigma with their disagreements by kind (explained in `sigma/RSIGMA.md`).

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hint::black_box;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dcf_events::flat_json::{JsonBuffers, Projector, reuse_fields};
use dcf_events::value::{OwnedValue, borrow_values};
use dcf_events::windows::{WindowsEvent, json_stream};
use dcf_parser::Content;
use dcf_sensor::{Channels, Event, LoaderConfig, Ruleset, Scratch, Sensor, SensorInterface};
use dcf_sigma::{ImportOptions, compile_paths};
use dcf_test_support::CountingAllocator;
use dcf_test_support::Rng;
use serde_json::{Map, Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Memory: a counting allocator (current and peak bytes in use).

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// Runs `f`; returns its result, the bytes it still holds afterwards and its peak above the
/// starting point.
fn measure_memory<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (out, heap) = GLOBAL.measure(f);
    (out, heap.held, heap.peak)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

// ---------------------------------------------------------------------------------------------
// Inputs

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sigma_dir() -> PathBuf {
    repo().join("../shared/sigma")
}

fn rule_files() -> Vec<PathBuf> {
    let mut files = dcf_sigma::rule_files(&[sigma_dir().join("rules")]).expect("SigmaHQ rules");
    files.sort();
    files
}

/// SigmaHQ's regression events, each flattened into one JSON object.
fn regression_events() -> Vec<Json> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("regression data") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&sigma_dir().join("regression_data/rules"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for json in json_stream(&text).expect("json stream") {
            if let Ok(event) = WindowsEvent::from_json(&json) {
                let object: Map<String, Json> = event.flat.fields.into_iter().collect();
                out.push(Json::Object(object));
            }
        }
    }
    out
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// Benign Sysmon events: process creation (1), network connection (3), file creation (11),
/// registry value set (13), with values drawn from what a Windows fleet really runs.
fn benign_events(count: usize) -> Vec<Json> {
    let images = [
        (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        ),
        (
            "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --renderer-client-id=7",
        ),
        (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\" /recycle",
        ),
        (
            "C:\\Windows\\System32\\conhost.exe",
            "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        ),
        ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
        (
            "C:\\Program Files\\Git\\cmd\\git.exe",
            "git.exe -c credential.helper= fetch --all --prune",
        ),
        (
            "C:\\Windows\\System32\\taskhostw.exe",
            "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        ),
        (
            "C:\\Program Files\\Microsoft VS Code\\Code.exe",
            "\"C:\\Program Files\\Microsoft VS Code\\Code.exe\" --type=utility --utility-sub-type=node.mojom.NodeService",
        ),
        (
            "C:\\Windows\\System32\\SearchProtocolHost.exe",
            "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646",
        ),
        (
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell.exe -NoProfile -ExecutionPolicy RemoteSigned -File C:\\ProgramData\\Inventory\\collect.ps1",
        ),
    ];
    let parents = [
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    ];
    let users = [
        "CORP\\ana",
        "CORP\\bo",
        "CORP\\chen",
        "NT AUTHORITY\\SYSTEM",
    ];
    let folders = [
        "C:\\Users\\ana\\AppData\\Local\\Temp\\",
        "C:\\Users\\bo\\Documents\\",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\",
        "C:\\Users\\chen\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\",
    ];
    let keys = [
        "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx",
        "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignatureLocation",
        "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Google\\Chrome\\PreferenceMACs\\Default\\homepage",
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-682003330-1001\\Device\\HarddiskVolume3\\Windows\\System32\\notepad.exe",
    ];
    let hosts = [
        ("142.250.74.110", "www.google.com", 443),
        ("13.107.42.14", "outlook.office365.com", 443),
        ("10.20.0.5", "fileserver.corp.local", 445),
        ("140.82.121.4", "github.com", 443),
    ];
    let mut rng = Rng::new(0x0291_0719);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (image, command) = images[(rng.next_u64() % images.len() as u64) as usize];
        let pid = 1000 + rng.next_u64() % 30_000;
        let base = json!({
            "Channel": SYSMON,
            "Provider_Name": "Microsoft-Windows-Sysmon",
            "Computer": "WS-0042.corp.local",
            "UtcTime": "2026-11-24 01:02:03.456",
            "ProcessGuid": format!("{{5770385f-{:04x}-6718-0b00-000000002b00}}", i % 65536),
            "ProcessId": pid,
            "Image": image,
            "User": rng.pick(&users),
        });
        let Json::Object(mut e) = base else {
            unreachable!()
        };
        let mut set = |k: &str, v: Json| {
            e.insert(k.to_string(), v);
        };
        match i % 4 {
            0 => {
                set("EventID", json!(1));
                set("CommandLine", json!(command));
                set("CurrentDirectory", json!("C:\\Windows\\system32\\"));
                set("IntegrityLevel", json!("Medium"));
                set("ParentImage", json!(rng.pick(&parents)));
                set("ParentCommandLine", json!("C:\\Windows\\Explorer.EXE"));
                set("ParentProcessId", json!(400 + rng.next_u64() % 9000));
                set(
                    "Hashes",
                    json!(format!(
                        "SHA256={:016X}{:016X}{:016X}{:016X}",
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64(),
                        rng.next_u64()
                    )),
                );
                set(
                    "OriginalFileName",
                    json!(image.rsplit('\\').next().unwrap_or(image)),
                );
                set("Company", json!("Microsoft Corporation"));
                set("Product", json!("Microsoft® Windows® Operating System"));
            }
            1 => {
                let (ip, host, port) = hosts[(rng.next_u64() % hosts.len() as u64) as usize];
                set("EventID", json!(3));
                set("Protocol", json!("tcp"));
                set("Initiated", json!("true"));
                set("SourceIp", json!("10.20.3.41"));
                set("SourcePort", json!(49152 + rng.next_u64() % 16000));
                set("DestinationIp", json!(ip));
                set("DestinationHostname", json!(host));
                set("DestinationPort", json!(port));
            }
            2 => {
                set("EventID", json!(11));
                set(
                    "TargetFilename",
                    json!(format!(
                        "{}f_{:06x}.tmp",
                        rng.pick(&folders),
                        rng.next_u64() % 0xffffff
                    )),
                );
                set("CreationUtcTime", json!("2026-11-24 01:02:03.456"));
            }
            _ => {
                set("EventID", json!(13));
                set("EventType", json!("SetValue"));
                set("TargetObject", json!(rng.pick(&keys)));
                set(
                    "Details",
                    json!(format!("DWORD (0x{:08x})", rng.next_u64() % 0xffff)),
                );
            }
        }
        out.push(Json::Object(e));
    }
    out
}

/// The stream: the regression events replayed `replays` times, interleaved with the benign.
fn stream(regression: &[Json], replays: usize, benign: &[Json]) -> Vec<String> {
    let mut out = Vec::with_capacity(regression.len() * replays + benign.len());
    let mut b = benign.iter();
    let per = benign.len() / (regression.len() * replays).max(1);
    for _ in 0..replays {
        for r in regression {
            out.push(r.to_string());
            for _ in 0..per {
                if let Some(e) = b.next() {
                    out.push(e.to_string());
                }
            }
        }
    }
    out.extend(b.map(Json::to_string));
    out
}

// ---------------------------------------------------------------------------------------------
// dcf

struct Dcf {
    interface: SensorInterface,
    signed: Vec<u8>,
    public: [u8; 32],
    template_of: HashMap<String, u32>,
}

fn dcf_setup(files: &[PathBuf]) -> (Dcf, Content) {
    let text =
        std::fs::read_to_string(repo().join("sigma/manifests/sigmahq.toml")).expect("manifest");
    let interface = dcf_validator::manifest::from_toml(&text).expect("manifest parses");
    let (mut content, report) = compile_paths(
        files,
        std::slice::from_ref(&interface),
        &ImportOptions::default(),
    )
    .expect("compile");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped.first());
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]);
    let signed = dcf_validator::keys::sign_content(&mut content, &key).expect("sign");
    let template_of = interface
        .templates
        .iter()
        .map(|t| (t.name.clone(), t.id))
        .collect();
    (
        Dcf {
            interface,
            signed,
            public: key.verifying_key().to_bytes(),
            template_of,
        },
        content,
    )
}

impl Dcf {
    /// A sensor with no content, as it runs before an update arrives.
    fn sensor(&self) -> Sensor {
        Sensor::new(
            LoaderConfig::new(self.interface.clone(), vec![self.public], Channels::Any),
            0,
        )
        .expect("sensor")
    }

    /// The template types an event is delivered to, with its field array for each.
    fn decode(&self, event: &WindowsEvent) -> Vec<(u32, Vec<OwnedValue>)> {
        event
            .routes()
            .iter()
            .filter_map(|key| self.template_of.get(&key.template_name()).copied())
            .filter_map(|id| {
                let t = self.interface.template(id)?;
                Some((id, event.flat.project(t)))
            })
            .collect()
    }
}

fn dcf_eval_decoded(
    ruleset: &Ruleset,
    events: &[Vec<(u32, Vec<OwnedValue>)>],
    scratch: &mut Scratch,
    mut on_match: impl FnMut(usize, u32),
) -> usize {
    let mut out = Vec::new();
    let mut matches = 0;
    for (n, deliveries) in events.iter().enumerate() {
        for (template, values) in deliveries {
            let fields = borrow_values(values);
            out.clear();
            let _ = ruleset.evaluate(
                &Event {
                    template: *template,
                    fields: &fields,
                },
                scratch,
                &mut out,
            );
            for &r in &out {
                on_match(n, r);
            }
            matches += out.len();
        }
    }
    matches
}

fn dcf_eval_json(
    projector: &Projector,
    ruleset: &Ruleset,
    lines: &[String],
    scratch: &mut Scratch,
) -> usize {
    let mut out = Vec::new();
    let mut names = Vec::new();
    let mut templates = Vec::new();
    let mut matches = 0;
    let mut buffers = JsonBuffers::new();
    // One field array for all events: it borrows the event it holds, so it passes through
    // `reuse_fields` from one event to the next (same allocation).
    let mut fields = Vec::new();
    for line in lines {
        let Ok(event) = buffers.parse(line) else {
            continue;
        };
        let mut event_fields = reuse_fields(std::mem::take(&mut fields));
        projector.resolve(&event, &mut names);
        projector.windows_templates_into(&event, &mut templates);
        for &template in &templates {
            projector.project_resolved(&event, &names, template, &mut event_fields);
            out.clear();
            let _ = ruleset.evaluate(
                &Event {
                    template,
                    fields: &event_fields,
                },
                scratch,
                &mut out,
            );
            matches += out.len();
        }
        fields = reuse_fields(event_fields);
    }
    matches
}

// ---------------------------------------------------------------------------------------------
// rsigma

fn rsigma_load(files: &[PathBuf]) -> (rsigma_eval::Engine, usize) {
    let mut rules = Vec::new();
    let mut failed = 0;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            failed += 1;
            continue;
        };
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(collection) => rules.extend(collection.rules),
            Err(_) => failed += 1,
        }
    }
    let mut engine = rsigma_eval::Engine::new();
    failed += engine.add_rules(rules.iter()).len();
    (engine, failed)
}

fn rsigma_eval_values(
    engine: &rsigma_eval::Engine,
    events: &[Json],
    mut on_match: impl FnMut(usize, &str),
) -> usize {
    let mut matches = 0;
    for (n, v) in events.iter().enumerate() {
        let results = engine.evaluate(&rsigma_eval::event::JsonEvent::borrow(v));
        for r in &results {
            on_match(n, r.header.rule_id.as_deref().unwrap_or(""));
        }
        matches += results.len();
    }
    matches
}

fn rsigma_eval_json(engine: &rsigma_eval::Engine, lines: &[String]) -> usize {
    let mut matches = 0;
    for line in lines {
        let Ok(v) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        matches += engine
            .evaluate(&rsigma_eval::event::JsonEvent::borrow(&v))
            .len();
    }
    matches
}

// ---------------------------------------------------------------------------------------------

fn bench(c: &mut Criterion) {
    let files = rule_files();
    let regression = regression_events();
    let benign = benign_events(24_000);
    let lines = stream(&regression, 10, &benign);
    let values: Vec<Json> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    eprintln!(
        "events: {} ({} regression events x 10, {} benign)",
        lines.len(),
        regression.len(),
        benign.len()
    );

    // Load and memory, once each, outside criterion (memory is not a timing).
    let (dcf, content) = dcf_setup(&files);
    let dcf_file = std::env::temp_dir().join(format!("dcf-engines-{}.dcf", std::process::id()));
    std::fs::write(&dcf_file, &dcf.signed).expect("write content");
    let t = Instant::now();
    let (ruleset, dcf_held, dcf_peak) = measure_memory(|| {
        let bytes = std::fs::read(&dcf_file).expect("read content");
        let sensor = Sensor::new(
            LoaderConfig::new(dcf.interface.clone(), vec![dcf.public], Channels::Any),
            0,
        )
        .expect("sensor");
        sensor.load(&bytes, 1).expect("loads")
    });
    let dcf_load = t.elapsed();
    let t = Instant::now();
    let ((engine, rsigma_failed), rs_held, rs_peak) = measure_memory(|| rsigma_load(&files));
    let rs_load = t.elapsed();
    eprintln!(
        "load once: dcf {dcf_load:?} (held {}, peak {}; content {} bytes, {} rules); rsigma {rs_load:?} (held {}, peak {}; {} rules, {} files or rules refused)",
        mib(dcf_held),
        mib(dcf_peak),
        dcf.signed.len(),
        content.rules.len(),
        mib(rs_held),
        mib(rs_peak),
        engine.rule_count(),
        rsigma_failed
    );

    // Matches of both engines over the whole stream, and their disagreements.
    let decoded: Vec<Vec<(u32, Vec<OwnedValue>)>> = values
        .iter()
        .map(|v| match v {
            Json::Object(o) => dcf.decode(&WindowsEvent::from_flat_json(o)),
            _ => Vec::new(),
        })
        .collect();
    let mut ours: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut scratch = Scratch::new();
    dcf_eval_decoded(&ruleset, &decoded, &mut scratch, |n, r| {
        ours.insert((ruleset.rules()[r as usize].id.to_string(), n));
    });
    let mut theirs: BTreeSet<(String, usize)> = BTreeSet::new();
    rsigma_eval_values(&engine, &values, |n, id| {
        theirs.insert((id.to_string(), n));
    });
    let only_ours: BTreeMap<&str, usize> =
        ours.difference(&theirs)
            .fold(BTreeMap::new(), |mut m, (id, _)| {
                *m.entry(id.as_str()).or_insert(0) += 1;
                m
            });
    let only_theirs: BTreeMap<&str, usize> =
        theirs
            .difference(&ours)
            .fold(BTreeMap::new(), |mut m, (id, _)| {
                *m.entry(id.as_str()).or_insert(0) += 1;
                m
            });
    eprintln!(
        "matches (rule, event): dcf {}, rsigma {}, both {}; only dcf {} over {} rules; only rsigma {} over {} rules",
        ours.len(),
        theirs.len(),
        ours.intersection(&theirs).count(),
        ours.difference(&theirs).count(),
        only_ours.len(),
        theirs.difference(&ours).count(),
        only_theirs.len()
    );
    let titles: HashMap<String, (String, u32)> = content
        .rules
        .iter()
        .map(|r| (r.id.to_string(), (r.title.clone(), r.template)))
        .collect();
    let name_of: HashMap<u32, String> = dcf
        .interface
        .templates
        .iter()
        .map(|t| (t.id, t.name.clone()))
        .collect();
    let describe = |id: &str| match titles.get(id) {
        Some((title, template)) => format!(
            "{id} [{}] {title}",
            name_of.get(template).map_or("?", String::as_str)
        ),
        None => format!("{id} (not in the dcf content)"),
    };
    // Why rsigma matches more: a rule whose log source the event does not belong to (rsigma's
    // `evaluate` ignores log sources; the Sigma specification scopes a rule to its log source,
    // and a dcf sensor delivers an event only to its log sources' template types).
    let delivered: Vec<BTreeSet<u32>> = decoded
        .iter()
        .map(|d| d.iter().map(|(t, _)| *t).collect())
        .collect();
    let (mut other_source, mut same_source) = (0usize, Vec::new());
    for (id, n) in theirs.difference(&ours) {
        match titles.get(id) {
            Some((_, template)) if !delivered[*n].contains(template) => other_source += 1,
            _ => same_source.push((id.clone(), *n)),
        }
    }
    eprintln!(
        "only rsigma: {other_source} matches of a rule whose log source the event does not belong to; {} others{}",
        same_source.len(),
        if same_source.is_empty() {
            String::new()
        } else {
            format!(": {same_source:?}")
        }
    );
    let report = std::env::var_os("DCF_ENGINES_REPORT").map(PathBuf::from);
    let mut text = String::new();
    for (id, n) in &only_ours {
        text.push_str(&format!("only dcf\t{n}\t{}\n", describe(id)));
    }
    for (id, n) in &only_theirs {
        text.push_str(&format!("only rsigma\t{n}\t{}\n", describe(id)));
    }
    if let Some(path) = report {
        std::fs::write(&path, &text).expect("write the disagreement report");
        eprintln!("disagreements by rule written to {}", path.display());
    }

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    // From files to a ready engine, teardown excluded for both (criterion drops what the
    // routine returns after timing it): dcf reads the signed content file and loads it into a
    // running sensor (created outside the timing: a sensor exists before updates arrive);
    // rsigma reads and parses the rule files and builds its engine.
    group.bench_function("dcf", |b| {
        b.iter_batched(
            || dcf.sensor(),
            |sensor| {
                let bytes = std::fs::read(&dcf_file).expect("read content");
                let ruleset = sensor.load(&bytes, 1).expect("loads");
                (sensor, ruleset)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("rsigma", |b| b.iter_with_large_drop(|| rsigma_load(&files)));
    group.finish();

    let projector = Projector::new(&dcf.interface);
    // The fast path must see what the tree adapter sees.
    let mut scratch = Scratch::new();
    assert_eq!(
        dcf_eval_json(&projector, &ruleset, &lines, &mut scratch),
        dcf_eval_decoded(&ruleset, &decoded, &mut scratch, |_, _| {}),
        "flat JSON fast path and tree adapter disagree"
    );
    let mut group = c.benchmark_group("eval_json");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("dcf", |b| {
        let mut scratch = Scratch::new();
        b.iter(|| black_box(dcf_eval_json(&projector, &ruleset, &lines, &mut scratch)))
    });
    group.bench_function("rsigma", |b| {
        b.iter(|| black_box(rsigma_eval_json(&engine, &lines)))
    });
    group.finish();

    let mut group = c.benchmark_group("eval_decoded");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("dcf", |b| {
        let mut scratch = Scratch::new();
        b.iter(|| {
            black_box(dcf_eval_decoded(
                &ruleset,
                &decoded,
                &mut scratch,
                |_, _| {},
            ))
        })
    });
    group.bench_function("rsigma", |b| {
        b.iter(|| black_box(rsigma_eval_values(&engine, &values, |_, _| {})))
    });
    group.finish();

    // sigma-rust evaluates every rule on every event: a slice of the stream is enough.
    let slice: Vec<Json> = values.iter().take(100).cloned().collect();
    let sigma_rust_rules: Vec<sigma_rust::Rule> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|t| sigma_rust::rule_from_yaml(&t).ok())
        .collect();
    let sigma_rust_events: Vec<sigma_rust::Event> = slice
        .iter()
        .filter_map(|v| sigma_rust::Event::try_from(v.clone()).ok())
        .collect();
    let mut group = c.benchmark_group("eval_decoded_slice");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(sigma_rust_events.len() as u64));
    group.bench_function("sigma_rust", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &sigma_rust_events {
                n += sigma_rust_rules.iter().filter(|r| r.is_match(e)).count();
            }
            black_box(n)
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&dcf_file);
}

criterion_group!(benches, bench);
criterion_main!(benches);
