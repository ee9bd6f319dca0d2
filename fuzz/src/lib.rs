//! The logic of every dcf fuzz target, in a library so that each target also runs as a
//! `#[test]` smoke test on stable Rust and is unit-tested like any other code.
//!
//! The cargo-fuzz binaries in `fuzz_targets/` are one-line wrappers around these functions.
//! Every function here treats its input as hostile: it may assert properties of our code
//! (a violated property is a finding), but nothing may panic on the input itself.

// Fuzzing tooling, not run in a sensor: a violated property panics (the finding), and the
// generator and mutator index and count their own buffers. The deny list binds the parser
// and the sensor.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod compile_source;
pub mod flat_json;
pub mod generate;
pub mod mutate;
pub mod validate;

pub use compile_source::compile_source_target;
pub use flat_json::flat_json_target;
pub use validate::validate_target;

use std::net::{IpAddr, Ipv4Addr};

use arbitrary::Unstructured;
use dcf_parser::{Content, FieldType, SensorVersion, layout, parse};
use dcf_sensor::{
    Channels, Event, FieldInterface, LoaderConfig, Scratch, Sensor, SensorCode, SensorInterface,
    TemplateInterface, Value,
};

/// Target `parse`: any bytes through the parser and the byte map. Never panics; an accepted
/// file re-encodes to exactly its own bytes (canonical encoding).
pub fn parse_target(data: &[u8]) {
    let mut end = 0usize;
    layout::walk(data, |span| {
        assert!(
            span.offset >= end && span.len > 0,
            "layout spans overlap: {span:?}"
        );
        end = span.offset + span.len;
        assert!(end <= data.len(), "layout span past the end: {span:?}");
    });
    if let Ok(view) = parse(data) {
        // Iteration over a validated view must see every rule and node it announces.
        let mut nodes = 0u64;
        for rule in view.rules() {
            let count = rule.expression().count() as u64;
            assert_eq!(
                count,
                u64::from(rule.node_count()),
                "expression iteration lost nodes"
            );
            nodes += count;
        }
        assert_eq!(
            view.rules().count(),
            view.rule_count(),
            "rule iteration lost rules"
        );
        let _ = nodes;
        let content = Content::from_view(&view);
        let bytes = content.encode().expect("an accepted file must re-encode");
        assert!(
            bytes == data,
            "an accepted file is not canonical: re-encoding differs"
        );
    }
}

/// Target `roundtrip`: a generated, mostly valid content is encoded, parsed and compared.
/// The parser must accept what the writer wrote, and decode it to the same content.
pub fn roundtrip_target(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(content) = generate::content(&mut u) else {
        return;
    };
    match content.encode() {
        Ok(bytes) => {
            let back =
                Content::decode(&bytes).expect("the parser must accept what the writer wrote");
            assert!(back == content, "decode(encode(c)) != c");
        }
        Err(e) => {
            panic!("the generator makes only valid contents, but the writer refused one: {e}")
        }
    }
}

/// How far one `load_and_eval` input got: the smoke test checks that inputs reach the
/// interpreter, not only the loader's refusals.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reached {
    /// The content was accepted and made active.
    pub loaded: bool,
    /// Events evaluated against it.
    pub evaluated: usize,
}

/// A small generator seeded by the input, for the parts of an input that are not content.
struct Rng(u64);

impl Rng {
    fn seeded(data: &[u8]) -> Rng {
        // FNV-1a: deterministic, so a finding reproduces from its input alone.
        Rng(data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        }))
    }
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// Target `load_and_eval`: the input is a content update; it goes through the sensor loader
/// (unsigned allowed: signatures cannot be forged, the digest is repaired by the mutator), then
/// events derived from the input go through the interpreter: values taken from the content's
/// own strings, so rules match, and field arrays of every length around the interface's, so
/// events shorter than the interface are tried on every run.
pub fn load_and_eval_target(data: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let mut rng = Rng::seeded(data);
    let mut interface = interface_for(data);
    // Some string fields declare a maximum length, so events over it (E3504) are tried too.
    for field in interface
        .templates
        .iter_mut()
        .flat_map(|t| t.fields.iter_mut())
    {
        if field.kind == FieldType::String && rng.below(4) == 0 {
            field.max_len = Some(1 + rng.below(48) as u32);
        }
    }
    // Any channel: the target explores every content; the channel check is the loader tests'.
    let mut config = LoaderConfig::new(interface.clone(), Vec::new(), Channels::Any);
    config.allow_unsigned = true;
    let view = parse(data).ok();
    // Mostly a clock inside the content's validity window and a current sequence just below
    // its own, so that the interpreter runs; otherwise arbitrary, so the refusals run too.
    let (now, current) = match view.as_ref().map(|v| *v.header()) {
        Some(h) if rng.below(8) != 0 => {
            let window = h.expires_at.saturating_sub(h.created_at).max(1);
            (
                h.created_at.saturating_add(rng.below(window)),
                h.sequence.saturating_sub(1),
            )
        }
        _ => (rng.next(), rng.next()),
    };
    let Ok(sensor) = Sensor::new(config, current) else {
        return reached;
    };
    reached.loaded = sensor.load(data, now).is_ok();
    let words: Vec<&str> = view
        .as_ref()
        .map(|v| v.strings().iter().collect())
        .unwrap_or_default();
    let texts: Vec<String> = (0..8)
        .map(|_| {
            let parts = rng.below(3);
            (0..parts)
                .map(|_| {
                    if words.is_empty() {
                        "x"
                    } else {
                        words[rng.below(words.len() as u64) as usize]
                    }
                })
                .collect::<Vec<_>>()
                .join(if rng.below(2) == 0 { "" } else { " " })
        })
        .collect();
    let (mut scratch, mut out) = (Scratch::new(), Vec::new());
    for _ in 0..16 {
        let template = interface
            .templates
            .get(rng.below(interface.templates.len().max(1) as u64) as usize);
        let (id, count) = template.map_or((rng.next() as u32, 0), |t| (t.id, t.fields.len()));
        let len = (count + rng.below(3) as usize).saturating_sub(1);
        let values: Vec<Value<'_>> = (0..len)
            .map(|_| match rng.below(6) {
                0 => Value::Null,
                1 => Value::Int(rng.next() as i64 - (1 << 52)),
                2 => Value::Ip(IpAddr::V4(Ipv4Addr::from(rng.next() as u32))),
                _ => Value::Str(&texts[rng.below(texts.len() as u64) as usize]),
            })
            .collect();
        out.clear();
        let event = Event {
            template: id,
            fields: &values,
        };
        let result = sensor.evaluate(&event, &mut scratch, &mut out);
        // The cost model bounds every event of every content the loader accepts (LOADER.md
        // COST-3): the run-time fence (E3505) never has to stop one.
        if let Err(e) = &result {
            assert!(
                e.code != SensorCode::BudgetSpent,
                "an accepted content overran its budget: {e}"
            );
        }
        // The string values over their field's declared maximum length.
        let too_long: Vec<usize> = template
            .map(|t| {
                t.fields
                    .iter()
                    .zip(&values)
                    .enumerate()
                    .filter(|(_, (f, v))| {
                        matches!((f.max_len, v), (Some(max), Value::Str(s)) if s.len() > max as usize)
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default();
        if let Err(e) = &result
            && e.code == SensorCode::FieldTooLong
        {
            let field = e.field.map(usize::from);
            assert!(
                field.is_some_and(|f| too_long.contains(&f)),
                "E3504 for a field within its bound: {e}"
            );
        }
        if let Ok(ruleset) = result {
            reached.evaluated += 1;
            assert!(
                len >= count,
                "an event shorter than its interface was evaluated"
            );
            assert!(
                too_long.is_empty(),
                "an event with a value over its field's max_len was evaluated"
            );
            let bound = ruleset.cost_bound(&event);
            assert!(
                bound.is_some_and(|b| scratch.steps() <= b),
                "evaluation took {} steps; the model's bound is {bound:?}",
                scratch.steps()
            );
            assert!(
                out.iter().all(|&r| (r as usize) < ruleset.rules().len()),
                "match index out of range"
            );
            assert!(
                out.windows(2).all(|w| w[0] < w[1]),
                "matches not in ascending order"
            );
        }
    }
    reached
}

/// The interface a sensor would supply for a content: its declared templates as declared, so
/// that fuzzed content binds and the interpreter runs; for bytes that do not parse, a fixed
/// interface, so the loader's rejection paths still run.
fn interface_for(bytes: &[u8]) -> SensorInterface {
    match parse(bytes) {
        Ok(view) => SensorInterface::declared_by(&view, view.header().sensor_min),
        Err(_) => SensorInterface {
            budget: Default::default(),
            sensor: None,
            version: SensorVersion {
                major: 7,
                minor: 11,
                patch: 0,
            },
            templates: vec![TemplateInterface {
                id: 1,
                name: "process".into(),
                fields: (0..4)
                    .map(|i| FieldInterface {
                        name: format!("f{i}"),
                        kind: FieldType::String,
                        max_len: None,
                    })
                    .collect(),
            }],
        },
    }
}

#[cfg(test)]
mod smoke;
