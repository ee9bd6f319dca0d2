//! The sensor's literal prefilter (atoms, verified literals, lists answered from its hits) must
//! never change a result: over the whole compiled SigmaHQ rule set, every regression event
//! delivered to every template type gives the same matches with the prefilter as without it.

mod common;

use dcf_sensor::{Event, Scratch, Value};
use dcf_sigma::adapter::{OwnedValue, borrow_values};

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

/// One source event delivered to every template type in one call folds a string shared by
/// several deliveries once, and must match exactly as delivering it to each in turn does:
/// shared strings, and strings that start at the same address but are shorter (a prefix of a
/// shared buffer), which must not be taken for one another.
#[test]
fn deliveries_of_one_event_match_as_separate_evaluations() {
    let (content, _, manifest) = common::all_rules();
    let ruleset = common::bound(content, manifest);
    let mut scratch = Scratch::new();
    let (mut together, mut apart) = (Vec::new(), Vec::new());
    let mut shared_strings = 0;
    for event in common::regression_events() {
        let projected: Vec<Vec<OwnedValue>> = manifest
            .templates
            .iter()
            .map(|t| event.event.flat.project(t))
            .collect();
        // One buffer per distinct text: deliveries borrow the same string for the same text.
        let mut pool: Vec<String> = Vec::new();
        for value in projected.iter().flatten() {
            if let OwnedValue::Str(s) = value
                && !pool.contains(s)
            {
                pool.push(s.clone());
            }
        }
        for prefixes in [false, true] {
            let arrays: Vec<Vec<Value<'_>>> = projected
                .iter()
                .enumerate()
                .map(|(k, values)| {
                    values
                        .iter()
                        .map(|v| match v {
                            OwnedValue::Str(s) => {
                                let shared = pool.iter().find(|p| *p == s).unwrap();
                                // Every other delivery sees the same buffer cut one byte short.
                                let cut = if prefixes && k % 2 == 1 && shared.is_ascii() {
                                    shared.len().saturating_sub(1)
                                } else {
                                    shared.len()
                                };
                                Value::Str(&shared[..cut])
                            }
                            other => other.as_value(),
                        })
                        .collect()
                })
                .collect();
            let deliveries: Vec<Event<'_>> = manifest
                .templates
                .iter()
                .zip(&arrays)
                .map(|(t, fields)| Event {
                    template: t.id,
                    fields,
                })
                .collect();
            together.clear();
            apart.clear();
            ruleset
                .evaluate_deliveries(&deliveries, &mut scratch, &mut together)
                .unwrap();
            for delivery in &deliveries {
                ruleset
                    .evaluate(delivery, &mut scratch, &mut apart)
                    .unwrap();
            }
            assert_eq!(together, apart, "{} (prefixes {prefixes})", event.name);
        }
        shared_strings += pool.len();
    }
    assert!(shared_strings > 1000, "{shared_strings}");
}
