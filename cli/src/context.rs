//! What every command needs to talk to its user: how output looks, where it goes, and the
//! one place reports become output and an exit code.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;

use dcf_validator::Severity;

use crate::exit::{Exit, Stop};
use crate::io::{self, Input};
use crate::report::{self, FileReport, Format, Style};

/// The run's settings, from the global flags and the command's output format.
pub struct Ctx {
    /// How human output looks.
    pub style: Style,
    /// `--verbose`.
    pub verbose: bool,
    /// `--allow-skipped`.
    pub allow_skipped: bool,
    /// The command's report format: a [`Stop`] is printed in it.
    pub format: Format,
}

impl Ctx {
    /// Expands command-line paths ([`io::expand`]) under this run's `--allow-skipped`.
    pub fn expand(&self, paths: &[PathBuf], extensions: &[&str], what: &str) -> Vec<Input> {
        let on_skip = if self.allow_skipped {
            io::OnSkip::Note
        } else {
            io::OnSkip::Fail
        };
        io::expand(paths, extensions, what, on_skip)
    }

    /// The files that expanding `paths` reads, for [`io::check_output`].
    pub fn input_files(&self, paths: &[PathBuf], extensions: &[&str]) -> Vec<PathBuf> {
        io::expand(paths, extensions, "inputs", io::OnSkip::Quiet)
            .into_iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(p),
                Input::Problem(..) => None,
            })
            .collect()
    }

    /// Prints one report for people, on standard error.
    pub fn emit(&self, report: &FileReport) {
        let text = report::render_human(report, self.style, self.verbose);
        if !text.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
        }
    }

    /// Prints reports for people, on standard error.
    pub fn emit_all(&self, reports: &[FileReport]) {
        for r in reports {
            self.emit(r);
        }
    }

    /// Says `text` under `--verbose`.
    pub fn note(&self, text: &str) {
        if self.verbose {
            eprintln!("note: {text}");
        }
    }

    /// Prints `reports` in the run's format and returns their exit code.
    pub fn finish(&self, reports: &[FileReport], deny_warnings: bool) -> Exit {
        let code = Exit::of(reports, deny_warnings);
        let out = match self.format {
            Format::Human => {
                self.emit_all(reports);
                self.tally(reports, deny_warnings);
                return code;
            }
            Format::Json => report::json_document(reports, deny_warnings),
            Format::Sarif => report::sarif_document(reports),
        };
        match write_json(&out) {
            Ok(()) => code,
            Err(stop) => self.stop(stop),
        }
    }

    /// Ends a run that stopped early: prints its reports, returns its exit code.
    pub fn stop(&self, stop: Stop) -> Exit {
        match stop {
            Stop::Reports(reports) => self.finish(&reports, false),
            Stop::Exit(exit) => exit,
        }
    }

    /// The closing count of a human run over more than one input.
    fn tally(&self, reports: &[FileReport], deny_warnings: bool) {
        let count = |severity| {
            reports
                .iter()
                .flat_map(|r| &r.diagnostics)
                .filter(|d| d.severity() == severity)
                .count()
        };
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        // Inputs, not reports: findings about a whole compile can come as a second report on
        // the same file.
        let inputs: HashSet<&str> = reports.iter().map(|r| r.path.as_str()).collect();
        if errors + warnings > 0 && inputs.len() > 1 {
            let rejected: HashSet<&str> = reports
                .iter()
                .filter(|r| !r.valid(deny_warnings))
                .map(|r| r.path.as_str())
                .collect();
            eprintln!(
                "{errors} error{}, {warnings} warning{}: {} of {} inputs rejected",
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" },
                rejected.len(),
                inputs.len()
            );
        }
    }
}

/// Writes `text` to standard output. A closed pipe (`dcf ... | head`) is not an error; any
/// other failure stops the run with exit code 2.
pub fn write_stdout(text: &str) -> Result<(), Stop> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(_) => Err(Stop::Exit(Exit::Usage)),
    }
}

/// Writes one JSON document, pretty and newline-terminated, to standard output.
pub fn write_json(doc: &serde_json::Value) -> Result<(), Stop> {
    write_stdout(&(serde_json::to_string_pretty(doc).unwrap_or_default() + "\n"))
}
