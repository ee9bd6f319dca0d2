//! # dcf-validator
//!
//! The gate that detection content passes before it is signed. It reads content only through
//! `dcf-parser`, then checks what the parser cannot know: that every sensor version the content
//! targets really supplies every field its rules read (the check Channel File 291 lacked),
//! that operands are well-formed, that no rule matches everything or nothing, that the
//! content is current and newer than what is deployed, and that it stays within budgets.
//!
//! - [`manifest`]: sensor manifests, what each sensor build supplies (no CLI dependencies).
//! - [`check_interface`]: one content against one manifest.
//! - [`validate_bytes`] / [`validate_content`]: every check, for one file and a fleet.
//! - [`source`]: the authoring format (YAML or JSON) and its compiler and decompiler.
//! - [`dryrun`]: `dcf test`, the content run in the sensor's own interpreter for every
//!   targeted sensor version: every rule bound, every criterion probed, expectations, blast
//!   radius.
//! - [`codes`]: every diagnostic code, as in `format-spec/DIAGNOSTICS.md`.

#![forbid(unsafe_code)]
// Tooling, not run in a sensor: the indexing and arithmetic lints bind the parser and the
// sensor. Unwrap, expect, panic, unreachable, todo and unimplemented stay denied outside tests.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod checks;
pub mod codes;
pub mod diagnostic;
pub mod dryrun;
pub mod interface;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod source;
pub mod time;

pub use checks::{Options, Previous, Validation, validate_bytes, validate_content};
pub use codes::{AnyCode, Code, Severity};
pub use diagnostic::Diagnostic;
pub use interface::check_interface;
pub use manifest::Manifest;
