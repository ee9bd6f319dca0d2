//! `dcf rollout status|advance|halt|rollback`: the release owner's side of a staged rollout
//! (`format-spec/ROLLOUT.md` ROLLOUT-6 and ROLLOUT-7).

use std::path::Path;

use dcf_rollout::RolloutCode;
use dcf_rollout::gates::{Gates, Judgement};
use dcf_rollout::limits::MAX_GATES_SIZE;
use dcf_rollout::plan::percent;
use dcf_rollout::repo::{self, Expiries, RepoError, RepoPaths};
use dcf_rollout::report::{Reports, read_reports};
use dcf_rollout::rollout::{self, Decision, Rollout};
use dcf_validator::{Options, keys, time, validate_bytes};

use crate::args::{RolloutAction, RolloutArgs, RolloutFormat};
use crate::commands::publish::fail;
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::fleet::load_manifests;
use crate::inputs::{display, key_problem, read_key_file};
use crate::io::read_bounded;

fn usage(message: String) -> Exit {
    eprintln!("error[E9001]: {message}");
    Exit::Usage
}

/// Runs `dcf rollout`.
pub fn run(ctx: &Ctx, args: RolloutArgs) -> Outcome {
    let keys_dir = args.keys.clone().unwrap_or_default();
    let paths = RepoPaths {
        dir: args.repo.clone(),
        keys: keys_dir,
    };
    if args.action != RolloutAction::Status && args.keys.is_none() {
        return Err(
            usage("this action publishes: give the repository's keys with --keys".into()).into(),
        );
    }
    let channel = channel(&paths, args.channel).map_err(|e| fail(&e))?;
    let now = args.now.unwrap_or_else(time::now);
    let expiries = Expiries::default();
    match args.action {
        RolloutAction::Status | RolloutAction::Advance => {
            let gates = gates(args.gates.as_deref())?;
            let reports = reports(args.reports.as_deref())?;
            if args.action == RolloutAction::Status {
                let (rollout, judgement) =
                    rollout::status(&paths, channel, &reports.reports, &gates)
                        .map_err(|e| fail(&e))?;
                print(args.format, &rollout, &judgement, None, now)?;
                return Ok(Exit::Accepted.rejected_if(!judgement.passed()));
            }
            let (decision, judgement) =
                rollout::advance(&paths, channel, &reports.reports, &gates, now, &expiries)
                    .map_err(|e| fail(&e))?;
            let (rollout, _) =
                rollout::status(&paths, channel, &reports.reports, &gates).map_err(|e| fail(&e))?;
            print(args.format, &rollout, &judgement, Some(&decision), now)?;
            let halted = matches!(decision, Decision::Halted { .. } | Decision::AlreadyHalted);
            Ok(Exit::Accepted.rejected_if(halted))
        }
        RolloutAction::Halt => {
            let meta = rollout::halt(&paths, channel, &args.reason, now, &expiries)
                .map_err(|e| fail(&e))?;
            write_stdout(&format!(
                "halted channel {channel} sequence {}\n",
                meta.sequence
            ))?;
            Ok(Exit::Accepted)
        }
        RolloutAction::Rollback => {
            let key_path = args.key.as_deref().ok_or_else(|| {
                usage("rollback signs a content: give the release key with --key".into())
            })?;
            let key_text = read_key_file(key_path)?;
            let key = keys::parse_secret(&key_text).map_err(|m| key_problem(key_path, m))?;
            if args.manifests.is_empty() {
                return Err(usage(
                    "rollback validates what it signs: give the fleet's manifests with --manifest"
                        .into(),
                )
                .into());
            }
            let manifests = load_manifests(ctx, &args.manifests)?;
            // The gate, on the bytes about to be published.
            let check = |bytes: &[u8]| {
                let options = Options {
                    now,
                    previous: None,
                };
                let v = validate_bytes(bytes, &manifests, &options);
                match v.diagnostics.iter().find(|d| d.is_error()) {
                    Some(d) => Err(format!("{}: {}", d.code.as_str(), d.message)),
                    None => Ok(()),
                }
            };
            let (name, meta) =
                rollout::rollback(&paths, channel, &key, &args.reason, now, &expiries, &check)
                    .map_err(|e| fail(&e))?;
            write_stdout(&format!(
                "rolled back channel {channel}: published {name} (sequence {}, the rules of sequence {}) for every sensor\n",
                meta.sequence,
                meta.rollback_of.unwrap_or(0)
            ))?;
            Ok(Exit::Accepted)
        }
    }
}

/// The channel to act on: the one given, or the repository's only one.
fn channel(paths: &RepoPaths, given: Option<u32>) -> Result<u32, RepoError> {
    if let Some(c) = given {
        return Ok(c);
    }
    let contents = repo::contents(&repo::load(paths)?)?;
    let mut channels: Vec<u32> = contents.iter().map(|(_, m)| m.channel).collect();
    channels.dedup();
    match channels.as_slice() {
        [one] => Ok(*one),
        [] => Err(RepoError {
            code: RolloutCode::NothingToDo,
            message: "the repository has no content".into(),
        }),
        _ => Err(RepoError {
            code: RolloutCode::NothingToDo,
            message: format!("the repository has channels {channels:?}: choose one with --channel"),
        }),
    }
}

fn gates(path: Option<&Path>) -> Result<Gates, Exit> {
    let Some(path) = path else {
        return Ok(Gates::default());
    };
    let bytes = read_bounded(path, MAX_GATES_SIZE).map_err(|e| {
        usage(format!(
            "{}: {}",
            display(path),
            e.diagnostic("the gates file").message
        ))
    })?;
    Gates::from_toml(&String::from_utf8_lossy(&bytes))
        .map_err(|m| usage(format!("{}: not a gates file: {m}", display(path))))
}

/// The reports of `dir` (none without one); each unreadable file is said with E6201.
fn reports(dir: Option<&Path>) -> Result<Reports, Exit> {
    let Some(dir) = dir else {
        return Ok(Reports::default());
    };
    let reports = read_reports(dir).map_err(usage)?;
    for (path, why) in &reports.unreadable {
        eprintln!(
            "warning[{}]: {}: {}: {why}",
            RolloutCode::ReportInvalid.as_str(),
            RolloutCode::ReportInvalid.description(),
            display(path)
        );
    }
    Ok(reports)
}

fn print(
    format: RolloutFormat,
    rollout: &Rollout,
    judgement: &Judgement,
    decision: Option<&Decision>,
    now: u64,
) -> Result<(), crate::exit::Stop> {
    if format == RolloutFormat::Json {
        let value = serde_json::json!({
            "rollout": rollout,
            "judgement": judgement,
            "decision": decision,
        });
        return write_stdout(&format!("{value}\n"));
    }
    let (name, meta) = &rollout.current;
    let mut out = format!(
        "channel {} sequence {} ({name}){}\n",
        meta.channel,
        meta.sequence,
        match &meta.halted {
            Some(h) => format!(": halted at {}", h.at),
            None => String::new(),
        }
    );
    if let Some((pname, p)) = &rollout.previous {
        out.push_str(&format!(
            "baseline: sequence {} ({pname}), {} reports\n",
            p.sequence, judgement.baseline_reports
        ));
    }
    for t in &judgement.tracks {
        let approved = meta.approved_on(&t.track);
        let open = meta.plan.open_share(&t.track, approved, now);
        out.push_str(&format!(
            "track {}: {approved} waves approved, open to {}; {} sensors exposed, {} running it, {} events\n",
            t.track,
            percent(open),
            t.exposed,
            t.running,
            t.events
        ));
    }
    for f in judgement.failures() {
        out.push_str(&format!("error[{f}\n").replacen(": ", "]: ", 1));
    }
    if let Some(d) = decision {
        out.push_str(&match d {
            Decision::Advanced { tracks } => tracks
                .iter()
                .map(|(t, from, to)| format!("advanced track {t}: wave {from} to {to}\n"))
                .collect(),
            Decision::Waiting { reasons } => {
                reasons.iter().map(|r| format!("waiting: {r}\n")).collect()
            }
            Decision::Complete => "complete: every wave of every track is open\n".to_string(),
            Decision::Halted { .. } => {
                "halted: the failed gates above are recorded in the signed metadata\n".to_string()
            }
            Decision::AlreadyHalted => "already halted\n".to_string(),
        });
    }
    write_stdout(&out)
}
