//! Key files (`format-spec/KEYS.md`): an Ed25519 key as two lines of text, a type tag and
//! 64 hex digits. The secret file holds the 32-byte seed, the public file the 32-byte
//! public key; the key id that signature blocks carry is derived from the public key.

use core::fmt::Write as _;

use dcf_parser::format::{DIGEST_LEN, KEY_ID_LEN, header};
use dcf_parser::{Content, Frame, Signature};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;

/// First line of a secret key file.
pub const SECRET_TAG: &str = "dcf-ed25519-secret-v1";
/// First line of a public key file.
pub const PUBLIC_TAG: &str = "dcf-ed25519-public-v1";

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn parse_key_text(text: &str, tag: &str) -> Result<[u8; 32], String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or("the file is empty")?;
    if first != tag {
        let other = if tag == SECRET_TAG {
            PUBLIC_TAG
        } else {
            SECRET_TAG
        };
        return Err(if first == other {
            format!("this is a `{other}` file; a `{tag}` file is needed here")
        } else {
            format!("the first line must be `{tag}`")
        });
    }
    let hex = lines
        .next()
        .ok_or("the key line (64 hex digits) is missing")?;
    if lines.next().is_some() {
        return Err("the file has more than two lines".into());
    }
    let bytes = crate::source::hex_bytes(hex)
        .filter(|b| b.len() == 32)
        .ok_or("the key line must be exactly 64 hex digits")?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Reads a secret key file.
pub fn parse_secret(text: &str) -> Result<SigningKey, String> {
    parse_key_text(text, SECRET_TAG).map(|seed| SigningKey::from_bytes(&seed))
}

/// Reads a public key file.
pub fn parse_public(text: &str) -> Result<VerifyingKey, String> {
    let bytes = parse_key_text(text, PUBLIC_TAG)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "the key is not a valid Ed25519 public key".into())
}

/// The text of a secret key file.
pub fn secret_text(key: &SigningKey) -> String {
    format!("{SECRET_TAG}\n{}\n", to_hex(&key.to_bytes()))
}

/// The text of a public key file.
pub fn public_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_TAG}\n{}\n", to_hex(key.as_bytes()))
}

/// The key id of a public key, as signature blocks carry it.
pub fn key_id(key: &VerifyingKey) -> [u8; dcf_parser::format::KEY_ID_LEN] {
    dcf_parser::key_id(key.as_bytes())
}

/// Signs a content with `key`: the signature block lies outside the digest while the `SIGNED`
/// flag lies inside it, so a placeholder signature fixes the digest that the real signature
/// then covers. Returns the canonical bytes of the signed content.
pub fn sign_content(content: &mut Content, key: &SigningKey) -> Result<Vec<u8>, dcf_parser::Error> {
    let key_id = key_id(&key.verifying_key());
    content.signature = Some(Signature {
        key_id,
        signature: [0; dcf_parser::format::SIGNATURE_LEN],
    });
    let placeholder = content.encode()?;
    let message = Frame::read(&placeholder)?.signed_message();
    content.signature = Some(Signature {
        key_id,
        signature: key.sign(&message).to_bytes(),
    });
    content.encode()
}

/// Checks a content's digest and signature against trusted public keys (rules `VAL-SIG-1` to
/// `VAL-SIG-3`, with `verify_strict`). Returns the id of the key that signed it.
pub fn verify_signature(
    bytes: &[u8],
    trusted: &[VerifyingKey],
) -> Result<[u8; KEY_ID_LEN], Diagnostic> {
    let view = dcf_parser::parse(bytes).map_err(|e| Diagnostic::from_parse_error(&e))?;
    let Some(block) = view.signature() else {
        return Err(Diagnostic::new(Code::Unsigned, "the content is not signed")
            .at(header::FLAGS, 4)
            .label("SIGNED flag clear")
            .help("sign it with `dcf sign`; sensors refuse unsigned content"));
    };
    let block_at = view
        .frame()
        .digested_bytes()
        .len()
        .saturating_add(DIGEST_LEN);
    let Some(key) = trusted.iter().find(|k| key_id(k) == *block.key_id) else {
        let known: Vec<String> = trusted.iter().map(|k| to_hex(&key_id(k))).collect();
        return Err(Diagnostic::new(
            Code::UntrustedKey,
            format!(
                "the content is signed by key {}, which is not among the trusted keys ({})",
                to_hex(block.key_id),
                known.join(", ")
            ),
        )
        .at(block_at, KEY_ID_LEN)
        .label("key id")
        .help(
            "pass the public key of the signing key with --pubkey, or re-sign with a trusted key",
        ));
    };
    let signature = ed25519_dalek::Signature::from_bytes(block.signature);
    key.verify_strict(&view.frame().signed_message(), &signature)
        .map_err(|_| {
            Diagnostic::new(
                Code::BadSignature,
                format!(
                    "the signature by key {} does not verify: the content or the signature was altered",
                    to_hex(block.key_id)
                ),
            )
            .at(block_at.saturating_add(KEY_ID_LEN), dcf_parser::format::SIGNATURE_LEN)
            .label("signature")
            .help("never deploy this file; rebuild and sign it again")
        })?;
    Ok(*block.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let secret = secret_text(&key);
        let public = public_text(&key.verifying_key());
        assert_eq!(parse_secret(&secret).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(parse_public(&public).unwrap(), key.verifying_key());
        assert!(parse_public(&secret).unwrap_err().contains("secret"));
        assert!(parse_secret("").is_err());
        assert!(parse_secret(&format!("{SECRET_TAG}\nabcd\n")).is_err());
        assert!(parse_secret(&format!("{secret}extra\n")).is_err());
        assert_eq!(
            parse_secret(&secret.replace('\n', "\r\n"))
                .unwrap()
                .to_bytes(),
            key.to_bytes()
        );
    }
}
