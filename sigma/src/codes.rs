//! The importer's diagnostic codes (E5xxx), as in the table of `format-spec/SIGMA.md`.

use core::fmt;

// Rows: variant = code, description, rule (the accessors after the rows, in that order).
dcf_parser::code_table! {
    /// Why a Sigma rule was not compiled. Each code is stable and listed in `SIGMA.md`.
    pub enum Code {
        /// The file cannot be read or is not UTF-8.
        Unreadable = "E5001", "rule file cannot be read as UTF-8 text", "SIGMA-1";
        /// The file is not well-formed YAML.
        YamlSyntax = "E5002", "rule file is not well-formed YAML", "SIGMA-1";
        /// The document is not a Sigma detection rule (not a mapping, no `detection`, wrong types).
        NotARule = "E5003", "document is not a Sigma detection rule", "SIGMA-2";
        /// A multi-document rule collection (`action: global` and friends, Sigma 1.0).
        RuleCollection = "E5004", "multi-document rule collections are outside the specification's core", "SIGMA-2";
        /// A correlation rule (counts, temporal proximity): state across events.
        Correlation = "E5005", "correlation rules are outside the specification's core", "SIGMA-2";
        /// A Sigma filter document.
        Filter = "E5006", "Sigma filters are outside the specification's core", "SIGMA-2";
        /// The rule has no id, or the id is not a UUID.
        BadId = "E5101", "rule id missing or not a UUID", "SIGMA-3";
        /// Another rule of the same import already has this id.
        DuplicateId = "E5102", "rule id already used by another rule of the import", "SIGMA-3";
        /// The rule has no title.
        NoTitle = "E5103", "rule title missing", "SIGMA-3";
        /// The rule has no author, so DRL 1.1 attribution cannot be kept.
        NoAuthor = "E5104", "rule author missing (DRL 1.1 attribution)", "SIGMA-3";
        /// `level` is not one of the five Sigma levels.
        BadLevel = "E5105", "rule level is not informational, low, medium, high or critical", "SIGMA-3";
        /// No targeted sensor implements the template type of the rule's log source.
        LogSourceNotSupplied = "E5201", "log source not implemented by any targeted sensor", "SIGMA-4";
        /// A field the rule reads is not supplied for its log source.
        FieldNotSupplied = "E5202", "field not supplied by the targeted sensors for the rule's log source", "SIGMA-4";
        /// Targeted sensors supply a field the rule reads at different indexes or types.
        FieldLayoutDiffers = "E5203", "targeted sensors supply a field at different indexes or types", "SIGMA-4";
        /// The condition does not parse.
        ConditionSyntax = "E5301", "condition does not parse", "SIGMA-5";
        /// The condition names a search identifier that is not defined, or a pattern matches none.
        UndefinedIdentifier = "E5302", "condition names an undefined search identifier", "SIGMA-5";
        /// Aggregations (`| count()`, `near`) or `timeframe`: state across events.
        Aggregation = "E5303", "aggregations and timeframes are outside the specification's core", "SIGMA-5";
        /// A search identifier is not a map, a list of maps or a list of values.
        BadSearchIdentifier = "E5304", "search identifier is neither a map, a list of maps nor a list of values", "SIGMA-6";
        /// A modifier this importer does not implement (time modifiers, unknown names).
        UnsupportedModifier = "E5401", "unsupported modifier", "SIGMA-7";
        /// Modifiers that cannot be combined, or a value of the wrong type for a modifier.
        BadModifierUse = "E5402", "modifier combination or value type not allowed", "SIGMA-7";
        /// A regular expression the sensor's engine does not accept (look-around, backreferences).
        UnsupportedRegex = "E5403", "regular expression not supported by the sensor's engine", "SIGMA-7";
        /// An encoding modifier applied to a value with wildcards.
        WildcardEncoding = "E5404", "encoding modifier applied to a value with wildcards", "SIGMA-7";
        /// A transformed value is not valid UTF-8 text.
        ValueNotText = "E5405", "transformed value is not UTF-8 text", "SIGMA-7";
        /// An `expand` value names a placeholder the placeholder file gives no value.
        PlaceholderMissing = "E5406", "placeholder has no value", "SIGMA-7";
        /// The compiled rule breaks a limit of the content format.
        FormatLimit = "E5501", "compiled rule exceeds a limit of the content format", "SIGMA-8";
        /// With the rules before it, the compiled rule takes the content over a targeted
        /// sensor's cost budget (`LOADER.md` COST-4).
        CostOverBudget = "E5502", "compiled rule takes the content over a targeted sensor's cost budget", "SIGMA-8";
    }
    /// The spec rule (`SIGMA-n`) the code enforces.
    pub const fn rule(self) -> &'static str;
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
