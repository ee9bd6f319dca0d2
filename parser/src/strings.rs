//! The interned string table (section `STRINGS`) and the first-use rule for references to it.
//!
//! Two properties make the table canonical without any allocation while checking it:
//! - entries are in order of first reference (`STR-9`), which a counter checks in one pass and
//!   which also proves every entry is referenced (`STR-10`);
//! - a sorted index lists the entries in ascending byte order (`STR-6`, `STR-7`). Strictly
//!   ascending strings at the listed positions can only be n distinct positions, so the index is
//!   a permutation and the strings are distinct, checked with n - 1 adjacent comparisons.

use core::cmp::Ordering;

use crate::error::{Error, ErrorCode};
use crate::format::record;
use crate::limits::{MAX_STRING_LEN, MAX_STRINGS};
use nom::Parser;
use nom::combinator::success;

use crate::reader::{Reader, Table, checked, each, le_u32, offset, rest, run, table};

/// A validated string table: every entry is UTF-8, distinct and referenced.
#[derive(Clone, Copy, Debug)]
pub struct StringTable<'a> {
    ends: Table<'a>,
    sorted: Table<'a>,
    /// The whole blob, validated once: every entry boundary is a char boundary.
    blob: &'a str,
}

impl<'a> StringTable<'a> {
    /// Checks the payload of a `STRINGS` section (rules `STR-1` to `STR-7`).
    pub(crate) fn parse(payload: Reader<'a>) -> Result<StringTable<'a>, Error> {
        let short = ErrorCode::SectionTruncated;
        let count_checked = checked(le_u32(short), |&count: &u32, at| {
            if count > MAX_STRINGS {
                Err(Error::new(ErrorCode::TooManyStrings, at)
                    .expected(u64::from(MAX_STRINGS))
                    .found(u64::from(count)))
            } else {
                Ok(())
            }
        });
        let (_, (count, ends, sorted, (blob_at, blob))) = run(
            count_checked.flat_map(|count| {
                (
                    success(count),
                    table(count, record::STRING_INDEX, short),
                    table(count, record::STRING_INDEX, short),
                    (offset, rest),
                )
            }),
            payload,
        )?;
        let blob = blob.unread();

        let mut previous_end: u32 = 0;
        let entry_end = |word: &[u8; 4], at: usize| {
            let end = u32::from_le_bytes(*word);
            let len = match end.checked_sub(previous_end) {
                Some(len) => len,
                None => {
                    return Err(Error::new(ErrorCode::StringOffsetsDecrease, at)
                        .expected(u64::from(previous_end))
                        .found(u64::from(end)));
                }
            };
            if len > MAX_STRING_LEN {
                return Err(Error::new(ErrorCode::StringTooLong, at)
                    .expected(u64::from(MAX_STRING_LEN))
                    .found(u64::from(len)));
            }
            previous_end = end;
            Ok(())
        };
        run(each(count, short, entry_end), ends.reader())?;
        let used = previous_end as usize;
        match used.cmp(&blob.len()) {
            Ordering::Greater => {
                return Err(Error::new(ErrorCode::SectionTruncated, blob_at)
                    .expected(u64::from(previous_end))
                    .found(blob.len() as u64));
            }
            Ordering::Less => {
                return Err(Error::new(
                    ErrorCode::SectionTrailingBytes,
                    blob_at.saturating_add(used),
                )
                .found(blob.len().saturating_sub(used) as u64));
            }
            Ordering::Equal => {}
        }

        // One validation pass over the whole blob, then O(1) per entry: each end offset must
        // fall on a char boundary. Any failure takes the per-entry path, which reports exactly
        // the offset the rule prescribes (the first invalid byte of the first invalid entry).
        let text = match core::str::from_utf8(blob) {
            Ok(text)
                if ends.records().all(|mut e| {
                    e.u32(short)
                        .is_ok_and(|end| text.is_char_boundary(end as usize))
                }) =>
            {
                text
            }
            _ => return Err(first_utf8_error(ends, blob, blob_at)),
        };
        let table = StringTable {
            ends,
            sorted,
            blob: text,
        };

        let mut previous: Option<&[u8]> = None;
        let sorted_entry = |word: &[u8; 4], at: usize| {
            let index = u32::from_le_bytes(*word);
            let Some(current) = table.bytes(index) else {
                return Err(Error::new(ErrorCode::SortedIndexOutOfRange, at)
                    .expected(u64::from(count))
                    .found(u64::from(index)));
            };
            if let Some(previous) = previous {
                match previous.cmp(current) {
                    Ordering::Less => {}
                    Ordering::Equal => {
                        return Err(
                            Error::new(ErrorCode::DuplicateString, at).found(u64::from(index))
                        );
                    }
                    Ordering::Greater => {
                        return Err(
                            Error::new(ErrorCode::StringsNotSorted, at).found(u64::from(index))
                        );
                    }
                }
            }
            previous = Some(current);
            Ok(())
        };
        run(each(count, short, sorted_entry), sorted.reader())?;
        Ok(table)
    }

    /// Number of strings.
    pub fn len(&self) -> u32 {
        self.ends.len() as u32
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.len() == 0
    }

    fn end_of(&self, index: u32) -> Option<u32> {
        self.ends
            .record(index as usize)?
            .u32(ErrorCode::SectionTruncated)
            .ok()
    }

    fn start_of(&self, index: u32) -> Option<u32> {
        match index.checked_sub(1) {
            None => Some(0),
            Some(previous) => self.end_of(previous),
        }
    }

    /// The bytes of string `index`.
    pub fn bytes(&self, index: u32) -> Option<&'a [u8]> {
        let start = self.start_of(index)? as usize;
        let end = self.end_of(index)? as usize;
        self.blob.as_bytes().get(start..end)
    }

    /// String `index`. The blob is a `&str` whose entry boundaries are char boundaries, so
    /// this is a bounds check, not a UTF-8 pass.
    pub fn get(&self, index: u32) -> Option<&'a str> {
        let start = self.start_of(index)? as usize;
        let end = self.end_of(index)? as usize;
        self.blob.get(start..end)
    }

    /// Every string, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The index of `needle`, by binary search over the sorted index.
    pub fn find(&self, needle: &str) -> Option<u32> {
        let (mut low, mut high) = (0usize, self.sorted.len());
        while low < high {
            let mid = low.saturating_add(high.saturating_sub(low) / 2);
            let index = self
                .sorted
                .record(mid)?
                .u32(ErrorCode::SectionTruncated)
                .ok()?;
            match self.bytes(index)?.cmp(needle.as_bytes()) {
                Ordering::Less => low = mid.saturating_add(1),
                Ordering::Greater => high = mid,
                Ordering::Equal => return Some(index),
            }
        }
        None
    }
}

/// The error of the first entry that is not UTF-8 on its own (slow path, rejections only).
#[cold]
fn first_utf8_error(ends: Table<'_>, blob: &[u8], blob_at: usize) -> Error {
    let mut start = 0usize;
    for mut entry in ends.records() {
        let end = entry.u32(ErrorCode::SectionTruncated).unwrap_or(0) as usize;
        let bytes = blob.get(start..end).unwrap_or_default();
        if let Err(e) = core::str::from_utf8(bytes) {
            return Error::new(
                ErrorCode::InvalidUtf8,
                blob_at
                    .saturating_add(start)
                    .saturating_add(e.valid_up_to()),
            );
        }
        start = end;
    }
    Error::new(ErrorCode::InvalidUtf8, blob_at)
}

/// Tracks references to the string table in file order (rules `STR-8` to `STR-10`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StringRefs {
    count: u32,
    next_new: u32,
}

impl StringRefs {
    pub(crate) fn new(count: u32) -> Self {
        StringRefs { count, next_new: 0 }
    }

    /// Checks a reference read at absolute offset `at`.
    pub(crate) fn visit(&mut self, index: u32, at: usize) -> Result<(), Error> {
        if index >= self.count {
            return Err(Error::new(ErrorCode::StringIndexOutOfRange, at)
                .expected(u64::from(self.count))
                .found(u64::from(index)));
        }
        if index > self.next_new {
            return Err(Error::new(ErrorCode::StringOutOfFirstUseOrder, at)
                .expected(u64::from(self.next_new))
                .found(u64::from(index)));
        }
        if index == self.next_new {
            self.next_new = self.next_new.saturating_add(1);
        }
        Ok(())
    }

    /// Checks that every string was referenced; `at` is where the last section ends.
    pub(crate) fn finish(&self, at: usize) -> Result<(), Error> {
        if self.next_new == self.count {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::UnreferencedString, at)
                .expected(u64::from(self.count))
                .found(u64::from(self.next_new)))
        }
    }
}
