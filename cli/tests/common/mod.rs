//! What the integration tests share: the semantic corpus's time, fleet and keys (from
//! `dcf-test-support`), and running the `dcf` binary.
#![allow(dead_code, unused_imports)]

pub use dcf_test_support::corpus::{NOW, corpus_dir, load_manifests, trusted_key, untrusted_key};
pub use dcf_test_support::repo_root;

/// Runs the `dcf` binary from the repository root (colour off); returns (exit code, standard
/// output, standard error). A panic (exit 101) or a kill by a signal fails the test.
pub fn dcf(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dcf"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("dcf runs");
    let code = out
        .status
        .code()
        .expect("dcf exited, not killed by a signal");
    assert_ne!(
        code,
        101,
        "dcf panicked on {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path as a command-line argument.
pub fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}
