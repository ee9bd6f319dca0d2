//! # dcf-parser
//!
//! The one reader and writer of the dcf detection-content format (`format-spec/SPEC.md`).
//! Every dcf tool and every sensor reads content through this crate.
//!
//! - [`parse`] checks a whole file (frame, digest, header, body) and returns a zero-copy
//!   [`ContentView`]: no heap allocation, no recursion, time linear in the input. Once it is
//!   returned, iteration over rules and expressions cannot fail.
//! - [`Frame`] exposes the same checks in stages for embedders that must interleave their own
//!   (signature, clock, sequence) in the order the spec prescribes.
//! - With feature `alloc` (default): the owned model [`Content`], decoding into it and the
//!   canonical writer [`Content::encode`]. `serde` and `arbitrary` derive their traits on it.
//!
//! The checks are written with nom combinators over the crate's own panic-free primitives
//! (`SPEC.md` §14a says why and what nom would have cost); no nom type is part of the API.
//!
//! Every rejection is an [`Error`] with a stable [`ErrorCode`] and an absolute byte offset.
//! Every limit is in [`limits`]; every byte-level constant is in [`format`].
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use dcf_parser::{Content, parse};
//! let bytes = Content::default().encode().unwrap_err(); // created_at must precede expires_at
//! assert_eq!(bytes.code().as_str(), "E0108");
//! # }
//! ```

#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
// The `arbitrary` crate's derive names `std`; the feature is for fuzzing and tests only.
#[cfg(feature = "arbitrary")]
extern crate std;

mod code_table;
mod error;
mod expr;
pub mod format;
mod frame;
pub mod layout;
pub mod limits;
mod reader;
mod strings;
mod types;
mod view;

#[cfg(feature = "alloc")]
mod encode;
#[cfg(feature = "alloc")]
mod model;
#[cfg(feature = "serde")]
mod serde_impls;

pub use error::{Error, ErrorCode};
pub use frame::{
    Frame, Header, SignatureBlock, SignedMessage, VerifiedFrame, key_id, sha256, signed_message,
};
pub use strings::StringTable;
pub use types::{
    Action, CompareOp, FieldType, Match, MatchKind, Node, Operand, RuleId, SensorVersion, Severity,
    Target,
};
pub use view::{ContentView, FieldView, RuleView, Section, TemplateView, ValueList, parse};

#[cfg(feature = "alloc")]
pub use model::{Attribute, Content, Extension, Field, Rule, Signature, Template};

// What `code_table!` expands to calls it; not part of the API.
#[doc(hidden)]
pub use code_table::strictly_ascending as __code_table_strictly_ascending;
