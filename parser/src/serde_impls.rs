//! Serde representations that differ from the derived ones: ids and signatures as hex text.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::format::{KEY_ID_LEN, SIGNATURE_LEN};
use crate::model::Signature;
use crate::types::RuleId;

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RuleId::parse(&text).ok_or_else(|| D::Error::custom("expected a UUID rule id"))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits: Vec<u8> = text
        .bytes()
        .map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if digits.len() != N.checked_mul(2)? {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *byte = hi.wrapping_shl(4) | lo;
        }
    }
    Some(out)
}

#[derive(Serialize, Deserialize)]
struct SignatureText {
    key_id: String,
    signature: String,
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SignatureText {
            key_id: to_hex(&self.key_id),
            signature: to_hex(&self.signature),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = SignatureText::deserialize(d)?;
        Ok(Signature {
            key_id: from_hex::<KEY_ID_LEN>(&text.key_id)
                .ok_or_else(|| D::Error::custom("key_id: expected 32 hex digits"))?,
            signature: from_hex::<SIGNATURE_LEN>(&text.signature)
                .ok_or_else(|| D::Error::custom("signature: expected 128 hex digits"))?,
        })
    }
}
