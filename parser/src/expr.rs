//! Expression nodes: the wire record, its checks (rules `NODE-*`, `EXPR-*`) and decoding.
//!
//! Expressions are postfix, so checking one is a single loop with a stack of subtree depths.
//! The stack is a fixed array sized by `MAX_NODES_PER_RULE` (a rule cannot push more nodes than
//! it has), kept on the native stack: no heap, no recursion, time linear in the node count
//! because an operator pops each operand exactly once.

use crate::error::{Error, ErrorCode};
use crate::format::{match_flag, op, record};
use crate::limits::{MAX_EXPRESSION_DEPTH, MAX_NODES_PER_RULE, MAX_VALUES_PER_NODE};
use crate::types::{CompareOp, FieldType, Match, MatchKind, Node, Operand, Target};

/// Byte offsets inside a node record.
const AT_FLAGS: usize = 1;
const AT_FIELD: usize = 2;
const AT_A: usize = 4;
const AT_B: usize = 8;

/// A node record as stored: op u8, flags u8, field u16, a u32, b u32.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawNode {
    pub(crate) op: u8,
    pub(crate) flags: u8,
    pub(crate) field: u16,
    pub(crate) a: u32,
    pub(crate) b: u32,
}

impl RawNode {
    /// The node in a 12-byte record (op u8, flags u8, field u16, a u32, b u32).
    pub(crate) fn from_record(rec: &[u8; record::NODE]) -> RawNode {
        let [op, flags, f0, f1, a0, a1, a2, a3, b0, b1, b2, b3] = *rec;
        RawNode {
            op,
            flags,
            field: u16::from_le_bytes([f0, f1]),
            a: u32::from_le_bytes([a0, a1, a2, a3]),
            b: u32::from_le_bytes([b0, b1, b2, b3]),
        }
    }

    /// How many operands the node pops, as `decode().map_or(0, |n| n.pops())` without decoding.
    pub(crate) fn pops(&self) -> u32 {
        match self.op {
            op::AND | op::OR => self.a,
            op::NOT => 1,
            op::AT_LEAST => self.b,
            _ => 0,
        }
    }

    /// The node with its value list left as the raw range `(first, count)`.
    pub(crate) fn decode(&self) -> Option<Node<(u32, u32)>> {
        let node = match self.op {
            op::AND => Node::And { children: self.a },
            op::OR => Node::Or { children: self.a },
            op::NOT => Node::Not,
            op::AT_LEAST => Node::AtLeast {
                required: self.a,
                children: self.b,
            },
            op::ANY => Node::Any { field: self.field },
            op::EXISTS => Node::Exists { field: self.field },
            op::IS_NULL => Node::IsNull { field: self.field },
            code => {
                if let Some(kind) = MatchKind::from_code(code) {
                    let keyword = self.flags & match_flag::KEYWORD != 0;
                    let field_ref = self.flags & match_flag::FIELD_REF != 0;
                    Node::Match(Match {
                        kind,
                        target: if keyword {
                            Target::Keyword
                        } else {
                            Target::Field(self.field)
                        },
                        case_sensitive: self.flags & match_flag::CASE_SENSITIVE != 0,
                        all_of: self.flags & match_flag::ALL_OF != 0,
                        operand: if field_ref {
                            Operand::Field(u16::try_from(self.a).ok()?)
                        } else {
                            Operand::Values((self.a, self.b))
                        },
                    })
                } else {
                    let op = CompareOp::from_code(code)?;
                    let value = (u64::from(self.b).wrapping_shl(32) | u64::from(self.a)) as i64;
                    Node::Compare {
                        op,
                        field: self.field,
                        value,
                    }
                }
            }
        };
        Some(node)
    }
}

/// What a node check needs to know about its rule and the file.
pub(crate) struct NodeChecker<F> {
    /// Field type of each field of the rule's template, by index.
    pub(crate) field_type: F,
    /// Number of fields of the rule's template.
    pub(crate) field_count: u32,
    /// Next unused value record: value ranges tile the value table in node order.
    pub(crate) value_cursor: u32,
    /// Number of value records in the file.
    pub(crate) value_total: u32,
}

impl<F: Fn(u16) -> Option<FieldType>> NodeChecker<F> {
    fn field(&self, field: u16, at: usize) -> Result<FieldType, Error> {
        if u32::from(field) >= self.field_count {
            return Err(Error::new(ErrorCode::FieldIndexOutOfRange, at)
                .expected(u64::from(self.field_count))
                .found(u64::from(field)));
        }
        (self.field_type)(field).ok_or(Error::new(ErrorCode::FieldIndexOutOfRange, at))
    }

    /// Checks one node record at absolute offset `at` (rules `NODE-1` to `NODE-7`).
    pub(crate) fn check(&mut self, n: &RawNode, at: usize) -> Result<(), Error> {
        let flags_at = at.saturating_add(AT_FLAGS);
        let field_at = at.saturating_add(AT_FIELD);
        let a_at = at.saturating_add(AT_A);
        let b_at = at.saturating_add(AT_B);
        let zero = |value: u32, at: usize| -> Result<(), Error> {
            if value == 0 {
                Ok(())
            } else {
                Err(Error::new(ErrorCode::NonZeroReserved, at).found(u64::from(value)))
            }
        };
        let no_flags = |flags: u8| -> Result<(), Error> {
            if flags == 0 {
                Ok(())
            } else {
                Err(Error::new(ErrorCode::InvalidFlags, flags_at).found(u64::from(flags)))
            }
        };
        match n.op {
            op::AND | op::OR => {
                no_flags(n.flags)?;
                zero(u32::from(n.field), field_at)?;
                zero(n.b, b_at)
            }
            op::NOT => {
                no_flags(n.flags)?;
                zero(u32::from(n.field), field_at)?;
                zero(n.a, a_at)?;
                zero(n.b, b_at)
            }
            op::AT_LEAST => {
                no_flags(n.flags)?;
                zero(u32::from(n.field), field_at)
            }
            op::ANY | op::EXISTS | op::IS_NULL => {
                no_flags(n.flags)?;
                self.field(n.field, field_at)?;
                zero(n.a, a_at)?;
                zero(n.b, b_at)
            }
            code => {
                if let Some(kind) = MatchKind::from_code(code) {
                    self.check_match(kind, n, at)
                } else if CompareOp::from_code(code).is_some() {
                    no_flags(n.flags)?;
                    let ty = self.field(n.field, field_at)?;
                    if CompareOp::applies_to(ty) {
                        Ok(())
                    } else {
                        Err(Error::new(ErrorCode::FieldTypeMismatch, field_at)
                            .found(u64::from(ty.code())))
                    }
                } else {
                    Err(Error::new(ErrorCode::UnknownOpcode, at).found(u64::from(code)))
                }
            }
        }
    }

    fn check_match(&mut self, kind: MatchKind, n: &RawNode, at: usize) -> Result<(), Error> {
        let flags_at = at.saturating_add(AT_FLAGS);
        let field_at = at.saturating_add(AT_FIELD);
        let a_at = at.saturating_add(AT_A);
        let b_at = at.saturating_add(AT_B);
        let keyword = n.flags & match_flag::KEYWORD != 0;
        let field_ref = n.flags & match_flag::FIELD_REF != 0;
        let flags_ok = n.flags & !match_flag::ALL == 0
            && !(keyword && field_ref)
            && (!keyword || kind.allows_keyword())
            && (!field_ref || (kind.allows_field_ref() && n.flags & match_flag::ALL_OF == 0))
            && (n.flags & match_flag::CASE_SENSITIVE == 0 || kind.allows_case_flag());
        if !flags_ok {
            return Err(Error::new(ErrorCode::InvalidFlags, flags_at).found(u64::from(n.flags)));
        }
        if keyword {
            if n.field != 0 {
                return Err(
                    Error::new(ErrorCode::NonZeroReserved, field_at).found(u64::from(n.field))
                );
            }
        } else {
            let ty = self.field(n.field, field_at)?;
            if !kind.applies_to(ty) {
                return Err(
                    Error::new(ErrorCode::FieldTypeMismatch, field_at).found(u64::from(ty.code()))
                );
            }
        }
        if field_ref {
            let Ok(other) = u16::try_from(n.a) else {
                return Err(Error::new(ErrorCode::FieldIndexOutOfRange, a_at)
                    .expected(u64::from(self.field_count))
                    .found(u64::from(n.a)));
            };
            let ty = self.field(other, a_at)?;
            if ty != FieldType::String {
                return Err(
                    Error::new(ErrorCode::FieldTypeMismatch, a_at).found(u64::from(ty.code()))
                );
            }
            if n.b != 0 {
                return Err(Error::new(ErrorCode::NonZeroReserved, b_at).found(u64::from(n.b)));
            }
            return Ok(());
        }
        if n.a != self.value_cursor {
            return Err(Error::new(ErrorCode::ValueRangeMismatch, a_at)
                .expected(u64::from(self.value_cursor))
                .found(u64::from(n.a)));
        }
        if n.b == 0 || n.b > MAX_VALUES_PER_NODE {
            return Err(Error::new(ErrorCode::ValueCountOutOfRange, b_at)
                .expected(u64::from(MAX_VALUES_PER_NODE))
                .found(u64::from(n.b)));
        }
        match self.value_cursor.checked_add(n.b) {
            Some(end) if end <= self.value_total => {
                self.value_cursor = end;
                Ok(())
            }
            _ => Err(Error::new(ErrorCode::ValueCountMismatch, b_at)
                .expected(u64::from(
                    self.value_total.saturating_sub(self.value_cursor),
                ))
                .found(u64::from(n.b))),
        }
    }
}

/// The postfix stack of one rule's expression: the depth of each pending subtree.
pub(crate) struct PostfixStack {
    depths: [u8; MAX_NODES_PER_RULE as usize],
    height: usize,
}

impl PostfixStack {
    pub(crate) fn new() -> Self {
        PostfixStack {
            depths: [0; MAX_NODES_PER_RULE as usize],
            height: 0,
        }
    }

    /// Applies a node that pops `pops` operands and pushes one result (rules `EXPR-1`, `EXPR-3`).
    pub(crate) fn apply(&mut self, pops: u32, at: usize) -> Result<(), Error> {
        if pops == 0 {
            // A leaf: push depth 1 (the general path below computes the same).
            let slot = self
                .depths
                .get_mut(self.height)
                .ok_or(Error::new(ErrorCode::ExpressionSize, at))?;
            *slot = 1;
            self.height = self.height.saturating_add(1);
            return Ok(());
        }
        let pops = pops as usize;
        let Some(base) = self.height.checked_sub(pops) else {
            return Err(Error::new(ErrorCode::StackUnderflow, at)
                .expected(pops as u64)
                .found(self.height as u64));
        };
        let deepest = self
            .depths
            .get(base..self.height)
            .and_then(|d| d.iter().copied().max())
            .unwrap_or(0);
        let depth = deepest.saturating_add(1);
        if depth > MAX_EXPRESSION_DEPTH {
            return Err(Error::new(ErrorCode::ExpressionTooDeep, at)
                .expected(u64::from(MAX_EXPRESSION_DEPTH))
                .found(u64::from(depth)));
        }
        // `base < height <= nodes seen <= MAX_NODES_PER_RULE`, so the slot always exists; a
        // missing slot would mean more pushes than nodes and is reported as the size error.
        let slot = self
            .depths
            .get_mut(base)
            .ok_or(Error::new(ErrorCode::ExpressionSize, at))?;
        *slot = depth;
        self.height = base.saturating_add(1);
        Ok(())
    }

    /// Checks that exactly one result is left (rule `EXPR-2`) and empties the stack.
    pub(crate) fn finish(&mut self, at: usize) -> Result<(), Error> {
        let height = core::mem::take(&mut self.height);
        if height == 1 {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::NotSingleRoot, at)
                .expected(1)
                .found(height as u64))
        }
    }
}
