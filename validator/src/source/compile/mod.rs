//! The compiler: sources and manifests in, a canonical [`Content`](dcf_parser::Content) out
//! (codes `E2xxx`). One file per stage, in the order a compile runs them:
//!
//! - [`context`]: the compile's state (sources, diagnostics) and what every stage uses to
//!   read the YAML tree and report on it;
//! - [`header`]: the `content:` section, command-line overrides and extension sections;
//! - [`interface`]: template types resolved from manifests and `templates:` declarations;
//! - [`rule`]: each rule's id, attributes and template type;
//! - [`expr`]: each rule's condition, its fields resolved to indexes and its operands.
//!
//! This file holds the public types and [`compile`], which drives the stages.

use std::collections::HashMap;

use dcf_parser::{Content, Extension, Rule, RuleId, SensorVersion, Template};

use super::SourceFile;
use super::yaml::{self, Node as Y, Pos, Value};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;

mod context;
mod expr;
mod header;
mod interface;
mod rule;
use context::{Compiler, kind_of};
pub(crate) use header::hex_decode;
use header::{HeaderSource, finish_header, read_extensions, read_header};
use interface::{Declaration, read_declarations, resolve_interface};
use rule::{RuleSource, compile_rule, read_rule_id};

/// Header fields given on the command line: they override the sources' `content:` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderOverrides {
    /// Content channel.
    pub channel: Option<u32>,
    /// Sequence number.
    pub sequence: Option<u64>,
    /// Creation time (seconds since the epoch).
    pub created: Option<u64>,
    /// Expiry time (seconds since the epoch).
    pub expires: Option<u64>,
    /// Validity period from the creation time, in seconds (instead of `expires`).
    pub valid_for: Option<u64>,
    /// Lowest targeted sensor version.
    pub sensor_min: Option<SensorVersion>,
    /// Highest targeted sensor version.
    pub sensor_max: Option<SensorVersion>,
}

/// A diagnostic and the source file it points into (`None`: no source position, e.g. two
/// manifests that disagree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Index into the sources given to [`compile`].
    pub source: Option<usize>,
    /// The diagnostic; its offset is a byte offset into that source's text.
    pub diagnostic: Diagnostic,
}

/// The outcome of [`compile`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    /// The content, when there was no error.
    pub content: Option<Content>,
    /// Every error found, in source order.
    pub diagnostics: Vec<Located>,
}

/// Compiles sources against manifests. `manifests` pairs each manifest with the name to use
/// in messages; `now` is the default creation time.
pub fn compile(
    sources: &[SourceFile],
    manifests: &[(String, Manifest)],
    overrides: &HeaderOverrides,
    now: u64,
) -> Compiled {
    let mut c = Compiler {
        sources,
        lines: sources.iter().map(|_| std::cell::OnceCell::new()).collect(),
        file: 0,
        diagnostics: Vec::new(),
    };
    let mut trees: Vec<Option<Y>> = Vec::with_capacity(sources.len());
    let mut failed_to_parse = false;
    for (i, s) in sources.iter().enumerate() {
        c.file = i;
        match yaml::parse(&s.text) {
            Ok(tree) => trees.push(tree),
            Err(e) => {
                let code = if e.too_deep {
                    Code::SourceTooDeep
                } else {
                    Code::SourceSyntax
                };
                c.error(code, e.pos, e.message);
                failed_to_parse = true;
                trees.push(None);
            }
        }
    }

    let mut header = HeaderSource::default();
    let mut declarations: Vec<Declaration> = manifests
        .iter()
        .flat_map(|(name, m)| {
            m.templates.iter().map(move |t| Declaration {
                id: t.id,
                name: t.name.clone(),
                fields: t.fields_declared(),
                origin: format!("manifest {name} ({})", m.version),
                declared: false,
            })
        })
        .collect();
    let mut rule_nodes: Vec<RuleSource<'_>> = Vec::new();
    let mut extensions: Vec<Extension> = Vec::new();

    for (i, tree) in trees.iter().enumerate() {
        c.file = i;
        let Some(tree) = tree else { continue };
        let Some(top) = c.keys(
            tree,
            "a source file",
            &["content", "templates", "rules", "extensions"],
        ) else {
            continue;
        };
        if let Some(h) = top.get("content") {
            let key_pos = top.key_node("content").map_or(h.pos, |k| k.pos);
            if let Some((first_file, _)) = header.at {
                let first = sources.get(first_file).map_or("?", |s| s.name.as_str());
                c.error_help(
                    Code::HeaderCount,
                    key_pos,
                    format!("the content header is given a second time (first in {first})"),
                    "keep one `content:` section across all sources of a content",
                );
            } else {
                header.at = Some((i, key_pos));
                read_header(&mut c, h, &mut header);
            }
        }
        if let Some(t) = top.get("templates") {
            read_declarations(&mut c, t, &mut declarations);
        }
        if let Some(e) = top.get("extensions") {
            read_extensions(&mut c, e, &mut extensions);
        }
        if let Some(rules) = top.get("rules") {
            match &rules.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(r) = read_rule_id(&mut c, item) {
                            rule_nodes.push(r);
                        }
                    }
                }
                _ => {
                    c.error(
                        Code::SourceType,
                        rules.pos,
                        format!("`rules` must be a sequence, found {}", kind_of(rules)),
                    );
                }
            }
        }
    }

    let interface = resolve_interface(&mut c, declarations);

    // Duplicate ids, reported at the second occurrence with the first's place.
    let mut first_seen: HashMap<RuleId, (usize, Pos)> = HashMap::new();
    for r in &rule_nodes {
        if let Some((file, pos)) = first_seen.get(&r.id).copied() {
            let (line, column) = c.line_column(file, pos.start);
            let first = sources.get(file).map_or("?", |s| s.name.as_str());
            c.file = r.file;
            c.error_help(
                Code::DuplicateRuleId,
                r.id_pos,
                format!("rule id {} is used twice", r.id),
                format!("first used at {first}:{line}:{column}; every rule needs its own id"),
            );
        } else {
            first_seen.insert(r.id, (r.file, r.id_pos));
        }
    }

    let mut rules: Vec<Rule> = Vec::with_capacity(rule_nodes.len());
    for r in &rule_nodes {
        c.file = r.file;
        if let Some(rule) = compile_rule(&mut c, r, &interface) {
            rules.push(rule);
        }
    }

    // A source that does not parse may hold the header: do not also report it missing.
    let header = if failed_to_parse && header.at.is_none() {
        None
    } else {
        finish_header(&mut c, header, overrides, now)
    };

    if !c.diagnostics.is_empty() {
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    }
    let Some(header) = header else {
        if c.diagnostics.is_empty() {
            c.unlocated(
                Code::HeaderCount,
                "the content header could not be built",
                "add a `content:` section to one source",
            );
        }
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    };

    let used: Vec<u32> = rules.iter().map(|r| r.template).collect();
    let templates: Vec<Template> = interface
        .iter()
        .filter(|(id, t)| t.declared || used.contains(id))
        .map(|(id, t)| Template {
            id: *id,
            name: t.name.clone(),
            fields: t.fields.clone(),
        })
        .collect();
    let mut content = Content {
        header,
        templates,
        rules,
        extensions,
        signature: None,
    };
    content.sort();
    if let Err(e) = content.encode() {
        c.unlocated(
            Code::EncodeRejected,
            format!(
                "the format writer refuses the compiled content: {} {}",
                e.code(),
                Diagnostic::from_parse_error(&e).message
            ),
            "the content breaks a limit of the format (format-spec/SPEC.md, Limits); split it into several contents",
        );
        return Compiled {
            content: None,
            diagnostics: c.diagnostics,
        };
    }
    Compiled {
        content: Some(content),
        diagnostics: c.diagnostics,
    }
}
