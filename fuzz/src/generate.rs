//! Structure-aware generation of valid contents (in the manner of wasm-smith): every choice is
//! drawn from the fuzzer's bytes, and every content built is valid by construction, so the
//! `roundtrip` target reaches the writer and the whole parser instead of the first check.

use arbitrary::{Result, Unstructured};
use dcf_parser::limits::{MAX_EXPRESSION_DEPTH, MAX_NODES_PER_RULE};
use dcf_parser::{
    Action, Attribute, CompareOp, Content, Extension, Field, FieldType, Header, Match, MatchKind,
    Node, Operand, Rule, RuleId, SensorVersion, Severity, Signature, Target, Template,
};

/// Upper bounds that keep one generated content small enough for fast fuzzing.
const MAX_TEMPLATES: u32 = 4;
const MAX_FIELDS: u32 = 24;
const MAX_RULES: u32 = 12;
const MAX_VALUES: u32 = 6;

/// A valid content drawn from `u`.
pub fn content(u: &mut Unstructured<'_>) -> Result<Content> {
    let created_at = u.arbitrary::<u64>()? >> 1;
    let sensor_min = version(u)?;
    let sensor_max = SensorVersion {
        major: sensor_min.major.saturating_add(u.int_in_range(0..=2)?),
        ..sensor_min
    };
    let extended = u.ratio(1, 8)?;
    let header = Header {
        minor: if extended { u.int_in_range(1..=3)? } else { 0 },
        channel: u.arbitrary()?,
        sequence: u.arbitrary()?,
        created_at,
        expires_at: created_at.saturating_add(u.int_in_range(1..=u64::MAX >> 2)?),
        sensor_min,
        sensor_max,
    };

    let mut template_ids: Vec<u32> = (0..u.int_in_range(0..=MAX_TEMPLATES)?)
        .map(|_| u.arbitrary())
        .collect::<Result<_>>()?;
    template_ids.sort_unstable();
    template_ids.dedup();
    let mut templates = Vec::with_capacity(template_ids.len());
    for id in template_ids {
        let fields = (0..u.int_in_range(0..=MAX_FIELDS)?)
            .map(|_| {
                Ok(Field {
                    name: text(u)?,
                    kind: *u.choose(FieldType::ALL)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        templates.push(Template {
            id,
            name: text(u)?,
            fields,
        });
    }

    let pools: Vec<FieldPool> = templates.iter().map(FieldPool::of).collect();
    let kinds = KindPool::new();
    let mut rules = Vec::new();
    if !templates.is_empty() {
        for _ in 0..u.int_in_range(0..=MAX_RULES)? {
            let index = u.choose_index(templates.len())?;
            let (template, pool) = (&templates[index], &pools[index]);
            rules.push(Rule {
                id: RuleId(u.arbitrary()?),
                template: template.id,
                title: text(u)?,
                author: text(u)?,
                severity: *u.choose(Severity::ALL)?,
                action: *u.choose(Action::ALL)?,
                attributes: (0..u.int_in_range(0..=4)?)
                    .map(|_| {
                        Ok(Attribute {
                            key: text(u)?,
                            value: text(u)?,
                        })
                    })
                    .collect::<Result<_>>()?,
                expression: expression(u, pool, &kinds)?,
            });
        }
    }
    rules.sort_by_key(|r| r.id);
    rules.dedup_by_key(|r| r.id);

    let extensions = if extended {
        let mut tags: Vec<u32> = (0..u.int_in_range(0..=3)?)
            .map(|_| u.arbitrary::<u32>())
            .collect::<Result<_>>()?;
        tags.retain(|t| !(1..=6).contains(t));
        tags.sort_unstable();
        tags.dedup();
        tags.into_iter()
            .map(|tag| {
                Ok(Extension {
                    tag,
                    payload: u.arbitrary()?,
                })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let signature = if u.arbitrary()? {
        Some(Signature {
            key_id: u.arbitrary()?,
            signature: u.arbitrary()?,
        })
    } else {
        None
    };
    Ok(Content {
        header,
        templates,
        rules,
        extensions,
        signature,
    })
}

fn version(u: &mut Unstructured<'_>) -> Result<SensorVersion> {
    Ok(SensorVersion {
        major: u.arbitrary()?,
        minor: u.arbitrary()?,
        patch: u.arbitrary()?,
    })
}

/// Short text, sometimes from a vocabulary shared across the content, so interning matters.
fn text(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 2)? {
        Ok((*u.choose(&[
            "",
            "cmd.exe",
            "C:\\Windows\\",
            "évènement",
            "🦀",
            "a*b?c\\*",
            "10.0.0.0/8",
            "(?i)x+",
        ])?)
        .to_string())
    } else {
        let s: String = u.arbitrary()?;
        Ok(s.chars().take(40).collect())
    }
}

/// A postfix expression over `template`'s fields: leaves and operators drawn until the input
/// says stop, then reduced to one root. Depth is tracked per stack slot, so deep chains (up to
/// the format's limit) and wide operators are both reachable without recursion.
fn expression(
    u: &mut Unstructured<'_>,
    pool: &FieldPool,
    kinds: &KindPool,
) -> Result<Vec<Node<Vec<String>>>> {
    let mut nodes = Vec::new();
    let mut depths: Vec<u8> = Vec::new();
    let budget = u.int_in_range(1..=MAX_NODES_PER_RULE - 1)? as usize;
    while nodes.len() < budget && !u.is_empty() {
        let apply = !depths.is_empty() && u.ratio(2, 5)?;
        if apply {
            let pops = if u.ratio(1, 3)? {
                1
            } else {
                u.int_in_range(1..=depths.len())?
            };
            let base = depths.len() - pops;
            let depth = depths[base..].iter().copied().max().unwrap_or(0) + 1;
            // One level is kept for the root that joins what is left on the stack.
            if depth >= MAX_EXPRESSION_DEPTH {
                continue;
            }
            let node = match (pops, u.int_in_range(0..=3)?) {
                (1, 0) => Node::Not,
                (_, 1) => Node::Or {
                    children: pops as u32,
                },
                (_, 2) => Node::AtLeast {
                    required: u.int_in_range(0..=pops as u32 + 1)?,
                    children: pops as u32,
                },
                _ => Node::And {
                    children: pops as u32,
                },
            };
            depths.truncate(base);
            depths.push(depth);
            nodes.push(node);
        } else {
            nodes.push(leaf(u, pool, kinds)?);
            depths.push(1);
        }
    }
    match depths.len() {
        0 => nodes.push(Node::And { children: 0 }),
        1 => {}
        n => nodes.push(Node::Or { children: n as u32 }),
    }
    Ok(nodes)
}

/// A template's fields grouped by what a leaf can do with them. Built once per template, not
/// per leaf: a rule has up to 2,047 leaves, and under AddressSanitizer the four lists each leaf
/// used to collect cost more than the rest of the target (issue 18's profile of `roundtrip`).
struct FieldPool {
    /// Every field with its type, by index.
    all: Vec<(u16, FieldType)>,
    /// String fields: targets and field operands of the string matchers.
    strings: Vec<u16>,
    /// Fields a comparison applies to.
    numeric: Vec<u16>,
    /// Fields a CIDR match applies to.
    cidr: Vec<u16>,
}

impl FieldPool {
    fn of(template: &Template) -> FieldPool {
        let all: Vec<(u16, FieldType)> = template
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (i as u16, f.kind))
            .collect();
        let pick = |keep: &dyn Fn(FieldType) -> bool| -> Vec<u16> {
            all.iter()
                .filter(|(_, k)| keep(*k))
                .map(|(i, _)| *i)
                .collect()
        };
        FieldPool {
            strings: pick(&|k| k == FieldType::String),
            numeric: pick(&|k| CompareOp::applies_to(k)),
            cidr: pick(&|k| MatchKind::Cidr.applies_to(k)),
            all,
        }
    }
}

/// The match kinds a leaf chooses from, built once per content.
struct KindPool {
    /// Every kind but CIDR, for value lists on a string field.
    on_strings: Vec<MatchKind>,
    /// The kinds a keyword search allows.
    keyword: Vec<MatchKind>,
}

impl KindPool {
    fn new() -> KindPool {
        let of =
            |keep: fn(&MatchKind) -> bool| MatchKind::ALL.iter().copied().filter(keep).collect();
        KindPool {
            on_strings: of(|k| *k != MatchKind::Cidr),
            keyword: of(|k| k.allows_keyword()),
        }
    }
}

/// One leaf over `pool`'s fields. The choices and the bytes they draw are those of the earlier
/// per-leaf version, so committed seeds and findings still decode to the same contents.
fn leaf(u: &mut Unstructured<'_>, pool: &FieldPool, kinds: &KindPool) -> Result<Node<Vec<String>>> {
    let values = |u: &mut Unstructured<'_>| -> Result<Vec<String>> {
        (0..u.int_in_range(1..=MAX_VALUES)?)
            .map(|_| text(u))
            .collect()
    };
    let choice = u.int_in_range(0..=7)?;
    Ok(match choice {
        0 | 1 if !pool.all.is_empty() => {
            let (field, _) = *u.choose(&pool.all)?;
            match u.int_in_range(0..=2)? {
                0 => Node::Any { field },
                1 => Node::Exists { field },
                _ => Node::IsNull { field },
            }
        }
        2 if !pool.numeric.is_empty() => Node::Compare {
            op: *u.choose(CompareOp::ALL)?,
            field: *u.choose(&pool.numeric)?,
            value: u.arbitrary()?,
        },
        3 if !pool.cidr.is_empty() => Node::Match(Match {
            kind: MatchKind::Cidr,
            target: Target::Field(*u.choose(&pool.cidr)?),
            case_sensitive: false,
            all_of: u.arbitrary()?,
            operand: Operand::Values(values(u)?),
        }),
        4 if !pool.strings.is_empty() => {
            let kind = *u.choose(&[
                MatchKind::Equals,
                MatchKind::Contains,
                MatchKind::StartsWith,
                MatchKind::EndsWith,
            ])?;
            Node::Match(Match {
                kind,
                target: Target::Field(*u.choose(&pool.strings)?),
                case_sensitive: u.arbitrary()?,
                all_of: false,
                operand: Operand::Field(*u.choose(&pool.strings)?),
            })
        }
        5 | 6 if !pool.strings.is_empty() => Node::Match(Match {
            kind: *u.choose(&kinds.on_strings)?,
            target: Target::Field(*u.choose(&pool.strings)?),
            case_sensitive: u.arbitrary()?,
            all_of: u.arbitrary()?,
            operand: Operand::Values(values(u)?),
        }),
        _ => Node::Match(Match {
            kind: *u.choose(&kinds.keyword)?,
            target: Target::Keyword,
            case_sensitive: u.arbitrary()?,
            all_of: u.arbitrary()?,
            operand: Operand::Values(values(u)?),
        }),
    })
}
