//! The importer's diagnostic codes (E5xxx), as in the table of `format-spec/SIGMA.md`.

use core::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $rule:literal, $text:literal; )*) => {
        /// Why a Sigma rule was not compiled. Each code is stable and listed in `SIGMA.md`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code { $( $(#[$doc])* $name, )* }

        impl Code {
            /// Every code, ascending.
            pub const ALL: &'static [Code] = &[ $( Code::$name, )* ];
            /// The code as written in the spec, e.g. `"E5401"`.
            pub const fn as_str(self) -> &'static str { match self { $( Code::$name => $code, )* } }
            /// The spec rule (`SIGMA-n`) the code enforces.
            pub const fn rule(self) -> &'static str { match self { $( Code::$name => $rule, )* } }
            /// The one-line meaning, as in the spec's table.
            pub const fn description(self) -> &'static str { match self { $( Code::$name => $text, )* } }
        }
    };
}

codes! {
    /// The file cannot be read or is not UTF-8.
    Unreadable = "E5001", "SIGMA-1", "rule file cannot be read as UTF-8 text";
    /// The file is not well-formed YAML.
    YamlSyntax = "E5002", "SIGMA-1", "rule file is not well-formed YAML";
    /// The document is not a Sigma detection rule (not a mapping, no `detection`, wrong types).
    NotARule = "E5003", "SIGMA-2", "document is not a Sigma detection rule";
    /// A multi-document rule collection (`action: global` and friends, Sigma 1.0).
    RuleCollection = "E5004", "SIGMA-2", "multi-document rule collections are outside the specification's core";
    /// A correlation rule (counts, temporal proximity): state across events.
    Correlation = "E5005", "SIGMA-2", "correlation rules are outside the specification's core";
    /// A Sigma filter document.
    Filter = "E5006", "SIGMA-2", "Sigma filters are outside the specification's core";
    /// The rule has no id, or the id is not a UUID.
    BadId = "E5101", "SIGMA-3", "rule id missing or not a UUID";
    /// Another rule of the same import already has this id.
    DuplicateId = "E5102", "SIGMA-3", "rule id already used by another rule of the import";
    /// The rule has no title.
    NoTitle = "E5103", "SIGMA-3", "rule title missing";
    /// The rule has no author, so DRL 1.1 attribution cannot be kept.
    NoAuthor = "E5104", "SIGMA-3", "rule author missing (DRL 1.1 attribution)";
    /// `level` is not one of the five Sigma levels.
    BadLevel = "E5105", "SIGMA-3", "rule level is not informational, low, medium, high or critical";
    /// No targeted sensor implements the template type of the rule's log source.
    LogSourceNotSupplied = "E5201", "SIGMA-4", "log source not implemented by any targeted sensor";
    /// A field the rule reads is not supplied for its log source.
    FieldNotSupplied = "E5202", "SIGMA-4", "field not supplied by the targeted sensors for the rule's log source";
    /// Targeted sensors supply a field the rule reads at different indexes or types.
    FieldLayoutDiffers = "E5203", "SIGMA-4", "targeted sensors supply a field at different indexes or types";
    /// The condition does not parse.
    ConditionSyntax = "E5301", "SIGMA-5", "condition does not parse";
    /// The condition names a search identifier that is not defined, or a pattern matches none.
    UndefinedIdentifier = "E5302", "SIGMA-5", "condition names an undefined search identifier";
    /// Aggregations (`| count()`, `near`) or `timeframe`: state across events.
    Aggregation = "E5303", "SIGMA-5", "aggregations and timeframes are outside the specification's core";
    /// A search identifier is not a map, a list of maps or a list of values.
    BadSearchIdentifier = "E5304", "SIGMA-6", "search identifier is neither a map, a list of maps nor a list of values";
    /// A modifier this importer does not implement (`expand`, time modifiers, unknown names).
    UnsupportedModifier = "E5401", "SIGMA-7", "unsupported modifier";
    /// Modifiers that cannot be combined, or a value of the wrong type for a modifier.
    BadModifierUse = "E5402", "SIGMA-7", "modifier combination or value type not allowed";
    /// A regular expression the sensor's engine does not accept (look-around, backreferences).
    UnsupportedRegex = "E5403", "SIGMA-7", "regular expression not supported by the sensor's engine";
    /// An encoding modifier applied to a value with wildcards.
    WildcardEncoding = "E5404", "SIGMA-7", "encoding modifier applied to a value with wildcards";
    /// A transformed value is not valid UTF-8 text.
    ValueNotText = "E5405", "SIGMA-7", "transformed value is not UTF-8 text";
    /// The compiled rule breaks a limit of the content format.
    FormatLimit = "E5501", "SIGMA-8", "compiled rule exceeds a limit of the content format";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
