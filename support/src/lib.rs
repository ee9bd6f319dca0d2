//! # dcf-test-support
//!
//! What dcf's tests, benchmarks and smoke runs share, so that each exists once:
//!
//! - [`Rng`]: the deterministic xorshift64* generator behind every seeded random test;
//! - [`repo_root`]: the repository root, for tests that read committed files;
//! - [`table_rows`]: the rows of the Markdown tables the spec agreement tests compare with
//!   the code.
//!
//! - [`StaticServer`]: a loopback HTTP server of a directory, for the updater's network tests;
//! - [`CountingAllocator`]: the one counting global allocator (allocations, bytes in use and
//!   their peak, and a thread's own allocations) behind every heap measurement;
//! - [`content::bound`] (feature `content`): a content encoded, parsed and bound as a sensor
//!   runs it;
//! - [`corpus`] (feature `corpus`): the semantic corpus's time, fleet and keys;
//! - [`example`] (feature `example`): the bundled example compiled and signed as any sequence.
//!
//! Without features it depends on nothing, so any crate of the workspace, the parser and the
//! sensor included, can use it as a dev-dependency.

// Test tooling, not run in a sensor: the generator and the table reader index and count
// directly. The deny list binds the parser and the sensor.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

mod counting_alloc;
mod serve;

pub use counting_alloc::{CountingAllocator, HeapUse};
pub use serve::StaticServer;

#[cfg(feature = "content")]
pub mod content;
#[cfg(feature = "corpus")]
pub mod corpus;
#[cfg(feature = "example")]
pub mod example;

/// xorshift64* (Marsaglia's xorshift with a multiplicative output scrambler, Vigna 2016):
/// deterministic and dependency-free, so a seeded test draws the same numbers in every run
/// and on every platform.
///
/// A zero seed yields zeros forever; every caller seeds with a non-zero constant.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator in state `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`: the next output modulo `n`.
    ///
    /// # Panics
    ///
    /// If `n` is 0; see [`Rng::below_or_zero`] for a total variant.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `0..n`, or 0 when `n` is 0 (the next output modulo `max(n, 1)`). Draws
    /// one output either way.
    pub fn below_or_zero(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// An element of `items`, drawn with [`Rng::below`].
    ///
    /// # Panics
    ///
    /// If `items` is empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// True once in `one_in` draws on average (when [`Rng::below`] draws 0).
    ///
    /// # Panics
    ///
    /// If `one_in` is 0.
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// `n` bytes, each the low byte of one output.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The repository root: the parent of this crate's directory, as every workspace crate
/// sits directly under the root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// How [`table_rows`] returns each cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cells {
    /// The cell's text with surrounding whitespace removed.
    Trimmed,
    /// Trimmed, then every backtick at either end removed, so `` `E0001` `` reads `E0001`.
    Unquoted,
}

/// The rows of every table in the Markdown `text`, in order, each as its cells.
///
/// A table row is a line whose first non-blank character is `|`. Its cells are what lies
/// between the pipes, after removing the pipes at the start and the end of the line; a pipe
/// escaped as `\|` belongs to its cell and reads `|`. Header rows are rows like any other
/// (callers select the rows they want by their cells); delimiter rows (`|---|:--:|`) are
/// left out.
pub fn table_rows(text: &str, cells: Cells) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'))
        .map(|line| split_row(line, cells))
        .filter(|row| !is_delimiter_row(row))
        .collect()
}

/// The cells of one table line (trimmed, starting with `|`).
fn split_row(line: &str, mode: Cells) -> Vec<String> {
    let line = line.trim_matches('|');
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
        .into_iter()
        .map(|c| match mode {
            Cells::Trimmed => c.trim().to_string(),
            Cells::Unquoted => c.trim().trim_matches('`').to_string(),
        })
        .collect()
}

/// `---`, `:--`, `--:`, `:-:` in every cell.
fn is_delimiter_row(row: &[String]) -> bool {
    row.iter().all(|c| {
        let dashes = c.strip_prefix(':').unwrap_or(c);
        let dashes = dashes.strip_suffix(':').unwrap_or(dashes);
        !dashes.is_empty() && dashes.bytes().all(|b| b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift64_star_sequence() {
        // The first outputs from seed 1, as every copy this replaces computed them.
        let mut rng = Rng::new(1);
        assert_eq!(rng.next_u64(), 0x47e4_ce4b_896c_dd1d);
        let mut a = Rng::new(0x5eed_0001);
        let mut b = Rng::new(0x5eed_0001);
        for n in 1..100 {
            assert_eq!(a.below(n), (b.next_u64() % n as u64) as usize);
        }
        assert_eq!(Rng::new(7).below_or_zero(0), 0);
        assert_eq!(Rng::new(0).next_u64(), 0);
    }

    #[test]
    fn reads_rows_skips_delimiters_keeps_escaped_pipes() {
        let text = "intro | not a row\n\
                    | Code | Meaning |\n\
                    |------|:-------:|\n\
                    | `E0001` | a \\| b |\n  \
                    | indented | row |\n";
        assert_eq!(
            table_rows(text, Cells::Unquoted),
            [
                vec!["Code", "Meaning"],
                vec!["E0001", "a | b"],
                vec!["indented", "row"]
            ]
        );
        assert_eq!(table_rows(text, Cells::Trimmed)[1][0], "`E0001`");
    }

    #[test]
    fn repo_root_holds_the_workspace() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("support").is_dir());
    }
}
