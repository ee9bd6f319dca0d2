meta:
  id: dcf
  title: dcf detection content, format version 1
  file-extension: dcf
  license: Apache-2.0 OR MIT
  ks-version: '0.11'
  endian: le
doc: |
  A dcf file carries detection content (rules, the input interface they are compiled against
  and their expressions) for security sensors. It is a fixed 56-byte header, a body of
  sections, the SHA-256 digest of everything before it and, when header flag bit 0 is set, a
  signature block. Integers are little-endian; nothing is padded or aligned.

  This is the declarative description of the layout that `format-spec/SPEC.md` states in
  prose. `conformance/conformance/kaitai/` checks that the parser generated from it and the reference
  reader (crate `dcf-parser`) decode every valid file to the same structure.

  Checked here with `valid:`: the magic, the major version, the reserved flag bits, the time
  and sensor ranges; the section order (strictly ascending tags, the six required sections
  present and consecutive, no unknown section in a file of minor 0); every count against its
  limit and against its section's size; every enumerated code; the string table (end offsets,
  lengths, UTF-8, a sorted index that is strictly ascending, hence a permutation of distinct
  strings); string references in range; ascending template and rule ids; the tiling of field,
  attribute and node ranges; rule template indexes; the node count; each node record's own
  rules (flags, reserved zeros, value counts).

  Not expressible here, so left to the reader (and named in the types below): the digest (no
  hash function in Kaitai Struct) and the signature (Ed25519); references in order of first
  use and every string referenced; the tiling of value ranges across match nodes and their
  total; field indexes and field types of nodes against the rule's template; the postfix
  stack discipline (one root, depth limit). Each of these is a fold over records with state
  (a cursor, a stack, the current rule's template) that the expression language cannot carry
  from one record to the next.

  Several checks compare a record with the one before it (`_parent.<array>[i - 1]`): the
  array is read in order, so the previous element always exists when a record is checked.
doc-ref: format-spec/SPEC.md
seq:
  - id: header
    type: header
    doc: The fixed 56-byte header.
  - id: body
    type: body
    size: '_io.size - 56 - 32 - (header.is_signed ? 80 : 0)'
    valid:
      expr: _root._io.size <= 67108864 and _.sections.size > 0
    doc: |
      The sections: every byte between the header and the digest, that is the file size
      minus the header (56), the digest (32) and, when the SIGNED flag is set, the signature
      block (80). A file is at most 64 MiB.
  - id: digest
    size: 32
    doc: |
      SHA-256 of every byte before it (header and body). Not verified here: Kaitai Struct has
      no hash function.
  - id: signature_block
    type: signature_block
    if: header.is_signed
    doc: Present exactly when header flag bit 0 (SIGNED) is set; it ends the file.
types:
  header:
    doc: The fixed header, 56 bytes.
    seq:
      - id: magic
        contents: [0x89, 0x44, 0x43, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
        doc: |
          `\x89DCF\r\n\x1a\n`. The high first byte catches 7-bit transfers, CR LF and the lone
          LF catch line-ending translation, 0x1a stops `type` on old consoles.
      - id: major
        type: u2
        valid: 1
        doc: Format major version. Only 1 exists; a reader rejects every other value.
      - id: minor
        type: u2
        doc: |
          Format minor version the file was written for (0 for this description). Sections of
          tags this description does not know may appear only in files of a later minor.
      - id: flags
        type: u4
        valid:
          expr: (_ & 0xfffffffe) == 0
        doc: |
          Header flags. Bit 0, SIGNED: a signature block follows the digest. Every other bit is
          reserved and must be zero.
      - id: channel
        type: u4
        doc: Content channel, the stream of updates this content belongs to.
      - id: sequence
        type: u8
        doc: Sequence number; a sensor refuses content whose sequence is not above its current one.
      - id: created_at
        type: u8
        doc: Creation time, seconds since the Unix epoch; the content is not valid before it.
      - id: expires_at
        type: u8
        valid:
          expr: _ > created_at
        doc: |
          Expiry time, seconds since the Unix epoch; the content is not valid from it on. Later
          than created_at.
      - id: sensor_min
        type: sensor_version
        doc: Lowest sensor version the content targets (inclusive).
      - id: sensor_max
        type: sensor_version
        valid:
          expr: |
            _.major > sensor_min.major or (_.major == sensor_min.major and
            (_.minor > sensor_min.minor or (_.minor == sensor_min.minor and
            _.patch >= sensor_min.patch)))
        doc: Highest sensor version the content targets (inclusive); not below sensor_min.
    instances:
      is_signed:
        value: (flags & 1) != 0
        doc: Whether the SIGNED flag is set, that is whether a signature block follows the digest.
  sensor_version:
    doc: A sensor version, ordered by major, then minor, then patch.
    seq:
      - id: major
        type: u2
        doc: Major version.
      - id: minor
        type: u2
        doc: Minor version.
      - id: patch
        type: u2
        doc: Patch version.
  body:
    doc: |
      The sections, back to back up to the digest, in strictly ascending tag order. The six
      required sections (tags 1 to 6) are all present. A file of minor 0 has no other section;
      a file of a later minor may add sections of other tags, which are kept as raw bytes.
      Because the tags ascend and the required ones are consecutive, an added section can only
      come after NODES, or (tag 0) before STRINGS.
    seq:
      - id: sections
        type: section(_index)
        repeat: eos
        doc: Every section, in file order.
    instances:
      first_required:
        value: 'sections[0].tag.to_i == 0 ? 1 : 0'
        doc: Position of STRINGS in `sections` (1 when a tag-0 section precedes it).
      strings:
        value: sections[first_required].payload.as<strings_payload>
        doc: The STRINGS payload.
      interface:
        value: sections[first_required + 1].payload.as<interface_payload>
        doc: The INTERFACE payload.
      attributes:
        value: sections[first_required + 2].payload.as<attributes_payload>
        doc: The ATTRIBUTES payload.
      values:
        value: sections[first_required + 3].payload.as<values_payload>
        doc: The VALUES payload.
      rules:
        value: sections[first_required + 4].payload.as<rules_payload>
        doc: The RULES payload.
      nodes:
        value: sections[first_required + 5].payload.as<nodes_payload>
        doc: The NODES payload.
  section:
    doc: A section, 8 bytes of frame (tag, payload length), then the payload.
    params:
      - id: i
        type: u4
        doc: Position of the section in the body.
    seq:
      - id: tag
        type: u4
        enum: section_tag
        valid:
          expr: |
            (_.to_i == 0 and i == 0) or
            (_.to_i == 1 and (i == 0 or (i == 1 and _parent.sections[0].tag.to_i == 0))) or
            (_.to_i >= 2 and _.to_i <= 6 and i > 0 and _parent.sections[i - 1].tag.to_i == _.to_i - 1) or
            (_.to_i > 6 and i > 0 and _parent.sections[i - 1].tag.to_i >= 6 and
              _parent.sections[i - 1].tag.to_i < _.to_i)
        doc: |
          Section tag. STRINGS is the first section (or the second, after a tag-0 section);
          each of INTERFACE to NODES follows the one of the tag before it; any other tag
          follows a section of a lower tag, NODES or later. Tags unknown here are allowed only in
          files of minor above 0 (checked on the payload).
      - id: len
        type: u4
        doc: Payload length in bytes; the payload must fit in what is left of the body.
      - id: payload
        size: len
        doc: The payload, decoded by tag; the payload of an unknown tag is raw bytes.
        type:
          switch-on: tag
          cases:
            section_tag::strings: strings_payload
            section_tag::interface: interface_payload
            section_tag::attributes: attributes_payload
            section_tag::values: values_payload
            section_tag::rules: rules_payload
            section_tag::nodes: nodes_payload
        valid:
          expr: |
            (_root.header.minor > 0 or (tag.to_i >= 1 and tag.to_i <= 6)) and
            (not _io.eof or tag.to_i >= 6)
    instances:
      is_known:
        value: tag.to_i >= 1 and tag.to_i <= 6
        doc: Whether the tag is one of the six sections of minor 0.
  strings_payload:
    doc: |
      The interned string table: the end offset of every string in the blob, the sorted
      index, then the blob. Strings are in order of their first reference in the file
      (INTERFACE, ATTRIBUTES, VALUES, then RULES, record by record) and each is referenced at
      least once; that order is not checked here.
    seq:
      - id: count
        type: u4
        valid:
          expr: _ <= 1048576 and 4 + 8 * _ <= _io.size
        doc: Number of strings, at most 2^20.
      - id: ends
        type: string_end(_index)
        repeat: expr
        repeat-expr: count
        doc: |
          End offset of each string in the blob. String i is `blob[ends[i - 1] .. ends[i]]`,
          string 0 starting at 0.
      - id: sorted
        type: sorted_entry(_index)
        repeat: expr
        repeat-expr: count
        doc: |
          The string indexes in ascending byte order of the strings. Strictly ascending, so the
          strings are distinct and the index is a permutation of 0 .. count.
      - id: blob
        size-eos: true
        valid:
          expr: '_.length == (count == 0 ? 0 : ends.last.value)'
        doc: The bytes of every string, back to back, exactly up to the last end offset.
    instances:
      blob_offset:
        value: 4 + 8 * count
        doc: Offset of the blob in the payload.
      entries:
        type: string_entry(_index)
        repeat: expr
        repeat-expr: count
        doc: Every string of the table, in table order.
  string_end:
    doc: An end offset of the string table.
    params:
      - id: i
        type: u4
        doc: Index of the string.
    seq:
      - id: value
        type: u4
        valid:
          expr: |
            _ >= (i == 0 ? 0 : _parent.ends[i - 1].value) and
            _ - (i == 0 ? 0 : _parent.ends[i - 1].value) <= 65536
        doc: |
          Offset just past string i in the blob: not below the previous end offset, and at
          most 65536 bytes (the longest string) past it.
  sorted_entry:
    doc: An entry of the sorted index.
    params:
      - id: i
        type: u4
        doc: Position in the sorted index.
    seq:
      - id: value
        type: u4
        valid:
          expr: |
            _ < _parent.count and
            (i == 0 or _parent.entries[_parent.sorted[i - 1].value].raw < _parent.entries[_].raw)
        doc: |
          Index of the i-th string in ascending byte order; its string is strictly greater
          than the previous entry's.
  string_entry:
    doc: One string of the table. It owns no bytes; it is a window on the blob.
    params:
      - id: i
        type: u4
        doc: Index of the string in the table.
    instances:
      start:
        value: 'i == 0 ? 0 : _parent.ends[i - 1].value'
        doc: Offset of the string's first byte in the blob.
      end:
        value: _parent.ends[i].value
        doc: Offset just past the string's last byte in the blob.
      raw:
        io: _parent._io
        pos: _parent.blob_offset + start
        size: end - start
        doc: The bytes of the string.
      text:
        value: raw.to_s('UTF-8')
        doc: The string, which must be valid UTF-8.
  interface_payload:
    doc: |
      The declared interface: every template type the rules are compiled against, then the
      input fields of all of them, template after template.
    seq:
      - id: template_count
        type: u4
        valid:
          max: 1024
        doc: Number of template types, at most 1024.
      - id: templates
        type: template(_index)
        repeat: expr
        repeat-expr: template_count
        doc: The template types, in strictly ascending id order.
      - id: field_count
        type: u4
        valid:
          expr: |
            _ <= 65536 and
            _ == (template_count == 0 ? 0 : templates.last.first_field + templates.last.field_count) and
            _io.size == 8 + 16 * template_count + 5 * _
        doc: |
          Number of fields, at most 65536: the sum of the templates' field counts, and exactly
          what is left of the payload.
      - id: fields
        type: field
        repeat: expr
        repeat-expr: field_count
        doc: The fields of every template, template by template, each in index order.
    instances:
      body:
        value: _parent._parent
        doc: The body this section belongs to.
  template:
    doc: A template type record, 16 bytes.
    params:
      - id: i
        type: u4
        doc: Position of the record in the template table.
    seq:
      - id: id
        type: u4
        valid:
          expr: i == 0 or _ > _parent.templates[i - 1].id
        doc: Template type id, above the previous record's.
      - id: name
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Name (index into the string table).
      - id: first_field
        type: u4
        valid:
          expr: '_ == (i == 0 ? 0 : _parent.templates[i - 1].first_field + _parent.templates[i - 1].field_count)'
        doc: Position of the template's first field in `fields`; the ranges tile the field table in order.
      - id: field_count
        type: u4
        valid:
          max: 1024
        doc: Number of fields of this template, at most 1024.
  field:
    doc: An input field record, 5 bytes.
    seq:
      - id: name
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Field name (index into the string table).
      - id: type
        type: u1
        enum: field_type
        valid:
          in-enum: true
        doc: The field's type.
  attributes_payload:
    doc: Rule attributes, key/value string pairs. Each rule owns a range, in rule order.
    seq:
      - id: count
        type: u4
        valid:
          expr: _ <= 4194304 and _io.size == 4 + 8 * _
        doc: Number of attribute records, at most 2^22; exactly what the payload holds.
      - id: attributes
        type: attribute
        repeat: expr
        repeat-expr: count
        doc: The attribute records.
    instances:
      body:
        value: _parent._parent
        doc: The body this section belongs to.
  attribute:
    doc: An attribute record, 8 bytes.
    seq:
      - id: key
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Key (index into the string table).
      - id: value
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Value (index into the string table).
  values_payload:
    doc: |
      The operands of match nodes, as string references. Each match node with a value list
      owns a range, in node order (not checked here: the cursor runs across records).
    seq:
      - id: count
        type: u4
        valid:
          expr: _ <= 4194304 and _io.size == 4 + 4 * _
        doc: Number of value records, at most 2^22; exactly what the payload holds.
      - id: values
        type: u4
        repeat: expr
        repeat-expr: count
        valid:
          expr: _ < _parent._parent.strings.count
        doc: Each value, as an index into the string table.
  rules_payload:
    doc: The rules, in strictly ascending id order.
    seq:
      - id: count
        type: u4
        valid:
          expr: |
            _ <= 1048576 and _io.size == 4 + 44 * _ and
            (_ > 0 or _parent._parent.attributes.count == 0)
        doc: |
          Number of rules, at most 2^20; exactly what the payload holds. With no rule there is
          no attribute either.
      - id: rules
        type: rule(_index)
        repeat: expr
        repeat-expr: count
        doc: The rule records.
    instances:
      body:
        value: _parent._parent
        doc: The body this section belongs to.
  rule:
    doc: A rule record, 44 bytes.
    params:
      - id: i
        type: u4
        doc: Position of the record in the rule table.
    seq:
      - id: id
        size: 16
        valid:
          expr: i == 0 or _parent.rules[i - 1].id < _
        doc: |
          Rule id, 128 bits (a UUID, bytes in the order of its text form); above the previous
          record's, compared as byte strings.
      - id: template
        type: u2
        valid:
          expr: _ < _parent.body.interface.template_count
        doc: Position (not id) of the rule's template type in the interface's template table.
      - id: severity
        type: u1
        enum: severity
        valid:
          in-enum: true
        doc: Severity of the rule's detection.
      - id: action
        type: u1
        enum: action
        valid:
          in-enum: true
        doc: What a sensor does when the rule matches.
      - id: title
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Title (index into the string table).
      - id: author
        type: u4
        valid:
          expr: _ < _parent.body.strings.count
        doc: Author (index into the string table).
      - id: attr_first
        type: u4
        valid:
          expr: '_ == (i == 0 ? 0 : _parent.rules[i - 1].attr_first + _parent.rules[i - 1].attr_count)'
        doc: Position of the rule's first attribute record; the ranges tile the attribute table in rule order.
      - id: attr_count
        type: u4
        valid:
          expr: |
            _ <= 256 and (i + 1 < _parent.count or
            attr_first + _ == _parent.body.attributes.count)
        doc: Number of attributes of the rule, at most 256. The last rule's range ends the attribute table.
      - id: node_first
        type: u4
        valid:
          expr: '_ == (i == 0 ? 0 : _parent.rules[i - 1].node_first + _parent.rules[i - 1].node_count)'
        doc: Position of the rule's first expression node; the ranges tile the node table in rule order.
      - id: node_count
        type: u4
        valid:
          min: 1
          max: 2048
        doc: |
          Number of expression nodes of the rule, 1 to 2048. The nodes form one postfix
          expression: each operator pops its operands, leaves push one result, one result is
          left at the end, and the tree is at most 64 deep (not checked here).
  nodes_payload:
    doc: The expression nodes of every rule, rule after rule, each expression in postfix order.
    seq:
      - id: count
        type: u4
        valid:
          expr: |
            _ <= 16777216 and _io.size == 4 + 12 * _ and
            _ == (_parent._parent.rules.count == 0 ? 0 :
              _parent._parent.rules.rules.last.node_first + _parent._parent.rules.rules.last.node_count)
        doc: Number of nodes, at most 2^24; the sum of the rules' node counts and exactly what the payload holds.
      - id: nodes
        type: node
        size: 12
        repeat: expr
        repeat-expr: count
        doc: The node records.
  node:
    doc: |
      An expression node record, 12 bytes. Operators (AND, OR, NOT, AT_LEAST) pop operands
      and push one result; every other node is a leaf and pushes one. Not checked here: that
      `field` (and `a` with FIELD_REF) name a field of the rule's template of a type the
      opcode applies to, and that value ranges tile the value table in node order.
    seq:
      - id: op
        type: u1
        enum: opcode
        valid:
          in-enum: true
        doc: The opcode.
      - id: flags
        type: u1
        valid:
          expr: |
            is_match ? ((_ & 0xf0) == 0 and (_ & 0x0c) != 0x0c
              and ((_ & 0x04) == 0 or op != opcode::cidr)
              and ((_ & 0x08) == 0 or (op.to_i <= 0x23 and (_ & 0x02) == 0))
              and ((_ & 0x01) == 0 or op != opcode::cidr))
            : _ == 0
        doc: |
          Match flags, for match opcodes only (zero for every other opcode): bit 0
          CASE_SENSITIVE, bit 1 ALL_OF, bit 2 KEYWORD, bit 3 FIELD_REF, other bits zero.
          KEYWORD and FIELD_REF exclude each other; FIELD_REF goes only with equals, contains,
          starts_with and ends_with, and not with ALL_OF; cidr takes neither KEYWORD nor
          CASE_SENSITIVE.
      - id: field
        type: u2
        valid:
          expr: |
            (op == opcode::op_and or op == opcode::op_or or op == opcode::op_not
            or op == opcode::at_least or (is_match and is_keyword)) ? _ == 0 : true
        doc: |
          Index of the field in the rule's template, for leaves, comparisons and matches that
          are not keyword searches; zero otherwise.
      - id: a
        type: u4
        valid:
          expr: |
            (op == opcode::op_not or op == opcode::any or op == opcode::exists
            or op == opcode::is_null) ? _ == 0 :
            ((is_match and is_field_ref) ? _ <= 65535 : true)
        doc: |
          AND, OR: number of operands. AT_LEAST: how many operands must be true. Match with
          FIELD_REF: index of the other field. Other match: position of the first value
          record. Numeric comparison: low 32 bits of the constant. Zero otherwise.
      - id: b
        type: u4
        valid:
          expr: |
            (op == opcode::op_and or op == opcode::op_or or op == opcode::op_not or op == opcode::any
            or op == opcode::exists or op == opcode::is_null or (is_match and is_field_ref)) ? _ == 0 :
            (is_match ? (_ >= 1 and _ <= 65536) : true)
        doc: |
          AT_LEAST: number of operands. Match with a value list: number of values, 1 to 65536.
          Numeric comparison: high 32 bits of the constant. Zero otherwise.
    instances:
      is_match:
        value: op.to_i >= 0x20 and op.to_i <= 0x26
        doc: Whether the node is a string, glob, regex or CIDR match.
      is_compare:
        value: op.to_i >= 0x30 and op.to_i <= 0x34
        doc: Whether the node is a numeric comparison.
      is_case_sensitive:
        value: (flags & 0x01) != 0
        doc: CASE_SENSITIVE, compare bytes exactly; otherwise under Unicode simple case folding.
      is_all_of:
        value: (flags & 0x02) != 0
        doc: ALL_OF, every operand must match; otherwise any one suffices.
      is_keyword:
        value: (flags & 0x04) != 0
        doc: KEYWORD, the predicate is tried on every string field of the event.
      is_field_ref:
        value: (flags & 0x08) != 0
        doc: FIELD_REF, the operand is another field of the event (`a`), not a value list.
      compare_value:
        pos: 4
        type: s8
        if: is_compare
        doc: The constant of a numeric comparison, a signed 64-bit integer over `a` (low half) and `b` (high half).
  signature_block:
    doc: The signature block, 80 bytes.
    seq:
      - id: key_id
        size: 16
        doc: Id of the signing key, the first 16 bytes of SHA-256("dcf key id v1\0" ‖ Ed25519 public key).
      - id: signature
        size: 64
        doc: Ed25519 signature of "dcf content signature v1\0" ‖ digest. Not verified here.
enums:
  section_tag:
    1:
      id: strings
      doc: The interned string table.
    2:
      id: interface
      doc: The declared interface, template types and their input fields.
    3:
      id: attributes
      doc: Rule attributes (key/value string pairs).
    4:
      id: values
      doc: Value lists of match nodes.
    5:
      id: rules
      doc: Rule records.
    6:
      id: nodes
      doc: Expression nodes of all rules, in postfix order.
  field_type:
    1:
      id: string
      doc: UTF-8 text.
    2:
      id: integer
      doc: Signed 64-bit integer.
    3:
      id: ip
      doc: IPv4 or IPv6 address.
  severity:
    0:
      id: informational
      doc: Informational.
    1:
      id: low
      doc: Low.
    2:
      id: medium
      doc: Medium.
    3:
      id: high
      doc: High.
    4:
      id: critical
      doc: Critical.
  action:
    0:
      id: log
      doc: Record the match in telemetry only.
    1:
      id: detect
      doc: Raise a detection.
    2:
      id: block
      doc: Raise a detection and block the activity.
  opcode:
    # and, or and not are keywords in several target languages, hence the op_ prefix.
    0x01:
      id: op_and
      doc: Pops `a` operands; true when all are (true when `a` is 0).
    0x02:
      id: op_or
      doc: Pops `a` operands; true when any is (false when `a` is 0).
    0x03:
      id: op_not
      doc: Pops one operand and negates it.
    0x04:
      id: at_least
      doc: Pops `b` operands; true when at least `a` of them are.
    0x10:
      id: any
      doc: Wildcard, any value of `field`, present or not.
    0x11:
      id: exists
      doc: '`field` has a value.'
    0x12:
      id: is_null
      doc: '`field` has no value (absent or null).'
    0x20:
      id: equals
      doc: The value equals an operand.
    0x21:
      id: contains
      doc: The value contains an operand.
    0x22:
      id: starts_with
      doc: The value starts with an operand.
    0x23:
      id: ends_with
      doc: The value ends with an operand.
    0x24:
      id: glob
      doc: The value matches a glob operand (`*`, `?`, `\` escapes).
    0x25:
      id: regex
      doc: The value matches a regular-expression operand.
    0x26:
      id: cidr
      doc: The value is an IP address inside a CIDR operand.
    0x30:
      id: num_eq
      doc: The value, as an integer, equals the constant.
    0x31:
      id: num_lt
      doc: The value, as an integer, is less than the constant.
    0x32:
      id: num_le
      doc: The value, as an integer, is at most the constant.
    0x33:
      id: num_gt
      doc: The value, as an integer, is greater than the constant.
    0x34:
      id: num_ge
      doc: The value, as an integer, is at least the constant.
