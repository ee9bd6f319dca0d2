//! The command line as clap reads it: every command, flag and help text, and the parsers of
//! flag values. What each command does is in `commands/`; this file decides nothing.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use dcf_parser::SensorVersion;
use dcf_validator::limits::MAX_JOBS;
use dcf_validator::manifest::parse_version;
use dcf_validator::time::{parse_duration, parse_time};

use crate::report::Format;

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
  dcf publish repo --keys tuf-keys --init signed.dcf --plan plan.toml
  dcf rollout advance repo --keys tuf-keys --reports reports/

Exit codes: 0 every input accepted, 1 some content rejected, 2 usage or I/O error.
Diagnostic codes: format-spec/SPEC.md (E0xxx), DIAGNOSTICS.md (E1xxx, E2xxx, E4xxx, E9xxx),
LOADER.md (E3xxx), SIGMA.md (E5xxx), ROLLOUT.md (E6xxx).";

/// dcf: compile, validate, sign and inspect detection content for dcf sensors.
#[derive(Parser, Debug)]
#[command(name = "dcf", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// When to colour diagnostics (NO_COLOR is respected under `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Say more: which manifests were used or ignored, what was written.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Go on when directory expansion leaves inputs out (deeper than 32 levels, a link to a
    /// directory, an unreadable entry): each is printed as a note instead of failing (E9006).
    #[arg(long, global = true)]
    pub(crate) allow_skipped: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
    /// Run a content over log files and print what matched.
    #[command(after_help = "\
Examples:
  dcf scan content.dcf examples/events.jsonl
  dcf scan sigma.dcf -m sigma/manifests windows-events.jsonl --format jsonl
  dcf scan sigma.dcf -m sigma/manifests logs/*.jsonl --format csv --jobs 4 --stats

Events are JSON Lines: events as `dcf test` reads them ({\"template\": …, \"fields\": {…}}),
Windows events as evtx converters write them ({\"Event\": {\"System\": …, \"EventData\": …}}),
or flat JSON objects as SIEMs emit them ({\"EventID\": 1, \"Channel\": …, \"Image\": …});
Windows events go to every log source the adapter routes them to. The content is bound by the
sensor's binder to the interface it declares, or with --manifest to the first manifest in its
sensor range. One line per match: file:line, severity, action, rule id, title and author.

Exit codes: 0 scanned (whether or not anything matched), 1 the content cannot run (E3xxx),
2 usage or I/O error, or lines that are not events (E9301, each reported).")]
    Scan(ScanArgs),
    /// Publish a signed content into a TUF repository, with its rollout plan.
    #[command(after_help = "\
Examples:
  dcf publish repo --keys tuf-keys --init signed.dcf
  dcf publish repo --keys tuf-keys signed.dcf --plan plan.toml

The repository (REPO/metadata, REPO/targets) is static files for any web server or CDN; the
keys directory is private. --init creates both (Ed25519 keys for the root, targets, snapshot
and timestamp roles, --threshold of each). The plan (format-spec/ROLLOUT.md) defaults to 1 %
at once, 10 % after 4h, 50 % after a day, everyone after 3 days; the first wave of every
track is approved at once, the next ones by `dcf rollout advance`.

Exit codes: 0 published, 1 the content is refused (E6205 unsigned, E6206 sequence not
above the channel's), 2 usage, plan (E6202) or repository (E6204) error.")]
    Publish(PublishArgs),
    /// Judge, advance, halt or roll back a channel's rollout by the sensors' health reports.
    #[command(after_help = "\
Examples:
  dcf rollout status repo --reports reports/
  dcf rollout advance repo --keys tuf-keys --reports reports/ --gates gates.toml
  dcf rollout halt repo --keys tuf-keys --reason \"crash reports from the canary ring\"
  dcf rollout rollback repo --keys tuf-keys --key release.secret --manifest fleet/

advance halts the rollout when a health gate fails (E6301 refusals, E6302 quarantines, E6303
evaluation errors, E6304 a rule far noisier than before, E6305 evaluation cost) and otherwise
opens the next wave whose time has come; run it on a schedule. rollback republishes the last
good content's rules under the next sequence, validated and signed, for every sensor at once.

Exit codes: 0 the gates pass (status, advance) or the change was published, 1 a gate failed
and the rollout is (or was already) halted, 2 usage or repository error.")]
    Rollout(RolloutArgs),
}

#[derive(Args, Debug)]
pub(crate) struct PublishArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The signed content to publish (optional with --init).
    pub(crate) content: Option<PathBuf>,
    /// The directory of the repository's private keys.
    #[arg(long, value_name = "DIR")]
    pub(crate) keys: PathBuf,
    /// Create the repository and its keys first.
    #[arg(long)]
    pub(crate) init: bool,
    /// With --init: keys per role, and signatures each role needs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub(crate) threshold: u64,
    /// The rollout plan (TOML, format-spec/ROLLOUT.md); default: staged over 3 days.
    #[arg(long, value_name = "FILE")]
    pub(crate) plan: Option<PathBuf>,
    /// The plan's start and the publishing time (seconds since the epoch or RFC 3339);
    /// default now.
    #[arg(long, value_parser = parse_time_arg)]
    pub(crate) now: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RolloutAction {
    /// Judge the current rollout by the reports; change nothing.
    Status,
    /// Halt on a failed gate, else open the next wave whose time has come.
    Advance,
    /// Halt the current rollout by hand.
    Halt,
    /// Halt it and republish the last good content under the next sequence.
    Rollback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RolloutFormat {
    /// For people.
    Human,
    /// One JSON object.
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct RolloutArgs {
    /// What to do.
    #[arg(value_enum)]
    pub(crate) action: RolloutAction,
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The channel (default: the repository's only one).
    #[arg(long)]
    pub(crate) channel: Option<u32>,
    /// The directory of the sensors' health reports (status, advance).
    #[arg(long, value_name = "DIR")]
    pub(crate) reports: Option<PathBuf>,
    /// Gate thresholds (TOML, format-spec/ROLLOUT.md); default: the spec's defaults.
    #[arg(long, value_name = "FILE")]
    pub(crate) gates: Option<PathBuf>,
    /// The repository's private keys (advance, halt, rollback).
    #[arg(long, value_name = "DIR")]
    pub(crate) keys: Option<PathBuf>,
    /// rollback: the release key that signs the republished content.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// rollback: sensor manifests the republished content is validated against.
    #[arg(long = "manifest", short = 'm', value_name = "M", action = ArgAction::Append)]
    pub(crate) manifests: Vec<PathBuf>,
    /// halt, rollback: why (recorded in the signed metadata).
    #[arg(long, default_value = "halted by the release owner")]
    pub(crate) reason: String,
    /// The time decisions are made at (seconds since the epoch or RFC 3339); default now.
    #[arg(long, value_parser = parse_time_arg)]
    pub(crate) now: Option<u64>,
    /// How the result is printed.
    #[arg(long, value_enum, default_value_t = RolloutFormat::Human)]
    pub(crate) format: RolloutFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    /// One line per match, for people.
    Table,
    /// One JSON object per match.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

#[derive(Args, Debug)]
pub(crate) struct ScanArgs {
    /// The content (signed or not).
    pub(crate) content: PathBuf,
    /// JSON Lines files of events.
    #[arg(value_name = "EVENTS", required = true)]
    pub(crate) events: Vec<PathBuf>,
    /// Sensor manifest (file or directory) to bind the content to; default: the interface the
    /// content declares.
    #[arg(long = "manifest", short = 'm', value_name = "M", action = ArgAction::Append)]
    pub(crate) manifests: Vec<PathBuf>,
    /// How matches are printed.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub(crate) format: ScanFormat,
    /// Threads evaluating events (default: one per core).
    #[arg(long, value_parser = parse_jobs)]
    pub(crate) jobs: Option<usize>,
    /// Print the count of events, matches and unrouted events on standard error.
    #[arg(long)]
    pub(crate) stats: bool,
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Sensor manifest file, or directory of `*.toml` manifests; repeat for more (`-m A -m B`).
    #[arg(long = "manifest", short = 'm', value_name = "M", required = true, action = ArgAction::Append)]
    pub(crate) manifests: Vec<PathBuf>,
    /// The content deployed now on the channel: the new sequence number must exceed its.
    #[arg(long, value_name = "FILE")]
    pub(crate) previous: Option<PathBuf>,
    /// Accept a sequence more than 2^32 above the --previous content's (E1407 otherwise).
    #[arg(long, requires = "previous")]
    pub(crate) allow_sequence_jump: bool,
    /// Check validity at this time (RFC 3339 or seconds since the epoch) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub(crate) now: Option<u64>,
    /// Reject content that has warnings.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
}

/// The language of `dcf compile`'s sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SourceLanguage {
    /// dcf's own YAML/JSON rule sources (`format-spec/MANIFEST.md`, Authoring source).
    Dcf,
    /// Sigma rules (specification v2; `format-spec/SIGMA.md`).
    Sigma,
}

#[derive(Args, Debug)]
pub(crate) struct CompileArgs {
    /// Source files (`.yaml`, `.yml`, `.json`; Sigma: `.yml`, `.yaml`) or directories of them.
    #[arg(value_name = "SRC", required = true)]
    pub(crate) sources: Vec<PathBuf>,
    /// The sources' language.
    #[arg(long, value_enum, default_value_t = SourceLanguage::Dcf)]
    pub(crate) from: SourceLanguage,
    /// Sigma: fail the run (exit 1) when any rule is skipped.
    #[arg(long)]
    pub(crate) fail_on_skip: bool,
    /// Sigma: the values of the placeholders `|expand` values name (`%name%`), a YAML
    /// mapping of names to a value or a list of values.
    #[arg(long, value_name = "FILE")]
    pub(crate) placeholders: Option<PathBuf>,
    /// Sensor manifest (file or directory) that maps field names to indexes; repeat for more.
    #[arg(long = "manifest", short = 'm', value_name = "M", action = ArgAction::Append)]
    pub(crate) manifests: Vec<PathBuf>,
    /// Output file.
    #[arg(short, long, value_name = "OUT.dcf")]
    pub(crate) output: PathBuf,
    /// Content channel (overrides the sources' header).
    #[arg(long)]
    pub(crate) channel: Option<u32>,
    /// Sequence number (overrides the sources' header).
    #[arg(long)]
    pub(crate) sequence: Option<u64>,
    /// Creation time, RFC 3339 or seconds (default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub(crate) created: Option<u64>,
    /// Expiry time, RFC 3339 or seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg, conflicts_with = "valid_for")]
    pub(crate) expires: Option<u64>,
    /// Validity from the creation time, e.g. 30d, 12h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub(crate) valid_for: Option<u64>,
    /// Lowest targeted sensor version, e.g. 7.11.0.
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    pub(crate) sensor_min: Option<SensorVersion>,
    /// Highest targeted sensor version.
    #[arg(long, value_name = "VERSION", value_parser = parse_version_arg)]
    pub(crate) sensor_max: Option<SensorVersion>,
    /// The time used as default creation time (RFC 3339 or seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub(crate) now: Option<u64>,
    /// Output format of diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
}

#[derive(Args, Debug)]
pub(crate) struct DecompileArgs {
    /// A binary content file.
    pub(crate) file: PathBuf,
    /// Write the source here instead of standard output.
    #[arg(short, long, value_name = "OUT.yaml")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
    /// Content files, or directories of `*.dcf` files.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) check: CheckArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// Threads, 1 to 256 (default: one per core, never more than there are files).
    #[arg(short, long, value_parser = parse_jobs)]
    pub(crate) jobs: Option<usize>,
}

#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// The content file.
    pub(crate) file: PathBuf,
    /// Sensor manifest file, or directory of `*.toml` manifests; repeat for more (`-m A -m B`).
    #[arg(long = "manifest", short = 'm', value_name = "M", required = true, action = ArgAction::Append)]
    pub(crate) manifests: Vec<PathBuf>,
    /// Events with the rules each must and must not match (JSON Lines).
    #[arg(long, value_name = "EVENTS.jsonl")]
    pub(crate) events: Option<PathBuf>,
    /// Benign events (JSON Lines), for the blast-radius check.
    #[arg(long, value_name = "BENIGN.jsonl")]
    pub(crate) benign: Option<PathBuf>,
    /// Largest share of benign events of its template type a rule may match, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "1%", value_parser = parse_percent)]
    pub(crate) benign_threshold: f64,
    /// Reject content that has warnings.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum InspectFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// A content file (it may be rejected: inspect shows what it can).
    pub(crate) file: PathBuf,
    /// `json`: the whole decoded content.
    #[arg(long, value_enum, default_value_t = InspectFormat::Human, conflicts_with = "hexdump")]
    pub(crate) format: InspectFormat,
    /// An annotated byte map: which structure each byte belongs to.
    #[arg(long)]
    pub(crate) hexdump: bool,
}

#[derive(Args, Debug)]
pub(crate) struct KeygenArgs {
    /// Base name: writes NAME.secret and NAME.pub.
    #[arg(long, value_name = "NAME")]
    pub(crate) out: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Args, Debug)]
pub(crate) struct SignArgs {
    /// The content to sign.
    pub(crate) file: PathBuf,
    /// Secret key file (from `dcf keygen`).
    #[arg(long, value_name = "SECRET")]
    pub(crate) key: PathBuf,
    #[command(flatten)]
    pub(crate) check: CheckArgs,
    /// Output file.
    #[arg(short, long, value_name = "OUT.dcf")]
    pub(crate) output: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The signed content.
    pub(crate) file: PathBuf,
    /// Trusted public key file; repeat for more (`--pubkey A --pubkey B`).
    #[arg(long = "pubkey", value_name = "PUB", required = true, action = ArgAction::Append)]
    pub(crate) pubkeys: Vec<PathBuf>,
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

/// Parses `1`, `1%` or `0.5 %`: a percentage of benign events, as a fraction.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{text}` is not a percentage between 0 and 100")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("1%"), Ok(0.01));
        assert_eq!(parse_percent("0.5 %"), Ok(0.005));
        assert_eq!(parse_percent("25"), Ok(0.25));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("x").is_err());
    }
}
