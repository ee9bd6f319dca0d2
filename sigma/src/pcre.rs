//! Sigma regular expressions are PCRE (specification: "the supported flavor is PCRE"); the
//! sensor runs Rust's `regex` engine. The two agree on the metacharacters Sigma allows except
//! where Rust is Unicode-aware and PCRE (without `UCP`) is not: PCRE's `\w`, `\d`, `\s` and
//! `\b` are ASCII. This module rewrites those escapes into explicit ASCII classes, and escapes
//! the characters that are literal inside a PCRE class but operators inside a Rust one (`[`,
//! `&&`, `--`, `~~`). Everything else is passed through; what Rust does not support (look-around,
//! backreferences, possessive quantifiers, atomic groups) is then refused by the engine.

const WORD: &str = "0-9A-Za-z_";
const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0B\f\r ";

/// Rewrites a PCRE pattern for the Rust engine with PCRE's ASCII meaning of `\w`, `\d`, `\s`,
/// `\b` and their negations.
pub fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    // Position in the class: true right after `[` or `[^`, where `]` is literal.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match e {
                    'w' => Some((false, WORD)),
                    'W' => Some((true, WORD)),
                    'd' => Some((false, DIGIT)),
                    'D' => Some((true, DIGIT)),
                    's' => Some((false, SPACE)),
                    'S' => Some((true, SPACE)),
                    _ => None,
                };
                match class {
                    Some((negated, set)) => {
                        out.push('[');
                        if negated {
                            out.push('^');
                        }
                        out.push_str(set);
                        out.push(']');
                    }
                    None if !in_class && (e == 'b' || e == 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    None => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                class_start = false;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                continue;
            }
            '[' => {
                out.push_str("\\[");
                class_start = false;
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            ']' if in_class => {
                out.push(']');
                class_start = false;
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
                class_start = false;
            }
            '-' if in_class && chars.peek() == Some(&'-') => {
                out.push_str("\\-");
                class_start = false;
            }
            other => {
                out.push(other);
                class_start = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn ascii_classes_and_literal_class_characters() {
        assert_eq!(translate(r"a\wb"), "a[0-9A-Za-z_]b");
        assert_eq!(translate(r"[\d.]"), "[[0-9].]");
        assert_eq!(translate(r"\bx\B"), r"(?-u:\b)x(?-u:\B)");
        assert_eq!(translate(r"\\w"), r"\\w");
        assert_eq!(translate(r"[]a]"), "[]a]");
        assert_eq!(translate(r"[^]a]"), "[^]a]");
        assert_eq!(translate(r"[[&~]"), r"[\[\&\~]");
        assert_eq!(translate(r"[a--]"), r"[a\--]");
        for p in [
            r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
            r"[\W\S]+\b",
            r"[]a]",
            r"(?i)\d+",
        ] {
            regex::Regex::new(&translate(p)).unwrap();
        }
        let r = regex::Regex::new(&translate(r"^\w+$")).unwrap();
        assert!(r.is_match("abc_1"));
        assert!(!r.is_match("é"));
    }
}
