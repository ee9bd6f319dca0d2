//! The authoring format: rules written by detection engineers in YAML (or JSON), naming fields
//! by name, compiled into canonical binary content through the parser crate's writer, and
//! decompiled back. `format-spec/MANIFEST.md` (section `Authoring source`) describes it.

mod compile;
mod decompile;
pub mod yaml;

pub use compile::{Compiled, HeaderOverrides, Located, compile};

/// Decodes hex digits (whitespace ignored); `None` for anything else or an odd count.
pub fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    compile::hex_decode(text)
}
pub use decompile::decompile;

/// One authoring source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// How to name it in messages (usually its path).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// Makes a source file of bytes read from `name`: sources must be UTF-8 text (E2015).
pub fn read_source(name: &str, bytes: Vec<u8>) -> Result<SourceFile, crate::Diagnostic> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile {
            name: name.to_string(),
            text,
        }),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(crate::Diagnostic::new(
                crate::Code::SourceNotUtf8,
                format!("the source is not UTF-8 text: invalid byte at offset {at}"),
            )
            .at(at, 1)
            .help("save the file as UTF-8"))
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset in `text`. One lookup costs
/// the text's length; for many lookups in one text build a [`LineIndex`] once.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_column(offset)
}

/// Line and column lookups in constant or logarithmic time each, after one pass over the text:
/// reports of many diagnostics (one per value of a long list, say) stay linear in their size.
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts (the first is 0).
    line_starts: Vec<usize>,
    /// Characters before each block of [`LineIndex::BLOCK`] bytes.
    block_chars: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Bytes per block of the character count table.
    const BLOCK: usize = 64;

    /// Indexes `text` in one pass.
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i.saturating_add(1)),
        );
        let mut block_chars = Vec::with_capacity(bytes.len() / Self::BLOCK + 1);
        let mut chars = 0usize;
        for block in bytes.chunks(Self::BLOCK) {
            block_chars.push(chars);
            chars = chars.saturating_add(count_chars(block));
        }
        block_chars.push(chars);
        LineIndex {
            text,
            line_starts,
            block_chars,
        }
    }

    /// Characters that start before byte `offset` (at most the text's length).
    fn chars_before(&self, offset: usize) -> usize {
        let block = offset / Self::BLOCK;
        let start = block.saturating_mul(Self::BLOCK);
        let partial = self
            .text
            .as_bytes()
            .get(start..offset)
            .map_or(0, count_chars);
        self.block_chars
            .get(block)
            .copied()
            .unwrap_or_default()
            .saturating_add(partial)
    }

    /// The 1-based line and column (in characters) of a byte offset; an offset past the end
    /// is the end.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or_default();
        let column = self
            .chars_before(offset)
            .saturating_sub(self.chars_before(start))
            .saturating_add(1);
        (line, column)
    }
}

/// Characters that start in `bytes` (bytes that are not UTF-8 continuation bytes).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index agrees with counting from the start, at every character boundary of texts
    /// with long lines, empty lines, multi-byte characters and block boundaries inside them.
    #[test]
    fn line_index_agrees_with_counting() {
        let mut texts = vec![String::new(), "\n\n".to_string(), "é".repeat(100)];
        let mut long = String::new();
        for i in 0..500 {
            long.push_str(match i % 7 {
                0 => "\n",
                1 => "é",
                2 => "日本",
                3 => "😀",
                _ => "ab",
            });
        }
        texts.push(long);
        for text in &texts {
            let index = LineIndex::new(text);
            for offset in
                (0..=text.len() + 2).filter(|o| text.is_char_boundary((*o).min(text.len())))
            {
                let o = offset.min(text.len());
                let before = &text[..o];
                let line = before.matches('\n').count() + 1;
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before[start..].chars().count() + 1;
                assert_eq!(index.line_column(offset), (line, column), "offset {offset}");
            }
        }
    }
}
