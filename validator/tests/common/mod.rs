//! What the integration tests share: the semantic corpus's time, fleet and keys.
#![allow(dead_code, unused_imports)]

pub use dcf_test_support::corpus::{NOW, corpus_dir, load_manifests, trusted_key, untrusted_key};
pub use dcf_test_support::repo_root;
