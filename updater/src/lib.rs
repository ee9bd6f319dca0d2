//! # dcf-updater
//!
//! The sensor side of dcf distribution (`format-spec/ROLLOUT.md`): an [`Updater`] fetches
//! and verifies the repository's metadata and content through TUF (`tough`'s client, over
//! HTTP or from a local path), takes a content only when its rollout plan admits this sensor
//! ([`dcf_rollout::admission`], the one decision), hands the bytes to the dcf loader or the
//! content store, and keeps a [`Health`] record that becomes the sensor's health report.
//!
//! It is a crate of its own so the sensor core (`dcf-sensor`) stays small and `no_std`-able:
//! a kernel driver embeds the core, and a user-mode service beside it runs the updater.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
pub mod health;
mod transport;
mod updater;

pub use error::UpdateError;
pub use health::Health;
pub use transport::PooledTransport;
pub use updater::{Outcome, Slot, Updater, UpdaterConfig};
