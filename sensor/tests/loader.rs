//! The loader refuses every bad update with its own code and keeps the last known good
//! content; a good update replaces it atomically, even while other threads evaluate.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dcf_conformance::valid::{TEST_KEY_SEED, base, header, m, rule, sign};
use dcf_parser::{Content, Field, FieldType, MatchKind, Node, SensorVersion, Template};
use dcf_sensor::{
    Budget, Channels, Event, FieldInterface, LoaderConfig, Scratch, Sensor, SensorInterface, Value,
};
use ed25519_dalek::SigningKey;

const NOW: u64 = 1_780_000_000;

fn interface_of(content: &Content, version: SensorVersion) -> SensorInterface {
    let bytes = content.encode().unwrap();
    SensorInterface::declared_by(&dcf_parser::parse(&bytes).unwrap(), version)
}

fn v(major: u16, minor: u16) -> SensorVersion {
    SensorVersion {
        major,
        minor,
        patch: 0,
    }
}

fn test_key() -> [u8; 32] {
    SigningKey::from_bytes(&TEST_KEY_SEED)
        .verifying_key()
        .to_bytes()
}

/// A loader config for `interface` that serves `channel`.
fn config(interface: SensorInterface, channel: u32) -> LoaderConfig {
    LoaderConfig::new(interface, vec![test_key()], Channels::Only(channel))
}

fn sensor() -> Sensor {
    Sensor::new(
        config(interface_of(&base(), v(7, 11)), base().header.channel),
        0,
    )
    .unwrap()
}

fn with_sequence(mut c: Content, sequence: u64) -> Vec<u8> {
    c.header.sequence = sequence;
    sign(c).encode().unwrap()
}

/// Loads a good update, then checks that `bad` is refused with `code` and the good one stays.
fn refused(sensor: &Sensor, bad: &[u8], now: u64, code: &str) -> String {
    let before = sensor.active().map(|r| r.sequence());
    let error = sensor.load(bad, now).expect_err("update must be refused");
    assert_eq!(error.code(), code, "{error}");
    assert_eq!(
        sensor.active().map(|r| r.sequence()),
        before,
        "the last known good content must stay active"
    );
    error.to_string()
}

#[test]
fn every_bad_update_is_refused_with_its_code_and_the_old_content_stays() {
    let s = sensor();
    s.load(&with_sequence(base(), 5), NOW).unwrap();
    assert_eq!(s.active().unwrap().sequence(), 5);

    let good = with_sequence(base(), 6);
    let mut corrupted = good.clone();
    corrupted[100] ^= 0x20;
    refused(&s, &corrupted, NOW, "E0107");
    refused(&s, &good[..good.len() - 1], NOW, "E0107");
    refused(&s, b"not a dcf file", NOW, "E0102");

    let mut bad_signature = good.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    refused(&s, &bad_signature, NOW, "E3003");

    let mut other = base();
    other.header.sequence = 6;
    let other_key = SigningKey::from_bytes(&[9; 32]);
    other.signature = Some(dcf_parser::Signature {
        key_id: dcf_parser::key_id(other_key.verifying_key().as_bytes()),
        signature: [0; 64],
    });
    let unsigned_by_other = other.encode().unwrap();
    refused(&s, &unsigned_by_other, NOW, "E3002");

    let mut unsigned = base();
    unsigned.header.sequence = 6;
    refused(&s, &unsigned.encode().unwrap(), NOW, "E3001");

    refused(&s, &good, base().header.expires_at, "E3007");
    refused(&s, &good, base().header.created_at - 1, "E3006");
    refused(&s, &with_sequence(base(), 5), NOW, "E3008");
    refused(&s, &with_sequence(base(), 1), NOW, "E3008");

    let mut future = base();
    future.header.sensor_min = v(8, 0);
    future.header.sensor_max = v(8, 9);
    refused(&s, &with_sequence(future, 7), NOW, "E3004");

    s.load(&good, NOW).unwrap();
    assert_eq!(s.active().unwrap().sequence(), 6);
}

/// A slot serves the channel it names: content of another channel is refused before its
/// sequence is looked at, so a high sequence on another channel cannot move this channel's
/// high-water mark (before, a default configuration accepted every channel).
#[test]
fn a_sensor_serves_only_its_channel_unless_it_accepts_any() {
    let s = sensor();
    s.load(&with_sequence(base(), 5), NOW).unwrap();
    let mut other = base();
    other.header.channel = base().header.channel.wrapping_add(1);
    let far = with_sequence(other, 1_000_000);
    refused(&s, &far, NOW, "E3005");
    assert_eq!(
        s.current_sequence(),
        5,
        "another channel moved the high-water mark"
    );
    s.load(&with_sequence(base(), 6), NOW).unwrap();

    // Accepting any channel is said explicitly, and then the channels share one sequence.
    let any = Sensor::new(
        LoaderConfig::new(
            interface_of(&base(), v(7, 11)),
            vec![test_key()],
            Channels::Any,
        ),
        0,
    )
    .unwrap();
    any.load(&far, NOW).unwrap();
    refused(&any, &with_sequence(base(), 6), NOW, "E3008");
}

/// Channel File 291: content compiled for 21 IPC fields, sensor 7.11 supplying 20.
fn ipc_content(expression: Vec<Node<Vec<String>>>) -> Content {
    let fields = (0..21)
        .map(|i| Field {
            name: format!("ipc_{i}"),
            kind: FieldType::String,
        })
        .collect();
    let mut c = Content {
        header: header(291, 1),
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

fn ipc_sensor(supplied: usize) -> Sensor {
    let c = ipc_content(vec![Node::Any { field: 0 }]);
    let mut interface = interface_of(&c, v(7, 11));
    interface.templates[0].fields.truncate(supplied);
    Sensor::new(config(interface, 291), 0).unwrap()
}

#[test]
fn channel_file_291_is_refused_before_anything_runs() {
    let s = ipc_sensor(20);
    let c = ipc_content(vec![m(MatchKind::Contains, 20, &["msagent"])]);
    let message = refused(&s, &sign(c).encode().unwrap(), NOW, "E3102");
    for part in [
        "suspicious pipe",
        "field 20 (ipc_20)",
        "template type 291 (named_pipe_ipc)",
        "7.11.0",
        "supplies only 20",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
    // A wildcard on field 20 reads nothing, so it binds even to 20 fields.
    let wildcard = ipc_content(vec![
        m(MatchKind::Contains, 0, &["msagent"]),
        Node::Any { field: 20 },
        Node::And { children: 2 },
    ]);
    s.load(&sign(wildcard).encode().unwrap(), NOW).unwrap();
    // And the same non-wildcard content loads on a sensor that supplies 21 fields.
    let s21 = ipc_sensor(21);
    s21.load(
        &sign(ipc_content(vec![m(MatchKind::Contains, 20, &["msagent"])]))
            .encode()
            .unwrap(),
        NOW,
    )
    .unwrap();
    // An event with only 20 fields is refused for that evaluation, never read past its end.
    let fields = vec![Value::Str("x"); 20];
    let err = s21
        .evaluate(
            &Event {
                template: 291,
                fields: &fields,
            },
            &mut Scratch::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(err.code.as_str(), "E3503");
    assert_eq!((err.supplied, err.expected), (20, 21));
}

#[test]
fn binding_checks_template_type_and_name() {
    let c = ipc_content(vec![m(MatchKind::Contains, 3, &["x"])]);
    let mut interface = interface_of(&c, v(7, 11));
    interface.templates[0].fields[3].kind = FieldType::Integer;
    let s = Sensor::new(config(interface.clone(), 291), 0).unwrap();
    refused(&s, &sign(c.clone()).encode().unwrap(), NOW, "E3103");
    interface.templates[0].fields[3] = FieldInterface {
        name: "renamed".into(),
        kind: FieldType::String,
        max_len: None,
    };
    let s = Sensor::new(config(interface.clone(), 291), 0).unwrap();
    refused(&s, &sign(c.clone()).encode().unwrap(), NOW, "E3104");
    interface.templates[0].id = 292;
    let s = Sensor::new(config(interface, 291), 0).unwrap();
    refused(&s, &sign(c).encode().unwrap(), NOW, "E3101");
}

#[test]
fn malformed_operands_are_refused_at_load() {
    let s = sensor();
    let mut c = base();
    c.rules[0].expression = vec![m(MatchKind::Regex, 1, &["(unclosed"])];
    refused(&s, &with_sequence(c, 2), NOW, "E3201");
    let mut c = base();
    c.rules[0].expression = vec![m(MatchKind::Regex, 1, &["(a{1000}){1000}"])];
    refused(&s, &with_sequence(c, 2), NOW, "E3201");
    let mut c = base();
    c.rules[1].expression = vec![m(MatchKind::Cidr, 1, &["10.0.0.0/40"])];
    refused(&s, &with_sequence(c, 2), NOW, "E3203");
    // SPEC.md GLOB: `\` escapes only `*`, `?` and `\`.
    let mut c = base();
    c.rules[0].expression = vec![m(MatchKind::Glob, 1, &["C:\\Temp\\*"])];
    refused(&s, &with_sequence(c, 2), NOW, "E3202");
    let mut c = base();
    c.rules[0].expression = vec![m(MatchKind::Glob, 1, &["ends with \\"])];
    refused(&s, &with_sequence(c, 2), NOW, "E3202");
}

#[test]
fn evaluation_before_any_content_is_refused() {
    let s = sensor();
    let fields = [Value::Null; 5];
    let err = s
        .evaluate(
            &Event {
                template: 1,
                fields: &fields,
            },
            &mut Scratch::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(err.code.as_str(), "E3501");
    s.load(&with_sequence(base(), 1), NOW).unwrap();
    let err = s
        .evaluate(
            &Event {
                template: 77,
                fields: &fields,
            },
            &mut Scratch::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
    assert_eq!(err.code.as_str(), "E3502");
}

/// Generation `g` has `g + 1` rules that all match the probe event: a reader that saw a mix of
/// two generations would count a number of matches that belongs to neither.
fn generation(g: u64) -> Vec<u8> {
    let mut c = base();
    c.rules = (0..=g as u8)
        .map(|i| rule(i, 1, vec![m(MatchKind::Contains, 1, &["probe"])]))
        .collect();
    with_sequence(c, g + 1)
}

#[test]
fn readers_see_the_old_or_the_new_content_never_a_mix() {
    let s = Arc::new(sensor());
    s.load(&generation(0), NOW).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Every reader has evaluated once before the first swap, and each evaluates again after
    // the last: the test exercises readers across swaps however the threads are scheduled,
    // instead of hoping they run before the loads finish.
    let started = Arc::new(std::sync::Barrier::new(4));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (s, stop, started) = (Arc::clone(&s), Arc::clone(&stop), Arc::clone(&started));
            std::thread::spawn(move || {
                let fields = [
                    Value::Str("x.exe"),
                    Value::Str("run probe now"),
                    Value::Int(1),
                    Value::Null,
                    Value::Null,
                ];
                let (mut scratch, mut out, mut seen) = (Scratch::new(), Vec::new(), 0u64);
                let mut last_round = false;
                loop {
                    out.clear();
                    let ruleset = s
                        .evaluate(
                            &Event {
                                template: 1,
                                fields: &fields,
                            },
                            &mut scratch,
                            &mut out,
                        )
                        .unwrap();
                    assert_eq!(
                        out.len() as u64,
                        ruleset.sequence(),
                        "matches from a mix of generations"
                    );
                    seen += 1;
                    if seen == 1 {
                        started.wait();
                    }
                    if last_round {
                        break;
                    }
                    // Read the flag before evaluating, so the evaluation after it sees the
                    // last generation.
                    last_round = stop.load(Ordering::Acquire);
                }
                seen
            })
        })
        .collect();
    started.wait();
    for g in 1..40 {
        s.load(&generation(g), NOW).unwrap();
        if g % 7 == 0 {
            let mut bad = generation(g + 1);
            bad[70] ^= 1;
            assert!(s.load(&bad, NOW).is_err());
        }
    }
    stop.store(true, Ordering::Release);
    let evaluations: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(
        evaluations >= 6,
        "each reader evaluates before and after the swaps"
    );
    assert_eq!(s.active().unwrap().sequence(), 40);
}

/// COST-4 (LOAD-10a): a content over the sensor's budget is refused at load with the code of
/// the budget it crosses, and the message names the rule, the field and the matcher; the
/// last known good content stays active.
#[test]
fn a_content_over_the_sensors_budget_is_refused() {
    let sensor_with = |budget: Budget| {
        let mut interface = interface_of(&base(), v(7, 11));
        interface.budget = budget;
        Sensor::new(config(interface, base().header.channel), 0).unwrap()
    };
    let with_regex = |pattern: &str| {
        let mut c = base();
        c.rules[0].expression = vec![m(MatchKind::Regex, 1, &[pattern])];
        with_sequence(c, 3)
    };
    // `a[ab]{400}` remembers every `a` among the last 400 characters: no whole DFA fits, and
    // the lazy DFA costs 16 steps per byte per NFA state and 1,024 more (3/2 of that
    // case-insensitively), here some 400 states.
    let s = sensor_with(Budget {
        steps_per_byte: 2_000,
        ..Budget::default()
    });
    s.load(&with_sequence(base(), 2), NOW).unwrap();
    let message = refused(&s, &with_regex(r"\ba[ab]{400}c"), NOW, "E3601");
    assert!(message.contains("command_line"), "{message}");
    assert!(message.contains("budget is 2000"), "{message}");
    // A tenth of it fits.
    s.load(&with_regex(r"\ba[ab]{40}c"), NOW).unwrap();

    // Every rule visits nodes and fields: 8 fixed steps are too few for the first.
    let s = sensor_with(Budget {
        steps_per_event: 8,
        ..Budget::default()
    });
    refused(&s, &with_sequence(base(), 2), NOW, "E3602");

    // One byte is less than any regex holds.
    let s = sensor_with(Budget {
        memory: 1,
        ..Budget::default()
    });
    s.load(&with_sequence(base(), 2), NOW).unwrap();
    refused(&s, &with_regex("abc"), NOW, "E3603");

    // The default budget accepts the regex the small one refused.
    let s = sensor_with(Budget::default());
    s.load(&with_regex(r"\ba[ab]{400}c"), NOW).unwrap();
}

/// CORE-1: the `Verifier` alone (what a kernel driver embeds without `std`) runs the loader's
/// checks, the sequence against the one the caller passes.
#[test]
fn the_verifier_alone_runs_the_loaders_checks() {
    let verifier = dcf_sensor::Verifier::new(config(
        interface_of(&base(), v(7, 11)),
        base().header.channel,
    ))
    .unwrap();
    let good = with_sequence(base(), 6);
    let ruleset = verifier.verify_update(&good, NOW, 5).unwrap();
    assert_eq!(ruleset.sequence(), 6);
    assert_eq!(
        verifier.verify_update(&good, NOW, 6).unwrap_err().code(),
        "E3008"
    );
    let mut bad_signature = good.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    assert_eq!(
        verifier
            .verify_update(&bad_signature, NOW, 0)
            .unwrap_err()
            .code(),
        "E3003"
    );
    assert_eq!(
        verifier
            .verify_update(&good, base().header.expires_at, 0)
            .unwrap_err()
            .code(),
        "E3007"
    );
}
