//! The sensor's literal prefilter (atoms, verified literals, lists answered from its hits) must
//! never change a result: over the whole compiled SigmaHQ rule set, every regression event
//! delivered to every template type gives the same matches with the prefilter as without it.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use dcf_events::value::borrow_values;
use dcf_sensor::{Event, Scratch};

#[test]
fn prefilter_never_changes_a_result_on_sigmahq_content() {
    let (content, _, manifest) = common::all_rules();
    let ruleset = common::bound(content, manifest);
    let mut scratch = Scratch::new();
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    let mut matches = 0;
    let mut deliveries = 0;
    for event in common::regression_events() {
        // Every template type, not only the event's own: fields present under another log
        // source's names reach rules that would never see them in the field.
        for template in &manifest.templates {
            let values = event.event.flat.project(template);
            let fields = borrow_values(&values);
            let event_view = Event {
                template: template.id,
                fields: &fields,
            };
            fast.clear();
            slow.clear();
            ruleset
                .evaluate(&event_view, &mut scratch, &mut fast)
                .unwrap();
            ruleset
                .evaluate_exhaustive(&event_view, &mut scratch, &mut slow)
                .unwrap();
            assert_eq!(
                fast, slow,
                "{} delivered to template {}",
                event.name, template.name
            );
            matches += fast.len();
            deliveries += 1;
        }
    }
    println!("{matches} matches over {deliveries} deliveries");
    assert!(
        matches > 200 && deliveries > 10_000,
        "too little exercised: {matches} matches over {deliveries} deliveries"
    );
}
