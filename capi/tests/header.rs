//! The committed C header is what cbindgen makes of the sources today.

// A test: a failure may panic.
#![allow(clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn the_committed_header_is_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate")
        .write(&mut generated);
    let path = dir.join("include/dcf.h");
    if std::env::var_os("DCF_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "capi/include/dcf.h is stale: run `DCF_UPDATE_HEADER=1 cargo test -p dcf-capi --test header`"
    );
}
