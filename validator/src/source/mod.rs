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

/// The 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        .saturating_add(1);
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let column = before
        .get(line_start..)
        .map_or(0, |s| s.chars().count())
        .saturating_add(1);
    (line, column)
}
