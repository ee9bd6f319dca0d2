//! Placeholders for the `expand` modifier (SIGMA-7): `%name%` in a value stands for each of
//! the values a deployment gives `name`, from the placeholder file passed at compile time
//! (`dcf compile --from sigma --placeholders FILE`), as pySigma's placeholder transformations
//! take them: a YAML mapping of names to a value or a list of values.

use std::collections::BTreeMap;

use crate::yaml::{YamlValue, parse_documents};

/// Placeholder names and their values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placeholders(BTreeMap<String, Vec<String>>);

impl Placeholders {
    /// Reads a placeholder file: one YAML mapping, each name to a scalar or a list of
    /// scalars (numbers and booleans as their text).
    pub fn parse(text: &str) -> Result<Placeholders, String> {
        let docs = parse_documents(text)?;
        let mut map = BTreeMap::new();
        match docs.as_slice() {
            [] | [YamlValue::Null] => {}
            [YamlValue::Map(entries)] => {
                for (name, value) in entries {
                    let values = match value {
                        YamlValue::Seq(items) => items
                            .iter()
                            .map(|v| {
                                v.scalar_text().ok_or_else(|| {
                                    format!("placeholder `{name}`: a value is not a scalar")
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        other => vec![other.scalar_text().ok_or_else(|| {
                            format!("placeholder `{name}`: not a value or a list of values")
                        })?],
                    };
                    if values.is_empty() {
                        return Err(format!("placeholder `{name}`: an empty list"));
                    }
                    map.insert(name.clone(), values);
                }
            }
            _ => return Err("a placeholder file is one mapping of names to values".into()),
        }
        Ok(Placeholders(map))
    }

    /// A set from name-value pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Vec<String>)>) -> Self {
        Placeholders(
            pairs
                .into_iter()
                .map(|(name, values)| (name.to_string(), values))
                .collect(),
        )
    }

    /// The values of `name`.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// How many names it defines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it defines none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a value could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// `%name%` has no value in the placeholder file (or there is none).
    Missing(String),
    /// The values multiply past `limit`.
    TooMany(usize),
}

/// Every value `value` stands for: each `%name%` replaced by each of `name`'s values (the
/// product, when there are several), left to right. Text outside `%…%` is kept as it is; a
/// `%` without a closing one is text. At most `limit` values.
pub fn expand(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<Vec<String>>,
    limit: usize,
) -> Result<Vec<String>, ExpandError> {
    let mut out = vec![String::new()];
    let mut rest = value;
    while let Some(start) = rest.find('%') {
        let after = rest.get(start.saturating_add(1)..).unwrap_or_default();
        let Some(len) = after.find('%') else { break };
        let (before, name) = (
            rest.get(..start).unwrap_or_default(),
            after.get(..len).unwrap_or_default(),
        );
        for prefix in &mut out {
            prefix.push_str(before);
        }
        let values = lookup(name).ok_or_else(|| ExpandError::Missing(name.to_string()))?;
        if out.len().saturating_mul(values.len()) > limit {
            return Err(ExpandError::TooMany(limit));
        }
        out = out
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
            .collect();
        rest = after.get(len.saturating_add(1)..).unwrap_or_default();
    }
    for v in &mut out {
        v.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_maps_names_to_values() {
        let p = Placeholders::parse("Admins:\n  - alice\n  - bob\nPort: 443\n").unwrap();
        assert_eq!(
            p.get("Admins"),
            Some(&["alice".to_string(), "bob".to_string()][..])
        );
        assert_eq!(p.get("Port"), Some(&["443".to_string()][..]));
        assert!(Placeholders::parse("- a\n- b\n").is_err());
        assert!(Placeholders::parse("x: []\n").is_err());
    }

    #[test]
    fn every_placeholder_is_replaced_by_each_value() {
        let p = Placeholders::from_pairs([
            ("a", vec!["1".to_string(), "2".to_string()]),
            ("b", vec!["x".to_string()]),
        ]);
        let lookup = |n: &str| p.get(n).map(<[String]>::to_vec);
        assert_eq!(expand("%a%\\%b%", &lookup, 16).unwrap(), ["1\\x", "2\\x"]);
        assert_eq!(
            expand("%a%%a%", &lookup, 16).unwrap(),
            ["11", "12", "21", "22"]
        );
        assert_eq!(expand("100% sure", &lookup, 16).unwrap(), ["100% sure"]);
        assert_eq!(
            expand("%nope%", &lookup, 16),
            Err(ExpandError::Missing("nope".into()))
        );
        assert_eq!(
            expand("%a%%a%%a%", &lookup, 4),
            Err(ExpandError::TooMany(4))
        );
    }
}
