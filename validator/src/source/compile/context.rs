//! The compile's state and what every stage uses: reading the YAML tree (kinds, keys,
//! nulls), reporting with a position, and suggesting the name that was meant.

use dcf_parser::SensorVersion;

use super::Located;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::manifest::parse_version;
use crate::source::SourceFile;
use crate::source::yaml::{self, Node as Y, Pos, Value};
use crate::time::parse_rfc3339;

pub(super) struct Compiler<'s> {
    pub(super) sources: &'s [SourceFile],
    /// One line index per source, for messages that name another place by line; built on
    /// first need, since most compiles print no such message.
    pub(super) lines: Vec<std::cell::OnceCell<crate::source::LineIndex<'s>>>,
    pub(super) file: usize,
    pub(super) diagnostics: Vec<Located>,
}

impl<'s> Compiler<'s> {
    pub(super) fn error(&mut self, code: Code, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Located {
            source: Some(self.file),
            diagnostic: Diagnostic::new(code, message).at(pos.start, pos.len()),
        });
    }

    /// Line and column of `offset` in source `file` ((0, 0) for no such source).
    pub(super) fn line_column(&self, file: usize, offset: usize) -> (usize, usize) {
        match (self.lines.get(file), self.sources.get(file)) {
            (Some(cell), Some(source)) => cell
                .get_or_init(|| crate::source::LineIndex::new(&source.text))
                .line_column(offset),
            _ => (0, 0),
        }
    }

    pub(super) fn error_help(
        &mut self,
        code: Code,
        pos: Pos,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics.push(Located {
            source: Some(self.file),
            diagnostic: Diagnostic::new(code, message)
                .at(pos.start, pos.len())
                .help(help),
        });
    }

    pub(super) fn unlocated(
        &mut self,
        code: Code,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics.push(Located {
            source: None,
            diagnostic: Diagnostic::new(code, message).help(help),
        });
    }

    /// The entries of a mapping whose keys are all in `allowed`, reporting the others.
    pub(super) fn keys<'y>(
        &mut self,
        node: &'y Y,
        what: &str,
        allowed: &[&str],
    ) -> Option<Keys<'y>> {
        let Value::Map(map) = &node.value else {
            self.error(
                Code::SourceType,
                node.pos,
                format!("{what} must be a mapping, found {}", kind_of(node)),
            );
            return None;
        };
        for (k, _) in map {
            let Some(key) = yaml::scalar_text(k) else {
                continue;
            };
            if !allowed.contains(&key.as_str()) {
                let hint = match suggest(key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("{what} allows: {}", allowed.join(", ")),
                };
                self.error_help(
                    Code::SourceUnknownKey,
                    k.pos,
                    format!("unknown key `{key}` in {what}"),
                    hint,
                );
            }
        }
        Some(Keys {
            map,
            pos: head(node),
        })
    }

    pub(super) fn required<'y>(&mut self, keys: &Keys<'y>, key: &str, what: &str) -> Option<&'y Y> {
        let found = keys.get(key);
        if found.is_none() {
            self.error(
                Code::SourceMissingKey,
                keys.pos,
                format!("{what} needs the key `{key}`"),
            );
        }
        found
    }

    pub(super) fn string(&mut self, node: &Y, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, quoted } if !is_null(text, *quoted) => Some(text.clone()),
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be a string, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    pub(super) fn strings(&mut self, node: &Y, what: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.string(item, what) {
                        Some(s) => out.push(s),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => self.string(node, what).map(|s| vec![s]),
        }
    }

    pub(super) fn boolean(&mut self, node: &Y, what: &str) -> Option<bool> {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => {
                    self.error(
                        Code::SourceType,
                        node.pos,
                        format!("{what} must be true or false, found `{text}`"),
                    );
                    None
                }
            },
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be true or false, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    /// A plain integer scalar, as written (decimal, optional sign).
    pub(super) fn integer(&mut self, node: &Y, what: &str) -> Option<i128> {
        if let Value::Scalar {
            text,
            quoted: false,
        } = &node.value
        {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return match text.parse::<i128>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        self.error(
                            Code::NumberOutOfRange,
                            node.pos,
                            format!("{what} `{text}` is far too large"),
                        );
                        None
                    }
                };
            }
        }
        let found = match &node.value {
            Value::Scalar { text, .. } => format!("`{text}`"),
            _ => kind_of(node).to_string(),
        };
        self.error(
            Code::SourceType,
            node.pos,
            format!("{what} must be an integer, found {found}"),
        );
        None
    }

    pub(super) fn ranged<T: TryFrom<i128>>(
        &mut self,
        node: &Y,
        what: &str,
        range: &str,
    ) -> Option<T> {
        let n = self.integer(node, what)?;
        match T::try_from(n) {
            Ok(v) => Some(v),
            Err(_) => {
                self.error(
                    Code::NumberOutOfRange,
                    node.pos,
                    format!("{what} {n} is out of range ({range})"),
                );
                None
            }
        }
    }

    pub(super) fn time(&mut self, node: &Y, what: &str) -> Option<u64> {
        match &node.value {
            Value::Scalar {
                text,
                quoted: false,
            } if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() => {
                self.ranged(node, what, "0 to 2^64-1 seconds since the epoch")
            }
            Value::Scalar { text, .. } => match parse_rfc3339(text) {
                Some(t) => Some(t),
                None => {
                    self.error_help(
                        Code::SourceInvalidValue,
                        node.pos,
                        format!("{what} `{text}` is not an RFC 3339 time"),
                        "write e.g. \"2025-07-19T04:09:00Z\", or seconds since the epoch",
                    );
                    None
                }
            },
            _ => {
                self.error(
                    Code::SourceType,
                    node.pos,
                    format!("{what} must be a time, found {}", kind_of(node)),
                );
                None
            }
        }
    }

    pub(super) fn version(&mut self, node: &Y, what: &str) -> Option<SensorVersion> {
        let text = self.string(node, what)?;
        let v = parse_version(&text);
        if v.is_none() {
            self.error_help(
                Code::SourceInvalidValue,
                node.pos,
                format!("{what} `{text}` is not a version major.minor.patch"),
                "write e.g. \"7.11.0\"; each part is at most 65535",
            );
        }
        v
    }
}

pub(super) fn is_null(text: &str, quoted: bool) -> bool {
    !quoted && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

pub(super) fn kind_of(node: &Y) -> &'static str {
    match &node.value {
        Value::Seq(_) => "a sequence",
        Value::Map(_) => "a mapping",
        Value::Scalar { text, quoted } if is_null(text, *quoted) => "null",
        Value::Scalar { .. } => "a scalar",
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous.saturating_add(usize::from(ca != *cb));
            let deletion = row.get(j.saturating_add(1)).copied().unwrap_or(usize::MAX);
            let insertion = row.get(j).copied().unwrap_or(usize::MAX);
            previous = deletion;
            if let Some(cell) = row.get_mut(j.saturating_add(1)) {
                *cell = substitution
                    .min(deletion.saturating_add(1))
                    .min(insertion.saturating_add(1));
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Keys of a mapping, checked against the keys a construct allows.
pub(super) struct Keys<'y> {
    pub(super) map: &'y [(Y, Y)],
    pub(super) pos: Pos,
}

impl<'y> Keys<'y> {
    pub(super) fn get(&self, key: &str) -> Option<&'y Y> {
        self.map
            .iter()
            .find(|(k, _)| yaml::scalar_text(k).is_some_and(|t| t == key))
            .map(|(_, v)| v)
    }

    pub(super) fn key_node(&self, key: &str) -> Option<&'y Y> {
        self.map
            .iter()
            .find(|(k, _)| yaml::scalar_text(k).is_some_and(|t| t == key))
            .map(|(k, _)| k)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// The first line of a node's range: what a label should underline.
pub(super) fn head(node: &Y) -> Pos {
    Pos {
        start: node.pos.start,
        end: node.pos.start.saturating_add(1).max(node.pos.start),
    }
}
