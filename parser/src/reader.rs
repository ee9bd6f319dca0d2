//! A cursor over complete input that knows its absolute offset, and the nom primitives the
//! reader is composed from.
//!
//! The reader's structure (section framing, counted tables, records) is written with nom
//! combinators (`fold` over sections, tuples of field parsers, `map`, `flat_map`, `cond`,
//! `success`, `terminated`), but every byte is taken by a primitive of this module, not by
//! nom's own parsers:
//!
//! - every read is `split_first_chunk` / `split_at_checked` on the remaining slice, so a short
//!   read is an error at the exact offset and never a request for more input, and an integer is
//!   one unaligned load (`from_le_bytes`), not nom's byte loop (which was over 25 % of
//!   `parse_body`'s instructions, `BENCHMARKS.md`);
//! - the input type is [`Reader`], whose `nom::Input` methods saturate instead of slicing with
//!   an index, so no nom combinator can reach a slice-index panic (the link-time proof,
//!   `panic-free/check.sh`, would find it);
//! - the error type is [`Fail`], a wrapper of the crate's [`Error`]: the code and absolute
//!   offset are decided where a rule is checked, never by nom. Every rejection is a
//!   `nom::Err::Failure` (nothing backtracks); `nom::Err::Error` means only "no more input" to
//!   a `fold` over sections. Nothing of nom leaves the crate: [`run`] turns a result back into
//!   `Result<_, Error>`.

use core::iter::{Copied, Enumerate};

use nom::error::{ErrorKind, ParseError};
use nom::{Err as NomErr, IResult, Needed, Parser};

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

    /// The bytes not yet read.
    pub(crate) fn unread(&self) -> &'a [u8] {
        self.rest
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

// ---------------------------------------------------------------------------------------------
// nom glue: the input type, the error type and the primitives.
// ---------------------------------------------------------------------------------------------

impl<'a> nom::Input for Reader<'a> {
    type Item = u8;
    type Iter = Copied<core::slice::Iter<'a, u8>>;
    type IterIndices = Enumerate<Self::Iter>;

    fn input_len(&self) -> usize {
        self.rest.len()
    }

    /// The first `index` bytes; all of them if fewer remain (nom's slice impl would panic).
    fn take(&self, index: usize) -> Self {
        let head = self.rest.get(..index).unwrap_or(self.rest);
        Reader::new(head, self.offset())
    }

    /// Everything after the first `index` bytes; nothing if fewer remain.
    fn take_from(&self, index: usize) -> Self {
        Reader {
            rest: self.rest.get(index..).unwrap_or_default(),
            end: self.end,
        }
    }

    /// `(suffix, prefix)`, as nom orders them.
    fn take_split(&self, index: usize) -> (Self, Self) {
        (self.take_from(index), self.take(index))
    }

    fn position<P>(&self, predicate: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool,
    {
        self.rest.iter().position(|&b| predicate(b))
    }

    fn iter_elements(&self) -> Self::Iter {
        self.rest.iter().copied()
    }

    fn iter_indices(&self) -> Self::IterIndices {
        self.iter_elements().enumerate()
    }

    fn slice_index(&self, count: usize) -> Result<usize, Needed> {
        match count.checked_sub(self.rest.len()) {
            None | Some(0) => Ok(count),
            Some(missing) => Err(Needed::new(missing)),
        }
    }
}

/// The error of every nom parser of the crate: the crate's own [`Error`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fail(pub(crate) Error);

impl<'a> ParseError<Reader<'a>> for Fail {
    /// Only a nom combinator that rejects on its own reaches this. Of those the reader uses,
    /// only the `fold` over sections could (an inverted range, or an item that consumed
    /// nothing), and neither can happen: its range is `0..` and a section frame consumes at
    /// least its 8-byte header. So this is a fallback that still names the spot.
    fn from_error_kind(input: Reader<'a>, _: ErrorKind) -> Self {
        Fail(Error::new(ErrorCode::SectionTruncated, input.offset()))
    }

    /// The first error is the one the spec's order prescribes: keep it.
    fn append(_: Reader<'a>, _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// What a nom parser of the crate returns.
pub(crate) type PResult<'a, T> = IResult<Reader<'a>, T, Fail>;

/// A rejection, as nom carries it: a failure, so that no combinator backtracks past it.
pub(crate) fn fail<T>(error: Error) -> Result<T, NomErr<Fail>> {
    Err(NomErr::Failure(Fail(error)))
}

/// Runs a parser on `input` and leaves nom: the rest of the input and the output, or the
/// crate's error.
pub(crate) fn run<'a, O, P>(mut parser: P, input: Reader<'a>) -> Result<(Reader<'a>, O), Error>
where
    P: Parser<Reader<'a>, Output = O, Error = Fail>,
{
    let at = input.offset();
    match parser.parse_complete(input) {
        Ok(done) => Ok(done),
        Err(NomErr::Error(Fail(e)) | NomErr::Failure(Fail(e))) => Err(e),
        // The primitives never ask for more input; a structure cut short is what it would mean.
        Err(NomErr::Incomplete(_)) => Err(Error::new(ErrorCode::SectionTruncated, at)),
    }
}

/// The absolute offset of the next byte, consuming nothing.
pub(crate) fn offset(input: Reader<'_>) -> PResult<'_, usize> {
    let at = input.offset();
    Ok((input, at))
}

/// The next `N` bytes as an array; `short` if fewer remain.
pub(crate) fn array<'a, const N: usize>(
    short: ErrorCode,
) -> impl Parser<Reader<'a>, Output = &'a [u8; N], Error = Fail> {
    move |mut input: Reader<'a>| match input.array::<N>(short) {
        Ok(head) => Ok((input, head)),
        Err(e) => fail(e),
    }
}

/// A little-endian `u8`.
pub(crate) fn le_u8<'a>(short: ErrorCode) -> impl Parser<Reader<'a>, Output = u8, Error = Fail> {
    array::<1>(short).map(|&[b]| b)
}

/// A little-endian `u16`.
pub(crate) fn le_u16<'a>(short: ErrorCode) -> impl Parser<Reader<'a>, Output = u16, Error = Fail> {
    array::<2>(short).map(|b| u16::from_le_bytes(*b))
}

/// A little-endian `u32`.
pub(crate) fn le_u32<'a>(short: ErrorCode) -> impl Parser<Reader<'a>, Output = u32, Error = Fail> {
    array::<4>(short).map(|b| u32::from_le_bytes(*b))
}

/// A little-endian `u64`.
pub(crate) fn le_u64<'a>(short: ErrorCode) -> impl Parser<Reader<'a>, Output = u64, Error = Fail> {
    array::<8>(short).map(|b| u64::from_le_bytes(*b))
}

/// Everything that remains.
pub(crate) fn rest(mut input: Reader<'_>) -> PResult<'_, Reader<'_>> {
    let all = input;
    input.rest = input.rest.get(input.rest.len()..).unwrap_or_default();
    Ok((input, all))
}

/// The next `len` bytes, as a reader that keeps their absolute offsets.
pub(crate) fn take<'a>(
    len: usize,
    short: ErrorCode,
) -> impl Parser<Reader<'a>, Output = Reader<'a>, Error = Fail> {
    move |mut input: Reader<'a>| {
        let at = input.offset();
        match input.bytes(len, short) {
            Ok(head) => Ok((input, Reader::new(head, at))),
            Err(e) => fail(e),
        }
    }
}

/// `count` records of `size` bytes; the product is checked against the bytes that remain
/// before any arithmetic could overflow (see [`Reader::table`]).
pub(crate) fn table<'a>(
    count: u32,
    size: usize,
    short: ErrorCode,
) -> impl Parser<Reader<'a>, Output = Table<'a>, Error = Fail> {
    move |mut input: Reader<'a>| match input.table(count, size, short) {
        Ok(t) => Ok((input, t)),
        Err(e) => fail(e),
    }
}

/// Applies `parser`, then `check` to its output and the offset where it started: nom's
/// `verify`, but the check names the error (code, offset, values) itself.
pub(crate) fn checked<'a, O, P, F>(
    mut parser: P,
    mut check: F,
) -> impl Parser<Reader<'a>, Output = O, Error = Fail>
where
    P: Parser<Reader<'a>, Output = O, Error = Fail>,
    F: FnMut(&O, usize) -> Result<(), Error>,
{
    move |input: Reader<'a>| {
        let at = input.offset();
        let (input, out) = parser.parse(input)?;
        match check(&out, at) {
            Ok(()) => Ok((input, out)),
            Err(e) => fail(e),
        }
    }
}

/// Succeeds only at the end of the input: a section payload has no bytes after its last
/// structure (E0206, with the number of bytes left over).
pub(crate) fn end_of_section(input: Reader<'_>) -> PResult<'_, ()> {
    if input.is_empty() {
        Ok((input, ()))
    } else {
        fail(
            Error::new(ErrorCode::SectionTrailingBytes, input.offset())
                .found(input.remaining() as u64),
        )
    }
}

impl<'a> Table<'a> {
    /// The records as one reader, for the parsers that walk them ([`each`]).
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader::new(self.bytes, self.start)
    }
}

/// A check's result, as nom carries it.
pub(crate) fn lift<T>(result: Result<T, Error>) -> Result<T, NomErr<Fail>> {
    result.map_err(|e| NomErr::Failure(Fail(e)))
}

/// `count` records of `N` bytes each, handed in order to `check` as one array with its
/// absolute offset. This is the reader's `fold` for its tables (1 M nodes in the benchmark
/// content): a record is one `as_chunks` array, not a parser call whose large result goes
/// through memory, which measured 45 more instructions per node than this loop
/// (`BENCHMARKS.md`). The count is checked against the bytes that remain before anything is
/// taken, as for [`table`].
pub(crate) fn each<'a, const N: usize, F>(
    count: u32,
    short: ErrorCode,
    mut check: F,
) -> impl Parser<Reader<'a>, Output = (), Error = Fail>
where
    F: FnMut(&'a [u8; N], usize) -> Result<(), Error>,
{
    move |mut input: Reader<'a>| {
        let records = match input.table(count, N, short) {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        let mut at = records.start;
        for record in records.bytes.as_chunks::<N>().0 {
            lift(check(record, at))?;
            at = at.saturating_add(N);
        }
        Ok((input, ()))
    }
}
