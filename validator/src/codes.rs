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

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $rule:literal, $sev:ident, $text:literal; )*) => {
        /// A diagnostic code of the validator (`format-spec/DIAGNOSTICS.md`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $name, )*
        }

        impl Code {
            /// Every code, in ascending order.
            pub const ALL: &'static [Code] = &[ $( Code::$name, )* ];

            /// The code as written in the spec and in reports, e.g. `"E1003"`.
            pub const fn as_str(self) -> &'static str {
                match self { $( Code::$name => $code, )* }
            }

            /// The id of the spec rule the code enforces, e.g. `"VAL-IFC-3"`.
            pub const fn rule(self) -> &'static str {
                match self { $( Code::$name => $rule, )* }
            }

            /// The one-line meaning of the code, as in the spec's table.
            pub const fn description(self) -> &'static str {
                match self { $( Code::$name => $text, )* }
            }

            /// The severity every diagnostic with this code has.
            pub const fn severity(self) -> Severity {
                match self { $( Code::$name => Severity::$sev, )* }
            }
        }
    };
}

codes! {
    /// No manifest of the fleet lies in the content's sensor range.
    NoManifestInRange = "E1001", "VAL-IFC-1", Error, "no sensor manifest lies in the content's sensor range";
    /// A targeted sensor does not implement a rule's template type.
    TemplateNotImplemented = "E1002", "VAL-IFC-2", Error, "a targeted sensor does not implement the rule's template type";
    /// A rule reads a field that a targeted sensor does not supply (the Channel File 291 class).
    FieldNotSupplied = "E1003", "VAL-IFC-3", Error, "rule reads a field that a targeted sensor does not supply";
    /// A wildcard names a field that a targeted sensor does not supply.
    WildcardFieldNotSupplied = "E1004", "VAL-IFC-4", Warning, "wildcard on a field that a targeted sensor does not supply";
    /// A field a rule reads is declared with another type than a targeted sensor supplies.
    FieldTypeDiffers = "E1005", "VAL-IFC-5", Error, "declared type of a field a rule reads differs from the sensor's";
    /// A field a rule reads is declared with another name than a targeted sensor supplies.
    FieldNameDiffers = "E1006", "VAL-IFC-6", Error, "declared name of a field a rule reads differs from the sensor's";
    /// A template type is declared with another name than a targeted sensor gives it.
    TemplateNameDiffers = "E1007", "VAL-IFC-7", Warning, "declared template type name differs from the sensor's";
    /// A field no rule reads is declared differently from what a targeted sensor supplies.
    UnreadFieldDiffers = "E1008", "VAL-IFC-8", Warning, "declared field that no rule reads differs from the sensor's";
    /// A regular expression does not compile.
    InvalidRegex = "E1101", "VAL-OPD-1", Error, "regular expression does not compile";
    /// A regular expression compiles to a program larger than the limit.
    RegexTooBig = "E1102", "VAL-OPD-2", Error, "regular expression exceeds the program size limit";
    /// A glob pattern is malformed.
    InvalidGlob = "E1103", "VAL-OPD-3", Error, "malformed glob pattern";
    /// A CIDR operand is malformed.
    InvalidCidr = "E1104", "VAL-OPD-4", Error, "malformed CIDR operand";
    /// A match operand accepts every value of its field.
    OperandMatchesAll = "E1105", "VAL-OPD-5", Warning, "match operand accepts every value of its field";
    /// A rule can never match.
    NeverMatches = "E1201", "VAL-LOGIC-1", Warning, "rule can never match";
    /// A `block` rule matches every event of its template type.
    BlockMatchesAll = "E1202", "VAL-LOGIC-2", Error, "block rule matches every event of its template type";
    /// A non-`block` rule matches every event of its template type.
    MatchesAll = "E1203", "VAL-LOGIC-3", Warning, "rule matches every event of its template type";
    /// A rule's estimated evaluation cost exceeds the budget.
    RuleCostOverBudget = "E1301", "VAL-BUDGET-1", Error, "estimated evaluation cost of a rule exceeds the budget";
    /// The estimated cost of one event of a template type exceeds the budget.
    TemplateCostOverBudget = "E1302", "VAL-BUDGET-2", Error, "estimated evaluation cost of one event of a template type exceeds the budget";
    /// The content has expired.
    Expired = "E1401", "VAL-TIME-1", Error, "content has expired";
    /// The content is not valid yet.
    NotYetValid = "E1402", "VAL-TIME-2", Error, "content is not yet valid";
    /// The sequence number does not increase over the previous content's (anti-rollback).
    SequenceNotIncreasing = "E1403", "VAL-SEQ-1", Error, "sequence number is not greater than the previous content's";
    /// The previous content belongs to another channel.
    PreviousChannelDiffers = "E1404", "VAL-SEQ-2", Error, "previous content belongs to another channel";
    /// The sequence number leaves fewer than `SEQUENCE_RESERVE` numbers after it: a sensor
    /// that loads it could take almost no later update of its channel.
    SequenceNoRoom = "E1405", "VAL-SEQ-3", Error, "sequence number leaves no room for later updates";
    /// The sequence number is in the upper half of its range.
    SequenceNearEnd = "E1406", "VAL-SEQ-4", Warning, "sequence number is near the end of its range";
    /// The sequence number jumps further beyond the previous content's than `MAX_SEQUENCE_JUMP`.
    SequenceJump = "E1407", "VAL-SEQ-5", Error, "sequence number jumps far beyond the previous content's";
    /// The content is not signed.
    Unsigned = "E1501", "VAL-SIG-1", Error, "content is not signed";
    /// The content is signed by a key that is not among the trusted public keys.
    UntrustedKey = "E1502", "VAL-SIG-2", Error, "content is signed by a key that is not trusted";
    /// The signature does not verify.
    BadSignature = "E1503", "VAL-SIG-3", Error, "signature does not verify";
    /// The source is not valid YAML or JSON.
    SourceSyntax = "E2001", "SRC-1", Error, "source is not valid YAML or JSON";
    /// A source value has the wrong type.
    SourceType = "E2002", "SRC-2", Error, "source value has the wrong type";
    /// A mapping has a key the source format does not define.
    SourceUnknownKey = "E2003", "SRC-3", Error, "unknown key";
    /// A mapping lacks a required key.
    SourceMissingKey = "E2004", "SRC-4", Error, "required key missing";
    /// A value is not one the key allows.
    SourceInvalidValue = "E2005", "SRC-5", Error, "invalid value";
    /// Two rules have the same id.
    DuplicateRuleId = "E2006", "SRC-6", Error, "duplicate rule id";
    /// A rule names a template type that no manifest or declaration defines.
    UnknownTemplate = "E2007", "SRC-7", Error, "unknown template type";
    /// A condition names a field its template type does not have.
    UnknownField = "E2008", "SRC-8", Error, "unknown field";
    /// An operator does not apply to the type of its field.
    OperatorTypeMismatch = "E2009", "SRC-9", Error, "operator does not apply to the field's type";
    /// A number does not fit its wire type.
    NumberOutOfRange = "E2010", "SRC-10", Error, "number out of range";
    /// Manifests (or declarations) disagree on a template type's fields.
    ManifestsDisagree = "E2011", "SRC-11", Error, "manifests disagree on a template type";
    /// The content header is missing, or given more than once.
    HeaderCount = "E2012", "SRC-12", Error, "content header missing or given more than once";
    /// The format writer refuses the compiled content.
    EncodeRejected = "E2013", "SRC-13", Error, "compiled content is refused by the format writer";
    /// A condition has no operator, or more than one.
    ConditionShape = "E2014", "SRC-14", Error, "condition needs exactly one operator";
    /// The source is not UTF-8 text.
    SourceNotUtf8 = "E2015", "SRC-15", Error, "source is not UTF-8 text";
    /// The source nests deeper than the limit.
    SourceTooDeep = "E2016", "SRC-16", Error, "source nested too deeply";
    /// A probe event is refused by the interpreter bound to a targeted sensor.
    ProbeRefused = "E4001", "TEST-1", Error, "the interpreter refuses a probe event";
    /// A criterion does not give, in the interpreter, the result its definition gives.
    ProbeMismatch = "E4002", "TEST-2", Error, "a criterion does not behave as specified in the interpreter";
    /// No matching (or no non-matching) value could be generated for a criterion.
    ProbeNotGenerated = "E4003", "TEST-3", Warning, "no probe value could be generated for a criterion";
    /// The literal prefilter selects other rules than exhaustive evaluation matches.
    PrefilterDisagrees = "E4004", "TEST-4", Error, "the literal prefilter and exhaustive evaluation disagree";
    /// An event does not match a rule it must match.
    ExpectedMatchMissing = "E4101", "TEST-5", Error, "event does not match a rule it must match";
    /// An event matches a rule it must not match.
    UnexpectedMatch = "E4102", "TEST-6", Error, "event matches a rule it must not match";
    /// An expectation names a rule the content does not have.
    ExpectationUnknownRule = "E4103", "TEST-7", Error, "expectation names a rule the content does not have";
    /// A `block` rule matches a larger share of benign events than allowed.
    BlockBlastRadius = "E4201", "TEST-8", Error, "block rule matches more benign events than the threshold";
    /// A rule matches a larger share of benign events than allowed.
    BlastRadius = "E4202", "TEST-9", Warning, "rule matches more benign events than the threshold";
    /// An input path cannot be read.
    Io = "E9001", "CLI-1", Error, "cannot read input";
    /// A directory or argument list yields no input file.
    NoInput = "E9002", "CLI-2", Error, "no input files found";
    /// An input file is larger than its limit.
    InputTooLarge = "E9003", "CLI-3", Error, "input file larger than the limit";
    /// An output file cannot be written.
    WriteFailed = "E9004", "CLI-4", Error, "cannot write output";
    /// The `--previous` content is itself rejected by the parser.
    PreviousRejected = "E9005", "CLI-5", Error, "previous content is rejected by the parser";
    /// Directory expansion left inputs out (too deep, a link to a directory, unreadable).
    InputSkipped = "E9006", "CLI-12", Error, "directory expansion skipped inputs";
    /// A manifest is not valid TOML or has the wrong shape.
    ManifestSyntax = "E9101", "CLI-6", Error, "manifest is not valid TOML or has the wrong shape";
    /// A manifest contradicts itself.
    ManifestInvalid = "E9102", "CLI-7", Error, "manifest is inconsistent";
    /// Two manifests describe the same sensor version differently.
    ManifestConflict = "E9103", "CLI-8", Error, "two manifests describe the same sensor version differently";
    /// A key file is malformed.
    KeyFile = "E9201", "CLI-9", Error, "key file is malformed";
    /// `keygen` would overwrite an existing file.
    KeyExists = "E9202", "CLI-10", Error, "refusing to overwrite an existing key file";
    /// A line of an events file is not a valid event for the targeted sensors.
    EventSyntax = "E9301", "CLI-11", Error, "events file line is not a valid event";
}

impl Code {
    /// The code with the given spelling (`"E1003"`), if there is one.
    pub fn from_str_code(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == code)
    }

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
