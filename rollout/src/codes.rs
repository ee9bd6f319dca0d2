//! The distribution codes (E6xxx), as in the table of `format-spec/ROLLOUT.md`: what the
//! updater refuses (E61xx), what the release owner's tools refuse (E62xx) and which health
//! gate stopped a rollout (E63xx).

use core::fmt;

// Rows: variant = code, description, rule.
dcf_parser::code_table! {
    /// A stable distribution code. Each is listed once in `ROLLOUT.md`.
    pub enum RolloutCode {
        /// TUF metadata older than the version the sensor already trusts (a rollback attack).
        MetadataRollback = "E6101", "repository metadata older than what the sensor trusts (rollback)", "ROLLOUT-5";
        /// TUF metadata past its expiry (a freeze attack, or a repository nobody re-signs).
        MetadataExpired = "E6102", "repository metadata expired (freeze)", "ROLLOUT-5";
        /// A role's metadata lacks the threshold of signatures by keys the root trusts.
        MetadataSignatures = "E6103", "metadata not signed by a threshold of trusted keys", "ROLLOUT-5";
        /// Metadata of one role is not the version or digest that the role above it names.
        MetadataMismatch = "E6104", "metadata does not match what the role above it names (mix-and-match)", "ROLLOUT-5";
        /// A file is longer than its metadata (or the client's limit) says it may be.
        TooLong = "E6105", "file longer than its metadata allows (endless data)", "ROLLOUT-5";
        /// A target's bytes do not have the digest its metadata names.
        TargetHashMismatch = "E6106", "target bytes differ from the digest the metadata names", "ROLLOUT-5";
        /// The repository cannot be reached or read.
        Unreachable = "E6107", "repository cannot be reached", "ROLLOUT-5";
        /// Metadata that does not parse, or a repository the client cannot use.
        MetadataInvalid = "E6108", "repository metadata malformed", "ROLLOUT-5";
        /// A content target's `dcf` metadata is missing or malformed.
        TargetMetadataInvalid = "E6109", "content target's dcf metadata missing or malformed", "ROLLOUT-2";
        /// The content's header disagrees with its target's `dcf` metadata.
        TargetMetadataMismatch = "E6110", "content disagrees with its target's dcf metadata", "ROLLOUT-5";
        /// A health report that cannot be read or parsed.
        ReportInvalid = "E6201", "health report unreadable or malformed", "ROLLOUT-6";
        /// A rollout plan that is not well formed.
        PlanInvalid = "E6202", "rollout plan malformed", "ROLLOUT-3";
        /// Nothing to act on: no rollout in the channel, or no earlier good content.
        NothingToDo = "E6203", "no content in the channel to act on", "ROLLOUT-7";
        /// The repository, its keys or its files cannot be used for publishing.
        RepositoryInvalid = "E6204", "repository or its keys unusable for publishing", "ROLLOUT-1";
        /// A content offered for publishing is not signed dcf content.
        ContentUnsigned = "E6205", "content to publish is not signed", "ROLLOUT-1";
        /// A content offered for publishing does not have a sequence above every published one.
        SequenceNotAbove = "E6206", "content sequence not above every published sequence of its channel", "ROLLOUT-1";
        /// Sensors refused the content when they loaded it.
        GateLoadRefusals = "E6301", "gate: sensors refused the content", "ROLLOUT-6";
        /// Sensors quarantined the content (they stopped on it during probation).
        GateQuarantines = "E6302", "gate: sensors quarantined the content", "ROLLOUT-6";
        /// Evaluations under the content fail more often than allowed.
        GateEvaluationErrors = "E6303", "gate: evaluation errors above the threshold", "ROLLOUT-6";
        /// A rule matches far more often than under the previous content.
        GateMatchRate = "E6304", "gate: a rule matches far more often than before", "ROLLOUT-6";
        /// Evaluation costs more steps per event than under the previous content allows.
        GateEvaluationCost = "E6305", "gate: evaluation cost per event above the threshold", "ROLLOUT-6";
    }
    /// The spec rule (`ROLLOUT-n`) the code belongs to.
    pub const fn rule(self) -> &'static str;
}

impl fmt::Display for RolloutCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
