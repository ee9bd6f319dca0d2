//! Sigma conditions: `and`, `or`, `not`, parentheses, `1 of`, `all of`, `N of` a pattern or
//! `them`. Precedence, least to most binding: `or`, `and`, `not`, `x of`, parentheses.
//! Keywords are case-insensitive. Aggregations (`| count() ...`) and `near` are refused:
//! they need state across events.

use core::fmt;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// All operands.
    And(Vec<Condition>),
    /// Any operand.
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// A search identifier.
    Identifier(String),
    /// `1 of`, `all of` or `N of` the identifiers matching a pattern (or `them`).
    Of {
        /// How many must be true.
        quantifier: Quantifier,
        /// Which identifiers.
        selector: Selector,
    },
}

/// The quantifier of an `of` expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// `all of`.
    All,
    /// `N of` (`1 of` is `AtLeast(1)`).
    AtLeast(u32),
}

/// What an `of` expression ranges over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `them`: every search identifier not starting with `_`.
    Them,
    /// Identifiers matching a pattern with `*` wildcards.
    Pattern(String),
}

/// Why a condition was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionError {
    /// Malformed.
    Syntax(String),
    /// An aggregation or `near`: outside the core.
    Aggregation(String),
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionError::Syntax(s) | ConditionError::Aggregation(s) => f.write_str(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
}

/// Deepest parenthesis / `not` nesting accepted.
const MAX_DEPTH: usize = 48;

fn tokenize(text: &str) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Open);
            }
            ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Close);
            }
            '|' => {
                return Err(ConditionError::Aggregation(format!(
                    "aggregation `{}` in condition",
                    text.trim()
                )));
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') => word.push(c),
            other => {
                return Err(ConditionError::Syntax(format!(
                    "unexpected character `{other}` in condition"
                )));
            }
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if is_keyword(w, keyword))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut items = vec![self.and(depth)?];
        while self.peek_word("or") {
            self.at += 1;
            items.push(self.and(depth)?);
        }
        Ok(flatten(items, true))
    }

    fn and(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        let mut items = vec![self.not(depth)?];
        while self.peek_word("and") {
            self.at += 1;
            items.push(self.not(depth)?);
        }
        Ok(flatten(items, false))
    }

    fn not(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        if depth > MAX_DEPTH {
            return Err(ConditionError::Syntax(format!(
                "condition nested deeper than {MAX_DEPTH} levels"
            )));
        }
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Condition, ConditionError> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ConditionError::Syntax("missing `)`".to_string())),
                }
            }
            Some(Token::Close) => Err(ConditionError::Syntax("unexpected `)`".to_string())),
            None => Err(ConditionError::Syntax("condition ends early".to_string())),
            Some(Token::Word(word)) => {
                if self.peek_word("of") {
                    self.at += 1;
                    let quantifier = if is_keyword(&word, "all") {
                        Quantifier::All
                    } else {
                        match word.parse::<u32>() {
                            Ok(n) if n >= 1 => Quantifier::AtLeast(n),
                            _ => {
                                return Err(ConditionError::Syntax(format!(
                                    "`{word} of`: the quantifier must be `all` or a positive number"
                                )));
                            }
                        }
                    };
                    let selector = match self.next() {
                        Some(Token::Word(w)) if is_keyword(&w, "them") => Selector::Them,
                        Some(Token::Word(w)) if is_identifier_pattern(&w) => Selector::Pattern(w),
                        _ => {
                            return Err(ConditionError::Syntax(format!(
                                "`{word} of` must be followed by `them` or an identifier pattern"
                            )));
                        }
                    };
                    return Ok(Condition::Of {
                        quantifier,
                        selector,
                    });
                }
                for reserved in ["and", "or", "not", "of", "them", "all"] {
                    if is_keyword(&word, reserved) {
                        return Err(ConditionError::Syntax(format!("unexpected `{word}`")));
                    }
                }
                if is_keyword(&word, "near") {
                    return Err(ConditionError::Aggregation(
                        "`near` in condition".to_string(),
                    ));
                }
                if word.contains(['*', '?']) {
                    return Err(ConditionError::Syntax(format!(
                        "pattern `{word}` outside an `of` expression"
                    )));
                }
                Ok(Condition::Identifier(word))
            }
        }
    }
}

fn is_identifier_pattern(word: &str) -> bool {
    !["and", "or", "not", "of", "all"]
        .iter()
        .any(|k| is_keyword(word, k))
}

/// One operand stays itself; nested operators of the same kind are merged.
fn flatten(items: Vec<Condition>, or: bool) -> Condition {
    if items.len() == 1 {
        return items
            .into_iter()
            .next()
            .unwrap_or(Condition::Or(Vec::new()));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match (item, or) {
            (Condition::Or(inner), true) | (Condition::And(inner), false) => out.extend(inner),
            (other, _) => out.push(other),
        }
    }
    if or {
        Condition::Or(out)
    } else {
        Condition::And(out)
    }
}

/// Parses one condition.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ConditionError::Syntax("empty condition".to_string()));
    }
    let mut parser = Parser { tokens, at: 0 };
    let condition = parser.or(0)?;
    if let Some(extra) = parser.peek() {
        return Err(ConditionError::Syntax(format!(
            "unexpected {} after the end of the condition",
            match extra {
                Token::Open => "`(`".to_string(),
                Token::Close => "`)`".to_string(),
                Token::Word(w) => format!("`{w}`"),
            }
        )));
    }
    Ok(condition)
}

/// Whether a search identifier matches an `of` pattern (`*` matches any run of characters;
/// every other character stands for itself).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Condition {
        Condition::Identifier(s.to_string())
    }

    #[test]
    fn precedence_and_quantifiers() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Condition::Or(vec![
                id("a"),
                Condition::And(vec![id("b"), Condition::Not(Box::new(id("c")))])
            ])
        );
        assert_eq!(
            parse("selection and not 1 of filter_*").unwrap(),
            Condition::And(vec![
                id("selection"),
                Condition::Not(Box::new(Condition::Of {
                    quantifier: Quantifier::AtLeast(1),
                    selector: Selector::Pattern("filter_*".into())
                }))
            ])
        );
        assert_eq!(
            parse("ALL OF them").unwrap(),
            Condition::Of {
                quantifier: Quantifier::All,
                selector: Selector::Them
            }
        );
        assert_eq!(
            parse("(a or b) and (c)").unwrap(),
            Condition::And(vec![Condition::Or(vec![id("a"), id("b")]), id("c")])
        );
        assert!(matches!(
            parse("selection | count() > 5"),
            Err(ConditionError::Aggregation(_))
        ));
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("0 of them").is_err());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("selection_*", "selection_img"));
        assert!(pattern_matches("*", "x"));
        assert!(pattern_matches("a*b*c", "aXbYbc"));
        assert!(!pattern_matches("selection_*", "filter_x"));
        assert!(!pattern_matches("sel", "selection"));
    }
}
