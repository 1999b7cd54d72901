//! Actions on many devices at once (issue 15): what each action sends, which devices it has
//! something to do to, and the summary at the end (pure, tested in the component tests).

use serde_json::{Value, json};
use shared::{OtpDevice, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Enable,
    Disable,
    Unlock,
    Delete,
}

impl BulkAction {
    pub const ALL: [BulkAction; 4] =
        [BulkAction::Enable, BulkAction::Disable, BulkAction::Unlock, BulkAction::Delete];

    /// The PATCH values it sends; `None` for a delete.
    pub fn values(self) -> Option<Value> {
        match self {
            BulkAction::Enable => Some(json!({"status": "V"})),
            BulkAction::Disable => Some(json!({"status": "D"})),
            BulkAction::Unlock => Some(json!({"status": "V", "fails": 0})),
            BulkAction::Delete => None,
        }
    }

    /// Whether it changes `device` as it was selected (the same rule as the row's buttons).
    pub fn applies(self, device: &OtpDevice) -> bool {
        match self {
            BulkAction::Enable => device.status != Status::Validated && device.status != Status::Locked,
            BulkAction::Disable => device.status != Status::Disabled,
            BulkAction::Unlock => device.status == Status::Locked,
            BulkAction::Delete => true,
        }
    }
}

/// How one device fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing to do: the action does not change it.
    Skipped,
    /// Changed by someone else since it was selected (412).
    Stale,
    /// Refused for another reason, in the service's words.
    Refused(String),
}

/// A bulk run so far: how many there are, and each finished device with its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: usize,
    pub finished: Vec<(i64, String, Outcome)>,
}

impl Progress {
    pub fn running(&self) -> bool {
        self.finished.len() < self.total
    }

    pub fn count(&self, kind: fn(&Outcome) -> bool) -> usize {
        self.finished.iter().filter(|(_, _, o)| kind(o)).count()
    }

    /// The devices refused, by name, with why.
    pub fn refused(&self) -> Vec<(&str, Option<&str>)> {
        self.finished
            .iter()
            .filter_map(|(_, name, outcome)| match outcome {
                Outcome::Stale => Some((name.as_str(), None)),
                Outcome::Refused(why) => Some((name.as_str(), Some(why.as_str()))),
                _ => None,
            })
            .collect()
    }
}

/// The rows from `from` to `to` (either order), for a shift-click selection.
pub fn span(from: usize, to: usize) -> std::ops::RangeInclusive<usize> {
    from.min(to)..=from.max(to)
}
