//! YAML documents as Sigma tools read them.
//!
//! Parsing is saphyr's (YAML 1.2 syntax, alias-expansion budget, duplicate keys refused). Scalar
//! *resolution* is ours: the reference implementation (pySigma) reads rules with a YAML 1.1
//! resolver, and the difference is visible in real rules (`00000429` is the text `00000429`
//! for pySigma, the integer 429 under YAML 1.2's core schema). So scalars are loaded as their
//! source text and resolved here with the YAML 1.1 rules, as `SIGMA.md` documents: quoted and
//! block scalars are text; plain scalars are null (`~`, `null`, empty), booleans (`true`,
//! `false`, `yes`, `no`, `on`, `off` in lower, title or upper case), integers (decimal without
//! leading zeros, `0b`, `0x`, leading-zero octal, `_` separators, base-60 `1:20`), floats
//! (kept as written), or text.

use saphyr::{ScalarStyle, Yaml, YamlLoader};
use saphyr_parser::Parser;

/// A resolved YAML node. Mapping keys are text, in document order.
#[derive(Clone, Debug, PartialEq)]
pub enum YamlValue {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float, as written.
    Float(String),
    /// Text.
    Str(String),
    /// A sequence.
    Seq(Vec<YamlValue>),
    /// A mapping, in document order.
    Map(Vec<(String, YamlValue)>),
}

impl YamlValue {
    /// The value of key `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&YamlValue> {
        match self {
            YamlValue::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar: strings as they are, numbers in decimal (floats as written),
    /// booleans as `true`/`false`. `None` for null and collections.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            YamlValue::Str(s) | YamlValue::Float(s) => Some(s.clone()),
            YamlValue::Int(i) => Some(i.to_string()),
            YamlValue::Bool(b) => Some(b.to_string()),
            YamlValue::Null | YamlValue::Seq(_) | YamlValue::Map(_) => None,
        }
    }

    /// The text of a string scalar only.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            YamlValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Deepest nesting accepted; Sigma rules need a handful of levels.
const MAX_DEPTH: usize = 64;

/// Parses every document of `text`.
pub fn parse_documents(text: &str) -> Result<Vec<YamlValue>, String> {
    let mut loader: YamlLoader<'_, Yaml<'_>> = YamlLoader::default();
    loader.early_parse(false);
    loader.alias_limit(10_000);
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut loader, true).map_err(|e| e.to_string())?;
    if let Some(e) = loader.error() {
        return Err(e.to_string());
    }
    loader
        .into_documents()
        .iter()
        .map(|doc| convert(doc, 0))
        .collect()
}

fn convert(node: &Yaml<'_>, depth: usize) -> Result<YamlValue, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    Ok(match node {
        Yaml::Representation(text, style, tag) => {
            if let Some(tag) = tag {
                let t = tag.to_string();
                if !matches!(t.as_str(), "!!str" | "tag:yaml.org,2002:str") {
                    return Err(format!("unsupported YAML tag `{t}`"));
                }
                return Ok(YamlValue::Str(text.to_string()));
            }
            if *style == ScalarStyle::Plain {
                resolve_plain(text)
            } else {
                YamlValue::Str(text.to_string())
            }
        }
        Yaml::Value(scalar) => {
            // Only reached for values the loader resolved itself (never with early_parse off).
            YamlValue::Str(format!("{scalar:?}"))
        }
        Yaml::Sequence(items) => YamlValue::Seq(
            items
                .iter()
                .map(|i| convert(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key = match convert(k, depth + 1)? {
                    YamlValue::Null => String::new(),
                    other => other
                        .scalar_text()
                        .ok_or_else(|| "a mapping key is not a scalar".to_string())?,
                };
                if entries.iter().any(|(e, _): &(String, YamlValue)| *e == key) {
                    return Err(format!("duplicate key `{key}`"));
                }
                entries.push((key, convert(v, depth + 1)?));
            }
            YamlValue::Map(entries)
        }
        Yaml::Tagged(tag, _) => return Err(format!("unsupported YAML tag `{tag}`")),
        Yaml::Alias(_) => return Err("unresolved YAML alias".to_string()),
        Yaml::BadValue => return Err("invalid YAML value".to_string()),
    })
}

/// YAML 1.1 resolution of a plain scalar (the resolver pySigma's YAML library uses).
pub fn resolve_plain(text: &str) -> YamlValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return YamlValue::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            // `y`/`Y` are YAML 1.1 booleans in the spec's regexp, but PyYAML does not resolve
            // them; follow PyYAML.
            if matches!(text, "y" | "Y") {
                return YamlValue::Str(text.to_string());
            }
            return YamlValue::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return YamlValue::Bool(false);
        }
        _ => {}
    }
    if let Some(i) = resolve_int(text) {
        return match i {
            Some(v) => YamlValue::Int(v),
            None => YamlValue::Str(text.to_string()),
        };
    }
    if is_float(text) {
        return YamlValue::Float(text.to_string());
    }
    YamlValue::Str(text.to_string())
}

/// `Some(Some(v))` for an integer, `Some(None)` for an integer too large for i64, `None` for
/// text that is not an integer.
fn resolve_int(text: &str) -> Option<Option<i64>> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let digits = |s: &str, ok: fn(u8) -> bool| -> bool {
        !s.is_empty() && s.bytes().all(|b| b == b'_' || ok(b)) && s.bytes().any(ok)
    };
    let value: Option<i128> = if let Some(bin) = body.strip_prefix("0b") {
        if !digits(bin, |b| matches!(b, b'0' | b'1')) {
            return None;
        }
        parse_radix(bin, 2)
    } else if let Some(hex) = body.strip_prefix("0x") {
        if !digits(hex, |b| b.is_ascii_hexdigit()) {
            return None;
        }
        parse_radix(hex, 16)
    } else if body == "0" {
        Some(0)
    } else if let Some(oct) = body.strip_prefix('0') {
        if !digits(oct, |b| matches!(b, b'0'..=b'7')) {
            return None;
        }
        parse_radix(oct, 8)
    } else if body.contains(':') {
        // Base 60: [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let head = parts.next()?;
        if !head.starts_with(|c: char| matches!(c, '1'..='9'))
            || !digits(head, |b| b.is_ascii_digit())
        {
            return None;
        }
        let mut acc = parse_radix(head, 10)?;
        for part in parts {
            let ok = match part.as_bytes() {
                [d] => d.is_ascii_digit(),
                [a, b] => matches!(a, b'0'..=b'5') && b.is_ascii_digit(),
                _ => false,
            };
            if !ok {
                return None;
            }
            acc = acc.checked_mul(60)?.checked_add(parse_radix(part, 10)?)?;
        }
        Some(acc)
    } else {
        if !body.starts_with(|c: char| matches!(c, '1'..='9'))
            || !digits(body, |b| b.is_ascii_digit())
        {
            return None;
        }
        parse_radix(body, 10)
    };
    let signed = value.map(|v| if negative { -v } else { v });
    Some(signed.and_then(|v| i64::try_from(v).ok()))
}

fn parse_radix(digits: &str, radix: u32) -> Option<i128> {
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    i128::from_str_radix(&clean, radix).ok()
}

/// YAML 1.1 float: `[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?`, base 60 floats, `.inf`,
/// `.nan`.
fn is_float(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(lower.trim_start_matches(['-', '+']), ".inf" | ".nan") {
        return true;
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (body.get(..at).unwrap_or(""), body.get(at + 1..)),
        None => (body, None),
    };
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['-', '+']);
        match digits {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => return false,
        }
    }
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let int_ok = int.is_empty()
        || (int.starts_with(|c: char| c.is_ascii_digit())
            && int.bytes().all(|b| b.is_ascii_digit() || b == b'_')
            || int.contains(':'));
    let frac_ok = frac.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    int_ok && frac_ok && !(int.is_empty() && frac.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_yaml_1_1() {
        assert_eq!(resolve_plain("00000429"), YamlValue::Str("00000429".into()));
        assert_eq!(resolve_plain("0000042a"), YamlValue::Str("0000042a".into()));
        assert_eq!(resolve_plain("0017"), YamlValue::Int(15));
        assert_eq!(resolve_plain("4688"), YamlValue::Int(4688));
        assert_eq!(resolve_plain("-3"), YamlValue::Int(-3));
        assert_eq!(resolve_plain("0x17"), YamlValue::Int(23));
        assert_eq!(resolve_plain("1_000"), YamlValue::Int(1000));
        assert_eq!(resolve_plain("1:20"), YamlValue::Int(80));
        assert_eq!(resolve_plain("yes"), YamlValue::Bool(true));
        assert_eq!(resolve_plain("Off"), YamlValue::Bool(false));
        assert_eq!(resolve_plain("~"), YamlValue::Null);
        assert_eq!(resolve_plain("1.5"), YamlValue::Float("1.5".into()));
        assert_eq!(resolve_plain("1.2.3"), YamlValue::Str("1.2.3".into()));
        assert_eq!(
            resolve_plain("99999999999999999999"),
            YamlValue::Str("99999999999999999999".into())
        );
        assert_eq!(
            resolve_plain("000001a0-0000-0000-c000-000000000046"),
            YamlValue::Str("000001a0-0000-0000-c000-000000000046".into())
        );
    }

    #[test]
    fn parses_documents_in_order_and_refuses_duplicates() {
        let docs = parse_documents("a: '1'\nb: 2\nc: [x, null]\n").unwrap();
        assert_eq!(
            docs[0],
            YamlValue::Map(vec![
                ("a".into(), YamlValue::Str("1".into())),
                ("b".into(), YamlValue::Int(2)),
                (
                    "c".into(),
                    YamlValue::Seq(vec![YamlValue::Str("x".into()), YamlValue::Null])
                ),
            ])
        );
        assert!(parse_documents("a: 1\na: 2\n").is_err());
    }
}
