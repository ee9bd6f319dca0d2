//! Smoke test of the owned model: encode, parse and decode one content.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use dcf_parser::*;

fn sample() -> Content {
    Content {
        header: Header {
            minor: 0,
            channel: 291,
            sequence: 7,
            created_at: 1_700_000_000,
            expires_at: 1_800_000_000,
            sensor_min: SensorVersion {
                major: 7,
                minor: 11,
                patch: 0,
            },
            sensor_max: SensorVersion {
                major: 7,
                minor: 12,
                patch: 9,
            },
        },
        templates: vec![Template {
            id: 1,
            name: "ipc".into(),
            fields: vec![
                Field {
                    name: "pipe".into(),
                    kind: FieldType::String,
                },
                Field {
                    name: "pid".into(),
                    kind: FieldType::Integer,
                },
                Field {
                    name: "peer".into(),
                    kind: FieldType::Ip,
                },
            ],
        }],
        rules: vec![Rule {
            id: RuleId([1; 16]),
            template: 1,
            title: "t".into(),
            author: "a".into(),
            severity: Severity::High,
            action: Action::Detect,
            attributes: vec![Attribute {
                key: "tag".into(),
                value: "x".into(),
            }],
            expression: vec![
                Node::Match(Match {
                    kind: MatchKind::Contains,
                    target: Target::Field(0),
                    case_sensitive: false,
                    all_of: false,
                    operand: Operand::Values(vec!["evil".into(), "pipe".into()]),
                }),
                Node::Compare {
                    op: CompareOp::Gt,
                    field: 1,
                    value: -5,
                },
                Node::Any { field: 2 },
                Node::And { children: 3 },
            ],
        }],
        extensions: vec![],
        signature: None,
    }
}

#[test]
fn roundtrip() {
    let c = sample();
    let bytes = c.encode().unwrap();
    let back = Content::decode(&bytes).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.encode().unwrap(), bytes);
    // Flipping any single byte of the file must be rejected.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        assert!(parse(&b).is_err(), "byte {i} flip accepted");
    }
}
