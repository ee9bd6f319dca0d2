//! Every target as a stable `#[test]`: a few hundred seeded inputs each, random bytes and
//! mutations of the valid corpus, so `cargo test` exercises the targets on every machine.

use std::fs;
use std::path::PathBuf;

use dcf_test_support::Rng;

use super::mutate::{fix_digest, mutate};
use super::{
    compile_source_target, flat_json_target, load_and_eval_target, parse_target, roundtrip_target,
    validate_target,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn seeds() -> Vec<Vec<u8>> {
    let mut files: Vec<_> = fs::read_dir(repo().join("corpus/valid"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcf"))
        .map(|p| fs::read(p).unwrap())
        .collect()
}

/// A byte-level stand-in for libFuzzer's mutator: flips, overwrites, truncates.
fn flip(rng: &mut Rng) -> impl FnMut(&mut Vec<u8>, usize) + '_ {
    move |data: &mut Vec<u8>, max: usize| {
        if data.is_empty() {
            data.push(rng.next_u64() as u8);
            return;
        }
        match rng.next_u64() % 3 {
            0 => {
                let i = (rng.next_u64() as usize) % data.len();
                data[i] ^= 1 << (rng.next_u64() % 8);
            }
            1 => {
                let i = (rng.next_u64() as usize) % data.len();
                data[i] = rng.next_u64() as u8;
            }
            _ => {
                let keep = (rng.next_u64() as usize) % data.len();
                data.truncate(keep.min(max));
            }
        }
    }
}

/// Inputs for a target: random byte strings, and the valid corpus mutated by our mutator.
fn inputs(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let seeds = seeds();
    let mut rng = Rng::new(seed);
    let mut byte_rng = Rng::new(seed ^ 0xabcdef);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        if i % 4 == 0 {
            let len = (rng.next_u64() % 512) as usize;
            out.push((0..len).map(|_| rng.next_u64() as u8).collect());
        } else {
            let mut data = seeds[(rng.next_u64() as usize) % seeds.len()].clone();
            for _ in 0..1 + rng.next_u64() % 4 {
                let s = rng.next_u64() as u32;
                mutate(&mut data, 1 << 20, s, &mut flip(&mut byte_rng));
            }
            out.push(data);
        }
    }
    out
}

#[test]
fn parse_smoke() {
    let inputs = inputs(400, 1);
    let (mut accepted, mut past_digest, mut mutants) = (0, 0, 0);
    for (i, data) in inputs.iter().enumerate() {
        parse_target(data);
        if i % 4 == 0 {
            continue; // random bytes: not expected to get anywhere
        }
        mutants += 1;
        match dcf_parser::parse(data) {
            Ok(_) => accepted += 1,
            Err(e) if e.code().number() >= 200 => past_digest += 1,
            Err(_) => {}
        }
    }
    println!("{mutants} mutants: {accepted} accepted, {past_digest} rejected by a body check");
    // The mutator keeps inputs framed and digested: most mutants must reach the body checks,
    // or the fuzzer would spend its time on the frame.
    assert!(
        accepted + past_digest > mutants / 2,
        "only {} of {mutants} mutants got past the digest",
        accepted + past_digest
    );
}

#[test]
fn roundtrip_smoke() {
    let mut rng = Rng::new(2);
    for _ in 0..300 {
        let len = (rng.next_u64() % 4096) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        roundtrip_target(&data);
    }
}

#[test]
fn load_and_eval_smoke() {
    // The valid seeds must mostly load and run events, or the target would only ever exercise
    // refusals. Not all: the signed seed's key is not trusted, and one input in eight takes
    // an arbitrary clock on purpose, so that refusals stay reachable.
    let seeds = seeds();
    let (mut loaded, mut evaluated) = (0, 0);
    for seed in &seeds {
        let reached = load_and_eval_target(seed);
        loaded += usize::from(reached.loaded);
        evaluated += reached.evaluated;
    }
    println!(
        "load_and_eval: {loaded} of {} seeds loaded, {evaluated} events evaluated",
        seeds.len()
    );
    assert!(
        loaded * 10 >= seeds.len() * 8 && evaluated > 100,
        "the interpreter is not reached: {loaded} loaded, {evaluated} evaluated"
    );
    for data in inputs(300, 3) {
        load_and_eval_target(&data);
    }
}

#[test]
fn validate_smoke() {
    // The valid seeds must mostly pass the manifest reader and reach the validator's
    // acceptance and the dry run, or the target would only exercise refusals.
    let seeds = seeds();
    let (mut manifests, mut accepted, mut dry_runs) = (0, 0, 0);
    for seed in &seeds {
        let reached = validate_target(seed);
        manifests += usize::from(reached.manifest);
        accepted += usize::from(reached.accepted);
        dry_runs += usize::from(reached.dry_run);
    }
    println!(
        "validate: {manifests} manifests read, {accepted} accepted, {dry_runs} dry runs of {}",
        seeds.len()
    );
    assert!(manifests * 10 >= seeds.len() * 9, "manifests: {manifests}");
    assert!(accepted >= seeds.len() / 3, "accepted: {accepted}");
    assert!(dry_runs >= seeds.len() / 2, "dry runs: {dry_runs}");
    for data in inputs(200, 6) {
        validate_target(&data);
    }
}

/// YAML seeds for `compile_source`: the example rules and a sample of SigmaHQ's rules.
fn yaml_seeds() -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = fs::read_dir(repo().join("examples/rules"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let sigma = repo().join("../shared/sigma/rules/windows/process_creation");
    if let Ok(entries) = fs::read_dir(&sigma) {
        let mut more: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more.into_iter().step_by(40));
    }
    files.sort();
    files.into_iter().map(|p| fs::read(p).unwrap()).collect()
}

#[test]
fn compile_source_smoke() {
    let seeds = yaml_seeds();
    let (mut dcf, mut sigma) = (0, 0);
    for seed in &seeds {
        let reached = compile_source_target(seed);
        dcf += usize::from(reached.dcf);
        sigma += usize::from(reached.sigma);
    }
    println!(
        "compile_source: {dcf} dcf and {sigma} Sigma compiles of {} seeds",
        seeds.len()
    );
    assert!(
        sigma >= seeds.len() / 2,
        "Sigma seeds must compile: {sigma}"
    );
    assert!(dcf >= 1, "the dcf example sources must compile");
    // Byte-level mutations of the seeds: truncations, flips, overwrites.
    let mut rng = Rng::new(7);
    let mut byte_rng = Rng::new(8);
    for i in 0..300 {
        let mut data = seeds[i % seeds.len()].clone();
        let mut edit = flip(&mut byte_rng);
        for _ in 0..1 + rng.next_u64() % 8 {
            edit(&mut data, 1 << 16);
        }
        compile_source_target(&data);
    }
    // Deep nesting must be refused, not recursed into.
    for depth in [100, 10_000, 100_000] {
        let deep = "[".repeat(depth);
        compile_source_target(deep.as_bytes());
        let deep = format!("detection:\n  s:{}\n", " {a:".repeat(depth));
        compile_source_target(deep.as_bytes());
    }
}

/// Line seeds for `flat_json`: the example event lines, and a flat Windows event.
fn json_seeds() -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = ["examples/events.jsonl", "examples/benign.jsonl"]
        .iter()
        .flat_map(|f| {
            fs::read_to_string(repo().join(f))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    lines.push(
        br#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c \"echo \u00e9\ud83d\ude00\"","ProcessId":-42,"Ratio":1.5e-3,"Big":18446744073709551616,"Tags":[1,"a",{"b":null}],"winlog":{"event_data":{"User":"CORP\\ana"}},"Odd Name":true,"Image":null}"#
            .to_vec(),
    );
    lines
}

#[test]
fn flat_json_smoke() {
    let seeds = json_seeds();
    let accepted = seeds.iter().filter(|s| flat_json_target(s)).count();
    println!("flat_json: {accepted} of {} seeds accepted", seeds.len());
    assert_eq!(accepted, seeds.len(), "every seed line is a JSON object");
    // Byte-level mutations (truncations, flips, overwrites): both answers must occur.
    let mut rng = Rng::new(9);
    let mut byte_rng = Rng::new(10);
    let (mut mutants, mut mutants_accepted) = (0, 0);
    for i in 0..2000 {
        let mut data = seeds[i % seeds.len()].clone();
        let mut edit = flip(&mut byte_rng);
        for _ in 0..1 + rng.next_u64() % 3 {
            edit(&mut data, 1 << 16);
        }
        mutants += 1;
        mutants_accepted += usize::from(flat_json_target(&data));
    }
    println!("flat_json: {mutants_accepted} of {mutants} mutants accepted");
    assert!(mutants_accepted > 0 && mutants_accepted < mutants);
    // Deep nesting is refused where serde_json refuses it, never recursed into without bound.
    for depth in [126, 127, 128, 10_000, 100_000] {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        flat_json_target(deep.as_bytes());
        let deep = format!("{{\"a\":{}", "{\"a\":".repeat(depth));
        flat_json_target(deep.as_bytes());
    }
}

#[test]
fn mutator_keeps_the_digest_valid() {
    let mut rng = Rng::new(4);
    let mut byte_rng = Rng::new(5);
    for seed in seeds() {
        let mut data = seed.clone();
        mutate(
            &mut data,
            1 << 20,
            rng.next_u64() as u32,
            &mut flip(&mut byte_rng),
        );
        let mut fixed = data.clone();
        fix_digest(&mut fixed);
        assert_eq!(fixed, data, "the mutator must leave a repaired digest");
        if let Err(e) = dcf_parser::parse(&data) {
            assert_ne!(
                e.code(),
                dcf_parser::ErrorCode::DigestMismatch,
                "digest not repaired"
            );
        }
    }
}

/// Every crash, timeout or leak ever found is minimised into `corpus/regressions/<target>/`
/// and replayed here forever after.
#[test]
fn regressions_replay() {
    let root = repo().join("corpus/regressions");
    let mut replayed = 0;
    for (target, run) in [
        ("parse", parse_target as fn(&[u8])),
        ("roundtrip", roundtrip_target),
        ("load_and_eval", |data: &[u8]| {
            load_and_eval_target(data);
        }),
        ("validate", |data: &[u8]| {
            validate_target(data);
        }),
        ("compile_source", |data: &[u8]| {
            compile_source_target(data);
        }),
        ("flat_json", |data: &[u8]| {
            flat_json_target(data);
        }),
    ] {
        let Ok(entries) = fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            run(&fs::read(entry.path()).unwrap());
            replayed += 1;
        }
    }
    println!("replayed {replayed} regression inputs");
}
