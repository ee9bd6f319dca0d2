//! A cursor over complete input that knows its absolute offset.
//!
//! Every read is `split_first_chunk` / `split_at_checked` on the remaining slice, so a short
//! read is an error at the exact offset and never a request for more input, and an integer is
//! one unaligned load (`from_le_bytes`), not a byte loop. Every failure becomes an [`Error`]
//! with the code the caller names for that spot.

use crate::error::{Error, ErrorCode};

/// Reads little-endian fields from a slice whose first byte is at absolute offset `start`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    /// Absolute offset of the end of `rest`: the current offset is `end - rest.len()`.
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, whose first byte sits at absolute offset `start`.
    pub(crate) fn new(bytes: &'a [u8], start: usize) -> Self {
        Reader {
            rest: bytes,
            end: start.saturating_add(bytes.len()),
        }
    }

    /// Absolute offset of the next byte to be read.
    pub(crate) fn offset(&self) -> usize {
        self.end.saturating_sub(self.rest.len())
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn short(&self, need: usize, short: ErrorCode) -> Error {
        Error::new(short, self.offset())
            .expected(need as u64)
            .found(self.rest.len() as u64)
    }

    pub(crate) fn u8(&mut self, short: ErrorCode) -> Result<u8, Error> {
        self.array::<1>(short).map(|&[b]| b)
    }

    pub(crate) fn u16(&mut self, short: ErrorCode) -> Result<u16, Error> {
        self.array::<2>(short).map(|b| u16::from_le_bytes(*b))
    }

    pub(crate) fn u32(&mut self, short: ErrorCode) -> Result<u32, Error> {
        self.array::<4>(short).map(|b| u32::from_le_bytes(*b))
    }

    pub(crate) fn u64(&mut self, short: ErrorCode) -> Result<u64, Error> {
        self.array::<8>(short).map(|b| u64::from_le_bytes(*b))
    }

    /// Takes the next `len` bytes.
    pub(crate) fn bytes(&mut self, len: usize, short: ErrorCode) -> Result<&'a [u8], Error> {
        match self.rest.split_at_checked(len) {
            Some((head, rest)) => {
                self.rest = rest;
                Ok(head)
            }
            None => Err(self.short(len, short)),
        }
    }

    /// Takes the next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, short: ErrorCode) -> Result<&'a [u8; N], Error> {
        match self.rest.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.rest = rest;
                Ok(head)
            }
            None => Err(self.short(N, short)),
        }
    }

    /// Takes `count` records of `size` bytes each, checking the product against the bytes
    /// that remain before any arithmetic could overflow.
    pub(crate) fn table(
        &mut self,
        count: u32,
        size: usize,
        short: ErrorCode,
    ) -> Result<Table<'a>, Error> {
        let start = self.offset();
        let count_usize = count as usize;
        // Compare by division so that the multiplication below cannot overflow.
        let fits = self.rest.len().checked_div(size).unwrap_or(0);
        if count_usize > fits {
            return Err(Error::new(short, start)
                .expected(count as u64)
                .found(fits as u64));
        }
        let len = count_usize.saturating_mul(size);
        let bytes = self.bytes(len, short)?;
        Ok(Table { bytes, size, start })
    }
}

/// `count` fixed-size records starting at absolute offset `start`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) size: usize,
    pub(crate) start: usize,
}

impl<'a> Table<'a> {
    /// The record at `index` as a reader, if there is one.
    pub(crate) fn record(&self, index: usize) -> Option<Reader<'a>> {
        let from = index.checked_mul(self.size)?;
        let bytes = self.bytes.get(from..)?.get(..self.size)?;
        Some(Reader::new(bytes, self.start.saturating_add(from)))
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len().checked_div(self.size).unwrap_or(0)
    }

    /// Every record in order, each as a reader.
    pub(crate) fn records(&self) -> impl Iterator<Item = Reader<'a>> + 'a {
        let start = self.start;
        let size = self.size;
        self.bytes
            .chunks_exact(size.max(1))
            .enumerate()
            .map(move |(i, rec)| Reader::new(rec, start.saturating_add(i.saturating_mul(size))))
    }
}
