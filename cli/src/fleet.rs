//! The fleet a run checks against: sensor manifests read from files and directories, each
//! version described once.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use dcf_parser::SensorVersion;
use dcf_validator::limits::MAX_MANIFEST_SIZE;
use dcf_validator::{Code, Diagnostic, Manifest};

use crate::context::Ctx;
use crate::inputs::display;
use crate::io::{Input, read_bounded};
use crate::report::{FileReport, Origin};

/// Loads the fleet: every manifest file or directory. On any problem, the reports to show.
pub fn load_fleet(
    ctx: &Ctx,
    paths: &[PathBuf],
) -> Result<Vec<(String, Manifest)>, Vec<FileReport>> {
    let mut fleet: Vec<(String, Manifest)> = Vec::new();
    let mut problems: Vec<FileReport> = Vec::new();
    for input in ctx.expand(paths, &["toml"], "sensor manifests") {
        match input {
            Input::Problem(path, d) => problems.push(FileReport::plain(display(&path), vec![d])),
            Input::File(path) => {
                let name = display(&path);
                let bytes = match read_bounded(&path, MAX_MANIFEST_SIZE) {
                    Ok(b) => b,
                    Err(e) => {
                        problems.push(FileReport::plain(name, vec![e.diagnostic("the manifest")]));
                        continue;
                    }
                };
                let Ok(text) = String::from_utf8(bytes) else {
                    problems.push(FileReport::plain(
                        name,
                        vec![Diagnostic::new(
                            Code::ManifestSyntax,
                            "the manifest is not UTF-8 text",
                        )],
                    ));
                    continue;
                };
                match dcf_validator::manifest::from_toml(&text) {
                    Ok(m) => fleet.push((name, m)),
                    Err(e) => {
                        let mut d = Diagnostic::new(e.code, e.message.clone())
                            .help("format-spec/MANIFEST.md describes the manifest format");
                        if let Some(span) = &e.span {
                            d = d.at(span.start, span.end.saturating_sub(span.start));
                        }
                        problems.push(FileReport {
                            path: name,
                            diagnostics: vec![d],
                            origin: Origin::Text(Arc::from(text.as_str())),
                            notes: Vec::new(),
                        });
                    }
                }
            }
        }
    }
    // The same version described twice must be described the same way. The first file of
    // each version is the one others are compared with (a map, not a search of all before).
    let mut first_of: HashMap<SensorVersion, usize> = HashMap::with_capacity(fleet.len());
    for (i, (name, m)) in fleet.iter().enumerate() {
        let first = *first_of.entry(m.version).or_insert(i);
        if let Some((other, _)) = fleet.get(first).filter(|(_, o)| o != m) {
            problems.push(FileReport::plain(
                name.clone(),
                vec![
                    Diagnostic::new(
                        Code::ManifestConflict,
                        format!("describes sensor {} differently from {other}", m.version),
                    )
                    .help("keep one manifest per sensor version"),
                ],
            ));
        }
    }
    if problems.is_empty() {
        let mut seen = HashSet::with_capacity(fleet.len());
        fleet.retain(|(_, m)| seen.insert(m.version));
        fleet.sort_by_key(|(_, m)| m.version);
        Ok(fleet)
    } else {
        Err(problems)
    }
}

/// The fleet's manifests alone, for the commands that check against them.
pub fn load_manifests(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<Manifest>, Vec<FileReport>> {
    Ok(load_fleet(ctx, paths)?
        .into_iter()
        .map(|(_, m)| m)
        .collect())
}
