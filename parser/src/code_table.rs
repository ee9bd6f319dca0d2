//! [`code_table!`](crate::code_table): the one definition of a table of stable codes.
//!
//! Every dcf crate that reports codes (the parser's `E0xxx`, the sensor's `E3xxx`, the Sigma
//! importer's `E5xxx`, the validator's `E1xxx`, `E2xxx`, `E4xxx` and `E9xxx`) declares its
//! table with this macro, so that every table has the same shape: the enum, `ALL` in
//! ascending order, `as_str`, `description` and `from_str_code`. The macro needs nothing but
//! `core`, so a `#![no_std]` crate can use it.

/// Whether `codes` are in strictly ascending byte order: sorted and without a repetition.
///
/// [`code_table!`](crate::code_table) checks every table with it at compile time; it is
/// public only for that.
#[doc(hidden)]
pub const fn strictly_ascending(codes: &[&str]) -> bool {
    let mut rest = codes;
    while let Some((first, tail)) = rest.split_first() {
        if let Some((next, _)) = tail.split_first()
            && !bytes_less(first.as_bytes(), next.as_bytes())
        {
            return false;
        }
        rest = tail;
    }
    true
}

/// Whether `a` sorts before `b` (byte-wise, a prefix first), in a `const` context.
const fn bytes_less(a: &[u8], b: &[u8]) -> bool {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.split_first(), b.split_first()) {
            (Some((x, a_tail)), Some((y, b_tail))) => {
                if *x != *y {
                    return *x < *y;
                }
                a = a_tail;
                b = b_tail;
            }
            (None, Some(_)) => return true,
            (_, None) => return false,
        }
    }
}

/// Defines a table of stable codes: an enum with one variant per code, and its accessors.
///
/// Each row gives a variant (with its doc comment), the code and the code's one-line
/// description. The rows must be in strictly ascending order of their codes; a table that is
/// not fails to compile. The macro generates:
///
/// - the enum, with the caller's attributes (its doc comment), deriving `Clone`, `Copy`,
///   `Debug`, `PartialEq`, `Eq`, `Hash`, `PartialOrd` and `Ord`, and `#[non_exhaustive]`;
/// - `ALL`, every code in ascending order;
/// - `as_str()`, the code as written in the spec and in diagnostics (`"E0107"`);
/// - `description()`, the code's one-line meaning;
/// - `from_str_code(&str)`, the code with a given spelling, if there is one.
///
/// Codes are spelled out as string literals (`Unsigned = "E3001", ...`), or, after
/// `enum Name: u16 prefix "E0"`, given as numbers that are also the variants'
/// discriminants (`#[repr(u16)]`): `BadMagic = 102` is spelled `"E0102"`, and a
/// `number()` accessor returns `102`.
///
/// A table may carry more columns (a spec rule id, a severity): each is a trailing expression
/// on every row, in the order of the `const fn` signatures given after the rows, one accessor
/// per column.
///
/// ```
/// dcf_parser::code_table! {
///     /// The codes of a small tool.
///     pub enum ToolCode {
///         /// The input cannot be read.
///         Unreadable = "E8001", "input cannot be read", "TOOL-1", true;
///         /// The input is empty.
///         Empty = "E8002", "input is empty", "TOOL-2", false;
///     }
///     /// The spec rule the code enforces.
///     pub const fn rule(self) -> &'static str;
///     /// Whether the code rejects the input.
///     pub const fn fatal(self) -> bool;
/// }
///
/// assert_eq!(ToolCode::ALL, &[ToolCode::Unreadable, ToolCode::Empty]);
/// assert_eq!(ToolCode::Empty.as_str(), "E8002");
/// assert_eq!(ToolCode::Empty.description(), "input is empty");
/// assert_eq!(ToolCode::Empty.rule(), "TOOL-2");
/// assert!(ToolCode::Unreadable.fatal());
/// assert_eq!(ToolCode::from_str_code("E8001"), Some(ToolCode::Unreadable));
/// assert_eq!(ToolCode::from_str_code("E8003"), None);
///
/// dcf_parser::code_table! {
///     /// Numbered codes.
///     pub enum Numbered: u16 prefix "E0" {
///         /// The first.
///         First = 101, "the first code";
///     }
/// }
///
/// assert_eq!(Numbered::First.as_str(), "E0101");
/// assert_eq!(Numbered::First.number(), 101);
/// ```
///
/// A table out of order does not compile:
///
/// ```compile_fail,E0080
/// dcf_parser::code_table! {
///     /// Two codes, swapped.
///     pub enum Swapped {
///         /// The second.
///         Second = "E8002", "the second code";
///         /// The first.
///         First = "E8001", "the first code";
///     }
/// }
/// ```
#[macro_export]
macro_rules! code_table {
    // The enum and the accessors every table has.
    (
        @table
        [ $(#[$attr:meta])* ] $vis:vis $Enum:ident
        $( [ $(#[$doc:meta])* ] $name:ident [ $(= $num:literal)? ] ($code:expr) $text:literal; )*
    ) => {
        $(#[$attr])*
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash,
            ::core::cmp::PartialOrd,
            ::core::cmp::Ord,
        )]
        #[non_exhaustive]
        $vis enum $Enum {
            $( $(#[$doc])* $name $(= $num)?, )*
        }

        impl $Enum {
            /// Every code, in ascending order.
            pub const ALL: &'static [$Enum] = &[ $( $Enum::$name, )* ];

            /// The code as written in the spec and in diagnostics, e.g. `"E0107"`.
            pub const fn as_str(self) -> &'static str {
                match self { $( $Enum::$name => $code, )* }
            }

            /// The one-line meaning of the code, as in the spec's table.
            pub const fn description(self) -> &'static str {
                match self { $( $Enum::$name => $text, )* }
            }

            /// The code with the given spec spelling (`"E0107"`), if there is one.
            pub fn from_str_code(code: &str) -> ::core::option::Option<$Enum> {
                $Enum::ALL.iter().copied().find(|c| c.as_str() == code)
            }
        }

        const _: () = ::core::assert!(
            $crate::__code_table_strictly_ascending(&[ $( $code, )* ]),
            ::core::concat!(
                "the codes of ",
                ::core::stringify!($Enum),
                " are not in strictly ascending order"
            ),
        );
    };

    // No extra column.
    (@extra $Enum:ident [] $( $name:ident ; )*) => {};

    // The extra columns, one accessor at a time: the first column's, then the others'.
    (
        @extra $Enum:ident
        [ [ $(#[$xattr:meta])* $xvis:vis const fn $xname:ident(self) -> $xty:ty; ] $($more:tt)* ]
        $( $name:ident, $extra:expr $(, $rest:expr)* ; )*
    ) => {
        impl $Enum {
            $(#[$xattr])*
            $xvis const fn $xname(self) -> $xty {
                match self { $( $Enum::$name => $extra, )* }
            }
        }

        $crate::code_table! { @extra $Enum [ $($more)* ] $( $name $(, $rest)* ; )* }
    };

    // Numbered codes: `Name = 101`, spelled `prefix` + the number.
    (
        $(#[$attr:meta])*
        $vis:vis enum $Enum:ident : $repr:ident prefix $prefix:literal {
            $( $(#[$doc:meta])* $name:ident = $num:literal, $text:literal $(, $extra:expr)* ; )*
        }
        $( $(#[$xattr:meta])* $xvis:vis const fn $xname:ident(self) -> $xty:ty; )*
    ) => {
        $crate::code_table! {
            @table
            [ $(#[$attr])* #[repr($repr)] ] $vis $Enum
            $( [ $(#[$doc])* ] $name [ = $num ] (::core::concat!($prefix, ::core::stringify!($num))) $text; )*
        }

        impl $Enum {
            /// The number of the code (`107` for `E0107`).
            pub const fn number(self) -> $repr {
                self as $repr
            }
        }

        $crate::code_table! {
            @extra $Enum
            [ $( [ $(#[$xattr])* $xvis const fn $xname(self) -> $xty; ] )* ]
            $( $name $(, $extra)* ; )*
        }
    };

    // Codes spelled out: `Name = "E3001"`.
    (
        $(#[$attr:meta])*
        $vis:vis enum $Enum:ident {
            $( $(#[$doc:meta])* $name:ident = $code:literal, $text:literal $(, $extra:expr)* ; )*
        }
        $( $(#[$xattr:meta])* $xvis:vis const fn $xname:ident(self) -> $xty:ty; )*
    ) => {
        $crate::code_table! {
            @table
            [ $(#[$attr])* ] $vis $Enum
            $( [ $(#[$doc])* ] $name [] ($code) $text; )*
        }

        $crate::code_table! {
            @extra $Enum
            [ $( [ $(#[$xattr])* $xvis const fn $xname(self) -> $xty; ] )* ]
            $( $name $(, $extra)* ; )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::strictly_ascending;

    crate::code_table! {
        /// Codes spelled out, with two extra columns.
        enum Spelled {
            /// The first.
            First = "E8001", "the first code", "RULE-1", 1;
            /// The second.
            Second = "E8002", "the second code", "RULE-2", 2;
            /// The third, in another block.
            Third = "E8101", "the third code", "RULE-3", 3;
        }
        /// The rule.
        const fn rule(self) -> &'static str;
        /// A number.
        const fn weight(self) -> u8;
    }

    crate::code_table! {
        /// Numbered codes.
        enum Numbered: u16 prefix "E0" {
            /// The first.
            First = 101, "the first code";
            /// The second.
            Second = 102, "the second code";
            /// The third.
            Third = 201, "the third code";
        }
    }

    #[test]
    fn tables_are_ascending_and_round_trip() {
        let spelled: &[&str] = &["E8001", "E8002", "E8101"];
        assert_eq!(Spelled::ALL.len(), spelled.len());
        for (code, text) in Spelled::ALL.iter().zip(spelled) {
            assert_eq!(code.as_str(), *text);
            assert_eq!(Spelled::from_str_code(code.as_str()), Some(*code));
        }
        assert!(
            Spelled::ALL
                .windows(2)
                .all(|w| matches!(w, [a, b] if a < b && a.as_str() < b.as_str()))
        );
        assert_eq!(Spelled::Second.description(), "the second code");
        assert_eq!(
            (Spelled::Third.rule(), Spelled::Third.weight()),
            ("RULE-3", 3)
        );
        assert_eq!(
            (Spelled::First.rule(), Spelled::First.weight()),
            ("RULE-1", 1)
        );
        assert_eq!(Spelled::from_str_code("E8003"), None);
        assert_eq!(Spelled::from_str_code(""), None);

        let numbered: &[(&str, u16)] = &[("E0101", 101), ("E0102", 102), ("E0201", 201)];
        assert_eq!(Numbered::ALL.len(), numbered.len());
        for (code, (text, number)) in Numbered::ALL.iter().zip(numbered) {
            assert_eq!(code.as_str(), *text);
            assert_eq!(code.number(), *number);
            assert_eq!(Numbered::from_str_code(code.as_str()), Some(*code));
        }
        assert!(
            Numbered::ALL
                .windows(2)
                .all(|w| matches!(w, [a, b] if a < b && a.as_str() < b.as_str()))
        );
        assert_eq!(Numbered::Third.description(), "the third code");
    }

    #[test]
    fn strictly_ascending_refuses_disorder_and_repetition() {
        assert!(strictly_ascending(&[]));
        assert!(strictly_ascending(&["E0101"]));
        assert!(strictly_ascending(&["E0101", "E0102", "E1001"]));
        assert!(strictly_ascending(&["E", "E0"]));
        assert!(!strictly_ascending(&["E0102", "E0101"]));
        assert!(!strictly_ascending(&["E0101", "E0101"]));
        assert!(!strictly_ascending(&["E0", "E"]));
    }
}
