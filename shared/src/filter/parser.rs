//! Recursive-descent parser for the filter grammar, with bounded length, depth and size.

use super::{AttrPath, CompareOp, Filter, Literal};
use crate::error::{FilterError, FilterReason};

/// Longest filter accepted, in characters.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of `( )`, `not ( )` and `[ ]`.
pub const MAX_DEPTH: usize = 16;
/// Most comparisons in one filter (each becomes SQL with bound parameters).
pub const MAX_TERMS: usize = 64;

/// Parses a filter. Errors carry the 1-based character position where the text went wrong.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let length = text.chars().count();
    if length > MAX_LEN {
        return Err(FilterError { position: MAX_LEN + 1, reason: FilterReason::TooLong { limit: MAX_LEN } });
    }
    let mut parser = Parser { text, at: 0, depth: 0, terms: 0 };
    let filter = parser.or_expr()?;
    parser.skip_ws();
    if parser.at < text.len() {
        return Err(parser.unexpected("\"and\", \"or\" or the end of the filter"));
    }
    Ok(filter)
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    at: usize,
    depth: usize,
    terms: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '$')
}

fn is_attr_name(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

/// `name`, `name.sub`, optionally after a `urn:...:` schema prefix.
fn is_attr_path(word: &str) -> bool {
    let path = match word.rfind(':') {
        Some(colon) => {
            let urn = &word[..colon];
            if !(urn.len() > 4 && urn[..4].eq_ignore_ascii_case("urn:")) {
                return false;
            }
            &word[colon + 1..]
        }
        None => word,
    };
    let mut parts = path.split('.');
    let first_ok = parts.next().is_some_and(is_attr_name);
    let rest: Vec<&str> = parts.collect();
    first_ok && rest.len() <= 1 && rest.iter().all(|p| is_attr_name(p))
}

fn sub_path(filter: &Filter) -> Option<&AttrPath> {
    match filter {
        Filter::Compare { path, .. } | Filter::Present { path } => Some(path),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// 1-based character column of a byte offset.
    fn column(&self, byte: usize) -> usize {
        self.text[..byte].chars().count() + 1
    }

    fn error_at(&self, byte: usize, reason: FilterReason) -> FilterError {
        FilterError { position: self.column(byte), reason }
    }

    fn unexpected(&self, expected: &'static str) -> FilterError {
        let found = match self.rest().chars().next() {
            None => "the end of the filter".to_owned(),
            Some(_) => {
                let word: String = self.rest().chars().take_while(|c| !c.is_whitespace()).take(20).collect();
                format!("\"{word}\"")
            }
        };
        self.error_at(self.at, FilterReason::Syntax { expected, found })
    }

    /// The word at the cursor (attribute path, operator or keyword), without consuming it.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes `word` if it is the next word, case-insensitively.
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        if self.peek_word().eq_ignore_ascii_case(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.at, FilterReason::TooComplex { limit: MAX_DEPTH }));
        }
        Ok(())
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), FilterError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.and_expr()?];
        while self.keyword("or") {
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::Or(parts) })
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        if self.peek() == Some('(') {
            self.at += 1;
            return self.grouped();
        }
        if self.peek_word().eq_ignore_ascii_case("not") {
            let after_not = self.at + 3;
            let gap = &self.text[after_not..];
            if gap.trim_start().starts_with('(') {
                self.at = after_not;
                self.expect('(', "\"(\" after \"not\"")?;
                return Ok(Filter::Not(Box::new(self.grouped()?)));
            }
        }
        self.attr_expr()
    }

    /// The inside of `( ... )`, after the opening parenthesis.
    fn grouped(&mut self) -> Result<Filter, FilterError> {
        self.enter()?;
        let inner = self.or_expr()?;
        self.expect(')', "\")\"")?;
        self.depth -= 1;
        Ok(inner)
    }

    fn attr_expr(&mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        let start = self.at;
        let word = self.peek_word();
        if word.is_empty() || !is_attr_path(word) {
            return Err(self.unexpected("an attribute name"));
        }
        self.at += word.len();
        let path = AttrPath { text: word.to_owned(), position: self.column(start) };
        self.skip_ws();
        if self.peek() == Some('[') {
            self.at += 1;
            self.enter()?;
            let inner = self.or_expr()?;
            self.expect(']', "\"]\"")?;
            self.depth -= 1;
            // A value path with a sub-attribute after it (`emails[type eq "work"].value co "x"`)
            // asks the same entry for both: `emails[type eq "work" and value co "x"]`.
            if self.peek() == Some('.') {
                self.at += 1;
                let sub = self.attr_expr()?;
                if !matches!(sub, Filter::Compare { .. } | Filter::Present { .. })
                    || sub_path(&sub).is_some_and(|p| p.text.contains(['.', ':']))
                {
                    return Err(self.error_at(
                        start,
                        FilterReason::Syntax {
                            expected: "a sub-attribute comparison after \"]\"",
                            found: format!("\"{}\"", path.text),
                        },
                    ));
                }
                let filter = Filter::And(vec![inner, sub]);
                return Ok(Filter::Group { path, filter: Box::new(filter) });
            }
            return Ok(Filter::Group { path, filter: Box::new(inner) });
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.error_at(start, FilterReason::TooComplex { limit: MAX_TERMS }));
        }
        let op_word = self.peek_word();
        if op_word.eq_ignore_ascii_case("pr") {
            self.at += 2;
            return Ok(Filter::Present { path });
        }
        let Some(op) = CompareOp::parse(op_word) else {
            return Err(self.unexpected("an operator (eq, eq_ci, ne, co, sw, ew, gt, ge, lt, le, pr)"));
        };
        self.at += op_word.len();
        self.skip_ws();
        let value_position = self.column(self.at);
        let value = self.literal()?;
        Ok(Filter::Compare { path, op, value, value_position })
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        const EXPECTED: &str = "a value (\"text\", a number, true, false or null)";
        match self.peek() {
            Some('"') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => {
                let word = self.peek_word();
                let value = match word.to_ascii_lowercase().as_str() {
                    "true" => Literal::Bool(true),
                    "false" => Literal::Bool(false),
                    "null" => Literal::Null,
                    _ => return Err(self.unexpected(EXPECTED)),
                };
                self.at += word.len();
                Ok(value)
            }
        }
    }

    fn string(&mut self) -> Result<Literal, FilterError> {
        let start = self.at;
        let mut escaped = false;
        let mut end = None;
        for (i, c) in self.rest().char_indices().skip(1) {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(self.at + i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Err(self.error_at(
                start,
                FilterReason::Syntax { expected: "a closing '\"'", found: "the end of the filter".into() },
            ));
        };
        let quoted = &self.text[start..=end];
        let bad = |what: &str| FilterReason::Syntax { expected: "a JSON string", found: what.to_owned() };
        let value: String = serde_json::from_str(quoted).map_err(|_| self.error_at(start, bad(quoted)))?;
        if value.contains('\0') {
            return Err(self.error_at(start, bad("a NUL character")));
        }
        self.at = end + 1;
        Ok(Literal::Str(value))
    }

    fn number(&mut self) -> Result<Literal, FilterError> {
        let start = self.at;
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let text = &rest[..end];
        let number: serde_json::Number = serde_json::from_str(text).map_err(|_| {
            self.error_at(start, FilterReason::Syntax { expected: "a number", found: format!("\"{text}\"") })
        })?;
        self.at += end;
        Ok(match (number.as_i64(), number.as_f64()) {
            (Some(n), _) => Literal::Int(n),
            (None, Some(x)) if x.is_finite() => Literal::Real(x),
            _ => {
                return Err(self.error_at(
                    start,
                    FilterReason::Syntax { expected: "a finite number", found: format!("\"{text}\"") },
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str, position: usize) -> AttrPath {
        AttrPath { text: text.into(), position }
    }

    #[test]
    fn parses_comparisons_with_positions() {
        assert_eq!(
            parse(r#"type eq "TOTP""#).unwrap(),
            Filter::Compare {
                path: path("type", 1),
                op: CompareOp::Eq,
                value: Literal::Str("TOTP".into()),
                value_position: 9
            }
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"a eq 1 or b eq 2 and c pr"#).unwrap();
        let Filter::Or(parts) = f else { panic!("not an or") };
        assert!(matches!(parts[1], Filter::And(_)));
    }

    #[test]
    fn not_needs_parentheses_and_keywords_are_case_insensitive() {
        assert!(matches!(parse(r#"NOT (status EQ "V")"#).unwrap(), Filter::Not(_)));
        assert!(matches!(parse(r#"not(status eq "V")"#).unwrap(), Filter::Not(_)));
        // `notes` is an attribute, not the keyword.
        assert!(matches!(parse("notes pr").unwrap(), Filter::Present { .. }));
    }

    #[test]
    fn strings_use_json_escapes() {
        let f = parse(r#"user eq "a\"b\\c\u00e9""#).unwrap();
        let Filter::Compare { value, .. } = f else { panic!() };
        assert_eq!(value, Literal::Str("a\"b\\cé".into()));
    }

    #[test]
    fn value_paths_with_a_sub_attribute() {
        let f = parse(r#"emails[type eq "work"].value co "@x""#).unwrap();
        let Filter::Group { path: p, filter } = f else { panic!("not a group") };
        assert_eq!(p.text, "emails");
        let Filter::And(parts) = *filter else { panic!("not an and") };
        assert!(matches!(&parts[1], Filter::Compare { path, op: CompareOp::Co, .. } if path.text == "value"));
        assert!(parse(r#"emails[type eq "work"].value"#).is_err());
        assert!(parse(r#"emails[type eq "work"].a.b eq 1"#).is_err());
        assert!(parse(r#"emails[type eq "work"].x[y pr]"#).is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let e = parse(&deep).unwrap_err();
        assert!(matches!(e.reason, FilterReason::TooComplex { .. }));
        let ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }
}
