//! # dcf-sensor
//!
//! What a security sensor embeds to receive dcf content updates and evaluate events.
//!
//! - [`Sensor::load`] verifies an update in the order of `format-spec/LOADER.md` and either
//!   makes it active with one atomic swap or refuses it with a coded [`LoadError`], leaving
//!   the last known good content active.
//! - [`Ruleset::evaluate`] runs the bound rules of an [`Event`]'s template type. Every field
//!   access is bounds-checked; an event shorter than its template's interface is refused with
//!   [`SensorCode::EventTooShort`] before any rule runs. Regexes are compiled by
//!   `regex-automata` as the `regex` crate compiles them (finite automata, size-limited); a
//!   per-field literal prefilter (a bucketed shift-or filter for a few dozen literals, a hash
//!   table of short atoms for more, each hit verified by comparing the literal) selects the few rules worth evaluating for each event
//!   and answers long contains lists.
//! - [`bind`] is the one binding decision (template types, field reads, operands): it binds a
//!   parsed content to an interface and returns the rules that bind and **every** refusal.
//!   The loader refuses an update on the first; the validator, `dcf test` and the Sigma
//!   importer report them all. The operand constructors it uses ([`check_regex`],
//!   [`Glob::parse`], [`Net::parse`]) are the ones every tool calls.
//!
//! Content is read only through `dcf-parser`.
//!
//! Without its default `std` feature the crate is `no_std` with `alloc` (it builds for
//! `x86_64-unknown-none`, as a kernel driver needs): the binder, the interpreter with its
//! matchers, and the [`Verifier`] that runs every load check. The atomically swapped slot
//! ([`Sensor`]) and the content store ([`store`]) need `std`.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
// Unit tests may panic and index their fixtures; the library itself meets the deny list.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

extern crate alloc;

/// What the `std` prelude would give every module: `no_std` takes it from `alloc`.
mod prelude {
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
    pub(crate) use alloc::{format, vec};
}

/// A hash map with foldhash, the same with or without `std`.
pub(crate) type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set with foldhash, the same with or without `std`.
pub(crate) type HashSet<T> = hashbrown::HashSet<T, foldhash::fast::RandomState>;

mod alphabet;
mod assemble;
mod bind;
mod cost;
mod engines;
mod error;
mod event;
mod fold;
mod glob;
mod interface;
pub mod limits;
mod literals;
#[cfg(feature = "std")]
mod loader;
mod net;
mod operands;
mod prefilter;
mod program;
mod regexes;
#[cfg(feature = "std")]
pub mod store;
mod verify;

pub use bind::{Binding, Reason, Refusal, bind};
pub use cost::Cost;
pub use error::{EvalError, LoadError, SensorCode};
pub use event::{Event, Value};
pub use fold::{fold, fold_into};
pub use glob::Glob;
pub use interface::{Budget, FieldInterface, SensorInterface, TemplateInterface, is_valid_name};
#[cfg(feature = "std")]
pub use loader::Sensor;
pub use net::Net;
pub use operands::OperandError;
pub use program::{RuleInfo, Ruleset, Scratch};
pub use regexes::{RegexError, check_regex, regex_matches_everything};
pub use verify::{Channels, LoaderConfig, Verifier};
