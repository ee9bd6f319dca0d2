//! The reader against serde_json and the tree adapter, and the projector's routing.

use std::collections::HashMap;

use dcf_parser::FieldType;
use dcf_sensor::SensorInterface;
use serde_json::Value as Json;

use super::reader::valid_name;
use super::*;
use crate::json_reference::{Members, OwnedScalar, reference_fields};
use crate::value::OwnedValue;
use crate::windows::WindowsEvent;
use dcf_sensor::{FieldInterface, TemplateInterface};
use dcf_sigma::logsource::field_name;
use dcf_test_support::Rng;

fn interface() -> SensorInterface {
    let t = |id: u32, name: &str, fields: &[(&str, FieldType)]| TemplateInterface {
        id,
        name: name.into(),
        fields: fields
            .iter()
            .map(|(n, k)| FieldInterface {
                name: n.to_string(),
                kind: *k,
                max_len: None,
            })
            .collect(),
    };
    SensorInterface {
        budget: Default::default(),
        sensor: None,
        version: dcf_parser::SensorVersion {
            major: 1,
            minor: 0,
            patch: 0,
        },
        templates: vec![
            t(
                1,
                "windows.process_creation",
                &[
                    ("Image", FieldType::String),
                    ("ProcessId", FieldType::String),
                    ("Count", FieldType::Integer),
                    ("Dst", FieldType::Ip),
                    ("nested.inner", FieldType::String),
                    ("List", FieldType::String),
                    ("Flag", FieldType::String),
                    ("Missing", FieldType::String),
                    ("Odd_20Name", FieldType::String),
                    ("Ratio", FieldType::String),
                    ("Big", FieldType::Integer),
                ],
            ),
            t(2, "windows.service.sysmon", &[("Image", FieldType::String)]),
            t(3, "windows", &[("Channel", FieldType::String)]),
        ],
    }
}

/// Whether `s` points into `line` (borrowed) rather than into the arena.
fn in_line(line: &str, s: &str) -> bool {
    line.as_bytes().as_ptr_range().contains(&s.as_ptr())
}

#[test]
fn same_as_the_tree_adapter() {
    let line = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\cmd.exe", "ProcessId": 42, "Count": "7", "Dst": "10.1.2.3", "nested": {"inner": "x"}, "List": [1, "a"], "Flag": true, "Odd Name": "o", "Esc": "a\\b", "Ratio": 2.50e1, "Big": -9223372036854775808, "Image": "second"}"#;
    let interface = interface();
    let projector = Projector::new(&interface);
    let mut buffers = JsonBuffers::new();
    let fast = buffers.parse(line).unwrap();
    // An escaped string is unescaped into the arena; a plain one stays in the line; the
    // last "Image" wins.
    let Some(Scalar::Str(esc)) = fast.get("Esc") else {
        panic!("{fast:?}")
    };
    assert_eq!(esc, "a\\b");
    assert!(!in_line(line, esc));
    let Some(Scalar::Str(image)) = fast.get("Image") else {
        panic!()
    };
    assert_eq!(image, "second");
    assert!(in_line(line, image));
    assert!(matches!(fast.get("Channel"), Some(Scalar::Str(s)) if in_line(line, s)));
    // Numbers: a plain integer is its own text, any other is serde_json's text of it.
    assert_eq!(fast.get("ProcessId"), Some(Scalar::Num("42", Some(42))));
    assert_eq!(fast.get("Ratio"), Some(Scalar::Num("25.0", None)));
    assert_eq!(
        fast.get("Big"),
        Some(Scalar::Num("-9223372036854775808", Some(i64::MIN)))
    );
    assert_eq!(fast.get("List"), Some(Scalar::Array("[1,\"a\"]")));
    assert_eq!(fast.get("Odd_20Name"), Some(Scalar::Str("o")));
    assert_eq!(fast.get("Odd Name"), None);
    assert_eq!(fast.len(), 14);
    let templates = projector.windows_templates(&fast);
    let Json::Object(object) = serde_json::from_str::<Json>(line).unwrap() else {
        panic!()
    };
    let slow = WindowsEvent::from_flat_json(&object);
    let slow_templates: Vec<u32> = slow
        .routes()
        .iter()
        .filter_map(|k| interface.template_named(&k.template_name()).map(|t| t.id))
        .collect();
    assert_eq!(*templates, *slow_templates);
    assert_eq!(*templates, [1, 2, 3]);
    // Remembered: the same answer the second time.
    assert_eq!(projector.windows_templates(&fast), templates);
    let mut out = Vec::new();
    for &id in templates.iter() {
        assert!(projector.project(&fast, id, &mut out));
        let expected: Vec<OwnedValue> = slow.flat.project(interface.template(id).unwrap());
        let expected: Vec<Value<'_>> = expected.iter().map(OwnedValue::as_value).collect();
        assert_eq!(out, expected, "template {id}");
    }
    assert!(!projector.project(&fast, 99, &mut out));
    let error = buffers.parse("[1]").unwrap_err();
    assert_eq!((error.offset, error.reason), (0, "expected a JSON object"));
    assert_eq!(error.to_string(), "expected a JSON object at byte 0");
    let error = buffers.parse("{\"a\": 1} x").unwrap_err();
    assert_eq!(error.offset, 9);
    // The buffers are reused: the next event forgets the last one.
    let event = buffers
        .parse(r#" {"a\u00e9": "\ud83d\ude00", "b": {}} "#)
        .unwrap();
    assert_eq!(
        event.fields().collect::<Vec<_>>(),
        [("a_C3_A9", Scalar::Str("😀"))]
    );
    assert!(buffers.parse("{}").unwrap().is_empty());
}

#[test]
fn field_arrays_are_reused() {
    let interface = interface();
    let projector = Projector::new(&interface);
    let mut buffers = JsonBuffers::new();
    let mut spare = Vec::new();
    for (line, image) in [(r#"{"Image": "a"}"#, "a"), (r#"{"Image": "b\\c"}"#, "b\\c")] {
        let event = buffers.parse(line).unwrap();
        let mut fields = reuse_fields(std::mem::take(&mut spare));
        assert!(projector.project(&event, 1, &mut fields));
        assert_eq!(fields.first(), Some(&Value::Str(image)));
        let (pointer, capacity) = (fields.as_ptr() as usize, fields.capacity());
        spare = reuse_fields(fields);
        assert!(spare.is_empty());
        assert_eq!(
            (spare.as_ptr() as usize, spare.capacity()),
            (pointer, capacity)
        );
    }
}

// ---------------------------------------------------------------------------------------
// The differential test: the reader against serde_json.

/// The last value of each name.
fn last_values(fields: &[(String, OwnedScalar)]) -> HashMap<&str, &OwnedScalar> {
    fields.iter().map(|(n, v)| (n.as_str(), v)).collect()
}

const WHITESPACE: &[&str] = &["", "", "", " ", "  ", "\t", "\n", "\r\n", " \t "];

/// Pieces of string contents: plain text, every escape, raw non-ASCII, and (rarely) what
/// JSON forbids: lone surrogates, broken escapes, raw control characters.
const STRING_PIECES: &[&str] = &[
    "Image",
    "C:\\\\Windows\\\\System32\\\\cmd.exe",
    "a b",
    "\\\"quoted\\\"",
    "\\/",
    "\\b\\f\\n\\r\\t",
    "\\u00e9",
    "\\u00E9",
    "\\u0000",
    "\\u001f",
    "\\u2028",
    "\\uFFFF",
    "\\ud83d\\ude00",
    "\\uD834\\uDD1E",
    "\\uDBFF\\uDFFF",
    "\\ud800\\udc00",
    "\\uD7FF\\uE000",
    "é",
    "😀",
    "日本",
    "\u{7f}",
    "0123456789abcdefghij",
    "@timestamp",
    "1st",
    ".",
    "-",
    "_",
    ",",
    ":{}[]",
];
const BAD_STRING_PIECES: &[&str] = &[
    "\\ud800",
    "\\udc00",
    "\\udfff",
    "\\udbff",
    "\\ud800\\ud800\\udc00",
    "\\ud800\\u0041",
    "\\ud800\\n",
    "\\ud800x",
    "\\uDBFF\\uDBFF",
    "\\x",
    "\\u12",
    "\\u12g4",
    "\\",
    "\u{1}",
    "\t",
    "\n",
];

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(4) {
        if rng.chance(40) {
            out.push_str(rng.pick(BAD_STRING_PIECES));
        } else {
            out.push_str(rng.pick(STRING_PIECES));
        }
    }
    out.push('"');
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "42",
    "-42",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "-18446744073709551615",
    "-18446744073709551616",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "0.0",
    "-0.0",
    "1.5",
    "-2.25",
    "0.1",
    "1e2",
    "1E2",
    "1e+2",
    "1e-2",
    "-1.5e-7",
    "2.5E+10",
    "0e0",
    "-0e-0",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-400",
    "123456789.123456789",
    "100000000000000000000000e-10",
    "1e400",
    "-1e400",
    "01",
    "-01",
    "00",
    "1.",
    ".5",
    "-",
    "+1",
    "1e",
    "1e+",
    "-.5",
    "1.e3",
    "0x10",
    "1_000",
    "Infinity",
    "NaN",
];

/// A JSON value (sometimes not quite): `depth` bounds nested objects and arrays.
fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    match rng.below(if depth == 0 { 6 } else { 9 }) {
        0 | 1 => string(rng, out),
        2 => {
            if rng.chance(2) {
                out.push_str(rng.pick(NUMBERS));
            } else {
                let n = rng.next_u64() as i64 >> rng.below(64);
                out.push_str(&n.to_string());
                if rng.chance(3) {
                    out.push_str(&format!(".{}", rng.below(1000)));
                }
                if rng.chance(4) {
                    out.push_str(&format!("e{}", rng.below(40) as i64 - 20));
                }
            }
        }
        3 => out.push_str(rng.pick(&["true", "false"])),
        4 => out.push_str("null"),
        5 => out.push_str(rng.pick(&["tru", "nul", "fals", "True", "nulll"])),
        6 | 7 => object(rng, depth - 1, out),
        _ => {
            out.push('[');
            for i in 0..rng.below(4) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(rng.pick(WHITESPACE));
                value(rng, depth - 1, out);
            }
            out.push(']');
        }
    }
}

const NAMES: &[&str] = &[
    "\"Image\"",
    "\"Image\"",
    "\"EventID\"",
    "\"Channel\"",
    "\"CommandLine\"",
    "\"a\"",
    "\"b\"",
    "\"a.b\"",
    "\"Odd Name\"",
    "\"Odd_20Name\"",
    "\"@timestamp\"",
    "\"1st\"",
    "\"\"",
    "\"é\"",
    "\"a\\u0020b\"",
    "\"x\\ty\"",
    "\"C:\\\\\"",
];

fn object(rng: &mut Rng, depth: usize, out: &mut String) {
    out.push('{');
    out.push_str(rng.pick(WHITESPACE));
    for i in 0..rng.below(7) {
        if i > 0 {
            out.push(',');
            out.push_str(rng.pick(WHITESPACE));
        }
        if rng.chance(3) {
            string(rng, out);
        } else {
            out.push_str(rng.pick(NAMES));
        }
        out.push_str(rng.pick(WHITESPACE));
        out.push(':');
        out.push_str(rng.pick(WHITESPACE));
        value(rng, depth, out);
        out.push_str(rng.pick(WHITESPACE));
    }
    out.push('}');
}

/// A line: mostly an object, sometimes another value, sometimes mutated bytes.
fn line(rng: &mut Rng) -> String {
    let mut out = String::new();
    out.push_str(rng.pick(WHITESPACE));
    if rng.chance(20) {
        value(rng, 2, &mut out);
    } else {
        object(rng, 2, &mut out);
    }
    out.push_str(rng.pick(WHITESPACE));
    if rng.chance(3) { mutate(rng, out) } else { out }
}

/// Byte-level damage: truncations, bit flips, inserted and deleted bytes.
fn mutate(rng: &mut Rng, line: String) -> String {
    let mut bytes = line.into_bytes();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            2 => {
                let inserted = rng.pick(&[
                    ",", "}", "{", "\"", "\\", ":", "[", "]", "0", "-", "e", ".", " ", "\u{1}",
                    "x", "\\u", "é",
                ]);
                bytes.splice(at..at, inserted.bytes());
            }
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Checks one line; returns whether it was accepted.
fn check(buffers: &mut JsonBuffers, line: &str) -> bool {
    let serde_object = matches!(serde_json::from_str::<Json>(line), Ok(Json::Object(_)));
    let expected = reference_fields(line);
    assert_eq!(
        expected.is_some(),
        serde_object,
        "the reference disagrees with serde_json on {line:?}"
    );
    let ours = buffers.parse(line);
    assert_eq!(
        ours.is_ok(),
        serde_object,
        "acceptance differs from serde_json on {line:?}: {ours:?}"
    );
    let (Ok(event), Some(expected)) = (ours, expected) else {
        return false;
    };
    let fields: Vec<(String, OwnedScalar)> = event
        .fields()
        .map(|(n, v)| (n.to_string(), OwnedScalar::from(v)))
        .collect();
    assert_eq!(fields, expected, "fields differ on {line:?}");
    assert_eq!(last_values(&fields), last_values(&expected), "on {line:?}");
    for (name, value) in last_values(&expected) {
        assert_eq!(
            event.get(name).map(OwnedScalar::from).as_ref(),
            Some(value),
            "{line:?}"
        );
    }
    // Without escapes or nesting, strings and names stay in the line.
    if !line.contains(['\\', '[']) && line.matches('{').count() == 1 {
        let names_kept = serde_json::from_str::<Members>(line)
            .is_ok_and(|m| m.0.iter().all(|(k, _)| dcf_sensor::is_valid_name(k)));
        for (name, value) in event.fields() {
            if let Scalar::Str(s) = value {
                assert!(
                    in_line(line, s) || s.is_empty(),
                    "{s:?} copied from {line:?}"
                );
            }
            if names_kept {
                assert!(in_line(line, name), "{name:?} copied from {line:?}");
            }
        }
    }
    true
}

#[test]
fn accepts_and_reads_what_serde_json_does() {
    let mut rng = Rng::new(0x5eed_f1a7_1503_0001);
    let mut buffers = JsonBuffers::new();
    let (mut accepted, mut total) = (0, 0);
    for _ in 0..40_000 {
        let line = line(&mut rng);
        accepted += usize::from(check(&mut buffers, &line));
        total += 1;
    }
    // Both sides of the acceptance must be exercised.
    assert!(
        accepted > total / 4 && accepted < total * 3 / 4,
        "{accepted} of {total} accepted"
    );
}

#[test]
fn every_number_shape_as_serde_json_reads_it() {
    let mut buffers = JsonBuffers::new();
    for n in NUMBERS {
        for line in [
            format!("{{\"n\":{n}}}"),
            format!("{{\"n\": {n} , \"m\":[{n}]}}"),
        ] {
            check(&mut buffers, &line);
        }
    }
    // Integers around every power of ten and the i64/u64 boundaries.
    let mut edges = vec![i128::from(i64::MIN), i128::from(u64::MAX)];
    for p in 0..20 {
        edges.push(10i128.pow(p));
    }
    for e in edges {
        for d in -2..=2 {
            for sign in [1, -1] {
                check(&mut buffers, &format!("{{\"n\":{}}}", sign * (e + d)));
            }
        }
    }
}

#[test]
fn every_escape_and_invalid_string_as_serde_json_reads_it() {
    let mut buffers = JsonBuffers::new();
    for piece in STRING_PIECES.iter().chain(BAD_STRING_PIECES) {
        for line in [
            format!("{{\"s\":\"{piece}\"}}"),
            format!("{{\"s\":\"x{piece}y{piece}\"}}"),
            format!("{{\"{piece}\":1}}"),
            format!("{{\"o\":{{\"{piece}\":\"{piece}\"}}}}"),
        ] {
            check(&mut buffers, &line);
        }
    }
    // Every byte, raw and after a backslash, in a string and between members.
    for b in 0..=0x7fu8 {
        let c = char::from(b);
        for line in [
            format!("{{\"s\":\"{c}\"}}"),
            format!("{{\"s\":\"\\{c}\"}}"),
            format!("{{\"s\":\"\\u00{c}0\"}}"),
            format!("{{\"s\":1{c}}}"),
            format!("{{\"s\":1}}{c}"),
            format!("{c}{{}}"),
        ] {
            check(&mut buffers, &line);
        }
    }
    // Every prefix of a line with every kind of value.
    let full = r#" {"a":"x\"\u00e9\ud83d\ude00","b":-1.5e3,"c":[1,{"d":null}],"e":{"f":{"g":true}},"h":false,"i":null,"j":18446744073709551616} "#;
    for end in 0..=full.len() {
        if let Some(prefix) = full.get(..end) {
            check(&mut buffers, prefix);
        }
    }
}

#[test]
fn nesting_is_bounded_as_serde_json_bounds_it() {
    let mut buffers = JsonBuffers::new();
    for depth in (1..=8).chain(120..=132).chain([1_000, 100_000]) {
        let arrays = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!(
            "{{\"a\":{}1{}}}",
            "{\"b\":".repeat(depth),
            "}".repeat(depth)
        );
        let mixed = format!(
            "{{\"a\":{}\"[{{\"{}}}",
            "[{\"b\":".repeat(depth / 2),
            "}]".repeat(depth / 2)
        );
        let unclosed = format!("{{\"a\":{}", "[".repeat(depth));
        for line in [arrays, objects, mixed, unclosed] {
            check(&mut buffers, &line);
        }
    }
}

#[test]
fn valid_names_are_the_sensors() {
    let mut names = vec![String::new(), "a".repeat(128), "a".repeat(129)];
    for b in 0..=255u8 {
        for at in 0..20 {
            let mut name = [b'a'; 20];
            name[at] = b;
            for len in [1, 2, 7, 8, 9, 15, 16, 17, 20] {
                names.push(String::from_utf8_lossy(name.get(..len).unwrap()).into_owned());
            }
        }
    }
    for name in &names {
        assert_eq!(
            valid_name(name.as_bytes()),
            dcf_sensor::is_valid_name(name),
            "{name:?}"
        );
    }
}

#[test]
fn names_are_mapped_as_field_name_maps_them() {
    let mut buffers = JsonBuffers::new();
    for name in [
        "",
        "a",
        "1",
        "1a",
        "a b",
        "é",
        "@timestamp",
        "a.b-c_d",
        "\u{7f}",
        "日本",
        "a,b",
    ] {
        let long = name.repeat(60);
        for name in [name, long.as_str()] {
            let line = serde_json::json!({ name: 1 }).to_string();
            let event = buffers.parse(&line).unwrap();
            assert_eq!(
                event.fields().map(|(n, _)| n).collect::<Vec<_>>(),
                [field_name(name)]
            );
        }
    }
}
