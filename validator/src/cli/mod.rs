//! The `dcf` command line (feature `cli`). `main.rs` only calls [`main`].

mod compile_sigma;
pub mod hexdump;
mod io;
mod report;
mod test;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use dcf_parser::limits::MAX_FILE_SIZE;
use dcf_parser::{Content, Frame, SensorVersion, Signature};
use rayon::prelude::*;

use crate::checks::{Options, Previous, validate_bytes};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::keys;
use crate::limits::{MAX_JOBS, MAX_KEY_FILE_SIZE, MAX_MANIFEST_SIZE, MAX_SOURCE_SIZE};
use crate::manifest::{Manifest, parse_version};
use crate::source::{self, HeaderOverrides, SourceFile};
use crate::time::{format_rfc3339, now, parse_duration, parse_time};
use io::{Input, ReadError, check_output, read_bounded, write_atomic};
use report::{FileReport, Format, Origin, Style};

/// Exit code: every input accepted.
const OK: u8 = 0;
/// Exit code: some content rejected.
const REJECTED: u8 = 1;
/// Exit code: usage or I/O error.
const USAGE: u8 = 2;

const AFTER_HELP: &str = "\
Examples:
  dcf compile examples/rules --manifest examples/manifests -o content.dcf
  dcf validate content.dcf --manifest examples/manifests
  dcf validate out/ --manifest fleet/ --previous deployed.dcf --format sarif > dcf.sarif
  dcf test content.dcf --manifest examples/manifests --events examples/events.jsonl
  dcf keygen --out release
  dcf sign content.dcf --key release.secret --manifest examples/manifests -o signed.dcf
  dcf verify signed.dcf --pubkey release.pub
  dcf inspect signed.dcf --hexdump

Exit codes: 0 every input accepted, 1 some content rejected, 2 usage or I/O error.
Diagnostic codes: format-spec/SPEC.md (E0xxx), DIAGNOSTICS.md (E1xxx, E2xxx, E4xxx, E9xxx),
LOADER.md (E3xxx), SIGMA.md (E5xxx).";

/// dcf: compile, validate, sign and inspect detection content for dcf sensors.
#[derive(Parser, Debug)]
#[command(name = "dcf", version, about, after_help = AFTER_HELP, max_term_width = 100)]
struct Cli {
    /// When to colour diagnostics (NO_COLOR is respected under `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Say more: which manifests were used or ignored, what was written.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Go on when directory expansion leaves inputs out (deeper than 32 levels, a link to a
    /// directory, an unreadable entry): each is printed as a note instead of failing (E9006).
    #[arg(long, global = true)]
    allow_skipped: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile YAML or JSON rule sources into canonical binary content.
    #[command(after_help = "\
Examples:
  dcf compile examples/rules --manifest examples/manifests -o content.dcf
  dcf compile rules/*.yaml --manifest fleet/ --sequence 42 --valid-for 14d -o content.dcf
  dcf compile --from sigma ../shared/sigma/rules --manifest sigma/manifests -o sigma.dcf
  dcf compile --from sigma rules/ -m sigma/manifests -o sigma.dcf --format json --fail-on-skip

Fields are named in sources and mapped to indexes through the manifests; the declared
interface of each template type is the longest field list among them.

With --from sigma, each Sigma rule becomes one rule of the content; log sources map to the
manifests' template types by name. Rules that cannot be compiled are reported one by one
(E5xxx, format-spec/SIGMA.md) and listed under `skipped` in --format json; they fail the
run only with --fail-on-skip. The header comes from the flags: --channel (default 0),
--sequence (default: the creation time in seconds, so later builds never roll back),
--created (default now), --valid-for (default 30d) or --expires.")]
    Compile(CompileArgs),
    /// Write a content back in its source form (YAML).
    #[command(after_help = "Example:\n  dcf decompile content.dcf -o content.yaml")]
    Decompile(DecompileArgs),
    /// Check content against every sensor manifest in its sensor range.
    #[command(after_help = "\
Examples:
  dcf validate content.dcf --manifest examples/manifests
  dcf validate out/ --manifest fleet/ --previous deployed.dcf --deny-warnings
  dcf validate content.dcf --manifest fleet/ --format json | jq .

Quiet when every file is accepted. Exit codes: 0 accepted, 1 rejected, 2 usage or I/O error.")]
    Validate(ValidateArgs),
    /// Run a content in the sensor's interpreter, bound to every targeted sensor version.
    #[command(after_help = "\
Examples:
  dcf test content.dcf --manifest examples/manifests
  dcf test content.dcf -m fleet/ --events expectations.jsonl --benign benign.jsonl
  dcf test content.dcf -m fleet/ --benign benign.jsonl --benign-threshold 0.1% --format json

For every sensor version in the content's range: binds every rule as the sensor's loader
does (a refused rule is named with its E3xxx code); runs every criterion on its own with a
value that satisfies it and one that does not, with and without the literal prefilter
(E4001-E4004); runs every rule on an event built from its criteria's matching values.

--events: JSON Lines, one event per line with the rules it must and must not match:
  {\"template\": \"process_creation\", \"fields\": {\"image\": \"C:\\\\x.exe\", \"pid\": 4},
   \"match\": [\"<rule id>\"], \"no_match\": [\"<rule id>\"]}
--benign: events of normal activity (same format); a rule that matches more than the
threshold share of the benign events of its template type is reported: an error for block
rules (E4201), a warning otherwise (E4202).

Exit codes: 0 passed, 1 a finding rejects the content, 2 usage or I/O error.")]
    Test(TestArgs),
    /// Summarise a content; `--format json` decodes it whole, `--hexdump` maps every byte.
    #[command(after_help = "\
Examples:
  dcf inspect content.dcf
  dcf inspect content.dcf --format json
  dcf inspect crash.dcf --hexdump")]
    Inspect(InspectArgs),
    /// Generate an Ed25519 signing key pair (NAME.secret, mode 0600, and NAME.pub).
    #[command(
        after_help = "Example:\n  dcf keygen --out release   # writes release.secret and release.pub"
    )]
    Keygen(KeygenArgs),
    /// Validate, then sign a content. Rejected content is never signed.
    #[command(after_help = "\
Example:
  dcf sign content.dcf --key release.secret --manifest examples/manifests -o signed.dcf")]
    Sign(SignArgs),
    /// Check a content's digest and signature against trusted public keys.
    #[command(
        after_help = "Example:\n  dcf verify signed.dcf --pubkey release.pub --pubkey backup.pub"
    )]
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Sensor manifest file, or directory of `*.toml` manifests; repeat for more (`-m A -m B`).
    #[arg(long = "manifest", short = 'm', value_name = "M", required = true, action = ArgAction::Append)]
    manifests: Vec<PathBuf>,
    /// The content deployed now on the channel: the new sequence number must exceed its.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
    /// Accept a sequence more than 2^32 above the --previous content's (E1407 otherwise).
    #[arg(long, requires = "previous")]
    allow_sequence_jump: bool,
    /// Check validity at this time (RFC 3339 or seconds since the epoch) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    now: Option<u64>,
    /// Reject content that has warnings.
    #[arg(long)]
    deny_warnings: bool,
}

/// The language of `dcf compile`'s sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SourceLanguage {
    /// dcf's own YAML/JSON rule sources (`format-spec/MANIFEST.md`, Authoring source).
    Dcf,
    /// Sigma rules (specification v2; `format-spec/SIGMA.md`).
    Sigma,
}

#[derive(Args, Debug)]
struct CompileArgs {
    /// Source files (`.yaml`, `.yml`, `.json`; Sigma: `.yml`, `.yaml`) or directories of them.
    #[arg(value_name = "SRC", required = true)]
    sources: Vec<PathBuf>,
    /// The sources' language.
    #[arg(long, value_enum, default_value_t = SourceLanguage::Dcf)]
    from: SourceLanguage,
    /// Sigma: fail the run (exit 1) when any rule is skipped.
    #[arg(long)]
    fail_on_skip: bool,
    /// Sensor manifest (file or directory) that maps field names to indexes; repeat for more.
    #[arg(long = "manifest", short = 'm', value_name = "M", action = ArgAction::Append)]
    manifests: Vec<PathBuf>,
    /// Output file.
    #[arg(short, long, value_name = "OUT.dcf")]
    output: PathBuf,
    /// Content channel (overrides the sources' header).
    #[arg(long)]
    channel: Option<u32>,
    /// Sequence number (overrides the sources' header).
    #[arg(long)]
    sequence: Option<u64>,
    /// Creation time, RFC 3339 or seconds (default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    created: Option<u64>,
    /// Expiry time, RFC 3339 or seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, conflicts_with = "valid_for")]
    expires: Option<u64>,
    /// Validity from the creation time, e.g. 30d, 12h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    valid_for: Option<u64>,
    /// Lowest targeted sensor version, e.g. 7.11.0.
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    sensor_min: Option<SensorVersion>,
    /// Highest targeted sensor version.
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    sensor_max: Option<SensorVersion>,
    /// The time used as default creation time (RFC 3339 or seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    now: Option<u64>,
    /// Output format of diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Args, Debug)]
struct DecompileArgs {
    /// A binary content file.
    file: PathBuf,
    /// Write the source here instead of standard output.
    #[arg(short, long, value_name = "OUT.yaml")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    /// Content files, or directories of `*.dcf` files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    check: CheckArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Threads, 1 to 256 (default: one per core, never more than there are files).
    #[arg(short, long, value_parser = parse_jobs)]
    jobs: Option<usize>,
}

#[derive(Args, Debug)]
struct TestArgs {
    /// The content file.
    file: PathBuf,
    /// Sensor manifest file, or directory of `*.toml` manifests; repeat for more (`-m A -m B`).
    #[arg(long = "manifest", short = 'm', value_name = "M", required = true, action = ArgAction::Append)]
    manifests: Vec<PathBuf>,
    /// Events with the rules each must and must not match (JSON Lines).
    #[arg(long, value_name = "EVENTS.jsonl")]
    events: Option<PathBuf>,
    /// Benign events (JSON Lines), for the blast-radius check.
    #[arg(long, value_name = "BENIGN.jsonl")]
    benign: Option<PathBuf>,
    /// Largest share of benign events of its template type a rule may match, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "1%", value_parser = test::parse_percent)]
    benign_threshold: f64,
    /// Reject content that has warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InspectFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
struct InspectArgs {
    /// A content file (it may be rejected: inspect shows what it can).
    file: PathBuf,
    /// `json`: the whole decoded content.
    #[arg(long, value_enum, default_value_t = InspectFormat::Human, conflicts_with = "hexdump")]
    format: InspectFormat,
    /// An annotated byte map: which structure each byte belongs to.
    #[arg(long)]
    hexdump: bool,
}

#[derive(Args, Debug)]
struct KeygenArgs {
    /// Base name: writes NAME.secret and NAME.pub.
    #[arg(long, value_name = "NAME")]
    out: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
struct SignArgs {
    /// The content to sign.
    file: PathBuf,
    /// Secret key file (from `dcf keygen`).
    #[arg(long, value_name = "SECRET")]
    key: PathBuf,
    #[command(flatten)]
    check: CheckArgs,
    /// Output file.
    #[arg(short, long, value_name = "OUT.dcf")]
    output: PathBuf,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// The signed content.
    file: PathBuf,
    /// Trusted public key file; repeat for more (`--pubkey A --pubkey B`).
    #[arg(long = "pubkey", value_name = "PUB", required = true, action = ArgAction::Append)]
    pubkeys: Vec<PathBuf>,
}

fn parse_time_arg(text: &str) -> Result<u64, String> {
    parse_time(text).ok_or_else(|| {
        format!("`{text}` is not an RFC 3339 time (2025-07-19T04:09:00Z) or seconds since 1970")
    })
}

fn parse_duration_arg(text: &str) -> Result<u64, String> {
    parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration such as 30d or 12h"))
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a thread count from 1 to {MAX_JOBS}"
        )),
    }
}

fn parse_version_arg(text: &str) -> Result<SensorVersion, String> {
    parse_version(text).ok_or_else(|| format!("`{text}` is not a version major.minor.patch"))
}

/// What every command needs to print.
struct Ctx {
    style: Style,
    verbose: bool,
    /// `--allow-skipped`.
    allow_skipped: bool,
}

impl Ctx {
    /// Expands command-line paths ([`io::expand`]) under this run's `--allow-skipped`.
    fn expand(&self, paths: &[PathBuf], extensions: &[&str], what: &str) -> Vec<Input> {
        let on_skip = if self.allow_skipped {
            io::OnSkip::Note
        } else {
            io::OnSkip::Fail
        };
        io::expand(paths, extensions, what, on_skip)
    }

    /// The files that expanding `paths` reads, for [`check_output`].
    fn input_files(&self, paths: &[PathBuf], extensions: &[&str]) -> Vec<PathBuf> {
        io::expand(paths, extensions, "inputs", io::OnSkip::Quiet)
            .into_iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(p),
                Input::Problem(..) => None,
            })
            .collect()
    }

    fn emit(&self, report: &FileReport) {
        let text = report::render_human(report, self.style, self.verbose);
        if !text.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
        }
    }

    fn emit_all(&self, reports: &[FileReport]) {
        for r in reports {
            self.emit(r);
        }
    }

    fn note(&self, text: &str) {
        if self.verbose {
            eprintln!("note: {text}");
        }
    }
}

fn stdout_write(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => OK,
        // A closed pipe (`dcf ... | head`) is not worth a panic or an error message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err(_) => USAGE,
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { USAGE } else { OK });
        }
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stderr_tty && !no_color,
    };
    let width = if stderr_tty {
        terminal_width().unwrap_or(100)
    } else {
        100
    };
    let ctx = Ctx {
        style: Style {
            color,
            width,
            wrap: stderr_tty,
        },
        verbose: cli.verbose,
        allow_skipped: cli.allow_skipped,
    };
    let code = match cli.command {
        Command::Compile(a) => compile(&ctx, a),
        Command::Decompile(a) => decompile(&ctx, a),
        Command::Validate(a) => validate(&ctx, a),
        Command::Test(a) => test::run(
            &ctx,
            test::TestJob {
                file: &a.file,
                manifests: &a.manifests,
                events: a.events.as_deref(),
                benign: a.benign.as_deref(),
                threshold: a.benign_threshold,
                format: a.format,
                deny_warnings: a.deny_warnings,
            },
        ),
        Command::Inspect(a) => inspect(&ctx, a),
        Command::Keygen(a) => keygen(&ctx, a),
        Command::Sign(a) => sign(&ctx, a),
        Command::Verify(a) => verify(&ctx, a),
    };
    ExitCode::from(code)
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .map(|w| w.min(160))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Loads the fleet: every manifest file or directory. On any problem, the reports to show.
fn load_fleet(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<(String, Manifest)>, Vec<FileReport>> {
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
                match crate::manifest::from_toml(&text) {
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
    let mut first_of: std::collections::HashMap<SensorVersion, usize> =
        std::collections::HashMap::with_capacity(fleet.len());
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
        let mut seen = std::collections::HashSet::with_capacity(fleet.len());
        fleet.retain(|(_, m)| seen.insert(m.version));
        fleet.sort_by_key(|(_, m)| m.version);
        Ok(fleet)
    } else {
        Err(problems)
    }
}

/// Reads a content file with the format's limit.
fn read_content(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    read_bounded(path, MAX_FILE_SIZE as u64).map_err(|e| match e {
        // Larger than the format allows: that is the parser's E0101, reported without
        // reading the file.
        ReadError::TooLarge { len, .. } => Diagnostic::from_parse_error(
            &dcf_parser::Error::new(dcf_parser::ErrorCode::FileTooLarge, MAX_FILE_SIZE)
                .expected(MAX_FILE_SIZE as u64)
                .found(len),
        ),
        other => other.diagnostic("the content"),
    })
}

/// The options of the semantic checks, or the report that explains why there are none.
fn check_options(args: &CheckArgs) -> Result<Options, FileReport> {
    let previous = match &args.previous {
        None => None,
        Some(path) => {
            let name = display(path);
            let bytes = read_content(path).map_err(|d| {
                let d = match d.check_code() {
                    Some(_) => d,
                    None => Diagnostic::new(Code::PreviousRejected, d.message),
                };
                FileReport::plain(name.clone(), vec![d])
            })?;
            match dcf_parser::parse(&bytes) {
                Ok(view) => Some(Previous {
                    name: name.clone(),
                    channel: view.header().channel,
                    sequence: view.header().sequence,
                    allow_jump: args.allow_sequence_jump,
                }),
                Err(e) => {
                    return Err(FileReport::plain(
                        name,
                        vec![
                            Diagnostic::new(
                                Code::PreviousRejected,
                                format!("the --previous content is rejected: {e}"),
                            )
                            .help("pass the content currently deployed on the channel"),
                        ],
                    ));
                }
            }
        }
    };
    Ok(Options {
        now: args.now.unwrap_or_else(now),
        previous,
    })
}

fn exit_code(reports: &[FileReport], deny_warnings: bool) -> u8 {
    if reports.iter().any(FileReport::has_usage_error) {
        USAGE
    } else if reports.iter().all(|r| r.valid(deny_warnings)) {
        OK
    } else {
        REJECTED
    }
}

/// Prints reports in the chosen format and returns the exit code.
fn finish(ctx: &Ctx, reports: &[FileReport], format: Format, deny_warnings: bool) -> u8 {
    let code = exit_code(reports, deny_warnings);
    let out = match format {
        Format::Human => {
            ctx.emit_all(reports);
            let count = |severity| {
                reports
                    .iter()
                    .flat_map(|r| &r.diagnostics)
                    .filter(|d| d.severity() == severity)
                    .count()
            };
            let (errors, warnings) = (
                count(crate::codes::Severity::Error),
                count(crate::codes::Severity::Warning),
            );
            // Inputs, not reports: findings about a whole compile can come as a second
            // report on the same file.
            let inputs: std::collections::HashSet<&str> =
                reports.iter().map(|r| r.path.as_str()).collect();
            if errors + warnings > 0 && inputs.len() > 1 {
                let rejected: std::collections::HashSet<&str> = reports
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
            return code;
        }
        Format::Json => report::json_document(reports, deny_warnings),
        Format::Sarif => report::sarif_document(reports),
    };
    let text = serde_json::to_string_pretty(&out).unwrap_or_default() + "\n";
    match stdout_write(&text) {
        OK => code,
        other => other,
    }
}

fn validate(ctx: &Ctx, args: ValidateArgs) -> u8 {
    let fleet = match load_fleet(ctx, &args.check.manifests) {
        Ok(f) => f,
        Err(problems) => return finish(ctx, &problems, args.format, false),
    };
    let options = match check_options(&args.check) {
        Ok(o) => o,
        Err(r) => return finish(ctx, &[r], args.format, false),
    };
    let manifests: Vec<Manifest> = fleet.into_iter().map(|(_, m)| m).collect();
    let inputs = ctx.expand(&args.files, &["dcf"], "content files");
    // No more threads than files: `-j 256` on one file starts one.
    let threads = args.jobs.map_or(0, |j| j.min(inputs.len().max(1)));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let progress = (std::io::stderr().is_terminal() && inputs.len() > 1).then(|| {
        let bar = indicatif::ProgressBar::new(inputs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} validating {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let run = || -> Vec<FileReport> {
        inputs
            .par_iter()
            .map(|input| {
                let r = validate_input(input, &manifests, &options);
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                r
            })
            .collect()
    };
    let reports = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    finish(ctx, &reports, args.format, args.check.deny_warnings)
}

fn validate_input(input: &Input, fleet: &[Manifest], options: &Options) -> FileReport {
    match input {
        Input::Problem(path, d) => FileReport::plain(display(path), vec![d.clone()]),
        Input::File(path) => {
            let name = display(path);
            match read_content(path) {
                Err(d) => FileReport::plain(name, vec![d]),
                Ok(bytes) => {
                    let v = validate_bytes(&bytes, fleet, options);
                    let mut r = FileReport::binary(name, v.diagnostics, &bytes);
                    r.notes = v.notes;
                    r
                }
            }
        }
    }
}

/// Reads every source; a problem stops the compile (exit 2 for I/O, 1 for bad text).
fn read_sources(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<SourceFile>, Vec<FileReport>> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for input in ctx.expand(paths, SOURCE_EXTENSIONS, "rule sources") {
        match input {
            Input::Problem(path, d) => problems.push(FileReport::plain(display(&path), vec![d])),
            Input::File(path) => {
                let name = display(&path);
                match read_bounded(&path, MAX_SOURCE_SIZE) {
                    Err(e) => {
                        problems.push(FileReport::plain(name, vec![e.diagnostic("the source")]))
                    }
                    Ok(bytes) => match source::read_source(&name, bytes) {
                        Ok(s) => sources.push(s),
                        Err(d) => problems.push(FileReport::plain(name, vec![d])),
                    },
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(problems)
    }
}

/// Extensions of dcf rule sources in a directory.
const SOURCE_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Refuses an output that is not a regular file or that is one of the inputs: the files that
/// `groups` (paths and the extensions their directories are expanded with) name.
fn refuse_output(
    ctx: &Ctx,
    output: &Path,
    groups: &[(&[PathBuf], &[&str])],
    format: Format,
) -> Result<(), u8> {
    let inputs: Vec<PathBuf> = groups
        .iter()
        .flat_map(|(paths, extensions)| ctx.input_files(paths, extensions))
        .collect();
    check_output(output, &inputs).map_err(|d| {
        finish(
            ctx,
            &[FileReport::plain(display(output), vec![d])],
            format,
            false,
        )
    })
}

fn compile(ctx: &Ctx, args: CompileArgs) -> u8 {
    let extensions = match args.from {
        SourceLanguage::Dcf => SOURCE_EXTENSIONS,
        SourceLanguage::Sigma => compile_sigma::RULE_EXTENSIONS,
    };
    if let Err(code) = refuse_output(
        ctx,
        &args.output,
        &[(&args.sources, extensions), (&args.manifests, &["toml"])],
        args.format,
    ) {
        return code;
    }
    if args.from == SourceLanguage::Sigma {
        return compile_from_sigma(ctx, args);
    }
    if args.fail_on_skip {
        eprintln!("error: --fail-on-skip applies to --from sigma only");
        return USAGE;
    }
    let fleet = if args.manifests.is_empty() {
        Vec::new()
    } else {
        match load_fleet(ctx, &args.manifests) {
            Ok(f) => f,
            Err(problems) => return finish(ctx, &problems, args.format, false),
        }
    };
    let sources = match read_sources(ctx, &args.sources) {
        Ok(s) => s,
        Err(problems) => return finish(ctx, &problems, args.format, false),
    };
    let overrides = HeaderOverrides {
        channel: args.channel,
        sequence: args.sequence,
        created: args.created,
        expires: args.expires,
        valid_for: args.valid_for,
        sensor_min: args.sensor_min,
        sensor_max: args.sensor_max,
    };
    let compiled = source::compile(&sources, &fleet, &overrides, args.now.unwrap_or_else(now));
    let mut reports: Vec<FileReport> = sources
        .iter()
        .map(|s| FileReport {
            path: s.name.clone(),
            diagnostics: Vec::new(),
            origin: Origin::Text(Arc::from(s.text.as_str())),
            notes: Vec::new(),
        })
        .collect();
    // Findings about the sources as a whole go to the one source, or to the output.
    let general_path = match sources.as_slice() {
        [one] => one.name.clone(),
        _ => display(&args.output),
    };
    let mut general = FileReport::plain(general_path, Vec::new());
    for located in compiled.diagnostics {
        match located.source.and_then(|i| reports.get_mut(i)) {
            Some(r) => r.diagnostics.push(located.diagnostic),
            None => general.diagnostics.push(located.diagnostic),
        }
    }
    if !general.diagnostics.is_empty() {
        reports.push(general);
    }
    let Some(content) = compiled.content else {
        return finish(ctx, &reports, args.format, false);
    };
    let bytes = match content.encode() {
        Ok(b) => b,
        Err(e) => {
            let r = FileReport::plain(
                display(&args.output),
                vec![Diagnostic::new(
                    Code::EncodeRejected,
                    format!("the format writer refuses the content: {e}"),
                )],
            );
            return finish(ctx, &[r], args.format, false);
        }
    };
    if let Err(d) = write_atomic(&args.output, &bytes) {
        return finish(
            ctx,
            &[FileReport::plain(display(&args.output), vec![d])],
            args.format,
            false,
        );
    }
    ctx.note(&format!(
        "wrote {} ({} bytes, {} rules, sequence {}, valid until {})",
        display(&args.output),
        bytes.len(),
        content.rules.len(),
        content.header.sequence,
        format_rfc3339(content.header.expires_at)
    ));
    finish(ctx, &reports, args.format, false)
}

fn compile_from_sigma(ctx: &Ctx, args: CompileArgs) -> u8 {
    if let Err(code) = compile_sigma::reject_dcf_only_flags(&[
        ("--sensor-min", args.sensor_min.is_some()),
        ("--sensor-max", args.sensor_max.is_some()),
    ]) {
        return code;
    }
    if args.manifests.is_empty() {
        eprintln!(
            "error: --from sigma needs --manifest: the sensors whose template types the log sources map to (SigmaHQ rules: sigma/manifests)"
        );
        return USAGE;
    }
    let fleet = match load_fleet(ctx, &args.manifests) {
        Ok(f) => f,
        Err(problems) => return finish(ctx, &problems, args.format, false),
    };
    let created = args.created.unwrap_or_else(|| args.now.unwrap_or_else(now));
    let expires = match (args.expires, args.valid_for) {
        (Some(at), _) => at,
        (None, valid_for) => {
            created.saturating_add(valid_for.unwrap_or(compile_sigma::DEFAULT_VALID_FOR))
        }
    };
    if expires <= created {
        eprintln!(
            "error: the content would expire ({}) at or before its creation ({})",
            format_rfc3339(expires),
            format_rfc3339(created)
        );
        return USAGE;
    }
    let job = compile_sigma::SigmaCompile {
        paths: &args.sources,
        output: &args.output,
        options: dcf_sigma::ImportOptions {
            channel: args.channel.unwrap_or(0),
            sequence: args.sequence.unwrap_or(created),
            created_at: created,
            expires_at: expires,
        },
        fail_on_skip: args.fail_on_skip,
        format: args.format,
    };
    compile_sigma::run(ctx, fleet, job)
}

/// Reads and parses a content for the commands that need it whole.
fn load_content(path: &Path) -> Result<Content, FileReport> {
    let name = display(path);
    let bytes = read_content(path).map_err(|d| FileReport::plain(name.clone(), vec![d]))?;
    match dcf_parser::parse(&bytes) {
        Ok(view) => Ok(Content::from_view(&view)),
        Err(e) => Err(FileReport::binary(
            name,
            vec![Diagnostic::from_parse_error(&e)],
            &bytes,
        )),
    }
}

fn decompile(ctx: &Ctx, args: DecompileArgs) -> u8 {
    if let Some(out) = &args.output
        && let Err(code) = refuse_output(
            ctx,
            out,
            &[(std::slice::from_ref(&args.file), &[])],
            Format::Human,
        )
    {
        return code;
    }
    let content = match load_content(&args.file) {
        Ok(c) => c,
        Err(r) => return finish(ctx, &[r], Format::Human, false),
    };
    let text = source::decompile(&content);
    match &args.output {
        None => stdout_write(&text),
        Some(out) => match write_atomic(out, text.as_bytes()) {
            Ok(()) => OK,
            Err(d) => finish(
                ctx,
                &[FileReport::plain(display(out), vec![d])],
                Format::Human,
                false,
            ),
        },
    }
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> u8 {
    let name = display(&args.file);
    // Machine-readable output carries every error, including those found before the bytes
    // are read (E0101 by the file's size, I/O errors).
    let error_format = match args.format {
        InspectFormat::Json => Format::Json,
        InspectFormat::Human => Format::Human,
    };
    let bytes = match read_content(&args.file) {
        Ok(b) => b,
        Err(d) => {
            return finish(
                ctx,
                &[FileReport::plain(name, vec![d])],
                error_format,
                false,
            );
        }
    };
    let parsed = dcf_parser::parse(&bytes);
    let error = parsed.as_ref().err().copied();
    if args.hexdump {
        let text = hexdump::render(&bytes, error.as_ref());
        let code = stdout_write(&text);
        if code != OK {
            return code;
        }
        return match error {
            Some(e) => {
                ctx.emit(&FileReport::binary(
                    name,
                    vec![Diagnostic::from_parse_error(&e)],
                    &bytes,
                ));
                REJECTED
            }
            None => OK,
        };
    }
    match parsed {
        Err(e) => {
            let r =
                FileReport::binary(name.clone(), vec![Diagnostic::from_parse_error(&e)], &bytes);
            if args.format == InspectFormat::Json {
                finish(ctx, &[r], Format::Json, false)
            } else {
                // Show what the frame says, when it can be read, before the rejection.
                if let Ok(frame) = Frame::read(&bytes) {
                    let _ = stdout_write(&header_summary(&name, bytes.len(), frame.header(), None));
                }
                finish(ctx, &[r], Format::Human, false)
            }
        }
        Ok(view) => {
            let content = Content::from_view(&view);
            let text = match args.format {
                InspectFormat::Json => {
                    serde_json::to_string_pretty(&content).unwrap_or_default() + "\n"
                }
                InspectFormat::Human => summary(&name, &bytes, &content),
            };
            stdout_write(&text)
        }
    }
}

fn header_summary(
    name: &str,
    len: usize,
    h: &dcf_parser::Header,
    signature: Option<&Signature>,
) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{name}: dcf content, {len} bytes, format 1.{}\n",
        h.minor
    ));
    s.push_str(&format!("  channel      {}\n", h.channel));
    s.push_str(&format!("  sequence     {}\n", h.sequence));
    s.push_str(&format!(
        "  created      {}\n",
        format_rfc3339(h.created_at)
    ));
    s.push_str(&format!(
        "  expires      {}\n",
        format_rfc3339(h.expires_at)
    ));
    s.push_str(&format!(
        "  sensors      {} ..= {}\n",
        h.sensor_min, h.sensor_max
    ));
    if let Some(sig) = signature {
        s.push_str(&format!(
            "  signed by    key {}\n",
            keys::to_hex(&sig.key_id)
        ));
    }
    s
}

fn summary(name: &str, bytes: &[u8], c: &Content) -> String {
    let mut s = header_summary(name, bytes.len(), &c.header, c.signature.as_ref());
    if c.signature.is_none() {
        s.push_str("  signed by    (unsigned)\n");
    }
    if let Ok(frame) = Frame::read(bytes) {
        s.push_str(&format!(
            "  digest       {}\n",
            keys::to_hex(frame.digest())
        ));
    }
    s.push_str(&format!("templates ({}):\n", c.templates.len()));
    for t in &c.templates {
        let used = c.rules.iter().filter(|r| r.template == t.id).count();
        s.push_str(&format!(
            "  {:>5} {:<24} {:>3} fields, {used} rules\n",
            t.id,
            t.name,
            t.fields.len()
        ));
    }
    s.push_str(&format!("rules ({}):\n", c.rules.len()));
    for r in &c.rules {
        let template = c.template(r.template).map_or("?", |t| t.name.as_str());
        s.push_str(&format!(
            "  {}  {:<6} {:<13} {:<20} {}\n",
            r.id,
            r.action.name(),
            r.severity.name(),
            template,
            r.title
        ));
    }
    if !c.extensions.is_empty() {
        s.push_str(&format!("extension sections ({}):\n", c.extensions.len()));
        for e in &c.extensions {
            s.push_str(&format!("  tag {} ({} bytes)\n", e.tag, e.payload.len()));
        }
    }
    s
}

fn keygen(ctx: &Ctx, args: KeygenArgs) -> u8 {
    let mut seed = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut seed) {
        eprintln!("error[E9001]: the operating system's random source failed: {e}");
        return USAGE;
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    // The names as given (OS strings): a name that is not UTF-8 is used byte for byte, never
    // converted to another name.
    let with_suffix = |suffix: &str| {
        let mut name = args.out.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let secret_path = with_suffix(".secret");
    let public_path = with_suffix(".pub");
    let public = key.verifying_key();
    let pair = [
        KeyFile {
            path: &secret_path,
            text: keys::secret_text(&key),
            mode: 0o600,
        },
        KeyFile {
            path: &public_path,
            text: keys::public_text(&public),
            mode: 0o644,
        },
    ];
    if let Err(r) = write_key_pair(&pair, args.force) {
        return finish(ctx, &[r], Format::Human, false);
    }
    stdout_write(&format!(
        "key id {}\nsecret key: {} (keep it private)\npublic key: {}\n",
        keys::to_hex(&keys::key_id(&public)),
        display(&secret_path),
        display(&public_path)
    ))
}

/// One file of a key pair.
struct KeyFile<'a> {
    path: &'a Path,
    text: String,
    /// Permission bits from the first byte on (Unix).
    mode: u32,
}

/// Writes a key pair so that a failure at any point leaves what was there before, and no key
/// is ever written through a link or into a file somebody else made:
/// 1. both files are written in full to new temporary files beside their targets (created
///    exclusively, `O_CREAT | O_EXCL`, which never follows a link, with their final mode from
///    the first byte) and synced;
/// 2. only then are they put in place: without `--force` by `link`, which fails if the name
///    exists (even as a dangling link), so nothing is overwritten; with `--force` by `rename`,
///    which replaces the name itself, never what a link points to.
///
/// A disk that fills up fails in step 1, before any old key is touched. Step 2 is two
/// operations, so only a crash between them can leave a new secret beside an old public key.
fn write_key_pair(pair: &[KeyFile<'_>], force: bool) -> Result<(), FileReport> {
    let fail = |path: &Path, e: &std::io::Error| {
        FileReport::plain(
            display(path),
            vec![Diagnostic::new(
                Code::WriteFailed,
                format!("cannot write {}: {}", display(path), io::io_text(e)),
            )],
        )
    };
    let exists = |path: &Path| {
        FileReport::plain(
            display(path),
            vec![
                Diagnostic::new(
                    Code::KeyExists,
                    format!("{} exists; refusing to overwrite a key", display(path)),
                )
                .help("choose another --out name, or pass --force"),
            ],
        )
    };
    for file in pair {
        match std::fs::symlink_metadata(file.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(file.path, &e)),
            Ok(_) if !force => return Err(exists(file.path)),
            // --force replaces regular files only; a link or a device stays as it is.
            Ok(_) => check_output(file.path, &[])
                .map_err(|d| FileReport::plain(display(file.path), vec![d]))?,
        }
        io::create_parent(file.path).map_err(|e| fail(file.path, &e))?;
    }
    let mut written: Vec<PathBuf> = Vec::new();
    let cleanup = |written: &[PathBuf]| {
        for tmp in written {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for file in pair {
        let (tmp, mut f) = match io::create_temporary(file.path, Some(file.mode)) {
            Ok(t) => t,
            Err(e) => {
                cleanup(&written);
                return Err(fail(file.path, &e));
            }
        };
        written.push(tmp);
        if let Err(e) = f
            .write_all(file.text.as_bytes())
            .and_then(|()| f.sync_all())
        {
            cleanup(&written);
            return Err(fail(file.path, &e));
        }
    }
    for (i, (file, tmp)) in pair.iter().zip(&written).enumerate() {
        let placed = if force {
            std::fs::rename(tmp, file.path)
        } else {
            std::fs::hard_link(tmp, file.path).and_then(|()| std::fs::remove_file(tmp))
        };
        if let Err(e) = placed {
            cleanup(written.get(i..).unwrap_or(&[]));
            // Without --force, a file placed before this one is ours alone: take it back so
            // that no half pair remains.
            if !force {
                for earlier in pair.iter().take(i) {
                    let _ = std::fs::remove_file(earlier.path);
                }
            }
            return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                exists(file.path)
            } else {
                fail(file.path, &e)
            });
        }
    }
    Ok(())
}

fn read_key_file(path: &Path) -> Result<String, FileReport> {
    let name = display(path);
    let bytes = read_bounded(path, MAX_KEY_FILE_SIZE)
        .map_err(|e| FileReport::plain(name.clone(), vec![e.diagnostic("the key file")]))?;
    String::from_utf8(bytes).map_err(|_| {
        FileReport::plain(
            name,
            vec![
                Diagnostic::new(Code::KeyFile, "the key file is not text")
                    .help("format-spec/KEYS.md describes key files"),
            ],
        )
    })
}

fn key_problem(path: &Path, message: String) -> FileReport {
    FileReport::plain(
        display(path),
        vec![
            Diagnostic::new(Code::KeyFile, message).help("format-spec/KEYS.md describes key files"),
        ],
    )
}

fn sign(ctx: &Ctx, args: SignArgs) -> u8 {
    let single = [args.file.clone(), args.key.clone()];
    let previous: Vec<PathBuf> = args.check.previous.iter().cloned().collect();
    if let Err(code) = refuse_output(
        ctx,
        &args.output,
        &[
            (&single, &[]),
            (&previous, &[]),
            (&args.check.manifests, &["toml"]),
        ],
        Format::Human,
    ) {
        return code;
    }
    let key = match read_key_file(&args.key)
        .and_then(|t| keys::parse_secret(&t).map_err(|m| key_problem(&args.key, m)))
    {
        Ok(k) => k,
        Err(r) => return finish(ctx, &[r], Format::Human, false),
    };
    let fleet = match load_fleet(ctx, &args.check.manifests) {
        Ok(f) => f,
        Err(problems) => return finish(ctx, &problems, Format::Human, false),
    };
    let options = match check_options(&args.check) {
        Ok(o) => o,
        Err(r) => return finish(ctx, &[r], Format::Human, false),
    };
    let manifests: Vec<Manifest> = fleet.into_iter().map(|(_, m)| m).collect();
    // The bytes validated are the bytes signed: the file is read once.
    let name = display(&args.file);
    let input = match read_content(&args.file) {
        Ok(b) => b,
        Err(d) => {
            return finish(
                ctx,
                &[FileReport::plain(name, vec![d])],
                Format::Human,
                false,
            );
        }
    };
    let v = validate_bytes(&input, &manifests, &options);
    let mut report = FileReport::binary(name, v.diagnostics, &input);
    report.notes = v.notes;
    if !report.valid(args.check.deny_warnings) {
        let code = finish(
            ctx,
            std::slice::from_ref(&report),
            Format::Human,
            args.check.deny_warnings,
        );
        eprintln!("error: {} was rejected; it was not signed", report.path);
        return code;
    }
    ctx.emit(&report);
    let mut content = match Content::decode(&input) {
        Ok(c) => c,
        Err(e) => {
            let r = FileReport::binary(report.path, vec![Diagnostic::from_parse_error(&e)], &input);
            return finish(ctx, &[r], Format::Human, false);
        }
    };
    let bytes = match keys::sign_content(&mut content, &key) {
        Ok(b) => b,
        Err(e) => {
            let r = FileReport::plain(
                display(&args.file),
                vec![Diagnostic::new(
                    Code::EncodeRejected,
                    format!("cannot re-encode the content: {e}"),
                )],
            );
            return finish(ctx, &[r], Format::Human, false);
        }
    };
    // Check the result before it leaves: it parses, it verifies, and it is the input but for
    // the signature.
    let self_check = keys::verify_signature(&bytes, &[key.verifying_key()]).is_ok()
        && Content::decode(&bytes).is_ok_and(|mut signed| {
            signed.signature = None;
            let mut unsigned = content.clone();
            unsigned.signature = None;
            signed == unsigned
        });
    if !self_check {
        let r = FileReport::plain(
            display(&args.file),
            vec![Diagnostic::new(
                Code::EncodeRejected,
                "the signed content failed its own verification; nothing was written",
            )],
        );
        return finish(ctx, &[r], Format::Human, false);
    }
    if let Err(d) = write_atomic(&args.output, &bytes) {
        return finish(
            ctx,
            &[FileReport::plain(display(&args.output), vec![d])],
            Format::Human,
            false,
        );
    }
    ctx.note(&format!(
        "signed {} with key {} into {}",
        display(&args.file),
        keys::to_hex(&keys::key_id(&key.verifying_key())),
        display(&args.output)
    ));
    OK
}

fn verify(ctx: &Ctx, args: VerifyArgs) -> u8 {
    let mut trusted = Vec::new();
    for path in &args.pubkeys {
        match read_key_file(path)
            .and_then(|t| keys::parse_public(&t).map_err(|m| key_problem(path, m)))
        {
            Ok(k) => trusted.push(k),
            Err(r) => return finish(ctx, &[r], Format::Human, false),
        }
    }
    let name = display(&args.file);
    let bytes = match read_content(&args.file) {
        Ok(b) => b,
        Err(d) => {
            return finish(
                ctx,
                &[FileReport::plain(name, vec![d])],
                Format::Human,
                false,
            );
        }
    };
    let diagnostics = keys::verify_signature(&bytes, &trusted);
    match diagnostics {
        Ok(key_id) => stdout_write(&format!(
            "{name}: verified, signed by key {}\n",
            keys::to_hex(&key_id)
        )),
        Err(d) => finish(
            ctx,
            &[FileReport::binary(name, vec![d], &bytes)],
            Format::Human,
            false,
        ),
    }
}
