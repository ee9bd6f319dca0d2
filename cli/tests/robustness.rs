//! No input makes the validator, the compiler, the decompiler or the byte map panic:
//! arbitrary contents, mutated files and mutated sources, from fixed seeds.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use arbitrary::{Arbitrary, Unstructured};
use dcf_parser::Content;
use dcf_test_support::Rng;
use dcf_validator::source::{HeaderOverrides, SourceFile, compile, decompile};
use dcf_validator::{Options, check_interface, validate_bytes};

fn options() -> Options {
    Options {
        now: common::NOW,
        previous: None,
    }
}

/// Makes an arbitrary content more often encodable: sorted, unique ids, rules on declared
/// template types.
fn repair(c: &mut Content) {
    c.templates.sort_by_key(|t| t.id);
    c.templates.dedup_by_key(|t| t.id);
    c.rules.sort_by_key(|r| r.id);
    c.rules.dedup_by_key(|r| r.id);
    let ids: Vec<u32> = c.templates.iter().map(|t| t.id).collect();
    for (i, r) in c.rules.iter_mut().enumerate() {
        if let Some(id) = ids.get(i % ids.len().max(1)) {
            r.template = *id;
        }
    }
    c.extensions.clear();
    c.header.minor = 0;
    if c.header.created_at >= c.header.expires_at {
        c.header.expires_at = c.header.created_at.saturating_add(1);
    }
    if c.header.sensor_min > c.header.sensor_max {
        std::mem::swap(&mut c.header.sensor_min, &mut c.header.sensor_max);
    }
}

#[test]
fn arbitrary_contents() {
    let fleet = common::load_manifests();
    let mut rng = Rng::new(0x5eed_0001);
    let mut encoded = 0usize;
    for _ in 0..3000 {
        let n = 512 + rng.below_or_zero(4096);
        let raw = rng.bytes(n);
        let Ok(mut content) = Content::arbitrary(&mut Unstructured::new(&raw)) else {
            continue;
        };
        repair(&mut content);
        let Ok(bytes) = content.encode() else {
            continue;
        };
        encoded += 1;
        let v = validate_bytes(&bytes, &fleet, &options());
        let view = dcf_parser::parse(&bytes).expect("the writer's output parses");
        for m in &fleet {
            let _ = check_interface(&view, m);
        }
        for d in &v.diagnostics {
            if let Some(o) = d.offset {
                assert!(o < bytes.len(), "{} points past the file", d.code);
            }
        }
        let _ = dcf_cli::hexdump::render(&bytes, None);
        // Whatever the content, its source form compiles back to the same bytes.
        let mut unsigned = content.clone();
        unsigned.signature = None;
        let expected = unsigned.encode().expect("unsigned encodes");
        let text = decompile(&unsigned);
        let compiled = compile(
            &[SourceFile {
                name: "arbitrary.yaml".into(),
                text: text.clone(),
            }],
            &[],
            &HeaderOverrides::default(),
            0,
        );
        assert!(
            compiled.diagnostics.is_empty(),
            "{:?}\n{text}",
            compiled.diagnostics
        );
        assert_eq!(
            compiled
                .content
                .expect("compiled")
                .encode()
                .expect("encodes"),
            expected,
            "round trip of\n{text}"
        );
    }
    assert!(
        encoded >= 100,
        "only {encoded} arbitrary contents encoded: the test tests little"
    );
}

#[test]
fn mutated_files() {
    let fleet = common::load_manifests();
    let mut rng = Rng::new(0x5eed_0002);
    let mut files = Vec::new();
    for dir in ["corpus/valid", "corpus/semantic"] {
        for e in std::fs::read_dir(common::repo_root().join(dir))
            .expect("dir")
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "dcf") {
                files.push(std::fs::read(e.path()).expect("read"));
            }
        }
    }
    assert!(files.len() > 20);
    for _ in 0..3000 {
        let mut bytes = files[rng.below_or_zero(files.len())].clone();
        match rng.below_or_zero(4) {
            0 => bytes.truncate(rng.below_or_zero(bytes.len() + 1)),
            1 => {
                for _ in 0..=rng.below_or_zero(8) {
                    let i = rng.below_or_zero(bytes.len());
                    if let Some(b) = bytes.get_mut(i) {
                        *b = rng.next_u64() as u8;
                    }
                }
            }
            2 => {
                let at = rng.below_or_zero(bytes.len() + 1);
                let n = rng.below_or_zero(64);
                let extra = rng.bytes(n);
                bytes.splice(at..at, extra);
            }
            _ => {
                // Keep the frame valid: mutate the body, then fix the digest, so the body
                // checks and the semantic checks see the damage.
                let digest_at = dcf_parser::Frame::read(&bytes)
                    .map(|f| f.digested_bytes().len())
                    .unwrap_or(0);
                if digest_at > 56 {
                    let i = 56 + rng.below_or_zero(digest_at - 56);
                    bytes[i] = rng.next_u64() as u8;
                    let digest = dcf_parser::sha256(&bytes[..digest_at]);
                    bytes[digest_at..digest_at + 32].copy_from_slice(&digest);
                }
            }
        }
        let v = validate_bytes(&bytes, &fleet, &options());
        let error = dcf_parser::parse(&bytes).err();
        assert!(
            v.has_errors() || error.is_none(),
            "a structural rejection is an error"
        );
        let _ = dcf_cli::hexdump::render(&bytes, error.as_ref());
        let _ =
            dcf_validator::keys::verify_signature(&bytes, &[common::trusted_key().verifying_key()]);
    }
}

#[test]
fn mutated_sources() {
    let root = common::repo_root();
    let mut texts = Vec::new();
    for dir in ["examples/rules", "corpus/semantic"] {
        for e in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
            let is_source = e
                .path()
                .extension()
                .is_some_and(|x| x == "yaml" || x == "json");
            if let (true, Ok(t)) = (is_source, std::fs::read_to_string(e.path())) {
                texts.push(t);
            }
        }
    }
    let manifests: Vec<_> = common::load_manifests()
        .into_iter()
        .map(|m| (m.version.to_string(), m))
        .collect();
    let alphabet: Vec<char> = ":-[]{}\"'\n #&*!|>\\,0123456789abcxyzé\t".chars().collect();
    let mut rng = Rng::new(0x5eed_0003);
    let mut compiled_ok = 0;
    for _ in 0..1500 {
        let mut chars: Vec<char> = texts[rng.below_or_zero(texts.len())].chars().collect();
        for _ in 0..=rng.below_or_zero(4) {
            let at = rng.below_or_zero(chars.len() + 1);
            match rng.below_or_zero(3) {
                0 => {
                    let end = (at + rng.below_or_zero(12)).min(chars.len());
                    chars.drain(at..end);
                }
                1 => {
                    for _ in 0..=rng.below_or_zero(6) {
                        let c = alphabet[rng.below_or_zero(alphabet.len())];
                        chars.insert(at.min(chars.len()), c);
                    }
                }
                _ => {
                    let end = (at + rng.below_or_zero(40)).min(chars.len());
                    let copy: Vec<char> = chars[at..end].to_vec();
                    let to = rng.below_or_zero(chars.len() + 1);
                    chars.splice(to..to, copy);
                }
            }
        }
        let text: String = chars.into_iter().collect();
        let out = compile(
            &[SourceFile {
                name: "mutated.yaml".into(),
                text: text.clone(),
            }],
            &manifests,
            &HeaderOverrides::default(),
            common::NOW,
        );
        for l in &out.diagnostics {
            if let Some(o) = l.diagnostic.offset {
                assert!(o <= text.len(), "offset past the source");
                assert!(text.is_char_boundary(o), "offset inside a character");
            }
        }
        assert_eq!(out.content.is_some(), out.diagnostics.is_empty());
        if let Some(c) = out.content {
            compiled_ok += 1;
            c.encode().expect("compiled content encodes");
        }
    }
    assert!(
        compiled_ok > 10,
        "mutations too destructive to test the compiler's success path"
    );
}
