//! The valid corpus: contents that together use every feature of the format.

use dcf_parser::limits::{MAX_EXPRESSION_DEPTH, MAX_NODES_PER_RULE};
use dcf_parser::{
    Action, Attribute, CompareOp, Content, Extension, Field, FieldType, Header, Match, MatchKind,
    Node, Operand, Rule, RuleId, SensorVersion, Severity, Signature, Target, Template,
};
use ed25519_dalek::{Signer, SigningKey};

/// Seed of the corpus test signing key. Test material only: it is public.
pub const TEST_KEY_SEED: [u8; 32] = [0x5a; 32];

/// A header valid from 2026-01-01 to 2027-01-01 for sensors 7.11.0 to 7.12.65535.
pub fn header(channel: u32, sequence: u64) -> Header {
    Header {
        minor: 0,
        channel,
        sequence,
        created_at: 1_767_225_600,
        expires_at: 1_798_761_600,
        sensor_min: SensorVersion {
            major: 7,
            minor: 11,
            patch: 0,
        },
        sensor_max: SensorVersion {
            major: 7,
            minor: 12,
            patch: u16::MAX,
        },
    }
}

fn field(name: &str, kind: FieldType) -> Field {
    Field {
        name: name.into(),
        kind,
    }
}

/// Template 1, `process`: five fields of string and integer type.
pub fn process_template() -> Template {
    Template {
        id: 1,
        name: "process".into(),
        fields: vec![
            field("image", FieldType::String),
            field("command_line", FieldType::String),
            field("pid", FieldType::Integer),
            field("parent_image", FieldType::String),
            field("user", FieldType::String),
        ],
    }
}

/// Template 2, `network`: addresses, port and protocol.
pub fn network_template() -> Template {
    Template {
        id: 2,
        name: "network".into(),
        fields: vec![
            field("src_ip", FieldType::Ip),
            field("dst_ip", FieldType::Ip),
            field("dst_port", FieldType::Integer),
            field("protocol", FieldType::String),
            field("dst_host", FieldType::String),
        ],
    }
}

/// A rule with defaults for everything but id, template and expression.
pub fn rule(id: u8, template: u32, expression: Vec<Node<Vec<String>>>) -> Rule {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xd0;
    bytes[15] = id;
    Rule {
        id: RuleId(bytes),
        template,
        title: format!("rule {id}"),
        author: "dcf corpus".into(),
        severity: Severity::Medium,
        action: Action::Detect,
        attributes: vec![],
        expression,
    }
}

/// A match node on field `field` with any-of values, case-insensitive.
pub fn m(kind: MatchKind, field: u16, values: &[&str]) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target: Target::Field(field),
        case_sensitive: false,
        all_of: false,
        operand: Operand::Values(values.iter().map(|v| v.to_string()).collect()),
    })
}

fn with(node: Node<Vec<String>>, case_sensitive: bool, all_of: bool) -> Node<Vec<String>> {
    match node {
        Node::Match(mut m) => {
            m.case_sensitive = case_sensitive;
            m.all_of = all_of;
            Node::Match(m)
        }
        other => other,
    }
}

fn keyword(kind: MatchKind, values: &[&str]) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target: Target::Keyword,
        case_sensitive: false,
        all_of: false,
        operand: Operand::Values(values.iter().map(|v| v.to_string()).collect()),
    })
}

fn field_ref(kind: MatchKind, field: u16, other: u16, case_sensitive: bool) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target: Target::Field(field),
        case_sensitive,
        all_of: false,
        operand: Operand::Field(other),
    })
}

fn content(channel: u32, templates: Vec<Template>, rules: Vec<Rule>) -> Content {
    let mut c = Content {
        header: header(channel, 1),
        templates,
        rules,
        extensions: vec![],
        signature: None,
    };
    c.sort();
    c
}

/// The base content that most invalid files are forged from: two templates, three rules
/// with attributes, values and a mix of nodes.
pub fn base() -> Content {
    let mut r1 = rule(
        1,
        1,
        vec![
            m(MatchKind::EndsWith, 0, &["\\cmd.exe", "\\powershell.exe"]),
            m(MatchKind::Contains, 1, &["-enc"]),
            Node::And { children: 2 },
        ],
    );
    r1.attributes = vec![Attribute {
        key: "tag".into(),
        value: "attack.execution".into(),
    }];
    let mut r2 = rule(
        2,
        2,
        vec![m(MatchKind::Cidr, 1, &["10.0.0.0/8"]), Node::Not],
    );
    r2.attributes = vec![Attribute {
        key: "reference".into(),
        value: "https://example.invalid/r2".into(),
    }];
    let r3 = rule(
        3,
        1,
        vec![Node::Compare {
            op: CompareOp::Gt,
            field: 2,
            value: 4,
        }],
    );
    content(
        1,
        vec![process_template(), network_template()],
        vec![r1, r2, r3],
    )
}

/// A content with one template (`process`) and one rule whose expression is `expression`.
pub fn single_rule(expression: Vec<Node<Vec<String>>>) -> Content {
    content(1, vec![process_template()], vec![rule(1, 1, expression)])
}

/// Signs a content with the corpus test key, the same way `dcf sign` does.
pub fn sign(mut c: Content) -> Content {
    let key = SigningKey::from_bytes(&TEST_KEY_SEED);
    let key_id = dcf_parser::key_id(key.verifying_key().as_bytes());
    c.signature = Some(Signature {
        key_id,
        signature: [0; 64],
    });
    let Ok(unsigned) = c.encode() else { return c };
    let Ok(frame) = dcf_parser::Frame::read(&unsigned) else {
        return c;
    };
    let signature = key.sign(&frame.signed_message()).to_bytes();
    c.signature = Some(Signature { key_id, signature });
    c
}

/// Every valid corpus content, by file stem.
pub fn contents() -> Vec<(&'static str, Content)> {
    let mut all = vec![("base", base())];

    all.push((
        "minimal",
        content(
            1,
            vec![Template {
                id: 7,
                name: "t".into(),
                fields: vec![field("f", FieldType::String)],
            }],
            vec![rule(1, 7, vec![Node::Any { field: 0 }])],
        ),
    ));

    all.push(("empty", content(9, vec![], vec![])));

    let kinds = vec![
        rule(
            1,
            1,
            vec![m(MatchKind::Equals, 0, &["C:\\Windows\\System32\\cmd.exe"])],
        ),
        rule(
            2,
            1,
            vec![with(
                m(MatchKind::Equals, 4, &["SYSTEM", "LocalService"]),
                true,
                false,
            )],
        ),
        rule(
            3,
            1,
            vec![m(MatchKind::Contains, 1, &["mimikatz", "sekurlsa::"])],
        ),
        rule(
            4,
            1,
            vec![with(
                m(MatchKind::Contains, 1, &["-nop", "-w hidden", "-enc"]),
                false,
                true,
            )],
        ),
        rule(5, 1, vec![m(MatchKind::StartsWith, 0, &["C:\\Users\\"])]),
        rule(
            6,
            1,
            vec![with(m(MatchKind::EndsWith, 0, &[".EXE"]), true, false)],
        ),
        rule(
            7,
            1,
            vec![m(
                MatchKind::Glob,
                1,
                &[
                    "*\\\\AppData\\*\\*.ps1",
                    "?:\\\\Temp\\\\*",
                    "literal\\*star",
                ],
            )],
        ),
        rule(
            8,
            1,
            vec![m(
                MatchKind::Regex,
                1,
                &["(?i)invoke-(expression|webrequest)", "^[a-z]{3,8}\\.exe$"],
            )],
        ),
        rule(
            9,
            1,
            vec![with(
                m(MatchKind::Regex, 1, &["FromBase64String"]),
                true,
                false,
            )],
        ),
        rule(
            10,
            2,
            vec![m(
                MatchKind::Cidr,
                1,
                &["10.0.0.0/8", "192.168.0.0/16", "fe80::/10", "203.0.113.7"],
            )],
        ),
        rule(11, 2, vec![m(MatchKind::Cidr, 4, &["172.16.0.0/12"])]),
        rule(
            12,
            1,
            vec![with(
                m(MatchKind::Glob, 0, &["*.exe", "*.dll"]),
                false,
                true,
            )],
        ),
    ];
    all.push((
        "match-kinds",
        content(2, vec![process_template(), network_template()], kinds),
    ));

    let ops = [
        CompareOp::Eq,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ];
    let mut numeric: Vec<Rule> = ops
        .iter()
        .zip([0i64, -1, i64::MIN, i64::MAX, 4624])
        .enumerate()
        .map(|(i, (op, value))| {
            rule(
                i as u8 + 1,
                1,
                vec![Node::Compare {
                    op: *op,
                    field: 2,
                    value,
                }],
            )
        })
        .collect();
    numeric.push(rule(
        6,
        1,
        vec![Node::Compare {
            op: CompareOp::Ge,
            field: 1,
            value: 1000,
        }],
    ));
    numeric.push(rule(
        7,
        2,
        vec![Node::Compare {
            op: CompareOp::Lt,
            field: 2,
            value: 1024,
        }],
    ));
    all.push((
        "numeric",
        content(3, vec![process_template(), network_template()], numeric),
    ));

    let boolean = vec![
        rule(
            1,
            1,
            vec![
                m(MatchKind::Contains, 1, &["a"]),
                m(MatchKind::Contains, 1, &["b"]),
                Node::Or { children: 2 },
                m(MatchKind::EndsWith, 0, &[".exe"]),
                Node::And { children: 2 },
            ],
        ),
        rule(2, 1, vec![m(MatchKind::Equals, 4, &["root"]), Node::Not]),
        rule(
            3,
            1,
            vec![
                m(MatchKind::Contains, 1, &["x"]),
                m(MatchKind::Contains, 1, &["y"]),
                m(MatchKind::Contains, 1, &["z"]),
                Node::AtLeast {
                    required: 2,
                    children: 3,
                },
            ],
        ),
        rule(4, 1, vec![Node::And { children: 0 }]),
        rule(5, 1, vec![Node::Or { children: 0 }]),
        rule(
            6,
            1,
            vec![Node::AtLeast {
                required: 0,
                children: 0,
            }],
        ),
        rule(
            7,
            1,
            vec![
                Node::Any { field: 0 },
                Node::Not,
                Node::Not,
                m(MatchKind::Equals, 0, &["q"]),
                Node::Or { children: 1 },
                Node::And { children: 2 },
            ],
        ),
        rule(
            8,
            1,
            vec![Node::AtLeast {
                required: 5,
                children: 0,
            }],
        ),
    ];
    all.push(("boolean", content(4, vec![process_template()], boolean)));

    let keywords = vec![
        rule(
            1,
            1,
            vec![keyword(MatchKind::Contains, &["mimikatz", "lsass"])],
        ),
        rule(2, 1, vec![keyword(MatchKind::Equals, &["whoami"])]),
        rule(3, 1, vec![keyword(MatchKind::Glob, &["*-enc *"])]),
        rule(
            4,
            1,
            vec![keyword(MatchKind::Regex, &["[A-Za-z0-9+/]{40,}={0,2}"])],
        ),
        rule(
            5,
            1,
            vec![with(
                keyword(MatchKind::StartsWith, &["rundll32"]),
                true,
                true,
            )],
        ),
        rule(6, 2, vec![keyword(MatchKind::EndsWith, &[".onion"])]),
    ];
    all.push((
        "keyword",
        content(5, vec![process_template(), network_template()], keywords),
    ));

    let refs = vec![
        rule(1, 1, vec![field_ref(MatchKind::Equals, 0, 3, false)]),
        rule(2, 1, vec![field_ref(MatchKind::Contains, 1, 0, true)]),
        rule(3, 1, vec![field_ref(MatchKind::StartsWith, 3, 0, false)]),
        rule(4, 2, vec![field_ref(MatchKind::EndsWith, 4, 3, false)]),
    ];
    all.push((
        "field-ref",
        content(6, vec![process_template(), network_template()], refs),
    ));

    let presence = vec![
        rule(1, 1, vec![Node::Exists { field: 4 }]),
        rule(2, 1, vec![Node::IsNull { field: 3 }]),
        rule(
            3,
            2,
            vec![
                Node::Any { field: 0 },
                Node::Exists { field: 1 },
                Node::IsNull { field: 2 },
                Node::And { children: 3 },
            ],
        ),
        rule(4, 1, vec![Node::Exists { field: 2 }, Node::Not]),
    ];
    all.push((
        "presence",
        content(7, vec![process_template(), network_template()], presence),
    ));

    let ipc = Template {
        id: 291,
        name: "named_pipe_ipc".into(),
        fields: (0..21)
            .map(|i| {
                field(
                    &format!("ipc_field_{i}"),
                    if i == 5 {
                        FieldType::Integer
                    } else {
                        FieldType::String
                    },
                )
            })
            .collect(),
    };
    let empty_template = Template {
        id: 40_000,
        name: "heartbeat".into(),
        fields: vec![],
    };
    let interface = vec![
        rule(
            1,
            291,
            vec![
                m(MatchKind::Glob, 0, &["\\\\\\\\.\\\\pipe\\\\*"]),
                Node::Any { field: 20 },
                Node::And { children: 2 },
            ],
        ),
        rule(
            2,
            291,
            vec![m(MatchKind::Regex, 20, &["^msagent_[0-9a-f]{2}$"])],
        ),
        rule(3, 40_000, vec![Node::And { children: 0 }]),
        rule(4, 2, vec![m(MatchKind::Equals, 3, &["tcp"])]),
    ];
    all.push((
        "interface",
        content(
            291,
            vec![process_template(), network_template(), ipc, empty_template],
            interface,
        ),
    ));

    let mut metadata = Vec::new();
    for (i, (severity, action)) in Severity::ALL
        .iter()
        .zip(Action::ALL.iter().cycle())
        .enumerate()
    {
        let mut r = rule(i as u8 + 1, 1, vec![m(MatchKind::Contains, 1, &["x"])]);
        r.severity = *severity;
        r.action = *action;
        metadata.push(r);
    }
    if let Some(r) = metadata.first_mut() {
        r.title = "Détection d’un «processus» suspect — 可疑进程 🦀".into();
        r.author = "Florian Roth (Nextron Systems), Jane Doe".into();
        r.attributes = vec![
            Attribute {
                key: "reference".into(),
                value: "https://attack.mitre.org/techniques/T1059/001/".into(),
            },
            Attribute {
                key: "reference".into(),
                value: "https://example.invalid/report".into(),
            },
            Attribute {
                key: "tag".into(),
                value: "attack.t1059.001".into(),
            },
            Attribute {
                key: "description".into(),
                value: String::new(),
            },
            Attribute {
                key: "status".into(),
                value: "test".into(),
            },
        ];
    }
    if let Some(r) = metadata.get_mut(1) {
        r.author = String::new();
        r.title = "x".into();
    }
    all.push(("metadata", content(8, vec![process_template()], metadata)));

    all.push(("signed", sign(base())));

    let mut deep_expr = vec![Node::Any { field: 0 }];
    deep_expr.extend((1..MAX_EXPRESSION_DEPTH).map(|_| Node::Not));
    let leaves = MAX_NODES_PER_RULE - 1;
    let mut wide_expr: Vec<Node<Vec<String>>> = (0..leaves)
        .map(|i| {
            m(
                MatchKind::Contains,
                1,
                &[if i % 2 == 0 { "even" } else { "odd" }],
            )
        })
        .collect();
    wide_expr.push(Node::AtLeast {
        required: 3,
        children: leaves,
    });
    all.push((
        "limits",
        content(
            10,
            vec![process_template()],
            vec![rule(1, 1, deep_expr), rule(2, 1, wide_expr)],
        ),
    ));

    let mut extended = base();
    extended.header.minor = 3;
    extended.extensions = vec![
        Extension {
            tag: 0,
            payload: b"before the strings".to_vec(),
        },
        Extension {
            tag: 7,
            payload: b"future section".to_vec(),
        },
        Extension {
            tag: 0x1000,
            payload: vec![],
        },
    ];
    all.push(("extension", extended));

    let shared = Template {
        id: 3,
        name: "shared".into(),
        fields: vec![field("shared", FieldType::String)],
    };
    let mut s1 = rule(1, 3, vec![m(MatchKind::Equals, 0, &["shared", "shared"])]);
    s1.title = "shared".into();
    s1.author = "shared".into();
    s1.attributes = vec![Attribute {
        key: "shared".into(),
        value: "shared".into(),
    }];
    all.push(("shared-strings", content(11, vec![shared], vec![s1])));

    all
}
