//! `dcf publish`: a signed content into a TUF repository, with its rollout plan
//! (`format-spec/ROLLOUT.md` ROLLOUT-1); `--init` creates the repository and its keys first.

use std::num::NonZeroU64;

use dcf_rollout::RolloutCode;
use dcf_rollout::limits::MAX_PLAN_SIZE;
use dcf_rollout::plan::{Plan, percent};
use dcf_rollout::repo::{self, Expiries, RepoError, RepoPaths};
use dcf_rollout::rollout;
use dcf_validator::time;

use crate::args::PublishArgs;
use crate::context::{Ctx, write_stdout};
use crate::exit::{Exit, Outcome};
use crate::inputs::{display, read_content};
use crate::io::read_bounded;

/// Says a distribution error on standard error and gives its exit code: 1 for a refused
/// content, 2 for everything else (usage, plan, repository).
pub(crate) fn fail(e: &RepoError) -> Exit {
    eprintln!(
        "error[{}]: {}: {}",
        e.code.as_str(),
        e.code.description(),
        e.message
    );
    match e.code {
        RolloutCode::ContentUnsigned | RolloutCode::SequenceNotAbove => Exit::Rejected,
        _ => Exit::Usage,
    }
}

/// Runs `dcf publish`.
pub fn run(ctx: &Ctx, args: PublishArgs) -> Outcome {
    let paths = RepoPaths {
        dir: args.repo.clone(),
        keys: args.keys.clone(),
    };
    let expiries = Expiries::default();
    let now = args.now.unwrap_or_else(time::now);
    if args.init {
        let threshold = NonZeroU64::new(args.threshold).unwrap_or(NonZeroU64::MIN);
        repo::init(&paths, threshold, &expiries).map_err(|e| fail(&e))?;
        ctx.note(&format!(
            "created the repository {} (keys in {}, {} per role)",
            display(&paths.dir),
            display(&paths.keys),
            threshold
        ));
    }
    let Some(content) = &args.content else {
        if args.init {
            return Ok(Exit::Accepted);
        }
        eprintln!("error[E9002]: nothing to publish: give a content, or --init");
        return Err(Exit::Usage.into());
    };
    let plan = match &args.plan {
        None => Plan::staged(now),
        Some(path) => {
            let bytes = read_bounded(path, MAX_PLAN_SIZE).map_err(|e| {
                eprintln!(
                    "error[E9001]: {}: {}",
                    display(path),
                    e.diagnostic("the plan").message
                );
                Exit::Usage
            })?;
            let text = String::from_utf8_lossy(&bytes);
            Plan::from_toml(&text, now).map_err(|message| {
                fail(&RepoError {
                    code: RolloutCode::PlanInvalid,
                    message: format!("{}: {message}", display(path)),
                })
            })?
        }
    };
    let bytes = read_content(content).map_err(|d| {
        eprintln!(
            "error[{}]: {}: {}",
            d.code.as_str(),
            display(content),
            d.message
        );
        Exit::Usage
    })?;
    let (name, meta) =
        rollout::publish(&paths, &bytes, plan, now, &expiries).map_err(|e| fail(&e))?;
    let waves: Vec<String> = meta
        .plan
        .waves
        .iter()
        .map(|w| format!("{} after {}h", percent(w.share_bp), w.after_secs / 3600))
        .collect();
    write_stdout(&format!(
        "published {name}: channel {} sequence {} digest {}\nplan: {}{}\n",
        meta.channel,
        meta.sequence,
        meta.digest,
        waves.join(", "),
        if meta.plan.cohorts.is_empty() {
            String::new()
        } else {
            let n = meta.plan.cohorts.len();
            format!(
                " ({n} cohort{} staged on {} own)",
                if n == 1 { "" } else { "s" },
                if n == 1 { "its" } else { "their" }
            )
        }
    ))?;
    Ok(Exit::Accepted)
}
