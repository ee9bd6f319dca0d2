//! Why an update cycle failed: a TUF refusal (E61xx, `ROLLOUT.md` ROLLOUT-5) mapped from
//! `tough`'s errors, with the attack it stands for.

use dcf_rollout::RolloutCode;

/// An update cycle that did not get as far as the loader. The active content is untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateError {
    /// The code (E61xx).
    pub code: RolloutCode,
    /// What `tough` or the updater said.
    pub message: String,
}

impl UpdateError {
    pub(crate) fn new(code: RolloutCode, message: impl Into<String>) -> Self {
        UpdateError {
            code,
            message: message.into(),
        }
    }
}

impl core::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.code.as_str(),
            self.code.description(),
            self.message
        )
    }
}

impl std::error::Error for UpdateError {}

/// Where in the cycle an error came: a digest mismatch is mix-and-match in metadata and
/// arbitrary content in a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Metadata,
    Target,
}

/// The code of a `tough` error.
pub(crate) fn classify(e: &tough::error::Error, stage: Stage) -> RolloutCode {
    use tough::error::Error as T;
    match e {
        T::OlderMetadata { .. }
        | T::SnapshotRoleRollback { .. }
        | T::OlderSnapshotInTimestamp { .. } => RolloutCode::MetadataRollback,
        T::ExpiredMetadata { .. } => RolloutCode::MetadataExpired,
        T::VerifyMetadata { .. }
        | T::VerifyTrustedMetadata { .. }
        | T::VerifyRoleMetadata { .. } => RolloutCode::MetadataSignatures,
        T::VersionMismatch { .. }
        | T::MetaMissing { .. }
        | T::MissingSnapshotMeta { .. }
        | T::SnapshotTargetsMetaMissing { .. }
        | T::SnapshotRoleMissing { .. }
        | T::TimestampMetaLength { .. } => RolloutCode::MetadataMismatch,
        T::HashMismatch { .. } if stage == Stage::Target => RolloutCode::TargetHashMismatch,
        T::HashMismatch { .. } => RolloutCode::MetadataMismatch,
        T::MaxSizeExceeded { .. } => RolloutCode::TooLong,
        T::Transport { .. } => RolloutCode::Unreachable,
        _ => RolloutCode::MetadataInvalid,
    }
}

/// A `tough` error as an [`UpdateError`]. A digest or size check fails inside the transport's
/// stream, so `tough` wraps it in a transport error: the innermost `tough` error of the chain
/// is the one that says what happened, and names the code and the message.
pub(crate) fn from_tough(e: &tough::error::Error, stage: Stage) -> UpdateError {
    let mut innermost = e;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<tough::error::Error>() {
            innermost = t;
        }
        source = s.source();
    }
    let message = if core::ptr::eq(innermost, e) {
        match std::error::Error::source(e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        }
    } else {
        innermost.to_string()
    };
    UpdateError::new(classify(innermost, stage), message)
}
