//! Loader and evaluation error codes (spec `format-spec/LOADER.md`).

use crate::prelude::*;

use core::fmt;

use dcf_parser::Error as FormatError;

dcf_parser::code_table! {
    /// Stable codes of the loader and the interpreter (E3xxx).
    pub enum SensorCode {
        /// The content has no signature block and the embedder did not allow unsigned content.
        Unsigned = "E3001", "content is not signed";
        /// The signing key is not one of the sensor's trusted keys.
        UntrustedKey = "E3002", "content signed by an untrusted key";
        /// The Ed25519 signature does not verify.
        BadSignature = "E3003", "signature does not verify";
        /// The sensor's version lies outside the content's sensor range.
        SensorVersionOutOfRange = "E3004", "sensor version outside the content's target range";
        /// The content's channel is not the one this loader serves.
        WrongChannel = "E3005", "content is for another channel";
        /// The clock is before the content's creation time.
        NotYetValid = "E3006", "content not valid yet";
        /// The clock is at or after the content's expiry time.
        Expired = "E3007", "content expired";
        /// The sequence number is not greater than the active content's.
        Rollback = "E3008", "sequence number not above the active content's (rollback)";
        /// A rule's template type is not implemented by this sensor.
        TemplateNotSupplied = "E3101", "rule uses a template type this sensor does not implement";
        /// A rule reads a field index this sensor does not supply.
        FieldNotSupplied = "E3102", "rule reads a field this sensor does not supply";
        /// A field a rule reads has another type in this sensor.
        FieldTypeMismatch = "E3103", "field type differs from what this sensor supplies";
        /// A field a rule reads has another name in this sensor (another layout).
        FieldNameMismatch = "E3104", "field name differs from what this sensor supplies";
        /// A regular expression does not compile within the size limits.
        BadRegex = "E3201", "regular expression rejected";
        /// A glob pattern is malformed (a trailing lone escape).
        BadGlob = "E3202", "glob pattern rejected";
        /// A CIDR operand is malformed.
        BadCidr = "E3203", "CIDR operand rejected";
        /// No content has been loaded yet.
        NoContent = "E3501", "no content loaded";
        /// The event's template type is not one this sensor implements.
        UnknownTemplate = "E3502", "event of a template type the sensor does not implement";
        /// The event supplies fewer fields than the interface declares for its template type.
        EventTooShort = "E3503", "event has fewer fields than its template type supplies";
        /// A string value of the event is longer than its field's declared maximum length.
        FieldTooLong = "E3504", "event has a value longer than its field's declared maximum length";
        /// Evaluating the event took more steps than the sensor's budget allows it: stopped.
        BudgetSpent = "E3505", "evaluation stopped: the event's step budget is spent";
        /// The matchers reading one field would cost more steps per byte of its text than
        /// the sensor's budget.
        CostPerByteOverBudget = "E3601", "matchers reading a field cost more per byte than the sensor's budget";
        /// The content's fixed cost of one event exceeds the sensor's budget.
        CostPerEventOverBudget = "E3602", "fixed cost of one event exceeds the sensor's budget";
        /// The content's regexes need more memory than the sensor's budget.
        MemoryOverBudget = "E3603", "regular expressions need more memory than the sensor's budget";
        /// The content store quarantined this content: the sensor stopped on it too often
        /// while it was on probation, and it is never activated again.
        Quarantined = "E3701", "content is quarantined: the sensor stopped on it during probation";
        /// A content file of the store does not hold what the store's state recorded
        /// (missing, truncated, replaced).
        StoredContentMismatch = "E3702", "stored content is not the one the store recorded";
        /// The store could not persist an update (disk full, I/O error); nothing changed.
        StoreWriteFailed = "E3703", "the content store could not persist the update";
        /// The store's state file cannot be read; the store started empty.
        StoreStateUnreadable = "E3704", "the content store's state is unreadable";
    }
}

impl fmt::Display for SensorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an update was refused. The previously active content stays active.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The bytes are not valid content (a format code, E01xx to E07xx).
    Format(FormatError),
    /// A loader check failed (E3xxx).
    Sensor {
        /// The code.
        code: SensorCode,
        /// What, precisely: the rule, field, key or times involved.
        detail: String,
    },
}

impl LoadError {
    pub(crate) fn new(code: SensorCode, detail: impl Into<String>) -> Self {
        LoadError::Sensor {
            code,
            detail: detail.into(),
        }
    }

    /// The stable code, e.g. `"E0107"` or `"E3102"`.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Format(e) => e.code().as_str(),
            LoadError::Sensor { code, .. } => code.as_str(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Format(e) => write!(f, "{e}"),
            LoadError::Sensor { code, detail } => {
                write!(f, "{code}: {}: {detail}", code.description())
            }
        }
    }
}

impl core::error::Error for LoadError {}

impl From<FormatError> for LoadError {
    fn from(e: FormatError) -> Self {
        LoadError::Format(e)
    }
}

/// Why one evaluation was refused. Other evaluations are unaffected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalError {
    /// The code.
    pub code: SensorCode,
    /// The event's template type.
    pub template: u32,
    /// Fields the event supplied; for E3504, the length in bytes of the field's value.
    pub supplied: usize,
    /// Fields the interface declares for the template type; for E3504, the field's declared
    /// maximum length in bytes.
    pub expected: usize,
    /// For E3504, the index of the field whose value is too long.
    pub field: Option<u16>,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = self.field {
            return write!(
                f,
                "{}: {} (template {}, field {field}: {} bytes, at most {})",
                self.code,
                self.code.description(),
                self.template,
                self.supplied,
                self.expected
            );
        }
        write!(
            f,
            "{}: {} (template {}, {} fields supplied, {} expected)",
            self.code,
            self.code.description(),
            self.template,
            self.supplied,
            self.expected
        )
    }
}

impl core::error::Error for EvalError {}
