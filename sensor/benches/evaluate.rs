//! Events per second on one core over a content of 2,400 process-creation rules.
//!
//! Measured in the same run, as references for the noisy shared machine:
//! - `memcpy`: copying the event's text once (the floor of touching the bytes at all);
//! - `exhaustive`: the same interpreter without the literal prefilter (every rule evaluated).
//!
//! The live heap of the loaded content is measured with a counting allocator and printed.

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcf_parser::{
    Action, Content, Field, FieldType, Header, Match, MatchKind, Node, Operand, Rule, RuleId,
    SensorVersion, Severity, Target, Template, parse,
};
use dcf_sensor::{Event, FieldInterface, Scratch, SensorInterface, TemplateInterface, Value, bind};
use dcf_test_support::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const FIELDS: [&str; 8] = [
    "Image",
    "CommandLine",
    "ParentImage",
    "ParentCommandLine",
    "User",
    "IntegrityLevel",
    "OriginalFileName",
    "CurrentDirectory",
];

const TOOLS: &[&str] = &[
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
    "wmic.exe",
    "schtasks.exe",
    "reg.exe",
    "net.exe",
    "net1.exe",
    "sc.exe",
    "vssadmin.exe",
    "wevtutil.exe",
    "bcdedit.exe",
    "msiexec.exe",
    "installutil.exe",
    "regasm.exe",
    "odbcconf.exe",
    "forfiles.exe",
    "curl.exe",
    "tar.exe",
    "esentutl.exe",
    "ntdsutil.exe",
    "procdump.exe",
    "psexec.exe",
];
const FLAGS: &[&str] = &[
    "-enc",
    "-encodedcommand",
    "downloadstring",
    "iex",
    "bypass",
    "-nop",
    "hidden",
    "frombase64string",
    "/transfer",
    "urlcache",
    "-decode",
    "delete shadows",
    "/create",
    "/sc minute",
    "clear-log",
    "recoveryenabled",
    "javascript:",
    "vbscript:",
    "scrobj.dll",
    "/i:http",
    "add-mppreference",
    "-exclusionpath",
    "comsvcs.dll",
    "minidump",
    "lsass",
    "sekurlsa",
    "invoke-mimikatz",
    "net user /add",
    "localgroup administrators",
    "shadowcopy",
    "ifm",
    "-ma lsass",
];
const PARENTS: &[&str] = &[
    "winword.exe",
    "excel.exe",
    "powerpnt.exe",
    "outlook.exe",
    "explorer.exe",
    "services.exe",
    "w3wp.exe",
    "sqlservr.exe",
];

fn content() -> (Content, SensorInterface) {
    let fields: Vec<Field> = FIELDS
        .iter()
        .map(|n| Field {
            name: (*n).into(),
            kind: FieldType::String,
        })
        .collect();
    let template = Template {
        id: 1,
        name: "process_creation".into(),
        fields,
    };
    let mut rules = Vec::new();
    let text = |kind, field: u16, values: Vec<String>, all_of| {
        Node::Match(Match {
            kind,
            target: Target::Field(field),
            case_sensitive: false,
            all_of,
            operand: Operand::Values(values),
        })
    };
    for i in 0..2400usize {
        let tool = TOOLS[i % TOOLS.len()];
        let flag = FLAGS[(i / TOOLS.len()) % FLAGS.len()];
        let flag2 = FLAGS[(i * 7 + 3) % FLAGS.len()];
        let mut expression = vec![
            text(
                MatchKind::EndsWith,
                0,
                vec![
                    format!("\\{tool}"),
                    format!("\\{}_{i}.exe", &tool[..tool.len() - 4]),
                ],
                false,
            ),
            text(
                MatchKind::Contains,
                1,
                vec![flag.to_string(), format!("{flag2} {i}")],
                false,
            ),
        ];
        match i % 4 {
            0 => expression.push(Node::And { children: 2 }),
            1 => {
                expression.push(text(
                    MatchKind::EndsWith,
                    2,
                    vec![format!("\\{}", PARENTS[i % PARENTS.len()])],
                    false,
                ));
                expression.push(Node::And { children: 3 });
            }
            2 => {
                expression.push(text(
                    MatchKind::Contains,
                    7,
                    vec!["\\windows\\temp\\".into(), "\\programdata\\".into()],
                    false,
                ));
                expression.push(Node::Not);
                expression.push(Node::And { children: 3 });
            }
            _ => {
                expression.push(text(
                    MatchKind::Regex,
                    1,
                    vec![format!("(?i){}\\s+\\S+{i}", regex_escape(flag))],
                    false,
                ));
                expression.push(Node::Or { children: 2 });
                expression.push(Node::And { children: 2 });
            }
        }
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        rules.push(Rule {
            id: RuleId(id),
            template: 1,
            title: format!("Suspicious {tool} with {flag}"),
            author: "dcf bench".into(),
            severity: Severity::High,
            action: Action::Detect,
            attributes: vec![],
            expression,
        });
    }
    let v = SensorVersion {
        major: 7,
        minor: 11,
        patch: 0,
    };
    let header = Header {
        minor: 0,
        channel: 1,
        sequence: 1,
        created_at: 0,
        expires_at: u64::MAX,
        sensor_min: v,
        sensor_max: v,
    };
    let interface = SensorInterface {
        // 600 case-insensitive regexes with Unicode classes read one field, and whole DFAs
        // answer few of them: the model's worst case for that field is some 400,000 steps per
        // byte, over the default budget. A sensor that runs such a content states a budget
        // for it (LOADER.md COST-5); the bench prints what the model concludes. Each of those
        // regexes may also hold a 256 KiB lazy DFA cache per evaluating thread: 150 MiB.
        budget: dcf_sensor::Budget {
            steps_per_byte: 1 << 20,
            memory: 1 << 30,
            ..Default::default()
        },
        sensor: None,
        version: v,
        templates: vec![TemplateInterface {
            id: 1,
            name: template.name.clone(),
            fields: template
                .fields
                .iter()
                .map(|f| FieldInterface {
                    name: f.name.clone(),
                    kind: f.kind,
                    max_len: None,
                })
                .collect(),
        }],
    };
    (
        Content {
            header,
            templates: vec![template],
            rules,
            extensions: vec![],
            signature: None,
        },
        interface,
    )
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// Realistic benign process events: nothing in them satisfies any rule.
fn benign() -> Vec<[String; 8]> {
    let images = [
        (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        ),
        (
            "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --field-trial-handle=1234 --lang=en-US",
        ),
        (
            "C:\\Windows\\System32\\conhost.exe",
            "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        ),
        ("C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"),
        (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n \"C:\\Users\\alice\\Documents\\Q3 report.docx\"",
        ),
        (
            "C:\\Windows\\System32\\SearchIndexer.exe",
            "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
        ),
        (
            "C:\\Windows\\System32\\taskhostw.exe",
            "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        ),
        (
            "C:\\Program Files\\Git\\cmd\\git.exe",
            "git status --porcelain=v2 --branch",
        ),
    ];
    (0..64)
        .map(|i| {
            let (image, command) = images[i % images.len()];
            [
                image.to_string(),
                format!("{command} {i}"),
                "C:\\Windows\\System32\\services.exe".to_string(),
                "C:\\Windows\\system32\\services.exe".to_string(),
                "NT AUTHORITY\\SYSTEM".to_string(),
                "System".to_string(),
                image.rsplit('\\').next().unwrap_or_default().to_string(),
                "C:\\Windows\\system32\\".to_string(),
            ]
        })
        .collect()
}

/// Events that each satisfy at least one rule.
fn malicious() -> Vec<[String; 8]> {
    (0..64)
        .map(|i| {
            let tool = TOOLS[i % TOOLS.len()];
            let flag = FLAGS[i % FLAGS.len()];
            // The rule built from this tool and flag; its parent, for rules that also need one.
            let rule = (i % FLAGS.len()) * TOOLS.len() + i % TOOLS.len();
            [
                format!("C:\\Windows\\System32\\{tool}"),
                format!("{tool} {flag} aGVsbG8= {i}"),
                format!(
                    "C:\\Program Files\\Microsoft Office\\{}",
                    PARENTS[rule % PARENTS.len()]
                ),
                "explorer.exe".to_string(),
                "CORP\\alice".to_string(),
                "Medium".to_string(),
                tool.to_string(),
                "C:\\Users\\alice\\".to_string(),
            ]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (content, interface) = content();
    let bytes = content.encode().expect("bench content encodes");
    let before = ALLOCATOR.live();
    let ruleset = bind(&parse(&bytes).expect("bench content parses"), &interface)
        .into_result()
        .expect("binds");
    let live = ALLOCATOR.live().saturating_sub(before);
    if let Some((per_byte, fixed)) = ruleset.cost_model(1) {
        println!(
            "cost model: {} steps per byte of the costliest field, {fixed} fixed steps",
            per_byte.iter().max().unwrap_or(&0)
        );
    }
    println!(
        "content: {} rules, {} bytes on disk, {:.1} MiB live heap once loaded",
        ruleset.rules().len(),
        bytes.len(),
        live as f64 / (1024.0 * 1024.0)
    );

    for (name, events) in [("benign", benign()), ("matching", malicious())] {
        let values: Vec<Vec<Value<'_>>> = events
            .iter()
            .map(|e| e.iter().map(|s| Value::Str(s)).collect())
            .collect();
        let (mut scratch, mut out) = (Scratch::new(), Vec::new());
        let mut matched = 0usize;
        for v in &values {
            out.clear();
            ruleset
                .evaluate(
                    &Event {
                        template: 1,
                        fields: v,
                    },
                    &mut scratch,
                    &mut out,
                )
                .expect("evaluates");
            matched += usize::from(!out.is_empty());
        }
        println!(
            "{name}: {matched} of {} events match at least one rule",
            values.len()
        );
        assert!(
            if name == "benign" {
                matched == 0
            } else {
                matched == values.len()
            },
            "bench events are not what they claim"
        );
        let text_len: usize = events.iter().flatten().map(String::len).sum();

        let mut group = c.benchmark_group(format!("evaluate/{name}"));
        group.throughput(Throughput::Elements(values.len() as u64));
        group.bench_function("prefiltered", |b| {
            b.iter(|| {
                for v in &values {
                    out.clear();
                    let _ = ruleset.evaluate(
                        &Event {
                            template: 1,
                            fields: black_box(v),
                        },
                        &mut scratch,
                        &mut out,
                    );
                }
                black_box(out.len())
            })
        });
        group.bench_function("exhaustive", |b| {
            b.iter(|| {
                for v in &values {
                    out.clear();
                    let _ = ruleset.evaluate_exhaustive(
                        &Event {
                            template: 1,
                            fields: black_box(v),
                        },
                        &mut scratch,
                        &mut out,
                    );
                }
                black_box(out.len())
            })
        });
        let mut buffer = vec![0u8; text_len];
        group.bench_function("memcpy_event_text", |b| {
            b.iter(|| {
                let mut at = 0;
                for s in events.iter().flatten() {
                    buffer[at..at + s.len()].copy_from_slice(black_box(s.as_bytes()));
                    at += s.len();
                }
                black_box(&buffer);
            })
        });
        group.finish();
    }

    let mut group = c.benchmark_group("load");
    group.bench_function("parse_and_compile", |b| {
        b.iter(|| bind(&parse(black_box(&bytes)).expect("parses"), &interface))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
