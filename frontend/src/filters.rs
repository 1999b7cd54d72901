//! The filter bar's fields and the SCIM filter they build (pure, so it is tested natively too).

use shared::filter::parse;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterForm {
    /// `co` (contains) when true, `eq` otherwise.
    pub user_contains: bool,
    pub user: String,
    pub device_type: String,
    pub status: String,
    /// `YYYY-MM-DD`: devices not used since this day (or never used).
    pub unused_since: String,
    pub created_from: String,
    pub created_to: String,
    /// A raw SCIM filter; when given it is sent as it is.
    pub advanced: String,
}

/// A JSON string literal, as the filter grammar wants text values.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

impl FilterForm {
    /// The filter to send, or `None` for "everything".
    pub fn to_filter(&self) -> Option<String> {
        let advanced = self.advanced.trim();
        if !advanced.is_empty() {
            return Some(advanced.to_owned());
        }
        let mut parts = Vec::new();
        let user = self.user.trim();
        if !user.is_empty() {
            let op = if self.user_contains { "co" } else { "eq" };
            parts.push(format!("user {op} {}", quoted(user)));
        }
        if !self.device_type.is_empty() {
            parts.push(format!("type eq {}", quoted(&self.device_type)));
        }
        if !self.status.is_empty() {
            parts.push(format!("status eq {}", quoted(&self.status)));
        }
        if !self.unused_since.is_empty() {
            let day = quoted(&self.unused_since);
            parts.push(format!("(lastUsed lt {day} or not (lastUsed pr))"));
        }
        if !self.created_from.is_empty() {
            parts.push(format!("created ge {}", quoted(&self.created_from)));
        }
        if !self.created_to.is_empty() {
            parts.push(format!("created le {}", quoted(&format!("{} 23:59:59", self.created_to))));
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }

    /// A syntax check before sending, with the parser's position; the server still has the last word.
    pub fn syntax_error(&self) -> Option<String> {
        let filter = self.to_filter()?;
        parse(&filter).err().map(|e| e.to_string())
    }
}
