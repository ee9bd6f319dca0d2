//! The fleet simulation of `tests/fleet.rs`, runnable: `cargo run --release -p dcf-updater
//! --example fleet [SENSORS] [EVENTS]` (default 10,000 sensors, 10 events per tick) prints
//! the exposure, time to halt and time to full rollout that `BENCHMARKS.md` records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let sensors = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let events = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let figures = common::fleet::run_scenarios(sensors, events);
    println!("{figures:#?}");
}
