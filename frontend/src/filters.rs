//! The filter bar's fields and the SCIM filter they build (pure, so it is tested natively too).

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
}

/// The audit log's filter fields (issue 15): a time range, what happened, who did it, and what
/// it happened to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilterForm {
    /// `YYYY-MM-DD`, from the start of that day (UTC).
    pub from: String,
    /// `YYYY-MM-DD`, to the end of that day (UTC).
    pub to: String,
    /// An action, or the start of one (`challenge-` for every validation).
    pub action: String,
    pub actor: String,
    pub device_id: String,
    pub user_id: String,
    pub authenticator: String,
}

impl AuditFilterForm {
    /// The filter to send, or `None` for every event; an id that is not a number is an error
    /// in words before anything is sent.
    pub fn to_filter(&self) -> Result<Option<String>, &'static str> {
        let mut parts = Vec::new();
        if !self.from.trim().is_empty() {
            parts.push(format!("at ge {}", quoted(&format!("{}T00:00:00Z", self.from.trim()))));
        }
        if !self.to.trim().is_empty() {
            parts.push(format!("at le {}", quoted(&format!("{}T23:59:59Z", self.to.trim()))));
        }
        let action = self.action.trim();
        if !action.is_empty() {
            // A whole action is matched exactly, a prefix ending in `-` as a prefix.
            let op = if action.ends_with('-') { "sw" } else { "eq" };
            parts.push(format!("action {op} {}", quoted(action)));
        }
        if !self.actor.trim().is_empty() {
            parts.push(format!("actor eq {}", quoted(self.actor.trim())));
        }
        let device = self.device_id.trim();
        if !device.is_empty() {
            let id: u64 = device.parse().map_err(|_| "deviceId")?;
            parts.push(format!("deviceId eq {id}"));
        }
        let user = self.user_id.trim();
        if !user.is_empty() {
            let id: u64 = user.parse().map_err(|_| "userId")?;
            parts.push(format!("userId eq \"{id}\""));
        }
        if !self.authenticator.trim().is_empty() {
            parts.push(format!("authenticator eq {}", quoted(self.authenticator.trim())));
        }
        Ok((!parts.is_empty()).then(|| parts.join(" and ")))
    }
}

/// The users table's filter fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilterForm {
    /// Part of the user name (`co`, case-insensitive as user names compare).
    pub user_name: String,
    pub external_id: String,
    /// `""` for any, `"true"` or `"false"`.
    pub active: String,
    /// Part of any of the user's email addresses.
    pub email: String,
}

impl UserFilterForm {
    pub fn to_filter(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.user_name.trim().is_empty() {
            parts.push(format!("userName co {}", quoted(self.user_name.trim())));
        }
        if !self.external_id.trim().is_empty() {
            parts.push(format!("externalId eq {}", quoted(self.external_id.trim())));
        }
        if matches!(self.active.as_str(), "true" | "false") {
            parts.push(format!("active eq {}", self.active));
        }
        if !self.email.trim().is_empty() {
            parts.push(format!("emails.value co {}", quoted(self.email.trim())));
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// The stock table's filter fields (SPEC §19): a status, and parts of a serial, a model or an
/// owner's userName.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockFilterForm {
    /// `available`, `assigned`, …; empty for any.
    pub status: String,
    pub serial: String,
    pub model: String,
    pub owner: String,
}

impl StockFilterForm {
    /// The filter to send over `/Device`, or `None` for every device.
    pub fn to_filter(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.status.is_empty() {
            parts.push(format!("status eq {}", quoted(&self.status)));
        }
        for (attribute, text) in
            [("serialNumber", &self.serial), ("model", &self.model), ("owner.display", &self.owner)]
        {
            let text = text.trim();
            if !text.is_empty() {
                parts.push(format!("{attribute} co {}", quoted(text)));
            }
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// What a seed file needs to be read, as the import dialog asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedNeeds {
    /// Its secrets are in the clear (or it is a CSV).
    Nothing,
    /// Encrypted under a key the vendor sends apart (`EncryptionKey`/`KeyName`).
    Key,
    /// Encrypted under a key derived from a password (`DerivedKey`, PBKDF2).
    Password,
}

/// The format of a seed file (`pskc` when it is XML, `csv` otherwise: the service tells the CSV
/// shapes apart and says when it is neither) and what reading it needs.
pub fn recognise_seed_file(text: &str) -> (&'static str, SeedNeeds) {
    if !text.trim_start_matches('\u{feff}').trim_start().starts_with('<') {
        return ("csv", SeedNeeds::Nothing);
    }
    let needs = if text.contains("DerivedKey") {
        SeedNeeds::Password
    } else if text.contains("EncryptedValue") {
        SeedNeeds::Key
    } else {
        SeedNeeds::Nothing
    };
    ("pskc", needs)
}
