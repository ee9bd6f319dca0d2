//! Interpreter semantics on the corpus, and the literal prefilter against exhaustive
//! evaluation on generated rules and events.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::fs;

use dcf_conformance::valid::{header, network_template, process_template};
use dcf_parser::{
    Action, CompareOp, Content, Match, MatchKind, Node, Operand, Rule, RuleId, SensorVersion,
    Severity, Target, parse,
};
use dcf_sensor::{Event, Ruleset, Scratch, SensorInterface, Value, bind};
use dcf_test_support::Rng;

fn interface_of(content: &Content) -> SensorInterface {
    let bytes = content.encode().unwrap();
    SensorInterface::declared_by(
        &parse(&bytes).unwrap(),
        SensorVersion {
            major: 7,
            minor: 11,
            patch: 0,
        },
    )
}

fn load_corpus(stem: &str) -> Ruleset {
    let path = dcf_test_support::repo_root().join(format!("corpus/valid/{stem}.dcf"));
    let bytes = fs::read(path).unwrap();
    let view = parse(&bytes).unwrap();
    bind(&view, &interface_of(&Content::from_view(&view)))
        .into_result()
        .unwrap()
}

/// Rule numbers (the last byte of the corpus rule ids) that match.
fn matches(rules: &Ruleset, template: u32, fields: &[Value<'_>]) -> BTreeSet<u8> {
    let event = Event { template, fields };
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    rules
        .evaluate(&event, &mut Scratch::new(), &mut fast)
        .unwrap();
    rules
        .evaluate_exhaustive(&event, &mut Scratch::new(), &mut slow)
        .unwrap();
    assert_eq!(fast, slow, "prefilter changed the result");
    fast.iter()
        .map(|&i| rules.rules()[i as usize].id.0[15])
        .collect()
}

fn set(ids: &[u8]) -> BTreeSet<u8> {
    ids.iter().copied().collect()
}

use Value::{Int, Null, Str};

#[test]
fn match_kinds() {
    let r = load_corpus("match-kinds");
    let p = |image, cmd, user| [Str(image), Str(cmd), Int(1), Null, Str(user)];
    assert_eq!(
        matches(
            &r,
            1,
            &p(
                "c:\\windows\\system32\\CMD.EXE",
                "powershell -NoP -W Hidden -Enc AAA; Invoke-Expression",
                "system"
            )
        ),
        set(&[1, 4, 6, 8])
    );
    assert_eq!(
        matches(
            &r,
            1,
            &p(
                "C:\\Users\\bob\\evil.exe",
                "run sekurlsa::logonpasswords",
                "SYSTEM"
            )
        ),
        set(&[2, 3, 5])
    );
    // In a glob `\*` is an escaped, literal star and `\\` a backslash: `*\\AppData\*\*.ps1`
    // does not match a real path, only one with literal stars after `AppData`.
    assert_eq!(
        matches(
            &r,
            1,
            &p(
                "x",
                "C:\\Users\\bob\\AppData\\Local\\Run.PS1",
                "LocalService"
            )
        ),
        set(&[2])
    );
    assert_eq!(
        matches(
            &r,
            1,
            &p("x", "C:\\Users\\bob\\AppData**.PS1", "LocalService")
        ),
        set(&[2, 7])
    );
    assert_eq!(
        matches(&r, 1, &p("x", "d:\\Temp\\\\payload", "y")),
        set(&[7])
    );
    assert_eq!(matches(&r, 1, &p("x", "literal*star", "y")), set(&[7]));
    assert_eq!(matches(&r, 1, &p("x", "literalXstar", "y")), set(&[]));
    assert_eq!(matches(&r, 1, &p("x", "calc.exe", "y")), set(&[8]));
    assert_eq!(
        matches(&r, 1, &p("x", "[Convert]::FromBase64String(x)", "y")),
        set(&[9])
    );
    assert_eq!(
        matches(&r, 1, &p("x", "[Convert]::frombase64string(x)", "y")),
        set(&[])
    );
    let n = |dst, host: &'static str| [Null, Str(dst), Int(443), Str("tcp"), Str(host)];
    assert_eq!(matches(&r, 2, &n("10.1.2.3", "a")), set(&[10]));
    assert_eq!(
        matches(&r, 2, &n("fe80::1", "172.31.255.255")),
        set(&[10, 11])
    );
    assert_eq!(matches(&r, 2, &n("203.0.113.8", "172.32.0.0")), set(&[]));
    assert_eq!(
        matches(
            &r,
            2,
            &[
                Null,
                Value::Ip("192.168.4.4".parse().unwrap()),
                Int(1),
                Null,
                Null
            ]
        ),
        set(&[10])
    );
}

#[test]
fn numeric_boolean_keyword_field_ref_and_presence() {
    let r = load_corpus("numeric");
    let e = |pid, cmd| [Null, Str(cmd), pid, Null, Null];
    assert_eq!(matches(&r, 1, &e(Int(0), "x")), set(&[1]));
    assert_eq!(matches(&r, 1, &e(Int(-5), "1000")), set(&[2, 6]));
    assert_eq!(matches(&r, 1, &e(Int(i64::MIN), "999")), set(&[2, 3]));
    assert_eq!(matches(&r, 1, &e(Str("4624"), "abc")), set(&[5]));
    assert_eq!(matches(&r, 1, &e(Str("not a number"), "")), set(&[]));
    assert_eq!(
        matches(&r, 2, &[Null, Null, Int(80), Null, Null]),
        set(&[7])
    );

    let r = load_corpus("boolean");
    let e = |image, cmd, user| [Str(image), Str(cmd), Null, Null, Str(user)];
    // 1: (a or b) and .exe; 2: not root; 3: 2 of x,y,z; 4: and(); 5: or(); 6: 0 of none;
    // 7: not not any, and image is q; 8: 5 of none.
    assert_eq!(
        matches(&r, 1, &e("p.exe", "a x y", "root")),
        set(&[1, 3, 4, 6])
    );
    assert_eq!(matches(&r, 1, &e("Q", "", "root")), set(&[4, 6, 7]));
    assert_eq!(matches(&r, 1, &e("p.dll", "z", "bob")), set(&[2, 4, 6]));

    let r = load_corpus("keyword");
    let e = |image, cmd| [Str(image), Str(cmd), Int(1), Null, Null];
    assert_eq!(matches(&r, 1, &e("LSASS dump", "x")), set(&[1]));
    assert_eq!(matches(&r, 1, &e("x", "WhoAmI")), set(&[2]));
    assert_eq!(matches(&r, 1, &e("rundll32 x", "y")), set(&[5]));
    assert_eq!(matches(&r, 1, &e("RUNDLL32 x", "y")), set(&[]));
    assert_eq!(matches(&r, 1, &e("a", "ps -enc zz")), set(&[3]));
    assert_eq!(
        matches(&r, 2, &[Null, Null, Int(1), Str("tcp"), Str("abc.onion")]),
        set(&[6])
    );

    let r = load_corpus("field-ref");
    let e = |image, cmd, parent| [Str(image), Str(cmd), Null, Str(parent), Null];
    assert_eq!(
        matches(&r, 1, &e("A.exe", "run A.exe now", "a.EXE")),
        set(&[1, 2, 3])
    );
    assert_eq!(matches(&r, 1, &e("b.exe", "B.EXE", "c")), set(&[]));

    let r = load_corpus("presence");
    assert_eq!(
        matches(&r, 1, &[Null, Null, Null, Null, Str("u")]),
        set(&[1, 2, 4])
    );
    assert_eq!(
        matches(&r, 1, &[Null, Null, Int(3), Str("p"), Null]),
        set(&[])
    );
    assert_eq!(
        matches(&r, 2, &[Null, Str("1.2.3.4"), Null, Null, Null]),
        set(&[3])
    );
}

const WORDS: &[&str] = &[
    "cmd",
    "EXE",
    ".exe",
    "powershell",
    "-enc",
    "\\temp\\",
    "évé",
    "a",
    "",
    "lsass",
    "ΣΑΣ",
    "x*y",
    "10.0.0.1",
];

fn random_leaf(rng: &mut Rng) -> Node<Vec<String>> {
    let fields = [0u16, 1, 3, 4];
    match rng.below(10) {
        0 => Node::Any {
            field: rng.below(5) as u16,
        },
        1 => Node::Exists {
            field: rng.below(5) as u16,
        },
        2 => Node::Compare {
            op: CompareOp::ALL[rng.below(5)],
            field: 2,
            value: rng.below(10) as i64 - 3,
        },
        _ => {
            let kinds = [
                MatchKind::Equals,
                MatchKind::Contains,
                MatchKind::StartsWith,
                MatchKind::EndsWith,
                MatchKind::Glob,
            ];
            let n = 1 + rng.below(12);
            let values: Vec<String> = (0..n)
                .map(|_| {
                    let mut s = rng.pick(WORDS).to_string();
                    if rng.below(2) == 0 {
                        s.push_str(rng.pick(WORDS));
                    }
                    s
                })
                .collect();
            let kind = kinds[rng.below(kinds.len())];
            // Backslashes are literal in glob operands only when escaped (SPEC.md GLOB).
            let values = if kind == MatchKind::Glob {
                values.iter().map(|v| v.replace('\\', "\\\\")).collect()
            } else {
                values
            };
            Node::Match(Match {
                kind,
                target: if rng.below(6) == 0 {
                    Target::Keyword
                } else {
                    Target::Field(fields[rng.below(4)])
                },
                case_sensitive: rng.below(3) == 0,
                all_of: rng.below(4) == 0,
                operand: Operand::Values(values),
            })
        }
    }
}

fn random_expression(rng: &mut Rng, depth: u32, out: &mut Vec<Node<Vec<String>>>) {
    if depth == 0 || rng.below(3) == 0 {
        out.push(random_leaf(rng));
        return;
    }
    let n = rng.below(4) as u32;
    for _ in 0..n {
        random_expression(rng, depth - 1, out);
    }
    match rng.below(4) {
        0 => out.push(Node::And { children: n }),
        1 => out.push(Node::Or { children: n }),
        2 => out.push(Node::AtLeast {
            required: rng.below(3) as u32,
            children: n,
        }),
        _ => {
            // NOT takes one operand: fold the n operands into one with ORs first.
            if n == 0 {
                out.push(random_leaf(rng));
            }
            for _ in 1..n {
                out.push(Node::Or { children: 2 });
            }
            out.push(Node::Not);
        }
    }
}

#[test]
fn prefilter_never_changes_a_result() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let rules: Vec<Rule> = (0..400u32)
        .map(|i| {
            let mut expression = Vec::new();
            random_expression(&mut rng, 3, &mut expression);
            let mut id = [0u8; 16];
            id[12..].copy_from_slice(&i.to_be_bytes());
            Rule {
                id: RuleId(id),
                template: 1,
                title: format!("r{i}"),
                author: "gen".into(),
                severity: Severity::Low,
                action: Action::Log,
                attributes: vec![],
                expression,
            }
        })
        .collect();
    let content = Content {
        header: header(1, 1),
        templates: vec![process_template(), network_template()],
        rules,
        extensions: vec![],
        signature: None,
    };
    let ruleset = dcf_test_support::content::bound(&content, &interface_of(&content));
    let (mut scratch, mut fast, mut slow, mut total) = (Scratch::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..3000 {
        let texts: Vec<String> = (0..4)
            .map(|_| {
                (0..rng.below(4))
                    .map(|_| rng.pick(WORDS).to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let value = |i: usize, rng: &mut Rng| {
            if rng.below(8) == 0 {
                Null
            } else {
                Str(&texts[i])
            }
        };
        let fields = [
            value(0, &mut rng),
            value(1, &mut rng),
            Int(rng.below(10) as i64 - 3),
            value(2, &mut rng),
            value(3, &mut rng),
        ];
        let event = Event {
            template: 1,
            fields: &fields,
        };
        fast.clear();
        slow.clear();
        ruleset.evaluate(&event, &mut scratch, &mut fast).unwrap();
        ruleset
            .evaluate_exhaustive(&event, &mut scratch, &mut slow)
            .unwrap();
        assert_eq!(fast, slow, "event {fields:?}");
        // A few rules alone, without the prefilter: exactly those of them that match.
        let wanted: Vec<u32> = (0..1 + rng.below(8))
            .map(|_| rng.below(400) as u32)
            .collect();
        let mut alone = Vec::new();
        ruleset
            .evaluate_rules_exhaustive(&event, &wanted, &mut scratch, &mut alone)
            .unwrap();
        let expected: Vec<u32> = slow
            .iter()
            .copied()
            .filter(|r| wanted.contains(r))
            .collect();
        assert_eq!(alone, expected, "rules {wanted:?} on {fields:?}");
        total += fast.len();
    }
    assert!(
        total > 1000,
        "the generated rules should match often enough to be a test ({total})"
    );
}

/// EVAL-1, E3504: a string value longer than its field's declared `max_len` refuses the
/// event before any rule runs, whether or not a rule reads the field; a value of exactly
/// `max_len` bytes, a null and a non-string field are evaluated as usual.
#[test]
fn a_value_longer_than_its_declared_maximum_refuses_the_event() {
    let path = dcf_test_support::repo_root().join("corpus/valid/match-kinds.dcf");
    let bytes = fs::read(path).unwrap();
    let view = parse(&bytes).unwrap();
    let mut interface = interface_of(&Content::from_view(&view));
    let template = interface.template(1).unwrap().clone();
    let bounded = |name: &str| template.field_index(name).unwrap();
    // Field 1 (the command line) is read by rules; field 4 (the user) too; bound both, and
    // the command line tightly.
    let (cmd, user) = (bounded("command_line"), bounded("user"));
    let fields = &mut interface
        .templates
        .iter_mut()
        .find(|t| t.id == 1)
        .unwrap()
        .fields;
    fields[cmd].max_len = Some(16);
    fields[user].max_len = Some(6);
    let rules = bind(&view, &interface).into_result().unwrap();
    let evaluate = |values: &[Value<'_>]| {
        rules.evaluate(
            &Event {
                template: 1,
                fields: values,
            },
            &mut Scratch::new(),
            &mut Vec::new(),
        )
    };
    let p = |image, cmd, user| [Str(image), Str(cmd), Int(1), Null, Str(user)];
    assert!(evaluate(&p("x.exe", "0123456789abcdef", "system")).is_ok());
    assert!(evaluate(&[Str("x.exe"), Null, Int(1), Null, Null]).is_ok());
    let err = evaluate(&p("x.exe", "0123456789abcdefg", "system")).unwrap_err();
    assert_eq!(err.code.as_str(), "E3504");
    assert_eq!(
        (err.field, err.supplied, err.expected),
        (Some(cmd as u16), 17, 16)
    );
    assert!(err.to_string().contains("17 bytes, at most 16"), "{err}");
    // The length is in bytes: six characters of two bytes each are twelve.
    let err = evaluate(&p("x.exe", "short", "ÿÿÿÿÿÿ")).unwrap_err();
    assert_eq!((err.field, err.supplied), (Some(user as u16), 12));
}
