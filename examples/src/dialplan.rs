//! Dial-plan patterns (Asterisk style) and routing decisions for the PBX.
//!
//! A pattern without a leading `_` matches exactly. With `_`: `X` is any digit, `Z` 1-9, `N`
//! 2-9, `[1-5a]` a set, `.` one or more of anything, `!` zero or more, any other character
//! itself.

use std::fmt;
use std::str::FromStr;

/// An error in a dial-plan pattern.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternError {
    /// An empty pattern.
    #[error("empty pattern")]
    Empty,
    /// A `[` without `]`, or a bad range inside.
    #[error("bad character set in pattern at byte {0}")]
    BadSet(usize),
    /// `.` or `!` not at the end.
    #[error("wildcard `.`/`!` must be last in a pattern")]
    WildcardNotLast,
}

/// A compiled dial-plan pattern.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Pattern {
    text: String,
    elems: Vec<Elem>,
}

#[derive(Clone, Debug, Eq, PartialEq)]
enum Elem {
    Char(char),
    Set(Vec<(char, char)>),
    OneOrMore,
    ZeroOrMore,
}

impl Pattern {
    /// Whether `number` matches the pattern.
    pub fn matches(&self, number: &str) -> bool {
        let chars: Vec<char> = number.chars().collect();
        let mut i = 0;
        for e in &self.elems {
            match e {
                Elem::Char(c) => {
                    if chars.get(i) != Some(c) {
                        return false;
                    }
                    i += 1;
                }
                Elem::Set(ranges) => {
                    let Some(&c) = chars.get(i) else { return false };
                    if !ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) {
                        return false;
                    }
                    i += 1;
                }
                Elem::OneOrMore => return chars.len() > i,
                Elem::ZeroOrMore => return true,
            }
        }
        i == chars.len()
    }

    /// How specific the pattern is (more literal characters first), to order overlapping
    /// routes: exact matches beat patterns, longer fixed prefixes beat shorter ones.
    pub fn specificity(&self) -> (usize, usize) {
        let literal = self
            .elems
            .iter()
            .filter(|e| matches!(e, Elem::Char(_)))
            .count();
        let fixed = self
            .elems
            .iter()
            .filter(|e| !matches!(e, Elem::OneOrMore | Elem::ZeroOrMore))
            .count();
        (literal, fixed)
    }
}

impl FromStr for Pattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text == "_" {
            return Err(PatternError::Empty);
        }
        let Some(body) = text.strip_prefix('_') else {
            return Ok(Self {
                text: text.to_owned(),
                elems: text.chars().map(Elem::Char).collect(),
            });
        };
        let mut elems = Vec::new();
        let mut it = body.char_indices().peekable();
        while let Some((pos, c)) = it.next() {
            if matches!(elems.last(), Some(Elem::OneOrMore | Elem::ZeroOrMore)) {
                return Err(PatternError::WildcardNotLast);
            }
            let e = match c.to_ascii_uppercase() {
                'X' => Elem::Set(vec![('0', '9')]),
                'Z' => Elem::Set(vec![('1', '9')]),
                'N' => Elem::Set(vec![('2', '9')]),
                '.' => Elem::OneOrMore,
                '!' => Elem::ZeroOrMore,
                '[' => {
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    while let Some((_, c)) = it.next() {
                        if c == ']' {
                            closed = true;
                            break;
                        }
                        if it.peek().is_some_and(|&(_, d)| d == '-') {
                            it.next();
                            let Some((_, hi)) = it.next() else { break };
                            if hi == ']' || hi < c {
                                return Err(PatternError::BadSet(pos + 1));
                            }
                            ranges.push((c, hi));
                        } else {
                            ranges.push((c, c));
                        }
                    }
                    if !closed || ranges.is_empty() {
                        return Err(PatternError::BadSet(pos + 1));
                    }
                    Elem::Set(ranges)
                }
                _ => Elem::Char(c),
            };
            elems.push(e);
        }
        Ok(Self {
            text: text.to_owned(),
            elems,
        })
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Where the dial plan sends a number.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Route {
    /// A registered user.
    Extension(String),
    /// A ring group by its number.
    RingGroup(String),
    /// The IVR by its number.
    Ivr(String),
    /// A trunk by name, with the number to send.
    Trunk {
        /// Trunk name.
        trunk: String,
        /// The number after strip/prefix rewriting.
        number: String,
    },
}

/// An outbound rule: numbers matching `pattern` go to `trunk`, after removing `strip` leading
/// characters and adding `prefix`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct OutboundRule {
    /// Which numbers.
    pub pattern: Pattern,
    /// Which trunk.
    pub trunk: String,
    /// Leading characters removed.
    pub strip: usize,
    /// Prepended after stripping.
    pub prefix: String,
}

impl OutboundRule {
    /// The number to send to the trunk.
    pub fn rewrite(&self, number: &str) -> String {
        let rest: String = number.chars().skip(self.strip).collect();
        format!("{}{rest}", self.prefix)
    }
}

/// Picks the most specific matching rule (ties: first declared).
pub fn pick_outbound<'a>(rules: &'a [OutboundRule], number: &str) -> Option<&'a OutboundRule> {
    let mut best: Option<&OutboundRule> = None;
    for r in rules.iter().filter(|r| r.pattern.matches(number)) {
        if best.is_none_or(|b| r.pattern.specificity() > b.pattern.specificity()) {
            best = Some(r);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_match_like_asterisk() {
        assert!(p("1000").matches("1000"));
        assert!(!p("1000").matches("10000"));
        assert!(p("_1XXX").matches("1042"));
        assert!(!p("_1XXX").matches("104"));
        assert!(!p("_1XXX").matches("2042"));
        assert!(p("_NXXNXXXXXX").matches("2125551234"));
        assert!(!p("_NXXNXXXXXX").matches("1125551234"));
        assert!(p("_9.").matches("9123"));
        assert!(!p("_9.").matches("9"));
        assert!(p("_9!").matches("9"));
        assert!(p("_[1-3]0[05]").matches("205"));
        assert!(!p("_[1-3]0[05]").matches("405"));
        assert!(!p("_[1-3]0[05]").matches("201"));
        assert!(p("_+X.").matches("+4930123"));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!("".parse::<Pattern>(), Err(PatternError::Empty));
        assert_eq!("_".parse::<Pattern>(), Err(PatternError::Empty));
        assert_eq!("_[12".parse::<Pattern>(), Err(PatternError::BadSet(1)));
        assert_eq!("_[9-1]".parse::<Pattern>(), Err(PatternError::BadSet(1)));
        assert_eq!("_[]".parse::<Pattern>(), Err(PatternError::BadSet(1)));
        assert_eq!(
            "_9.X".parse::<Pattern>(),
            Err(PatternError::WildcardNotLast)
        );
    }

    #[test]
    fn outbound_picks_most_specific_and_rewrites() {
        let rules = vec![
            OutboundRule {
                pattern: p("_X."),
                trunk: "any".into(),
                strip: 0,
                prefix: "".into(),
            },
            OutboundRule {
                pattern: p("_00X."),
                trunk: "intl".into(),
                strip: 2,
                prefix: "+".into(),
            },
        ];
        let r = pick_outbound(&rules, "004930123").unwrap();
        assert_eq!(r.trunk, "intl");
        assert_eq!(r.rewrite("004930123"), "+4930123");
        assert_eq!(pick_outbound(&rules, "5551234").unwrap().trunk, "any");
        assert!(pick_outbound(&rules, "").is_none());
    }
}
