//! Agreement between the Kaitai Struct description of the format (`format-spec/dcf.ksy`) and
//! the reference reader (`dcf-parser`).
//!
//! The parser that Kaitai Struct generates from the .ksy is an independent reading of the
//! layout: this test compiles it to Python, runs it (`conformance/kaitai/dump.py`) over every file
//! of `corpus/valid/` and over contents generated here, and checks that it decodes each file
//! to exactly the structure that `dcf_parser`'s public API gives for the same file: header,
//! sections, every string, templates and fields, attributes, values, rules, nodes, unknown
//! sections, digest and signature block.
//!
//! Our side uses nothing but `dcf_parser`'s API. Where the API does not expose a raw number
//! (range starts, string indexes, node operands), it is re-derived from what the API does
//! expose and from the rules the parser enforces (ranges tile their tables in order, strings
//! are distinct), so any disagreement between the two readings shows up as a difference.
//!
//! Tooling, installed on first use (a failure to install is a test failure, never a skip):
//! - `npm ci` in `conformance/kaitai/` for `kaitai-struct-compiler` 0.11 and `js-yaml`;
//! - `python3 -m pip install --target conformance/kaitai/.build/pylib kaitaistruct==0.11`;
//! - `node conformance/kaitai/compile.js` writes `conformance/kaitai/.build/gen/dcf.py`.
//!
//! Set `DCF_PYTHON` to use another Python 3 interpreter than `python3`.
//!
//! This file holds the tests; each stage has a file of its own: `harness.rs` (the tooling and
//! running the generated parser), `dump.rs` (our reading, from `dcf_parser`), `compare.rs`
//! (the comparison of the two readings) and `fixtures.rs` (the files both read).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod compare;
mod dump;
mod fixtures;
mod harness;

use std::fs;
use std::path::{Path, PathBuf};

use dcf_parser::parse;
use dcf_test_support::repo_root;
use serde_json::{Value, json};

use compare::{
    assert_agreement, collect_arrays, collect_paths, compare, disagreements, pointer_mut,
};
use dump::ours_of;
use fixtures::{MIN_CORPUS_FILES, corpus_files, extended, generated_files, rich, write_atomically};
use harness::kaitai_dumps;

/// Every file of the valid corpus reads the same through dcf.ksy and through dcf_parser.
#[test]
fn kaitai_and_parser_agree_on_the_valid_corpus() {
    let files = corpus_files();
    assert!(
        files.len() >= MIN_CORPUS_FILES,
        "corpus/valid holds {} .dcf files; this test needs at least {MIN_CORPUS_FILES} \
         (the corpus generator in conformance/src writes them)",
        files.len()
    );
    assert_agreement(&files);
}

/// The same check on contents generated here, covering every opcode, flag and table shape:
/// it guards the harness itself whatever the corpus holds.
#[test]
fn kaitai_and_parser_agree_on_generated_contents() {
    let files = generated_files();
    assert_agreement(&files);
}

/// The comparison fails on any disagreement: changing any single value of Kaitai's reading,
/// or dropping any element of one of its lists, is reported.
#[test]
fn comparison_detects_every_single_disagreement() {
    let files = generated_files();
    let dumps = kaitai_dumps(&files);
    assert!(
        disagreements(&files, &dumps).is_empty(),
        "the unmodified readings must agree"
    );
    let rich = files
        .iter()
        .find(|p| p.ends_with("rich.dcf"))
        .expect("rich.dcf generated");
    let original = dumps[rich].clone().expect("Kaitai reads rich.dcf");

    let mut leaves = Vec::new();
    collect_paths(&original, &mut Vec::new(), &mut leaves);
    assert!(leaves.len() > 300, "only {} leaves", leaves.len());
    let ours_rich = ours_of(rich);
    let detected = |corrupted: Value| compare("rich.dcf", &ours_rich, &Ok(corrupted)).is_some();
    let mut undetected = Vec::new();
    for path in &leaves {
        let mut corrupted = original.clone();
        let target = pointer_mut(&mut corrupted, path);
        *target = match target.take() {
            Value::Number(n) => json!(n.as_u64().map_or(0, |v| v ^ 1)),
            Value::String(s) => json!(format!("{s}~")),
            Value::Null => json!({"key_id": "", "signature": ""}),
            Value::Bool(b) => json!(!b),
            other @ (Value::Array(_) | Value::Object(_)) => json!({"replaced": other}),
        };
        if !detected(corrupted) {
            undetected.push(path.join("/"));
        }
    }
    // Dropping an element of any list must be noticed too.
    let mut arrays = Vec::new();
    collect_arrays(&original, &mut Vec::new(), &mut arrays);
    for path in &arrays {
        let mut corrupted = original.clone();
        if let Value::Array(items) = pointer_mut(&mut corrupted, path) {
            items.pop();
        }
        if !detected(corrupted) {
            undetected.push(format!("{} (one element dropped)", path.join("/")));
        }
    }
    // And a key that only one side has.
    let mut corrupted = original.clone();
    corrupted["header"]["extra"] = json!(0);
    if !detected(corrupted) {
        undetected.push("header/extra (added)".into());
    }
    assert!(
        undetected.is_empty(),
        "corruptions the comparison missed:\n{}",
        undetected.join("\n")
    );

    // And a file that Kaitai cannot read is a failure, not a pass.
    let mut failed = dumps.clone();
    failed.insert(rich.clone(), Err("simulated".into()));
    assert_eq!(disagreements(std::slice::from_ref(rich), &failed).len(), 1);
}

/// The .ksy's `valid:` checks are live: files that break them are rejected by the generated
/// parser (each corruption breaks a rule the description states, not only the digest).
#[test]
fn kaitai_rejects_what_the_description_forbids() {
    let rich = rich().encode().expect("rich encodes");
    let extended = extended().encode().expect("extended encodes");
    let view = parse(&rich).expect("rich parses");
    let section = |tag: u32| {
        view.sections()
            .find(|s| s.tag == tag)
            .unwrap_or_else(|| panic!("section {tag} in rich.dcf"))
    };
    let (strings, interface, rules, nodes) = (section(1), section(2), section(5), section(6));
    let string_count = view.strings().len() as usize;
    let sorted_at = strings.payload_offset + 4 + 4 * string_count;
    // The last byte of the greatest string: 0xff there breaks UTF-8 but not the sort order.
    let texts: Vec<&str> = view.strings().iter().collect();
    let greatest = (0..texts.len())
        .max_by_key(|&i| texts[i].as_bytes())
        .expect("strings");
    let greatest_end: usize = texts[..=greatest].iter().map(|t| t.len()).sum();
    let utf8_at = strings.payload_offset + 4 + 8 * string_count + greatest_end - 1;
    let rule_at = rules.payload_offset + 4;
    let node_at = nodes.payload_offset + 4;
    // (what breaks, file, offset, new bytes)
    let corruptions: Vec<(&str, &[u8], usize, Vec<u8>)> = vec![
        ("magic", &rich, 3, b"X".to_vec()),
        ("major", &rich, 8, vec![2]),
        ("reserved flag bit", &rich, 12, vec![0x03]),
        ("expires before created", &rich, 36, vec![0; 8]),
        ("section order", &rich, interface.offset, vec![4]),
        ("unknown section in minor 0", &extended, 10, vec![0, 0]),
        (
            "string count",
            &rich,
            strings.payload_offset + 3,
            vec![0x7f],
        ),
        ("sorted index", &rich, sorted_at, vec![0; 4]),
        ("UTF-8", &rich, utf8_at, vec![0xff]),
        (
            "template field range",
            &rich,
            interface.payload_offset + 4 + 8,
            vec![9],
        ),
        ("rule id order", &rich, rule_at, vec![0xfe]),
        ("rule template index", &rich, rule_at + 16, vec![200]),
        ("rule severity", &rich, rule_at + 18, vec![9]),
        ("rule action", &rich, rule_at + 19, vec![7]),
        ("rule attribute range", &rich, rule_at + 28, vec![5]),
        ("rule node count", &rich, rule_at + 40, vec![0; 4]),
        ("node opcode", &rich, node_at, vec![0x7f]),
        ("node flags", &rich, node_at + 1, vec![0x80]),
    ];
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kaitai-rejected");
    fs::create_dir_all(&dir).expect("create the folder of corrupted files");
    let mut files = Vec::new();
    for (i, (name, base, offset, new)) in corruptions.iter().enumerate() {
        let mut bytes = base.to_vec();
        let window = &mut bytes[*offset..*offset + new.len()];
        assert_ne!(window, &new[..], "{name}: the corruption changes nothing");
        window.copy_from_slice(new);
        assert!(parse(&bytes).is_err(), "{name}: dcf_parser accepts it");
        let path = dir.join(format!("{i:02}.dcf"));
        write_atomically(&path, &bytes);
        files.push((path, *name));
    }
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let dumps = kaitai_dumps(&paths);
    let accepted: Vec<&str> = files
        .iter()
        .filter(|(path, _)| dumps[path].is_ok())
        .map(|(_, name)| *name)
        .collect();
    assert!(
        accepted.is_empty(),
        "Kaitai's parser accepts files that break the description: {accepted:?}"
    );
}

/// The differential over fuzz inputs (issue: the generated parser is Python, so it cannot run
/// inside the fuzzer): mutants of the valid corpus made by the fuzzers' own format-aware
/// mutator, deterministic from a fixed seed, plus whatever a local campaign left in
/// `fuzz/corpus/parse/`. Every file our parser accepts must decode to the same structure
/// through `dcf.ksy`. Files we reject may pass Kaitai where the constraint is one SPEC.md §17
/// lists as inexpressible; how many do is printed, not asserted.
#[test]
fn kaitai_and_parser_agree_on_fuzz_inputs() {
    const MUTANTS: usize = 600;
    const LOCAL_CORPUS_MAX: usize = 300;
    let seeds: Vec<Vec<u8>> = corpus_files()
        .iter()
        .map(|p| fs::read(p).expect("read corpus file"))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kaitai-fuzz");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the folder of fuzz inputs");
    let mut rng = dcf_test_support::Rng::new(0x5eed_0291);
    let mut next = move || rng.next_u64();
    let mut files = Vec::new();
    for i in 0..MUTANTS {
        let mut data = seeds[(next() as usize) % seeds.len()].clone();
        for _ in 0..1 + next() % 3 {
            let seed = next() as u32;
            let mut flip_state = next();
            // libFuzzer's byte mutator stands in as a byte flip here.
            let mut default = |d: &mut Vec<u8>, _max: usize| {
                if !d.is_empty() {
                    flip_state = flip_state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    let at = (flip_state >> 33) as usize % d.len();
                    d[at] ^= 1 << ((flip_state >> 29) % 8);
                }
            };
            dcf_fuzz::mutate::mutate(&mut data, 1 << 20, seed, &mut default);
        }
        let path = dir.join(format!("mutant-{i:04}.dcf"));
        write_atomically(&path, &data);
        files.push(path);
    }
    let local = repo_root().join("fuzz/corpus/parse");
    if let Ok(entries) = fs::read_dir(&local) {
        let mut more: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= 1 << 20))
            .collect();
        more.sort();
        files.extend(more.into_iter().take(LOCAL_CORPUS_MAX));
    }
    let dumps = kaitai_dumps(&files);
    let missing = Err("dump.py did not report on it".to_string());
    let (mut accepted, mut both_reject, mut only_kaitai_accepts) = (0, 0, 0);
    let mut reports = Vec::new();
    for file in &files {
        let ours = ours_of(file);
        let theirs = dumps.get(file).unwrap_or(&missing);
        match (&ours, theirs) {
            (Ok(_), _) => {
                accepted += 1;
                if let Some(report) = compare(&file.display().to_string(), &ours, theirs) {
                    reports.push(report);
                }
            }
            (Err(_), Err(_)) => both_reject += 1,
            (Err(_), Ok(_)) => only_kaitai_accepts += 1,
        }
    }
    println!(
        "{} fuzz inputs: {accepted} accepted by dcf_parser (all must agree), {both_reject} rejected by both, {only_kaitai_accepts} rejected only by dcf_parser (constraints of SPEC.md §17)",
        files.len()
    );
    assert!(
        accepted >= 20,
        "too few mutants are valid ({accepted}) for the differential to mean anything"
    );
    assert!(
        reports.is_empty(),
        "format-spec/dcf.ksy and dcf_parser disagree on {} accepted fuzz inputs:\n{}",
        reports.len(),
        reports.join("\n")
    );
}
