//! The logic of every dcf fuzz target, in a library so that each target also runs as a
//! `#[test]` smoke test on stable Rust and is unit-tested like any other code.
//!
//! The cargo-fuzz binaries in `fuzz_targets/` are one-line wrappers around these functions.
//! Every function here treats its input as hostile: it may assert properties of our code
//! (a violated property is a finding), but nothing may panic on the input itself.

pub mod generate;
pub mod mutate;

use std::net::{IpAddr, Ipv4Addr};

use arbitrary::{Arbitrary, Unstructured};
use dcf_parser::{Content, FieldType, SensorVersion, layout, parse};
use dcf_sensor::{
    Event, FieldInterface, LoaderConfig, Scratch, Sensor, SensorInterface, TemplateInterface, Value,
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

/// One event as the fuzzer describes it: a template choice and loosely typed values.
#[derive(Arbitrary, Debug)]
struct FuzzEvent {
    template: u8,
    /// How many fields to supply relative to the interface (may be short or long).
    len_delta: i8,
    values: Vec<FuzzValue>,
}

#[derive(Arbitrary, Debug)]
enum FuzzValue {
    Null,
    Str(String),
    Int(i64),
    Ip(u32),
}

/// Target `load_and_eval`: arbitrary content bytes through the sensor loader (unsigned allowed,
/// since the digest is recomputed by the mutator and signatures cannot be forged), then
/// arbitrary events, including events shorter than the interface, through the interpreter.
pub fn load_and_eval_target(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(len) = u.int_in_range(0..=u.len()) else {
        return;
    };
    let Ok(content_bytes) = u.bytes(len) else {
        return;
    };
    let content_bytes = content_bytes.to_vec();
    let interface = interface_for(&content_bytes);
    let mut config = LoaderConfig::new(interface.clone(), Vec::new());
    config.allow_unsigned = true;
    let Ok(sensor) = Sensor::new(config, 0) else {
        return;
    };
    let now = u.arbitrary::<u64>().unwrap_or(0);
    let _ = sensor.load(&content_bytes, now);
    let (mut scratch, mut out) = (Scratch::new(), Vec::new());
    for _ in 0..16 {
        let Ok(event) = FuzzEvent::arbitrary(&mut u) else {
            break;
        };
        let template = interface
            .templates
            .get(usize::from(event.template) % interface.templates.len().max(1));
        let (id, count) =
            template.map_or((u32::from(event.template), 0), |t| (t.id, t.fields.len()));
        let len = (count as i64 + i64::from(event.len_delta)).clamp(0, 64) as usize;
        let values: Vec<Value<'_>> = (0..len)
            .map(|i| match event.values.get(i) {
                None | Some(FuzzValue::Null) => Value::Null,
                Some(FuzzValue::Str(s)) => Value::Str(s),
                Some(FuzzValue::Int(n)) => Value::Int(*n),
                Some(FuzzValue::Ip(ip)) => Value::Ip(IpAddr::V4(Ipv4Addr::from(*ip))),
            })
            .collect();
        out.clear();
        let result = sensor.evaluate(
            &Event {
                template: id,
                fields: &values,
            },
            &mut scratch,
            &mut out,
        );
        if let Ok(ruleset) = result {
            assert!(
                len >= count,
                "an event shorter than its interface was evaluated"
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
}

/// The interface a sensor would supply for a content: its declared templates as declared, so
/// that fuzzed content binds and the interpreter runs; for bytes that do not parse, a fixed
/// interface, so the loader's rejection paths still run.
fn interface_for(bytes: &[u8]) -> SensorInterface {
    let version = SensorVersion {
        major: 7,
        minor: 11,
        patch: 0,
    };
    let templates = match parse(bytes) {
        Ok(view) => view
            .templates()
            .map(|t| TemplateInterface {
                id: t.id,
                name: t.name.to_string(),
                fields: t
                    .fields()
                    .map(|f| FieldInterface {
                        name: f.name.to_string(),
                        kind: f.kind,
                    })
                    .collect(),
            })
            .collect(),
        Err(_) => vec![TemplateInterface {
            id: 1,
            name: "process".into(),
            fields: (0..4)
                .map(|i| FieldInterface {
                    name: format!("f{i}"),
                    kind: FieldType::String,
                })
                .collect(),
        }],
    };
    let version = match parse(bytes) {
        Ok(view) => view.header().sensor_min,
        Err(_) => version,
    };
    SensorInterface { version, templates }
}

#[cfg(test)]
mod smoke;
