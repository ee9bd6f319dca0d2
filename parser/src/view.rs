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
use crate::reader::{Reader, Table};
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

/// Walks the section frames of a body (rules `SEC-1` to `SEC-5`).
fn frame_sections<'a>(body: &'a [u8], minor: u16) -> Result<Sections<'a>, Error> {
    let mut r = Reader::new(body, HEADER_LEN);
    let mut payloads: [Option<Reader<'a>>; tag::REQUIRED.len()] = Default::default();
    let mut next_required = 0usize;
    let mut previous_tag: Option<u32> = None;
    while !r.is_empty() {
        let at = r.offset();
        if r.remaining() < SECTION_HEADER_LEN {
            return Err(Error::new(ErrorCode::TruncatedSectionHeader, at)
                .expected(SECTION_HEADER_LEN as u64)
                .found(r.remaining() as u64));
        }
        let section_tag = r.u32(ErrorCode::TruncatedSectionHeader)?;
        let len_at = r.offset();
        let len = r.u32(ErrorCode::TruncatedSectionHeader)? as usize;
        if len > r.remaining() {
            return Err(Error::new(ErrorCode::SectionOverrun, len_at)
                .expected(r.remaining() as u64)
                .found(len as u64));
        }
        if previous_tag.is_some_and(|p| section_tag <= p) {
            return Err(Error::new(ErrorCode::SectionOrder, at).found(u64::from(section_tag)));
        }
        previous_tag = Some(section_tag);
        let payload_at = r.offset();
        let payload = r.bytes(len, ErrorCode::SectionOverrun)?;
        if let Some(&expected) = tag::REQUIRED.get(next_required)
            && section_tag > expected
        {
            return Err(Error::new(ErrorCode::MissingSection, at)
                .expected(u64::from(expected))
                .found(u64::from(section_tag)));
        }
        if tag::REQUIRED.get(next_required) == Some(&section_tag) {
            if let Some(slot) = payloads.get_mut(next_required) {
                *slot = Some(Reader::new(payload, payload_at));
            }
            next_required = next_required.saturating_add(1);
        } else if is_known_minor(minor) {
            return Err(Error::new(ErrorCode::UnknownSection, at).found(u64::from(section_tag)));
        }
    }
    if let Some(&expected) = tag::REQUIRED.get(next_required) {
        return Err(Error::new(ErrorCode::MissingSection, r.offset()).expected(u64::from(expected)));
    }
    Ok(Sections {
        payloads,
        end: r.offset(),
    })
}

/// Whether a file of this minor version can hold no section unknown to this reader.
// While FORMAT_MINOR is 0 the comparison looks absurd to clippy; it is the rule for every minor.
#[allow(clippy::absurd_extreme_comparisons)]
fn is_known_minor(minor: u16) -> bool {
    minor <= FORMAT_MINOR
}

/// Fails with E0206 unless the section payload was read to its end.
fn expect_consumed(r: &Reader<'_>) -> Result<(), Error> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::SectionTrailingBytes, r.offset()).found(r.remaining() as u64))
    }
}

/// Reads a table's count and checks it against its limit, then takes the records.
fn counted_table<'a>(
    r: &mut Reader<'a>,
    limit: u32,
    too_many: ErrorCode,
    size: usize,
) -> Result<Table<'a>, Error> {
    let at = r.offset();
    let count = r.u32(ErrorCode::SectionTruncated)?;
    if count > limit {
        return Err(Error::new(too_many, at)
            .expected(u64::from(limit))
            .found(u64::from(count)));
    }
    r.table(count, size, ErrorCode::SectionTruncated)
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
    let mut r = payload;
    let templates = counted_table(
        &mut r,
        MAX_TEMPLATES,
        ErrorCode::TooManyTemplates,
        record::TEMPLATE,
    )?;
    let field_count_at = r.offset();
    let fields = counted_table(
        &mut r,
        MAX_TOTAL_FIELDS,
        ErrorCode::TooManyTotalFields,
        record::FIELD,
    )?;
    expect_consumed(&r)?;

    let short = ErrorCode::SectionTruncated;
    let mut previous_id: Option<u32> = None;
    let mut field_sum: u32 = 0;
    for mut t in templates.records() {
        let id_at = t.offset();
        let id = t.u32(short)?;
        match previous_id.map(|p| p.cmp(&id)) {
            Some(Ordering::Equal) => {
                return Err(Error::new(ErrorCode::DuplicateTemplateId, id_at).found(u64::from(id)));
            }
            Some(Ordering::Greater) => {
                return Err(Error::new(ErrorCode::TemplatesNotSorted, id_at).found(u64::from(id)));
            }
            _ => {}
        }
        previous_id = Some(id);
        let name_at = t.offset();
        refs.visit(t.u32(short)?, name_at)?;
        let first_at = t.offset();
        let first = t.u32(short)?;
        if first != field_sum {
            return Err(Error::new(ErrorCode::FieldRangeMismatch, first_at)
                .expected(u64::from(field_sum))
                .found(u64::from(first)));
        }
        let count_at = t.offset();
        let count = t.u32(short)?;
        if count > MAX_FIELDS_PER_TEMPLATE {
            return Err(Error::new(ErrorCode::TooManyFields, count_at)
                .expected(u64::from(MAX_FIELDS_PER_TEMPLATE))
                .found(u64::from(count)));
        }
        // Both terms are bounded (1024 templates of at most 1024 fields), so this cannot wrap.
        field_sum = field_sum.saturating_add(count);
    }
    if field_sum as usize != fields.len() {
        return Err(Error::new(ErrorCode::FieldCountMismatch, field_count_at)
            .expected(u64::from(field_sum))
            .found(fields.len() as u64));
    }
    for mut f in fields.records() {
        let name_at = f.offset();
        refs.visit(f.u32(short)?, name_at)?;
        let type_at = f.offset();
        let code = f.u8(short)?;
        if FieldType::from_code(code).is_none() {
            return Err(Error::new(ErrorCode::InvalidFieldType, type_at).found(u64::from(code)));
        }
    }
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
    let mut r = payload;
    let table = counted_table(&mut r, limit, too_many, size)?;
    expect_consumed(&r)?;
    // Records are whole u32 string references, so the table is a flat run of them.
    let (refs_in_table, _) = table.bytes.as_chunks::<4>();
    let mut at = table.start;
    for word in refs_in_table {
        refs.visit(u32::from_le_bytes(*word), at)?;
        at = at.saturating_add(4);
    }
    Ok(table)
}

/// `RULES`: rules `RULE-1` to `RULE-11`. Returns the table and the total node count.
fn parse_rules<'a>(
    payload: Reader<'a>,
    template_count: usize,
    attribute_total: usize,
    refs: &mut StringRefs,
) -> Result<(Table<'a>, u64), Error> {
    let mut r = payload;
    let rules = counted_table(&mut r, MAX_RULES, ErrorCode::TooManyRules, record::RULE)?;
    expect_consumed(&r)?;

    let short = ErrorCode::SectionTruncated;
    let mut previous_id: Option<&[u8; 16]> = None;
    let mut attribute_cursor: u64 = 0;
    let mut node_cursor: u64 = 0;
    for mut rule in rules.records() {
        let id_at = rule.offset();
        let id = rule.array::<16>(short)?;
        match previous_id.map(|p| p.cmp(id)) {
            Some(Ordering::Equal) => return Err(Error::new(ErrorCode::DuplicateRuleId, id_at)),
            Some(Ordering::Greater) => return Err(Error::new(ErrorCode::RulesNotSorted, id_at)),
            _ => {}
        }
        previous_id = Some(id);
        let template_at = rule.offset();
        let template = rule.u16(short)?;
        if usize::from(template) >= template_count {
            return Err(Error::new(ErrorCode::TemplateIndexOutOfRange, template_at)
                .expected(template_count as u64)
                .found(u64::from(template)));
        }
        let severity_at = rule.offset();
        let severity = rule.u8(short)?;
        if Severity::from_code(severity).is_none() {
            return Err(
                Error::new(ErrorCode::InvalidSeverity, severity_at).found(u64::from(severity))
            );
        }
        let action_at = rule.offset();
        let action = rule.u8(short)?;
        if Action::from_code(action).is_none() {
            return Err(Error::new(ErrorCode::InvalidAction, action_at).found(u64::from(action)));
        }
        for _ in 0..2 {
            let at = rule.offset();
            refs.visit(rule.u32(short)?, at)?;
        }
        let attr_first_at = rule.offset();
        let attr_first = rule.u32(short)?;
        if u64::from(attr_first) != attribute_cursor {
            return Err(Error::new(ErrorCode::AttributeRangeMismatch, attr_first_at)
                .expected(attribute_cursor)
                .found(u64::from(attr_first)));
        }
        let attr_count_at = rule.offset();
        let attr_count = rule.u32(short)?;
        if attr_count > MAX_ATTRIBUTES_PER_RULE {
            return Err(Error::new(ErrorCode::TooManyRuleAttributes, attr_count_at)
                .expected(u64::from(MAX_ATTRIBUTES_PER_RULE))
                .found(u64::from(attr_count)));
        }
        attribute_cursor = attribute_cursor.saturating_add(u64::from(attr_count));
        if attribute_cursor > attribute_total as u64 {
            return Err(Error::new(ErrorCode::AttributeCountMismatch, attr_count_at)
                .expected(attribute_total as u64)
                .found(attribute_cursor));
        }
        let node_first_at = rule.offset();
        let node_first = rule.u32(short)?;
        if u64::from(node_first) != node_cursor {
            return Err(Error::new(ErrorCode::NodeRangeMismatch, node_first_at)
                .expected(node_cursor)
                .found(u64::from(node_first)));
        }
        let node_count_at = rule.offset();
        let node_count = rule.u32(short)?;
        if node_count == 0 || node_count > MAX_NODES_PER_RULE {
            return Err(Error::new(ErrorCode::ExpressionSize, node_count_at)
                .expected(u64::from(MAX_NODES_PER_RULE))
                .found(u64::from(node_count)));
        }
        node_cursor = node_cursor.saturating_add(u64::from(node_count));
    }
    if attribute_cursor != attribute_total as u64 {
        return Err(Error::new(ErrorCode::AttributeCountMismatch, r.offset())
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
    let mut r = payload;
    let count_at = r.offset();
    let count = r.u32(ErrorCode::SectionTruncated)?;
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
    let nodes = r.table(count, record::NODE, ErrorCode::SectionTruncated)?;
    expect_consumed(&r)?;

    // Rules, templates and fields were checked by the earlier sections: a shape that cannot be
    // read here would be a parser bug, reported as the count mismatch rather than skipped.
    let inconsistent = Error::new(ErrorCode::NodeCountMismatch, count_at);
    let mut stack = PostfixStack::new();
    let mut value_cursor: u32 = 0;
    let value_total = view.values.len() as u32;
    // Whole 12-byte records: one load per field, no per-record reader.
    let (records, _) = nodes.bytes.as_chunks::<{ record::NODE }>();
    let mut next = 0usize;
    for rule in view.rules.records() {
        let (template, node_count) = rule_shape(rule).ok_or(inconsistent)?;
        let (first_field, field_count) = view
            .templates
            .record(template)
            .and_then(template_shape)
            .ok_or(inconsistent)?;
        let fields = view.fields;
        let mut checker = NodeChecker {
            field_type: |i: u16| field_kind(&fields, first_field.checked_add(u32::from(i))?),
            field_count,
            value_cursor,
            value_total,
        };
        let end = next.saturating_add(node_count as usize);
        let range = records.get(next..end).ok_or(inconsistent)?;
        let mut at = nodes
            .start
            .saturating_add(next.saturating_mul(record::NODE));
        let mut last_at = r.offset();
        for rec in range {
            last_at = at;
            let node = RawNode::from_record(rec);
            checker.check(&node, at)?;
            stack.apply(node.pops(), at)?;
            at = at.saturating_add(record::NODE);
        }
        stack.finish(last_at)?;
        value_cursor = checker.value_cursor;
        next = end;
    }
    if next != records.len() {
        return Err(inconsistent);
    }
    if value_cursor != value_total {
        return Err(Error::new(ErrorCode::ValueCountMismatch, r.offset())
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
