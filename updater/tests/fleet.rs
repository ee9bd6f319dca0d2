//! A fleet of 10,000 sensors of two builds through three rollouts (`ROLLOUT.md` ROLLOUT-8):
//! a good content staged to everyone, a content one deployed build cannot run (Channel File
//! 291's failure, a field the gate's manifests had but the sensor lacks), and a block rule
//! far noisier in the field than on the benign set. Both bad ones are halted automatically
//! in their first wave and rolled back. The figures go to `BENCHMARKS.md`
//! (`cargo run --release -p dcf-updater --example fleet` prints them).

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::fleet::run_scenarios;

#[test]
fn ten_thousand_sensors_take_good_content_and_bad_content_halts_in_its_first_wave() {
    let figures = run_scenarios(10_000, 10);
    println!("{figures:#?}");
    // What the issue promises, stated once more on the figures: no more than the first wave
    // (1 % of positions) ever exposed, halted by the first automatic run, everyone reached.
    assert!(
        figures.field_exposed * 100 <= figures.sensors * 3 / 2,
        "{figures:?}"
    );
    assert!(
        figures.noisy_exposed * 100 <= figures.sensors * 3 / 2,
        "{figures:?}"
    );
    assert_eq!(
        (figures.field_hours_to_halt, figures.noisy_hours_to_halt),
        (1, 1)
    );
    assert_eq!(figures.good_hours_to_full, 72);
}
