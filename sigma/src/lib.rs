//! # dcf-sigma
//!
//! Compiles Sigma detection rules (specification v2) into dcf content, so that public content
//! flows through the whole pipeline: compile, validate, test, sign, load, evaluate.
//!
//! - [`compile_paths`] / [`compile_sources`]: rule files into a [`Content`] and an
//!   [`ImportReport`] listing every compiled rule and every skipped one with a [`Code`] and a
//!   reason. Nothing is dropped silently; whether a skip fails a run is the caller's decision.
//! - Targets are sensor interfaces ([`SensorInterface`], read from TOML manifests by
//!   `dcf-validator`); log sources map to template types by name ([`logsource`]), and every field a rule reads must be supplied by every targeted
//!   sensor, the check Channel File 291 lacked.
//! - Events are read by `dcf-events`, which maps field names with [`logsource::field_name`]
//!   as the importer does.
//! - [`logsource::generate_templates`]: the reference manifest `manifests/sigmahq.toml` from
//!   SigmaHQ's declared fields.
//!
//! Every construct's mapping is in `format-spec/SIGMA.md`. DRL 1.1: every compiled rule keeps
//! the Sigma rule's id, title and author (the sensor puts the author in every match report).

#![forbid(unsafe_code)]
// Tooling, not run in a sensor: the indexing and arithmetic lints bind the parser and the
// sensor. Unwrap, expect, panic, unreachable, todo and unimplemented stay denied outside tests.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod codes;
pub mod condition;
pub mod detection;
pub mod logsource;
pub mod modifiers;
pub mod pcre;
pub mod placeholders;

pub use placeholders::Placeholders;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dcf_parser::format::FORMAT_MINOR;
use dcf_parser::{
    Action, Attribute, Content, Header, Node, Rule, RuleId, SensorVersion, Severity, Template,
};
use dcf_sensor::{SensorCode, SensorInterface, TemplateInterface};
use serde::Serialize;

pub use codes::Code;
pub use detection::Failure;

use crate::logsource::{LogSource, field_name};
use crate::yaml::YamlValue;

/// Header values of the produced content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Content channel.
    pub channel: u32,
    /// Sequence number.
    pub sequence: u64,
    /// Validity start, seconds since the Unix epoch.
    pub created_at: u64,
    /// Validity end (exclusive), seconds since the Unix epoch.
    pub expires_at: u64,
    /// The values of the placeholders `expand` values name (SIGMA-7); none by default.
    pub placeholders: Placeholders,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            channel: 0,
            sequence: 1,
            created_at: 0,
            expires_at: u64::MAX,
            placeholders: Placeholders::default(),
        }
    }
}

/// What the detection compiler asks of a rule's context: its fields' indexes, and the
/// import's placeholders.
struct RuleContext<'a, F> {
    resolve: F,
    placeholders: &'a Placeholders,
}

impl<F: FnMut(&str) -> Result<u16, Failure>> detection::FieldResolver for RuleContext<'_, F> {
    fn resolve(&mut self, sigma_name: &str) -> Result<u16, Failure> {
        (self.resolve)(sigma_name)
    }

    fn placeholder(&self, name: &str) -> Option<Vec<String>> {
        self.placeholders.get(name).map(<[String]>::to_vec)
    }
}

/// A rule that compiled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompiledRule {
    /// The file it came from.
    pub file: String,
    /// Rule id (UUID).
    pub id: String,
    /// Title.
    pub title: String,
    /// Author (DRL 1.1 attribution).
    pub author: String,
    /// The template type it was compiled for.
    pub template: String,
}

/// A rule that was not compiled, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file it came from.
    pub file: String,
    /// Rule id, if it could be read.
    pub id: Option<String>,
    /// Title, if it could be read.
    pub title: Option<String>,
    /// The code.
    pub code: Code,
    /// The reason.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.file, self.reason)
    }
}

/// What an import did with every rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rules in the content, in file order.
    pub compiled: Vec<CompiledRule>,
    /// Rules left out, in file order.
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    /// How many rules were skipped for each code.
    pub fn breakdown(&self) -> BTreeMap<Code, usize> {
        let mut out = BTreeMap::new();
        for s in &self.skipped {
            *out.entry(s.code).or_insert(0) += 1;
        }
        out
    }

    /// Compiled rules over all rules (1.0 for an empty import).
    pub fn compiled_share(&self) -> f64 {
        let total = self.compiled.len() + self.skipped.len();
        if total == 0 {
            1.0
        } else {
            self.compiled.len() as f64 / total as f64
        }
    }
}

/// Why an import as a whole failed (individual rules are skipped instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// No manifest was given.
    NoManifest,
    /// The options cannot make a valid header.
    BadOptions(String),
    /// A path could not be walked.
    Io(String),
    /// The assembled content was refused by the writer (a whole-file limit).
    Encode(dcf_parser::Error),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::NoManifest => f.write_str("at least one sensor manifest is required"),
            ImportError::BadOptions(s) | ImportError::Io(s) => f.write_str(s),
            ImportError::Encode(e) => write!(f, "the content cannot be written: {e}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// The sensors a content targets, and how rules bind to them.
pub struct Targets<'m> {
    manifests: Vec<&'m SensorInterface>,
}

/// The importer's code for a refusal of the sensor's binder: E3101 is E5201, E3102 E5202,
/// E3103 and E3104 E5203, E3201 E5403, E3202 and E3203 E5402, E3601 to E3603 E5502.
fn importer_code(code: SensorCode) -> Code {
    match code {
        SensorCode::TemplateNotSupplied => Code::LogSourceNotSupplied,
        SensorCode::FieldNotSupplied => Code::FieldNotSupplied,
        SensorCode::BadRegex => Code::UnsupportedRegex,
        SensorCode::BadGlob | SensorCode::BadCidr => Code::BadModifierUse,
        SensorCode::CostPerByteOverBudget
        | SensorCode::CostPerEventOverBudget
        | SensorCode::MemoryOverBudget => Code::CostOverBudget,
        _ => Code::FieldLayoutDiffers,
    }
}

/// Rules that fit every targeted sensor's budget alone may not fit it together (the binder
/// adds them up in content order, `LOADER.md` COST-4): the rules the binder refuses in the
/// whole content are left out with its refusal, and the rest bound again until every target
/// accepts it. The first refused rule is kept for one more round: what the content's
/// prefilter costs depends on every rule's literals, so leaving out the later ones may make
/// room for it. Each round leaves out at least one rule, so it ends; SigmaHQ at the default
/// budget takes one round.
fn leave_out_refused(
    content: &mut Content,
    targets: &Targets<'_>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let mut kept_once: Option<RuleId> = None;
    loop {
        let bytes = content.encode().map_err(ImportError::Encode)?;
        let Ok(view) = dcf_parser::parse(&bytes) else {
            return Ok(());
        };
        // By rule, in content order: the first refusal of each rule on any target.
        let mut refused: BTreeMap<usize, (RuleId, Code, String)> = BTreeMap::new();
        for m in &targets.manifests {
            for r in dcf_sensor::bind(&view, m).refusals {
                refused.entry(r.rule).or_insert_with(|| {
                    (
                        r.rule_id,
                        importer_code(r.code()),
                        format!(
                            "sensor {} refuses the content with this rule: {r}",
                            m.display_name()
                        ),
                    )
                });
            }
        }
        let mut refused = refused.into_values();
        let Some(first) = refused.next() else {
            return Ok(());
        };
        let mut out: Vec<(RuleId, Code, String)> = refused.collect();
        if out.is_empty() || kept_once == Some(first.0) {
            out.push(first);
        } else {
            kept_once = Some(first.0);
        }
        content
            .rules
            .retain(|r| !out.iter().any(|(id, ..)| *id == r.id));
        for (id, code, reason) in out {
            let id = id.to_string();
            if let Some(at) = report.compiled.iter().position(|c| c.id == id) {
                let c = report.compiled.remove(at);
                report.skipped.push(Skipped {
                    file: c.file,
                    id: Some(c.id),
                    title: Some(c.title),
                    code,
                    reason,
                });
            }
        }
    }
}

impl<'m> Targets<'m> {
    /// The first refusal of the sensor's binder ([`dcf_sensor::bind`]) of the content `bytes`
    /// on any target, as the importer's code ([`importer_code`]).
    fn refusal(&self, bytes: &[u8]) -> Option<Failure> {
        let view = match dcf_parser::parse(bytes) {
            Ok(view) => view,
            Err(e) => {
                return Some(Failure::new(
                    Code::FormatLimit,
                    format!("the compiled rule does not read back: {e}"),
                ));
            }
        };
        self.manifests.iter().find_map(|m| {
            let binding = dcf_sensor::bind(&view, m);
            let first = binding.refusals.first()?;
            Some(Failure::new(
                importer_code(first.code()),
                format!(
                    "sensor {} refuses the compiled rule: {}",
                    m.display_name(),
                    first
                ),
            ))
        })
    }

    /// Targets these manifests (at least one), lowest version first.
    pub fn new(manifests: &'m [SensorInterface]) -> Result<Targets<'m>, ImportError> {
        if manifests.is_empty() {
            return Err(ImportError::NoManifest);
        }
        let mut sorted: Vec<&SensorInterface> = manifests.iter().collect();
        sorted.sort_by_key(|m| m.version);
        Ok(Targets { manifests: sorted })
    }

    fn version_range(&self) -> (SensorVersion, SensorVersion) {
        let min = self
            .manifests
            .first()
            .map(|m| m.version)
            .unwrap_or_default();
        let max = self.manifests.last().map(|m| m.version).unwrap_or_default();
        (min, max)
    }

    /// The template type of a log source: the first of its candidates (category, service,
    /// product) that a targeted sensor implements; every targeted sensor must implement it.
    pub fn template_for(&self, source: &LogSource) -> Result<&'m TemplateInterface, Failure> {
        for key in source.candidates() {
            let name = key.template_name();
            let Some(first) = self.manifests.iter().find_map(|m| m.template_named(&name)) else {
                continue;
            };
            for m in &self.manifests {
                match m.template(first.id) {
                    Some(t) if t.name == first.name => {}
                    _ => {
                        return Err(Failure::new(
                            Code::LogSourceNotSupplied,
                            format!(
                                "log source {} (template type {name}) is not implemented by {}",
                                source.display(),
                                m.display_name()
                            ),
                        ));
                    }
                }
            }
            return Ok(first);
        }
        Err(Failure::new(
            Code::LogSourceNotSupplied,
            format!(
                "log source {} is not implemented by any targeted sensor",
                source.display()
            ),
        ))
    }

    /// The index of a Sigma field in a template type, checked against every targeted sensor.
    pub fn field(
        &self,
        template: &TemplateInterface,
        sigma_name: &str,
        source: &LogSource,
    ) -> Result<u16, Failure> {
        let name = field_name(sigma_name);
        let index = template.field_index(&name);
        let Some(index) = index else {
            let elsewhere = self.manifests.iter().find(|m| {
                m.template(template.id)
                    .is_some_and(|t| t.field_index(&name).is_some())
            });
            return Err(match elsewhere {
                Some(m) => Failure::new(
                    Code::FieldLayoutDiffers,
                    format!(
                        "field `{sigma_name}` is supplied by {} but not by every targeted sensor for log source {}",
                        m.display_name(),
                        source.display()
                    ),
                ),
                None => Failure::new(
                    Code::FieldNotSupplied,
                    format!(
                        "field `{sigma_name}` is not supplied by any targeted sensor for log source {}",
                        source.display()
                    ),
                ),
            });
        };
        let declared = template.fields.get(index);
        for m in &self.manifests {
            let actual = m.template(template.id).and_then(|t| t.fields.get(index));
            if actual != declared {
                return Err(Failure::new(
                    Code::FieldLayoutDiffers,
                    format!(
                        "field `{sigma_name}` of log source {} is not at index {index} with the same type in {}",
                        source.display(),
                        m.display_name()
                    ),
                ));
            }
        }
        u16::try_from(index).map_err(|_| {
            Failure::new(
                Code::FormatLimit,
                format!("field `{sigma_name}` has an index beyond the format's range"),
            )
        })
    }
}

/// One rule file's text and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file, for reports.
    pub file: String,
    /// The path relative to the rules root, kept as the `source` attribute.
    pub relative: String,
    /// The text (`None` if the file could not be read as UTF-8).
    pub text: Option<String>,
}

/// A rule compiled for one template type, before it joins a content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleOutput {
    /// The rule.
    pub rule: Rule,
    /// Its template type, as the first targeted sensor declares it.
    pub template: TemplateInterface,
}

/// Compiles one rule file's text. On failure, returns the id and title if they were readable.
pub fn compile_rule(
    text: &str,
    relative: &str,
    targets: &Targets<'_>,
    placeholders: &Placeholders,
) -> Result<RuleOutput, (Option<String>, Option<String>, Failure)> {
    let docs =
        yaml::parse_documents(text).map_err(|e| (None, None, Failure::new(Code::YamlSyntax, e)))?;
    let Some(doc) = docs.first() else {
        return Err((
            None,
            None,
            Failure::new(Code::NotARule, "the file is empty"),
        ));
    };
    let id_text = doc.get("id").and_then(YamlValue::scalar_text);
    let title = doc.get("title").and_then(YamlValue::scalar_text);
    let fail = |f: Failure| (id_text.clone(), title.clone(), f);
    if !matches!(doc, YamlValue::Map(_)) {
        return Err(fail(Failure::new(
            Code::NotARule,
            "the document is not a mapping",
        )));
    }
    if docs.len() > 1 || doc.get("action").is_some() {
        return Err(fail(Failure::new(
            Code::RuleCollection,
            "multi-document rule collection (`action`, several YAML documents)",
        )));
    }
    if doc.get("correlation").is_some() {
        return Err(fail(Failure::new(
            Code::Correlation,
            "correlation rule (state across events)",
        )));
    }
    if doc.get("filter").is_some() && doc.get("detection").is_none() {
        return Err(fail(Failure::new(Code::Filter, "Sigma filter document")));
    }
    let Some(detection) = doc.get("detection") else {
        return Err(fail(Failure::new(Code::NotARule, "no `detection`")));
    };
    let Some(id) = id_text.as_deref().and_then(RuleId::parse) else {
        return Err(fail(Failure::new(
            Code::BadId,
            match &id_text {
                Some(t) => format!("id `{t}` is not a UUID"),
                None => "no `id`".to_string(),
            },
        )));
    };
    let Some(title_text) = title.clone().filter(|t| !t.trim().is_empty()) else {
        return Err(fail(Failure::new(Code::NoTitle, "no `title`")));
    };
    let author = match doc.get("author") {
        Some(YamlValue::Seq(list)) => list
            .iter()
            .filter_map(YamlValue::scalar_text)
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => v.scalar_text().unwrap_or_default(),
        None => String::new(),
    };
    if author.trim().is_empty() {
        return Err(fail(Failure::new(
            Code::NoAuthor,
            "no `author`: DRL 1.1 requires keeping the author",
        )));
    }
    let severity = match doc.get("level") {
        None | Some(YamlValue::Null) => Severity::Medium,
        Some(v) => {
            let text = v.scalar_text().unwrap_or_default();
            Severity::from_name(&text).ok_or_else(|| {
                fail(Failure::new(
                    Code::BadLevel,
                    format!("level `{text}` is not a Sigma level"),
                ))
            })?
        }
    };
    let source = LogSource::from_yaml(doc.get("logsource"));
    let template = targets.template_for(&source).map_err(&fail)?;
    let mut resolver = RuleContext {
        resolve: |name: &str| targets.field(template, name, &source),
        placeholders,
    };
    let expr = detection::compile_detection(detection, &mut resolver).map_err(&fail)?;
    let mut expression: Vec<Node<Vec<String>>> = Vec::new();
    detection::to_postfix(expr, &mut expression);

    let mut attributes = Vec::new();
    let mut attr = |key: &str, value: String| {
        attributes.push(Attribute {
            key: key.to_string(),
            value,
        });
    };
    let list = |key: &str| -> Vec<String> {
        match doc.get(key) {
            Some(YamlValue::Seq(items)) => {
                items.iter().filter_map(YamlValue::scalar_text).collect()
            }
            Some(v) => v.scalar_text().into_iter().collect(),
            None => Vec::new(),
        }
    };
    for r in list("references") {
        attr("reference", r);
    }
    for t in list("tags") {
        attr("tag", t);
    }
    for key in ["description", "status", "date", "modified"] {
        if let Some(v) = doc.get(key).and_then(YamlValue::scalar_text) {
            attr(key, v);
        }
    }
    for fp in list("falsepositives") {
        attr("falsepositive", fp);
    }
    attr("license", "DRL-1.1".to_string());
    attr("source", relative.to_string());

    Ok(RuleOutput {
        rule: Rule {
            id,
            template: template.id,
            title: title_text,
            author,
            severity,
            action: Action::Detect,
            attributes,
            expression,
        },
        template: template.clone(),
    })
}

/// Compiles rule sources into one content for the targeted sensors.
pub fn compile_sources(
    sources: &[Source],
    manifests: &[SensorInterface],
    options: &ImportOptions,
) -> Result<(Content, ImportReport), ImportError> {
    let targets = Targets::new(manifests)?;
    if options.created_at >= options.expires_at {
        return Err(ImportError::BadOptions(
            "the validity start must precede its end".to_string(),
        ));
    }
    let (sensor_min, sensor_max) = targets.version_range();
    let header = Header {
        minor: FORMAT_MINOR,
        channel: options.channel,
        sequence: options.sequence,
        created_at: options.created_at,
        expires_at: options.expires_at,
        sensor_min,
        sensor_max,
    };
    let mut report = ImportReport::default();
    let mut rules: Vec<Rule> = Vec::new();
    let mut templates: BTreeMap<u32, Template> = BTreeMap::new();
    let mut ids: BTreeSet<RuleId> = BTreeSet::new();
    for source in sources {
        let skip = |id: Option<String>, title: Option<String>, f: Failure| Skipped {
            file: source.file.clone(),
            id,
            title,
            code: f.code,
            reason: f.reason,
        };
        let Some(text) = &source.text else {
            report.skipped.push(skip(
                None,
                None,
                Failure::new(Code::Unreadable, "the file cannot be read as UTF-8 text"),
            ));
            continue;
        };
        let output = match compile_rule(text, &source.relative, &targets, &options.placeholders) {
            Ok(o) => o,
            Err((id, title, f)) => {
                report.skipped.push(skip(id, title, f));
                continue;
            }
        };
        let id_text = output.rule.id.to_string();
        if ids.contains(&output.rule.id) {
            report.skipped.push(skip(
                Some(id_text),
                Some(output.rule.title.clone()),
                Failure::new(
                    Code::DuplicateId,
                    "another rule of this import already has this id",
                ),
            ));
            continue;
        }
        let template = output.template.to_template();
        // The writer checks every limit by reading its output back: try the rule alone.
        let trial = Content {
            header,
            templates: vec![template.clone()],
            rules: vec![output.rule.clone()],
            extensions: Vec::new(),
            signature: None,
        };
        let bytes = match trial.encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                report.skipped.push(skip(
                    Some(id_text),
                    Some(output.rule.title.clone()),
                    Failure::new(
                        Code::FormatLimit,
                        format!("the compiled rule is refused by the writer: {e}"),
                    ),
                ));
                continue;
            }
        };
        // The sensor's own binding decision, on every targeted sensor: a rule the importer
        // built that some target would refuse is left out with the refusal, never shipped.
        if let Some(f) = targets.refusal(&bytes) {
            report
                .skipped
                .push(skip(Some(id_text), Some(output.rule.title.clone()), f));
            continue;
        }
        ids.insert(output.rule.id);
        templates.entry(template.id).or_insert(template);
        report.compiled.push(CompiledRule {
            file: source.file.clone(),
            id: id_text,
            title: output.rule.title.clone(),
            author: output.rule.author.clone(),
            template: output.template.name.clone(),
        });
        rules.push(output.rule);
    }
    let mut content = Content {
        header,
        templates: templates.into_values().collect(),
        rules,
        extensions: Vec::new(),
        signature: None,
    };
    content.sort();
    leave_out_refused(&mut content, &targets, &mut report)?;
    Ok((content, report))
}

/// Every rule file under `paths`: directories are walked recursively for `.yml` and `.yaml`
/// files, in sorted order; files are taken as they are.
pub fn rule_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    Ok(rule_files_with_roots(paths)?
        .into_iter()
        .map(|(file, _)| file)
        .collect())
}

fn rule_files_with_roots(paths: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found, 0)?;
            found.sort();
            for file in found {
                let relative = file
                    .strip_prefix(path)
                    .unwrap_or(&file)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((file, relative));
            }
        } else {
            let relative = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((path.clone(), relative));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 32 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and compiles every rule file under `paths` (see [`rule_files`]) for the targeted
/// sensors. The `source` attribute of each rule is its path relative to the directory it was
/// found under (its file name if it was named directly).
pub fn compile_paths(
    paths: &[PathBuf],
    manifests: &[SensorInterface],
    options: &ImportOptions,
) -> Result<(Content, ImportReport), ImportError> {
    let files = rule_files_with_roots(paths).map_err(|e| ImportError::Io(e.to_string()))?;
    let mut sources = Vec::with_capacity(files.len());
    for (file, relative) in files {
        let text = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8(bytes).ok(),
            Err(_) => None,
        };
        sources.push(Source {
            file: file.display().to_string(),
            relative,
            text,
        });
    }
    compile_sources(&sources, manifests, options)
}
