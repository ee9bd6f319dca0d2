//! # dcf-rollout
//!
//! The release owner's side of dcf distribution (`format-spec/ROLLOUT.md`): contents are
//! published into a repository of The Update Framework, each with a rollout plan in waves
//! that travels in the signed targets metadata; sensors report their health; gates over
//! those reports advance the rollout wave by wave or halt it, and a rollback brings the last
//! good content back under a new sequence.
//!
//! - [`plan`]: rollout plans, waves and cohorts; [`position`]: a sensor's stable place in the
//!   fleet; [`admission`]: whether a sensor takes a content now (the updater's one decision);
//! - [`target`]: what a content target carries in the TUF metadata;
//! - [`report`]: health reports; [`gates`]: what they must show;
//! - [`repo`]: the TUF repository (through `tough`'s editor); [`rollout`]: publish, status,
//!   advance, halt and rollback;
//! - [`codes`]: every E6xxx code; [`limits`]: every limit.

#![forbid(unsafe_code)]
// Tooling, not run in a sensor: the indexing and arithmetic lints bind the parser and the
// sensor. Unwrap, expect, panic, unreachable, todo and unimplemented stay denied outside tests.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod admission;
pub mod codes;
pub mod gates;
pub mod limits;
pub mod plan;
pub mod position;
pub mod repo;
pub mod report;
pub mod rollout;
pub mod target;

pub use admission::{Admission, SensorPlace, admission, choose};
pub use codes::RolloutCode;
pub use gates::{GateFailure, Gates, Judgement, judge};
pub use plan::Plan;
pub use position::position;
pub use report::HealthReport;
pub use target::{TargetMeta, target_name};
