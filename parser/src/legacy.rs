//! The reader as it was before it was written with nom: kept only so that the benchmark can
//! measure both in one run (issue 21). Not part of the API; deleted once the figures are in
//! `BENCHMARKS.md`.
#![allow(missing_docs)]

use core::cmp::Ordering;

use crate::error::{Error, ErrorCode};
use crate::expr::{NodeChecker, PostfixStack, RawNode};
use crate::format::{FORMAT_MINOR, HEADER_LEN, SECTION_HEADER_LEN, record, tag};
use crate::frame::VerifiedFrame;
use crate::limits::{
    MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_RULE, MAX_FIELDS_PER_TEMPLATE, MAX_NODES,
    MAX_NODES_PER_RULE, MAX_RULES, MAX_STRING_LEN, MAX_STRINGS, MAX_TEMPLATES, MAX_TOTAL_FIELDS,
    MAX_VALUES,
};
use crate::reader::{Reader, Table};
use crate::strings::{StringRefs, StringTable};
use crate::types::{Action, FieldType, Severity};
use crate::view::ContentView;

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

/// The previous reader's `parse_body`, for the side-by-side benchmark only.
pub fn parse_body(verified: VerifiedFrame<'_>) -> Result<ContentView<'_>, Error> {
    {
        let frame = verified.0;
        let sections = frame_sections(verified.body(), frame.header.minor)?;
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

        let strings = parse_strings(strings)?;
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

/// Checks the payload of a `STRINGS` section (rules `STR-1` to `STR-7`).
fn parse_strings<'a>(payload: Reader<'a>) -> Result<StringTable<'a>, Error> {
    let mut r = payload;
    let short = ErrorCode::SectionTruncated;
    let count_at = r.offset();
    let count = r.u32(short)?;
    if count > MAX_STRINGS {
        return Err(Error::new(ErrorCode::TooManyStrings, count_at)
            .expected(u64::from(MAX_STRINGS))
            .found(u64::from(count)));
    }
    let ends = r.table(count, record::STRING_INDEX, short)?;
    let sorted = r.table(count, record::STRING_INDEX, short)?;
    let blob_at = r.offset();
    let blob_len = r.remaining();
    let blob = r.bytes(blob_len, short)?;

    let mut previous_end: u32 = 0;
    for mut entry in ends.records() {
        let at = entry.offset();
        let end = entry.u32(short)?;
        let len = match end.checked_sub(previous_end) {
            Some(len) => len,
            None => {
                return Err(Error::new(ErrorCode::StringOffsetsDecrease, at)
                    .expected(u64::from(previous_end))
                    .found(u64::from(end)));
            }
        };
        if len > MAX_STRING_LEN {
            return Err(Error::new(ErrorCode::StringTooLong, at)
                .expected(u64::from(MAX_STRING_LEN))
                .found(u64::from(len)));
        }
        previous_end = end;
    }
    let used = previous_end as usize;
    match used.cmp(&blob.len()) {
        Ordering::Greater => {
            return Err(Error::new(ErrorCode::SectionTruncated, blob_at)
                .expected(u64::from(previous_end))
                .found(blob.len() as u64));
        }
        Ordering::Less => {
            return Err(Error::new(
                ErrorCode::SectionTrailingBytes,
                blob_at.saturating_add(used),
            )
            .found(blob.len().saturating_sub(used) as u64));
        }
        Ordering::Equal => {}
    }

    // One validation pass over the whole blob, then O(1) per entry: each end offset must
    // fall on a char boundary. Any failure takes the per-entry path, which reports exactly
    // the offset the rule prescribes (the first invalid byte of the first invalid entry).
    let text = match core::str::from_utf8(blob) {
        Ok(text)
            if ends.records().all(|mut e| {
                e.u32(short)
                    .is_ok_and(|end| text.is_char_boundary(end as usize))
            }) =>
        {
            text
        }
        _ => return Err(first_utf8_error(ends, blob, blob_at)),
    };
    let table = StringTable {
        ends,
        sorted,
        blob: text,
    };

    let mut previous: Option<&[u8]> = None;
    for mut entry in sorted.records() {
        let at = entry.offset();
        let index = entry.u32(short)?;
        let Some(current) = table.bytes(index) else {
            return Err(Error::new(ErrorCode::SortedIndexOutOfRange, at)
                .expected(u64::from(count))
                .found(u64::from(index)));
        };
        if let Some(previous) = previous {
            match previous.cmp(current) {
                Ordering::Less => {}
                Ordering::Equal => {
                    return Err(Error::new(ErrorCode::DuplicateString, at).found(u64::from(index)));
                }
                Ordering::Greater => {
                    return Err(Error::new(ErrorCode::StringsNotSorted, at).found(u64::from(index)));
                }
            }
        }
        previous = Some(current);
    }
    Ok(table)
}

/// The error of the first entry that is not UTF-8 on its own (slow path, rejections only).
#[cold]
fn first_utf8_error(ends: Table<'_>, blob: &[u8], blob_at: usize) -> Error {
    let mut start = 0usize;
    for mut entry in ends.records() {
        let end = entry.u32(ErrorCode::SectionTruncated).unwrap_or(0) as usize;
        let bytes = blob.get(start..end).unwrap_or_default();
        if let Err(e) = core::str::from_utf8(bytes) {
            return Error::new(
                ErrorCode::InvalidUtf8,
                blob_at
                    .saturating_add(start)
                    .saturating_add(e.valid_up_to()),
            );
        }
        start = end;
    }
    Error::new(ErrorCode::InvalidUtf8, blob_at)
}
