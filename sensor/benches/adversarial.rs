//! Contents built against the cost model (`LOADER.md` COST-1 to COST-7): the ones issue 16
//! found passing the gate, and for each matcher kind the costliest content the default budget
//! accepts, each with the event that makes its matchers work hardest.
//!
//! For every case the setup prints the binder's verdict, the model's steps per byte, the
//! steps the interpreter charged for the event against the model's bound, the load time and
//! the load's peak heap. Criterion then times one evaluation of each accepted case, with the
//! event's text as throughput (1 MiB/s is about 1 ms per KiB). `memcpy` of the same text is
//! the reference measured in the same run.

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcf_parser::{
    Action, Content, Field, FieldType, Header, Match, MatchKind, Node, Operand, Rule, RuleId,
    SensorVersion, Severity, Target, Template, parse,
};
use dcf_sensor::{Event, Scratch, SensorInterface, Value, bind};
use dcf_test_support::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const V: SensorVersion = SensorVersion {
    major: 7,
    minor: 11,
    patch: 0,
};

/// The rules of a case (each a node list) and its event's text.
type RulesAndText = (Vec<Vec<Node<Vec<String>>>>, String);

/// One adversarial case: rules on field 0 of a two-field template, and its worst event.
struct Case {
    name: &'static str,
    rules: Vec<Vec<Node<Vec<String>>>>,
    text: String,
}

fn matcher(kind: MatchKind, values: Vec<String>, case_sensitive: bool) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target: Target::Field(0),
        case_sensitive,
        all_of: false,
        operand: Operand::Values(values),
    })
}

fn content(case: &Case) -> Vec<u8> {
    let template = Template {
        id: 1,
        name: "process".into(),
        fields: ["command_line", "image"]
            .iter()
            .map(|n| Field {
                name: (*n).into(),
                kind: FieldType::String,
            })
            .collect(),
    };
    let rules = case
        .rules
        .iter()
        .enumerate()
        .map(|(i, expression)| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            Rule {
                id: RuleId(id),
                template: 1,
                title: format!("{} {i}", case.name),
                author: "dcf bench".into(),
                severity: Severity::High,
                action: Action::Detect,
                attributes: vec![],
                expression: expression.clone(),
            }
        })
        .collect();
    Content {
        header: Header {
            minor: 0,
            channel: 1,
            sequence: 1,
            created_at: 0,
            expires_at: u64::MAX,
            sensor_min: V,
            sensor_max: V,
        },
        templates: vec![template],
        rules,
        extensions: vec![],
        signature: None,
    }
    .encode()
    .unwrap()
}

/// `n` bytes of `a` and `b` in a pattern no short period repeats.
fn ab_text(n: usize) -> String {
    let mut rng = dcf_test_support::Rng::new(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| if rng.below(2) == 0 { 'a' } else { 'b' })
        .collect()
}

/// `f(0)`, `f(1)`, ... `f(n - 1)`, concatenated.
fn every(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect()
}

fn cases() -> Vec<Case> {
    let regex_3000 = || "a[ab]{3000}c".to_string();
    let mut cases = vec![
        // The contents of issue 16, which the structural model let through.
        Case {
            name: "issue: 300 x a[ab]{3000}c",
            rules: vec![vec![matcher(
                MatchKind::Regex,
                vec![regex_3000(); 300],
                true,
            )]],
            text: ab_text(4 << 10),
        },
        Case {
            name: "issue: a[ab]{3000}c",
            rules: vec![vec![matcher(MatchKind::Regex, vec![regex_3000()], true)]],
            text: ab_text(64 << 10),
        },
        Case {
            name: "issue: glob *a?a?...(3000 ?)",
            rules: vec![vec![matcher(
                MatchKind::Glob,
                vec![format!("*{}*", "a?".repeat(3000))],
                true,
            )]],
            text: "a".repeat(32 << 10),
        },
        Case {
            name: "issue: 20 rules x 300 regexes",
            rules: (0..20)
                .map(|_| vec![matcher(MatchKind::Regex, vec![regex_3000(); 300], true)])
                .collect(),
            text: ab_text(4 << 10),
        },
    ];
    // At the budget, per kind: as many matchers as the default budget accepts (found by
    // binding, so the cases follow the model), and an event that holds every rule's
    // prefilter literal, so that every rule runs on all of it.
    // Regexes too big for a whole DFA, in the lazy DFA over class bytes.
    cases.push(at_budget("budget: class lazy DFA a[ab]{100}c", |count| {
        (
            (0..count)
                .map(|i| {
                    vec![matcher(
                        MatchKind::Regex,
                        vec![format!("(?:a[ab]{{100}}c|z{i})")],
                        true,
                    )]
                })
                .collect(),
            format!("{}{}", ab_text(4 << 10), every(count, |i| format!("z{i} "))),
        )
    }));
    // The same without an alphabet (both kinds of word boundary): the lazy DFA over UTF-8
    // bytes, and the PikeVM where it gives up.
    cases.push(at_budget(
        "budget: Unicode lazy DFA/PikeVM a[ab]{100}c, both \\b",
        |count| {
            (
                (0..count)
                    .map(|i| {
                        vec![matcher(
                            MatchKind::Regex,
                            vec![format!(r"(?:a[ab]{{100}}c|z{i}\b|(?-u:\b)y)")],
                            true,
                        )]
                    })
                    .collect(),
                format!("{}{}", ab_text(4 << 10), every(count, |i| format!("z{i} "))),
            )
        },
    ));
    // Small regexes: whole DFAs as long as the content's allowance for determinization
    // (`REGEX_DENSE_ALLOWANCE`) lasts, the lazy DFA over class bytes for the rest.
    cases.push(at_budget(
        "budget: regexes q{i}a+c, whole DFAs then lazy",
        |count| {
            (
                (0..count)
                    .map(|i| vec![matcher(MatchKind::Regex, vec![format!("q{i}a+c")], true)])
                    .collect(),
                format!(
                    "{}{}",
                    ab_text(4 << 10),
                    every(count, |i| format!("q{i}a "))
                ),
            )
        },
    ));
    // Globs whose one segment is a `?` run after a literal every position holds: within
    // shift-and's 64 characters, and longer (compared at each candidate).
    cases.push(at_budget(
        "budget: shift-and globs *a?a?..a?c*",
        question_mark_globs(12),
    ));
    cases.push(at_budget(
        "budget: long-segment globs *a?..(40 ?)c*",
        question_mark_globs(40),
    ));
    // Case-sensitive contains (not answered by the prefilter): 2 steps per value and byte,
    // on text where each value's long prefix occurs everywhere.
    cases.push(at_budget("budget: case-sensitive contains", |count| {
        (
            (0..count)
                .map(|i| {
                    vec![matcher(
                        MatchKind::Contains,
                        (0..8)
                            .map(|j| format!("{}b{i}_{j}", "a".repeat(30)))
                            .collect(),
                        true,
                    )]
                })
                .collect(),
            format!(
                "{}{}",
                "a".repeat(4 << 10),
                every(count, |i| format!("b{i}_0 "))
            ),
        )
    }));
    cases
}

/// `count` rules of one glob `*a?a?…c{i}_*` with `runs` times `a?`, and a text of `a`s that
/// holds every rule's literal `c{i}_`.
fn question_mark_globs(runs: usize) -> impl Fn(usize) -> RulesAndText {
    move |count| {
        (
            (0..count)
                .map(|i| {
                    vec![matcher(
                        MatchKind::Glob,
                        vec![format!("*{}c{i}_*", "a?".repeat(runs))],
                        true,
                    )]
                })
                .collect(),
            format!(
                "{}{}",
                "a".repeat(4 << 10),
                every(count, |i| format!("c{i}_ "))
            ),
        )
    }
}

/// The case `make(count)` makes for the largest `count` of rules the default budget
/// accepts: doubled until refused, then halved back.
fn at_budget(name: &'static str, make: impl Fn(usize) -> RulesAndText) -> Case {
    let case = |count: usize| {
        let (rules, text) = make(count);
        Case { name, rules, text }
    };
    let accepted = |count: usize| {
        let bytes = content(&case(count));
        let view = parse(&bytes).unwrap();
        bind(&view, &SensorInterface::declared_by(&view, V))
            .refusals
            .is_empty()
    };
    let (mut low, mut high) = (1, 2);
    while accepted(high) {
        (low, high) = (high, high * 2);
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if accepted(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    case(low)
}

fn bench(c: &mut Criterion) {
    let interface_of = |bytes: &[u8]| SensorInterface::declared_by(&parse(bytes).unwrap(), V);
    let mut group = c.benchmark_group("adversarial");
    group.sample_size(10);
    println!(
        "{:<44} {:>8} {:>12} {:>14} {:>14} {:>9} {:>10}",
        "case", "verdict", "steps/byte", "bound", "charged", "load ms", "peak MiB"
    );
    for case in cases() {
        let bytes = content(&case);
        let interface = interface_of(&bytes);
        let view = parse(&bytes).unwrap();
        let started = Instant::now();
        let (binding, heap) = ALLOCATOR.measure(|| bind(&view, &interface));
        let load = started.elapsed();
        let verdict = binding
            .refusals
            .first()
            .map_or("accepted".to_string(), |r| r.code().as_str().to_string());
        let fields = [Value::Str(&case.text), Value::Str("x")];
        let event = Event {
            template: 1,
            fields: &fields,
        };
        let ruleset = binding.ruleset;
        let per_byte = ruleset.cost_model(1).map_or(0, |(p, _)| p[0]);
        let bound = ruleset.cost_bound(&event).unwrap_or(0);
        let mut scratch = Scratch::new();
        let mut out = Vec::new();
        let charged = if binding.refusals.is_empty() {
            ruleset.evaluate(&event, &mut scratch, &mut out).unwrap();
            scratch.steps()
        } else {
            0
        };
        println!(
            "{:<44} {:>8} {:>12} {:>14} {:>14} {:>9.1} {:>10.1}",
            case.name,
            verdict,
            per_byte,
            bound,
            charged,
            load.as_secs_f64() * 1e3,
            heap.peak as f64 / f64::from(1 << 20)
        );
        if !binding.refusals.is_empty() {
            continue;
        }
        assert!(
            charged <= bound,
            "{}: charged {charged} > bound {bound}",
            case.name
        );
        group.throughput(Throughput::Bytes(case.text.len() as u64));
        group.bench_function(case.name, |b| {
            b.iter(|| {
                out.clear();
                ruleset
                    .evaluate(black_box(&event), &mut scratch, &mut out)
                    .unwrap();
            });
        });
    }
    let text = "a".repeat(4 << 10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("reference: memcpy 4 KiB", |b| {
        b.iter(|| black_box(black_box(text.as_bytes()).to_vec()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
