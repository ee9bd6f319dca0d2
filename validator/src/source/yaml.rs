//! A small YAML tree with a byte range on every node, built from `saphyr-parser` events.
//!
//! Building it here (rather than through a DOM or serde) keeps every position, bounds the
//! nesting depth before anything recursive runs, refuses aliases and tags (which rules never
//! need and which open the door to "billion laughs"), and keeps scalars as the text that was
//! written, so that `7.10` stays `7.10` and a sequence number above `i64::MAX` stays exact.

use std::collections::HashSet;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};

use crate::limits::MAX_SOURCE_DEPTH;

/// A byte range of the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// First byte.
    pub start: usize,
    /// One past the last byte (at least `start`).
    pub end: usize,
}

impl Pos {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One node of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Where the node is in the source.
    pub pos: Pos,
    /// What it is.
    pub value: Value,
}

/// The value of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A scalar as written; `quoted` for any style but plain.
    Scalar {
        /// The text after YAML unescaping.
        text: String,
        /// Whether the scalar was quoted or a block scalar (always a string).
        quoted: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are scalars and distinct.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error, or a construct the source format does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
    /// Whether the error is the nesting limit (E2016) rather than syntax (E2001).
    pub too_deep: bool,
}

/// Maps the parser's character positions to byte offsets in constant time per position.
///
/// The parser's markers carry a character index from the start of the stream. ASCII text
/// (nearly every source) maps it to itself; other text keeps the byte offset of every
/// character, one `u32` each (sources are far below 4 GiB: `MAX_SOURCE_SIZE`). Mapping a
/// marker by scanning its line instead cost the line's length per marker: quadratic on a
/// long one-line JSON source.
struct Offsets {
    len: usize,
    /// Byte offset of each character, `None` when the text is ASCII.
    char_starts: Option<Vec<u32>>,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let char_starts = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                .collect()
        });
        Offsets {
            len: text.len(),
            char_starts,
        }
    }

    /// Byte offset of a marker (its character index from the start of the text).
    fn byte(&self, m: &Marker) -> usize {
        let byte = match &self.char_starts {
            None => m.index(),
            Some(starts) => starts
                .get(m.index())
                .map_or(self.len, |&b| usize::try_from(b).unwrap_or(self.len)),
        };
        byte.min(self.len)
    }

    fn pos(&self, span: &Span) -> Pos {
        let start = self.byte(&span.start);
        Pos {
            start,
            end: self.byte(&span.end).max(start),
        }
    }
}

enum Frame {
    Seq(Pos, Vec<Node>),
    /// A mapping being read: its entries, the key waiting for its value, and the keys seen
    /// (so that a duplicate is found in constant time, not by comparing with every key).
    Map(Pos, Vec<(Node, Node)>, Option<Node>, HashSet<String>),
}

fn error(message: impl Into<String>, pos: Pos) -> SyntaxError {
    SyntaxError {
        message: message.into(),
        pos,
        too_deep: false,
    }
}

/// Parses one YAML (or JSON) document. An empty stream yields `None`.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let offsets = Offsets::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = offsets.byte(e.marker());
            let pos = Pos { start: at, end: at };
            // The scanner bounds flow nesting itself; that is the nesting limit too.
            if e.info().contains("recursion limit") {
                SyntaxError {
                    message: format!(
                        "sequences and mappings nest too deeply (sources allow {MAX_SOURCE_DEPTH} levels)"
                    ),
                    pos,
                    too_deep: true,
                }
            } else {
                error(e.info().to_string(), pos)
            }
        })?;
        let pos = offsets.pos(&span);
        let node = match event {
            Event::DocumentStart(_) => {
                documents = documents.saturating_add(1);
                if documents > 1 {
                    return Err(error(
                        "a source file holds one document; split the stream at `---` into files",
                        pos,
                    ));
                }
                continue;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::Alias(_) => {
                return Err(error(
                    "aliases (`*name`) are not supported in sources; write the value out",
                    pos,
                ));
            }
            Event::Scalar(value, style, anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), pos)?;
                Node {
                    pos,
                    value: Value::Scalar {
                        text: value.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                }
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), pos)?;
                check_depth(stack.len(), pos)?;
                stack.push(Frame::Seq(pos, Vec::new()));
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), pos)?;
                check_depth(stack.len(), pos)?;
                stack.push(Frame::Map(pos, Vec::new(), None, HashSet::new()));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(start, items)) => Node {
                    pos: Pos {
                        start: start.start,
                        end: pos.end.max(start.end),
                    },
                    value: Value::Seq(items),
                },
                _ => return Err(error("unbalanced sequence", pos)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(start, entries, None, _)) => Node {
                    pos: Pos {
                        start: start.start,
                        end: pos.end.max(start.end),
                    },
                    value: Value::Map(entries),
                },
                _ => return Err(error("unbalanced mapping", pos)),
            },
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, pending, keys)) => match pending.take() {
                None => {
                    let Value::Scalar { text: key, .. } = &node.value else {
                        return Err(error(
                            "mapping keys must be plain strings, not sequences or mappings",
                            node.pos,
                        ));
                    };
                    if !keys.insert(key.clone()) {
                        return Err(error(format!("duplicate key `{key}`"), node.pos));
                    }
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(root)
}

fn check_depth(depth: usize, pos: Pos) -> Result<(), SyntaxError> {
    if depth >= MAX_SOURCE_DEPTH {
        return Err(SyntaxError {
            message: format!("sequences and mappings nest deeper than {MAX_SOURCE_DEPTH} levels"),
            pos,
            too_deep: true,
        });
    }
    Ok(())
}

fn refuse_anchor_or_tag(anchor: usize, tagged: bool, pos: Pos) -> Result<(), SyntaxError> {
    if anchor != 0 {
        return Err(error(
            "anchors (`&name`) are not supported in sources; write the value out",
            pos,
        ));
    }
    if tagged {
        return Err(error("tags (`!name`) are not supported in sources", pos));
    }
    Ok(())
}

/// The text of a scalar node.
pub fn scalar_text(node: &Node) -> Option<&String> {
    match &node.value {
        Value::Scalar { text, .. } => Some(text),
        _ => None,
    }
}
