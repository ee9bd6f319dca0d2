//! The zero-copy view of a validated content, and the body checks that produce it.
//!
//! [`VerifiedFrame::parse_body`] checks the whole body before it returns a [`ContentView`], so
//! every accessor and iterator below works on bytes already proven well-formed: they allocate
//! nothing and cannot fail halfway. Their `Option` returns exist only because the crate is
//! written without panicking paths; on a view they are always `Some`.

use core::cmp::Ordering;

use crate::error::{Error, ErrorCode};
use crate::expr::{NodeChecker, PostfixStack, RawNode};
use crate::format::{FORMAT_MINOR, HEADER_LEN, SECTION_HEADER_LEN, record, tag};
use crate::frame::{Frame, Header, SignatureBlock, VerifiedFrame};
use crate::limits::{
    MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_RULE, MAX_FIELDS_PER_TEMPLATE, MAX_NODES,
    MAX_NODES_PER_RULE, MAX_RULES, MAX_TEMPLATES, MAX_TOTAL_FIELDS, MAX_VALUES,
};
use nom::multi::fold;
use nom::sequence::terminated;
use nom::{Err as NomErr, Parser};

use crate::reader::{
    Fail, PResult, Reader, Table, array, checked, each, end_of_section, fail, le_u8, le_u16,
    le_u32, lift, offset, run, table, take,
};
use crate::strings::{StringRefs, StringTable};
use crate::types::{Action, FieldType, Node, RuleId, Severity};

/// Reads, verifies and checks a whole file: frame, digest, header, body.
///
/// This is the entry point for every reader of the format. Rejections follow the spec's
/// normative order, so every conforming reader reports the same first error.
pub fn parse(bytes: &[u8]) -> Result<ContentView<'_>, Error> {
    Frame::read(bytes)?.verify_digest()?.parse_body()
}

/// The payload readers of the required sections, by position in `tag::REQUIRED`.
struct Sections<'a> {
    payloads: [Option<Reader<'a>>; tag::REQUIRED.len()],
    end: usize,
}

/// What the section framing has seen so far (rules `SEC-3` to `SEC-5`).
struct Framing<'a> {
    payloads: [Option<Reader<'a>>; tag::REQUIRED.len()],
    next_required: usize,
    previous_tag: Option<u32>,
    minor: u16,
}

impl<'a> Framing<'a> {
    /// Checks one section, whose header is at `at`, against those before it.
    fn accept(&mut self, at: usize, section_tag: u32, payload: Reader<'a>) -> Result<(), Error> {
        if self.previous_tag.is_some_and(|p| section_tag <= p) {
            return Err(Error::new(ErrorCode::SectionOrder, at).found(u64::from(section_tag)));
        }
        self.previous_tag = Some(section_tag);
        if let Some(&expected) = tag::REQUIRED.get(self.next_required)
            && section_tag > expected
        {
            return Err(Error::new(ErrorCode::MissingSection, at)
                .expected(u64::from(expected))
                .found(u64::from(section_tag)));
        }
        if tag::REQUIRED.get(self.next_required) == Some(&section_tag) {
            if let Some(slot) = self.payloads.get_mut(self.next_required) {
                *slot = Some(payload);
            }
            self.next_required = self.next_required.saturating_add(1);
        } else if is_known_minor(self.minor) {
            return Err(Error::new(ErrorCode::UnknownSection, at).found(u64::from(section_tag)));
        }
        Ok(())
    }
}

/// One section frame (rules `SEC-1`, `SEC-2`): the offset of its header, its tag and its
/// payload. At the end of the body it fails with a recoverable `nom::Err::Error`, which ends
/// the `fold` over sections; every real rejection is a failure.
fn section_frame(input: Reader<'_>) -> PResult<'_, (usize, u32, Reader<'_>)> {
    if input.is_empty() {
        return Err(NomErr::Error(Fail(Error::new(
            ErrorCode::TruncatedSectionHeader,
            input.offset(),
        ))));
    }
    let (input, (at, [t0, t1, t2, t3, l0, l1, l2, l3])) = (
        offset,
        array::<SECTION_HEADER_LEN>(ErrorCode::TruncatedSectionHeader).map(|h| *h),
    )
        .parse(input)?;
    let section_tag = u32::from_le_bytes([t0, t1, t2, t3]);
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    // The declared length is checked against what remains before anything is taken.
    if len > input.remaining() {
        return fail(
            Error::new(ErrorCode::SectionOverrun, at.saturating_add(4))
                .expected(input.remaining() as u64)
                .found(len as u64),
        );
    }
    let (input, payload) = take(len, ErrorCode::SectionOverrun).parse(input)?;
    Ok((input, (at, section_tag, payload)))
}

/// Walks the section frames of a body (rules `SEC-1` to `SEC-5`).
fn frame_sections<'a>(body: &'a [u8], minor: u16) -> Result<Sections<'a>, Error> {
    let mut framing = Framing {
        payloads: Default::default(),
        next_required: 0,
        previous_tag: None,
        minor,
    };
    let section = |input: Reader<'a>| -> PResult<'a, ()> {
        let (input, (at, section_tag, payload)) = section_frame(input)?;
        lift(framing.accept(at, section_tag, payload))?;
        Ok((input, ()))
    };
    let (rest, ()) = run(
        fold(0.., section, || (), |(), ()| ()),
        Reader::new(body, HEADER_LEN),
    )?;
    if let Some(&expected) = tag::REQUIRED.get(framing.next_required) {
        return Err(
            Error::new(ErrorCode::MissingSection, rest.offset()).expected(u64::from(expected))
        );
    }
    Ok(Sections {
        payloads: framing.payloads,
        end: rest.offset(),
    })
}

/// Whether a file of this minor version can hold no section unknown to this reader.
// While FORMAT_MINOR is 0 the comparison looks absurd to clippy; it is the rule for every minor.
#[allow(clippy::absurd_extreme_comparisons)]
fn is_known_minor(minor: u16) -> bool {
    minor <= FORMAT_MINOR
}

/// A table's `u32` count, checked against its limit, then its records: the count is checked
/// against the bytes that remain before the records are taken (see [`table`]).
fn counted<'a>(
    limit: u32,
    too_many: ErrorCode,
    size: usize,
) -> impl Parser<Reader<'a>, Output = Table<'a>, Error = Fail> {
    checked(
        le_u32(ErrorCode::SectionTruncated),
        move |&count: &u32, at| {
            if count > limit {
                Err(Error::new(too_many, at)
                    .expected(u64::from(limit))
                    .found(u64::from(count)))
            } else {
                Ok(())
            }
        },
    )
    .flat_map(move |count| table(count, size, ErrorCode::SectionTruncated))
}

/// Applies `record` to each `N`-byte record of `table` in order. Each record is parsed by its
/// nom parser on a reader of exactly its own bytes (at its absolute offset), which the
/// optimiser sees has `N` bytes, so the field reads of the record need no bounds checks; the
/// table is walked by [`each`] rather than by a nom `fold`, which costs a parser call with a
/// large result per record.
fn each_record<'a, const N: usize, P>(table: &Table<'a>, mut record: P) -> Result<(), Error>
where
    P: Parser<Reader<'a>, Output = (), Error = Fail>,
{
    let count = u32::try_from(table.len()).unwrap_or(u32::MAX);
    let one = |rec: &'a [u8; N], at: usize| match record.parse_complete(Reader::new(rec, at)) {
        Ok(_) => Ok(()),
        Err(NomErr::Error(Fail(e)) | NomErr::Failure(Fail(e))) => Err(e),
        Err(NomErr::Incomplete(_)) => Err(Error::new(ErrorCode::SectionTruncated, at)),
    };
    run(
        each(count, ErrorCode::SectionTruncated, one),
        table.reader(),
    )
    .map(|_| ())
}

/// A `u32` field with the absolute offset it was read at.
fn located_u32<'a>() -> impl Parser<Reader<'a>, Output = (usize, u32), Error = Fail> {
    (offset, le_u32(ErrorCode::SectionTruncated))
}

impl<'a> VerifiedFrame<'a> {
    /// Checks the body (sections `STRINGS` to `NODES`, in file order) and returns the view.
    pub fn parse_body(self) -> Result<ContentView<'a>, Error> {
        let frame = self.0;
        let sections = frame_sections(self.body(), frame.header.minor)?;
        let [
            Some(strings),
            Some(interface),
            Some(attributes),
            Some(values),
            Some(rules),
            Some(nodes),
        ] = sections.payloads
        else {
            return Err(Error::new(ErrorCode::MissingSection, sections.end));
        };

        let strings = StringTable::parse(strings)?;
        let mut refs = StringRefs::new(strings.len());
        let (templates, fields) = parse_interface(interface, &mut refs)?;
        let attributes = parse_string_table(
            attributes,
            MAX_ATTRIBUTES,
            ErrorCode::TooManyAttributes,
            record::ATTRIBUTE,
            &mut refs,
        )?;
        let values = parse_string_table(
            values,
            MAX_VALUES,
            ErrorCode::TooManyValues,
            record::VALUE,
            &mut refs,
        )?;
        let (rules, node_total) = parse_rules(rules, templates.len(), attributes.len(), &mut refs)?;
        let view = ContentView {
            frame,
            strings,
            templates,
            fields,
            attributes,
            values,
            rules,
            nodes: values,
        };
        let nodes = parse_nodes(nodes, node_total, &view)?;
        refs.finish(sections.end)?;
        Ok(ContentView { nodes, ..view })
    }
}

/// `INTERFACE`: rules `IFC-1` to `IFC-8`.
fn parse_interface<'a>(
    payload: Reader<'a>,
    refs: &mut StringRefs,
) -> Result<(Table<'a>, Table<'a>), Error> {
    let (_, (templates, (field_count_at, fields))) = run(
        terminated(
            (
                counted(MAX_TEMPLATES, ErrorCode::TooManyTemplates, record::TEMPLATE),
                (
                    offset,
                    counted(
                        MAX_TOTAL_FIELDS,
                        ErrorCode::TooManyTotalFields,
                        record::FIELD,
                    ),
                ),
            ),
            end_of_section,
        ),
        payload,
    )?;

    let mut previous_id: Option<u32> = None;
    let mut field_sum: u32 = 0;
    let template = |input: Reader<'a>| -> PResult<'a, ()> {
        let (input, ((id_at, id), (name_at, name), (first_at, first), (count_at, count))) =
            (located_u32(), located_u32(), located_u32(), located_u32()).parse(input)?;
        match previous_id.map(|p| p.cmp(&id)) {
            Some(Ordering::Equal) => {
                return fail(
                    Error::new(ErrorCode::DuplicateTemplateId, id_at).found(u64::from(id)),
                );
            }
            Some(Ordering::Greater) => {
                return fail(Error::new(ErrorCode::TemplatesNotSorted, id_at).found(u64::from(id)));
            }
            _ => {}
        }
        previous_id = Some(id);
        lift(refs.visit(name, name_at))?;
        if first != field_sum {
            return fail(
                Error::new(ErrorCode::FieldRangeMismatch, first_at)
                    .expected(u64::from(field_sum))
                    .found(u64::from(first)),
            );
        }
        if count > MAX_FIELDS_PER_TEMPLATE {
            return fail(
                Error::new(ErrorCode::TooManyFields, count_at)
                    .expected(u64::from(MAX_FIELDS_PER_TEMPLATE))
                    .found(u64::from(count)),
            );
        }
        // Both terms are bounded (1024 templates of at most 1024 fields), so this cannot wrap.
        field_sum = field_sum.saturating_add(count);
        Ok((input, ()))
    };
    each_record::<{ record::TEMPLATE }, _>(&templates, template)?;
    if field_sum as usize != fields.len() {
        return Err(Error::new(ErrorCode::FieldCountMismatch, field_count_at)
            .expected(u64::from(field_sum))
            .found(fields.len() as u64));
    }
    let field = |input: Reader<'a>| -> PResult<'a, ()> {
        let (input, ((name_at, name), (type_at, code))) =
            (located_u32(), (offset, le_u8(ErrorCode::SectionTruncated))).parse(input)?;
        lift(refs.visit(name, name_at))?;
        if FieldType::from_code(code).is_none() {
            return fail(Error::new(ErrorCode::InvalidFieldType, type_at).found(u64::from(code)));
        }
        Ok((input, ()))
    };
    each_record::<{ record::FIELD }, _>(&fields, field)?;
    Ok((templates, fields))
}

/// `ATTRIBUTES` and `VALUES`: tables whose records are only string references.
fn parse_string_table<'a>(
    payload: Reader<'a>,
    limit: u32,
    too_many: ErrorCode,
    size: usize,
    refs: &mut StringRefs,
) -> Result<Table<'a>, Error> {
    let (_, table) = run(
        terminated(counted(limit, too_many, size), end_of_section),
        payload,
    )?;
    // Records are whole u32 string references, so the table is a flat run of them.
    let references = table.bytes.len().checked_div(4).unwrap_or(0) as u32;
    let reference = |word: &[u8; 4], at: usize| refs.visit(u32::from_le_bytes(*word), at);
    run(
        each(references, ErrorCode::SectionTruncated, reference),
        table.reader(),
    )?;
    Ok(table)
}

/// `RULES`: rules `RULE-1` to `RULE-11`. Returns the table and the total node count.
fn parse_rules<'a>(
    payload: Reader<'a>,
    template_count: usize,
    attribute_total: usize,
    refs: &mut StringRefs,
) -> Result<(Table<'a>, u64), Error> {
    let short = ErrorCode::SectionTruncated;
    let (end, rules) = run(
        terminated(
            counted(MAX_RULES, ErrorCode::TooManyRules, record::RULE),
            end_of_section,
        ),
        payload,
    )?;

    let mut previous_id: Option<&[u8; 16]> = None;
    let mut attribute_cursor: u64 = 0;
    let mut node_cursor: u64 = 0;
    let rule = |input: Reader<'a>| -> PResult<'a, ()> {
        let (
            input,
            (
                (id_at, id),
                (template_at, template),
                (severity_at, severity),
                (action_at, action),
                (title_at, title),
                (author_at, author),
                (attr_first_at, attr_first),
                (attr_count_at, attr_count),
                (node_first_at, node_first),
                (node_count_at, node_count),
            ),
        ) = (
            (offset, array::<16>(short)),
            (offset, le_u16(short)),
            (offset, le_u8(short)),
            (offset, le_u8(short)),
            located_u32(),
            located_u32(),
            located_u32(),
            located_u32(),
            located_u32(),
            located_u32(),
        )
            .parse(input)?;
        match previous_id.map(|p| p.cmp(id)) {
            Some(Ordering::Equal) => return fail(Error::new(ErrorCode::DuplicateRuleId, id_at)),
            Some(Ordering::Greater) => return fail(Error::new(ErrorCode::RulesNotSorted, id_at)),
            _ => {}
        }
        previous_id = Some(id);
        if usize::from(template) >= template_count {
            return fail(
                Error::new(ErrorCode::TemplateIndexOutOfRange, template_at)
                    .expected(template_count as u64)
                    .found(u64::from(template)),
            );
        }
        if Severity::from_code(severity).is_none() {
            return fail(
                Error::new(ErrorCode::InvalidSeverity, severity_at).found(u64::from(severity)),
            );
        }
        if Action::from_code(action).is_none() {
            return fail(Error::new(ErrorCode::InvalidAction, action_at).found(u64::from(action)));
        }
        lift(refs.visit(title, title_at))?;
        lift(refs.visit(author, author_at))?;
        if u64::from(attr_first) != attribute_cursor {
            return fail(
                Error::new(ErrorCode::AttributeRangeMismatch, attr_first_at)
                    .expected(attribute_cursor)
                    .found(u64::from(attr_first)),
            );
        }
        if attr_count > MAX_ATTRIBUTES_PER_RULE {
            return fail(
                Error::new(ErrorCode::TooManyRuleAttributes, attr_count_at)
                    .expected(u64::from(MAX_ATTRIBUTES_PER_RULE))
                    .found(u64::from(attr_count)),
            );
        }
        attribute_cursor = attribute_cursor.saturating_add(u64::from(attr_count));
        if attribute_cursor > attribute_total as u64 {
            return fail(
                Error::new(ErrorCode::AttributeCountMismatch, attr_count_at)
                    .expected(attribute_total as u64)
                    .found(attribute_cursor),
            );
        }
        if u64::from(node_first) != node_cursor {
            return fail(
                Error::new(ErrorCode::NodeRangeMismatch, node_first_at)
                    .expected(node_cursor)
                    .found(u64::from(node_first)),
            );
        }
        if node_count == 0 || node_count > MAX_NODES_PER_RULE {
            return fail(
                Error::new(ErrorCode::ExpressionSize, node_count_at)
                    .expected(u64::from(MAX_NODES_PER_RULE))
                    .found(u64::from(node_count)),
            );
        }
        node_cursor = node_cursor.saturating_add(u64::from(node_count));
        Ok((input, ()))
    };
    each_record::<{ record::RULE }, _>(&rules, rule)?;
    if attribute_cursor != attribute_total as u64 {
        return Err(Error::new(ErrorCode::AttributeCountMismatch, end.offset())
            .expected(attribute_total as u64)
            .found(attribute_cursor));
    }
    Ok((rules, node_cursor))
}

/// The template index and node count of a rule record, read without decoding any string, so
/// that checking nodes costs the same whatever the length of titles and names.
fn rule_shape(mut rule: Reader<'_>) -> Option<(usize, u32)> {
    let short = ErrorCode::SectionTruncated;
    rule.bytes(16, short).ok()?;
    let template = rule.u16(short).ok()?;
    rule.bytes(22, short).ok()?;
    let node_count = rule.u32(short).ok()?;
    Some((usize::from(template), node_count))
}

/// The field range of a template record: `(first_field, field_count)`.
fn template_shape(mut template: Reader<'_>) -> Option<(u32, u32)> {
    let short = ErrorCode::SectionTruncated;
    template.bytes(8, short).ok()?;
    Some((template.u32(short).ok()?, template.u32(short).ok()?))
}

/// The type of a field record.
fn field_kind(fields: &Table<'_>, index: u32) -> Option<FieldType> {
    let mut field = fields.record(index as usize)?;
    let short = ErrorCode::SectionTruncated;
    field.u32(short).ok()?;
    FieldType::from_code(field.u8(short).ok()?)
}

/// `NODES`: rules `NODE-*` and `EXPR-*`, walking each rule's node range in rule order.
fn parse_nodes<'a>(
    payload: Reader<'a>,
    node_total: u64,
    view: &ContentView<'a>,
) -> Result<Table<'a>, Error> {
    let short = ErrorCode::SectionTruncated;
    let (r, (count_at, count)) = run(located_u32(), payload)?;
    if count > MAX_NODES {
        return Err(Error::new(ErrorCode::TooManyNodes, count_at)
            .expected(u64::from(MAX_NODES))
            .found(u64::from(count)));
    }
    if u64::from(count) != node_total {
        return Err(Error::new(ErrorCode::NodeCountMismatch, count_at)
            .expected(node_total)
            .found(u64::from(count)));
    }
    let (end, nodes) = run(
        terminated(table(count, record::NODE, short), end_of_section),
        r,
    )?;

    // Rules, templates and fields were checked by the earlier sections: a shape that cannot be
    // read here would be a parser bug, reported as the count mismatch rather than skipped.
    let inconsistent = Error::new(ErrorCode::NodeCountMismatch, count_at);
    let mut stack = PostfixStack::new();
    let mut value_cursor: u32 = 0;
    let value_total = view.values.len() as u32;
    // Each rule's nodes are the next `node_count` records of the table: one `each` per rule over
    // the same reader, each node one 12-byte array read (one load per field, `RawNode`).
    let mut remaining = nodes.reader();
    for rule in view.rules.records() {
        let (template, node_count) = rule_shape(rule).ok_or(inconsistent)?;
        let (first_field, field_count) = view
            .templates
            .record(template)
            .and_then(template_shape)
            .ok_or(inconsistent)?;
        if node_count as usize > remaining.remaining().checked_div(record::NODE).unwrap_or(0) {
            return Err(inconsistent);
        }
        let fields = view.fields;
        let mut checker = NodeChecker {
            field_type: |i: u16| field_kind(&fields, first_field.checked_add(u32::from(i))?),
            field_count,
            value_cursor,
            value_total,
        };
        let mut last_at = end.offset();
        let node = |rec: &'a [u8; record::NODE], at: usize| {
            last_at = at;
            let node = RawNode::from_record(rec);
            checker.check(&node, at)?;
            stack.apply(node.pops(), at)
        };
        let (rest, ()) = run(each(node_count, short, node), remaining)?;
        remaining = rest;
        stack.finish(last_at)?;
        value_cursor = checker.value_cursor;
    }
    if !remaining.is_empty() {
        return Err(inconsistent);
    }
    if value_cursor != value_total {
        return Err(Error::new(ErrorCode::ValueCountMismatch, end.offset())
            .expected(u64::from(value_total))
            .found(u64::from(value_cursor)));
    }
    Ok(nodes)
}

/// A validated content, read in place.
#[derive(Clone, Copy, Debug)]
pub struct ContentView<'a> {
    frame: Frame<'a>,
    strings: StringTable<'a>,
    templates: Table<'a>,
    fields: Table<'a>,
    attributes: Table<'a>,
    values: Table<'a>,
    rules: Table<'a>,
    nodes: Table<'a>,
}

impl<'a> ContentView<'a> {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.frame.header
    }

    /// The frame (digest, signature block, digested bytes).
    pub fn frame(&self) -> &Frame<'a> {
        &self.frame
    }

    /// The signature block, if the file is signed.
    pub fn signature(&self) -> Option<SignatureBlock<'a>> {
        self.frame.signature
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.frame.bytes
    }

    /// The string table.
    pub fn strings(&self) -> &StringTable<'a> {
        &self.strings
    }

    /// Number of template types in the declared interface.
    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// The declared template types, in ascending id order.
    pub fn templates(&self) -> impl Iterator<Item = TemplateView<'a>> + '_ {
        (0..self.templates.len()).filter_map(|i| self.template_at(i))
    }

    /// The template type at position `index` of the interface.
    pub fn template_at(&self, index: usize) -> Option<TemplateView<'a>> {
        let mut rec = self.templates.record(index)?;
        let short = ErrorCode::SectionTruncated;
        let id = rec.u32(short).ok()?;
        let name = self.strings.get(rec.u32(short).ok()?)?;
        let first_field = rec.u32(short).ok()?;
        let field_count = rec.u32(short).ok()?;
        Some(TemplateView {
            id,
            name,
            index,
            first_field,
            field_count,
            fields: self.fields,
            strings: self.strings,
        })
    }

    /// The template type with id `id`, by binary search.
    pub fn template(&self, id: u32) -> Option<TemplateView<'a>> {
        let (mut low, mut high) = (0usize, self.templates.len());
        while low < high {
            let mid = low.saturating_add(high.saturating_sub(low) / 2);
            let t = self.template_at(mid)?;
            match t.id.cmp(&id) {
                Ordering::Less => low = mid.saturating_add(1),
                Ordering::Greater => high = mid,
                Ordering::Equal => return Some(t),
            }
        }
        None
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The rules, in ascending id order.
    pub fn rules(&self) -> impl Iterator<Item = RuleView<'a>> + '_ {
        let view = *self;
        (0..self.rules.len()).filter_map(move |i| view.rule_at(i))
    }

    /// The rule at position `index`.
    pub fn rule_at(&self, index: usize) -> Option<RuleView<'a>> {
        let mut rec = self.rules.record(index)?;
        let short = ErrorCode::SectionTruncated;
        let offset = rec.offset();
        let id = RuleId(*rec.array::<16>(short).ok()?);
        let template = self.template_at(usize::from(rec.u16(short).ok()?))?;
        let severity = Severity::from_code(rec.u8(short).ok()?)?;
        let action = Action::from_code(rec.u8(short).ok()?)?;
        let title = self.strings.get(rec.u32(short).ok()?)?;
        let author = self.strings.get(rec.u32(short).ok()?)?;
        let attr_first = rec.u32(short).ok()?;
        let attr_count = rec.u32(short).ok()?;
        let node_first = rec.u32(short).ok()?;
        let node_count = rec.u32(short).ok()?;
        Some(RuleView {
            content: *self,
            offset,
            id,
            template,
            severity,
            action,
            title,
            author,
            attr_first,
            attr_count,
            node_first,
            node_count,
        })
    }

    /// The rule with id `id`, by binary search.
    pub fn rule(&self, id: &RuleId) -> Option<RuleView<'a>> {
        let (mut low, mut high) = (0usize, self.rules.len());
        while low < high {
            let mid = low.saturating_add(high.saturating_sub(low) / 2);
            let rec = self.rules.record(mid)?;
            let mut r = rec;
            let mid_id = r.array::<16>(ErrorCode::SectionTruncated).ok()?;
            match mid_id.cmp(&id.0) {
                Ordering::Less => low = mid.saturating_add(1),
                Ordering::Greater => high = mid,
                Ordering::Equal => return self.rule_at(mid),
            }
        }
        None
    }

    /// Every section in file order, known or not.
    pub fn sections(&self) -> impl Iterator<Item = Section<'a>> + 'a {
        let body = self
            .frame
            .bytes
            .get(HEADER_LEN..self.frame.digest_offset)
            .unwrap_or_default();
        let mut r = Reader::new(body, HEADER_LEN);
        core::iter::from_fn(move || {
            let offset = r.offset();
            let tag = r.u32(ErrorCode::TruncatedSectionHeader).ok()?;
            let len = r.u32(ErrorCode::TruncatedSectionHeader).ok()? as usize;
            let payload_offset = r.offset();
            let payload = r.bytes(len, ErrorCode::SectionOverrun).ok()?;
            Some(Section {
                tag,
                offset,
                payload_offset,
                payload,
            })
        })
    }

    /// Sections that this reader does not know, in file order. Only files of a later minor
    /// version can have them (rule `SEC-4`).
    pub fn extensions(&self) -> impl Iterator<Item = Section<'a>> + 'a {
        self.sections().filter(|s| !tag::REQUIRED.contains(&s.tag))
    }

    fn attribute(&self, index: u32) -> Option<(&'a str, &'a str)> {
        let mut rec = self.attributes.record(index as usize)?;
        let short = ErrorCode::SectionTruncated;
        let key = self.strings.get(rec.u32(short).ok()?)?;
        let value = self.strings.get(rec.u32(short).ok()?)?;
        Some((key, value))
    }

    fn node(&self, index: u32) -> Option<Node<ValueList<'a>>> {
        let mut rec = self.nodes.record(index as usize)?;
        let raw = RawNode::from_record(
            rec.array::<{ record::NODE }>(ErrorCode::SectionTruncated)
                .ok()?,
        );
        let (values, strings) = (self.values, self.strings);
        Some(raw.decode()?.map_values(|(first, count)| ValueList {
            values,
            strings,
            first,
            count,
        }))
    }
}

/// One section of the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section<'a> {
    /// Section tag.
    pub tag: u32,
    /// Absolute offset of the section header.
    pub offset: usize,
    /// Absolute offset of the payload.
    pub payload_offset: usize,
    /// The payload.
    pub payload: &'a [u8],
}

/// A template type of the declared interface.
#[derive(Clone, Copy, Debug)]
pub struct TemplateView<'a> {
    /// Template type id.
    pub id: u32,
    /// Template type name.
    pub name: &'a str,
    /// Position in the interface.
    pub index: usize,
    first_field: u32,
    field_count: u32,
    fields: Table<'a>,
    strings: StringTable<'a>,
}

/// An input field the content was compiled against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldView<'a> {
    /// Index in the template's field array.
    pub index: u16,
    /// Field name.
    pub name: &'a str,
    /// Field type.
    pub kind: FieldType,
}

impl<'a> TemplateView<'a> {
    /// Number of input fields declared.
    pub fn field_count(&self) -> u32 {
        self.field_count
    }

    /// Field `index`, if declared.
    pub fn field(&self, index: u16) -> Option<FieldView<'a>> {
        if u32::from(index) >= self.field_count {
            return None;
        }
        let mut rec = self
            .fields
            .record(self.first_field.checked_add(u32::from(index))? as usize)?;
        let short = ErrorCode::SectionTruncated;
        let name = self.strings.get(rec.u32(short).ok()?)?;
        let kind = FieldType::from_code(rec.u8(short).ok()?)?;
        Some(FieldView { index, name, kind })
    }

    /// The type of field `index`, if declared (reads no name, for the hot checking loop).
    pub fn field_type(&self, index: u16) -> Option<FieldType> {
        if u32::from(index) >= self.field_count {
            return None;
        }
        let mut rec = self
            .fields
            .record(self.first_field.checked_add(u32::from(index))? as usize)?;
        let short = ErrorCode::SectionTruncated;
        rec.u32(short).ok()?;
        FieldType::from_code(rec.u8(short).ok()?)
    }

    /// The declared fields, in index order.
    pub fn fields(&self) -> impl Iterator<Item = FieldView<'a>> + '_ {
        (0..self.field_count).filter_map(|i| self.field(u16::try_from(i).ok()?))
    }
}

/// A rule (template instance).
#[derive(Clone, Copy, Debug)]
pub struct RuleView<'a> {
    content: ContentView<'a>,
    /// Absolute offset of the rule record.
    pub offset: usize,
    /// Rule id.
    pub id: RuleId,
    /// The rule's template type.
    pub template: TemplateView<'a>,
    /// Severity.
    pub severity: Severity,
    /// Action on match.
    pub action: Action,
    /// Title.
    pub title: &'a str,
    /// Author (kept for attribution; the DRL requires it in every match report).
    pub author: &'a str,
    attr_first: u32,
    attr_count: u32,
    node_first: u32,
    node_count: u32,
}

impl<'a> RuleView<'a> {
    /// The rule's template type.
    pub fn template(&self) -> TemplateView<'a> {
        self.template
    }

    /// Attributes as `(key, value)` pairs, in file order.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let content = self.content;
        let first = self.attr_first;
        (0..self.attr_count).filter_map(move |i| content.attribute(first.checked_add(i)?))
    }

    /// Number of expression nodes.
    pub fn node_count(&self) -> u32 {
        self.node_count
    }

    /// Index of the rule's first node in the node table.
    pub fn first_node(&self) -> u32 {
        self.node_first
    }

    /// The expression, in postfix order.
    pub fn expression(&self) -> impl Iterator<Item = Node<ValueList<'a>>> + 'a {
        let content = self.content;
        let first = self.node_first;
        (0..self.node_count).filter_map(move |i| content.node(first.checked_add(i)?))
    }

    /// Absolute offset of node `i` of this rule.
    pub fn node_offset(&self, i: u32) -> Option<usize> {
        let index = self.node_first.checked_add(i)? as usize;
        self.content
            .nodes
            .start
            .checked_add(index.checked_mul(record::NODE)?)
    }
}

/// The operands of a match node: a range of the value table.
#[derive(Clone, Copy, Debug)]
pub struct ValueList<'a> {
    values: Table<'a>,
    strings: StringTable<'a>,
    first: u32,
    count: u32,
}

impl<'a> ValueList<'a> {
    /// Number of values.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether the list is empty (never, for a validated content).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let list = *self;
        (0..self.count).filter_map(move |i| list.get(i))
    }

    /// Value `i`.
    pub fn get(&self, i: u32) -> Option<&'a str> {
        if i >= self.count {
            return None;
        }
        let mut rec = self.values.record(self.first.checked_add(i)? as usize)?;
        self.strings.get(rec.u32(ErrorCode::SectionTruncated).ok()?)
    }
}

impl PartialEq for ValueList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.iter().eq(other.iter())
    }
}
