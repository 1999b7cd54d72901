//! How the values clients send are read where vendors differ in spelling: booleans as strings
//! (Entra ID sends `"active": "False"`), whole numbers as decimal text (HID's samples send `"3"`),
//! and display text, which never holds control characters.

use crate::Problem;
use serde_json::Value;

/// A boolean, or its name as a string in any case.
pub fn boolean(attribute: &'static str, value: &Value) -> Result<bool, Problem> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Problem::invalid(attribute, "must be true or false")),
    }
}

/// Whether `value` is `true` as [`boolean`] reads it; anything else is not.
pub fn is_true(value: &Value) -> bool {
    boolean("", value).unwrap_or(false)
}

/// A whole number, as a JSON number or its decimal text.
pub fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string of at most `max` characters without control characters (it may be empty).
pub fn text<'v>(attribute: &'static str, value: &'v Value, max: usize) -> Result<&'v str, Problem> {
    let text = value.as_str().ok_or(Problem::invalid(attribute, "must be a string"))?;
    if text.chars().any(char::is_control) {
        return Err(Problem::invalid(attribute, "must not contain control characters"));
    }
    if text.chars().count() > max {
        return Err(Problem::invalid(attribute, "is too long"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vendors_spellings_read_as_one_value() {
        assert_eq!(boolean("a", &json!("False")), Ok(false));
        assert_eq!(boolean("a", &json!("TRUE")), Ok(true));
        assert!(boolean("a", &json!(1)).is_err());
        assert!(is_true(&json!("true")) && !is_true(&json!("yes")) && !is_true(&json!(null)));
        assert_eq!(whole_number(&json!(" 3 ")), Some(3));
        assert_eq!(whole_number(&json!(-1)), None);
        assert_eq!(text("a", &json!("ok"), 2).unwrap(), "ok");
        assert!(text("a", &json!("abc"), 2).is_err());
        assert!(text("a", &json!("a\nb"), 9).is_err());
    }
}
