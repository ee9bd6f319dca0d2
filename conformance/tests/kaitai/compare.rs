//! The comparison of the two readings: every difference between our JSON and Kaitai's, per
//! file, and the JSON walks the tests use to corrupt Kaitai's reading on purpose.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::dump::ours_of;
use crate::harness::kaitai_dumps;

/// Every difference between two JSON values, as `path: ours != kaitai` lines.
fn differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, av) in a {
                let sub = format!("{path}.{key}");
                match b.get(key) {
                    Some(bv) => differences(&sub, av, bv, out),
                    None => out.push(format!("{sub}: only in dcf_parser's reading")),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{key}: only in Kaitai's reading"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!(
                    "{path}: {} elements in dcf_parser's reading, {} in Kaitai's",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), av, bv, out);
            }
        }
        _ if ours == theirs => {}
        _ => out.push(format!("{path}: dcf_parser {ours} != Kaitai {theirs}")),
    }
}

/// Compares the two readings of one file: `None` when they agree, else a report.
pub(crate) fn compare(
    name: &str,
    ours: &Result<Value, String>,
    theirs: &Result<Value, String>,
) -> Option<String> {
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            let mut diffs = Vec::new();
            differences("$", ours, theirs, &mut diffs);
            let shown = diffs.len().min(20);
            (!diffs.is_empty()).then(|| {
                format!(
                    "{name}: {} differences{}\n  {}",
                    diffs.len(),
                    if shown < diffs.len() {
                        " (first 20)"
                    } else {
                        ""
                    },
                    diffs[..shown].join("\n  ")
                )
            })
        }
        (Err(e), _) => Some(format!("{name}: {e}")),
        (_, Err(e)) => Some(format!("{name}: Kaitai's parser rejects it: {e}")),
    }
}

/// Compares both readings of every file; returns one report per file that disagrees.
pub(crate) fn disagreements(
    files: &[PathBuf],
    dumps: &BTreeMap<PathBuf, Result<Value, String>>,
) -> Vec<String> {
    let missing = Err("dump.py did not report on it".to_string());
    files
        .iter()
        .filter_map(|file| {
            let theirs = dumps.get(file).unwrap_or(&missing);
            compare(&file.display().to_string(), &ours_of(file), theirs)
        })
        .collect()
}

pub(crate) fn assert_agreement(files: &[PathBuf]) {
    let dumps = kaitai_dumps(files);
    let reports = disagreements(files, &dumps);
    assert!(
        reports.is_empty(),
        "format-spec/dcf.ksy and dcf_parser disagree on {} of {} files:\n{}",
        reports.len(),
        files.len(),
        reports.join("\n")
    );
}

pub(crate) fn collect_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                path.push(key.clone());
                collect_paths(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_paths(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

pub(crate) fn collect_arrays(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                path.push(key.clone());
                collect_arrays(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            if !items.is_empty() {
                out.push(path.clone());
            }
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_arrays(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

pub(crate) fn pointer_mut<'v>(value: &'v mut Value, path: &[String]) -> &'v mut Value {
    let pointer: String = path
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect();
    value
        .pointer_mut(&pointer)
        .unwrap_or_else(|| panic!("no value at {pointer}"))
}
