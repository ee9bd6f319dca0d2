//! The files the tests read: contents generated here (so that the harness is exercised
//! before the corpus exists and whatever the corpus holds), written atomically once per
//! process, and the files of `corpus/valid/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dcf_parser::{
    Action, Attribute, CompareOp, Content, Extension, Field, FieldType, Header, Match, MatchKind,
    Node, Operand, Rule, RuleId, SensorVersion, Severity, Signature, Target, Template, parse,
    sha256,
};
use dcf_test_support::repo_root;

/// The corpus generator must put at least this many files in `corpus/valid/`.
pub(crate) const MIN_CORPUS_FILES: usize = 10;

fn header(minor: u16) -> Header {
    Header {
        minor,
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
    }
}

fn field(name: &str, kind: FieldType) -> Field {
    Field {
        name: name.into(),
        kind,
    }
}

fn values(list: &[&str]) -> Operand<Vec<String>> {
    Operand::Values(list.iter().map(|s| s.to_string()).collect())
}

fn matches(kind: MatchKind, target: Target, operand: Operand<Vec<String>>) -> Node<Vec<String>> {
    Node::Match(Match {
        kind,
        target,
        case_sensitive: false,
        all_of: false,
        operand,
    })
}

fn rule(id: u8, template: u32, expression: Vec<Node<Vec<String>>>) -> Rule {
    let mut bytes = [0u8; 16];
    bytes[0] = id;
    bytes[15] = 0x0f;
    Rule {
        id: RuleId(bytes),
        template,
        title: format!("rule {id}"),
        author: "kaitai harness".into(),
        severity: Severity::Medium,
        action: Action::Detect,
        attributes: vec![],
        expression,
    }
}

/// One template with one field of each type, one rule: the parser's smoke sample.
fn small() -> Content {
    Content {
        header: header(0),
        templates: vec![Template {
            id: 1,
            name: "ipc".into(),
            fields: vec![
                field("pipe", FieldType::String),
                field("pid", FieldType::Integer),
                field("peer", FieldType::Ip),
            ],
        }],
        rules: vec![Rule {
            attributes: vec![Attribute {
                key: "tag".into(),
                value: "x".into(),
            }],
            severity: Severity::High,
            ..rule(
                1,
                1,
                vec![
                    matches(
                        MatchKind::Contains,
                        Target::Field(0),
                        values(&["evil", "pipe"]),
                    ),
                    Node::Compare {
                        op: CompareOp::Gt,
                        field: 1,
                        value: -5,
                    },
                    Node::Any { field: 2 },
                    Node::And { children: 3 },
                ],
            )
        }],
        extensions: vec![],
        signature: None,
    }
}

/// Every opcode, every flag combination the format allows, extreme numbers, non-ASCII and
/// empty strings, several templates (one without fields), signed.
pub(crate) fn rich() -> Content {
    let process = Template {
        id: 3,
        name: "process_creation".into(),
        fields: vec![
            field("image", FieldType::String),
            field("command_line", FieldType::String),
            field("pid", FieldType::Integer),
            field("parent_image", FieldType::String),
            field("user", FieldType::String),
        ],
    };
    let network = Template {
        id: 10,
        name: "network_connection".into(),
        fields: vec![
            field("destination_ip", FieldType::Ip),
            field("destination_port", FieldType::Integer),
            field("hostname", FieldType::String),
        ],
    };
    let heartbeat = Template {
        id: 4_000_000_000,
        name: "heartbeat".into(),
        fields: vec![],
    };
    let all_match_kinds = MatchKind::ALL
        .iter()
        .map(|&kind| {
            let target = if kind == MatchKind::Cidr {
                Target::Field(0)
            } else {
                Target::Keyword
            };
            Node::Match(Match {
                kind,
                target,
                case_sensitive: kind != MatchKind::Cidr,
                all_of: kind == MatchKind::Glob,
                operand: values(&["10.0.0.0/8", "ünïcödé ✓", "🦀"]),
            })
        })
        .collect::<Vec<_>>();
    let mut network_expr = all_match_kinds;
    network_expr.push(Node::Or { children: 7 });
    network_expr.extend(
        CompareOp::ALL
            .iter()
            .enumerate()
            .map(|(i, &op)| Node::Compare {
                op,
                field: if i % 2 == 0 { 1 } else { 2 },
                value: [i64::MIN, -1, 0, 1 << 40, i64::MAX][i],
            }),
    );
    network_expr.push(Node::AtLeast {
        required: 2,
        children: 5,
    });
    network_expr.push(Node::Not);
    network_expr.push(Node::And { children: 2 });

    let process_expr = vec![
        Node::Match(Match {
            kind: MatchKind::EndsWith,
            target: Target::Field(0),
            case_sensitive: false,
            all_of: false,
            operand: values(&["\\cmd.exe", "\\powershell.exe", ""]),
        }),
        Node::Match(Match {
            kind: MatchKind::Equals,
            target: Target::Field(3),
            case_sensitive: true,
            all_of: false,
            operand: Operand::Field(0),
        }),
        Node::Match(Match {
            kind: MatchKind::Contains,
            target: Target::Field(1),
            case_sensitive: false,
            all_of: true,
            operand: values(&["-enc", "bypass"]),
        }),
        Node::Match(Match {
            kind: MatchKind::StartsWith,
            target: Target::Field(4),
            case_sensitive: false,
            all_of: false,
            operand: Operand::Field(1),
        }),
        Node::Match(Match {
            kind: MatchKind::Regex,
            target: Target::Field(1),
            case_sensitive: true,
            all_of: false,
            operand: values(&["(?i)invoke-[a-z]+"]),
        }),
        Node::Match(Match {
            kind: MatchKind::Cidr,
            target: Target::Field(4),
            case_sensitive: false,
            all_of: false,
            operand: values(&["192.168.0.0/16", "fe80::/10"]),
        }),
        Node::Exists { field: 2 },
        Node::IsNull { field: 4 },
        Node::Any { field: 1 },
        Node::And { children: 0 },
        Node::Or { children: 0 },
        Node::AtLeast {
            required: 0,
            children: 0,
        },
        Node::Or { children: 12 },
    ];

    let attributes = |n: usize| {
        (0..n)
            .map(|i| Attribute {
                key: ["reference", "tag", "description", "falsepositive"][i % 4].into(),
                value: match i {
                    0 => String::new(),
                    1 => "attack.t1059.001".into(),
                    2 => "Ĉu vi? 日本語のテキスト".into(),
                    _ => format!("value {i}"),
                },
            })
            .collect::<Vec<_>>()
    };
    let mut rules = vec![
        Rule {
            id: RuleId([0; 16]),
            severity: Severity::Informational,
            action: Action::Log,
            attributes: attributes(4),
            title: String::new(),
            ..rule(0, 3, process_expr)
        },
        Rule {
            id: RuleId::parse("00000000-0000-0000-0000-0000000000ff").expect("uuid"),
            severity: Severity::Critical,
            action: Action::Block,
            attributes: attributes(1),
            ..rule(0, 10, network_expr)
        },
        Rule {
            id: RuleId([0xff; 16]),
            severity: Severity::Low,
            ..rule(0, 4_000_000_000, vec![Node::And { children: 0 }])
        },
    ];
    for (i, severity) in Severity::ALL.iter().enumerate() {
        rules.push(Rule {
            severity: *severity,
            action: Action::ALL[i % Action::ALL.len()],
            attributes: attributes(i),
            ..rule(
                0x10 + i as u8,
                3,
                vec![
                    Node::Exists { field: 0 },
                    Node::Not,
                    Node::Not,
                    matches(MatchKind::Glob, Target::Field(0), values(&["*\\temp\\*"])),
                    Node::Or { children: 2 },
                ],
            )
        });
    }
    let mut content = Content {
        header: Header {
            minor: 0,
            channel: u32::MAX,
            sequence: u64::MAX,
            created_at: 0,
            expires_at: u64::MAX,
            sensor_min: SensorVersion {
                major: 0,
                minor: 0,
                patch: 0,
            },
            sensor_max: SensorVersion {
                major: u16::MAX,
                minor: u16::MAX,
                patch: u16::MAX,
            },
        },
        templates: vec![process, network, heartbeat],
        rules,
        extensions: vec![],
        signature: Some(Signature {
            key_id: core::array::from_fn(|i| i as u8),
            signature: core::array::from_fn(|i| 0xff - i as u8),
        }),
    };
    content.sort();
    content
}

/// A file of a later minor version, with sections this reader does not know.
pub(crate) fn extended() -> Content {
    Content {
        header: header(3),
        extensions: vec![
            Extension {
                tag: 7,
                payload: b"\x00\x01\x02 later minor".to_vec(),
            },
            Extension {
                tag: 8,
                payload: vec![],
            },
            Extension {
                tag: u32::MAX,
                payload: vec![0xa5; 33],
            },
        ],
        ..small()
    }
}

/// No template, no rule: every table empty.
fn empty() -> Content {
    Content {
        header: header(0),
        templates: vec![],
        rules: vec![],
        extensions: vec![],
        signature: None,
    }
}

/// Many rules with pseudo-random expressions, from a fixed seed.
fn many(seed: u64, rule_count: usize) -> Content {
    let mut state = seed;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let template = Template {
        id: 42,
        name: "file_event".into(),
        fields: vec![
            field("path", FieldType::String),
            field("size", FieldType::Integer),
            field("owner", FieldType::String),
            field("remote", FieldType::Ip),
        ],
    };
    let mut rules = Vec::new();
    for r in 0..rule_count {
        let mut id = [0u8; 16];
        for b in &mut id {
            *b = next(256) as u8;
        }
        let leaves = 1 + next(6) as u32;
        let mut expression = Vec::new();
        for _ in 0..leaves {
            expression.push(match next(5) {
                0 => Node::Compare {
                    op: CompareOp::ALL[next(5) as usize],
                    field: 1,
                    value: next(u64::MAX) as i64 - (1 << 62),
                },
                1 => Node::Exists {
                    field: next(4) as u16,
                },
                2 => matches(
                    MatchKind::Cidr,
                    Target::Field(3),
                    values(&[&format!("10.{}.0.0/16", next(256))]),
                ),
                _ => {
                    let n = 1 + next(3) as usize;
                    let list: Vec<String> = (0..n).map(|_| format!("v{}", next(50))).collect();
                    Node::Match(Match {
                        kind: MatchKind::ALL[next(6) as usize],
                        target: if next(2) == 0 {
                            Target::Field(0)
                        } else {
                            Target::Keyword
                        },
                        case_sensitive: next(2) == 0,
                        all_of: next(2) == 0,
                        operand: Operand::Values(list),
                    })
                }
            });
        }
        if leaves > 1 {
            expression.push(if next(2) == 0 {
                Node::And { children: leaves }
            } else {
                Node::Or { children: leaves }
            });
        }
        rules.push(Rule {
            id: RuleId(id),
            template: 42,
            title: format!("generated rule {r}"),
            author: format!("author {}", next(7)),
            severity: Severity::ALL[next(5) as usize],
            action: Action::ALL[next(3) as usize],
            attributes: (0..next(4))
                .map(|i| Attribute {
                    key: format!("k{i}"),
                    value: format!("{}", next(1000)),
                })
                .collect(),
            expression,
        });
    }
    let mut content = Content {
        header: header(0),
        templates: vec![template],
        rules,
        extensions: vec![],
        signature: None,
    };
    content.sort();
    content.rules.dedup_by_key(|r| r.id);
    content
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a concurrent
/// reader (another test, another test process) sees the old file or the new one, never half.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) {
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    fs::write(&temp, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", temp.display()));
    fs::rename(&temp, path).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The generated contents, encoded once per process, and their paths.
pub(crate) fn generated_files() -> Vec<PathBuf> {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(write_generated_files).clone()
}

fn write_generated_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kaitai-generated");
    fs::create_dir_all(&dir).expect("create the folder of generated files");
    let contents = [
        ("small", small()),
        ("rich", rich()),
        ("extended", extended()),
        ("empty", empty()),
        ("many", many(0x5eed, 300)),
    ];
    let mut files: Vec<(String, Vec<u8>)> = contents
        .iter()
        .map(|(name, content)| {
            let bytes = content
                .encode()
                .unwrap_or_else(|e| panic!("generated content {name} does not encode: {e}"));
            (name.to_string(), bytes)
        })
        .collect();
    files.push(("leading-extension".into(), leading_extension()));
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(format!("{name}.dcf"));
            write_atomically(&path, &bytes);
            path
        })
        .collect()
}

/// A file of a later minor whose unknown section has tag 0 and so comes before STRINGS, the
/// one place other than after NODES where ascending tags allow it. The writer only appends
/// extensions after NODES, so this one is spliced in by hand: `extended`'s bytes with a tag-0
/// section inserted after the header and the digest recomputed.
fn leading_extension() -> Vec<u8> {
    let base = extended().encode().expect("extended encodes");
    let (header, rest) = base.split_at(56);
    let body = &rest[..rest.len() - 32];
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(b"\x00\xffz");
    bytes.extend_from_slice(body);
    let digest = sha256(&bytes);
    bytes.extend_from_slice(&digest);
    let view =
        parse(&bytes).unwrap_or_else(|e| panic!("dcf_parser rejects a leading tag-0 section: {e}"));
    assert_eq!(view.sections().next().map(|s| s.tag), Some(0));
    bytes
}

pub(crate) fn corpus_files() -> Vec<PathBuf> {
    let dir = repo_root().join("corpus").join("valid");
    let mut files: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("read corpus/valid").path())
            .filter(|p| p.extension().is_some_and(|x| x == "dcf"))
            .collect(),
        Err(e) => panic!("cannot read {}: {e}", dir.display()),
    };
    files.sort();
    files
}
