//! The nom reader against the reader it replaced (issue 21), on every corpus file and on
//! mutants of the valid ones whose digest is recomputed, so that the body checks run: the same
//! verdict, code, offset, found and expected values everywhere. Deleted with `legacy`.

use std::fs;
use std::path::Path;

use dcf_parser::format::{DIGEST_LEN, HEADER_LEN};
use dcf_parser::{Frame, legacy, sha256};

fn files(dir: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut out: Vec<_> = fs::read_dir(&dir)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcf"))
        .collect();
    out.sort();
    out.iter().map(|p| fs::read(p).expect("read")).collect()
}

/// Both readers' verdicts on the body, if the frame and digest pass.
fn compare(bytes: &[u8]) -> usize {
    let Ok(verified) = Frame::read(bytes).and_then(|f| f.verify_digest()) else {
        return 0;
    };
    let new = verified
        .parse_body()
        .map(|v| (v.rule_count(), v.template_count()));
    let old = legacy::parse_body(verified).map(|v| (v.rule_count(), v.template_count()));
    assert_eq!(new, old, "readers disagree on {bytes:02x?}");
    1
}

/// Rewrites the digest of an unsigned or signed file after its body changed.
fn redigest(bytes: &mut [u8]) {
    let Ok(frame) = Frame::read(bytes) else {
        return;
    };
    let at = frame.digested_bytes().len();
    let digest = sha256(&bytes[..at]);
    bytes[at..at + DIGEST_LEN].copy_from_slice(&digest);
}

#[test]
fn nom_reader_agrees_with_the_legacy_reader() {
    let mut checked = 0usize;
    for dir in ["corpus/valid", "corpus/invalid", "corpus/semantic"] {
        for file in files(dir) {
            checked += compare(&file);
        }
    }
    for file in files("corpus/valid") {
        let trailer = Frame::read(&file).expect("valid frame").len()
            - Frame::read(&file)
                .expect("valid frame")
                .digested_bytes()
                .len();
        let body_end = file.len() - trailer;
        // Every position of the small files; about 2,000 of the 34 KB limits file.
        let step = ((body_end - HEADER_LEN) / 2000).max(1);
        for i in (HEADER_LEN..body_end).step_by(step) {
            let b = file[i];
            for v in [
                0x00,
                0xff,
                b ^ 0x01,
                b ^ 0x80,
                b.wrapping_add(1),
                b.wrapping_sub(1),
            ] {
                let mut m = file.clone();
                m[i] = v;
                redigest(&mut m);
                checked += compare(&m);
            }
            // Cut the body at `i` and drop a byte at `i`: framing and trailing-byte errors.
            for m in [
                [&file[..i], &file[body_end..]].concat(),
                [&file[..i], &file[i + 1..]].concat(),
            ] {
                let mut m = m;
                redigest(&mut m);
                checked += compare(&m);
            }
        }
    }
    assert!(checked > 100_000, "only {checked} bodies compared");
    println!("{checked} bodies compared");
}
