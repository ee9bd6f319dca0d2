//! Sigma values and the value-transforming modifiers: wildcards and escapes, `windash`,
//! `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`, `utf16`, and the wildcards that
//! `contains`, `startswith` and `endswith` add. Transformations run at compile time and expand
//! into exact value lists, so the sensor only ever sees literal, glob or regex operands.

/// One element of a Sigma string: a literal character or a wildcard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Parses a plain Sigma value: `*` and `?` are wildcards; `\` escapes `*`, `?` and `\`; any
/// other `\` (including a trailing one) is a literal backslash.
pub fn parse_pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Piece::Star),
            '?' => out.push(Piece::One),
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Piece::Char(next));
                }
                _ => out.push(Piece::Char('\\')),
            },
            other => out.push(Piece::Char(other)),
        }
    }
    out
}

/// Literal text of pieces without wildcards.
pub fn literal(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Whether any piece is a wildcard.
pub fn has_wildcards(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| !matches!(p, Piece::Char(_)))
}

/// Renders pieces in the format's glob syntax: `*`, `?`, and `\` before a literal `*`, `?` or
/// `\`.
pub fn to_glob(pieces: &[Piece]) -> String {
    let mut out = String::with_capacity(pieces.len());
    for p in pieces {
        match p {
            Piece::Star => out.push('*'),
            Piece::One => out.push('?'),
            Piece::Char(c @ ('*' | '?' | '\\')) => {
                out.push('\\');
                out.push(*c);
            }
            Piece::Char(c) => out.push(*c),
        }
    }
    out
}

/// Adds a leading and/or trailing `*` unless one is already there (`contains`, `startswith`,
/// `endswith`).
pub fn wrap(mut pieces: Vec<Piece>, leading: bool, trailing: bool) -> Vec<Piece> {
    if leading && pieces.first() != Some(&Piece::Star) {
        pieces.insert(0, Piece::Star);
    }
    if trailing && pieces.last() != Some(&Piece::Star) {
        pieces.push(Piece::Star);
    }
    pieces
}

/// The dash characters `windash` substitutes for each other (spec: `-`, `/`, en dash, em dash,
/// horizontal bar).
pub const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Word character as in the reference implementation's regex engine (Unicode `\w`).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `windash`: every `-` or `/` that starts a word (no word character before it, a word
/// character after it, within one literal run) may be any of [`WINDASH`]; the expansion lists
/// every combination. Returns `None` if there would be more than `limit` variants.
pub fn windash(pieces: &[Piece], limit: usize) -> Option<Vec<Vec<Piece>>> {
    let mut positions = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let Piece::Char(c @ ('-' | '/')) = p else {
            continue;
        };
        let _ = c;
        let before_is_word = match i.checked_sub(1).and_then(|j| pieces.get(j)) {
            Some(Piece::Char(b)) => is_word(*b),
            _ => false,
        };
        let after_is_word = matches!(pieces.get(i + 1), Some(Piece::Char(a)) if is_word(*a));
        if !before_is_word && after_is_word {
            positions.push(i);
        }
    }
    let mut variants = vec![pieces.to_vec()];
    for &at in &positions {
        if variants.len().saturating_mul(WINDASH.len()) > limit {
            return None;
        }
        let mut next = Vec::with_capacity(variants.len() * WINDASH.len());
        for v in &variants {
            for dash in WINDASH {
                let mut copy = v.clone();
                if let Some(slot) = copy.get_mut(at) {
                    *slot = Piece::Char(dash);
                }
                next.push(copy);
            }
        }
        variants = next;
    }
    Some(variants)
}

/// UTF-16 encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf16 {
    /// Little endian (`utf16le`, `wide`).
    Le,
    /// Big endian (`utf16be`).
    Be,
    /// Byte order mark `FF FE`, then little endian (`utf16`).
    WithBom,
}

/// Encodes text as UTF-16 bytes.
pub fn utf16(text: &str, encoding: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if encoding == Utf16::WithBom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for unit in text.encode_utf16() {
        match encoding {
            Utf16::Be => out.extend_from_slice(&unit.to_be_bytes()),
            Utf16::Le | Utf16::WithBom => out.extend_from_slice(&unit.to_le_bytes()),
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(B64[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// `base64offset`: the value encoded at byte offsets 0, 1 and 2 of a longer base64 text, each
/// cut to the characters that depend on the value alone (the reference implementation's
/// offsets: start 0, 2, 3; end trimmed by 0, 3 or 2 characters as (length + shift) mod 3 is 0,
/// 1 or 2). Variants that come out empty are dropped.
pub fn base64offset(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    let mut out = Vec::with_capacity(3);
    for shift in 0..3usize {
        let mut shifted = vec![b' '; shift];
        shifted.extend_from_slice(bytes);
        let encoded = base64(&shifted);
        let trim = END_TRIM[(bytes.len() + shift) % 3];
        let end = encoded.len().saturating_sub(trim);
        let text = encoded.get(START[shift]..end).unwrap_or("");
        if !text.is_empty() && !out.iter().any(|o: &String| o == text) {
            out.push(text.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_wildcards() {
        assert_eq!(
            parse_pieces(r"a\*b\\*c\x\?*?"),
            vec![
                Piece::Char('a'),
                Piece::Char('*'),
                Piece::Char('b'),
                Piece::Char('\\'),
                Piece::Star,
                Piece::Char('c'),
                Piece::Char('\\'),
                Piece::Char('x'),
                Piece::Char('?'),
                Piece::Star,
                Piece::One
            ]
        );
        // Three or four backslashes are a double backslash.
        assert_eq!(literal(&parse_pieces(r"\\\\")), Some(r"\\".to_string()));
        assert_eq!(literal(&parse_pieces(r"\\\x")), Some(r"\\x".to_string()));
        assert_eq!(to_glob(&parse_pieces(r"C:\win\*.exe*")), r"C:\\win\*.exe*");
    }

    #[test]
    fn windash_expands_word_initial_dashes() {
        let v = windash(&parse_pieces(" -enc /x a-b"), 1000).unwrap();
        assert_eq!(v.len(), 25);
        let texts: Vec<String> = v.iter().map(|p| literal(p).unwrap()).collect();
        assert!(texts.contains(&" /enc -x a-b".to_string()));
        assert!(texts.contains(&" \u{2014}enc \u{2015}x a-b".to_string()));
        assert!(texts.iter().all(|t| t.ends_with("a-b")));
        assert_eq!(windash(&parse_pieces("--x"), 10).unwrap().len(), 5);
        assert!(windash(&parse_pieces(" -a -b -c"), 100).is_none());
    }

    #[test]
    fn base64_variants() {
        assert_eq!(base64(b"/bin/bash"), "L2Jpbi9iYXNo");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(
            base64offset(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
        assert_eq!(
            base64offset(b"/bin/sh"),
            vec!["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]
        );
        assert_eq!(utf16("cmd", Utf16::Le), b"c\0m\0d\0");
        assert_eq!(utf16("cmd", Utf16::Be), b"\0c\0m\0d");
        assert_eq!(utf16("c", Utf16::WithBom), b"\xFF\xFEc\0");
    }
}
