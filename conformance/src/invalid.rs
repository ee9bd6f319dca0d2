//! The invalid corpus: at least one file per error code, each with the code and offset it
//! must be rejected with. Offsets come from how each file is built, never from the parser.

use dcf_parser::format::{FLAG_SIGNED, HEADER_LEN, MAGIC, header as hdr, op, record, tag};
use dcf_parser::limits::{
    MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_RULE, MAX_FIELDS_PER_TEMPLATE, MAX_FILE_SIZE, MAX_NODES,
    MAX_RULES, MAX_STRING_LEN, MAX_STRINGS, MAX_TEMPLATES, MAX_TOTAL_FIELDS, MAX_VALUES,
};
use dcf_parser::{CompareOp, Content, ErrorCode, MatchKind, Node, parse};

use crate::forge::rel::{self, rule_field};
use crate::forge::{Forge, ForgedSection, node_record, strings_payload};
use crate::valid::{base, m, sign, single_rule};

/// One invalid corpus file.
pub struct InvalidCase {
    /// File stem, `<CODE>-<what>`.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The code every conforming reader must report first.
    pub code: ErrorCode,
    /// The absolute offset it must report.
    pub offset: usize,
}

struct Cases(Vec<InvalidCase>);

impl Cases {
    fn add(&mut self, code: ErrorCode, what: &str, bytes: Vec<u8>, offset: usize) {
        self.0.push(InvalidCase {
            name: format!("{}-{what}", code.as_str()),
            bytes,
            code,
            offset,
        });
    }
}

fn base_forge() -> Forge {
    Forge::from_content(&base())
}

/// The strings of a valid content's table, in table order, via the parser.
fn strings_of(content: &Content) -> Vec<Vec<u8>> {
    let bytes = content.encode().unwrap_or_else(|e| panic!("{e}"));
    let view = parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    view.strings()
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
}

fn sorted_index(strings: &[Vec<u8>]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..strings.len() as u32).collect();
    idx.sort_by(|a, b| strings[*a as usize].cmp(&strings[*b as usize]));
    idx
}

/// A forge of a one-rule content whose node table is replaced by `nodes` (raw records).
fn raw_nodes(nodes: &[Vec<u8>]) -> Forge {
    let mut f = Forge::from_content(&single_rule(vec![Node::Any { field: 0 }]));
    let mut payload = (nodes.len() as u32).to_le_bytes().to_vec();
    for n in nodes {
        payload.extend_from_slice(n);
    }
    *f.payload(tag::NODES) = payload;
    f.put_u32(
        tag::RULES,
        rel::rule(0) + rule_field::NODE_COUNT,
        nodes.len() as u32,
    );
    f
}

fn any(field: u16) -> Vec<u8> {
    node_record(op::ANY, 0, field, 0, 0)
}

/// Every invalid case.
pub fn cases() -> Vec<InvalidCase> {
    let mut c = Cases(Vec::new());
    let valid = base().encode().unwrap_or_else(|e| panic!("{e}"));
    let len = valid.len();

    // Frame.
    let mut big = MAGIC.to_vec();
    big.resize(MAX_FILE_SIZE + 1, 0);
    c.add(
        ErrorCode::FileTooLarge,
        "file-too-large",
        big,
        MAX_FILE_SIZE,
    );
    let mut b = valid.clone();
    b[3] = b'G';
    c.add(ErrorCode::BadMagic, "bad-magic", b, 3);
    c.add(
        ErrorCode::BadMagic,
        "zip-file",
        b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
        0,
    );
    c.add(
        ErrorCode::BadMagic,
        "crlf-translated",
        [&MAGIC[..4], b"\n", &valid[6..]].concat(),
        4,
    );
    c.add(
        ErrorCode::TruncatedHeader,
        "truncated-header",
        valid[..40].to_vec(),
        40,
    );
    c.add(
        ErrorCode::TruncatedHeader,
        "magic-only",
        MAGIC.to_vec(),
        MAGIC.len(),
    );
    let mut b = valid.clone();
    b[hdr::MAJOR] = 2;
    c.add(ErrorCode::UnsupportedMajor, "major-2", b, hdr::MAJOR);
    let mut b = valid.clone();
    b[hdr::FLAGS] |= 0x02;
    c.add(ErrorCode::ReservedFlags, "reserved-flag", b, hdr::FLAGS);
    c.add(
        ErrorCode::TruncatedTrailer,
        "no-digest",
        valid[..HEADER_LEN + 10].to_vec(),
        HEADER_LEN + 10,
    );
    let mut b = valid[..HEADER_LEN + 40].to_vec();
    b[hdr::FLAGS] |= FLAG_SIGNED as u8;
    c.add(
        ErrorCode::TruncatedTrailer,
        "signed-without-block",
        b,
        HEADER_LEN + 40,
    );

    // Digest and header consistency.
    let mut b = valid.clone();
    b[HEADER_LEN + 20] ^= 0x01;
    c.add(ErrorCode::DigestMismatch, "corrupted-body", b, len - 32);
    let signed = sign(base()).encode().unwrap_or_else(|e| panic!("{e}"));
    let stripped = signed[..signed.len() - 80].to_vec();
    let stripped_len = stripped.len();
    c.add(
        ErrorCode::DigestMismatch,
        "signature-stripped",
        stripped,
        stripped_len - 32 - 80,
    );
    let mut f = base_forge();
    let created = f.header[hdr::CREATED_AT..hdr::CREATED_AT + 8].to_vec();
    f.put_header(hdr::EXPIRES_AT, &created);
    c.add(
        ErrorCode::InvalidTimeRange,
        "expires-at-creation",
        f.build(),
        hdr::EXPIRES_AT,
    );
    let mut f = base_forge();
    f.put_header(hdr::SENSOR_MIN, &[8, 0, 0, 0, 0, 0]);
    c.add(
        ErrorCode::InvalidSensorRange,
        "min-above-max",
        f.build(),
        hdr::SENSOR_MAX,
    );

    // Section framing.
    let mut f = base_forge();
    f.body_tail = vec![6, 0, 0, 0];
    c.add(
        ErrorCode::TruncatedSectionHeader,
        "tail-bytes",
        f.build(),
        f.sections_end(),
    );
    let mut f = base_forge();
    let last = f.sections.len() - 1;
    f.sections[last].len_override = Some(f.sections[last].payload.len() as u32 + 1);
    c.add(
        ErrorCode::SectionOverrun,
        "length-past-body",
        f.build(),
        f.section_offset(tag::NODES) + 4,
    );
    let mut f = base_forge();
    let dup = f.sections[last].clone();
    let at = f.sections_end();
    f.sections.push(dup);
    c.add(ErrorCode::SectionOrder, "repeated-section", f.build(), at);
    let mut f = base_forge();
    f.sections.retain(|s| s.tag != tag::ATTRIBUTES);
    c.add(
        ErrorCode::MissingSection,
        "no-attributes",
        f.build(),
        f.section_offset(tag::VALUES),
    );
    let mut f = base_forge();
    f.sections.truncate(5);
    c.add(
        ErrorCode::MissingSection,
        "no-nodes",
        f.build(),
        f.sections_end(),
    );
    let mut f = base_forge();
    let at = f.sections_end();
    f.sections.push(ForgedSection {
        tag: 7,
        payload: vec![1, 2, 3],
        len_override: None,
    });
    c.add(ErrorCode::UnknownSection, "tag-7-in-minor-0", f.build(), at);
    let mut f = base_forge();
    let values_len = f.payload(tag::VALUES).len();
    let at = f.at(tag::VALUES, values_len);
    f.payload(tag::VALUES).extend_from_slice(&[0, 0, 0, 0]);
    c.add(
        ErrorCode::SectionTrailingBytes,
        "values-trailing",
        f.build(),
        at,
    );
    let mut f = base_forge();
    f.put_u32(tag::STRINGS, 0, 1000);
    c.add(
        ErrorCode::SectionTruncated,
        "string-count-past-payload",
        f.build(),
        f.at(tag::STRINGS, 4),
    );

    // String table.
    let strings = strings_of(&base());
    let n = strings.len();
    let mut f = base_forge();
    f.put_u32(tag::STRINGS, 0, MAX_STRINGS + 1);
    c.add(
        ErrorCode::TooManyStrings,
        "too-many",
        f.build(),
        f.at(tag::STRINGS, 0),
    );
    let mut f = base_forge();
    let end0 = f.get_u32(tag::STRINGS, 4);
    f.put_u32(tag::STRINGS, 8, end0 - 1);
    c.add(
        ErrorCode::StringOffsetsDecrease,
        "end-before-previous",
        f.build(),
        f.at(tag::STRINGS, 8),
    );
    let mut long = strings.clone();
    long[0] = vec![b'p'; MAX_STRING_LEN as usize + 1];
    let refs: Vec<&[u8]> = long.iter().map(Vec::as_slice).collect();
    let mut f = base_forge();
    *f.payload(tag::STRINGS) = strings_payload(&refs, &sorted_index(&strings));
    c.add(
        ErrorCode::StringTooLong,
        "64k-plus-one",
        f.build(),
        f.at(tag::STRINGS, 4),
    );
    let mut f = base_forge();
    let blob = 4 + 8 * n;
    let s1_start = strings[0].len();
    f.put(tag::STRINGS, blob + s1_start + 1, &[0xff]);
    c.add(
        ErrorCode::InvalidUtf8,
        "bad-byte",
        f.build(),
        f.at(tag::STRINGS, blob + s1_start + 1),
    );
    let mut f = base_forge();
    f.put_u32(tag::STRINGS, 4 + 4 * n, n as u32);
    c.add(
        ErrorCode::SortedIndexOutOfRange,
        "index-past-count",
        f.build(),
        f.at(tag::STRINGS, 4 + 4 * n),
    );
    let mut dup = strings.clone();
    dup[1] = dup[0].clone();
    let refs: Vec<&[u8]> = dup.iter().map(Vec::as_slice).collect();
    let order = sorted_index(&dup);
    // The sort is stable, so the copy (index 1) follows the original and is where it fails.
    let second = order.iter().position(|&i| i == 1).unwrap_or(0);
    let mut f = base_forge();
    *f.payload(tag::STRINGS) = strings_payload(&refs, &order);
    c.add(
        ErrorCode::DuplicateString,
        "same-text-twice",
        f.build(),
        f.at(tag::STRINGS, 4 + 4 * n + 4 * second),
    );
    let mut order = sorted_index(&strings);
    order.swap(0, 1);
    let mut f = base_forge();
    let refs: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
    *f.payload(tag::STRINGS) = strings_payload(&refs, &order);
    c.add(
        ErrorCode::StringsNotSorted,
        "index-swapped",
        f.build(),
        f.at(tag::STRINGS, 4 + 4 * n + 4),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(0) + 4, n as u32 + 5);
    c.add(
        ErrorCode::StringIndexOutOfRange,
        "template-name",
        f.build(),
        f.at(tag::INTERFACE, rel::template(0) + 4),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(0) + 4, 1);
    c.add(
        ErrorCode::StringOutOfFirstUseOrder,
        "skips-ahead",
        f.build(),
        f.at(tag::INTERFACE, rel::template(0) + 4),
    );
    let mut extra = strings.clone();
    extra.push(b"~never referenced".to_vec());
    let refs: Vec<&[u8]> = extra.iter().map(Vec::as_slice).collect();
    let mut f = base_forge();
    *f.payload(tag::STRINGS) = strings_payload(&refs, &sorted_index(&extra));
    c.add(
        ErrorCode::UnreferencedString,
        "extra-string",
        f.build(),
        f.sections_end(),
    );

    // Interface.
    let templates_end = rel::template(2);
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, 0, MAX_TEMPLATES + 1);
    c.add(
        ErrorCode::TooManyTemplates,
        "too-many",
        f.build(),
        f.at(tag::INTERFACE, 0),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(1), 1);
    c.add(
        ErrorCode::DuplicateTemplateId,
        "id-1-twice",
        f.build(),
        f.at(tag::INTERFACE, rel::template(1)),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(0), 5);
    c.add(
        ErrorCode::TemplatesNotSorted,
        "descending",
        f.build(),
        f.at(tag::INTERFACE, rel::template(1)),
    );
    let mut f = base_forge();
    f.put_u32(
        tag::INTERFACE,
        rel::template(1) + 12,
        MAX_FIELDS_PER_TEMPLATE + 1,
    );
    c.add(
        ErrorCode::TooManyFields,
        "1025-fields",
        f.build(),
        f.at(tag::INTERFACE, rel::template(1) + 12),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(1) + 8, 4);
    c.add(
        ErrorCode::FieldRangeMismatch,
        "overlapping-fields",
        f.build(),
        f.at(tag::INTERFACE, rel::template(1) + 8),
    );
    let mut f = base_forge();
    f.put(tag::INTERFACE, templates_end + 4 + 4, &[9]);
    c.add(
        ErrorCode::InvalidFieldType,
        "type-9",
        f.build(),
        f.at(tag::INTERFACE, templates_end + 8),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, rel::template(1) + 12, 4);
    c.add(
        ErrorCode::FieldCountMismatch,
        "sum-below-table",
        f.build(),
        f.at(tag::INTERFACE, templates_end),
    );
    let mut f = base_forge();
    f.put_u32(tag::INTERFACE, templates_end, MAX_TOTAL_FIELDS + 1);
    c.add(
        ErrorCode::TooManyTotalFields,
        "65537-fields",
        f.build(),
        f.at(tag::INTERFACE, templates_end),
    );

    // Attributes and values.
    let mut f = base_forge();
    f.put_u32(tag::ATTRIBUTES, 0, MAX_ATTRIBUTES + 1);
    c.add(
        ErrorCode::TooManyAttributes,
        "too-many",
        f.build(),
        f.at(tag::ATTRIBUTES, 0),
    );
    let mut f = base_forge();
    f.put_u32(tag::VALUES, 0, MAX_VALUES + 1);
    c.add(
        ErrorCode::TooManyValues,
        "too-many",
        f.build(),
        f.at(tag::VALUES, 0),
    );

    // Rules. The base has rules 1, 2, 3 (ids ascending); rule 1 has 1 attribute and 3 nodes.
    let r = |i: usize, field: usize| rel::rule(i) + field;
    let mut f = base_forge();
    f.put_u32(tag::RULES, 0, MAX_RULES + 1);
    c.add(
        ErrorCode::TooManyRules,
        "too-many",
        f.build(),
        f.at(tag::RULES, 0),
    );
    let mut f = base_forge();
    let id0 = f.payload(tag::RULES)[r(0, rule_field::ID)..r(0, rule_field::ID) + 16].to_vec();
    f.put(tag::RULES, r(1, rule_field::ID), &id0);
    c.add(
        ErrorCode::DuplicateRuleId,
        "same-id",
        f.build(),
        f.at(tag::RULES, r(1, rule_field::ID)),
    );
    let mut f = base_forge();
    f.put(tag::RULES, r(1, rule_field::ID), &[0; 16]);
    c.add(
        ErrorCode::RulesNotSorted,
        "descending",
        f.build(),
        f.at(tag::RULES, r(1, rule_field::ID)),
    );
    let mut f = base_forge();
    f.put(tag::RULES, r(0, rule_field::TEMPLATE), &2u16.to_le_bytes());
    c.add(
        ErrorCode::TemplateIndexOutOfRange,
        "template-2-of-2",
        f.build(),
        f.at(tag::RULES, r(0, rule_field::TEMPLATE)),
    );
    let mut f = base_forge();
    f.put(tag::RULES, r(0, rule_field::SEVERITY), &[5]);
    c.add(
        ErrorCode::InvalidSeverity,
        "severity-5",
        f.build(),
        f.at(tag::RULES, r(0, rule_field::SEVERITY)),
    );
    let mut f = base_forge();
    f.put(tag::RULES, r(0, rule_field::ACTION), &[3]);
    c.add(
        ErrorCode::InvalidAction,
        "action-3",
        f.build(),
        f.at(tag::RULES, r(0, rule_field::ACTION)),
    );
    let mut f = base_forge();
    f.put_u32(tag::RULES, r(0, rule_field::ATTR_FIRST), 1);
    c.add(
        ErrorCode::AttributeRangeMismatch,
        "gap",
        f.build(),
        f.at(tag::RULES, r(0, rule_field::ATTR_FIRST)),
    );
    let mut f = base_forge();
    f.put_u32(
        tag::RULES,
        r(0, rule_field::ATTR_COUNT),
        MAX_ATTRIBUTES_PER_RULE + 1,
    );
    c.add(
        ErrorCode::TooManyRuleAttributes,
        "257",
        f.build(),
        f.at(tag::RULES, r(0, rule_field::ATTR_COUNT)),
    );
    let mut f = base_forge();
    f.put_u32(tag::RULES, r(1, rule_field::ATTR_COUNT), 0);
    f.put_u32(tag::RULES, r(2, rule_field::ATTR_FIRST), 1);
    let rules_end = rel::rule(3);
    c.add(
        ErrorCode::AttributeCountMismatch,
        "attribute-left-over",
        f.build(),
        f.at(tag::RULES, rules_end),
    );
    let mut f = base_forge();
    f.put_u32(tag::RULES, r(1, rule_field::ATTR_COUNT), 2);
    c.add(
        ErrorCode::AttributeCountMismatch,
        "past-table",
        f.build(),
        f.at(tag::RULES, r(1, rule_field::ATTR_COUNT)),
    );
    let mut f = base_forge();
    f.put_u32(tag::RULES, r(1, rule_field::NODE_FIRST), 4);
    c.add(
        ErrorCode::NodeRangeMismatch,
        "gap",
        f.build(),
        f.at(tag::RULES, r(1, rule_field::NODE_FIRST)),
    );
    let mut f = base_forge();
    f.put_u32(tag::RULES, r(2, rule_field::NODE_COUNT), 0);
    c.add(
        ErrorCode::ExpressionSize,
        "empty-expression",
        f.build(),
        f.at(tag::RULES, r(2, rule_field::NODE_COUNT)),
    );

    // Nodes, on a one-rule content whose node table is replaced.
    let n = |i: usize| move |f: &Forge| f.at(tag::NODES, rel::node(i));
    let f = raw_nodes(&[node_record(0x7f, 0, 0, 0, 0)]);
    c.add(ErrorCode::UnknownOpcode, "0x7f", f.build(), n(0)(&f));
    let f = raw_nodes(&[any(0), any(1), node_record(op::AND, 1, 0, 2, 0)]);
    c.add(
        ErrorCode::InvalidFlags,
        "flag-on-and",
        f.build(),
        n(2)(&f) + 1,
    );
    let f = raw_nodes(&[node_record(op::CIDR, 0x01, 0, 0, 1)]);
    c.add(
        ErrorCode::InvalidFlags,
        "case-sensitive-cidr",
        f.build(),
        n(0)(&f) + 1,
    );
    let f = raw_nodes(&[node_record(op::REGEX, 0x08, 0, 1, 0)]);
    c.add(
        ErrorCode::InvalidFlags,
        "field-ref-regex",
        f.build(),
        n(0)(&f) + 1,
    );
    let f = raw_nodes(&[any(5)]);
    c.add(
        ErrorCode::FieldIndexOutOfRange,
        "field-5-of-5",
        f.build(),
        n(0)(&f) + 2,
    );
    let f = raw_nodes(&[node_record(op::EQUALS, 0x08, 0, 5, 0)]);
    c.add(
        ErrorCode::FieldIndexOutOfRange,
        "field-ref-5-of-5",
        f.build(),
        n(0)(&f) + 4,
    );
    let mut g = Forge::from_content(&single_rule(vec![m(MatchKind::Contains, 0, &["x"])]));
    g.put(tag::NODES, rel::node(0) + 2, &2u16.to_le_bytes());
    c.add(
        ErrorCode::FieldTypeMismatch,
        "contains-on-integer",
        g.build(),
        g.at(tag::NODES, rel::node(0) + 2),
    );
    let mut net = base();
    net.rules.retain(|r| r.template == 2);
    net.rules[0].expression = vec![Node::Compare {
        op: CompareOp::Gt,
        field: 2,
        value: 1024,
    }];
    net.rules[0].attributes.clear();
    let mut g = Forge::from_content(&net);
    g.put(tag::NODES, rel::node(0) + 2, &0u16.to_le_bytes());
    c.add(
        ErrorCode::FieldTypeMismatch,
        "numeric-on-ip",
        g.build(),
        g.at(tag::NODES, rel::node(0) + 2),
    );
    let f = raw_nodes(&[node_record(op::EQUALS, 0x08, 0, 2, 0)]);
    c.add(
        ErrorCode::FieldTypeMismatch,
        "field-ref-to-integer",
        f.build(),
        n(0)(&f) + 4,
    );
    let f = raw_nodes(&[node_record(op::NOT, 0, 0, 0, 0)]);
    c.add(
        ErrorCode::StackUnderflow,
        "not-of-nothing",
        f.build(),
        n(0)(&f),
    );
    let f = raw_nodes(&[any(0), node_record(op::AND, 0, 3, 1, 0)]);
    c.add(
        ErrorCode::NonZeroReserved,
        "and-with-field",
        f.build(),
        n(1)(&f) + 2,
    );
    let f = raw_nodes(&[any(0), node_record(op::NOT, 0, 0, 0, 1)]);
    c.add(
        ErrorCode::NonZeroReserved,
        "not-with-b",
        f.build(),
        n(1)(&f) + 8,
    );
    let mut g = Forge::from_content(&single_rule(vec![m(MatchKind::Contains, 0, &["x"])]));
    g.put_u32(tag::NODES, rel::node(0) + 4, 1);
    c.add(
        ErrorCode::ValueRangeMismatch,
        "starts-at-1",
        g.build(),
        g.at(tag::NODES, rel::node(0) + 4),
    );
    let mut g = Forge::from_content(&single_rule(vec![m(MatchKind::Contains, 0, &["x"])]));
    g.put_u32(tag::NODES, rel::node(0) + 8, 0);
    c.add(
        ErrorCode::ValueCountOutOfRange,
        "no-operands",
        g.build(),
        g.at(tag::NODES, rel::node(0) + 8),
    );
    let f = raw_nodes(&[any(0), node_record(op::OR, 0, 0, 2, 0)]);
    c.add(
        ErrorCode::StackUnderflow,
        "or-of-two-with-one",
        f.build(),
        n(1)(&f),
    );
    let f = raw_nodes(&[any(0), any(1)]);
    c.add(ErrorCode::NotSingleRoot, "two-results", f.build(), n(1)(&f));
    let mut deep = vec![any(0)];
    deep.extend((0..64).map(|_| node_record(op::NOT, 0, 0, 0, 0)));
    let f = raw_nodes(&deep);
    c.add(
        ErrorCode::ExpressionTooDeep,
        "depth-65",
        f.build(),
        n(64)(&f),
    );
    let mut f = base_forge();
    let count = f.get_u32(tag::NODES, 0);
    f.put_u32(tag::NODES, 0, count + 1);
    c.add(
        ErrorCode::NodeCountMismatch,
        "one-extra",
        f.build(),
        f.at(tag::NODES, 0),
    );
    let mut f = base_forge();
    let values = f.get_u32(tag::VALUES, 0);
    f.put_u32(tag::VALUES, 0, values + 1);
    f.payload(tag::VALUES)
        .extend_from_slice(&0u32.to_le_bytes());
    let nodes_len = f.payload(tag::NODES).len();
    c.add(
        ErrorCode::ValueCountMismatch,
        "value-left-over",
        f.build(),
        f.at(tag::NODES, nodes_len),
    );
    let mut g = Forge::from_content(&single_rule(vec![m(MatchKind::Contains, 0, &["x"])]));
    g.put_u32(tag::NODES, rel::node(0) + 8, 2);
    c.add(
        ErrorCode::ValueCountMismatch,
        "past-table",
        g.build(),
        g.at(tag::NODES, rel::node(0) + 8),
    );
    let mut f = base_forge();
    f.put_u32(tag::NODES, 0, MAX_NODES + 1);
    c.add(
        ErrorCode::TooManyNodes,
        "too-many",
        f.build(),
        f.at(tag::NODES, 0),
    );

    debug_assert_eq!(record::NODE, 12);
    c.0
}
