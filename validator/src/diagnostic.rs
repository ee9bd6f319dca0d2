//! One finding about one file: a code, a message, where, and which rule.

use dcf_parser::RuleId;

use crate::codes::{AnyCode, Code, Severity};

/// A finding of the parser, the validator or the compiler.
///
/// `offset` is a byte offset into the file the diagnostic is about: the binary content for
/// `E0xxx` and `E1xxx`, the source text for `E2xxx`, the manifest for manifest errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The code.
    pub code: AnyCode,
    /// What is wrong, with the names and numbers that make it precise.
    pub message: String,
    /// Byte offset of the offending structure, if there is one.
    pub offset: Option<usize>,
    /// Length of the offending range in bytes (at least 1 when `offset` is set).
    pub len: usize,
    /// Short text shown beside the offending bytes.
    pub label: Option<String>,
    /// The rule the finding is about.
    pub rule: Option<RuleId>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a code and a message, about no particular place.
    pub fn new(code: impl Into<AnyCode>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            message: message.into(),
            offset: None,
            len: 0,
            label: None,
            rule: None,
            help: None,
        }
    }

    /// Places the diagnostic at `len` bytes from `offset`.
    #[must_use]
    pub fn at(mut self, offset: usize, len: usize) -> Self {
        self.offset = Some(offset);
        self.len = len.max(1);
        self
    }

    /// Sets the label shown beside the offending bytes.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Names the rule the finding is about.
    #[must_use]
    pub fn rule(mut self, id: RuleId) -> Self {
        self.rule = Some(id);
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The severity, which the code fixes.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The validator code, if this is not a structural rejection.
    pub fn check_code(&self) -> Option<Code> {
        match self.code {
            AnyCode::Check(c) => Some(c),
            AnyCode::Format(_) | AnyCode::Sensor(_) | AnyCode::Sigma(_) => None,
        }
    }

    /// The help line: the diagnostic's own, or where its code's rule is specified.
    pub fn help_text(&self) -> String {
        if let Some(h) = &self.help {
            return h.clone();
        }
        match self.code {
            AnyCode::Format(c) => format!("see code {c} in format-spec/SPEC.md"),
            AnyCode::Check(c) if c.is_source() => format!(
                "the source format is in format-spec/MANIFEST.md (Authoring source); rule {} in format-spec/DIAGNOSTICS.md",
                c.rule()
            ),
            AnyCode::Check(c) if c.as_str().starts_with("E9") => format!(
                "`dcf --help` shows the usage; rule {} in format-spec/DIAGNOSTICS.md",
                c.rule()
            ),
            AnyCode::Check(c) => format!("see rule {} in format-spec/DIAGNOSTICS.md", c.rule()),
            AnyCode::Sensor(c) => format!("see code {c} in format-spec/LOADER.md"),
            AnyCode::Sigma(c) => format!("see code {c} ({}) in format-spec/SIGMA.md", c.rule()),
        }
    }

    /// The diagnostic for a rejection by the parser (or by the writer's read-back).
    pub fn from_parse_error(e: &dcf_parser::Error) -> Self {
        let code = e.code();
        let mut message = code.description().to_string();
        match (e.expected_value(), e.found_value()) {
            (Some(x), Some(v)) => message.push_str(&format!(" (expected {x}, found {v})")),
            (None, Some(v)) => message.push_str(&format!(" (found {v})")),
            (Some(x), None) => message.push_str(&format!(" (expected {x})")),
            (None, None) => {}
        }
        Diagnostic::new(code, message)
            .at(e.offset(), 1)
            .label(code.description())
            .help(parse_help(code))
    }
}

/// A number with its thousands separated by commas (`67,108,864`).
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The help line of a structural rejection.
fn parse_help(code: dcf_parser::ErrorCode) -> String {
    use dcf_parser::ErrorCode as E;
    let limit = dcf_parser::limits::MAX_FILE_SIZE;
    let too_large = format!(
        "the file was refused before being read; content may be at most {} MiB ({} bytes, FRAME-1)",
        limit >> 20,
        grouped(limit)
    );
    let specific = match code {
        E::FileTooLarge => too_large.as_str(),
        E::BadMagic => "this is not dcf content; check the path",
        E::DigestMismatch => {
            "the file was modified or damaged after it was written; rebuild it with `dcf compile`"
        }
        E::TruncatedHeader | E::TruncatedTrailer => {
            "the file is truncated; rebuild it with `dcf compile`"
        }
        E::InvalidTimeRange => "set an expiry after the creation time",
        E::InvalidSensorRange => "set sensor_min at or below sensor_max",
        _ => {
            "the bytes break a rule of the format; `dcf inspect --hexdump` shows which structure they belong to"
        }
    };
    format!("{specific} (format-spec/SPEC.md, code {code})")
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(123_456), "123,456");
        assert_eq!(grouped(67_108_864), "67,108,864");
    }
}
