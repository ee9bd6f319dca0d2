//! Differential test against an independent Sigma evaluator, `sigma-rust` (crates.io): every
//! compiled SigmaHQ rule against every regression event, match or no match. Every disagreement
//! must be listed, with the reason the other side is wrong, in `sigma/DIFFERENTIAL.md`; the test
//! fails on any disagreement not listed there and on any listed one that no longer occurs.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use dcf_events::value::borrow_values;
use dcf_sensor::{Event, Scratch};
use dcf_test_support::{Cells, table_rows};

/// `(rule id, event name)` pairs listed in the documentation's table.
fn documented() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(common::repo_root().join("sigma/DIFFERENTIAL.md")).unwrap();
    table_rows(&text, Cells::Unquoted)
        .into_iter()
        .filter(|cells| cells.len() >= 5 && cells[0].len() == 36 && cells[0].contains('-'))
        .map(|cells| (cells[0].clone(), cells[1].clone()))
        .collect()
}

#[test]
fn agrees_with_sigma_rust_or_documents_why_not() {
    let start = std::time::Instant::now();
    let (content, report, manifest) = common::all_rules();
    println!("[{:?}] compiled", start.elapsed());
    let ruleset = common::bound(content, manifest);
    let events = common::regression_events();

    // Ours: each event projected into every template type that has rules.
    let mut ours: BTreeSet<(String, String)> = BTreeSet::new();
    let mut scratch = Scratch::new();
    for template in &content.templates {
        let interface = manifest.template(template.id).unwrap();
        for e in &events {
            let values = e.event.flat.project(interface);
            let fields = borrow_values(&values);
            let mut out = Vec::new();
            ruleset
                .evaluate(
                    &Event {
                        template: template.id,
                        fields: &fields,
                    },
                    &mut scratch,
                    &mut out,
                )
                .unwrap();
            for i in out {
                ours.insert((ruleset.rules()[i as usize].id.to_string(), e.name.clone()));
            }
        }
    }

    println!("[{:?}] evaluated here", start.elapsed());
    // Theirs: every compiled rule that sigma-rust can parse, against every event.
    let theirs_events: Vec<sigma_rust::Event> = events
        .iter()
        .map(|e| common::sigma_rust_event(&e.event))
        .collect();
    // Parsing and matching run on two threads: sigma-rust is slow in debug builds.
    let halves: Vec<&[dcf_sigma::CompiledRule]> = report
        .compiled
        .chunks(report.compiled.len().div_ceil(2).max(1))
        .collect();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .iter()
            .map(|rules| {
                let events = &events;
                let theirs_events = &theirs_events;
                scope.spawn(move || {
                    let mut theirs = BTreeSet::new();
                    let mut unparsed: BTreeMap<String, usize> = BTreeMap::new();
                    let mut compared = BTreeSet::new();
                    for rule in rules.iter() {
                        let text = std::fs::read_to_string(&rule.file).unwrap();
                        let parsed = match sigma_rust::rule_from_yaml(&text) {
                            Ok(r) => r,
                            Err(e) => {
                                let kind = e.to_string();
                                let kind = kind.split(':').next().unwrap_or("").to_string();
                                *unparsed.entry(kind).or_insert(0) += 1;
                                continue;
                            }
                        };
                        compared.insert(rule.id.clone());
                        for (e, their_event) in events.iter().zip(theirs_events) {
                            if parsed.is_match(their_event) {
                                theirs.insert((rule.id.clone(), e.name.clone()));
                            }
                        }
                    }
                    (theirs, unparsed, compared)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut theirs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut unparsed: BTreeMap<String, usize> = BTreeMap::new();
    let mut compared: BTreeSet<String> = BTreeSet::new();
    for (t, u, c) in results {
        theirs.extend(t);
        for (k, n) in u {
            *unparsed.entry(k).or_insert(0) += n;
        }
        compared.extend(c);
    }

    println!("[{:?}] evaluated by sigma-rust", start.elapsed());
    let mut disagreements: BTreeSet<(String, String)> = BTreeSet::new();
    for pair in ours.symmetric_difference(&theirs) {
        if compared.contains(&pair.0) {
            disagreements.insert(pair.clone());
        }
    }
    println!(
        "compared {} rules x {} events; {} matches here, {} in sigma-rust; {} disagreements",
        compared.len(),
        events.len(),
        ours.iter().filter(|p| compared.contains(&p.0)).count(),
        theirs.len(),
        disagreements.len()
    );
    println!("rules sigma-rust cannot parse (not compared):");
    for (kind, n) in &unparsed {
        println!("  {n:>4}  {kind}");
    }
    for (rule, event) in &disagreements {
        let here = ours.contains(&(rule.clone(), event.clone()));
        let title = content
            .rules
            .iter()
            .find(|r| r.id.to_string() == *rule)
            .map(|r| r.title.as_str())
            .unwrap_or("");
        println!(
            "| {rule} | `{event}` | {} | {} | {title} |",
            if here { "match" } else { "no match" },
            if here { "no match" } else { "match" }
        );
    }
    let listed = documented();
    let new: Vec<_> = disagreements.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&disagreements).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "undocumented disagreements: {new:?}\ndocumented disagreements that no longer occur: {gone:?}"
    );
}
