//! Property tests of the canonical round trip: `decode(encode(c)) == c` for generated valid
//! contents, and for any edit of a valid file, acceptance implies `encode(decode(b)) == b`.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use dcf_conformance::valid::{header, network_template, process_template};
use dcf_parser::{
    Action, Attribute, CompareOp, Content, Match, MatchKind, Node, Operand, Rule, RuleId, Severity,
    Target, parse,
};
use proptest::prelude::*;

/// An expression tree, flattened to postfix for the format.
#[derive(Clone, Debug)]
enum Tree {
    Leaf(Node<Vec<String>>),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
    AtLeast(u32, Vec<Tree>),
}

impl Tree {
    fn flatten(&self, out: &mut Vec<Node<Vec<String>>>) {
        let n = |v: &Vec<Tree>| v.len() as u32;
        match self {
            Tree::Leaf(node) => out.push(node.clone()),
            Tree::And(c) => {
                c.iter().for_each(|t| t.flatten(out));
                out.push(Node::And { children: n(c) });
            }
            Tree::Or(c) => {
                c.iter().for_each(|t| t.flatten(out));
                out.push(Node::Or { children: n(c) });
            }
            Tree::Not(t) => {
                t.flatten(out);
                out.push(Node::Not);
            }
            Tree::AtLeast(k, c) => {
                c.iter().for_each(|t| t.flatten(out));
                out.push(Node::AtLeast {
                    required: *k,
                    children: n(c),
                });
            }
        }
    }
}

const STRING_FIELDS: [u16; 4] = [0, 1, 3, 4];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "cmd.exe",
            "powershell",
            "-enc",
            "",
            "C:\\Windows\\",
            "évènement",
            "🦀"
        ])
        .prop_map(String::from),
        "\\PC{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Node<Vec<String>>> {
    let field = prop::sample::select(STRING_FIELDS.to_vec());
    let kind = prop::sample::select(
        MatchKind::ALL
            .iter()
            .copied()
            .filter(|k| *k != MatchKind::Cidr)
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (0u16..5).prop_map(|field| Node::Any { field }),
        (0u16..5).prop_map(|field| Node::Exists { field }),
        (0u16..5).prop_map(|field| Node::IsNull { field }),
        (
            prop::sample::select(CompareOp::ALL.to_vec()),
            prop::sample::select(vec![1u16, 2]),
            any::<i64>()
        )
            .prop_map(|(op, field, value)| Node::Compare { op, field, value }),
        (
            kind.clone(),
            field.clone(),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(text(), 1..5)
        )
            .prop_map(
                |(kind, field, case_sensitive, all_of, values)| Node::Match(Match {
                    kind,
                    target: Target::Field(field),
                    case_sensitive,
                    all_of,
                    operand: Operand::Values(values),
                })
            ),
        (kind, any::<bool>(), prop::collection::vec(text(), 1..3)).prop_map(
            |(kind, case_sensitive, values)| {
                Node::Match(Match {
                    kind,
                    target: Target::Keyword,
                    case_sensitive,
                    all_of: false,
                    operand: Operand::Values(values),
                })
            }
        ),
        (
            prop::sample::select(vec![
                MatchKind::Equals,
                MatchKind::Contains,
                MatchKind::StartsWith,
                MatchKind::EndsWith
            ]),
            field.clone(),
            field
        )
            .prop_map(|(kind, field, other)| Node::Match(Match {
                kind,
                target: Target::Field(field),
                case_sensitive: false,
                all_of: false,
                operand: Operand::Field(other),
            })),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    leaf()
        .prop_map(Tree::Leaf)
        .prop_recursive(6, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Tree::And),
                prop::collection::vec(inner.clone(), 0..5).prop_map(Tree::Or),
                inner.clone().prop_map(|t| Tree::Not(Box::new(t))),
                (0u32..4, prop::collection::vec(inner, 0..5))
                    .prop_map(|(k, c)| Tree::AtLeast(k, c)),
            ]
        })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        any::<[u8; 16]>(),
        text(),
        text(),
        prop::sample::select(Severity::ALL.to_vec()),
        prop::sample::select(Action::ALL.to_vec()),
        prop::collection::vec((text(), text()), 0..4),
        tree(),
    )
        .prop_map(|(id, title, author, severity, action, attributes, tree)| {
            let mut expression = Vec::new();
            tree.flatten(&mut expression);
            Rule {
                id: RuleId(id),
                template: 1,
                title,
                author,
                severity,
                action,
                attributes: attributes
                    .into_iter()
                    .map(|(key, value)| Attribute { key, value })
                    .collect(),
                expression,
            }
        })
}

fn content() -> impl Strategy<Value = Content> {
    (
        any::<u32>(),
        any::<u64>(),
        prop::collection::vec(rule(), 0..12),
    )
        .prop_map(|(channel, sequence, rules)| {
            let mut c = Content {
                header: header(channel, sequence),
                templates: vec![process_template(), network_template()],
                rules,
                extensions: vec![],
                signature: None,
            };
            c.sort();
            c.rules.dedup_by_key(|r| r.id);
            c
        })
}

proptest! {
    // A fixed seed: the same 256 cases every run, so a verdict never depends on which run it
    // is (exploring further is the fuzzers' job: the `roundtrip` target).
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xdcf_0291),
        ..ProptestConfig::default()
    })]

    #[test]
    fn decode_of_encode_is_identity(c in content()) {
        let bytes = c.encode().unwrap_or_else(|e| panic!("generated content rejected by the writer: {e}"));
        let back = Content::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &c);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn any_accepted_edit_is_canonical(c in content(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = c.encode().unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Recompute the digest so that edits reach the structure checks.
        let end = bytes.len() - 32;
        let digest = dcf_parser::sha256(&bytes[..end]);
        bytes[end..].copy_from_slice(&digest);
        if let Ok(view) = parse(&bytes) {
            prop_assert_eq!(Content::from_view(&view).encode().unwrap(), bytes);
        }
    }
}
