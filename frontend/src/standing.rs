//! Why an authenticator does not validate now, in the words the user's page shows beside its
//! badge (SPEC §14's rules, read from what the API returns; pure, tested in the component tests).

use shared::Timestamp;
use shared::authenticator::{Authenticator, Enabled};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    UserInactive,
    Disabled,
    /// Disabled by `maxFails` consecutive failures, until RESET.
    LockedByFailures,
    NotYetValid,
    Expired,
    UsageLimit,
    /// Enabled and valid, but none of its devices is usable (all locked or disabled).
    NoUsableDevice,
}

/// `None` when it validates now. `max_fails` is its policy's: a disabled authenticator with as
/// many consecutive failures was locked by them.
pub fn why_inactive(
    authenticator: &Authenticator,
    max_fails: Option<u32>,
    user_active: bool,
    now: i64,
) -> Option<Inactive> {
    let status = &authenticator.status;
    let statistics = &authenticator.statistics;
    if !user_active {
        return Some(Inactive::UserInactive);
    }
    if status.status == Enabled::Disabled {
        let locked = max_fails.is_some_and(|m| m > 0 && statistics.consecutive_failed >= u64::from(m));
        return Some(if locked { Inactive::LockedByFailures } else { Inactive::Disabled });
    }
    if status.start_date > Timestamp(now) {
        return Some(Inactive::NotYetValid);
    }
    if status.expiry_date.is_some_and(|e| e <= Timestamp(now)) {
        return Some(Inactive::Expired);
    }
    if statistics.maximum_number_of_usages > 0
        && statistics.total_success >= statistics.maximum_number_of_usages
    {
        return Some(Inactive::UsageLimit);
    }
    (!status.active).then_some(Inactive::NoUsableDevice)
}
