//! `dcf-update`: one update cycle of a sensor, from the command line: fetch and verify the
//! repository through TUF, take the content the rollout plan admits this sensor to (into the
//! content store with `--store`), evaluate `--events` under the active content, and write the
//! health report. What a sensor's service runs on a timer.
//!
//! Exit codes: 0 the cycle ran (updated or nothing new), 1 the content or the repository was
//! refused (a loader code, or E61xx), 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use dcf_events::test_events::{field_array, parse_events, resolve_template};
use dcf_events::value::borrow_values;
use dcf_sensor::store::{ContentStore, StoreConfig};
use dcf_sensor::{Channels, Event, LoaderConfig, Ruleset, Scratch, Sensor};
use dcf_updater::{Health, Outcome, Slot, Updater, UpdaterConfig};

/// One update cycle of a dcf sensor.
#[derive(Parser, Debug)]
#[command(
    name = "dcf-update",
    version,
    max_term_width = 100,
    after_help = "\
Example:
  dcf-update --root repo/metadata/1.root.json --repo http://updates.example/dcf/ \\
    --manifest sensor-7.12.toml --pubkey release.pub --channel 291 --device-id host-42 \\
    --state /var/lib/dcf --events today.jsonl --report /var/lib/dcf/health.json"
)]
struct Args {
    /// The trusted root metadata the sensor ships with.
    #[arg(long, value_name = "FILE")]
    root: PathBuf,
    /// The repository: a URL (http, https, file) or a directory holding metadata/ and targets/.
    #[arg(long)]
    repo: String,
    /// This sensor build's manifest.
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// A trusted release key (`dcf keygen` public key file); repeatable.
    #[arg(long, value_name = "FILE", required = true)]
    pubkey: Vec<PathBuf>,
    /// The channel this sensor serves.
    #[arg(long)]
    channel: u32,
    /// This sensor's device id (its place in the rollout derives from it).
    #[arg(long)]
    device_id: String,
    /// The sensor's state directory: TUF metadata last trusted, and the content store.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// Events to evaluate under the active content (JSON Lines, as `dcf test` reads them).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Where to write the health report.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The plan's clock (seconds since the epoch); default now.
    #[arg(long)]
    now: Option<u64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

fn run(args: Args) -> Result<u8, String> {
    let now = args.now.unwrap_or_else(dcf_validator::time::now);
    let interface = dcf_validator::manifest::from_toml(&read(&args.manifest, "manifest")?)
        .map_err(|e| format!("manifest {}: {e}", args.manifest.display()))?;
    let version = interface.version.to_string();
    let mut trusted = Vec::new();
    for p in &args.pubkey {
        let key = dcf_validator::keys::parse_public(&read(p, "key")?)
            .map_err(|e| format!("key {}: {e}", p.display()))?;
        trusted.push(key.to_bytes());
    }
    let loader = LoaderConfig::new(interface, trusted, Channels::Only(args.channel));
    let store = ContentStore::open(args.state.join("store"), StoreConfig::new(loader), now)
        .map(|(store, _)| store)
        .map_err(|e| format!("content store: {e}"))?;
    let (metadata, targets) = urls(&args.repo)?;
    let root =
        std::fs::read(&args.root).map_err(|e| format!("root {}: {e}", args.root.display()))?;
    let config = UpdaterConfig::new(
        root,
        metadata,
        targets,
        args.state.join("tuf"),
        &args.device_id,
        args.channel,
    );
    let mut updater = Updater::new(config).map_err(|e| e.to_string())?;
    let mut health = Health::new(&args.device_id, &version, args.channel);
    health.set_active(store.sensor().active().as_deref(), now);
    let mut code = 0;
    match updater.check_blocking(Slot::Store(&store), &mut health, now) {
        Ok(Outcome::Updated { sequence }) => println!("updated to sequence {sequence}"),
        Ok(Outcome::Current { newest }) => match newest {
            Some((sequence, why)) => println!("not taken: sequence {sequence}: {why}"),
            None => println!("up to date (the channel has no content)"),
        },
        Ok(Outcome::Refused {
            sequence,
            code: c,
            message,
        }) => {
            println!("refused sequence {sequence}: {message}");
            eprintln!("error[{c}]: sequence {sequence} refused; the active content stays");
            code = 1;
        }
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code.as_str());
            code = 1;
        }
    }
    health.set_quarantined(
        store
            .quarantined()
            .into_iter()
            .map(|q| dcf_rollout::report::ContentRef {
                sequence: q.sequence,
                digest: q.digest,
            })
            .collect(),
    );
    if let Some(path) = &args.events {
        evaluate(store.sensor(), &mut health, &read(path, "events")?)?;
        let _ = store.confirm_healthy();
    }
    if let Some(path) = &args.report {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        dcf_rollout::repo::write_atomic(path, health.report(now).to_json().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(code)
}

/// The metadata and targets URLs of a repository given as a URL or a directory.
fn urls(repo: &str) -> Result<(url::Url, url::Url), String> {
    let base = if repo.contains("://") {
        let mut text = repo.to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        url::Url::parse(&text).map_err(|e| format!("--repo {repo}: {e}"))?
    } else {
        dcf_rollout::repo::dir_url(std::path::Path::new(repo)).map_err(|e| e.to_string())?
    };
    let join = |p: &str| base.join(p).map_err(|e| format!("--repo {repo}: {e}"));
    Ok((join("metadata/")?, join("targets/")?))
}

/// Evaluates every event of `text` under the active content, into the health record.
fn evaluate(sensor: &Sensor, health: &mut Health, text: &str) -> Result<(), String> {
    let events = parse_events(text).map_err(|errors| {
        errors
            .first()
            .map(|e| format!("events line {}: {}", e.line, e.message))
            .unwrap_or_default()
    })?;
    let Some(active): Option<Arc<Ruleset>> = sensor.active() else {
        return Ok(());
    };
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    for e in &events {
        let Some(template) = resolve_template(sensor.interface(), &e.template) else {
            continue;
        };
        let Ok((values, _)) = field_array(template, e) else {
            continue;
        };
        let fields = borrow_values(&values);
        let event = Event {
            template: template.id,
            fields: &fields,
        };
        out.clear();
        let start = std::time::Instant::now();
        let result = active.evaluate(&event, &mut scratch, &mut out);
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        health.record_evaluation(
            &active,
            result.as_ref().map(|()| out.as_slice()),
            scratch.steps(),
            nanos,
        );
    }
    Ok(())
}
