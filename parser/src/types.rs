//! Value types shared by the zero-copy view and the owned model.

use core::fmt;

use crate::format::{action, field_type, op, severity};

/// A 128-bit rule id, written as a UUID (`8-4-4-4-12` lowercase hex).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RuleId(pub [u8; 16]);

impl RuleId {
    /// Parses a UUID in `8-4-4-4-12` hex form (either case), or 32 hex digits without dashes.
    pub fn parse(text: &str) -> Option<RuleId> {
        let mut out = [0u8; 16];
        let mut nibbles = text.bytes().filter(|b| *b != b'-').map(hex_value);
        for byte in &mut out {
            let hi = nibbles.next()??;
            let lo = nibbles.next()??;
            *byte = (hi << 4) | lo;
        }
        let dashes = text.bytes().filter(|b| *b == b'-').count();
        let dash_layout_ok = dashes == 0
            || (dashes == 4
                && text.len() == 36
                && [8usize, 13, 18, 23]
                    .iter()
                    .all(|&i| text.as_bytes().get(i) == Some(&b'-')));
        (nibbles.next().is_none() && dash_layout_ok).then_some(RuleId(out))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => b.checked_sub(b'0'),
        b'a'..=b'f' => b.checked_sub(b'a' - 10),
        b'A'..=b'F' => b.checked_sub(b'A' - 10),
        _ => None,
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuleId({self})")
    }
}

/// A sensor version `major.minor.patch`, ordered lexicographically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SensorVersion {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Patch version.
    pub patch: u16,
}

impl fmt::Display for SensorVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $code:expr, $text:literal; )* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
        }

        impl $name {
            /// Every variant, in wire-code order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The variant with this wire code, if it is defined.
            pub const fn from_code(code: u8) -> Option<$name> {
                $( if code == $code { return Some($name::$variant); } )*
                None
            }

            /// The wire code of the variant.
            pub const fn code(self) -> u8 {
                match self { $( $name::$variant => $code, )* }
            }

            /// The lowercase name used in source files and reports.
            pub const fn name(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }

            /// The variant with this lowercase name.
            pub fn from_name(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.name() == name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum! {
    /// The type of an input field that a sensor supplies.
    FieldType {
        /// UTF-8 text.
        String = field_type::STRING, "string";
        /// Signed 64-bit integer.
        Integer = field_type::INTEGER, "integer";
        /// IPv4 or IPv6 address.
        Ip = field_type::IP, "ip";
    }
}

wire_enum! {
    /// How severe a rule's detection is.
    Severity {
        /// Informational.
        Informational = severity::INFORMATIONAL, "informational";
        /// Low.
        Low = severity::LOW, "low";
        /// Medium.
        Medium = severity::MEDIUM, "medium";
        /// High.
        High = severity::HIGH, "high";
        /// Critical.
        Critical = severity::CRITICAL, "critical";
    }
}

wire_enum! {
    /// What a sensor does when a rule matches.
    Action {
        /// Record the match only.
        Log = action::LOG, "log";
        /// Raise a detection.
        Detect = action::DETECT, "detect";
        /// Raise a detection and block the activity.
        Block = action::BLOCK, "block";
    }
}

wire_enum! {
    /// The comparison of a string match node.
    MatchKind {
        /// Whole value equals the operand.
        Equals = op::EQUALS, "equals";
        /// Value contains the operand.
        Contains = op::CONTAINS, "contains";
        /// Value starts with the operand.
        StartsWith = op::STARTS_WITH, "starts_with";
        /// Value ends with the operand.
        EndsWith = op::ENDS_WITH, "ends_with";
        /// Value matches the glob operand (`*`, `?`, `\` escapes).
        Glob = op::GLOB, "glob";
        /// Value matches the regular-expression operand.
        Regex = op::REGEX, "regex";
        /// Value is an IP address within the CIDR operand.
        Cidr = op::CIDR, "cidr";
    }
}

wire_enum! {
    /// The comparison of a numeric node.
    CompareOp {
        /// Equal.
        Eq = op::NUM_EQ, "eq";
        /// Less than.
        Lt = op::NUM_LT, "lt";
        /// Less than or equal.
        Le = op::NUM_LE, "le";
        /// Greater than.
        Gt = op::NUM_GT, "gt";
        /// Greater than or equal.
        Ge = op::NUM_GE, "ge";
    }
}

impl MatchKind {
    /// Whether the operand may be another field of the event (`FIELD_REF`).
    pub const fn allows_field_ref(self) -> bool {
        matches!(
            self,
            MatchKind::Equals | MatchKind::Contains | MatchKind::StartsWith | MatchKind::EndsWith
        )
    }

    /// Whether the node may be a keyword search over every string field (`KEYWORD`).
    pub const fn allows_keyword(self) -> bool {
        !matches!(self, MatchKind::Cidr)
    }

    /// Whether case sensitivity is a choice for this kind (`CASE_SENSITIVE`).
    pub const fn allows_case_flag(self) -> bool {
        !matches!(self, MatchKind::Cidr)
    }

    /// Whether a field of this type can be the subject of this kind of match.
    pub const fn applies_to(self, field: FieldType) -> bool {
        match self {
            MatchKind::Cidr => matches!(field, FieldType::String | FieldType::Ip),
            _ => matches!(field, FieldType::String),
        }
    }
}

impl CompareOp {
    /// Whether a field of this type can be compared numerically.
    pub const fn applies_to(field: FieldType) -> bool {
        matches!(field, FieldType::String | FieldType::Integer)
    }
}

/// What a match node looks at: one field, or every string field (keyword search).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Target {
    /// The field with this index in the rule's template type.
    Field(u16),
    /// Every string field of the event; the node matches if any field does.
    Keyword,
}

/// The operand of a match node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Operand<V> {
    /// A list of one or more literal values.
    Values(V),
    /// Another field of the same event, by index.
    Field(u16),
}

/// A predicate comparing a field (or every string field) with values or another field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Match<V> {
    /// The comparison.
    pub kind: MatchKind,
    /// What is compared.
    pub target: Target,
    /// Exact comparison when true; Unicode simple case folding when false.
    pub case_sensitive: bool,
    /// All values must match when true; any one value suffices when false.
    pub all_of: bool,
    /// What the target is compared with.
    pub operand: Operand<V>,
}

/// One node of a rule's expression, in postfix order: leaves push a result, operators pop
/// their operands and push one result.
///
/// `V` is the representation of a value list: a borrowed view when reading, a vector of
/// strings in the owned model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Node<V> {
    /// True when all `children` operands are true.
    And {
        /// Number of operands popped.
        children: u32,
    },
    /// True when any of `children` operands is true.
    Or {
        /// Number of operands popped.
        children: u32,
    },
    /// Negates one operand.
    Not,
    /// True when at least `required` of `children` operands are true.
    AtLeast {
        /// How many must be true.
        required: u32,
        /// Number of operands popped.
        children: u32,
    },
    /// Wildcard: true for any value of the field, present or not.
    Any {
        /// Field index.
        field: u16,
    },
    /// The field has a value.
    Exists {
        /// Field index.
        field: u16,
    },
    /// The field has no value.
    IsNull {
        /// Field index.
        field: u16,
    },
    /// A string, glob, regex or CIDR predicate.
    Match(Match<V>),
    /// A numeric comparison of the field's value with a constant.
    Compare {
        /// The comparison.
        op: CompareOp,
        /// Field index.
        field: u16,
        /// The constant.
        value: i64,
    },
}

impl<V> Node<V> {
    /// The same node with its value list converted by `f`.
    pub fn map_values<W>(self, f: impl FnOnce(V) -> W) -> Node<W> {
        match self {
            Node::Match(m) => Node::Match(Match {
                kind: m.kind,
                target: m.target,
                case_sensitive: m.case_sensitive,
                all_of: m.all_of,
                operand: match m.operand {
                    Operand::Values(values) => Operand::Values(f(values)),
                    Operand::Field(field) => Operand::Field(field),
                },
            }),
            Node::And { children } => Node::And { children },
            Node::Or { children } => Node::Or { children },
            Node::Not => Node::Not,
            Node::AtLeast { required, children } => Node::AtLeast { required, children },
            Node::Any { field } => Node::Any { field },
            Node::Exists { field } => Node::Exists { field },
            Node::IsNull { field } => Node::IsNull { field },
            Node::Compare { op, field, value } => Node::Compare { op, field, value },
        }
    }

    /// How many operands the node pops from the postfix stack.
    pub fn pops(&self) -> u32 {
        match self {
            Node::And { children } | Node::Or { children } | Node::AtLeast { children, .. } => {
                *children
            }
            Node::Not => 1,
            _ => 0,
        }
    }

    /// The fields the interpreter reads to evaluate this node (`LOADER.md` LOAD-9), the one
    /// definition the loader's binder and the validator share: `exists`, `is_null`, a
    /// comparison and a match on a field read that field; a match whose operand is another
    /// field reads that one too; a keyword match reads no named field; a wildcard (`Any`)
    /// reads nothing, which is why it binds to a field a sensor does not supply; operators read
    /// nothing. At most two fields, subject first.
    pub fn reads(&self) -> impl Iterator<Item = u16> + use<V> {
        let (subject, other) = match self {
            Node::Exists { field } | Node::IsNull { field } | Node::Compare { field, .. } => {
                (Some(*field), None)
            }
            Node::Match(m) => {
                let subject = match m.target {
                    Target::Field(field) => Some(field),
                    Target::Keyword => None,
                };
                let other = match m.operand {
                    Operand::Field(other) => Some(other),
                    Operand::Values(_) => None,
                };
                (subject, other)
            }
            Node::Any { .. }
            | Node::And { .. }
            | Node::Or { .. }
            | Node::Not
            | Node::AtLeast { .. } => (None, None),
        };
        [subject, other].into_iter().flatten()
    }

    /// The field a wildcard names. It reads nothing ([`Node::reads`]).
    pub fn wildcard_field(&self) -> Option<u16> {
        match self {
            Node::Any { field } => Some(*field),
            _ => None,
        }
    }

    /// The field this node is about, if it names exactly one as its subject (a wildcard
    /// included; see [`Node::reads`] for what is read).
    pub fn field(&self) -> Option<u16> {
        match self {
            Node::Any { field } | Node::Exists { field } | Node::IsNull { field } => Some(*field),
            Node::Compare { field, .. } => Some(*field),
            Node::Match(Match {
                target: Target::Field(field),
                ..
            }) => Some(*field),
            _ => None,
        }
    }
}
