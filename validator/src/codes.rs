//! The validator's diagnostic codes: defined once here and once in `format-spec/DIAGNOSTICS.md`
//! (a test compares the two both ways).
//!
//! The parser owns `E0101`..`E0713` ([`dcf_parser::ErrorCode`]). This crate owns `E1xxx`
//! (semantic checks of binary content), `E2xxx` (authoring-source compile errors) and `E9xxx`
//! (command-line usage and I/O), `E4xxx` (findings of `dcf test`). `E3xxx` (sensor loader,
//! [`dcf_sensor::SensorCode`]) and `E5xxx` (Sigma importer, [`dcf_sigma::Code`]) are defined
//! by those crates; [`AnyCode`] carries any of them. A code's number, rule and meaning never change once
//! published; new checks get new numbers.

use core::fmt;

use serde::Serialize;

/// How bad a diagnostic is. Errors reject the content; warnings reject it only under
/// `--deny-warnings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Does not reject the content unless warnings are denied.
    Warning,
    /// Rejects the content.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Rows: variant = code, description, rule, severity (the accessors after the rows, in that
// order).
dcf_parser::code_table! {
    /// A diagnostic code of the validator (`format-spec/DIAGNOSTICS.md`).
    pub enum Code {
        /// No manifest of the fleet lies in the content's sensor range.
        NoManifestInRange = "E1001", "no sensor manifest lies in the content's sensor range", "VAL-IFC-1", Severity::Error;
        /// A targeted sensor does not implement a rule's template type.
        TemplateNotImplemented = "E1002", "a targeted sensor does not implement the rule's template type", "VAL-IFC-2", Severity::Error;
        /// A rule reads a field that a targeted sensor does not supply (the Channel File 291 class).
        FieldNotSupplied = "E1003", "rule reads a field that a targeted sensor does not supply", "VAL-IFC-3", Severity::Error;
        /// A wildcard names a field that a targeted sensor does not supply.
        WildcardFieldNotSupplied = "E1004", "wildcard on a field that a targeted sensor does not supply", "VAL-IFC-4", Severity::Warning;
        /// A field a rule reads is declared with another type than a targeted sensor supplies.
        FieldTypeDiffers = "E1005", "declared type of a field a rule reads differs from the sensor's", "VAL-IFC-5", Severity::Error;
        /// A field a rule reads is declared with another name than a targeted sensor supplies.
        FieldNameDiffers = "E1006", "declared name of a field a rule reads differs from the sensor's", "VAL-IFC-6", Severity::Error;
        /// A template type is declared with another name than a targeted sensor gives it.
        TemplateNameDiffers = "E1007", "declared template type name differs from the sensor's", "VAL-IFC-7", Severity::Warning;
        /// A field no rule reads is declared differently from what a targeted sensor supplies.
        UnreadFieldDiffers = "E1008", "declared field that no rule reads differs from the sensor's", "VAL-IFC-8", Severity::Warning;
        /// A regular expression does not compile.
        InvalidRegex = "E1101", "regular expression does not compile", "VAL-OPD-1", Severity::Error;
        /// A regular expression compiles to a program larger than the limit.
        RegexTooBig = "E1102", "regular expression exceeds the program size limit", "VAL-OPD-2", Severity::Error;
        /// A glob pattern is malformed.
        InvalidGlob = "E1103", "malformed glob pattern", "VAL-OPD-3", Severity::Error;
        /// A CIDR operand is malformed.
        InvalidCidr = "E1104", "malformed CIDR operand", "VAL-OPD-4", Severity::Error;
        /// A match operand accepts every value of its field.
        OperandMatchesAll = "E1105", "match operand accepts every value of its field", "VAL-OPD-5", Severity::Warning;
        /// A rule can never match.
        NeverMatches = "E1201", "rule can never match", "VAL-LOGIC-1", Severity::Warning;
        /// A `block` rule matches every event of its template type.
        BlockMatchesAll = "E1202", "block rule matches every event of its template type", "VAL-LOGIC-2", Severity::Error;
        /// A non-`block` rule matches every event of its template type.
        MatchesAll = "E1203", "rule matches every event of its template type", "VAL-LOGIC-3", Severity::Warning;
        /// With a rule, the matchers reading one field cost more steps per byte than a targeted
        /// sensor's budget (the binder's E3601).
        CostPerByteOverBudget = "E1301", "matchers reading a field cost more per byte than a targeted sensor's budget", "VAL-BUDGET-1", Severity::Error;
        /// With a rule, the fixed cost of one event exceeds a targeted sensor's budget (E3602).
        CostPerEventOverBudget = "E1302", "fixed cost of one event exceeds a targeted sensor's budget", "VAL-BUDGET-2", Severity::Error;
        /// The content's regexes need more memory than a targeted sensor's budget (E3603).
        MemoryOverBudget = "E1303", "regular expressions need more memory than a targeted sensor's budget", "VAL-BUDGET-3", Severity::Error;
        /// The content has expired.
        Expired = "E1401", "content has expired", "VAL-TIME-1", Severity::Error;
        /// The content is not valid yet.
        NotYetValid = "E1402", "content is not yet valid", "VAL-TIME-2", Severity::Error;
        /// The sequence number does not increase over the previous content's (anti-rollback).
        SequenceNotIncreasing = "E1403", "sequence number is not greater than the previous content's", "VAL-SEQ-1", Severity::Error;
        /// The previous content belongs to another channel.
        PreviousChannelDiffers = "E1404", "previous content belongs to another channel", "VAL-SEQ-2", Severity::Error;
        /// The sequence number leaves fewer than `SEQUENCE_RESERVE` numbers after it: a sensor
        /// that loads it could take almost no later update of its channel.
        SequenceNoRoom = "E1405", "sequence number leaves no room for later updates", "VAL-SEQ-3", Severity::Error;
        /// The sequence number is in the upper half of its range.
        SequenceNearEnd = "E1406", "sequence number is near the end of its range", "VAL-SEQ-4", Severity::Warning;
        /// The sequence number jumps further beyond the previous content's than `MAX_SEQUENCE_JUMP`.
        SequenceJump = "E1407", "sequence number jumps far beyond the previous content's", "VAL-SEQ-5", Severity::Error;
        /// The content is not signed.
        Unsigned = "E1501", "content is not signed", "VAL-SIG-1", Severity::Error;
        /// The content is signed by a key that is not among the trusted public keys.
        UntrustedKey = "E1502", "content is signed by a key that is not trusted", "VAL-SIG-2", Severity::Error;
        /// The signature does not verify.
        BadSignature = "E1503", "signature does not verify", "VAL-SIG-3", Severity::Error;
        /// The source is not valid YAML or JSON.
        SourceSyntax = "E2001", "source is not valid YAML or JSON", "SRC-1", Severity::Error;
        /// A source value has the wrong type.
        SourceType = "E2002", "source value has the wrong type", "SRC-2", Severity::Error;
        /// A mapping has a key the source format does not define.
        SourceUnknownKey = "E2003", "unknown key", "SRC-3", Severity::Error;
        /// A mapping lacks a required key.
        SourceMissingKey = "E2004", "required key missing", "SRC-4", Severity::Error;
        /// A value is not one the key allows.
        SourceInvalidValue = "E2005", "invalid value", "SRC-5", Severity::Error;
        /// Two rules have the same id.
        DuplicateRuleId = "E2006", "duplicate rule id", "SRC-6", Severity::Error;
        /// A rule names a template type that no manifest or declaration defines.
        UnknownTemplate = "E2007", "unknown template type", "SRC-7", Severity::Error;
        /// A condition names a field its template type does not have.
        UnknownField = "E2008", "unknown field", "SRC-8", Severity::Error;
        /// An operator does not apply to the type of its field.
        OperatorTypeMismatch = "E2009", "operator does not apply to the field's type", "SRC-9", Severity::Error;
        /// A number does not fit its wire type.
        NumberOutOfRange = "E2010", "number out of range", "SRC-10", Severity::Error;
        /// Manifests (or declarations) disagree on a template type's fields.
        ManifestsDisagree = "E2011", "manifests disagree on a template type", "SRC-11", Severity::Error;
        /// The content header is missing, or given more than once.
        HeaderCount = "E2012", "content header missing or given more than once", "SRC-12", Severity::Error;
        /// The format writer refuses the compiled content.
        EncodeRejected = "E2013", "compiled content is refused by the format writer", "SRC-13", Severity::Error;
        /// A condition has no operator, or more than one.
        ConditionShape = "E2014", "condition needs exactly one operator", "SRC-14", Severity::Error;
        /// The source is not UTF-8 text.
        SourceNotUtf8 = "E2015", "source is not UTF-8 text", "SRC-15", Severity::Error;
        /// The source nests deeper than the limit.
        SourceTooDeep = "E2016", "source nested too deeply", "SRC-16", Severity::Error;
        /// A probe event is refused by the interpreter bound to a targeted sensor.
        ProbeRefused = "E4001", "the interpreter refuses a probe event", "TEST-1", Severity::Error;
        /// A criterion does not give, in the interpreter, the result its definition gives.
        ProbeMismatch = "E4002", "a criterion does not behave as specified in the interpreter", "TEST-2", Severity::Error;
        /// No matching (or no non-matching) value could be generated for a criterion.
        ProbeNotGenerated = "E4003", "no probe value could be generated for a criterion", "TEST-3", Severity::Warning;
        /// The literal prefilter selects other rules than exhaustive evaluation matches.
        PrefilterDisagrees = "E4004", "the literal prefilter and exhaustive evaluation disagree", "TEST-4", Severity::Error;
        /// An event does not match a rule it must match.
        ExpectedMatchMissing = "E4101", "event does not match a rule it must match", "TEST-5", Severity::Error;
        /// An event matches a rule it must not match.
        UnexpectedMatch = "E4102", "event matches a rule it must not match", "TEST-6", Severity::Error;
        /// An expectation names a rule the content does not have.
        ExpectationUnknownRule = "E4103", "expectation names a rule the content does not have", "TEST-7", Severity::Error;
        /// A `block` rule matches a larger share of benign events than allowed.
        BlockBlastRadius = "E4201", "block rule matches more benign events than the threshold", "TEST-8", Severity::Error;
        /// A rule matches a larger share of benign events than allowed.
        BlastRadius = "E4202", "rule matches more benign events than the threshold", "TEST-9", Severity::Warning;
        /// An input path cannot be read.
        Io = "E9001", "cannot read input", "CLI-1", Severity::Error;
        /// A directory or argument list yields no input file.
        NoInput = "E9002", "no input files found", "CLI-2", Severity::Error;
        /// An input file is larger than its limit.
        InputTooLarge = "E9003", "input file larger than the limit", "CLI-3", Severity::Error;
        /// An output file cannot be written.
        WriteFailed = "E9004", "cannot write output", "CLI-4", Severity::Error;
        /// The `--previous` content is itself rejected by the parser.
        PreviousRejected = "E9005", "previous content is rejected by the parser", "CLI-5", Severity::Error;
        /// Directory expansion left inputs out (too deep, a link to a directory, unreadable).
        InputSkipped = "E9006", "directory expansion skipped inputs", "CLI-12", Severity::Error;
        /// A manifest is not valid TOML or has the wrong shape.
        ManifestSyntax = "E9101", "manifest is not valid TOML or has the wrong shape", "CLI-6", Severity::Error;
        /// A manifest contradicts itself.
        ManifestInvalid = "E9102", "manifest is inconsistent", "CLI-7", Severity::Error;
        /// Two manifests describe the same sensor version differently.
        ManifestConflict = "E9103", "two manifests describe the same sensor version differently", "CLI-8", Severity::Error;
        /// A key file is malformed.
        KeyFile = "E9201", "key file is malformed", "CLI-9", Severity::Error;
        /// `keygen` would overwrite an existing file.
        KeyExists = "E9202", "refusing to overwrite an existing key file", "CLI-10", Severity::Error;
        /// A line of an events file is not a valid event for the targeted sensors.
        EventSyntax = "E9301", "events file line is not a valid event", "CLI-11", Severity::Error;
        /// A `--placeholders` file is not a YAML mapping of names to values.
        PlaceholderFile = "E9401", "placeholder file is malformed", "CLI-13", Severity::Error;
    }
    /// The id of the spec rule the code enforces, e.g. `"VAL-IFC-3"`.
    pub const fn rule(self) -> &'static str;
    /// The severity every diagnostic with this code has.
    pub const fn severity(self) -> Severity;
}

impl Code {
    /// Whether the code is a semantic content check (`E1xxx`).
    pub fn is_semantic(self) -> bool {
        self.as_str().starts_with("E1")
    }

    /// The sensor binder's code this validator code shows, if it is one of the binder's
    /// refusals (`DIAGNOSTICS.md`, *One binder*): a content has a diagnostic with such a code
    /// exactly when [`dcf_sensor::bind`] refuses it for a manifest it was checked against.
    pub fn binder_code(self) -> Option<dcf_sensor::SensorCode> {
        use dcf_sensor::SensorCode as S;
        Some(match self {
            Code::TemplateNotImplemented => S::TemplateNotSupplied,
            Code::FieldNotSupplied => S::FieldNotSupplied,
            Code::FieldTypeDiffers => S::FieldTypeMismatch,
            Code::FieldNameDiffers => S::FieldNameMismatch,
            Code::InvalidRegex | Code::RegexTooBig => S::BadRegex,
            Code::InvalidGlob => S::BadGlob,
            Code::InvalidCidr => S::BadCidr,
            Code::CostPerByteOverBudget => S::CostPerByteOverBudget,
            Code::CostPerEventOverBudget => S::CostPerEventOverBudget,
            Code::MemoryOverBudget => S::MemoryOverBudget,
            _ => return None,
        })
    }

    /// Whether the code is an authoring-source compile error (`E2xxx`).
    pub fn is_source(self) -> bool {
        self.as_str().starts_with("E2")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any code a dcf tool reports: the parser's structural codes, the validator's, the sensor
/// loader's (from dry runs) or the Sigma importer's (rules left out of a compile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnyCode {
    /// A structural rejection by `dcf-parser` (`E0101`..`E0713`).
    Format(dcf_parser::ErrorCode),
    /// A validator code.
    Check(Code),
    /// A refusal of the sensor loader or interpreter (`E3xxx`, `format-spec/LOADER.md`).
    Sensor(dcf_sensor::SensorCode),
    /// Why the Sigma importer left a rule out (`E5xxx`, `format-spec/SIGMA.md`).
    Sigma(dcf_sigma::Code),
}

impl AnyCode {
    /// The code's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AnyCode::Format(c) => c.as_str(),
            AnyCode::Check(c) => c.as_str(),
            AnyCode::Sensor(c) => c.as_str(),
            AnyCode::Sigma(c) => c.as_str(),
        }
    }

    /// The code's one-line meaning.
    pub fn description(self) -> &'static str {
        match self {
            AnyCode::Format(c) => c.description(),
            AnyCode::Check(c) => c.description(),
            AnyCode::Sensor(c) => c.description(),
            AnyCode::Sigma(c) => c.description(),
        }
    }

    /// The code's severity: structural rejections and sensor refusals are always errors; a
    /// Sigma rule left out of a compile is a warning (`dcf compile --fail-on-skip` makes the
    /// run fail on it).
    pub fn severity(self) -> Severity {
        match self {
            AnyCode::Format(_) | AnyCode::Sensor(_) => Severity::Error,
            AnyCode::Check(c) => c.severity(),
            AnyCode::Sigma(_) => Severity::Warning,
        }
    }

    /// The spec rule id or, for families without rule ids, a name for the code.
    pub fn rule_name(self) -> String {
        match self {
            AnyCode::Check(c) => c.rule().to_string(),
            AnyCode::Sigma(c) => c.rule().to_string(),
            AnyCode::Format(_) => format!("format-{}", self.as_str()),
            AnyCode::Sensor(_) => format!("loader-{}", self.as_str()),
        }
    }

    /// The document that defines the code.
    pub fn spec_document(self) -> &'static str {
        match self {
            AnyCode::Format(_) => "format-spec/SPEC.md",
            AnyCode::Check(_) => "format-spec/DIAGNOSTICS.md",
            AnyCode::Sensor(_) => "format-spec/LOADER.md",
            AnyCode::Sigma(_) => "format-spec/SIGMA.md",
        }
    }
}

impl fmt::Display for AnyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Code> for AnyCode {
    fn from(c: Code) -> Self {
        AnyCode::Check(c)
    }
}

impl From<dcf_parser::ErrorCode> for AnyCode {
    fn from(c: dcf_parser::ErrorCode) -> Self {
        AnyCode::Format(c)
    }
}

impl From<dcf_sensor::SensorCode> for AnyCode {
    fn from(c: dcf_sensor::SensorCode) -> Self {
        AnyCode::Sensor(c)
    }
}

impl From<dcf_sigma::Code> for AnyCode {
    fn from(c: dcf_sigma::Code) -> Self {
        AnyCode::Sigma(c)
    }
}
