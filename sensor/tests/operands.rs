//! The operand constructors every tool calls (`LOADER.md` LOAD-10): which regexes, globs and
//! CIDR operands a sensor accepts, and the analyses the validator asks of accepted ones.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use dcf_sensor::{Glob, Net, RegexError, check_regex, limits, regex_matches_everything};

#[test]
fn regexes_compile_under_the_sensor_limits() {
    assert_eq!(check_regex("^evil$", false), Ok(()));
    assert!(matches!(
        check_regex("(", false),
        Err(RegexError::Syntax(_))
    ));
    assert!(matches!(
        check_regex("(?=x)", false),
        Err(RegexError::Syntax(_))
    ));
    assert_eq!(
        check_regex(r"\w{1000}\w{1000}", false),
        Err(RegexError::TooBig {
            limit: limits::REGEX_SIZE_LIMIT
        })
    );
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    assert!(matches!(
        check_regex(&deep, false),
        Err(RegexError::Syntax(_))
    ));
    // The reason is the parser's last line, without the pattern or the caret.
    let Err(RegexError::Syntax(why)) = check_regex("(unclosed", false) else {
        panic!("an unclosed group compiles");
    };
    assert_eq!(why, "unclosed group");
}

#[test]
fn regexes_that_match_everything_are_recognised() {
    assert!(!regex_matches_everything("^evil$", false));
    assert!(regex_matches_everything(".*", false));
    assert!(!regex_matches_everything("^.*$", false));
    assert!(regex_matches_everything("a|", true));
}

#[test]
fn globs_escape_only_what_the_spec_allows() {
    assert!(
        !Glob::parse(r"C:\\Windows\\*.exe")
            .unwrap()
            .matches_everything()
    );
    assert!(Glob::parse("**").unwrap().matches_everything());
    assert!(!Glob::parse(r"\*").unwrap().matches_everything());
    assert!(Glob::parse(r"C:\Windows\*").is_err());
    assert!(Glob::parse("abc\\").is_err());
}

#[test]
fn cidr_operands_are_networks() {
    for (text, prefix) in [
        ("10.0.0.0/8", 8),
        ("10.1.2.3", 32),
        ("0.0.0.0/0", 0),
        ("fe80::/10", 10),
        ("::/0", 0),
    ] {
        assert_eq!(Net::parse(text).map(|n| n.prefix()), Ok(prefix), "{text}");
    }
    for bad in [
        "10.0.0.1/8",
        "10.0.0.0/33",
        "10.0.0/8",
        "10.0.0.0/",
        "x/8",
        "10.0.0.0/+8",
        "::/129",
    ] {
        assert!(Net::parse(bad).is_err(), "{bad}");
    }
    // Host bits are refused by the sensor; the Sigma importer writes the network instead.
    let net = Net::parse_network("10.0.0.1/8").unwrap();
    assert_eq!(net.network().to_string(), "10.0.0.0/8");
}
