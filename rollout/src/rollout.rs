//! The release owner's operations (`ROLLOUT.md`, ROLLOUT-1 and ROLLOUT-7): publish a content
//! with its plan, and judge, advance, halt or roll back the rollout of a channel.

use std::collections::BTreeMap;

use dcf_parser::{Content, Frame};
use dcf_validator::keys;
use ed25519_dalek::SigningKey;
use serde::Serialize;

use crate::codes::RolloutCode;
use crate::gates::{GateFailure, Gates, Judgement, judge};
use crate::plan::{Plan, percent};
use crate::repo::{self, Change, Expiries, RepoError, RepoPaths};
use crate::report::HealthReport;
use crate::target::{Halt, TargetMeta, target_name};

fn refuse(code: RolloutCode, message: impl Into<String>) -> RepoError {
    RepoError {
        code,
        message: message.into(),
    }
}

/// Publishes a signed content with its plan; the first wave of every track is approved at
/// once. Refuses content that is not signed dcf content (E6205) or whose sequence is not
/// above every sequence published in its channel (E6206). The format checks are the
/// parser's; the gate (`dcf validate`) ran before the content was signed.
pub fn publish(
    paths: &RepoPaths,
    bytes: &[u8],
    plan: Plan,
    now: u64,
    expiries: &Expiries,
) -> Result<(String, TargetMeta), RepoError> {
    let frame = Frame::read(bytes)
        .and_then(Frame::verify_digest)
        .map_err(|e| {
            refuse(
                RolloutCode::ContentUnsigned,
                format!("not dcf content: {e}"),
            )
        })?;
    if frame.frame().signature().is_none() {
        return Err(refuse(
            RolloutCode::ContentUnsigned,
            "the content has no signature block; sign it with `dcf sign` first",
        ));
    }
    plan.check()
        .map_err(|e| refuse(RolloutCode::PlanInvalid, e))?;
    let header = *frame.header();
    let repo = repo::load(paths)?;
    let published = repo::contents(&repo)?;
    if let Some((name, m)) = published
        .iter()
        .filter(|(_, m)| m.channel == header.channel)
        .max_by_key(|(_, m)| m.sequence)
        .filter(|(_, m)| m.sequence >= header.sequence)
    {
        return Err(refuse(
            RolloutCode::SequenceNotAbove,
            format!(
                "sequence {} is not above {} ({name}) in channel {}",
                header.sequence, m.sequence, header.channel
            ),
        ));
    }
    let approved = plan.tracks().map(|t| (t.to_string(), 1)).collect();
    let meta = TargetMeta {
        channel: header.channel,
        sequence: header.sequence,
        digest: repo::hex(frame.frame().digest()),
        published_at: now,
        plan,
        approved,
        halted: None,
        rollback_of: None,
    };
    let name = target_name(header.channel, header.sequence);
    repo::publish(
        paths,
        &[Change::Add {
            name: name.clone(),
            bytes: bytes.to_vec(),
            meta: meta.clone(),
        }],
        expiries,
    )?;
    Ok((name, meta))
}

/// The rollout of a channel: its newest content, and the content before it that was not
/// halted (the baseline the gates compare with, and what a rollback restores).
#[derive(Clone, Debug, Serialize)]
pub struct Rollout {
    /// The newest content of the channel, by target name.
    pub current: (String, TargetMeta),
    /// The newest earlier content that was not halted.
    pub previous: Option<(String, TargetMeta)>,
}

/// The rollout of `channel` in a repository's contents (`None` when it has none).
pub fn rollout_of(contents: &[(String, TargetMeta)], channel: u32) -> Option<Rollout> {
    let mut in_channel = contents.iter().filter(|(_, m)| m.channel == channel);
    let current = in_channel.clone().max_by_key(|(_, m)| m.sequence)?.clone();
    let previous = in_channel
        .by_ref()
        .filter(|(_, m)| m.sequence < current.1.sequence && m.halted.is_none())
        .max_by_key(|(_, m)| m.sequence)
        .cloned();
    Some(Rollout { current, previous })
}

/// What `advance` did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Waves were approved: `(track, approved before, approved now)`.
    Advanced {
        /// The tracks that moved.
        tracks: Vec<(String, u32, u32)>,
    },
    /// Nothing to approve yet, and why (too few reports, a wave's time not come).
    Waiting {
        /// One line per track that waits.
        reasons: Vec<String>,
    },
    /// Every wave of every track is approved.
    Complete,
    /// A gate failed: the rollout was halted now.
    Halted {
        /// The failed gates.
        failures: Vec<GateFailure>,
    },
    /// The rollout had been halted before.
    AlreadyHalted,
}

/// Judges the rollout of `channel` by `reports`: the content, its baseline and the verdict.
pub fn status(
    paths: &RepoPaths,
    channel: u32,
    reports: &[HealthReport],
    gates: &Gates,
) -> Result<(Rollout, Judgement), RepoError> {
    let contents = repo::contents(&repo::load(paths)?)?;
    let rollout = rollout_of(&contents, channel).ok_or_else(|| {
        refuse(
            RolloutCode::NothingToDo,
            format!("no content in channel {channel}"),
        )
    })?;
    let judgement = judge(
        reports,
        &rollout.current.1,
        rollout.previous.as_ref().map(|p| &p.1),
        gates,
    );
    Ok((rollout, judgement))
}

/// Advances the rollout of `channel` at `now`: halts it when a gate fails; else approves, on
/// each track with enough reports, the next wave whose time has come.
pub fn advance(
    paths: &RepoPaths,
    channel: u32,
    reports: &[HealthReport],
    gates: &Gates,
    now: u64,
    expiries: &Expiries,
) -> Result<(Decision, Judgement), RepoError> {
    let (rollout, judgement) = status(paths, channel, reports, gates)?;
    let (name, mut meta) = rollout.current;
    if meta.halted.is_some() {
        return Ok((Decision::AlreadyHalted, judgement));
    }
    let failures: Vec<GateFailure> = judgement.failures().cloned().collect();
    if !failures.is_empty() {
        let reason = failures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let mut codes: Vec<String> = failures
            .iter()
            .map(|f| f.code.as_str().to_string())
            .collect();
        codes.dedup();
        meta.halted = Some(Halt {
            at: now,
            codes,
            reason,
        });
        repo::publish(paths, &[Change::Update { name, meta }], expiries)?;
        return Ok((Decision::Halted { failures }, judgement));
    }
    let mut moved = Vec::new();
    let mut reasons = Vec::new();
    let tracks: Vec<String> = meta.plan.tracks().map(str::to_string).collect();
    for track in tracks {
        let approved = meta.approved_on(&track);
        let waves = meta.plan.waves_of(&track).unwrap_or(&[]);
        let Some(next) = waves.get(approved as usize) else {
            continue;
        };
        let opens = meta.plan.start.saturating_add(next.after_secs);
        let t = judgement.track(&track);
        if !t.is_some_and(|t| t.enough_reports) {
            reasons.push(format!(
                "track `{track}`: {} of the {} reports about the content needed before {} opens",
                t.map_or(0, |t| t.exposed),
                gates.min_reports,
                percent(next.share_bp)
            ));
        } else if opens > now {
            reasons.push(format!(
                "track `{track}`: the wave to {} opens at {opens} (now {now})",
                percent(next.share_bp)
            ));
        } else {
            meta.approved
                .insert(track.clone(), approved.saturating_add(1));
            moved.push((track, approved, approved.saturating_add(1)));
        }
    }
    if !moved.is_empty() {
        repo::publish(paths, &[Change::Update { name, meta }], expiries)?;
        return Ok((Decision::Advanced { tracks: moved }, judgement));
    }
    if reasons.is_empty() {
        Ok((Decision::Complete, judgement))
    } else {
        Ok((Decision::Waiting { reasons }, judgement))
    }
}

/// Halts the rollout of `channel` by hand.
pub fn halt(
    paths: &RepoPaths,
    channel: u32,
    reason: &str,
    now: u64,
    expiries: &Expiries,
) -> Result<TargetMeta, RepoError> {
    let contents = repo::contents(&repo::load(paths)?)?;
    let rollout = rollout_of(&contents, channel).ok_or_else(|| {
        refuse(
            RolloutCode::NothingToDo,
            format!("no content in channel {channel}"),
        )
    })?;
    let (name, mut meta) = rollout.current;
    if meta.halted.is_none() {
        meta.halted = Some(Halt {
            at: now,
            codes: Vec::new(),
            reason: reason.to_string(),
        });
        repo::publish(
            paths,
            &[Change::Update {
                name,
                meta: meta.clone(),
            }],
            expiries,
        )?;
    }
    Ok(meta)
}

/// Rolls the channel back: halts its newest content (if it is not halted yet) and publishes
/// the rules of the newest earlier content that was not halted again, under the next
/// sequence, signed with `key`, for every sensor at once. `check` sees the new bytes before
/// anything is published (the CLI runs the validator there) and may refuse them.
pub fn rollback(
    paths: &RepoPaths,
    channel: u32,
    key: &SigningKey,
    reason: &str,
    now: u64,
    expiries: &Expiries,
    check: &dyn Fn(&[u8]) -> Result<(), String>,
) -> Result<(String, TargetMeta), RepoError> {
    let repo = repo::load(paths)?;
    let contents = repo::contents(&repo)?;
    let rollout = rollout_of(&contents, channel).ok_or_else(|| {
        refuse(
            RolloutCode::NothingToDo,
            format!("no content in channel {channel}"),
        )
    })?;
    let (good_name, good) = rollout.previous.ok_or_else(|| {
        refuse(
            RolloutCode::NothingToDo,
            format!("channel {channel} has no earlier content that was not halted"),
        )
    })?;
    let target = repo
        .all_targets()
        .find(|(n, _)| n.raw() == good_name)
        .map(|(_, t)| t.clone())
        .ok_or_else(|| repo::unusable(format!("no target {good_name}")))?;
    let file = paths
        .targets()
        .join(format!("{}.{good_name}", repo::hex(&target.hashes.sha256)));
    let old =
        std::fs::read(&file).map_err(|e| repo::unusable(format!("{}: {e}", file.display())))?;
    if repo::hex(&sha2_digest(&old)) != repo::hex(&target.hashes.sha256) {
        return Err(repo::unusable(format!(
            "{} does not have the digest its metadata names",
            file.display()
        )));
    }
    let mut content =
        Content::decode(&old).map_err(|e| repo::unusable(format!("{good_name}: {e}")))?;
    let (current_name, mut current) = rollout.current;
    let sequence = current.sequence.checked_add(1).ok_or_else(|| {
        refuse(
            RolloutCode::NothingToDo,
            "the channel's sequence numbers are spent",
        )
    })?;
    content.header.sequence = sequence;
    let bytes = keys::sign_content(&mut content, key)
        .map_err(|e| repo::unusable(format!("re-signing {good_name}: {e}")))?;
    check(&bytes).map_err(|e| {
        refuse(
            RolloutCode::NothingToDo,
            format!("the rollback content was refused: {e}"),
        )
    })?;
    let frame = Frame::read(&bytes).map_err(|e| repo::unusable(e.to_string()))?;
    let plan = Plan::immediate(now);
    let approved: BTreeMap<String, u32> = plan.tracks().map(|t| (t.to_string(), 1)).collect();
    let meta = TargetMeta {
        channel,
        sequence,
        digest: repo::hex(frame.digest()),
        published_at: now,
        plan,
        approved,
        halted: None,
        rollback_of: Some(good.sequence),
    };
    let name = target_name(channel, sequence);
    let mut changes = Vec::new();
    if current.halted.is_none() {
        current.halted = Some(Halt {
            at: now,
            codes: Vec::new(),
            reason: reason.to_string(),
        });
        changes.push(Change::Update {
            name: current_name,
            meta: current,
        });
    }
    changes.push(Change::Add {
        name: name.clone(),
        bytes,
        meta: meta.clone(),
    });
    repo::publish(paths, &changes, expiries)?;
    Ok((name, meta))
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    dcf_parser::sha256(bytes)
}
