//! # dcf-events
//!
//! Events into the field arrays a sensor evaluates: the one place every tool reads events
//! from (the `dcf test` dry run, the Sigma tests and benchmarks, the fuzz targets).
//!
//! - [`value`]: owned field values and the conversion of a JSON value to a field's type.
//! - [`test_events`]: JSON Lines test events (`dcf test --events`): fields by name and the
//!   rules each event must and must not match.
//! - [`named`]: an event as named fields, projected onto a template type's field array.
//! - [`windows`]: Windows event JSON (evtx converters' shape) into named fields, and the
//!   Sigma log sources an event belongs to.
//! - [`flat_json`]: flat JSON events (SIEM and converter output) read without building a JSON
//!   tree, routed to template types; held to [`json_reference`] (serde_json's tree, walked).
//!
//! Field names are mapped and log sources keyed by `dcf_sigma::logsource`, so that the names
//! an event is read under are the names the importer compiles rules against.

#![forbid(unsafe_code)]
// Tooling, not run in a sensor: the indexing and arithmetic lints bind the parser and the
// sensor. Unwrap, expect, panic, unreachable, todo and unimplemented stay denied outside tests.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod flat_json;
pub mod json_reference;
pub mod named;
pub mod test_events;
pub mod value;
pub mod windows;
