//! The frame of a file: header, digest and optional signature block.
//!
//! Reading happens in stages so that an embedder can interleave its own checks in the order
//! the spec requires (`FRAME-*`, then `DIG-*`, then its signature, clock and sequence checks,
//! then the body): [`Frame::read`] → [`Frame::verify_digest`] → [`VerifiedFrame::parse_body`].
//! [`crate::parse`] runs all three.

use nom::Parser;
use nom::combinator::cond;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorCode};
use crate::format::{
    DIGEST_LEN, FLAG_SIGNED, FORMAT_MAJOR, HEADER_LEN, KEY_ID_CONTEXT, KEY_ID_LEN, KNOWN_FLAGS,
    MAGIC, SIGNATURE_BLOCK_LEN, SIGNATURE_CONTEXT, SIGNATURE_LEN, header,
};
use crate::limits::MAX_FILE_SIZE;
use crate::reader::{Reader, array, le_u16, le_u32, le_u64, run};
use crate::types::SensorVersion;

/// The header fields that describe a content, as they are on the wire (spec table `Header`).
///
/// `major` is always [`FORMAT_MAJOR`] once read, and the `SIGNED` flag is a property of the
/// frame ([`Frame::signature`]), so neither appears here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Header {
    /// Format minor version the file was written for.
    pub minor: u16,
    /// Content channel: which stream of updates this content belongs to.
    pub channel: u32,
    /// Sequence number: a sensor refuses content whose sequence is not above its current one.
    pub sequence: u64,
    /// Creation time, seconds since the Unix epoch; the content is not valid before it.
    pub created_at: u64,
    /// Expiry time, seconds since the Unix epoch; the content is not valid from it on.
    pub expires_at: u64,
    /// Lowest sensor version the content targets (inclusive).
    pub sensor_min: SensorVersion,
    /// Highest sensor version the content targets (inclusive).
    pub sensor_max: SensorVersion,
}

/// The signature block that follows the digest when the `SIGNED` flag is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignatureBlock<'a> {
    /// Id of the signing key: see [`key_id`].
    pub key_id: &'a [u8; KEY_ID_LEN],
    /// Ed25519 signature of [`Frame::signed_message`].
    pub signature: &'a [u8; SIGNATURE_LEN],
}

/// The message an Ed25519 signature covers: the signature context, then the digest.
pub type SignedMessage = [u8; SIGNED_MESSAGE_LEN];
/// Length of [`SignedMessage`].
pub const SIGNED_MESSAGE_LEN: usize = SIGNATURE_CONTEXT.len() + DIGEST_LEN;

/// Builds the signed message for a digest.
pub fn signed_message(digest: &[u8; DIGEST_LEN]) -> SignedMessage {
    let mut message = [0u8; SIGNED_MESSAGE_LEN];
    let (context, tail) = message.split_at_mut(SIGNATURE_CONTEXT.len());
    context.copy_from_slice(SIGNATURE_CONTEXT);
    tail.copy_from_slice(digest);
    message
}

/// The key id of an Ed25519 public key: the first 16 bytes of
/// SHA-256(`"dcf key id v1\0"` ‖ public key).
pub fn key_id(public_key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let hash = Sha256::new()
        .chain_update(KEY_ID_CONTEXT)
        .chain_update(public_key)
        .finalize();
    let mut id = [0u8; KEY_ID_LEN];
    if let Some(prefix) = hash.get(..KEY_ID_LEN) {
        id.copy_from_slice(prefix);
    }
    id
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; DIGEST_LEN] {
    Sha256::digest(bytes).into()
}

/// A file whose frame has been read: the header is decoded and the digest and signature
/// block are located, but nothing has been verified yet.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) header: Header,
    pub(crate) digest_offset: usize,
    pub(crate) digest: &'a [u8; DIGEST_LEN],
    pub(crate) signature: Option<SignatureBlock<'a>>,
}

impl<'a> Frame<'a> {
    /// Reads the frame: rules `FRAME-1` to `FRAME-6` (codes E0101 to E0106), in that order.
    pub fn read(bytes: &'a [u8]) -> Result<Frame<'a>, Error> {
        if bytes.len() > MAX_FILE_SIZE {
            return Err(Error::new(ErrorCode::FileTooLarge, MAX_FILE_SIZE)
                .expected(MAX_FILE_SIZE as u64)
                .found(bytes.len() as u64));
        }
        if let Some(at) = bytes.iter().zip(MAGIC.iter()).position(|(a, b)| a != b) {
            return Err(Error::new(
                ErrorCode::BadMagic,
                header::MAGIC.saturating_add(at),
            ));
        }
        let header_bytes = match bytes.get(..HEADER_LEN) {
            Some(h) => h,
            None => {
                return Err(Error::new(ErrorCode::TruncatedHeader, bytes.len())
                    .expected(HEADER_LEN as u64)
                    .found(bytes.len() as u64));
            }
        };
        let short = ErrorCode::TruncatedHeader;
        // The slice is exactly HEADER_LEN bytes, so no read below can run short; the checks of
        // `major` and `flags` come after the whole header is read, in the spec's order.
        let version = || {
            (le_u16(short), le_u16(short), le_u16(short)).map(|(major, minor, patch)| {
                SensorVersion {
                    major,
                    minor,
                    patch,
                }
            })
        };
        let (
            _,
            (
                _magic,
                major,
                minor,
                flags,
                channel,
                sequence,
                created_at,
                expires_at,
                sensor_min,
                sensor_max,
            ),
        ) = run(
            (
                array::<8>(short),
                le_u16(short),
                le_u16(short),
                le_u32(short),
                le_u32(short),
                le_u64(short),
                le_u64(short),
                le_u64(short),
                version(),
                version(),
            ),
            Reader::new(header_bytes, 0),
        )?;
        if major != FORMAT_MAJOR {
            return Err(Error::new(ErrorCode::UnsupportedMajor, header::MAJOR)
                .expected(u64::from(FORMAT_MAJOR))
                .found(u64::from(major)));
        }
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Error::new(ErrorCode::ReservedFlags, header::FLAGS).found(u64::from(flags)));
        }
        let header = Header {
            minor,
            channel,
            sequence,
            created_at,
            expires_at,
            sensor_min,
            sensor_max,
        };

        let signed = flags & FLAG_SIGNED != 0;
        let trailer = if signed {
            DIGEST_LEN.saturating_add(SIGNATURE_BLOCK_LEN)
        } else {
            DIGEST_LEN
        };
        let digest_offset = match bytes.len().checked_sub(trailer) {
            Some(off) if off >= HEADER_LEN => off,
            _ => {
                return Err(Error::new(ErrorCode::TruncatedTrailer, bytes.len())
                    .expected(HEADER_LEN.saturating_add(trailer) as u64)
                    .found(bytes.len() as u64));
            }
        };
        let tail = bytes.get(digest_offset..).unwrap_or_default();
        let short = ErrorCode::TruncatedTrailer;
        let (_, (digest, signature)) = run(
            (
                array::<DIGEST_LEN>(short),
                cond(
                    signed,
                    (array::<KEY_ID_LEN>(short), array::<SIGNATURE_LEN>(short))
                        .map(|(key_id, signature)| SignatureBlock { key_id, signature }),
                ),
            ),
            Reader::new(tail, digest_offset),
        )?;
        Ok(Frame {
            bytes,
            header,
            digest_offset,
            digest,
            signature,
        })
    }

    /// The decoded header. Not yet covered by a verified digest.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The signature block, if the `SIGNED` flag is set.
    pub fn signature(&self) -> Option<SignatureBlock<'a>> {
        self.signature
    }

    /// The digest stored in the file.
    pub fn digest(&self) -> &'a [u8; DIGEST_LEN] {
        self.digest
    }

    /// The bytes the digest covers: from offset 0 up to the digest.
    pub fn digested_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.digest_offset).unwrap_or_default()
    }

    /// The message an Ed25519 signature of this file covers.
    pub fn signed_message(&self) -> SignedMessage {
        signed_message(self.digest)
    }

    /// Whole file length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a frame holds at least a header and a digest.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Verifies the digest (`DIG-1`, E0107), then the header's own consistency (`HDR-1`,
    /// E0108; `HDR-2`, E0109).
    pub fn verify_digest(self) -> Result<VerifiedFrame<'a>, Error> {
        if sha256(self.digested_bytes()) != *self.digest {
            return Err(Error::new(ErrorCode::DigestMismatch, self.digest_offset));
        }
        self.check_header()?;
        Ok(VerifiedFrame(self))
    }

    /// The header checks alone, for a caller that has verified the digest in another way.
    fn check_header(&self) -> Result<(), Error> {
        let h = &self.header;
        if h.created_at >= h.expires_at {
            return Err(Error::new(ErrorCode::InvalidTimeRange, header::EXPIRES_AT)
                .expected(h.created_at.saturating_add(1))
                .found(h.expires_at));
        }
        if h.sensor_min > h.sensor_max {
            return Err(Error::new(
                ErrorCode::InvalidSensorRange,
                header::SENSOR_MAX,
            ));
        }
        Ok(())
    }
}

/// A frame whose digest matched and whose header is consistent.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedFrame<'a>(pub(crate) Frame<'a>);

impl<'a> VerifiedFrame<'a> {
    /// The frame.
    pub fn frame(&self) -> &Frame<'a> {
        &self.0
    }

    /// The decoded header, now covered by the verified digest.
    pub fn header(&self) -> &Header {
        &self.0.header
    }

    /// The body: the bytes between the header and the digest.
    pub(crate) fn body(&self) -> &'a [u8] {
        self.0
            .bytes
            .get(HEADER_LEN..self.0.digest_offset)
            .unwrap_or_default()
    }
}
