//! The share of SigmaHQ's rules that compiles, with the breakdown of skip reasons
//! (`cargo test -p dcf-sigma --test share -- --nocapture` prints it).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

/// The measured share, held as a lower bound.
const MIN_SHARE: f64 = 0.99;

#[test]
fn compiled_share_of_sigmahq_rules() {
    let (content, report, _) = common::all_rules();
    let total = report.compiled.len() + report.skipped.len();
    println!(
        "compiled {} of {} rules ({:.2}%), {} skipped",
        report.compiled.len(),
        total,
        100.0 * report.compiled_share(),
        report.skipped.len()
    );
    for (code, n) in report.breakdown() {
        println!("  {code} {:>4}  {}", n, code.description());
    }
    for s in &report.skipped {
        println!("  {s}");
    }
    assert_eq!(total, 3141, "every rule file is accounted for");
    assert_eq!(content.rules.len(), report.compiled.len());
    assert!(
        report.compiled_share() >= MIN_SHARE,
        "compiled share {:.4} below {MIN_SHARE}",
        report.compiled_share()
    );
}
